package slack

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/testkit"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/store"
)

const (
	testBotToken = "xoxb-test-0000-SECRETBOT"
	testAppToken = "xapp-1-TEST-SECRETAPP"
	testSecret   = "8f742231b10e8888abcd99yyyzzz85a5-SECRETSIGN"
)

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// posted is one chat.postMessage the fake accepted.
type posted struct {
	Channel string
	Text    string
	Blocks  []map[string]any
	RawJSON string
	TS      string
}

// fakeSlack is a local Slack Web API speaking the same JSON as Slack for chat.postMessage, plus response_url
// endpoints under /response/.
type fakeSlack struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	requests  int
	posts     []posted
	rateLimit int               // answer this many upcoming posts with 429 Retry-After: 1
	status500 int               // answer this many upcoming posts with a 500
	errCode   map[string]string // channel -> Slack error code
	noImages  bool              // answer invalid_blocks to messages holding an image accessory
	hang      chan struct{}     // when set, posts hang until it is closed

	responses chan map[string]any
	openAuth  []string // Authorization headers of apps.connections.open
	// ws, when set, serves the Socket Mode WebSocket that apps.connections.open then points at.
	ws http.Handler

	// conversations.info: the bot is a member of every channel but those in notMember, archived ones are in
	// archived, and infoErr answers a Slack error code for a channel (channel_not_found, missing_scope).
	notMember, archived map[string]bool
	infoErr             map[string]string
	infoCalls           int
	updates             []posted          // chat.update calls accepted, TS the edited message
	updateErr           map[string]string // message ts -> Slack error code for chat.update
	rateUpdates         int               // answer this many upcoming chat.update calls with 429 Retry-After: 7
	files               *fakeFiles        // files.uploadV2's endpoints
	// conversations.open: the users whose direct message was opened, and an error code to answer instead.
	dmOpened []string
	dmErr    string
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{t: t, errCode: map[string]string{}, updateErr: map[string]string{}, responses: make(chan map[string]any, 100),
		notMember: map[string]bool{}, archived: map[string]bool{}, infoErr: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postMessage", f.postMessage)
	mux.HandleFunc("POST /api/conversations.info", f.conversationInfo)
	mux.HandleFunc("POST /api/chat.update", f.update)
	mux.HandleFunc("POST /api/conversations.open", f.openConversation)
	f.files = addFiles(mux, func() *httptest.Server { return f.srv })
	mux.HandleFunc("POST /response/{id}", func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("response_url body: %v", err)
		}
		f.responses <- m
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /api/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.openAuth = append(f.openAuth, r.Header.Get("Authorization"))
		ws := f.ws
		f.mu.Unlock()
		if ws != nil && r.Header.Get("Authorization") == "Bearer "+testAppToken {
			slackJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/link/?ticket=t1"})
			return
		}
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
	})
	mux.HandleFunc("GET /link/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		ws := f.ws
		f.mu.Unlock()
		if ws == nil {
			http.NotFound(w, r)
			return
		}
		ws.ServeHTTP(w, r)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.mu.Lock()
		if f.hang != nil {
			select {
			case <-f.hang:
			default:
				close(f.hang)
			}
		}
		f.mu.Unlock()
		f.srv.Close()
	})
	return f
}

