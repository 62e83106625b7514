package discord

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// buttonChannel is channel_id of the button fixture, a channel the bot serves in the tests.
const buttonChannel = "645027906669510667"

// buttonPayload is a MESSAGE_COMPONENT interaction in the shape of Discord's documentation (testdata), for a
// click by user on action of the card paperboy rendered for p, in channel chID, with interaction id id.
func buttonPayload(t *testing.T, id, chID, user, action string, p paper.Paper) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, "discord_interaction_button.json"), &m); err != nil {
		t.Fatal(err)
	}
	body, err := renderMessage(bot.Message{Channel: ch(chID), Cards: []bot.Card{{Paper: p}}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(body)
	var rendered map[string]any
	_ = json.Unmarshal(raw, &rendered)
	msg := m["message"].(map[string]any)
	msg["embeds"], msg["components"], msg["channel_id"] = rendered["embeds"], rendered["components"], chID
	tok, _ := command.ClickToken(action, command.CardKey(p))
	m["data"].(map[string]any)["custom_id"] = tok
	m["id"], m["channel_id"] = id, chID
	m["member"].(map[string]any)["user"].(map[string]any)["id"] = user
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clickResponse is an interaction response to a click.
type clickResponse struct {
	Type int `json:"type"`
	Data struct {
		Content    string            `json:"content"`
		Flags      int               `json:"flags"`
		Embeds     []json.RawMessage `json:"embeds"`
		Components []struct {
			Components []struct {
				Label    string `json:"label"`
				CustomID string `json:"custom_id"`
				URL      string `json:"url"`
			} `json:"components"`
		} `json:"components"`
	} `json:"data"`
}

// feedbackLabels are the labels of the feedback buttons of a response.
func (r clickResponse) feedbackLabels() []string {
	var out []string
	for _, row := range r.Data.Components {
		for _, b := range row.Components {
			if b.CustomID != "" {
				out = append(out, b.Label)
			}
		}
	}
	return out
}

func newClickDiscord(t *testing.T, f *fakeDiscord, papers []paper.Paper, mutate func(*Options)) (*Discord, *testkit.MemFeedback, *command.Clicks) {
	t.Helper()
	st := &memStore{}
	if _, err := st.AddSubscription(t.Context(), channel.Subscription{Channel: ch(buttonChannel), Query: "eeg", Canonical: "eeg"}); err != nil {
		t.Fatal(err)
	}
	fb := testkit.NewMemFeedback(papers...)
	clicks := &command.Clicks{Feedback: fb, Similar: fb, Channels: st, Now: func() time.Time { return testNow }}
	d := newTestDiscord(t, f, func(o *Options) {
		o.Commands, o.Clicks = newCommander(st), clicks
		if mutate != nil {
			mutate(o)
		}
	})
	return d, fb, clicks
}

func serveClick(t *testing.T, d *Discord, r *http.Request) (int, clickResponse) {
	t.Helper()
	w := httptest.NewRecorder()
	d.Handler().ServeHTTP(w, r)
	var resp clickResponse
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatalf("response: %v\n%s", err, w.Body)
		}
		if resp.Type == int(discordgo.InteractionResponseChannelMessageWithSource) {
			var raw struct {
				Data json.RawMessage `json:"data"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &raw)
			validateMessage(t, raw.Data)
		}
	}
	return w.Code, resp
}

// TestClicksOverHTTP sends signed MESSAGE_COMPONENT interactions through the real endpoint.
func TestClicksOverHTTP(t *testing.T) {
	f := newFakeDiscord(t)
	p := samplePaper()
	others := []paper.Paper{testkit.Paper(testNow, "2605.00002", "Another EEG paper", "EEG.", 1), testkit.Paper(testNow, "2605.00003", "A third", "x", 2)}
	d, fb, _ := newClickDiscord(t, f, append([]paper.Paper{p}, others...), nil)
	n := 0
	click := func(chID, user, action string, p paper.Paper) []byte {
		n++
		return buttonPayload(t, fmt.Sprintf("84646263913460%04d", n), chID, user, action, p)
	}

	t.Run("votes update the card", func(t *testing.T) {
		for _, step := range []struct {
			user, action string
			want         []string
		}{
			{"1001", command.ActionRelevant, []string{"👍 Relevant · 1", "👎 Not relevant", "🔖 Save", "More like this"}},
			{"1002", command.ActionNotRelevant, []string{"👍 Relevant · 1", "👎 Not relevant · 1", "🔖 Save", "More like this"}},
			{"1001", command.ActionNotRelevant, []string{"👍 Relevant", "👎 Not relevant · 2", "🔖 Save", "More like this"}},
		} {
			code, resp := serveClick(t, d, signedRequest(click(buttonChannel, step.user, step.action, p), testNow, testPrivateKey))
			if code != http.StatusOK || resp.Type != int(discordgo.InteractionResponseUpdateMessage) {
				t.Fatalf("status %d, response type %d; want 200 and UPDATE_MESSAGE (7)", code, resp.Type)
			}
			if got := resp.feedbackLabels(); strings.Join(got, "|") != strings.Join(step.want, "|") {
				t.Errorf("after %s %s: %q, want %q", step.user, step.action, got, step.want)
			}
			// Only the buttons change: the link buttons stay, the embeds are left as they are.
			if len(resp.Data.Components) != 2 || resp.Data.Components[0].Components[0].URL != p.URL || len(resp.Data.Embeds) != 0 {
				t.Errorf("update %+v", resp.Data)
			}
		}
	})

	private := []struct {
		name, chID, action string
		p                  paper.Paper
		say                string
		embeds             int
	}{
		{"save", buttonChannel, command.ActionSave, p, "Saved to your reading list", 0},
		{"save again", buttonChannel, command.ActionSave, p, "Already in your reading list", 0},
		{"more like this", buttonChannel, command.ActionMore, p, "most like this one", 2},
		{"a server paperboy does not serve", "999999999999999999", command.ActionRelevant, p, "does not serve here", 0},
		{"a paper the store no longer knows", buttonChannel, command.ActionRelevant, testkit.Paper(testNow, "2605.09999", "Gone", "", 0), "no longer know that paper", 0},
	}
	for _, tc := range private {
		t.Run(tc.name, func(t *testing.T) {
			code, resp := serveClick(t, d, signedRequest(click(tc.chID, "1001", tc.action, tc.p), testNow, testPrivateKey))
			if code != http.StatusOK || resp.Type != int(discordgo.InteractionResponseChannelMessageWithSource) ||
				resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 {
				t.Fatalf("status %d, response %+v; want an ephemeral message (type 4, flags 64)", code, resp)
			}
			if !strings.Contains(resp.Data.Content, tc.say) || len(resp.Data.Embeds) != tc.embeds {
				t.Errorf("reply %q with %d embeds, want %q with %d", resp.Data.Content, len(resp.Data.Embeds), tc.say, tc.embeds)
			}
		})
	}
	if !fb.Saved(channel.User{Platform: "discord", Workspace: "290926798626357999", ID: "1001"}, command.CardKey(p)) {
		t.Error("not saved")
	}

	t.Run("a malformed token", func(t *testing.T) {
		var m map[string]any
		_ = json.Unmarshal(click(buttonChannel, "1001", command.ActionRelevant, p), &m)
		m["data"].(map[string]any)["custom_id"] = "pb1:delete:" + command.CardKey(p)
		b, _ := json.Marshal(m)
		before := fb.Calls()
		_, resp := serveClick(t, d, signedRequest(b, testNow, testPrivateKey))
		if resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 || !strings.Contains(resp.Data.Content, "do not recognise") || fb.Calls() != before {
			t.Errorf("response %+v", resp)
		}
	})

	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	replayed := click(buttonChannel, "1003", command.ActionRelevant, p)
	if code, _ := serveClick(t, d, signedRequest(replayed, testNow, testPrivateKey)); code != http.StatusOK {
		t.Fatalf("first delivery of the replayed click: %d", code)
	}
	oversized := func() *http.Request {
		b := click(buttonChannel, "1001", command.ActionRelevant, p)
		return signedRequest(append(b[:len(b)-1], []byte(`,"pad":"`+strings.Repeat("x", maxBodyBytes)+`"}`)...), testNow, testPrivateKey)
	}
	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"forged", func() *http.Request {
			return signedRequest(click(buttonChannel, "1001", command.ActionRelevant, p), testNow, otherKey)
		}, http.StatusUnauthorized},
		{"stale", func() *http.Request {
			return signedRequest(click(buttonChannel, "1001", command.ActionRelevant, p), testNow.Add(-6*time.Minute), testPrivateKey)
		}, http.StatusUnauthorized},
		{"oversized", oversized, http.StatusRequestEntityTooLarge},
		{"replayed", func() *http.Request { return signedRequest(replayed, testNow.Add(time.Minute), testPrivateKey) }, http.StatusConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fb.Calls()
			if code, _ := serveClick(t, d, tc.req()); code != tc.status {
				t.Errorf("status %d, want %d", code, tc.status)
			}
			if fb.Calls() != before {
				t.Error("the click reached the store")
			}
		})
	}
}

// TestClickFlood: one member clicking as fast as a script gets the burst and then ephemeral refusals, answered
// at once and without asking the store; deliveries go on meanwhile.
func TestClickFlood(t *testing.T) {
	f := newFakeDiscord(t)
	p := samplePaper()
	d, fb, clicks := newClickDiscord(t, f, []paper.Paper{p}, nil)
	clicks.Limiter = command.NewUserLimiter(command.DefaultClickRate, command.DefaultClickBurst, 0, func() time.Time { return testNow })
	const flood = 30
	limited := 0
	for i := range flood {
		_, resp := serveClick(t, d, signedRequest(buttonPayload(t, fmt.Sprintf("9%017d", i), buttonChannel, "1666", command.ActionRelevant, p), testNow, testPrivateKey))
		if strings.Contains(resp.Data.Content, "clicking faster") {
			limited++
			if resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 {
				t.Errorf("a refusal is not ephemeral: %+v", resp)
			}
		}
	}
	if limited != flood-command.DefaultClickBurst || fb.Calls() != command.DefaultClickBurst {
		t.Errorf("%d refused, store asked %d times; want %d and %d", limited, fb.Calls(), flood-command.DefaultClickBurst, command.DefaultClickBurst)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := d.Send(ctx, bot.Message{Channel: ch(buttonChannel), Cards: []bot.Card{{Paper: p}}, Nonce: "pb-flood"}); err != nil {
		t.Errorf("delivery during the flood: %v", err)
	}
}

// TestClicksOverGateway runs discordgo's real gateway session against a local gateway that dispatches the same
// INTERACTION_CREATE twice (as after a resume): the click is answered once, with UPDATE_MESSAGE through the
// interaction callback.
func TestClicksOverGateway(t *testing.T) {
	f := newFakeDiscord(t)
	p := samplePaper()
	d, fb, _ := newClickDiscord(t, f, []paper.Paper{p}, func(o *Options) { o.Mode = ModeGateway })
	payload := buttonPayload(t, "846462639134605312", buttonChannel, "1001", command.ActionRelevant, p)
	// And a choice from a digest's menu (a string select), which the gateway delivers the same way.
	pick := selectPayload(t, "846462639134605313", "1002", []paper.Paper{p}, command.PickID(command.ActionRelevant),
		menuOption(t, []paper.Paper{p}, command.ActionRelevant, p))
	up := websocket.Upgrader{}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("gateway upgrade: %v", err)
			return
		}
		defer conn.Close()
		if conn.WriteMessage(websocket.TextMessage, []byte(`{"op":10,"d":{"heartbeat_interval":45000}}`)) != nil {
			return
		}
		if _, _, err := conn.ReadMessage(); err != nil { // identify
			return
		}
		ready := `{"op":0,"s":1,"t":"READY","d":{"v":10,"session_id":"s1","user":{"id":"424242","username":"paperboy"},"guilds":[]}}`
		if conn.WriteMessage(websocket.TextMessage, []byte(ready)) != nil {
			return
		}
		for s := 2; s <= 3; s++ {
			ev := fmt.Sprintf(`{"op":0,"s":%d,"t":"INTERACTION_CREATE","d":%s}`, s, payload)
			if conn.WriteMessage(websocket.TextMessage, []byte(ev)) != nil {
				return
			}
		}
		if conn.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"op":0,"s":4,"t":"INTERACTION_CREATE","d":%s}`, pick)) != nil {
			return
		}
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer gw.Close()
	f.mu.Lock()
	f.gatewayURL = "ws" + strings.TrimPrefix(gw.URL, "http")
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitUntil(t, "the click's callback", func() bool { return len(f.requestsTo("/api/v10/interactions/846462639134605312/")) >= 1 })
	waitUntil(t, "the pick's callback", func() bool { return len(f.requestsTo("/api/v10/interactions/846462639134605313/")) >= 1 })
	time.Sleep(200 * time.Millisecond) // room for a second, wrong, answer to arrive
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	calls := f.requestsTo("/api/v10/interactions/846462639134605312/")
	if len(calls) != 1 {
		t.Fatalf("%d callbacks, want 1: a redelivered click must count once", len(calls))
	}
	var resp clickResponse
	if err := json.Unmarshal(calls[0].Body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Type != int(discordgo.InteractionResponseUpdateMessage) || resp.feedbackLabels()[0] != "👍 Relevant · 1" {
		t.Errorf("callback %s", calls[0].Body)
	}
	if fb.Calls() != 2 {
		t.Errorf("the store was asked %d times, want 2: the click and the pick", fb.Calls())
	}
	var picked clickResponse
	if err := json.Unmarshal(f.requestsTo("/api/v10/interactions/846462639134605313/")[0].Body, &picked); err != nil {
		t.Fatal(err)
	}
	if picked.Type != int(discordgo.InteractionResponseChannelMessageWithSource) || picked.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 ||
		!strings.Contains(picked.Data.Content, "Marked relevant. Votes in this channel: 👍 2 · 👎 0") {
		t.Errorf("pick callback %+v, want an ephemeral confirmation", picked)
	}
}

// TestCardShowsItsCounts: a card rendered with its votes (an edit of a revised paper) shows them on its buttons.
func TestCardShowsItsCounts(t *testing.T) {
	body, err := renderMessage(bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: samplePaper(), Up: 3, Down: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]any{"data": body})
	var resp clickResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	want := []string{"👍 Relevant · 3", "👎 Not relevant · 1", "🔖 Save", "More like this"}
	if got := resp.feedbackLabels(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("buttons %q, want %q", got, want)
	}
}
