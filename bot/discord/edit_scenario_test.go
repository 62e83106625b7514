package discord

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
)

// crashAfterEdit is a store whose first EditDone fails, as if the process died after Discord made the edit and
// before it was recorded.
type crashAfterEdit struct {
	*store.Store
	crashed bool
}

func (c *crashAfterEdit) EditDone(ctx context.Context, ch channel.Ref, key string, rev int64) error {
	if !c.crashed {
		c.crashed = true
		return errors.New("the process died here")
	}
	return c.Store.EditDone(ctx, ch, key, rev)
}

// TestEditScenario runs edits end to end on Discord: a real SQLite store, the sender and this adapter against the
// fake REST API. A crash between the edit and its record gives one more PATCH after the restart, with the same
// body (an edit is idempotent by content); a deleted message (10008) is never edited nor posted again.
func TestEditScenario(t *testing.T) {
	ctx := context.Background()
	f := newFakeDiscord(t)
	d := newTestDiscord(t, f, nil)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	st.SetCardEdits(true)
	now := testNow
	deliver := func(s delivery.Store) {
		t.Helper()
		e, err := delivery.NewSender(delivery.Options{Store: s, Owner: "test", Edits: true,
			Platforms: map[string]bot.Platform{"discord": d},
			Limits:    map[string]delivery.Limits{"discord": {PerChannel: rate.Inf, ChannelBurst: 1, Global: rate.Inf, GlobalBurst: 1}},
			Now:       func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c := ch("C1")
	route := func(*paper.Paper, time.Time) []channel.Route {
		return []channel.Route{{Channel: c, Matched: []string{"eeg"}}}
	}
	poll := func(ps ...paper.Paper) paper.IngestResult {
		t.Helper()
		now = now.Add(time.Minute)
		res, err := st.IngestAndRoute(ctx, "src", ps, nil, now, route)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	p := samplePaper()
	p.Upvotes, p.GitHubRepo = 3, ""
	poll(p)
	deliver(st)
	posts := f.requestsTo("/api/v10/channels/C1/messages")
	if len(posts) != 1 {
		t.Fatalf("%d requests, want the card's post", len(posts))
	}
	hf := paper.Paper{ArxivID: p.ArxivID, Title: p.Title, URL: p.URL, HasHF: true, Upvotes: 11, GitHubRepo: "https://github.com/example/eegfm"}
	poll(hf)
	deliver(&crashAfterEdit{Store: st})
	now = now.Add(time.Minute)
	deliver(st) // restarted
	deliver(st)
	patches := f.requestsTo("/api/v10/channels/C1/messages/m1")
	if len(patches) != 2 {
		t.Fatalf("%d PATCH requests, want 2: the interrupted edit and one after the restart", len(patches))
	}
	if !bytes.Equal(patches[0].Body, patches[1].Body) || !bytes.Contains(patches[0].Body, []byte("10+ upvotes")) {
		t.Errorf("the edit after the restart differs:\n%s\n%s", patches[0].Body, patches[1].Body)
	}

	f.enqueue("edit/m1", cannedResponse{status: 404, body: `{"message": "Unknown Message", "code": 10008}`})
	v2 := p
	v2.Version, v2.Title, v2.AnnounceType = 2, "A new title", paper.AnnounceReplace
	if res := poll(v2); res.Edits != 1 {
		t.Fatalf("v2 queued %d edits, want 1", res.Edits)
	}
	deliver(st)
	if res := poll(paper.Paper{ArxivID: p.ArxivID, Title: p.Title, URL: p.URL, HasHF: true, Upvotes: 30}); res.Edits != 0 {
		t.Errorf("a change of a deleted card queued %d edits", res.Edits)
	}
	deliver(st)
	if n := len(f.requestsTo("/api/v10/channels/C1/messages/m1")); n != 3 {
		t.Errorf("%d PATCH requests, want 3 (the last one answered 404)", n)
	}
	if n := len(f.requestsTo("/api/v10/channels/C1/messages")) - len(f.requestsTo("/api/v10/channels/C1/messages/")); n != 1 {
		t.Errorf("%d posts, want the 1 card: a deleted card is never posted again", n)
	}
}
