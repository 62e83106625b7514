package ingest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/sources"
)

// fakeSource answers polls from a script, one step per poll; the last step repeats.
type fakeSource struct {
	name  string
	mu    sync.Mutex
	steps []fakeStep
	polls int
	prevs []map[string]paper.Validators
}

type fakeStep struct {
	res sources.PollResult
	err error
}

func (f *fakeSource) pollCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls
}

func (f *fakeSource) Name() string { return f.name }
func (f *fakeSource) Kind() string { return "fake" }
func (f *fakeSource) Poll(_ context.Context, prev map[string]paper.Validators) (sources.PollResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prevs = append(f.prevs, prev)
	st := f.steps[min(f.polls, len(f.steps)-1)]
	f.polls++
	return st.res, st.err
}

// memStore is an in-memory PaperStore that records what the poller asked of it.
type memStore struct {
	mu          sync.Mutex
	papers      map[string]bool
	validators  map[string]map[string]paper.Validators
	pollErrors  map[string][]error
	notModified map[string]int
}

func newMemStore() *memStore {
	return &memStore{papers: map[string]bool{}, validators: map[string]map[string]paper.Validators{},
		pollErrors: map[string][]error{}, notModified: map[string]int{}}
}

func (m *memStore) Validators(_ context.Context, src string) (map[string]paper.Validators, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.validators[src], nil
}

func (m *memStore) Ingest(_ context.Context, src string, ps []paper.Paper, v map[string]paper.Validators, _ time.Time) (paper.IngestResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var r paper.IngestResult
	for _, p := range ps {
		if m.papers[p.Key] {
			r.Unchanged++
			continue
		}
		m.papers[p.Key] = true
		r.New = append(r.New, p.Key)
	}
	m.validators[src] = v
	return r, nil
}

func (m *memStore) RecordPollError(_ context.Context, src string, err error, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pollErrors[src] = append(m.pollErrors[src], err)
	return nil
}

func (m *memStore) RecordNotModified(_ context.Context, src string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notModified[src]++
	return nil
}

func pollPaper(id string) paper.Paper {
	return paper.Paper{Key: "arxiv:" + id, ArxivID: id, Title: "Paper " + id}
}

func TestPollOnce(t *testing.T) {
	v1 := map[string]paper.Validators{"http://feed": {ETag: `"v1"`}}
	errDown := errors.New("connection refused")
	tests := []struct {
		name        string
		step        fakeStep
		wantNew     int
		wantNotMod  bool
		wantErr     error
		wantStoredV map[string]paper.Validators
	}{
		{"new papers and validators stored together", fakeStep{res: sources.PollResult{Papers: []paper.Paper{pollPaper("2401.00001"), pollPaper("2401.00002")}, Validators: v1}}, 2, false, nil, v1},
		{"not modified", fakeStep{res: sources.PollResult{NotModified: true}}, 0, true, nil, nil},
		{"fetch error records it and keeps old validators", fakeStep{err: errDown}, 0, false, errDown, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			src := &fakeSource{name: "s", steps: []fakeStep{tt.step}}
			// Every reading of the clock advances it a second: the poll takes at least one.
			var mu sync.Mutex
			clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			tick := func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				clock = clock.Add(time.Second)
				return clock
			}
			p := &Poller{State: st, Sink: st, Now: tick}
			rep := p.PollOnce(context.Background(), src)
			if rep.Took < time.Second {
				t.Errorf("Took = %v, want the poll's duration (at least 1s on this clock)", rep.Took)
			}
			if !errors.Is(rep.Err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", rep.Err, tt.wantErr)
			}
			if rep.New != tt.wantNew || rep.NotModified != tt.wantNotMod {
				t.Errorf("report = %+v", rep)
			}
			if tt.wantErr != nil && len(st.pollErrors["s"]) != 1 {
				t.Errorf("poll error not recorded: %v", st.pollErrors)
			}
			if tt.wantNotMod && st.notModified["s"] != 1 {
				t.Errorf("not-modified not recorded")
			}
			if fmt.Sprint(st.validators["s"]) != fmt.Sprint(tt.wantStoredV) {
				t.Errorf("stored validators = %v, want %v", st.validators["s"], tt.wantStoredV)
			}
		})
	}
}

func TestPollerPassesStoredValidators(t *testing.T) {
	v1 := map[string]paper.Validators{"http://feed": {ETag: `"v1"`}}
	st := newMemStore()
	src := &fakeSource{name: "s", steps: []fakeStep{{res: sources.PollResult{Papers: []paper.Paper{pollPaper("2401.00001")}, Validators: v1}}, {res: sources.PollResult{NotModified: true}}}}
	p := &Poller{State: st, Sink: st}
	p.PollOnce(context.Background(), src)
	p.PollOnce(context.Background(), src)
	if got := src.prevs[1]["http://feed"].ETag; got != `"v1"` {
		t.Fatalf("second poll got validators %v, want the ETag of the first", src.prevs[1])
	}
}

