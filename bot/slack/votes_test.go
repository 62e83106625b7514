package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// settledClicks passes clicks to the real handler and reports each one handled, so that a test knows when a burst
// is recorded (the HTTP endpoint acknowledges a click before handling it).
type settledClicks struct {
	h    ClickHandler
	done chan struct{}
}

func (s settledClicks) Click(ctx context.Context, k command.Click) (command.ClickResult, error) {
	defer func() { s.done <- struct{}{} }()
	return s.h.Click(ctx, k)
}

// testClock is a clock the test moves while handlers read it.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestVotesThroughTheEditQueue runs votes end to end: signed block_actions through the real endpoint, a real
// SQLite store, the sender and slack-go against the fake Slack API. A burst of votes from different users is
// acknowledged with nothing posted to response_url, and becomes one chat.update once the coalescing window has
// passed, showing the counts after the last vote. A card whose message is gone is forgotten, and the next vote on
// it is confirmed privately.
func TestVotesThroughTheEditQueue(t *testing.T) {
	ctx := context.Background()
	f := newFakeSlack(t)
	s := newTestSlack(t, f, ModeHTTP, nil)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	st.SetCardEdits(true)
	c1 := slackChannel("C1")
	if _, err := st.AddSubscription(ctx, channel.Subscription{Channel: c1, Query: "eeg", Canonical: "eeg", AddedBy: "U0", AddedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: testNow}
	sender, err := delivery.NewSender(delivery.Options{Store: st, Owner: "test", Edits: true,
		Platforms: map[string]bot.Platform{"slack": s},
		Limits:    map[string]delivery.Limits{"slack": {PerChannel: rate.Inf, ChannelBurst: 1, Global: rate.Inf, GlobalBurst: 1}},
		Now:       clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	const window = 2 * time.Second
	done := make(chan struct{}, 100)
	s.clicks = settledClicks{h: &command.Clicks{Feedback: st, Channels: st, Papers: st, Edits: st, EditWindow: window, Now: clock.Now}, done: done}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	deliver := func() {
		t.Helper()
		if err := sender.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
	}

	p := testkit.Paper(testNow, "2611.01234", "Spiking transformers for EEG", "We propose a spiking transformer.", 1)
	if _, err := st.IngestAndRoute(ctx, "arxiv", []paper.Paper{p}, nil, clock.Now(), func(*paper.Paper, time.Time) []channel.Route {
		return []channel.Route{{Channel: c1, Matched: []string{"eeg"}}}
	}); err != nil {
		t.Fatal(err)
	}
	deliver()
	_, posts := f.snapshot()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want the card", len(posts))
	}
	ts := posts[0].TS

	trig := 0
	vote := func(user, action string) {
		t.Helper()
		trig++
		body := formBody(t, clickFixture(t, "C1", user, action, p, f.responseURL("r"), fmt.Sprintf("trigger-%d", trig)))
		if code := postInteraction(t, srv, testSecret, testNow, body); code != http.StatusOK {
			t.Fatalf("vote of %s: status %d", user, code)
		}
	}
	burst := func(votes map[string]string) {
		t.Helper()
		for user, action := range votes {
			vote(user, action)
		}
		for range votes {
			<-done
		}
	}
	labels := func(e posted) []string {
		return buttonLabels(t, map[string]any{"blocks": e.Blocks})
	}

	// 20 users vote within the window: 14 relevant, 6 not.
	first := map[string]string{}
	for i := range 20 {
		first[fmt.Sprintf("U%02d", i)] = map[bool]string{true: command.ActionRelevant, false: command.ActionNotRelevant}[i < 14]
	}
	burst(first)
	deliver()
	if n := len(f.edits()); n != 0 {
		t.Fatalf("%d edits within the window, want none yet", n)
	}
	clock.Add(window)
	deliver()
	deliver()
	edits := f.edits()
	if len(edits) != 1 || edits[0].TS != ts {
		t.Fatalf("%d edits after 20 votes, want exactly 1 of the card %s: %+v", len(edits), ts, edits)
	}
	if got, want := labels(edits[0]), []string{"👍 Relevant · 14", "👎 Not relevant · 6", "🔖 Save", "More like this"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("buttons after the burst %q, want %q", got, want)
	}
	checkMessage(t, edits[0].Text, edits[0].Blocks)
	if all := allText(edits[0].Blocks); !strings.Contains(all, p.Title) || !strings.Contains(all, "Abstract") {
		t.Errorf("the edited card lost its content: %s", all)
	}

	// Five of them change their minds: one more edit, with the last counts.
	second := map[string]string{}
	for i := range 5 {
		second[fmt.Sprintf("U%02d", i)] = command.ActionNotRelevant
	}
	burst(second)
	clock.Add(window)
	deliver()
	edits = f.edits()
	if len(edits) != 2 {
		t.Fatalf("%d edits after 25 votes in two bursts, want 2", len(edits))
	}
	if got, want := labels(edits[1]), []string{"👍 Relevant · 9", "👎 Not relevant · 11", "🔖 Save", "More like this"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("buttons after the second burst %q, want %q", got, want)
	}

	// Someone deletes the card; a vote arriving meanwhile queues an edit, which finds the message gone.
	f.mu.Lock()
	f.updateErr[ts] = "message_not_found"
	f.mu.Unlock()
	burst(map[string]string{"U30": command.ActionRelevant})
	clock.Add(window)
	deliver()
	if n := len(f.edits()); n != 2 {
		t.Errorf("%d edits, want still 2", n)
	}
	if w, err := st.EditWork(ctx, clock.Now()); err != nil || len(w) != 0 {
		t.Errorf("EditWork = %v, %v; want the card forgotten", w, err)
	}
	if _, posts = f.snapshot(); len(posts) != 1 {
		t.Errorf("%d posts: a gone card must not be posted again", len(posts))
	}
	// A later vote on it (a client still showing the message) is recorded and confirmed privately.
	vote("U31", command.ActionRelevant)
	m := f.waitResponse(t)
	<-done
	if m["response_type"] != "ephemeral" || m["replace_original"] == true || !strings.Contains(allText(blocksOf(t, m)), "👍 11 · 👎 11") {
		t.Errorf("vote on a gone card: %v, want a private confirmation with the counts", m)
	}
	s.runner.Drain() // every click's answer is out
	select {
	case m := <-f.responses:
		t.Errorf("a vote on a posted card was answered through response_url: %v", m)
	default:
	}
}

// digestPick is a block_actions payload in the shape of Slack's documentation for an overflow menu (testdata),
// chosen on the digest paperboy rendered for ps: option value of paper i and action.
func digestPick(t *testing.T, user string, ps []paper.Paper, i int, action, trigger string, f *fakeSlack) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/slack_block_actions_overflow.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	msg := bot.Message{Channel: slackChannel("C1"), Digest: true, Title: "3 new papers since Tuesday"}
	for _, p := range ps {
		msg.Cards = append(msg.Cards, bot.Card{Paper: p})
	}
	r := renderMessage(msg, false)
	blocksJSON, _ := json.Marshal(r.blocks)
	var blocks []any
	_ = json.Unmarshal(blocksJSON, &blocks)
	m["message"].(map[string]any)["blocks"] = blocks
	m["user"].(map[string]any)["id"] = user
	m["response_url"] = f.responseURL("r")
	m["trigger_id"] = trigger
	// The option as the digest offers it: the menu of paper i (section i+1, after the header).
	acc := blocks[i+1].(map[string]any)["accessory"].(map[string]any)
	act := m["actions"].([]any)[0].(map[string]any)
	act["action_id"] = acc["action_id"]
	for _, o := range acc["options"].([]any) {
		opt := o.(map[string]any)
		if a, _, _ := command.ParseClickToken(opt["value"].(string)); a == action {
			act["selected_option"] = opt
		}
	}
	return m
}

// TestDigestPicksOverHTTP: a choice from a digest's overflow menu, signed and posted like Slack does, counts as a
// vote on the paper exactly like its card's button (one per channel, paper and user), is confirmed privately
// naming the paper, never rewrites the digest; Save and More like this work from it too; a forged option is
// refused, and forged, stale, oversized and replayed requests are refused before anything is recorded.
func TestDigestPicksOverHTTP(t *testing.T) {
	f := newFakeSlack(t)
	s, fb, clicks := newClickSlack(t, f)
	clicks.Papers = fb
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ps := testkit.SamplePapers(testNow)[:3]
	trig := 0
	pick := func(user string, i int, action string) string {
		trig++
		return formBody(t, digestPick(t, user, ps, i, action, fmt.Sprintf("pick-%d", trig), f))
	}
	reply := func() (map[string]any, string) {
		m := f.waitResponse(t)
		return m, allText(blocksOf(t, m))
	}

	for _, step := range []struct {
		user   string
		i      int
		action string
		want   string
	}{
		{"U1", 1, command.ActionRelevant, "Marked relevant: “" + ps[1].Title + "”. Votes in this channel: 👍 1 · 👎 0"},
		{"U2", 1, command.ActionNotRelevant, "👍 1 · 👎 1"},
		{"U1", 1, command.ActionNotRelevant, "Marked not relevant: “" + ps[1].Title + "”. Votes in this channel: 👍 0 · 👎 2"},
		{"U1", 2, command.ActionSave, "Saved to your reading list"},
		{"U1", 0, command.ActionMore, "most like this one"},
	} {
		if code := postInteraction(t, srv, testSecret, testNow, pick(step.user, step.i, step.action)); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		m, text := reply()
		if m["response_type"] != "ephemeral" || m["replace_original"] == true || !strings.Contains(text, step.want) {
			t.Errorf("%s %s on paper %d: reply %v, want a private one saying %q", step.user, step.action, step.i, m, step.want)
		}
	}
	if !fb.Saved(channel.User{Platform: "slack", Workspace: "T3MDE", ID: "U1"}, paper.KeyOf(ps[2])) {
		t.Error("Save from the digest did not save")
	}
	// The same user's vote from the paper's own card replaces the digest's: still one vote per user.
	body := formBody(t, clickFixture(t, "C1", "U1", command.ActionRelevant, ps[1], f.responseURL("r"), "card-1"))
	if code := postInteraction(t, srv, testSecret, testNow, body); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if m := f.waitResponse(t); !strings.Contains(strings.Join(buttonLabels(t, m), "|"), "👍 Relevant · 1|👎 Not relevant · 1") {
		t.Errorf("card after the digest's votes: %q, want U1's vote moved, not added", buttonLabels(t, m))
	}

	t.Run("a forged option", func(t *testing.T) {
		payload := digestPick(t, "U1", ps, 0, command.ActionRelevant, "pick-forged", f)
		act := payload["actions"].([]any)[0].(map[string]any)
		act["selected_option"].(map[string]any)["value"] = "pb1:delete:" + paper.KeyOf(ps[0])
		before := fb.Calls()
		if code := postInteraction(t, srv, testSecret, testNow, formBody(t, payload)); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if m, text := reply(); m["response_type"] != "ephemeral" || !strings.Contains(text, "do not recognise that button") {
			t.Errorf("forged option: %v", m)
		}
		if fb.Calls() != before {
			t.Error("a forged option reached the store")
		}
	})

	for _, tc := range []struct {
		name   string
		secret string
		ts     time.Time
		body   func() string
		status int
	}{
		{"forged signature", "not-the-secret", testNow, func() string { return pick("U1", 0, command.ActionRelevant) }, http.StatusUnauthorized},
		{"stale", testSecret, testNow.Add(-6 * time.Minute), func() string { return pick("U1", 0, command.ActionRelevant) }, http.StatusUnauthorized},
		{"oversized", testSecret, testNow, func() string {
			return pick("U1", 0, command.ActionRelevant) + "&pad=" + strings.Repeat("x", maxInteractionBytes)
		}, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fb.Calls()
			if code := postInteraction(t, srv, tc.secret, tc.ts, tc.body()); code != tc.status {
				t.Errorf("status %d, want %d", code, tc.status)
			}
			if fb.Calls() != before {
				t.Error("the pick reached the store")
			}
		})
	}

	t.Run("replayed", func(t *testing.T) {
		body := pick("U7", 0, command.ActionRelevant)
		if code := postInteraction(t, srv, testSecret, testNow, body); code != http.StatusOK {
			t.Fatalf("first delivery: status %d", code)
		}
		reply()
		before := fb.Calls()
		if code := postInteraction(t, srv, testSecret, testNow, body); code != http.StatusConflict {
			t.Errorf("replay: status %d, want %d", code, http.StatusConflict)
		}
		if fb.Calls() != before {
			t.Error("the replay reached the store")
		}
	})
}

