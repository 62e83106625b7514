package postgres

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// BenchmarkOutboxWrite is bot/store's benchmark of the same name on PostgreSQL: one poll of 2,000 papers routed
// to 92 of 1,000 channels (184,000 outbox rows) into an empty schema. PAPERBOY_BENCH_PG_SQL, if set, runs on
// the schema first, to measure a layout change before making it a migration.
func BenchmarkOutboxWrite(b *testing.B) {
	const papers, channels, perPaper = 2000, 1000, 92
	ctx := context.Background()
	g := testkit.NewCorpus(papers)
	index := map[string]int{}
	ps := make([]paper.Paper, papers)
	for i := range ps {
		ps[i] = g.Paper(i)
		index[ps[i].Key] = i
	}
	refs := make([]channel.Ref, channels)
	for c := range refs {
		refs[c] = channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%05d", c)}
	}
	route := func(p *paper.Paper, _ time.Time) []channel.Route {
		i := index[p.Key]
		out := make([]channel.Route, 0, perPaper)
		for k := range perPaper {
			out = append(out, channel.Route{Channel: refs[(i*31+k*7919)%channels], Matched: []string{"eeg"}})
		}
		return out
	}
	rows := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s, _ := openTest(b)
		if q := os.Getenv("PAPERBOY_BENCH_PG_SQL"); q != "" {
			if _, err := s.pool.Exec(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		res, err := s.IngestAndRoute(ctx, "bench", ps, nil, ps[len(ps)-1].Published, route)
		if err != nil {
			b.Fatal(err)
		}
		rows += res.Routed
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
