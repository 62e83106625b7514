package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store/dump"
)

// workSummary reads outbox_work as text rows, channels with unsent rows only.
func workSummary(t *testing.T, s *Store) []string {
	t.Helper()
	// The last column counts the channel's unsent rows below its low-water mark, where readers do not look: 0.
	return textRows(t, s, `SELECT chan, total, pending, overflow, backfill, retry, oldest, oldest_n,
	(SELECT count(*) FROM outbox o WHERE o.chan = w.chan AND o.state IN ('pending', 'overflow') AND (w.low IS NULL OR o.paper < w.low))
FROM outbox_work w WHERE total > 0 ORDER BY chan`)
}

// groupedSummary computes the same from the rows themselves, as Work did before the summary.
func groupedSummary(t *testing.T, s *Store) []string {
	t.Helper()
	return textRows(t, s, `SELECT chan, count(*),
	sum(state = 'pending' AND kind = 'match' AND retry_at IS NULL), sum(state = 'overflow' AND retry_at IS NULL),
	sum(kind = 'backfill' AND retry_at IS NULL), sum(retry_at IS NOT NULL),
	min(CASE WHEN kind = 'match' AND retry_at IS NULL THEN created_at END) AS oldest,
	(SELECT count(*) FROM outbox i WHERE i.chan = o.chan AND i.state IN ('pending', 'overflow') AND i.kind = 'match'
		AND i.retry_at IS NULL AND i.created_at = min(CASE WHEN o.kind = 'match' AND o.retry_at IS NULL THEN o.created_at END)),
	0
FROM outbox o WHERE state IN ('pending', 'overflow') GROUP BY chan ORDER BY chan`)
}

func textRows(t *testing.T, s *Store, q string) []string {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		v := make([]any, len(cols))
		p := make([]any, len(cols))
		for i := range v {
			p[i] = &v[i]
		}
		if err := rows.Scan(p...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(v...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOutboxWorkSummary: the per-channel summary Work reads stays equal to a grouping of the rows through every
// way rows change state: routing, sends, rejections and their retries, overflow, set-aside rows and their re-queue,
// backfills, pruning and a copy.
func TestOutboxWorkSummary(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	a, b := channel.Ref{Platform: "slack", ID: "A"}, channel.Ref{Platform: "slack", ID: "B"}
	mk := func(i int) paper.Paper {
		id := fmt.Sprintf("2609.%05d", i)
		return paper.Paper{Key: "arxiv:" + id, ArxivID: id, Title: "P" + id, Published: t0.Add(time.Duration(i) * time.Minute)}
	}
	route := func(*paper.Paper, time.Time) []channel.Route { return []channel.Route{{Channel: a}, {Channel: b}} }
	unsent := func(ch channel.Ref, states ...string) []int64 {
		items, err := s.Unsent(ctx, ch, channel.KindMatch, states, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		return ids
	}
	firstUnsent := func(ch channel.Ref, key string) error {
		items, err := s.Unsent(ctx, ch, channel.KindMatch, []string{channel.StatePending}, 1)
		if err != nil {
			return err
		}
		if len(items) != 1 || items[0].Paper.Key != key {
			return fmt.Errorf("first unsent row of %s: %+v, want paper %s", ch, items, key)
		}
		return nil
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"route a first poll", func() error {
			_, err := s.IngestAndRoute(ctx, "arxiv", []paper.Paper{mk(1), mk(2), mk(3), mk(4)}, nil, t0, route)
			return err
		}},
		{"route a second poll", func() error {
			_, err := s.IngestAndRoute(ctx, "arxiv", []paper.Paper{mk(5), mk(6)}, nil, t0.Add(time.Hour), route)
			return err
		}},
		{"send the first poll's oldest rows one by one", func() error {
			ids := unsent(a, channel.StatePending)
			for _, id := range ids[:3] {
				if err := s.MarkSent(ctx, []int64{id}, "m", t0.Add(2*time.Hour)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"reject one, overflow one", func() error {
			ids := unsent(b, channel.StatePending)
			if err := s.MarkRejected(ctx, ids[:1], errors.New("rate"), t0.Add(3*time.Hour)); err != nil {
				return err
			}
			return s.MarkOverflow(ctx, ids[1:2])
		}},
		{"set one aside, then re-queue", func() error {
			ids := unsent(b, channel.StatePending)
			if err := s.MarkFailed(ctx, ids[:1], errors.New("invalid_blocks"), t0.Add(3*time.Hour)); err != nil {
				return err
			}
			_, err := s.RequeueFailed(ctx, b)
			return err
		}},
		{"send the rejected row on its retry", func() error {
			items, err := s.Retries(ctx, b, t0.Add(4*time.Hour), 0)
			if err != nil {
				return fmt.Errorf("retries: %w", err)
			}
			if len(items) != 1 {
				return fmt.Errorf("retries: %d rows, want 1", len(items))
			}
			return s.MarkSent(ctx, []int64{items[0].ID}, "m", t0.Add(4*time.Hour))
		}},
		{"backfill a new channel", func() error {
			_, err := s.Enqueue(ctx, channel.Ref{Platform: "slack", ID: "C"}, channel.KindBackfill,
				map[string][]string{mk(1).Key: nil, mk(2).Key: {"x"}}, t0.Add(5*time.Hour))
			return err
		}},
		{"send B's newest row before its older ones", func() error {
			ids := unsent(b, channel.StatePending)
			return s.MarkSent(ctx, ids[len(ids)-1:], "m", t0.Add(5*time.Hour))
		}},
		{"route to B a paper older than its unsent rows", func() error {
			// Below the channel's low-water mark: the mark must come down for Unsent to see it, first.
			old := mk(0)
			if _, err := s.IngestAndRoute(ctx, "arxiv", []paper.Paper{old}, nil, t0.Add(5*time.Hour),
				func(*paper.Paper, time.Time) []channel.Route { return []channel.Route{{Channel: b}} }); err != nil {
				return err
			}
			return firstUnsent(b, old.Key)
		}},
		{"a pending row's paper moves below every other", func() error {
			// A newer publication date for paper 5 moves it to a smaller papers.id: its rows follow it.
			moved := mk(5)
			moved.Published = t0.Add(-time.Hour)
			if _, err := s.IngestAndRoute(ctx, "arxiv", []paper.Paper{moved}, nil, t0.Add(5*time.Hour), route); err != nil {
				return err
			}
			return firstUnsent(b, moved.Key)
		}},
		{"prune", func() error {
			_, err := s.PruneSent(ctx, t0.Add(10*time.Hour))
			return err
		}},
		{"send everything left in A", func() error {
			return s.MarkSent(ctx, unsent(a, channel.StatePending), "m", t0.Add(11*time.Hour))
		}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got, want := workSummary(t, s), groupedSummary(t, s); !reflect.DeepEqual(got, want) {
			t.Fatalf("after %s: outbox_work = %v, grouped rows = %v", st.name, got, want)
		}
	}

	// A copy rebuilds the summary of what it loads.
	dst, err := Open(ctx, filepath.Join(t.TempDir(), "copy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := dump.Copy(ctx, s, dst); err != nil {
		t.Fatal(err)
	}
	if got, want := workSummary(t, dst), groupedSummary(t, dst); !reflect.DeepEqual(got, want) || len(got) == 0 {
		t.Errorf("copy: outbox_work = %v, grouped rows = %v", got, want)
	}
}
