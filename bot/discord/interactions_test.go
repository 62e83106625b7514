package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
)

// The key pair is generated per test run: Discord publishes no fixed test vectors.
var testPublicKey, testPrivateKey = func() (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return pub, priv
}()

var testPublicKeyHex = hex.EncodeToString(testPublicKey)

// signedRequest builds POST /discord/interactions signed like Discord: Ed25519 over timestamp + raw body.
func signedRequest(body []byte, ts time.Time, key ed25519.PrivateKey) *http.Request {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	sig := ed25519.Sign(key, append([]byte(stamp), body...))
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, InteractionsPath, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	r.Header.Set("X-Signature-Timestamp", stamp)
	return r
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// commandPayload is the captured subcommand interaction with /papers SUB and the given options and permissions.
func commandPayload(t *testing.T, itype discordgo.InteractionType, sub string, perms int64, opts ...map[string]any) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(readFixture(t, "discord_interaction_subcommand_captured.json"), &p); err != nil {
		t.Fatal(err)
	}
	p["type"] = int(itype)
	data := p["data"].(map[string]any)
	data["name"] = CommandName
	if opts == nil {
		opts = []map[string]any{}
	}
	data["options"] = []any{map[string]any{"type": 1, "name": sub, "options": opts}}
	p["member"].(map[string]any)["permissions"] = strconv.FormatInt(perms, 10)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	manager = discordgo.PermissionManageChannels | discordgo.PermissionViewChannel
	member  = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages
	// fixtureChannel is channel_id of the captured payload.
	fixtureChannel = "942872224254292018"
)

type response struct {
	Type int `json:"type"`
	Data struct {
		Content string `json:"content"`
		Flags   int    `json:"flags"`
		Embeds  []struct {
			Title, Description string
		} `json:"embeds"`
		Choices []struct {
			Name  string `json:"name"`
			Value any    `json:"value"`
		} `json:"choices"`
	} `json:"data"`
}

func serve(t *testing.T, d *Discord, r *http.Request) (*httptest.ResponseRecorder, response) {
	t.Helper()
	w := httptest.NewRecorder()
	d.Handler().ServeHTTP(w, r)
	var resp response
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatalf("response: %v\n%s", err, w.Body)
		}
		if resp.Type == int(discordgo.InteractionResponseChannelMessageWithSource) {
			var raw struct {
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
				t.Fatalf("response data: %v\n%s", err, w.Body)
			}
			validateMessage(t, raw.Data)
		}
	}
	return w, resp
}

func newCommander(st *memStore) *command.Commander {
	return &command.Commander{Store: st, Now: func() time.Time { return testNow }}
}

func TestInteractionSignatures(t *testing.T) {
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ping := readFixture(t, "discord_interaction_ping_body.json")
	tests := []struct {
		name     string
		req      func() *http.Request
		wantCode int
		wantBody string
	}{
		{"ping gets pong", func() *http.Request { return signedRequest(ping, testNow, testPrivateKey) }, 200, `{"type":1}`},
		{"slightly early clock is fine", func() *http.Request { return signedRequest(ping, testNow.Add(time.Minute), testPrivateKey) }, 200, `{"type":1}`},
		{"bad signature", func() *http.Request { return signedRequest(ping, testNow, otherKey) }, 401, ""},
		{"modified body", func() *http.Request {
			r := signedRequest(ping, testNow, testPrivateKey)
			r.Body = httptestBody(bytes.Replace(ping, []byte(`"type":1`), []byte(`"type":2`), 1))
			return r
		}, 401, ""},
		{"stale timestamp", func() *http.Request { return signedRequest(ping, testNow.Add(-6*time.Minute), testPrivateKey) }, 401, ""},
		{"future timestamp", func() *http.Request { return signedRequest(ping, testNow.Add(6*time.Minute), testPrivateKey) }, 401, ""},
		{"missing signature header", func() *http.Request {
			r := signedRequest(ping, testNow, testPrivateKey)
			r.Header.Del("X-Signature-Ed25519")
			return r
		}, 401, ""},
		{"missing timestamp header", func() *http.Request {
			r := signedRequest(ping, testNow, testPrivateKey)
			r.Header.Del("X-Signature-Timestamp")
			return r
		}, 401, ""},
		{"signature not hex", func() *http.Request {
			r := signedRequest(ping, testNow, testPrivateKey)
			r.Header.Set("X-Signature-Ed25519", "zz")
			return r
		}, 401, ""},
		{"body too large", func() *http.Request {
			return signedRequest(bytes.Repeat([]byte(" "), maxBodyBytes+1), testNow, testPrivateKey)
		}, 413, ""},
		{"GET is not allowed", func() *http.Request {
			return httptest.NewRequestWithContext(context.Background(), http.MethodGet, InteractionsPath, nil)
		}, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord(t)
			st := &memStore{}
			d := newTestDiscord(t, f, func(o *Options) { o.Commands = newCommander(st) })
			w, _ := serve(t, d, tt.req())
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantCode, w.Body)
			}
			if tt.wantBody != "" && strings.TrimSpace(w.Body.String()) != tt.wantBody {
				t.Errorf("body %s, want %s", w.Body, tt.wantBody)
			}
		})
	}
}

