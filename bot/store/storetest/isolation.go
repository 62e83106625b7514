package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

// CheckLookupIsolation checks that look-ups (Candidates, Recent) never stand between polling or delivery and the
// database: with every connection of s's look-up pool taken (hold takes them, and its release gives them back),
// look-ups wait, while a whole poll (validators, ingest with routing, poll state) and a whole delivery (work,
// claim, unsent, mark sent) complete. It measures order, not time: the look-ups are still waiting when the
// delivery is done, and complete once the pool is released.
func CheckLookupIsolation(t *testing.T, s Store, hold func(t *testing.T) (release func())) {
	t.Helper()
	ctx := t.Context()
	ch := channel.Ref{Platform: "slack", ID: "C-isolation"}
	q, err := filters.Parse("neural")
	if err != nil {
		t.Fatal(err)
	}
	mustIngest(t, s, "arxiv", []paper.Paper{arxiv("2609.00001", t0, paper.AnnounceNew, "Neural codes", "Old.", "cs.NE")}, nil, t0)

	release := hold(t)
	const flood = 8
	done := make(chan error, flood)
	for i := range flood {
		go func() {
			var err error
			if i%2 == 0 {
				_, err = s.Candidates(ctx, q.Prefilter(), time.Time{}, 10)
			} else {
				_, err = s.Recent(ctx, time.Time{}, 10)
			}
			done <- err
		}()
	}

	// The poll and the delivery must not wait for the look-up pool: a bounded context turns a wait into a failure
	// instead of a hang. Ten seconds is not a timing assertion; only a pool shared with the look-ups reaches it.
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s while look-ups wait for their pool: %v", what, err)
		}
	}
	_, err = s.Validators(pctx, "arxiv")
	step("Validators", err)
	route := func(*paper.Paper, time.Time) []channel.Route {
		return []channel.Route{{Channel: ch, Matched: []string{"neural"}}}
	}
	res, err := s.IngestAndRoute(pctx, "arxiv", []paper.Paper{arxiv("2609.00002", t0.Add(time.Hour), paper.AnnounceNew, "Neural nets", "New.", "cs.LG")},
		map[string]paper.Validators{"https://rss.arxiv.org/rss/cs.LG": {ETag: `"v2"`}}, t0.Add(time.Hour), route)
	step("IngestAndRoute", err)
	if res.Routed != 1 {
		t.Fatalf("IngestAndRoute routed %d rows, want 1", res.Routed)
	}
	step("RecordNotModified", s.RecordNotModified(pctx, "arxiv", t0.Add(time.Hour)))
	_, err = s.SourceStates(pctx)
	step("SourceStates", err)
	work, err := s.Work(pctx)
	step("Work", err)
	if len(work) != 1 || work[0].Ref != ch {
		t.Fatalf("Work = %+v, want the one channel %s", work, ch)
	}
	ok, err := s.Claim(pctx, ch, "me", t0.Add(time.Hour), time.Minute)
	step("Claim", err)
	if !ok {
		t.Fatal("Claim refused on a free channel")
	}
	items, err := s.Unsent(pctx, ch, channel.KindMatch, []string{channel.StatePending}, 10)
	step("Unsent", err)
	if len(items) != 1 {
		t.Fatalf("Unsent = %d items, want 1", len(items))
	}
	step("MarkSent", s.MarkSent(pctx, []int64{items[0].ID}, "m1", t0.Add(time.Hour)))

	select {
	case err := <-done:
		t.Fatalf("a look-up completed (err %v) while its pool was held: look-ups do not use their own pool", err)
	default:
	}
	release()
	for range flood {
		if err := <-done; err != nil {
			t.Errorf("look-up after the pool was released: %v", err)
		}
	}
}
