package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// clickFixture is a block_actions payload in the shape of Slack's documentation (testdata), clicked on a card
// paperboy rendered for p in channel ch.
func clickFixture(t *testing.T, ch, user, action string, p paper.Paper, responseURL, trigger string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/slack_block_actions.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	r := renderMessage(bot.Message{Channel: slackChannel(ch), Cards: []bot.Card{{Paper: p}}}, false)
	blocksJSON, _ := json.Marshal(r.blocks)
	var blocks []any
	_ = json.Unmarshal(blocksJSON, &blocks)
	msg := m["message"].(map[string]any)
	msg["blocks"] = blocks
	m["channel"].(map[string]any)["id"] = ch
	m["container"].(map[string]any)["channel_id"] = ch
	m["user"].(map[string]any)["id"] = user
	m["response_url"] = responseURL
	m["trigger_id"] = trigger
	act := m["actions"].([]any)[0].(map[string]any)
	tok, _ := command.ClickToken(action, paper.KeyOf(p))
	act["value"] = tok
	act["action_id"] = "fb-" + action + "-0"
	return m
}

func formBody(t *testing.T, payload map[string]any) string {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(b)}}.Encode()
}

// postInteraction posts body to /slack/interactions signed with secret at ts, and returns the status.
func postInteraction(t *testing.T, srv *httptest.Server, secret string, ts time.Time, body string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+InteractionsPath, strings.NewReader(body))
	req.Header = sign(secret, ts.Unix(), body)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// newClickSlack returns an HTTP-mode adapter whose clicks go to command.Clicks over an in-memory feedback store;