func TestNextDelay(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	p := &Poller{Now: func() time.Time { return now },
		Backoff: sources.Backoff{Base: time.Minute, Max: 24 * time.Hour, Rand: func() float64 { return 0.5 }}}
	boom := errors.New("boom")
	tests := []struct {
		name     string
		rep      PollReport
		failures int
		min, max time.Duration
	}{
		{"success polls on the interval", PollReport{}, 0, time.Hour, time.Hour},
		{"max-age longer than the interval wins", PollReport{NextPoll: now.Add(2 * time.Hour)}, 0, 2 * time.Hour, 2 * time.Hour},
		{"max-age shorter than the interval is ignored", PollReport{NextPoll: now.Add(time.Minute)}, 0, time.Hour, time.Hour},
		{"first failure retries sooner", PollReport{Err: boom}, 1, time.Second, 5 * time.Minute},
		{"long outage is capped at the interval", PollReport{Err: boom}, 30, time.Hour, time.Hour},
		{"Retry-After beyond the interval is respected", PollReport{Err: fmt.Errorf("poll: %w", &sources.HTTPError{StatusCode: 429, RetryAfter: 3 * time.Hour})}, 1, 3 * time.Hour, 3 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.nextDelay(time.Hour, tt.rep, tt.failures)
			if got < tt.min || got > tt.max {
				t.Errorf("nextDelay = %s, want within [%s, %s]", got, tt.min, tt.max)
			}
		})
	}
}

// TestRunKeepsHealthySourcesFlowing runs a healthy and a failing source with an instant fake clock: the healthy one
// keeps ingesting while the other fails, and the failing one recovers and ingests once the feed comes back.
func TestRunKeepsHealthySourcesFlowing(t *testing.T) {
	st := newMemStore()
	good := &fakeSource{name: "good", steps: []fakeStep{{res: sources.PollResult{Papers: []paper.Paper{pollPaper("2401.00001")}}}}}
	boom := fakeStep{err: errors.New("boom")}
	bad := &fakeSource{name: "bad", steps: []fakeStep{boom, boom, boom, boom,
		{err: &sources.HTTPError{URL: "http://bad", StatusCode: 429, RetryAfter: 3 * time.Hour}},
		{res: sources.PollResult{Papers: []paper.Paper{pollPaper("2401.00002")}}},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &Poller{
		State:   st,
		Sink:    st,
		Sources: []ScheduledSource{{Source: good, Interval: time.Hour}, {Source: bad, Interval: time.Hour}},
		Backoff: sources.Backoff{Base: time.Minute, Max: 24 * time.Hour},
		Sleep: func(ctx context.Context, d time.Duration) error {
			if good.pollCount() >= 5 && bad.pollCount() >= 7 {
				cancel()
			}
			runtime.Gosched() // an instant clock must not let one source starve the other
			return ctx.Err()
		},
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if good.polls < 5 {
		t.Errorf("healthy source polled %d times while the other failed, want it to keep going", good.polls)
	}
	if !st.papers["arxiv:2401.00002"] {
		t.Errorf("failing source never recovered: polls=%d errors=%v", bad.polls, st.pollErrors["bad"])
	}
	if len(st.pollErrors["bad"]) != 5 || len(st.pollErrors["good"]) != 0 {
		t.Errorf("poll errors = %v", st.pollErrors)
	}
}

// TestAfterFirstPollRunsOnceAfterSuccess: the history hook runs once per source, after its first successful poll
// (not after a failed one), before the source's next poll.
func TestAfterFirstPollRunsOnceAfterSuccess(t *testing.T) {
	st := newMemStore()
	src := &fakeSource{name: "arxiv-eeg", steps: []fakeStep{{err: errors.New("boom")},
		{res: sources.PollResult{Papers: []paper.Paper{pollPaper("2401.00001")}}}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var calls []int // the poll count at each call
	p := &Poller{
		State: st, Sink: st,
		Sources: []ScheduledSource{{Source: src, Interval: time.Hour}},
		Backoff: sources.Backoff{Base: time.Minute, Max: time.Hour},
		Sleep: func(ctx context.Context, _ time.Duration) error {
			if src.pollCount() >= 4 {
				cancel()
			}
			return ctx.Err()
		},
		AfterFirstPoll: func(_ context.Context, source string) {
			mu.Lock()
			defer mu.Unlock()
			if source != "arxiv-eeg" {
				t.Errorf("hook called for %q", source)
			}
			calls = append(calls, src.pollCount())
		},
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || calls[0] != 2 {
		t.Errorf("hook calls at poll counts %v, want one, right after the second (first successful) poll", calls)
	}
}