func httptestBody(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestSubcommands(t *testing.T) {
	opt := func(typ int, name string, value any) map[string]any {
		return map[string]any{"type": typ, "name": name, "value": value}
	}
	tests := []struct {
		name        string
		sub         string
		perms       int64
		opts        []map[string]any
		wantText    string // what the command core received, as bot.Request.CommandLine renders it
		wantType    discordgo.InteractionResponseType
		wantPrivate bool
		wantContent string
		wantEmbeds  int
	}{
		{name: "search", sub: "search", perms: member, opts: []map[string]any{opt(3, "query", "eeg")},
			wantText: `search query="eeg"`, wantType: 4, wantPrivate: true, wantContent: "1 of 1 papers matching eeg", wantEmbeds: 1},
		{name: "search without result", sub: "search", perms: member, opts: []map[string]any{opt(3, "query", "nothing")},
			wantText: `search query="nothing"`, wantType: 4, wantPrivate: true, wantContent: `No stored paper matches nothing`},
		{name: "subscribe", sub: "subscribe", perms: manager, opts: []map[string]any{opt(3, "query", "eeg  -survey")},
			wantText: `subscribe query="eeg  -survey"`, wantType: 4, wantContent: "This channel now follows eeg -survey", wantEmbeds: 1},
		{name: "subscribe refused without Manage Channels", sub: "subscribe", perms: member, opts: []map[string]any{opt(3, "query", "eeg")},
			wantText: `subscribe query="eeg"`, wantType: 4, wantPrivate: true, wantContent: "Only people who can manage this channel may subscribe"},
		{name: "administrator may manage", sub: "subscribe", perms: discordgo.PermissionAdministrator, opts: []map[string]any{opt(3, "query", "meg")},
			wantText: `subscribe query="meg"`, wantType: 4, wantContent: "This channel now follows meg"},
		{name: "unsubscribe by query", sub: "unsubscribe", perms: manager, opts: []map[string]any{opt(3, "subscription", "snn")},
			wantText: `unsubscribe subscription="snn"`, wantType: 4, wantContent: "This channel no longer follows snn"},
		{name: "unsubscribe refused", sub: "unsubscribe", perms: member, opts: []map[string]any{opt(3, "subscription", "1")},
			wantText: `unsubscribe subscription="1"`, wantType: 4, wantPrivate: true, wantContent: "may unsubscribe this channel"},
		{name: "list", sub: "list", perms: member,
			wantText: "list", wantType: 4, wantPrivate: true, wantContent: "1. snn"},
		{name: "digest daily", sub: "digest", perms: manager,
			opts:     []map[string]any{opt(3, "mode", "daily"), opt(3, "time", "09:00"), opt(3, "timezone", "Europe/Berlin")},
			wantText: `digest mode="daily" time="09:00" timezone="Europe/Berlin"`, wantType: 4, wantContent: "one digest a day at 09:00 Europe/Berlin"},
		{name: "digest off", sub: "digest", perms: manager, opts: []map[string]any{opt(3, "mode", "off")},
			wantText: `digest mode="off"`, wantType: 4, wantContent: "as soon as it is announced"},
		{name: "digest refused", sub: "digest", perms: member, opts: []map[string]any{opt(3, "mode", "off")},
			wantText: `digest mode="off"`, wantType: 4, wantPrivate: true, wantContent: "may change how this channel receives papers"},
		{name: "backfill is deferred", sub: "backfill", perms: manager, opts: []map[string]any{opt(4, "days", 7)},
			wantText: "backfill days=7", wantType: 5},
		{name: "sources", sub: "sources", perms: member,
			wantText: "sources", wantType: 4, wantPrivate: true, wantContent: "arxiv-cs: last poll 1h ago"},
		{name: "help", sub: "help", perms: member,
			wantText: "help", wantType: 4, wantPrivate: true, wantContent: "/papers subscribe \\<query\\>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord(t)
			st := &memStore{papers: []paper.Paper{samplePaper()}}
			st.subs = []channel.Subscription{
				{ID: 1, Channel: ch(fixtureChannel), Query: "snn", Canonical: "snn"},
				{ID: 2, Channel: ch(fixtureChannel), Query: "eeg", Canonical: "eeg"},
			}
			rec := &recordingHandler{next: newCommander(st)}
			d := newTestDiscord(t, f, func(o *Options) { o.Commands = rec })
			body := commandPayload(t, discordgo.InteractionApplicationCommand, tt.sub, tt.perms, tt.opts...)
			w, resp := serve(t, d, signedRequest(body, testNow, testPrivateKey))
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if resp.Type != int(tt.wantType) {
				t.Fatalf("response type %d, want %d: %s", resp.Type, tt.wantType, w.Body)
			}
			d.runner.Drain()
			got := rec.requests()
			if len(got) != 1 || got[0].Invocation == nil || got[0].CommandLine() != tt.wantText || got[0].Channel != ch(fixtureChannel) || got[0].User != "196249128286552064" {
				t.Fatalf("command core got %+v, want text %q in %s", got, tt.wantText, fixtureChannel)
			}
			if tt.wantType == discordgo.InteractionResponseDeferredChannelMessageWithSource {
				edits := f.requestsTo("/api/v10/webhooks/541298511430287395/")
				if len(edits) != 1 || !strings.HasSuffix(edits[0].Path, "/messages/@original") || edits[0].Method != http.MethodPatch {
					t.Fatalf("follow-up requests %+v, want one PATCH of @original", edits)
				}
				if !bytes.Contains(edits[0].Body, []byte("Backfill: 1 matching paper from the last 7 days")) {
					t.Errorf("follow-up %s", edits[0].Body)
				}
				return
			}
			if (resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) != 0) != tt.wantPrivate {
				t.Errorf("flags %d, want private=%v", resp.Data.Flags, tt.wantPrivate)
			}
			if !strings.Contains(resp.Data.Content, tt.wantContent) {
				t.Errorf("content %q, want it to contain %q", resp.Data.Content, tt.wantContent)
			}
			if len(resp.Data.Embeds) != tt.wantEmbeds {
				t.Errorf("%d embeds, want %d", len(resp.Data.Embeds), tt.wantEmbeds)
			}
		})
	}
}

