package postgres

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// routeTo routes every paper whose title contains word to ch with word as the matched term.
func routeTo(routes map[string]channel.Ref) channel.Router {
	return func(p *paper.Paper, _ time.Time) []channel.Route {
		var out []channel.Route
		for word, ch := range routes {
			if strings.Contains(p.Title, word) {
				out = append(out, channel.Route{Channel: ch, Matched: []string{word}})
			}
		}
		slices.SortFunc(out, func(a, b channel.Route) int { return strings.Compare(a.Channel.String(), b.Channel.String()) })
		return out
	}
}

func unsentKeys(t *testing.T, s *Store, ch channel.Ref, kind string, states ...string) []string {
	t.Helper()
	items, err := s.Unsent(t.Context(), ch, kind, states, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, it := range items {
		out = append(out, it.Paper.Key)
	}
	return out
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	ctx := t.Context()
	route := routeTo(map[string]channel.Ref{"EEG": slackA, "spiking": discordC})
	older := arxiv("2609.00001", t0.Add(-2*time.Hour), paper.AnnounceNew, "EEG older", "a")
	newer := arxiv("2609.00002", t0.Add(-time.Hour), paper.AnnounceNew, "EEG and spiking", "b")
	none := arxiv("2609.00003", t0, paper.AnnounceNew, "Nothing", "c")
	// Newest first in the batch: the outbox still drains oldest paper first.
	res, err := s.IngestAndRoute(ctx, "arxiv", []paper.Paper{newer, none, older}, nil, t0, route)
	if err != nil || res.Routed != 3 {
		t.Fatalf("IngestAndRoute = %+v, %v; want 3 routed", res, err)
	}

	t.Run("once per channel and paper, whatever comes later", func(t *testing.T) {
		cross := arxiv("2609.00002", t0.Add(-time.Hour), paper.AnnounceCross, "EEG and spiking", "b", "cs.NE")
		repl := arxiv("2609.00001", t0.Add(-2*time.Hour), paper.AnnounceReplace, "EEG older v2", "a")
		res, err := s.IngestAndRoute(ctx, "arxiv2", []paper.Paper{cross, repl}, nil, t0.Add(time.Hour), route)
		if err != nil || res.Routed != 0 || len(res.Updated) != 2 {
			t.Fatalf("IngestAndRoute = %+v, %v; want 2 updated, none routed", res, err)
		}
	})

	if got, want := unsentKeys(t, s, slackA, channel.KindMatch, channel.StatePending), []string{older.Key, newer.Key}; !slices.Equal(got, want) {
		t.Errorf("Unsent(slack A) = %v, want %v (oldest paper first)", got, want)
	}
	items, err := s.Unsent(ctx, discordC, channel.KindMatch, []string{channel.StatePending}, 1)
	if err != nil || len(items) != 1 {
		t.Fatalf("Unsent(discord C) = %v, %v", items, err)
	}
	it := items[0]
	if it.Channel != discordC || !slices.Equal(it.Matched, []string{"spiking"}) || it.Kind != channel.KindMatch ||
		it.State != channel.StatePending || !it.CreatedAt.Equal(t0) || it.Paper.Title != newer.Title || it.Attempts != 0 {
		t.Errorf("item = %+v", it)
	}

	work, err := s.Work(ctx)
	if err != nil || len(work) != 2 {
		t.Fatalf("Work = %+v, %v", work, err)
	}
	if w := work[0]; w.Ref != discordC || w.Pending != 1 || w.Mode != channel.ModeInstant || !w.OldestUnsent.Equal(t0) {
		t.Errorf("Work[0] = %+v", w)
	}

	if err := s.RecordAttempt(ctx, []int64{it.ID}, errors.New("HTTP 502")); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, []int64{it.ID}, "m1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.MessagesSince(ctx, discordC, t0); err != nil || n != 1 {
		t.Errorf("MessagesSince = %d, %v", n, err)
	}
	if n, err := s.MessagesSince(ctx, discordC, t0.Add(2*time.Minute)); err != nil || n != 0 {
		t.Errorf("MessagesSince later = %d, %v", n, err)
	}

	slack, _ := s.Unsent(ctx, slackA, channel.KindMatch, []string{channel.StatePending}, 0)
	if err := s.MarkOverflow(ctx, []int64{slack[0].ID}); err != nil {
		t.Fatal(err)
	}
	if got := unsentKeys(t, s, slackA, channel.KindMatch, channel.StateOverflow); !slices.Equal(got, []string{older.Key}) {
		t.Errorf("overflow = %v", got)
	}
	if err := s.MarkFailed(ctx, []int64{slack[1].ID}, errors.New("invalid_blocks"), t0); err != nil {
		t.Fatal(err)
	}
	if n, err := s.OutboxDepth(ctx); err != nil || n != 1 {
		t.Errorf("OutboxDepth = %d, %v; want the overflow row", n, err)
	}
	work, _ = s.Work(ctx)
	if len(work) != 1 || work[0].Overflow != 1 || work[0].Pending != 0 {
		t.Errorf("Work = %+v", work)
	}
	if err := s.SetLastDigest(ctx, slackA, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if work, _ := s.Work(ctx); !work[0].LastDigestAt.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("LastDigestAt = %s", work[0].LastDigestAt)
	}

	t.Run("backfill skips what the channel has", func(t *testing.T) {
		n, err := s.Enqueue(ctx, slackA, channel.KindBackfill, map[string][]string{older.Key: {"x"}, none.Key: {"eeg", "x"}}, t0.Add(4*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("Enqueue = %d, %v; want 1", n, err)
		}
		items, _ := s.Unsent(ctx, slackA, channel.KindBackfill, []string{channel.StatePending}, 0)
		if len(items) != 1 || items[0].Paper.Key != none.Key || !slices.Equal(items[0].Matched, []string{"eeg", "x"}) {
			t.Errorf("backfill rows = %+v", items)
		}
		if work, _ := s.Work(ctx); work[0].Backfill != 1 {
			t.Errorf("Work = %+v", work)
		}
	})

	t.Run("error texts are capped on a character", func(t *testing.T) {
		long := errors.New("x" + strings.Repeat("é", maxErrorLen) + "\x00")
		if err := s.RecordAttempt(ctx, []int64{slack[0].ID}, long); err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := s.pool.QueryRow(ctx, `SELECT last_error FROM outbox WHERE id = $1`, slack[0].ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if cut := strings.TrimSuffix(stored, "…"); !utf8.ValidString(stored) || len(cut) > maxErrorLen || len(cut) < maxErrorLen-utf8.UTFMax {
			t.Errorf("stored error of %d bytes", len(stored))
		}
	})
}

// TestUnstorableText ingests text PostgreSQL cannot store as is (NUL, invalid UTF-8), which the SQLite store
// takes: it is stored with U+FFFD instead, and the caller's papers are left alone.
func TestUnstorableText(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	p := arxiv("2609.00001", t0, paper.AnnounceNew, "Null\x00byte", "bad \xff utf-8", "cs.\x00LG")
	p.Authors = []string{"Ada\x00", "Alan"}
	p.Comment = "\xfe"
	in := []paper.Paper{p}
	mustIngest(t, s, "arxiv", in, nil, t0)
	got := mustPaper(t, s, p.Key)
	if got.Title != "Null\uFFFDbyte" || got.Abstract != "bad \uFFFD utf-8" || got.Comment != "\uFFFD" ||
		!slices.Equal(got.Categories, []string{"cs.\uFFFDLG"}) || !slices.Equal(got.Authors, []string{"Ada\uFFFD", "Alan"}) {
		t.Errorf("stored %+v", got)
	}
	if in[0].Authors[0] != "Ada\x00" || in[0].Categories[0] != "cs.\x00LG" {
		t.Error("Ingest changed the caller's papers")
	}
	if res := mustIngest(t, s, "arxiv", in, nil, t0); res.Unchanged != 1 {
		t.Errorf("the same paper again = %+v, want unchanged", res)
	}
	if err := s.RecordPollError(t.Context(), "arxiv", errors.New("body \x00\xff"), t0); err != nil {
		t.Errorf("RecordPollError: %v", err)
	}
}
