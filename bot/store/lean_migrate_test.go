package store

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestLeanOutboxMigration: a store written before the lean outbox keeps every row through the migration, with
// its id, state, message, retry and set-aside state, digest batch and in-flight mark, and Work counts it.
func TestLeanOutboxMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	steps := migrations()
	old, err := open(ctx, path, steps[:9])
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var ps []paper.Paper
	for i := 1; i <= 6; i++ {
		id := fmt.Sprintf("2609.%05d", i)
		// Published in reverse of the key order: delivery order is by publication, not by key.
		ps = append(ps, paper.Paper{Key: "arxiv:" + id, ArxivID: id, Title: "P" + id, Published: t0.Add(-time.Duration(i) * time.Hour)})
	}
	if _, err := old.Ingest(ctx, "arxiv", ps, nil, t0); err != nil {
		t.Fatal(err)
	}
	ns := func(h int) int64 { return t0.Add(time.Duration(h) * time.Hour).UnixNano() }
	if _, err := old.w.ExecContext(ctx, `
INSERT INTO channels (platform, id, created_at) VALUES ('slack', 'A', 0), ('discord', 'B', 0);
INSERT INTO outbox_batches (id, platform, channel_id, kind, title, created_at) VALUES (7, 'discord', 'B', 'daily', 'Digest', 0);
INSERT INTO outbox (id, platform, channel_id, paper_key, matched, kind, state, created_at, attempts, last_error, message_id,
	sent_at, rejections, retry_at, failed_at, batch_id, sending_at) VALUES
	(11, 'slack', 'A', 'arxiv:2609.00001', '["eeg"]', 'match', 'pending', ?1, 0, '', '', NULL, 0, NULL, NULL, NULL, NULL),
	(12, 'slack', 'A', 'arxiv:2609.00002', '[]', 'match', 'pending', ?1, 1, 'timeout', '', NULL, 0, NULL, NULL, NULL, NULL),
	(13, 'slack', 'A', 'arxiv:2609.00003', '["x"]', 'match', 'sent', ?1, 1, '', 'msg-3', ?2, 0, NULL, NULL, NULL, NULL),
	(14, 'slack', 'A', 'arxiv:2609.00004', '[]', 'match', 'failed', ?1, 3, 'invalid_blocks', '', NULL, 3, NULL, ?2, NULL, NULL),
	(15, 'slack', 'A', 'arxiv:2609.00005', '[]', 'match', 'pending', ?1, 2, 'rejected', '', NULL, 2, ?3, NULL, NULL, NULL),
	(16, 'discord', 'B', 'arxiv:2609.00006', '[]', 'match', 'pending', ?1, 0, '', '', NULL, 0, NULL, NULL, 7, ?2),
	(17, 'discord', 'B', 'arxiv:2609.00001', '[]', 'backfill', 'overflow', ?1, 0, '', '', NULL, 0, NULL, NULL, NULL, NULL)`,
		ns(0), ns(1), ns(5)); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, b := channel.Ref{Platform: "slack", ID: "A"}, channel.Ref{Platform: "discord", ID: "B"}
	ids := func(items []channel.OutboxItem, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			out = append(out, fmt.Sprintf("%d %s %s %d %s %v", it.ID, it.Paper.Key, it.State, it.Attempts, it.LastError, it.Matched))
		}
		return out
	}
	// Paper 2 was published before paper 1: it comes first.
	if got, want := ids(s.Unsent(ctx, a, channel.KindMatch, []string{channel.StatePending}, 0)),
		[]string{"12 arxiv:2609.00002 pending 1 timeout []", "11 arxiv:2609.00001 pending 0  [eeg]"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pending rows of A = %q, want %q", got, want)
	}
	if id, ok, err := s.PostedMessage(ctx, a, "arxiv:2609.00003"); err != nil || !ok || id != "msg-3" {
		t.Errorf("PostedMessage = %q, %v, %v; want msg-3", id, ok, err)
	}
	failed, err := s.ListFailed(ctx, a, 0)
	if err != nil || len(failed) != 1 || failed[0].ID != 14 || !failed[0].FailedAt.Equal(t0.Add(time.Hour)) || failed[0].Rejections != 3 {
		t.Errorf("set-aside rows = %+v, %v; want row 14 set aside at %s", failed, err, t0.Add(time.Hour))
	}
	if got, want := ids(s.Retries(ctx, a, t0.Add(6*time.Hour), 0)), []string{"15 arxiv:2609.00005 pending 2 rejected []"}; !reflect.DeepEqual(got, want) {
		t.Errorf("retries = %q, want %q", got, want)
	}
	batches, err := s.OpenBatches(ctx, b)
	if err != nil || len(batches) != 1 || batches[0].ID != 7 || len(batches[0].Items) != 1 || batches[0].Items[0].ID != 16 ||
		!batches[0].Items[0].SendingAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("open batches of B = %+v, %v; want batch 7 with row 16 in flight", batches, err)
	}
	if got, want := workSummary(t, s), groupedSummary(t, s); !reflect.DeepEqual(got, want) || len(got) != 2 {
		t.Errorf("outbox_work = %v, grouped rows = %v", got, want)
	}
	w := work(t, s)
	if w[a].Pending != 2 || w[a].Retry != 1 || !w[a].NextRetry.Equal(t0.Add(5*time.Hour)) || w[b].Pending != 1 || w[b].Overflow != 1 || w[b].Backfill != 1 {
		t.Errorf("Work = %+v", w)
	}
	// The once-ever rule holds for the migrated rows.
	if n, err := s.Enqueue(ctx, a, channel.KindBackfill, map[string][]string{"arxiv:2609.00003": nil, "arxiv:2609.00001": nil}, t0); err != nil || n != 0 {
		t.Errorf("Enqueue of papers A has rows for queued %d (%v), want 0", n, err)
	}
}

