package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

// memSubs is a SubscriptionStore in memory.
type memSubs []channel.Subscription

func (m *memSubs) SubscriptionsVersion(context.Context) (int64, error) { return int64(len(*m)), nil }

func (m *memSubs) AllSubscriptions(context.Context) ([]channel.Subscription, error) { return *m, nil }

func (m *memSubs) Subscriptions(_ context.Context, ch channel.Ref) ([]channel.Subscription, error) {
	var out []channel.Subscription
	for _, s := range *m {
		if s.Channel == ch {
			out = append(out, s)
		}
	}
	return out, nil
}

// benchSubs draws n subscriptions (testkit.BenchQuery) spread over channels, none twice in a channel.
func benchSubs(tb testing.TB, n, channels int, added time.Time) memSubs {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[[2]string]bool{}
	out := make(memSubs, 0, n)
	for len(out) < n {
		q := testkit.BenchQuery(r)
		parsed, err := filters.Parse(q)
		if err != nil {
			tb.Fatalf("query %q: %v", q, err)
		}
		ch := channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%05d", len(out)%channels)}
		if k := [2]string{ch.ID, parsed.String()}; !seen[k] {
			seen[k] = true
			out = append(out, channel.Subscription{ID: int64(len(out) + 1), Channel: ch, Query: q, Canonical: parsed.String(),
				AddedAt: added})
		}
	}
	return out
}

// BenchmarkRoute routes one poll of 2,000 papers (arXiv's largest listing day) with ten subscriptions per channel,
// at 100, 1k and 10k channels: routing must be linear in the (channel, paper) pairs it routes, so ns/route stays
// flat and the 10k case costs about ten times the 1k case (it was 24x when routes were grouped by a scan). The
// routing part of the ingest benchmark is channels=1000.
//
//	go test -run '^$' -bench 'Route$' -benchtime 5x ./bot/ingest/
func BenchmarkRoute(b *testing.B) {
	feed, err := sources.ParseArxivFeed(testkit.SyntheticArxivFeed(2000, 7))
	if err != nil {
		b.Fatal(err)
	}
	var papers []*paper.Paper
	for i := range feed {
		if !feed[i].AnnounceType.IsReplacement() {
			papers = append(papers, &feed[i])
		}
	}
	added := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := time.Date(2026, 9, 24, 4, 0, 0, 0, time.UTC)
	for _, channels := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("channels=%d", channels), func(b *testing.B) {
			subs := benchSubs(b, 10*channels, channels, added)
			r := NewRouter(&subs, nil)
			if err := r.Load(b.Context()); err != nil {
				b.Fatal(err)
			}
			routes := 0
			var cpu testkit.CPUMeter
			cpu.Start()
			for b.Loop() {
				routes = 0
				for _, p := range papers {
					routes += len(r.Route(p, at))
				}
			}
			cpu.Stop()
			cpu.ReportCPU(b)
			b.ReportMetric(float64(routes), "routes/poll")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(max(routes, 1)), "ns/route")
		})
	}
}
