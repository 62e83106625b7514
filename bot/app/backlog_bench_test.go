package app

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// BenchmarkDeliverBacklog drains a backlog of PAPERBOY_BENCH_BACKLOG outbox rows (default 20,000; the issue's
// goal is set with 1000000) over 1,000 instant channels with the sender's Run loop, rate limits off. cards/s is
// end to end: Work, Unsent, the sends and MarkSent.
func BenchmarkDeliverBacklog(b *testing.B) {
	total := 20_000
	if v := os.Getenv("PAPERBOY_BENCH_BACKLOG"); v != "" {
		var err error
		if total, err = strconv.Atoi(v); err != nil || total < 1000 {
			b.Fatalf("PAPERBOY_BENCH_BACKLOG=%q: want a number of at least 1000", v)
		}
	}
	const channels = 1000
	perChan := total / channels
	total = perChan * channels
	at := time.Date(2026, 9, 24, 4, 0, 0, 0, time.UTC)
	g := testkit.NewCorpus(perChan)
	template := benchTemplate(b, func(ctx context.Context, st *store.Store) {
		papers := make([]paper.Paper, perChan)
		for i := range papers {
			papers[i] = g.Paper(i)
		}
		res, err := st.Ingest(ctx, "arxiv", papers, nil, at)
		if err != nil {
			b.Fatal(err)
		}
		keys := append(res.New, res.Updated...)
		matched := map[string][]string{}
		for _, k := range keys {
			matched[k] = []string{"eeg"}
		}
		for c := range channels {
			ch := channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%04d", c)}
			if n, err := st.Enqueue(ctx, ch, channel.KindMatch, matched, at); err != nil || n != len(keys) {
				b.Fatalf("enqueue: %d rows, %v", n, err)
			}
		}
	})
	limits := map[string]delivery.Limits{"slack": {PerChannel: rate.Inf, Global: rate.Inf}}
	ctx := context.Background()
	var cpu time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		st := benchCopy(b, template, i)
		p := &benchPlatform{target: int64(total), done: make(chan struct{})}
		e, err := delivery.NewSender(delivery.Options{Store: st, Owner: "bench", Platforms: map[string]bot.Platform{"slack": p}, Limits: limits, Workers: 4})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0, _ := testkit.ProcessCPU()
		rctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { errc <- e.Run(rctx) }()
		<-p.done
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		c1, _ := testkit.ProcessCPU()
		cpu += c1 - c0
		b.StopTimer()
		if n, err := st.OutboxDepth(ctx); err != nil || n != 0 {
			b.Fatalf("after the drain: %d rows unsent (%v)", n, err)
		}
		st.Close()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "cards/s")
	// On a shared machine the CPU time the drain used is the steadier measure.
	if cpu > 0 {
		b.ReportMetric(float64(total*b.N)/cpu.Seconds(), "cards/cpu-s")
	}
}