// TestDigestPickFitsTheCap: Slack sends the whole digest with a menu choice, url-encoded; a digest of ten
// papers whose every text is as long and as costly to encode as rendering allows (emoji, and characters that
// mrkdwn escaping lengthens) still fits under the endpoint's body cap with room to spare.
func TestDigestPickFitsTheCap(t *testing.T) {
	costly := strings.Repeat("😀&<é", 150)
	msg := bot.Message{Channel: slackChannel("C1"), Digest: true, Title: costly}
	var ps []paper.Paper
	for i := range 10 {
		p := hostile()
		p.ArxivID = fmt.Sprintf("2611.%05d", i)
		p.Key, p.Title, p.Authors = "arxiv:"+p.ArxivID, costly, []string{costly, costly, costly, costly}
		ps = append(ps, p)
		msg.Cards = append(msg.Cards, bot.Card{Paper: p, Matched: []string{costly}})
	}
	f := newFakeSlack(t)
	payload := digestPick(t, "U1", ps, 9, command.ActionRelevant, "trigger", f)
	r := renderMessage(msg, false)
	blocksJSON, _ := json.Marshal(r.blocks)
	var blocks []any
	_ = json.Unmarshal(blocksJSON, &blocks)
	payload["message"].(map[string]any)["blocks"] = blocks
	if n := len(formBody(t, payload)); n > maxInteractionBytes/2 {
		t.Errorf("a digest pick is %d bytes url-encoded; the cap is %d: keep twice the room", n, maxInteractionBytes)
	}
}
