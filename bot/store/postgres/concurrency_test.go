package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// everyPaperTo routes every paper to ch.
func everyPaperTo(ch channel.Ref) channel.Router {
	return func(*paper.Paper, time.Time) []channel.Route {
		return []channel.Route{{Channel: ch, Matched: []string{"all"}}}
	}
}

// TestConcurrentIngest has three instances ingest the same keys at the same time, each from its own source with
// its own category and in its own order: every key is stored once, announced (New) by exactly one of them, routed
// once, and keeps what every instance brought (no merge lost).
func TestConcurrentIngest(t *testing.T) {
	t.Parallel()
	s1, u := openTest(t)
	stores := []*Store{s1, openURL(t, u), openURL(t, u)}
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	const rounds, perRound = 4, 60
	for round := range rounds {
		results := make([]paper.IngestResult, len(stores))
		errs := make([]error, len(stores))
		var wg sync.WaitGroup
		for i, st := range stores {
			batch := make([]paper.Paper, perRound)
			for j := range batch {
				batch[j] = arxiv(fmt.Sprintf("2609.%05d", round*perRound+j), t0, paper.AnnounceNew, "Title", "Abstract", fmt.Sprintf("cat.%d", i))
			}
			r := rand.New(rand.NewPCG(uint64(round), uint64(i)))
			r.Shuffle(len(batch), func(a, b int) { batch[a], batch[b] = batch[b], batch[a] })
			wg.Go(func() {
				results[i], errs[i] = st.IngestAndRoute(t.Context(), fmt.Sprintf("src%d", i), batch, nil, t0, everyPaperTo(ch))
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, instance %d: %v", round, i, err)
			}
		}
		newBy := map[string]int{}
		routed := 0
		for _, res := range results {
			for _, k := range res.New {
				newBy[k]++
			}
			routed += res.Routed
		}
		for j := range perRound {
			key := fmt.Sprintf("arxiv:2609.%05d", round*perRound+j)
			if newBy[key] != 1 {
				t.Errorf("round %d: %s announced %d times", round, key, newBy[key])
			}
			p := mustPaper(t, s1, key)
			cats, srcs := slices.Sorted(slices.Values(p.Categories)), slices.Sorted(slices.Values(p.Sources))
			if !slices.Equal(cats, []string{"cat.0", "cat.1", "cat.2"}) || !slices.Equal(srcs, []string{"src0", "src1", "src2"}) {
				t.Errorf("round %d: %s has categories %v and sources %v: a merge was lost", round, key, cats, srcs)
			}
		}
		if routed != perRound {
			t.Errorf("round %d: routed %d rows, want %d", round, routed, perRound)
		}
	}
	if n, err := s1.count(t.Context()); err != nil || n != rounds*perRound {
		t.Errorf("Count = %d, %v", n, err)
	}
	if n, err := s1.OutboxDepth(t.Context()); err != nil || n != rounds*perRound {
		t.Errorf("OutboxDepth = %d, %v", n, err)
	}
	states, err := s1.SourceStates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if st.Papers != rounds*perRound {
			t.Errorf("source %s counts %d papers, want %d", st.Source, st.Papers, rounds*perRound)
		}
	}
	checkIntegrity(t, s1)
}

// TestIngestWaitsForConcurrentWriter holds one instance's ingest open just before its commit while another
// ingests the same key, and checks that the second waits and then merges into what the first wrote, both when
// the first is inserting the key and when it is updating it.
func TestIngestWaitsForConcurrentWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		known bool // the key is stored before the race
	}{
		{"key being inserted", false},
		{"key being updated", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			first, u := openTest(t)
			app := fmt.Sprintf("paperboy-second-%d", rand.Uint64())
			second := openURL(t, withParam(t, u, "application_name", app))
			p := arxiv("2609.00001", t0, paper.AnnounceNew, "Title", "Abstract", "cs.LG")
			if tt.known {
				mustIngest(t, first, "seed", []paper.Paper{p}, nil, t0)
			}
			held, release := make(chan struct{}), make(chan struct{})
			first.beforeCommit = func(context.Context, pgx.Tx) error {
				close(held)
				<-release
				return nil
			}
			pa, pb := p, p
			pa.Categories, pb.Categories = []string{"cat.a"}, []string{"cat.b"}
			var resA, resB paper.IngestResult
			var errA, errB error
			var wg sync.WaitGroup
			wg.Go(func() { resA, errA = first.Ingest(t.Context(), "a", []paper.Paper{pa}, nil, t0) })
			<-held
			wg.Go(func() { resB, errB = second.Ingest(t.Context(), "b", []paper.Paper{pb}, nil, t0) })
			waitForLockWait(t, first, app)
			close(release)
			wg.Wait()
			if errA != nil || errB != nil {
				t.Fatalf("Ingest: %v; %v", errA, errB)
			}
			wantNewA := !tt.known
			if got := len(resA.New) == 1; got != wantNewA || len(resB.New) != 0 || !slices.Equal(resB.Updated, []string{p.Key}) {
				t.Errorf("first = %+v, second = %+v; want the first New %v and the second Updated", resA, resB, wantNewA)
			}
			got := mustPaper(t, first, p.Key)
			if cats := slices.Sorted(slices.Values(got.Categories)); !slices.Contains(cats, "cat.a") || !slices.Contains(cats, "cat.b") {
				t.Errorf("categories %v: a merge was lost", cats)
			}
		})
	}
}

// waitForLockWait returns once the backend with the given application_name waits for a lock.
func waitForLockWait(t *testing.T, s *Store, app string) {
	t.Helper()
	for {
		var n int
		if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatal("the second ingest never waited for the first")
		case <-time.After(5 * time.Millisecond):
		}
	}
}