// slack C1 is a channel the bot serves.
func newClickSlack(t *testing.T, f *fakeSlack) (*Slack, *testkit.MemFeedback, *command.Clicks) {
	t.Helper()
	st := newTestStore(t)
	if _, err := st.AddSubscription(t.Context(), channel.Subscription{Channel: slackChannel("C1"), Query: "eeg", Canonical: "eeg", AddedBy: "U0", AddedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	fb := testkit.NewMemFeedback(testkit.SamplePapers(testNow)...)
	clicks := &command.Clicks{Feedback: fb, Similar: fb, Channels: st, Now: func() time.Time { return testNow }}
	s := newTestSlack(t, f, ModeHTTP, nil)
	s.clicks = clicks
	return s, fb, clicks
}

// buttonLabels are the texts of the card's feedback buttons in a response_url message.
func buttonLabels(t *testing.T, m map[string]any) []string {
	t.Helper()
	var out []string
	for _, b := range blocksOfType(blocksOf(t, m), "actions") {
		for _, e := range b["elements"].([]any) {
			el := e.(map[string]any)
			if v, _ := el["value"].(string); strings.HasPrefix(v, "pb1:") {
				out = append(out, textOf(el))
			}
		}
	}
	return out
}

// TestClicksOverHTTP sends signed block_actions payloads through the real endpoint: votes relabel the card
// through response_url, Save answers privately, and forged, stale, oversized and replayed clicks are refused
// before anything is recorded.
func TestClicksOverHTTP(t *testing.T) {
	f := newFakeSlack(t)
	s, fb, _ := newClickSlack(t, f)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	p := testkit.SamplePapers(testNow)[0]
	key := paper.KeyOf(p)
	trig := 0
	click := func(ch, user, action string) string {
		trig++
		return formBody(t, clickFixture(t, ch, user, action, p, f.responseURL("r"), "trigger-"+strings.Repeat("x", trig)))
	}

	t.Run("votes update the card's counts", func(t *testing.T) {
		for _, step := range []struct {
			user, action string
			want         []string
		}{
			{"U1", command.ActionRelevant, []string{"👍 Relevant · 1", "👎 Not relevant", "🔖 Save", "More like this"}},
			{"U2", command.ActionRelevant, []string{"👍 Relevant · 2", "👎 Not relevant", "🔖 Save", "More like this"}},
			{"U1", command.ActionNotRelevant, []string{"👍 Relevant · 1", "👎 Not relevant · 1", "🔖 Save", "More like this"}},
		} {
			if code := postInteraction(t, srv, testSecret, testNow, click("C1", step.user, step.action)); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			m := f.waitResponse(t)
			if m["replace_original"] != true {
				t.Errorf("card update %v: want replace_original", m)
			}
			if got := buttonLabels(t, m); strings.Join(got, "|") != strings.Join(step.want, "|") {
				t.Errorf("after %s %s: buttons %q, want %q", step.user, step.action, got, step.want)
			}
			checkMessage(t, m["text"].(string), blocksOf(t, m))
			// The rest of the card is left as it was: title, abstract and links.
			if all := allText(blocksOf(t, m)); !strings.Contains(all, p.Title) || !strings.Contains(all, "Abstract") {
				t.Errorf("card lost its content: %s", all)
			}
		}
	})

	t.Run("save answers privately", func(t *testing.T) {
		if code := postInteraction(t, srv, testSecret, testNow, click("C1", "U1", command.ActionSave)); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		m := f.waitResponse(t)
		if m["response_type"] != "ephemeral" || m["replace_original"] == true || !strings.Contains(allText(blocksOf(t, m)), "Saved to your reading list") {
			t.Errorf("save reply %v", m)
		}
		if !fb.Saved(channel.User{Platform: "slack", Workspace: "T3MDE", ID: "U1"}, key) {
			t.Error("not saved")
		}
	})

	t.Run("more like this answers privately with cards", func(t *testing.T) {
		if code := postInteraction(t, srv, testSecret, testNow, click("C1", "U1", command.ActionMore)); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		m := f.waitResponse(t)
		if m["response_type"] != "ephemeral" || len(blocksOfType(blocksOf(t, m), "header")) == 0 {
			t.Errorf("more-like-this reply %v", m)
		}
	})

	t.Run("a card in a channel of another workspace", func(t *testing.T) {
		before := fb.Calls()
		if code := postInteraction(t, srv, testSecret, testNow, click("CFOREIGN", "U9", command.ActionRelevant)); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		m := f.waitResponse(t)
		if m["response_type"] != "ephemeral" || !strings.Contains(allText(blocksOf(t, m)), "does not serve here") {
			t.Errorf("refusal %v", m)
		}
		if fb.Calls() != before {
			t.Error("the vote reached the store")
		}
	})

	t.Run("a paper the store no longer knows", func(t *testing.T) {
		gone := testkit.Paper(testNow, "2611.09999", "Deleted paper", "", 0)
		body := formBody(t, clickFixture(t, "C1", "U1", command.ActionRelevant, gone, f.responseURL("r"), "trigger-gone"))
		if code := postInteraction(t, srv, testSecret, testNow, body); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if m := f.waitResponse(t); m["response_type"] != "ephemeral" || !strings.Contains(allText(blocksOf(t, m)), "no longer know that paper") {
			t.Errorf("refusal %v", m)
		}
	})

	refused := []struct {
		name   string
		secret string
		ts     time.Time
		body   func() string
		status int
	}{
		{"forged", "not-the-secret", testNow, func() string { return click("C1", "U1", command.ActionRelevant) }, http.StatusUnauthorized},
		{"stale", testSecret, testNow.Add(-6 * time.Minute), func() string { return click("C1", "U1", command.ActionRelevant) }, http.StatusUnauthorized},
		{"from the future", testSecret, testNow.Add(6 * time.Minute), func() string { return click("C1", "U1", command.ActionRelevant) }, http.StatusUnauthorized},
		{"oversized", testSecret, testNow, func() string {
			return click("C1", "U1", command.ActionRelevant) + "&pad=" + strings.Repeat("x", maxInteractionBytes)
		}, http.StatusRequestEntityTooLarge},
		{"no payload", testSecret, testNow, func() string { return "foo=bar" }, http.StatusBadRequest},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := fb.Calls()
			if code := postInteraction(t, srv, tc.secret, tc.ts, tc.body()); code != tc.status {
				t.Errorf("status %d, want %d", code, tc.status)
			}
			if fb.Calls() != before {
				t.Error("the click reached the store")
			}
		})
	}

	t.Run("replayed", func(t *testing.T) {
		body := click("C1", "U3", command.ActionRelevant)
		if code := postInteraction(t, srv, testSecret, testNow, body); code != http.StatusOK {
			t.Fatalf("first delivery: status %d", code)
		}
		m := f.waitResponse(t)
		before := fb.Calls()
		// The same signed request again, four minutes later: still fresh, but seen.
		s.now = func() time.Time { return testNow.Add(4 * time.Minute) }
		defer func() { s.now = func() time.Time { return testNow } }()
		if code := postInteraction(t, srv, testSecret, testNow, body); code != http.StatusConflict {
			t.Errorf("replay: status %d, want %d", code, http.StatusConflict)
		}
		if fb.Calls() != before {
			t.Error("the replay reached the store")
		}
		if got := buttonLabels(t, m); got[0] != "👍 Relevant · 2" {
			t.Errorf("counts after U3's vote: %q", got)
		}
	})

	t.Run("link buttons are only acknowledged", func(t *testing.T) {
		payload := clickFixture(t, "C1", "U1", command.ActionRelevant, p, f.responseURL("r"), "trigger-link")
		act := payload["actions"].([]any)[0].(map[string]any)
		delete(act, "value")
		act["action_id"], act["url"] = "abstract-0", p.URL
		before := fb.Calls()
		if code := postInteraction(t, srv, testSecret, testNow, formBody(t, payload)); code != http.StatusOK {
			t.Errorf("status %d", code)
		}
		select {
		case m := <-f.responses:
			t.Errorf("a link click was answered: %v", m)
		case <-time.After(100 * time.Millisecond):
		}
		if fb.Calls() != before {
			t.Error("a link click reached the store")
		}
	})
}