// TestIntegerOptionReachesCoreTyped: Discord's integer option (a JSON number) reaches the command core as an
// int64 in the request's invocation, with no text to parse again.
func TestIntegerOptionReachesCoreTyped(t *testing.T) {
	f := newFakeDiscord(t)
	st := &memStore{papers: []paper.Paper{samplePaper()}, subs: []channel.Subscription{{ID: 1, Channel: ch(fixtureChannel), Query: "eeg", Canonical: "eeg"}}}
	rec := &recordingHandler{next: newCommander(st)}
	d := newTestDiscord(t, f, func(o *Options) { o.Commands = rec })
	body := commandPayload(t, discordgo.InteractionApplicationCommand, "backfill", manager, map[string]any{"type": 4, "name": "days", "value": 7})
	if w, _ := serve(t, d, signedRequest(body, testNow, testPrivateKey)); w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	d.runner.Drain()
	got := rec.requests()
	if len(got) != 1 || got[0].Invocation == nil || got[0].Text != "" {
		t.Fatalf("requests %+v, want one invocation without text", got)
	}
	inv := got[0].Invocation
	if days, ok := inv.Options["days"].(int64); inv.Subcommand != "backfill" || !ok || days != 7 {
		t.Errorf("invocation %s with days %#v, want backfill with int64(7)", inv, inv.Options["days"])
	}
	edits := f.requestsTo("/api/v10/webhooks/541298511430287395/")
	if len(edits) != 1 || !bytes.Contains(edits[0].Body, []byte("from the last 7 days")) {
		t.Errorf("follow-up %+v", edits)
	}
}