// openConversation answers conversations.open as Slack does for a bot token: the IM channel with the one user
// given (D + the user id), or ok:false with an error code; missing_scope names the scope needed, as Slack does.
func (f *fakeSlack) openConversation(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.PostForm.Get("token") != testBotToken {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch f.dmErr {
	case "":
	case "missing_scope":
		slackJSON(w, map[string]any{"ok": false, "error": "missing_scope", "needed": "im:write", "provided": "chat:write,commands,files:write"})
		return
	default:
		slackJSON(w, map[string]any{"ok": false, "error": f.dmErr})
		return
	}
	users := r.PostForm.Get("users")
	if users == "" || strings.Contains(users, ",") {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	f.dmOpened = append(f.dmOpened, users)
	slackJSON(w, map[string]any{"ok": true, "no_op": true, "already_open": true, "channel": map[string]any{"id": "D" + users}})
}

func (f *fakeSlack) apiURL() string { return f.srv.URL + "/api/" }

func (f *fakeSlack) responseURL(id string) string { return f.srv.URL + "/response/" + id }

func slackJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSlack) postMessage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests++
	hang := f.hang
	f.mu.Unlock()
	if hang != nil {
		<-hang
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.PostForm.Get("token") != testBotToken && r.Header.Get("Authorization") != "Bearer "+testBotToken {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if f.rateLimit > 0 {
		f.rateLimit--
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if f.status500 > 0 {
		f.status500--
		http.Error(w, "<html>oops</html>", http.StatusInternalServerError)
		return
	}
	ch := r.PostForm.Get("channel")
	if code := f.errCode[ch]; code != "" {
		slackJSON(w, map[string]any{"ok": false, "error": code})
		return
	}
	raw := r.PostForm.Get("blocks")
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_blocks_format"})
		return
	}
	if f.noImages && strings.Contains(raw, `"image_url"`) {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_blocks",
			"response_metadata": map[string]any{"messages": []string{"[ERROR] downloading image failed [json-pointer:/blocks/2/accessory/image_url]"}}})
		return
	}
	ts := fmt.Sprintf("1764244800.%06d", len(f.posts)+1)
	f.posts = append(f.posts, posted{Channel: ch, Text: r.PostForm.Get("text"), Blocks: blocks, RawJSON: raw, TS: ts})
	slackJSON(w, map[string]any{"ok": true, "channel": ch, "ts": ts})
}

// conversationInfo answers conversations.info as Slack does for a bot token: the channel object with is_member
// (and is_archived), or ok:false with an error code.
func (f *fakeSlack) conversationInfo(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.infoCalls++
	if r.PostForm.Get("token") != testBotToken && r.Header.Get("Authorization") != "Bearer "+testBotToken {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	ch := r.PostForm.Get("channel")
	if code := f.infoErr[ch]; code != "" {
		slackJSON(w, map[string]any{"ok": false, "error": code})
		return
	}
	slackJSON(w, map[string]any{"ok": true, "channel": map[string]any{
		"id": ch, "name": "papers", "is_channel": true, "is_private": false, "is_archived": f.archived[ch],
		"is_member": !f.notMember[ch], "created": 1700000000,
	}})
}

// update is chat.update: it edits a message the fake posted, as Slack does (message_not_found for any other).
func (f *fakeSlack) update(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.PostForm.Get("token") != testBotToken && r.Header.Get("Authorization") != "Bearer "+testBotToken {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if f.rateUpdates > 0 {
		f.rateUpdates--
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	ch, ts := r.PostForm.Get("channel"), r.PostForm.Get("ts")
	if code := cmp.Or(f.errCode[ch], f.updateErr[ts]); code != "" {
		slackJSON(w, map[string]any{"ok": false, "error": code})
		return
	}
	if !slices.ContainsFunc(f.posts, func(p posted) bool { return p.Channel == ch && p.TS == ts }) {
		slackJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
		return
	}
	raw := r.PostForm.Get("blocks")
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_blocks_format"})
		return
	}
	if f.noImages && strings.Contains(raw, `"image_url"`) {
		slackJSON(w, map[string]any{"ok": false, "error": "invalid_blocks"})
		return
	}
	f.updates = append(f.updates, posted{Channel: ch, Text: r.PostForm.Get("text"), Blocks: blocks, RawJSON: raw, TS: ts})
	slackJSON(w, map[string]any{"ok": true, "channel": ch, "ts": ts, "text": r.PostForm.Get("text")})
}

// edits returns the chat.update calls the fake accepted.
func (f *fakeSlack) edits() []posted {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]posted(nil), f.updates...)
}

func (f *fakeSlack) snapshot() (requests int, posts []posted) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, append([]posted(nil), f.posts...)
}

// waitResponse returns the next message posted to a response_url.
func (f *fakeSlack) waitResponse(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m := <-f.responses:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no reply posted to response_url")
		return nil
	}
}

