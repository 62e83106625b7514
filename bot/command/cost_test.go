package command

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

// stallingStore is a real store whose look-ups take as long as their context allows, as the worst query on a huge
// store would: they return only when the context ends, with what the real store makes of the ended context.
type stallingStore struct {
	Store
	cancelled atomic.Int32 // look-ups that saw their context end with DeadlineExceeded
}

func (s *stallingStore) stall(ctx context.Context) {
	<-ctx.Done()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		s.cancelled.Add(1)
	}
}

func (s *stallingStore) ScanCandidates(ctx context.Context, pre *filters.Prefilter, since time.Time, limit int, yield func(paper.Paper) bool) error {
	s.stall(ctx)
	return s.Store.ScanCandidates(ctx, pre, since, limit, yield)
}

// costStores opens the stores the cost tests run on. The stores' own cancellation of a statement is tested in
// each store's package (TestLookupCancelled, on SQLite and PostgreSQL); here it is the command core's part.
func costStores(t *testing.T) map[string]Store {
	t.Helper()
	c, _ := newTestCommander(t)
	return map[string]Store{"sqlite": c.Store}
}

// TestLookupOverBudget: a look-up that runs out of its time budget is cancelled (the store sees its context
// end) and the user is told, privately, to narrow the query; subscribe still subscribes.
func TestLookupOverBudget(t *testing.T) {
	for name, real := range costStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			ch := channel.Ref{Platform: "slack", ID: "C-" + name}
			st := &stallingStore{Store: real}
			c := &Commander{Store: st, Now: func() time.Time { return testNow }, LookupTimeout: 20 * time.Millisecond}
			do := func(text string) bot.Reply {
				t.Helper()
				r, err := c.Handle(ctx, bot.Request{Channel: ch, User: "U1", CanManage: true, Text: text})
				if err != nil {
					t.Fatalf("%q: %v, want a reply", text, err)
				}
				return r
			}
			r := do("eeg transformer")
			if !r.Private || !strings.Contains(text(r), "took too long (over 20ms)") || !strings.Contains(text(r), "Narrow the query") {
				t.Errorf("search over budget: %+v", r)
			}
			if got := st.cancelled.Load(); got != 1 {
				t.Errorf("the store saw %d look-ups cancelled by their deadline, want 1", got)
			}
			r = do("-survey eeg") // no pre-filter words from a negation alone: also bounded through Recent
			if !strings.Contains(text(r), "took too long") {
				t.Errorf("search over budget: %+v", r)
			}
			r = do("subscribe eeg")
			if !strings.Contains(text(r), "now follows eeg") || !strings.Contains(text(r), "took too long") {
				t.Errorf("subscribe over budget: %q", text(r))
			}
			r = do("list")
			if !strings.Contains(text(r), "1. eeg  (?)") || !strings.Contains(text(r), "took too long") {
				t.Errorf("list over budget: %q", text(r))
			}
		})
	}
}

// TestExpensiveQueryRefused: the query of issue 12 (40 groups of single-letter prefixes) and queries just over
// each cost limit are refused before any look-up, saying which limit and where.
func TestExpensiveQueryRefused(t *testing.T) {
	ctx := t.Context()
	st := &countingStore{}
	c := &Commander{Store: st, Now: func() time.Time { return testNow }}
	tests := []struct{ q, want string }{
		{strings.TrimSpace(strings.Repeat("a* OR b* OR c* ", 40)), "prefix a* is too short (at least 3 letters before *, as in neu*) at 1"},
		{strings.Repeat("neu* ", 5), "too many prefixes such as neuro* (at most 4; narrow the query) at 21"},
		{strings.Repeat("eeg ", 41), "too many terms (at most 40; narrow the query) at 161"},
		{strings.Repeat("(a | b) ", 13), "too many OR groups (at most 12; narrow the query) at 100"},
	}
	for _, tt := range tests {
		r, err := c.Handle(ctx, bot.Request{Channel: channel.Ref{Platform: "slack", ID: "C1"}, User: "U1", Text: "search " + tt.q})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Private || !strings.Contains(text(r), "That query is not valid: "+tt.want) {
			t.Errorf("%.30q: reply %q, want %q", tt.q, text(r), tt.want)
		}
	}
	if st.lookups.Load() != 0 {
		t.Errorf("%d look-ups ran for refused queries", st.lookups.Load())
	}
}

// countingStore counts look-ups; it has no papers, channels or subscriptions.
type countingStore struct {
	Store
	lookups atomic.Int32
}

func (s *countingStore) Channel(_ context.Context, ch channel.Ref) (channel.Channel, error) {
	return channel.Channel{Ref: ch}, nil
}

func (s *countingStore) ScanCandidates(context.Context, *filters.Prefilter, time.Time, int, func(paper.Paper) bool) error {
	s.lookups.Add(1)
	return nil
}

// TestPerUserRate: past its burst, a user's commands are refused privately until the rate refills the bucket;
// other users, and the same id on another platform, are not affected; the limiter remembers a bounded number of
// users.
func TestPerUserRate(t *testing.T) {
	ctx := t.Context()
	now := testNow
	st := &countingStore{}
	c := &Commander{Store: st, Now: func() time.Time { return now },
		Limiter: NewUserLimiter(6, 2, 3, func() time.Time { return now })} // 6 a minute: one every 10 s
	do := func(platform, user string) bot.Reply {
		t.Helper()
		r, err := c.Handle(ctx, bot.Request{Channel: channel.Ref{Platform: platform, ID: "C1"}, User: user, Text: "eeg"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	limited := func(r bot.Reply) bool { return strings.Contains(text(r), "faster than I can answer") }
	for i := range 2 {
		if r := do("slack", "U1"); limited(r) {
			t.Fatalf("command %d within the burst refused: %q", i+1, text(r))
		}
	}
	r := do("slack", "U1")
	if !limited(r) || !r.Private || !strings.Contains(text(r), "wait 10 seconds") {
		t.Fatalf("third command in a row: %+v, want a private refusal saying how long to wait", r)
	}
	if st.lookups.Load() != 2 {
		t.Errorf("%d look-ups ran, want 2: a refused command must not reach the store", st.lookups.Load())
	}
	if limited(do("slack", "U2")) || limited(do("discord", "U1")) {
		t.Error("another user, or the same id on another platform, was limited")
	}
	now = now.Add(10 * time.Second)
	if r := do("slack", "U1"); limited(r) {
		t.Errorf("after the rate refilled one command: %q", text(r))
	}
	if r := do("slack", "U1"); !limited(r) {
		t.Errorf("a second command right after: %q, want refused", text(r))
	}
	// Past 3 users the least recently seen is forgotten: slack:U2 (U1 and discord:U1 are more recent).
	do("slack", "U3")
	if n := c.Limiter.Len(); n != 3 {
		t.Errorf("limiter remembers %d users, want at most 3", n)
	}
	if r := do("slack", "U1"); !limited(r) {
		t.Errorf("a recently seen user was forgotten: %q", text(r))
	}
}