type recordingHandler struct {
	mu   sync.Mutex
	reqs []bot.Request
	next CommandHandler
	// gate, when set, blocks every command until it is closed.
	gate chan struct{}
}

func (h *recordingHandler) Handle(ctx context.Context, req bot.Request) (bot.Reply, error) {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	h.mu.Unlock()
	if h.gate != nil {
		<-h.gate
	}
	return h.next.Handle(ctx, req)
}

func (h *recordingHandler) Complete(ctx context.Context, req bot.Request, option, typed string) ([]command.Choice, error) {
	return h.next.Complete(ctx, req, option, typed)
}

func (h *recordingHandler) requests() []bot.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bot.Request(nil), h.reqs...)
}

type failingHandler struct{}

func (failingHandler) Complete(context.Context, bot.Request, string, string) ([]command.Choice, error) {
	return nil, errors.New("database is locked")
}

func (failingHandler) Handle(context.Context, bot.Request) (bot.Reply, error) {
	return bot.Reply{}, errors.New("database is locked")
}

// TestSlowCommandIsDeferred: a look-up still running after deferAfter gets an ephemeral deferred response, and its
// reply then replaces the "thinking" message. The handler is blocked until the response is in, so the deferral
// does not depend on timing.
func TestSlowCommandIsDeferred(t *testing.T) {
	f := newFakeDiscord(t)
	st := &memStore{papers: []paper.Paper{samplePaper()}}
	rec := &recordingHandler{next: newCommander(st), gate: make(chan struct{})}
	d := newTestDiscord(t, f, func(o *Options) { o.Commands = rec })
	d.runner = newRunner(time.Millisecond)
	body := commandPayload(t, discordgo.InteractionApplicationCommand, "search", member, map[string]any{"type": 3, "name": "query", "value": "eeg"})
	w, resp := serve(t, d, signedRequest(body, testNow, testPrivateKey))
	close(rec.gate)
	d.runner.Drain()
	if w.Code != 200 || resp.Type != int(discordgo.InteractionResponseDeferredChannelMessageWithSource) {
		t.Fatalf("got %d %s, want a deferred response", w.Code, w.Body)
	}
	if resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 {
		t.Error("a deferred look-up must be ephemeral")
	}
	edits := f.requestsTo("/api/v10/webhooks/541298511430287395/")
	if len(edits) != 1 || !bytes.Contains(edits[0].Body, []byte("1 of 1 papers matching eeg")) {
		t.Fatalf("follow-up %+v", edits)
	}
}

func TestCommandFailureIsPrivateApology(t *testing.T) {
	f := newFakeDiscord(t)
	d := newTestDiscord(t, f, func(o *Options) { o.Commands = failingHandler{} })
	body := commandPayload(t, discordgo.InteractionApplicationCommand, "list", member)
	_, resp := serve(t, d, signedRequest(body, testNow, testPrivateKey))
	if resp.Type != 4 || resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 || !strings.Contains(resp.Data.Content, "went wrong") ||
		strings.Contains(resp.Data.Content, "database") {
		t.Errorf("response %+v, want a private apology without the internal error", resp)
	}
}

