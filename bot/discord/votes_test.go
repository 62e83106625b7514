package discord

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// TestVotesThroughTheEditQueue runs votes end to end: signed MESSAGE_COMPONENT interactions through the real
// endpoint, a real SQLite store, the sender and discordgo against the fake Discord. Each vote on a posted card is
// acknowledged with DEFERRED_UPDATE_MESSAGE (type 6) and nothing else; a burst of votes becomes one message edit
// once the coalescing window has passed, showing the counts after the last vote. An edit answered 10008 Unknown
// Message forgets the card, and the next vote on it is confirmed privately.
func TestVotesThroughTheEditQueue(t *testing.T) {
	ctx := context.Background()
	f := newFakeDiscord(t)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	st.SetCardEdits(true)
	c := ch(buttonChannel)
	if _, err := st.AddSubscription(ctx, channel.Subscription{Channel: c, Query: "eeg", Canonical: "eeg", AddedBy: "1", AddedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := testNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	later := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	const window = 2 * time.Second
	d := newTestDiscord(t, f, func(o *Options) {
		o.Clicks = &command.Clicks{Feedback: st, Channels: st, Papers: st, Edits: st, EditWindow: window, Now: clock}
	})
	sender, err := delivery.NewSender(delivery.Options{Store: st, Owner: "test", Edits: true,
		Platforms: map[string]bot.Platform{"discord": d},
		Limits:    map[string]delivery.Limits{"discord": {PerChannel: rate.Inf, ChannelBurst: 1, Global: rate.Inf, GlobalBurst: 1}},
		Now:       clock})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func() {
		t.Helper()
		if err := sender.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	p := samplePaper()
	if _, err := st.IngestAndRoute(ctx, "src", []paper.Paper{p}, nil, clock(), func(*paper.Paper, time.Time) []channel.Route {
		return []channel.Route{{Channel: c, Matched: []string{"eeg"}}}
	}); err != nil {
		t.Fatal(err)
	}
	deliver()
	cardPath := "/api/v10/channels/" + buttonChannel + "/messages/m1"
	n := 0
	vote := func(user, action string) clickResponse {
		t.Helper()
		n++
		code, resp := serveClick(t, d, signedRequest(buttonPayload(t, fmt.Sprintf("9%017d", n), buttonChannel, user, action, p), testNow, testPrivateKey))
		if code != http.StatusOK {
			t.Fatalf("vote of %s: status %d", user, code)
		}
		return resp
	}
	edited := func() []string {
		t.Helper()
		patches := f.requestsTo(cardPath)
		if len(patches) == 0 {
			return nil
		}
		var body clickResponse
		if err := json.Unmarshal([]byte(`{"data":`+string(patches[len(patches)-1].Body)+`}`), &body); err != nil {
			t.Fatal(err)
		}
		return body.feedbackLabels()
	}

	for i := range 20 {
		action := command.ActionRelevant
		if i >= 14 {
			action = command.ActionNotRelevant
		}
		if resp := vote(fmt.Sprint(2000+i), action); resp.Type != int(discordgo.InteractionResponseDeferredMessageUpdate) {
			t.Fatalf("vote %d answered with type %d, want DEFERRED_UPDATE_MESSAGE (6)", i, resp.Type)
		}
	}
	deliver()
	if got := len(f.requestsTo(cardPath)); got != 0 {
		t.Fatalf("%d edits within the window, want none yet", got)
	}
	later(window)
	deliver()
	deliver()
	if got := len(f.requestsTo(cardPath)); got != 1 {
		t.Fatalf("%d edits after 20 votes, want exactly 1", got)
	}
	if got, want := edited(), []string{"👍 Relevant · 14", "👎 Not relevant · 6", "🔖 Save", "More like this"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("buttons after the burst %q, want %q", got, want)
	}

	for i := range 5 {
		vote(fmt.Sprint(2000+i), command.ActionNotRelevant)
	}
	later(window)
	deliver()
	if got := len(f.requestsTo(cardPath)); got != 2 {
		t.Fatalf("%d edits after 25 votes in two bursts, want 2", got)
	}
	if got, want := edited(), []string{"👍 Relevant · 9", "👎 Not relevant · 11", "🔖 Save", "More like this"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("buttons after the second burst %q, want %q", got, want)
	}
	if hooks := f.requestsTo("/api/v10/webhooks/"); len(hooks) != 0 {
		t.Errorf("%d webhook requests: a vote on a posted card needs nothing but its acknowledgement", len(hooks))
	}

	// Someone deletes the card; the next vote's edit is answered 10008.
	f.enqueue("edit/m1", cannedResponse{status: 404, body: `{"message": "Unknown Message", "code": 10008}`})
	vote("2030", command.ActionRelevant)
	later(window)
	deliver()
	if w, err := st.EditWork(ctx, clock()); err != nil || len(w) != 0 {
		t.Errorf("EditWork = %v, %v; want the card forgotten", w, err)
	}
	if n := len(f.requestsTo("/api/v10/channels/"+buttonChannel+"/messages")) - len(f.requestsTo("/api/v10/channels/"+buttonChannel+"/messages/")); n != 1 {
		t.Errorf("%d posts, want the 1 card: a gone card is never posted again", n)
	}
	resp := vote("2031", command.ActionRelevant)
	if resp.Type != int(discordgo.InteractionResponseChannelMessageWithSource) || resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 ||
		!strings.Contains(resp.Data.Content, "👍 11 · 👎 11") {
		t.Errorf("vote on a gone card: %+v, want an ephemeral confirmation with the counts", resp)
	}
}

// selectPayload is a MESSAGE_COMPONENT interaction of a string select (component type 3) in the shape of Discord's
// documentation (testdata): user chose values from the menu menuID of the digest paperboy rendered for ps.
func selectPayload(t *testing.T, id, user string, ps []paper.Paper, menuID string, values ...string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, "discord_interaction_select.json"), &m); err != nil {
		t.Fatal(err)
	}
	msg := bot.Message{Channel: ch(buttonChannel), Digest: true, Title: "3 new papers since Tuesday"}
	for _, p := range ps {
		msg.Cards = append(msg.Cards, bot.Card{Paper: p})
	}
	body, err := renderMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(body)
	var rendered map[string]any
	_ = json.Unmarshal(raw, &rendered)
	m["message"].(map[string]any)["embeds"], m["message"].(map[string]any)["components"] = rendered["embeds"], rendered["components"]
	m["message"].(map[string]any)["content"] = rendered["content"]
	m["data"] = map[string]any{"custom_id": menuID, "component_type": 3, "values": values}
	m["id"], m["channel_id"] = id, buttonChannel
	m["member"].(map[string]any)["user"].(map[string]any)["id"] = user
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// menuOption returns the value the digest's menu of action offers for p, as rendered.
func menuOption(t *testing.T, ps []paper.Paper, action string, p paper.Paper) string {
	t.Helper()
	var cards []bot.Card
	for _, q := range ps {
		cards = append(cards, bot.Card{Paper: q})
	}
	for _, row := range digestMenus(cards) {
		menu := row.(discordgo.ActionsRow).Components[0].(discordgo.SelectMenu)
		if menu.CustomID != command.PickID(action) {
			continue
		}
		for _, o := range menu.Options {
			if _, key, _ := command.ParseClickToken(o.Value); key == command.CardKey(p) {
				return o.Value
			}
		}
	}
	t.Fatalf("no option for %s in the %s menu", p.Key, action)
	return ""
}

// TestDigestPicksOverHTTP: a choice from a digest's menu counts as a vote on the paper exactly like its card's
// button (one per channel, paper and user), and is confirmed privately naming the paper; Save and More like this
// work from the menus; a value of another menu, several values and forged, stale, oversized and replayed
// requests are refused.
func TestDigestPicksOverHTTP(t *testing.T) {
	f := newFakeDiscord(t)
	ps := []paper.Paper{samplePaper(), testkit.Paper(testNow, "2605.00002", "Another EEG paper", "EEG.", 1), testkit.Paper(testNow, "2605.00003", "A third", "x", 2)}
	d, fb, clicks := newClickDiscord(t, f, ps, nil)
	clicks.Papers = fb
	n := 0
	pick := func(user, action string, p paper.Paper) []byte {
		n++
		return selectPayload(t, fmt.Sprintf("77%016d", n), user, ps, command.PickID(action), menuOption(t, ps, action, p))
	}
	private := func(t *testing.T, body []byte, say string) {
		t.Helper()
		code, resp := serveClick(t, d, signedRequest(body, testNow, testPrivateKey))
		if code != http.StatusOK || resp.Type != int(discordgo.InteractionResponseChannelMessageWithSource) ||
			resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 || !strings.Contains(resp.Data.Content, say) {
			t.Errorf("status %d, response %+v; want an ephemeral message saying %q", code, resp, say)
		}
	}

	title := bot.CleanLaTeX(ps[1].Title)
	private(t, pick("1001", command.ActionRelevant, ps[1]), "Marked relevant: “"+title+"”. Votes in this channel: 👍 1 · 👎 0")
	private(t, pick("1002", command.ActionNotRelevant, ps[1]), "👍 1 · 👎 1")
	private(t, pick("1001", command.ActionNotRelevant, ps[1]), "Marked not relevant: “"+title+"”. Votes in this channel: 👍 0 · 👎 2")
	private(t, pick("1001", command.ActionSave, ps[2]), "Saved to your reading list")
	private(t, pick("1001", command.ActionMore, ps[0]), "most like this one")
	if !fb.Saved(channel.User{Platform: "discord", Workspace: "290926798626357999", ID: "1001"}, command.CardKey(ps[2])) {
		t.Error("Save from the digest did not save")
	}
	// The same member's vote from the paper's own card replaces the digest's.
	if code, resp := serveClick(t, d, signedRequest(buttonPayload(t, "770000000000000099", buttonChannel, "1001", command.ActionRelevant, ps[1]), testNow, testPrivateKey)); code != http.StatusOK ||
		strings.Join(resp.feedbackLabels(), "|") != "👍 Relevant · 1|👎 Not relevant · 1|🔖 Save|More like this" {
		t.Errorf("card after the digest's votes: %d %q, want the member's vote moved, not added", code, resp.feedbackLabels())
	}

	for _, tc := range []struct {
		name string
		body func() []byte
	}{
		{"a value of another menu", func() []byte {
			n++
			return selectPayload(t, fmt.Sprintf("77%016d", n), "1001", ps, command.PickID(command.ActionRelevant), menuOption(t, ps, command.ActionNotRelevant, ps[0]))
		}},
		{"two values", func() []byte {
			n++
			return selectPayload(t, fmt.Sprintf("77%016d", n), "1001", ps, command.PickID(command.ActionRelevant),
				menuOption(t, ps, command.ActionRelevant, ps[0]), menuOption(t, ps, command.ActionRelevant, ps[1]))
		}},
		{"a forged value", func() []byte {
			n++
			return selectPayload(t, fmt.Sprintf("77%016d", n), "1001", ps, command.PickID(command.ActionRelevant), "pb1:delete:"+command.CardKey(ps[0]))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fb.Calls()
			private(t, tc.body(), "do not recognise that button")
			if fb.Calls() != before {
				t.Error("the pick reached the store")
			}
		})
	}

	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	replayed := pick("1003", command.ActionRelevant, ps[0])
	if code, _ := serveClick(t, d, signedRequest(replayed, testNow, testPrivateKey)); code != http.StatusOK {
		t.Fatalf("first delivery of the replayed pick: %d", code)
	}
	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"forged signature", func() *http.Request {
			return signedRequest(pick("1001", command.ActionRelevant, ps[0]), testNow, otherKey)
		}, http.StatusUnauthorized},
		{"stale", func() *http.Request {
			return signedRequest(pick("1001", command.ActionRelevant, ps[0]), testNow.Add(-6*time.Minute), testPrivateKey)
		}, http.StatusUnauthorized},
		{"oversized", func() *http.Request {
			b := pick("1001", command.ActionRelevant, ps[0])
			return signedRequest(append(b[:len(b)-1], []byte(`,"pad":"`+strings.Repeat("x", maxBodyBytes)+`"}`)...), testNow, testPrivateKey)
		}, http.StatusRequestEntityTooLarge},
		{"replayed", func() *http.Request { return signedRequest(replayed, testNow.Add(time.Minute), testPrivateKey) }, http.StatusConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fb.Calls()
			if code, _ := serveClick(t, d, tc.req()); code != tc.status {
				t.Errorf("status %d, want %d", code, tc.status)
			}
			if fb.Calls() != before {
				t.Error("the pick reached the store")
			}
		})
	}
}
