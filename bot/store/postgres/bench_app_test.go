package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/ingest"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

// BenchmarkIngestRoute and BenchmarkDeliver are bot/app's benchmarks of the same names on this store (same
// feed, subscription mix (testkit.BenchQuery) and sizes), for the PostgreSQL/SQLite ratios of routing and delivery.

func benchFeed(b *testing.B, n int) []paper.Paper {
	b.Helper()
	papers, err := sources.ParseArxivFeed(testkit.SyntheticArxivFeed(n, 7))
	if err != nil {
		b.Fatal(err)
	}
	return papers
}

// BenchmarkIngestRoute is one poll of 2,000 papers into a store with 10,000 subscriptions over 1,000 channels:
// the ingester stores the papers, matches them and writes the outbox in one transaction. Target: under 1 s.
func BenchmarkIngestRoute(b *testing.B) {
	const (
		channels = 1000
		subs     = 10000
	)
	papers := benchFeed(b, 2000)
	// The same subscriptions as bot/app's benchmark, set through the configuration path (one statement).
	r := rand.New(rand.NewPCG(1, 2))
	byChannel := make([]channel.ConfigChannel, channels)
	seen := map[string]bool{}
	for i := 0; i < subs; {
		q := testkit.BenchQuery(r)
		parsed, err := filters.Parse(q)
		if err != nil {
			b.Fatalf("query %q: %v", q, err)
		}
		c := i % channels
		byChannel[c].Ref = channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%04d", c)}
		if k := byChannel[c].Ref.ID + parsed.String(); seen[k] {
			continue
		} else {
			seen[k] = true
		}
		byChannel[c].Subscriptions = append(byChannel[c].Subscriptions, channel.Subscription{Query: q, Canonical: parsed.String()})
		i++
	}
	added := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := time.Date(2026, 9, 24, 4, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, mode := range []string{"full", "ingest-only", "route-only"} {
		b.Run(mode, func(b *testing.B) {
			rows := 0
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				st, _ := openTest(b)
				if err := st.SyncConfigChannels(ctx, byChannel, added); err != nil {
					b.Fatal(err)
				}
				router := ingest.NewRouter(st, nil)
				if err := router.Load(ctx); err != nil {
					b.Fatal(err)
				}
				ing := ingest.NewIngester(st, router, nil, nil)
				b.StartTimer()
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
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/poll")
			b.ReportMetric(float64(rows)/float64(b.N), "outbox-rows/poll")
		})
	}
}

// benchPlatform accepts every message at once and counts the cards.
type benchPlatform struct {
	cards  atomic.Int64
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
// off: it measures the sender and the store, not the platform. Target: at least 2,000 cards/s, with one instance
// and with three instances sharing the work through channel leases.
func BenchmarkDeliver(b *testing.B) {
	const (
		channels = 50
		perChan  = 100
		total    = channels * perChan
	)
	papers := benchFeed(b, 300)
	at := time.Date(2026, 9, 24, 4, 0, 0, 0, time.UTC)
	ctx := context.Background()
	setup := func(b *testing.B) (*Store, string) {
		st, u := openTest(b)
		res, err := st.Ingest(ctx, "arxiv", papers, nil, at)
		if err != nil {
			b.Fatal(err)
		}
		keys := append(res.New, res.Updated...)
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
		return st, u
	}
	limits := map[string]delivery.Limits{"slack": {PerChannel: rate.Inf, Global: rate.Inf}}
	sender := func(b *testing.B, st *Store, owner string, p *benchPlatform) *delivery.Sender {
		e, err := delivery.NewSender(delivery.Options{Store: st, Owner: owner, Platforms: map[string]bot.Platform{"slack": p}, Limits: limits, Workers: 4})
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	run := func(b *testing.B, instances int, drain func(senders []*delivery.Sender, st *Store, p *benchPlatform)) {
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			st, u := setup(b)
			p := &benchPlatform{target: total, done: make(chan struct{})}
			senders := []*delivery.Sender{sender(b, st, "bench-0", p)}
			for i := 1; i < instances; i++ {
				senders = append(senders, sender(b, openURL(b, u), fmt.Sprintf("bench-%d", i), p))
			}
			b.StartTimer()
			drain(senders, st, p)
			b.StopTimer()
			if n, err := st.OutboxDepth(ctx); err != nil || n != 0 || p.cards.Load() != total {
				b.Fatalf("after the drain: %d rows unsent (%v), %d cards sent, want 0 and %d", n, err, p.cards.Load(), total)
			}
			b.StartTimer()
		}
		b.StopTimer()
		b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "cards/s")
	}
	runSenders := func(senders []*delivery.Sender, _ *Store, p *benchPlatform) {
		ctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, len(senders))
		for _, e := range senders {
			go func() { errc <- e.Run(ctx) }()
		}
		<-p.done
		cancel()
		for range senders {
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("DeliverDue", func(b *testing.B) {
		run(b, 1, func(senders []*delivery.Sender, _ *Store, p *benchPlatform) {
			for p.cards.Load() < total {
				if err := senders[0].DeliverDue(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("RunSender", func(b *testing.B) { run(b, 1, runSenders) })
	b.Run("RunSender-3-instances", func(b *testing.B) { run(b, 3, runSenders) })
	b.Run("store-only", func(b *testing.B) {
		run(b, 1, func(_ []*delivery.Sender, st *Store, p *benchPlatform) {
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