func TestAutocomplete(t *testing.T) {
	long := strings.Repeat("verylongterm ", 10)
	subs := []channel.Subscription{
		{ID: 1, Channel: ch(fixtureChannel), Query: "eeg -survey", Canonical: "eeg -survey"},
		{ID: 2, Channel: ch(fixtureChannel), Query: "snn", Canonical: "snn"},
		{ID: 3, Channel: ch(fixtureChannel), Query: long, Canonical: strings.TrimSpace(long)},
		{ID: 4, Channel: ch("other"), Query: "eeg", Canonical: "eeg"},
	}
	tests := []struct {
		typed string
		want  []string // name=value
	}{
		{"", []string{"1. eeg -survey=eeg -survey", "2. snn=snn", "3. " + truncate(strings.TrimSpace(long), 97) + "=3"}},
		{"EEG", []string{"1. eeg -survey=eeg -survey"}},
		{"2", []string{"2. snn=snn"}},
		{"nothing", nil},
	}
	for _, tt := range tests {
		t.Run("typed "+tt.typed, func(t *testing.T) {
			f := newFakeDiscord(t)
			st := &memStore{subs: subs}
			d := newTestDiscord(t, f, func(o *Options) { o.Commands = newCommander(st) })
			body := commandPayload(t, discordgo.InteractionApplicationCommandAutocomplete, "unsubscribe", member,
				map[string]any{"type": 3, "name": "subscription", "value": tt.typed, "focused": true})
			w, resp := serve(t, d, signedRequest(body, testNow, testPrivateKey))
			if w.Code != 200 || resp.Type != int(discordgo.InteractionApplicationCommandAutocompleteResult) {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
			if !strings.Contains(w.Body.String(), `"choices":[`) {
				t.Errorf("choices must be an array, even empty: %s", w.Body)
			}
			var got []string
			for _, c := range resp.Data.Choices {
				got = append(got, c.Name+"="+c.Value.(string))
				if len([]rune(c.Name)) > limitChoice || len([]rune(c.Value.(string))) > limitChoice {
					t.Errorf("choice over 100 characters: %q", c.Name)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("choices %q, want %q", got, tt.want)
			}
		})
	}
}

// TestGatewayResponder: over the gateway the same core answers through the interaction callback URL.
func TestGatewayResponder(t *testing.T) {
	f := newFakeDiscord(t)
	st := &memStore{}
	d := newTestDiscord(t, f, func(o *Options) { o.Mode = ModeGateway; o.Commands = newCommander(st) })
	var in discordgo.Interaction
	if err := json.Unmarshal(commandPayload(t, discordgo.InteractionApplicationCommand, "help", member), &in); err != nil {
		t.Fatal(err)
	}
	d.interact(context.Background(), &in, d.restResponder(&in))
	d.runner.Drain()
	calls := f.requestsTo("/api/v10/interactions/" + in.ID + "/")
	if len(calls) != 1 || !strings.HasSuffix(calls[0].Path, "/callback") {
		t.Fatalf("callbacks %+v", calls)
	}
	var resp struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(calls[0].Body, &resp); err != nil {
		t.Fatal(err)
	}
	validateMessage(t, resp.Data)
	if resp.Type != 4 || !bytes.Contains(resp.Data, []byte("/papers list")) {
		t.Errorf("callback %s", calls[0].Body)
	}
}

func TestSlashCommandDocsExampleIsRefused(t *testing.T) {
	// The documentation's example is another application's command (cardsearch): it must get a polite private
	// answer, not reach the command core.
	f := newFakeDiscord(t)
	rec := &recordingHandler{next: newCommander(&memStore{})}
	d := newTestDiscord(t, f, func(o *Options) { o.Commands = rec })
	_, resp := serve(t, d, signedRequest(readFixture(t, "discord_interaction_slash_command_docs_example.json"), testNow, testPrivateKey))
	if resp.Type != 4 || resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 || len(rec.requests()) != 0 {
		t.Errorf("response %+v, core requests %d", resp, len(rec.requests()))
	}
}
