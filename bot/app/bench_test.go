package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/ingest"
	"github.com/paperboy-bot/paperboy/bot/testkit"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

// benchTemplate builds a store once, with setup, closes it and returns its path; benchCopy gives each iteration
// a fresh copy, so that the setup stays out of the timings without being repeated.
func benchTemplate(b *testing.B, setup func(ctx context.Context, st *store.Store)) string {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "template.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	setup(ctx, st)
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchCopy(b *testing.B, template string, i int) *store.Store {
	b.Helper()
	dst := filepath.Join(filepath.Dir(template), "run"+strconv.Itoa(i)+".db")
	for _, suffix := range []string{"", "-wal"} {
		if err := testkit.CopyFile(dst+suffix, template+suffix); err != nil && (suffix == "" || !errors.Is(err, os.ErrNotExist)) {
			b.Fatal(err)
		}
	}
	st, err := store.Open(context.Background(), dst)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func benchFeed(b *testing.B, n int) []paper.Paper {
	b.Helper()
	papers, err := sources.ParseArxivFeed(testkit.SyntheticArxivFeed(n, 7))
	if err != nil {
		b.Fatal(err)
	}
	return papers
}

// BenchmarkIngestRoute is one poll of 2,000 papers (the largest arXiv listing day) into a store with 10,000
// subscriptions over 1,000 channels: the ingester stores the papers, matches them and writes the outbox in one
// transaction. Target: under 1 s per poll.
func BenchmarkIngestRoute(b *testing.B) {
	const (
		channels = 1000
		subs     = 10000
	)
	papers := benchFeed(b, 2000)
	added := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	template := benchTemplate(b, func(ctx context.Context, st *store.Store) {
		r := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < subs; {
			q := testkit.BenchQuery(r)
			parsed, err := filters.Parse(q)
			if err != nil {
				b.Fatalf("query %q: %v", q, err)
			}
			ch := channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%04d", i%channels)}
			_, err = st.AddSubscription(ctx, channel.Subscription{Channel: ch, Query: q, Canonical: parsed.String(),
				AddedBy: "bench", AddedAt: added})
			if errors.Is(err, channel.ErrDuplicate) {
				continue // the channel already follows it: draw another
			}
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	at := time.Date(2026, 9, 24, 4, 0, 0, 0, time.UTC)
	ctx := context.Background()
	// full is the measure; the other two split its cost: the store's ingest without routing, and the matching
	// (Router.Route over the poll's papers) without the store. The rest of full is writing the outbox rows.
	for _, mode := range []string{"full", "ingest-only", "route-only"} {
		b.Run(mode, func(b *testing.B) {
			rows := 0
			var cpu time.Duration
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				st := benchCopy(b, template, i)
				router := ingest.NewRouter(st, nil)
				if err := router.Load(ctx); err != nil {
					b.Fatal(err)
				}
				ing := ingest.NewIngester(st, router, nil, nil)
				b.StartTimer()
				c0, _ := testkit.ProcessCPU()
				switch mode {
				case "full":
					res, err := ing.Ingest(ctx, "arxiv", papers, nil, at)
					if err != nil {
						b.Fatal(err)
					}
					if len(res.New) == 0 || res.Routed == 0 {
						b.Fatalf("poll stored %d new papers and %d outbox rows", len(res.New), res.Routed)
					}
					rows += res.Routed
				case "ingest-only":
					if _, err := st.Ingest(ctx, "arxiv", papers, nil, at); err != nil {
						b.Fatal(err)
					}
				case "route-only":
					for j := range papers {
						if !papers[j].AnnounceType.IsReplacement() {
							rows += len(router.Route(&papers[j], at))
						}
					}
				}
				c1, _ := testkit.ProcessCPU()
				cpu += c1 - c0
				b.StopTimer()
				st.Close()
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/poll")
			// CPU time varies far less than wall time on a shared machine: compare changes by it.
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/poll")
			b.ReportMetric(float64(rows)/float64(b.N), "outbox-rows/poll")
		})
	}
}

// benchPlatform accepts every message at once and counts the cards.
type benchPlatform struct {
	cards atomic.Int64
	// target, when reached, closes done.
	target int64
	once   sync.Once
	done   chan struct{}
}

func (p *benchPlatform) Name() string { return "slack" }

func (p *benchPlatform) Send(_ context.Context, msg bot.Message) (string, error) {
	n := p.cards.Add(int64(len(msg.Cards)))
	if p.done != nil && n >= p.target {
		p.once.Do(func() { close(p.done) })
	}
	return "m" + strconv.FormatInt(n, 10), nil
}

// BenchmarkDeliver drains 5,000 outbox rows over 50 instant channels to an in-memory platform with rate limits
// off: it measures the engine and the store, not the platform. Target: at least 2,000 cards/s.
func BenchmarkDeliver(b *testing.B) {
	const (
		channels = 50
		perChan  = 100
		total    = channels * perChan
	)
	papers := benchFeed(b, 300)
	at := time.Date(2026, 9, 24, 4, 0, 0, 0, time.UTC)
	template := benchTemplate(b, func(ctx context.Context, st *store.Store) {
		res, err := st.Ingest(ctx, "arxiv", papers, nil, at)
		if err != nil {
			b.Fatal(err)
		}
		keys := append(res.New, res.Updated...)
		if len(keys) < perChan {
			b.Fatalf("only %d papers", len(keys))
		}
		for c := range channels {
			matched := map[string][]string{}
			for _, k := range keys[:perChan] {
				matched[k] = []string{"eeg", "transformer"}
			}
			ch := channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%03d", c)}
			if n, err := st.Enqueue(ctx, ch, channel.KindMatch, matched, at); err != nil || n != perChan {
				b.Fatalf("enqueue: %d rows, %v", n, err)
			}
		}
	})
	limits := map[string]delivery.Limits{"slack": {PerChannel: rate.Inf, Global: rate.Inf}}
	ctx := context.Background()

	run := func(b *testing.B, drain func(e *delivery.Sender, st *store.Store, p *benchPlatform)) {
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			st := benchCopy(b, template, i)
			p := &benchPlatform{target: total, done: make(chan struct{})}
			e, err := delivery.NewSender(delivery.Options{Store: st, Owner: "bench", Platforms: map[string]bot.Platform{"slack": p}, Limits: limits, Workers: 4})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			drain(e, st, p)
			b.StopTimer()
			if n, err := st.OutboxDepth(ctx); err != nil || n != 0 || p.cards.Load() != total {
				b.Fatalf("after the drain: %d rows unsent (%v), %d cards sent, want 0 and %d", n, err, p.cards.Load(), total)
			}
			st.Close()
			b.StartTimer()
		}
		b.StopTimer()
		b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "cards/s")
	}
	b.Run("DeliverDue", func(b *testing.B) {
		run(b, func(e *delivery.Sender, st *store.Store, p *benchPlatform) {
			for p.cards.Load() < total {
				if err := e.DeliverDue(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("RunSender", func(b *testing.B) {
		run(b, func(e *delivery.Sender, st *store.Store, p *benchPlatform) {
			ctx, cancel := context.WithCancel(ctx)
			errc := make(chan error, 1)
			go func() { errc <- e.Run(ctx) }()
			<-p.done
			cancel()
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
		})
	})
	// The store's share: the same 5,000 rows marked sent one at a time, as send does after each card, and read
	// 50 at a time, as deliver does.
	b.Run("store-only", func(b *testing.B) {
		run(b, func(e *delivery.Sender, st *store.Store, p *benchPlatform) {
			work, err := st.Work(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, w := range work {
				for {
					items, err := st.Unsent(ctx, w.Ref, channel.KindMatch, []string{channel.StatePending}, 50)
					if err != nil {
						b.Fatal(err)
					}
					if len(items) == 0 {
						break
					}
					for _, it := range items {
						if err := st.MarkSent(ctx, []int64{it.ID}, "m", at); err != nil {
							b.Fatal(err)
						}
						p.cards.Add(1)
					}
				}
			}
		})
	})
}