func work(t *testing.T, s *Store) map[channel.Ref]channel.Work {
	t.Helper()
	ws, err := s.Work(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[channel.Ref]channel.Work{}
	for _, w := range ws {
		out[w.Ref] = w
	}
	return out
}

// TestOutboxLowMigration: a store at migration 13 (the lean outbox with outbox_unsent) keeps every row, id and
// state through migration 15, and its readers, now starting at each channel's low-water mark, see exactly what
// was waiting: the unsent rows once each, past the sent and set-aside rows between them.
func TestOutboxLowMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v13.db")
	old, err := open(ctx, path, migrations()[:13])
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var ps []paper.Paper
	for i := 1; i <= 6; i++ {
		id := fmt.Sprintf("2609.%05d", i)
		// Published in reverse of the key order: paper 6 has the smallest papers.id.
		ps = append(ps, paper.Paper{Key: "arxiv:" + id, ArxivID: id, Title: "P" + id, Published: t0.Add(-time.Duration(i) * time.Hour)})
	}
	if _, err := old.Ingest(ctx, "arxiv", ps, nil, t0); err != nil {
		t.Fatal(err)
	}
	ns := func(h int) int64 { return t0.Add(time.Duration(h) * time.Hour).UnixNano() }
	// In A, the sent row 13 and the set-aside row 14 lie between the unsent rows (papers in id order: 6 < 5 < ... < 1).
	if _, err := old.w.ExecContext(ctx, `
INSERT INTO outbox_channels (num, platform, channel_id) VALUES (1, 'slack', 'A'), (2, 'discord', 'B');
INSERT INTO outbox_batches (id, platform, channel_id, kind, title, created_at) VALUES (7, 'discord', 'B', 'daily', 'Digest', 0);
WITH r (id, chan, n, matched, kind, state, attempts, last_error, message_id, sent_at, rejections, retry_at, failed_at, batch_id, sending_at) AS (VALUES
	(11, 1, 1, '["eeg"]', 'match', 'pending', 0, '', '', NULL, 0, NULL, NULL, NULL, NULL),
	(12, 1, 2, '[]', 'match', 'pending', 1, 'timeout', '', NULL, 0, NULL, NULL, NULL, NULL),
	(13, 1, 3, '["x"]', 'match', 'sent', 1, '', 'msg-3', ?2, 0, NULL, NULL, NULL, NULL),
	(14, 1, 4, '[]', 'match', 'failed', 3, 'invalid_blocks', '', NULL, 3, NULL, ?2, NULL, NULL),
	(15, 1, 5, '[]', 'match', 'pending', 2, 'rejected', '', NULL, 2, ?3, NULL, NULL, NULL),
	(16, 2, 6, '[]', 'match', 'pending', 0, '', '', NULL, 0, NULL, NULL, 7, ?2),
	(17, 2, 1, '[]', 'backfill', 'overflow', 0, '', '', NULL, 0, NULL, NULL, NULL, NULL))
INSERT INTO outbox (id, chan, paper, matched, kind, state, created_at, attempts, last_error, message_id,
	sent_at, rejections, retry_at, failed_at, batch_id, sending_at)
SELECT r.id, r.chan, p.id, r.matched, r.kind, r.state, ?1, r.attempts, r.last_error, r.message_id,
	r.sent_at, r.rejections, r.retry_at, r.failed_at, r.batch_id, r.sending_at
FROM r JOIN papers p ON p.key = 'arxiv:2609.0000' || r.n;
CREATE TEMP TABLE IF NOT EXISTS outbox_work_scope (chan INTEGER PRIMARY KEY);
INSERT INTO outbox_work_scope VALUES (1), (2);`+rebuildWorkSQL12, ns(0), ns(1), ns(5)); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var unsentIndexes int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'outbox_unsent'`).Scan(&unsentIndexes); err != nil || unsentIndexes != 0 {
		t.Errorf("outbox_unsent after the migration: %d (%v), want none", unsentIndexes, err)
	}
	a, b := channel.Ref{Platform: "slack", ID: "A"}, channel.Ref{Platform: "discord", ID: "B"}
	rows := func(items []channel.OutboxItem, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			out = append(out, fmt.Sprintf("%d %s %s %s %d %s %v", it.ID, it.Paper.Key, it.Kind, it.State, it.Attempts, it.LastError, it.Matched))
		}
		return out
	}
	checks := []struct {
		name      string
		got, want []string
	}{
		{"pending rows of A", rows(s.Unsent(ctx, a, channel.KindMatch, []string{channel.StatePending}, 0)),
			[]string{"12 arxiv:2609.00002 match pending 1 timeout []", "11 arxiv:2609.00001 match pending 0  [eeg]"}},
		{"first pending row of A", rows(s.Unsent(ctx, a, channel.KindMatch, []string{channel.StatePending}, 1)),
			[]string{"12 arxiv:2609.00002 match pending 1 timeout []"}},
		{"retries of A", rows(s.Retries(ctx, a, t0.Add(6*time.Hour), 0)), []string{"15 arxiv:2609.00005 match pending 2 rejected []"}},
		{"set-aside rows of A", rows(s.ListFailed(ctx, a, 0)), []string{"14 arxiv:2609.00004 match failed 3 invalid_blocks []"}},
		{"pending rows of B", rows(s.Unsent(ctx, b, channel.KindMatch, []string{channel.StatePending}, 0)),
			[]string{"16 arxiv:2609.00006 match pending 0  []"}},
		{"overflow backfill of B", rows(s.Unsent(ctx, b, channel.KindBackfill, []string{channel.StateOverflow}, 0)),
			[]string{"17 arxiv:2609.00001 backfill overflow 0  []"}},
		{"outbox_work", workSummary(t, s), groupedSummary(t, s)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	batches, err := s.OpenBatches(ctx, b)
	if err != nil || len(batches) != 1 || batches[0].ID != 7 || len(batches[0].Items) != 1 || batches[0].Items[0].ID != 16 ||
		!batches[0].Items[0].SendingAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("open batches of B = %+v, %v; want batch 7 with row 16 in flight", batches, err)
	}
	if id, ok, err := s.PostedMessage(ctx, a, "arxiv:2609.00003"); err != nil || !ok || id != "msg-3" {
		t.Errorf("PostedMessage = %q, %v, %v; want msg-3", id, ok, err)
	}
	if n, err := s.Enqueue(ctx, a, channel.KindBackfill, map[string][]string{"arxiv:2609.00003": nil, "arxiv:2609.00001": nil}, t0); err != nil || n != 0 {
		t.Errorf("Enqueue of papers A has rows for queued %d (%v), want 0", n, err)
	}

	// Delivering what was waiting sends each row once, and then nothing is left but the retry.
	for _, d := range []struct {
		ch     channel.Ref
		kind   string
		states []string
	}{{a, channel.KindMatch, []string{channel.StatePending}}, {b, channel.KindMatch, []string{channel.StatePending}}, {b, channel.KindBackfill, []string{channel.StateOverflow}}} {
		for range 3 {
			items, err := s.Unsent(ctx, d.ch, d.kind, d.states, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) == 0 {
				break
			}
			if err := s.MarkSent(ctx, []int64{items[0].ID}, "m", t0.Add(7*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var sent []string
	if err := func() error {
		r, err := s.r.QueryContext(ctx, `SELECT id FROM outbox WHERE state = 'sent' ORDER BY id`)
		if err != nil {
			return err
		}
		defer r.Close()
		for r.Next() {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			sent = append(sent, id)
		}
		return r.Err()
	}(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"11", "12", "13", "16", "17"}; !reflect.DeepEqual(sent, want) {
		t.Errorf("sent rows = %v, want %v", sent, want)
	}
	w := work(t, s)
	if len(w) != 1 || w[a].Retry != 1 || w[a].Pending != 0 || !w[a].NextRetry.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("Work after delivery = %+v, want only A's retry", w)
	}
	if got, want := workSummary(t, s), groupedSummary(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("outbox_work after delivery = %v, grouped rows = %v", got, want)
	}
}
