package app

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// stuckPlatform is a platform whose sends all wait (a long rate limit slept inside an SDK, an API that hangs):
// each Send blocks until release is closed.
type stuckPlatform struct {
	name    string
	release chan struct{}
	mu      sync.Mutex
	waiting int
}

func (p *stuckPlatform) Name() string { return p.name }

func (p *stuckPlatform) Send(context.Context, bot.Message) (string, error) {
	p.mu.Lock()
	p.waiting++
	p.mu.Unlock()
	<-p.release
	return "stuck", nil
}

func (p *stuckPlatform) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting
}

// recordingPlatform posts at once and reports each post on a channel.
type recordingPlatform struct {
	name  string
	posts chan bot.Message
}

func (p *recordingPlatform) Name() string { return p.name }

func (p *recordingPlatform) Send(_ context.Context, msg bot.Message) (string, error) {
	p.posts <- msg
	return "ok", nil
}

// testOnePlatformCannotStarveAnother: every worker busy waiting on Discord does not keep the console's papers
// from being delivered: each platform has its own workers, and the dispatcher never blocks waiting for one.
func testOnePlatformCannotStarveAnother(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	discord := &stuckPlatform{name: "discord", release: make(chan struct{})}
	console := &recordingPlatform{name: "console", posts: make(chan bot.Message, 10)}
	const workers = 2
	f.newSender(func(o *delivery.Options) {
		o.Platforms = map[string]bot.Platform{"discord": discord, "console": console}
		o.Limits = map[string]delivery.Limits{
			"discord": {PerChannel: rate.Inf, Global: rate.Inf},
			"console": {PerChannel: rate.Inf, Global: rate.Inf},
		}
		o.Workers = workers
	})
	for i := range workers + 2 {
		f.subscribe(channel.Ref{Platform: "discord", ID: fmt.Sprintf("D%d", i)}, "electroencephalography")
	}
	con := channel.Ref{Platform: "console", ID: "lab"}
	f.subscribe(con, "spiking")
	f.ingest("arxiv", arxivPaper("2603.00001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG decoding"))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.eng.Run(ctx) }()
	defer func() {
		cancel()
		close(discord.release)
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	for end := time.Now().Add(20 * time.Second); discord.inFlight() < workers; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%d discord sends in flight, want %d", discord.inFlight(), workers)
		}
	}
	// Every worker that could serve Discord waits now; a console paper arrives.
	p := arxivPaper("2603.00002", 1, paper.AnnounceNew, []string{"cs.NE"}, "Spiking networks")
	p.Abstract = "A spiking model."
	f.ingest("arxiv", p)
	select {
	case msg := <-console.posts:
		if msg.Channel != con || msg.Cards[0].Paper.Key != "arxiv:2603.00002" {
			t.Errorf("console got %+v", msg)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the console paper was not delivered while Discord's sends waited")
	}
	if n := discord.inFlight(); n != workers {
		t.Errorf("%d discord sends in flight, want at most %d (its own workers)", n, workers)
	}
}

func TestOnePlatformCannotStarveAnother(t *testing.T) {
	onEachStore(t, testOnePlatformCannotStarveAnother)
}
