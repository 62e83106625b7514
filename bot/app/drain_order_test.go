package app

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

func TestFullDrainKeepsChannelOrder(t *testing.T) { onEachStore(t, testFullDrainKeepsChannelOrder) }

// testFullDrainKeepsChannelOrder routes a backlog of two polls, the first larger than what the store routes and
// writes in one go, to three channels, then lets the sender's Run loop drain it with several workers and no
// rate limits: every channel gets every paper it matched exactly once, oldest published first, across batch and
// poll boundaries.
func testFullDrainKeepsChannelOrder(t *testing.T, newEngineFixture fixtureFunc) {
	const (
		first  = 2100
		second = 200
	)
	f := newEngineFixture(t)
	chC := channel.Ref{Platform: "slack", ID: "CC"}
	f.subscribe(chA, "eeg")
	f.subscribe(chB, "eeg")
	f.subscribe(chC, "odd")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(i int) paper.Paper {
		title := fmt.Sprintf("EEG paper %d", i)
		if i%2 == 1 {
			title += " odd"
		}
		p := arxivPaper(fmt.Sprintf("2603.%05d", i), 1, paper.AnnounceNew, []string{"cs.LG"}, title)
		p.Published = start.Add(time.Duration(i) * time.Minute)
		return p
	}
	var poll1, poll2 []paper.Paper
	for i := range first {
		poll1 = append(poll1, mk(i))
	}
	for i := range second {
		poll2 = append(poll2, mk(first+i))
	}
	// A feed's order is not the published order: delivery must sort by the latter.
	r := rand.New(rand.NewPCG(3, 4))
	r.Shuffle(len(poll1), func(i, j int) { poll1[i], poll1[j] = poll1[j], poll1[i] })
	r.Shuffle(len(poll2), func(i, j int) { poll2[i], poll2[j] = poll2[j], poll2[i] })
	if res := f.ingest("arxiv", poll1...); res.Routed != first*2+first/2 {
		t.Fatalf("first poll routed %d rows, want %d", res.Routed, first*2+first/2)
	}
	f.clock.Add(time.Hour)
	if res := f.ingest("arxiv", poll2...); res.Routed != second*2+second/2 {
		t.Fatalf("second poll routed %d rows, want %d", res.Routed, second*2+second/2)
	}

	var all, odd []string
	for i := range first + second {
		key := fmt.Sprintf("arxiv:2603.%05d", i)
		all = append(all, key)
		if i%2 == 1 {
			odd = append(odd, key)
		}
	}
	total := 2*len(all) + len(odd)

	f.newSender(func(o *delivery.Options) { o.Workers = 4; o.Now = nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- f.eng.Run(ctx) }()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		depth, err := f.st.OutboxDepth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if depth == 0 && len(f.plat.keys(chA))+len(f.plat.keys(chB))+len(f.plat.keys(chC)) >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog not drained after 3 minutes: %d rows unsent", depth)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ch   channel.Ref
		want []string
	}{{chA, all}, {chB, all}, {chC, odd}} {
		if got := f.plat.keys(c.ch); !slices.Equal(got, c.want) {
			t.Errorf("%s got %d cards, want %d in published order; first differences: %v",
				c.ch, len(got), len(c.want), firstDiff(got, c.want))
		}
	}
}

// firstDiff describes where got and want first differ.
func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("card %d is %s, want %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}