// TestClickFloodDoesNotDelayDeliveries: one user flooding the buttons gets refusals once over the click rate,
// while the bot keeps posting cards at once.
func TestClickFloodDoesNotDelayDeliveries(t *testing.T) {
	f := newFakeSlack(t)
	s, fb, clicks := newClickSlack(t, f)
	clicks.Limiter = command.NewUserLimiter(command.DefaultClickRate, command.DefaultClickBurst, 0, func() time.Time { return testNow })
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	p := testkit.SamplePapers(testNow)[0]
	const flood = 30
	for i := range flood {
		body := formBody(t, clickFixture(t, "C1", "UFLOOD", command.ActionRelevant, p, f.responseURL("r"), "flood-"+strings.Repeat("y", i+1)))
		if code := postInteraction(t, srv, testSecret, testNow, body); code != http.StatusOK {
			t.Fatalf("click %d: status %d", i, code)
		}
	}
	limited := 0
	for range flood {
		m := f.waitResponse(t)
		if strings.Contains(allText(blocksOf(t, m)), "clicking faster") {
			limited++
		}
	}
	if limited != flood-command.DefaultClickBurst {
		t.Errorf("%d clicks refused, want %d", limited, flood-command.DefaultClickBurst)
	}
	if fb.Calls() != command.DefaultClickBurst {
		t.Errorf("the store was asked %d times, want %d", fb.Calls(), command.DefaultClickBurst)
	}
	// Deliveries do not go through the click limiter or the click runner: a card posts at once.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.Send(ctx, bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: p}}}); err != nil {
		t.Errorf("delivery during the flood: %v", err)
	}
}

// socketServer is Slack's side of a Socket Mode connection: it says hello, sends the envelopes of sends, and
// reports the envelope ids the client acknowledges.
func socketServer(t *testing.T, sends <-chan []byte, acks chan<- string) http.Handler {
	// slack-go sends an Origin of https://api.slack.com, which is not this test server.
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		hello := `{"type":"hello","num_connections":1,"debug_info":{"host":"applink-test","approximate_connection_time":18060},"connection_info":{"app_id":"A0BCD"}}`
		if err := conn.WriteMessage(websocket.TextMessage, []byte(hello)); err != nil {
			return
		}
		go func() {
			for env := range sends {
				if conn.WriteMessage(websocket.TextMessage, env) != nil {
					return
				}
			}
		}()
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var ack struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(msg, &ack) == nil && ack.EnvelopeID != "" {
				acks <- ack.EnvelopeID
			}
		}
	})
}