// logBuffer collects a test's logs, to check that no secret is ever logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// testLogger returns a debug logger whose output is checked for secrets when the test ends.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	lb := &logBuffer{}
	t.Cleanup(func() {
		out := lb.String()
		for _, secret := range []string{"SECRETBOT", "SECRETAPP", "SECRETSIGN"} {
			if strings.Contains(out, secret) {
				t.Errorf("a secret was logged:\n%s", out)
			}
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// recorder is a CommandHandler that records requests and answers a fixed reply.
type recorder struct {
	mu    sync.Mutex
	reqs  []bot.Request
	reply bot.Reply
}

func (r *recorder) Handle(_ context.Context, req bot.Request) (bot.Reply, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	return r.reply, nil
}

func (r *recorder) calls() []bot.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Request(nil), r.reqs...)
}

// newTestSlack returns an adapter talking to f in the given mode.
func newTestSlack(t *testing.T, f *fakeSlack, mode string, cmds CommandHandler, managers ...string) *Slack {
	t.Helper()
	if cmds == nil {
		cmds = &recorder{}
	}
	s, err := New(Options{
		BotToken: testBotToken, AppToken: testAppToken, SigningSecret: testSecret,
		Mode: mode, Listen: "127.0.0.1:0", Managers: managers, APIURL: f.apiURL(),
		Commands: cmds, Logger: testLogger(t), HTTPClient: f.srv.Client(),
		Now: func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sign returns the headers Slack would send with body at time ts, signed with secret.
func sign(secret string, ts int64, body string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:%s", ts, body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return h
}

// commandBody is a slash command form as Slack posts it, from workspace T1.
func commandBody(channel, user, text, responseURL string) string {
	return commandBodyIn("T1", channel, user, text, responseURL)
}

// commandBodyIn is a slash command form as Slack posts it, from workspace team.
func commandBodyIn(team, channel, user, text, responseURL string) string {
	return url.Values{
		"token": {"legacy-verification-token"}, "team_id": {team}, "channel_id": {channel}, "channel_name": {"papers"},
		"user_id": {user}, "user_name": {"someone"}, "command": {"/papers"}, "text": {text},
		"response_url": {responseURL}, "trigger_id": {"1.2.3"},
	}.Encode()
}

// newTestStore returns a real store holding a few papers.
func newTestStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Ingest(ctx, "arxiv", testkit.SamplePapers(testNow)[:3], nil, testNow); err != nil {
		t.Fatal(err)
	}
	return st
}

// slowStore holds every command at its first store call until gate is closed, and says when one is waiting.
type slowStore struct {
	*store.Store
	gate    chan struct{}
	waiting chan struct{}
	once    sync.Once
}

func newSlowStore(st *store.Store) *slowStore {
	return &slowStore{Store: st, gate: make(chan struct{}), waiting: make(chan struct{})}
}

func (s *slowStore) Channel(ctx context.Context, ch channel.Ref) (channel.Channel, error) {
	s.once.Do(func() { close(s.waiting) })
	select {
	case <-s.gate:
	case <-ctx.Done():
		return channel.Channel{}, ctx.Err()
	}
	return s.Store.Channel(ctx, ch)
}

func (s *slowStore) release() {
	select {
	case <-s.gate:
	default:
		close(s.gate)
	}
}

// allowedLink is the only markup our mrkdwn may contain: a link to an http(s) URL with an escaped label.
var allowedLink = regexp.MustCompile(`<https?://[^\s<>|]+\|[^<>]*>`)

// checkMrkdwn fails if s could mention anyone or link anywhere but where we meant.
func checkMrkdwn(t *testing.T, where, s string) {
	t.Helper()
	rest := allowedLink.ReplaceAllString(s, "")
	if strings.ContainsAny(rest, "<>") {
		t.Errorf("%s: unescaped markup in mrkdwn %q", where, s)
	}
	for _, bad := range []string{"<!", "<@", "<#", "<https://evil.example"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s: %q in mrkdwn %q", where, bad, s)
		}
	}
}

// checkMessage validates a message against Slack's Block Kit limits and our escaping rules.
func checkMessage(t *testing.T, text string, blocks []map[string]any) {
	t.Helper()
	checkMrkdwn(t, "fallback text", text)
	if len(blocks) == 0 || len(blocks) > maxBlocks {
		t.Errorf("%d blocks, want 1..%d", len(blocks), maxBlocks)
	}
	raw, _ := json.Marshal(blocks)
	if len(raw) > messageBudget+2000 {
		t.Errorf("blocks are %d bytes of JSON, budget %d", len(raw), messageBudget)
	}
	checkText := func(where string, obj any, limit int, wantType string) {
		t.Helper()
		m, ok := obj.(map[string]any)
		if !ok {
			t.Errorf("%s: text object %v", where, obj)
			return
		}
		typ, _ := m["type"].(string)
		s, _ := m["text"].(string)
		if wantType != "" && typ != wantType {
			t.Errorf("%s: text type %q, want %q", where, typ, wantType)
		}
		if n := units(s); n == 0 || n > limit {
			t.Errorf("%s: text length %d, want 1..%d", where, n, limit)
		}
		if typ == "mrkdwn" {
			checkMrkdwn(t, where, s)
		}
	}
	checkURL := func(where string, v any) {
		t.Helper()
		s, _ := v.(string)
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || len(s) > maxURL {
			t.Errorf("%s: bad url %q", where, s)
		}
	}
	for i, b := range blocks {
		where := fmt.Sprintf("block %d (%v)", i, b["type"])
		switch b["type"] {
		case "header":
			checkText(where, b["text"], maxHeaderText, "plain_text")
		case "section":
			if b["text"] != nil {
				checkText(where, b["text"], maxSectionText, "")
			}
			if fs, _ := b["fields"].([]any); len(fs) > 10 {
				t.Errorf("%s: %d fields", where, len(fs))
			}
			if acc, ok := b["accessory"].(map[string]any); ok {
				switch acc["type"] {
				case "image":
					checkURL(where+" image", acc["image_url"])
					if alt, _ := acc["alt_text"].(string); alt == "" || units(alt) > maxAltText {
						t.Errorf("%s: alt_text %q", where, alt)
					}
				case "overflow":
					// A digest's feedback menu: 2 to 5 options, each a plain_text label and a click token as value.
					opts, _ := acc["options"].([]any)
					if len(opts) < 2 || len(opts) > 5 {
						t.Errorf("%s: overflow with %d options", where, len(opts))
					}
					if id, _ := acc["action_id"].(string); id == "" || len(id) > 255 {
						t.Errorf("%s: overflow action_id %q", where, id)
					}
					for _, o := range opts {
						opt, _ := o.(map[string]any)
						checkText(where+" option", opt["text"], maxOptionText, "plain_text")
						if v, _ := opt["value"].(string); len(v) > maxOptionValue {
							t.Errorf("%s option: value of %d characters", where, len(v))
						} else if _, _, err := command.ParseClickToken(v); err != nil {
							t.Errorf("%s option: value %q is not a click token", where, v)
						}
					}
				default:
					t.Errorf("%s: accessory %v", where, acc["type"])
				}
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > maxActionElems {
				t.Errorf("%s: %d elements", where, len(els))
			}
			for _, e := range els {
				el := e.(map[string]any)
				checkText(where+" button", el["text"], maxButtonText, "plain_text")
				// A button is a link, or a feedback button whose value is a click token (and no url).
				if v, _ := el["value"].(string); v != "" {
					if _, _, err := command.ParseClickToken(v); err != nil || el["url"] != nil || len(v) > 2000 {
						t.Errorf("%s button: value %q, url %v: want a click token and no url", where, v, el["url"])
					}
					if id, _ := el["action_id"].(string); id == "" || len(id) > 255 {
						t.Errorf("%s button: action_id %q", where, id)
					}
					continue
				}
				checkURL(where+" button", el["url"])
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				t.Errorf("%s: %d elements", where, len(els))
			}
			for _, e := range els {
				checkText(where, e, maxSectionText, "")
			}
		default:
			t.Errorf("%s: unexpected block type", where)
		}
	}
}

// blocksOf decodes a message's blocks from a response_url post.
func blocksOf(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	raw, _ := json.Marshal(m["blocks"])
	var bs []map[string]any
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	return bs
}

// allText concatenates every text in blocks, for content assertions.
func allText(blocks []map[string]any) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				b.WriteString(s)
				b.WriteByte('\n')
			}
			for k, y := range x {
				if k != "text" || !isString(y) {
					walk(y)
				}
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	for _, bl := range blocks {
		walk(bl)
	}
	return b.String()
}

func isString(v any) bool { _, ok := v.(string); return ok }
