package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// The outbox benchmarks use only the store's exported methods, so that the same file measures an older layout
// when copied into an older tree (see README, Performance).

// routeShape is a routed poll: papers new papers, each routed to perPaper of channels channels.
type routeShape struct{ papers, channels, perPaper int }

// benchRouteShape reads the shape from PAPERBOY_BENCH_ROUTE ("papers,channels,perPaper"); the default,
// 2000 x 1000 x 92, writes 184,000 rows, the 2,000 papers for 1k channels with 10 subscriptions each.
func benchRouteShape(b *testing.B) routeShape {
	sh := routeShape{2000, 1000, 92}
	if v := os.Getenv("PAPERBOY_BENCH_ROUTE"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d,%d", &sh.papers, &sh.channels, &sh.perPaper); err != nil || sh.perPaper > sh.channels {
			b.Fatalf("PAPERBOY_BENCH_ROUTE=%q: want papers,channels,perPaper", v)
		}
	}
	return sh
}

// router routes paper number i (its position in the corpus) to perPaper distinct channels spread over all.
func (sh routeShape) router(index map[string]int) channel.Router {
	refs := make([]channel.Ref, sh.channels)
	for c := range refs {
		refs[c] = channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%05d", c)}
	}
	return func(p *paper.Paper, _ time.Time) []channel.Route {
		i := index[p.Key]
		out := make([]channel.Route, 0, sh.perPaper)
		for k := range sh.perPaper {
			// 7919 is prime, so k -> (i*31 + k*7919) mod channels is one-to-one for channels up to 7919.
			out = append(out, channel.Route{Channel: refs[(i*31+k*7919)%sh.channels], Matched: []string{"eeg"}})
		}
		return out
	}
}

// pollPapers returns poll number n's papers (fresh ones, published in the poll's hour) and their index.
func pollPapers(g *testkit.Corpus, n, size int, index map[string]int) []paper.Paper {
	out := make([]paper.Paper, size)
	for j := range size {
		i := n*size + j
		out[j] = g.Paper(i)
		index[out[j].Key] = i
	}
	return out
}

// BenchmarkOutboxWrite is one routed poll into an empty store: benchRouteShape's papers and rows in one
// IngestAndRoute. rows/s is the outbox rows written per second of the whole poll.
func BenchmarkOutboxWrite(b *testing.B) {
	sh := benchRouteShape(b)
	ctx := context.Background()
	g := testkit.NewCorpus(sh.papers)
	index := map[string]int{}
	papers := pollPapers(g, 0, sh.papers, index)
	route := sh.router(index)
	rows := 0
	var cpu time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		s, err := Open(ctx, filepath.Join(b.TempDir(), "w"+strconv.Itoa(i)+".db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0, _ := testkit.ProcessCPU()
		res, err := s.IngestAndRoute(ctx, "bench", papers, nil, papers[len(papers)-1].Published, route)
		c1, _ := testkit.ProcessCPU()
		b.StopTimer()
		cpu += c1 - c0
		if err != nil {
			b.Fatal(err)
		}
		rows += res.Routed
		if res.Routed != sh.papers*sh.perPaper {
			b.Fatalf("routed %d rows, want %d", res.Routed, sh.papers*sh.perPaper)
		}
		_ = s.Close()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	// CPU time varies far less than wall time on a shared machine: compare layouts by it.
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/poll")
	if cpu > 0 {
		b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
	}
}

// sentPruner is the pruning this tree's store may have (an older tree's has none).
type sentPruner interface {
	PruneSent(ctx context.Context, before time.Time) (int, error)
}

// BenchmarkConsecutivePolls runs PAPERBOY_BENCH_POLLS (default 6) routed polls of benchRouteShape into one store,
// a month apart; between polls everything is delivered (marked sent) and, where the store can, rows sent more
// than keep_sent's default 90 days ago are pruned. It reports the first and the last poll's CPU time and their ratio:
// a poll must not slow down with the number of earlier ones.
func BenchmarkConsecutivePolls(b *testing.B) {
	sh := benchRouteShape(b)
	polls := 6
	if v := os.Getenv("PAPERBOY_BENCH_POLLS"); v != "" {
		var err error
		if polls, err = strconv.Atoi(v); err != nil || polls < 2 {
			b.Fatalf("PAPERBOY_BENCH_POLLS=%q: want a number of at least 2", v)
		}
	}
	ctx := context.Background()
	g := testkit.NewCorpus(sh.papers * polls)
	var first, last time.Duration
	for i := range b.N {
		s, err := Open(ctx, filepath.Join(b.TempDir(), "p"+strconv.Itoa(i)+".db"))
		if err != nil {
			b.Fatal(err)
		}
		index := map[string]int{}
		route := sh.router(index)
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for n := range polls {
			at := start.AddDate(0, n, 0)
			papers := pollPapers(g, n, sh.papers, index)
			// CPU time, not wall time: on a shared machine the wall time of one poll swings by several times.
			c0, _ := testkit.ProcessCPU()
			if _, err := s.IngestAndRoute(ctx, "bench", papers, nil, at, route); err != nil {
				b.Fatal(err)
			}
			c1, _ := testkit.ProcessCPU()
			d := c1 - c0
			if n == 0 {
				first += d
			}
			if n == polls-1 {
				last += d
			}
			b.Logf("poll %d: %s CPU", n+1, d.Round(time.Millisecond))
			markAllSent(b, s, at.Add(time.Hour))
			if p, ok := any(s).(sentPruner); ok {
				if _, err := p.PruneSent(ctx, at.Add(-90*24*time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		}
		_ = s.Close()
	}
	b.ReportMetric(first.Seconds()/float64(b.N), "first-poll-cpu-s")
	b.ReportMetric(last.Seconds()/float64(b.N), "last-poll-cpu-s")
	b.ReportMetric(float64(last)/float64(first), "last/first")
}

// markAllSent marks every unsent row sent at at, a message per channel.
func markAllSent(b *testing.B, s *Store, at time.Time) {
	ctx := context.Background()
	work, err := s.Work(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range work {
		items, err := s.Unsent(ctx, w.Ref, channel.KindMatch, []string{channel.StatePending}, 0)
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]int64, len(items))
		for i, it := range items {
			ids[i] = it.ID
		}
		if err := s.MarkSent(ctx, ids, "m-"+w.Ref.ID, at); err != nil {
			b.Fatal(err)
		}
	}
}
