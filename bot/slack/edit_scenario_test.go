package slack

import (
	"context"
	"path/filepath"
	"strings"
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

// TestEditScenario runs the living-card scenario end to end: a real SQLite store queueing edits in the ingest
// transaction, the sender, and this adapter's slack-go client against the fake Slack API recording chat.update.
func TestEditScenario(t *testing.T) {
	ctx := context.Background()
	f := newFakeSlack(t)
	s := newTestSlack(t, f, ModeSocket, nil)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	st.SetCardEdits(true)
	now := testNow
	sender, err := delivery.NewSender(delivery.Options{Store: st, Owner: "test", Edits: true,
		Platforms: map[string]bot.Platform{"slack": s},
		Limits:    map[string]delivery.Limits{"slack": {PerChannel: rate.Inf, ChannelBurst: 1, Global: rate.Inf, GlobalBurst: 1}},
		Now:       func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	c1 := slackChannel("C1")
	route := func(*paper.Paper, time.Time) []channel.Route {
		return []channel.Route{{Channel: c1, Matched: []string{"eeg"}}}
	}
	poll := func(source string, ps ...paper.Paper) paper.IngestResult {
		t.Helper()
		now = now.Add(time.Minute)
		res, err := st.IngestAndRoute(ctx, source, ps, nil, now, route)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	deliver := func() {
		t.Helper()
		if err := sender.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	hfItem := func(p paper.Paper, upvotes int, code string) paper.Paper {
		return paper.Paper{ArxivID: p.ArxivID, Title: p.Title, URL: p.URL, HasHF: true, Upvotes: upvotes, GitHubRepo: code,
			HFURL: "https://huggingface.co/papers/" + p.ArxivID}
	}

	p := testkit.Paper(testNow, "2611.01234", "Spiking transformers for EEG", "We propose a spiking transformer.", 1)
	p.Version = 1
	poll("arxiv", p)
	deliver()
	_, posts := f.snapshot()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want the card", len(posts))
	}
	ts := posts[0].TS

	// Within one delivery interval: v2, upvotes across 10 then 50, and a code link.
	v2 := p
	v2.Version, v2.Title, v2.AnnounceType = 2, "Spiking transformers for EEG, revised", paper.AnnounceReplace
	poll("arxiv", v2)
	poll("hf", hfItem(p, 12, ""))
	poll("hf", hfItem(p, 51, "https://github.com/example/spiking"))
	deliver()
	deliver()
	edits := f.edits()
	if len(edits) != 1 {
		t.Fatalf("%d chat.update calls, want exactly 1 for the three changes", len(edits))
	}
	if edits[0].TS != ts || edits[0].Channel != "C1" {
		t.Errorf("chat.update of %s in %s, want the card %s in C1", edits[0].TS, edits[0].Channel, ts)
	}
	for _, want := range []string{"Spiking transformers for EEG, revised", "v2", "▲ 50+ upvotes", "https://github.com/example/spiking", "matched: eeg"} {
		if !strings.Contains(edits[0].RawJSON, want) {
			t.Errorf("the edit lacks %q: %s", want, edits[0].RawJSON)
		}
	}

	// A 429 on the next edit: it waits its Retry-After (7s); a new card goes out meanwhile.
	f.mu.Lock()
	f.rateUpdates = 1
	f.mu.Unlock()
	cross := p
	cross.Categories, cross.AnnounceType = []string{"cs.LG", "eess.SP"}, paper.AnnounceCross
	poll("arxiv", cross)
	deliver()
	limited := now
	q := testkit.Paper(testNow, "2611.05678", "Another EEG paper", "More EEG.", 0)
	if res, err := st.IngestAndRoute(ctx, "arxiv", []paper.Paper{q}, nil, limited.Add(time.Second), route); err != nil || res.Routed != 1 {
		t.Fatalf("IngestAndRoute = %+v, %v", res, err)
	}
	now = limited.Add(3 * time.Second)
	deliver()
	if _, posts = f.snapshot(); len(posts) != 2 || len(f.edits()) != 1 {
		t.Fatalf("within the Retry-After: %d posts and %d edits, want the new card posted and no edit", len(posts), len(f.edits()))
	}
	now = limited.Add(8 * time.Second)
	deliver()
	if edits = f.edits(); len(edits) != 2 || !strings.Contains(edits[1].RawJSON, "eess.SP") {
		t.Fatalf("after the Retry-After: edits %d, want the waiting one showing eess.SP", len(edits))
	}

	// A person deletes the card: the next edit is dropped, the card forgotten, never posted again.
	f.mu.Lock()
	f.updateErr[ts] = "message_not_found"
	f.mu.Unlock()
	withDOI := p
	withDOI.DOI, withDOI.JournalRef = "10.1000/spiking", "J. Neural Eng. 23 (2026)"
	if res := poll("arxiv-api", withDOI); res.Edits != 1 {
		t.Fatalf("a DOI queued %d edits, want 1", res.Edits)
	}
	deliver()
	if res := poll("hf", hfItem(p, 120, "https://github.com/example/spiking")); res.Edits != 0 {
		t.Errorf("a change of a deleted card queued %d edits", res.Edits)
	}
	deliver()
	if _, posts = f.snapshot(); len(posts) != 2 || len(f.edits()) != 2 {
		t.Errorf("%d posts and %d edits after the deletion, want 2 and 2", len(posts), len(f.edits()))
	}
}
