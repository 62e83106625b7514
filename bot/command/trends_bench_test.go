package command

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/bot/trend"
)

// BenchmarkTrends measures /papers trends on a store of a year of papers (20,000, a quarter of them matching one
// of three subscriptions), against /papers list on the same channel as the baseline: list counts a week of
// matches per subscription, trends a year of them and draws the chart.
//
//	go test -run XXX -bench Trends -benchtime 5x ./bot/command
func BenchmarkTrends(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "paperboy.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	const n = 20_000
	topics := []string{"EEG decoding with transformers", "spiking neural networks on chips", "diffusion models for images", "graph rewiring", "protein folding", "weather forecasting", "causal discovery", "robot grasping"}
	var ps []paper.Paper
	for i := range n {
		t := topics[i%len(topics)]
		ps = append(ps, testkit.Paper(testNow, fmt.Sprintf("26%02d.%05d", i%12+1, i), t+fmt.Sprintf(" number %d", i),
			"We study "+t+" with mamba encoders and careful ablations.", i*365/n))
	}
	for i := 0; i < len(ps); i += 1000 {
		if _, err := st.Ingest(ctx, "arxiv", ps[i:min(i+1000, len(ps))], nil, testNow); err != nil {
			b.Fatal(err)
		}
	}
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	c := &Commander{Store: st, Now: func() time.Time { return testNow }, LookupTimeout: time.Minute}
	for _, q := range []string{"subscribe eeg", "subscribe spiking", "subscribe diffusion"} {
		if _, err := c.Handle(ctx, bot.Request{Channel: ch, CanManage: true, Text: q}); err != nil {
			b.Fatal(err)
		}
	}
	run := func(text string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				r, err := c.Handle(ctx, bot.Request{Channel: ch, Text: text})
				if err != nil || r.Error {
					b.Fatalf("%v %v", r.Text, err)
				}
			}
		}
	}
	b.Run("list (baseline)", run("list"))
	b.Run("trends 8", run("trends"))
	b.Run("trends 52", run("trends 52"))
	t, err := c.Trend(ctx, ch, trend.MaxWeeks)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("render 52 only", func(b *testing.B) {
		for b.Loop() {
			if _, err := trend.Render(t.Result, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