// TestClicksOverSocketMode runs slack-go's real Socket Mode client against a local WebSocket speaking Slack's
// envelopes: a click is acknowledged, recorded once even when Slack redelivers the envelope, and the card's
// counts come back through response_url.
func TestClicksOverSocketMode(t *testing.T) {
	f := newFakeSlack(t)
	st := newTestStore(t)
	if _, err := st.AddSubscription(t.Context(), channel.Subscription{Channel: slackChannel("C1"), Query: "eeg", Canonical: "eeg", AddedBy: "U0", AddedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	fb := testkit.NewMemFeedback(testkit.SamplePapers(testNow)...)
	s := newTestSlack(t, f, ModeSocket, nil)
	s.clicks = &command.Clicks{Feedback: fb, Similar: fb, Channels: st, Now: func() time.Time { return testNow }}
	sends := make(chan []byte, 10)
	acks := make(chan string, 10)
	f.mu.Lock()
	f.ws = socketServer(t, sends, acks)
	f.mu.Unlock()
	stop := runSlack(t, s)

	p := testkit.SamplePapers(testNow)[0]
	payload, _ := json.Marshal(clickFixture(t, "C1", "U1", command.ActionRelevant, p, f.responseURL("s"), "trigger-socket"))
	envelope := func(id string, retry int) []byte {
		b, _ := json.Marshal(map[string]any{"envelope_id": id, "type": "interactive", "payload": json.RawMessage(payload),
			"accepts_response_payload": false, "retry_attempt": retry, "retry_reason": ""})
		return b
	}
	waitAck := func(want string) {
		t.Helper()
		select {
		case id := <-acks:
			if id != want {
				t.Errorf("ack %q, want %q", id, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("envelope %s not acknowledged", want)
		}
	}
	sends <- envelope("env-1", 0)
	waitAck("env-1")
	m := f.waitResponse(t)
	if m["replace_original"] != true || buttonLabels(t, m)[0] != "👍 Relevant · 1" {
		t.Errorf("card update %v", m)
	}
	// Slack redelivers an envelope it thinks was lost: acknowledged again, not counted again.
	calls := fb.Calls()
	sends <- envelope("env-2", 1)
	waitAck("env-2")
	select {
	case m := <-f.responses:
		t.Errorf("a redelivered click was answered again: %v", m)
	case <-time.After(100 * time.Millisecond):
	}
	if fb.Calls() != calls {
		t.Error("a redelivered click reached the store")
	}
	// A choice from a digest's overflow menu, over the same connection: a vote, confirmed privately.
	pick, _ := json.Marshal(digestPick(t, "U2", testkit.SamplePapers(testNow)[:3], 0, command.ActionRelevant, "trigger-socket-pick", f))
	b, _ := json.Marshal(map[string]any{"envelope_id": "env-3", "type": "interactive", "payload": json.RawMessage(pick),
		"accepts_response_payload": false, "retry_attempt": 0, "retry_reason": ""})
	sends <- b
	waitAck("env-3")
	if m := f.waitResponse(t); m["response_type"] != "ephemeral" || !strings.Contains(allText(blocksOf(t, m)), "Marked relevant") ||
		!strings.Contains(allText(blocksOf(t, m)), "👍 2 · 👎 0") {
		t.Errorf("digest pick over Socket Mode: %v", m)
	}
	close(sends)
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestCardShowsItsCounts: a card rendered with its votes (an edit of a revised paper) shows them on its buttons.
func TestCardShowsItsCounts(t *testing.T) {
	r := renderMessage(bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: hfPaper(), Up: 3, Down: 1}}}, false)
	raw, _ := json.Marshal(map[string]any{"blocks": r.blocks})
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	want := []string{"👍 Relevant · 3", "👎 Not relevant · 1", "🔖 Save", "More like this"}
	if got := buttonLabels(t, m); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("buttons %q, want %q", got, want)
	}
}
