package app

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
)

// exclusivePlatform records every send and fails the test if two sends to one channel ever overlap.
type exclusivePlatform struct {
	t        *testing.T
	mu       sync.Mutex
	inFlight map[channel.Ref]int
	sent     map[channel.Ref][]string
	total    int
	done     chan struct{}
	want     int
}

func (p *exclusivePlatform) Name() string { return "slack" }

func (p *exclusivePlatform) Send(_ context.Context, msg bot.Message) (string, error) {
	p.mu.Lock()
	p.inFlight[msg.Channel]++
	if n := p.inFlight[msg.Channel]; n > 1 {
		p.t.Errorf("%d sends to %s at once", n, msg.Channel)
	}
	p.mu.Unlock()
	time.Sleep(time.Millisecond) // a platform round trip, so that overlaps would show
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight[msg.Channel]--
	for _, c := range msg.Cards {
		p.sent[msg.Channel] = append(p.sent[msg.Channel], c.Paper.Key)
		p.total++
	}
	if p.total == p.want {
		close(p.done)
	}
	return fmt.Sprintf("m%d", p.total), nil
}

// TestTwoSendersShareTheOutbox runs two senders, as two processes would, each on its own handle of one store: the
// channel leases keep each channel to one sender at a time, every paper is posted once, oldest first.
func TestTwoSendersShareTheOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "paperboy.db")
	const channels, perChannel = 6, 40
	at := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)
	var refs []channel.Ref
	seed, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var papers []paper.Paper
	for i := range perChannel {
		p := paper.Paper{ArxivID: fmt.Sprintf("2603.%05d", i), Title: "EEG paper", URL: "https://arxiv.org/abs/x",
			Published: at.Add(time.Duration(i) * time.Minute)}
		p.Key = paper.KeyOf(p)
		papers = append(papers, p)
	}
	if _, err := seed.Ingest(ctx, "arxiv", papers, nil, at); err != nil {
		t.Fatal(err)
	}
	for c := range channels {
		ref := channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%d", c)}
		refs = append(refs, ref)
		matched := map[string][]string{}
		for _, p := range papers {
			matched[p.Key] = []string{"eeg"}
		}
		if _, err := seed.Enqueue(ctx, ref, channel.KindMatch, matched, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := seed.Close(); err != nil {
		t.Fatal(err)
	}

	plat := &exclusivePlatform{t: t, inFlight: map[channel.Ref]int{}, sent: map[channel.Ref][]string{},
		done: make(chan struct{}), want: channels * perChannel}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, owner := range []string{"instance-a", "instance-b"} {
		st, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		s, err := delivery.NewSender(delivery.Options{Store: st, Owner: owner, Platforms: map[string]bot.Platform{"slack": plat},
			Limits: map[string]delivery.Limits{"slack": {PerChannel: rate.Inf, Global: rate.Inf}}, Workers: 3})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(runCtx); err != nil {
				t.Error(err)
			}
		}()
	}
	select {
	case <-plat.done:
	case <-time.After(time.Minute):
		t.Error("the two senders did not deliver every paper within a minute")
	}
	cancel()
	wg.Wait()

	plat.mu.Lock()
	defer plat.mu.Unlock()
	for _, ref := range refs {
		got := plat.sent[ref]
		if len(got) != perChannel {
			t.Errorf("%s got %d cards, want %d", ref, len(got), perChannel)
			continue
		}
		for i, k := range got {
			if k != papers[i].Key {
				t.Errorf("%s card %d is %s, want %s (oldest paper first, each once)", ref, i, k, papers[i].Key)
				break
			}
		}
	}
}
