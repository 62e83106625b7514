package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/filters"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorded is one request the fake Discord received.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// fakeDiscord is a local stand-in for Discord's REST API at /api/v10/. Channel messages are answered by script
// (per channel id: a queue of canned responses, then 200 with a new message id).
type fakeDiscord struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []recorded
	script   map[string][]cannedResponse
	nextID   int
	// fault, when not 0, answers every request with that status (faultDrop: closes the connection unanswered).
	fault int
	// gatewayURL is what GET /gateway answers.
	gatewayURL string
}

// faultDrop as fakeDiscord.fault makes Discord unreachable: connections are closed without an answer.
const faultDrop = -1

// setFault sets fakeDiscord.fault.
func (f *fakeDiscord) setFault(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = status
}

type cannedResponse struct {
	status int
	header map[string]string
	body   string
}

func newFakeDiscord(t *testing.T) *fakeDiscord {
	t.Helper()
	f := &fakeDiscord{t: t, script: map[string][]cannedResponse{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v10/channels/{id}/messages", func(w http.ResponseWriter, r *http.Request) {
		body := f.record(r)
		payload, _ := splitMultipart(t, r.Header, body)
		validateMessage(t, payload)
		f.mu.Lock()
		var canned *cannedResponse
		if q := f.script[r.PathValue("id")]; len(q) > 0 {
			canned, f.script[r.PathValue("id")] = &q[0], q[1:]
		}
		f.nextID++
		id := f.nextID
		f.mu.Unlock()
		if canned != nil {
			for k, v := range canned.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(canned.status)
			io.WriteString(w, canned.body)
			return
		}
		writeJSON(w, map[string]string{"id": fmt.Sprintf("m%d", id), "channel_id": r.PathValue("id")})
	})
	// Message edits are answered by the script of "edit/" + the message id, then 200 with the edited message.
	mux.HandleFunc("PATCH /api/v10/channels/{id}/messages/{mid}", func(w http.ResponseWriter, r *http.Request) {
		body := f.record(r)
		validateMessage(t, body)
		f.mu.Lock()
		var canned *cannedResponse
		key := "edit/" + r.PathValue("mid")
		if q := f.script[key]; len(q) > 0 {
			canned, f.script[key] = &q[0], q[1:]
		}
		f.mu.Unlock()
		if canned != nil {
			for k, v := range canned.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(canned.status)
			io.WriteString(w, canned.body)
			return
		}
		writeJSON(w, map[string]string{"id": r.PathValue("mid"), "channel_id": r.PathValue("id")})
	})
	mux.HandleFunc("PUT /api/v10/applications/{app}/commands", f.echo)
	mux.HandleFunc("PUT /api/v10/applications/{app}/guilds/{guild}/commands", f.echo)
	mux.HandleFunc("GET /api/v10/oauth2/applications/@me", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		writeJSON(w, map[string]string{"id": "424242"})
	})
	// Edits of the original interaction response are answered by the script of "original", then 200.
	mux.HandleFunc("PATCH /api/v10/webhooks/{app}/{token}/messages/@original", func(w http.ResponseWriter, r *http.Request) {
		payload, _ := splitMultipart(t, r.Header, f.record(r))
		validateMessage(t, payload)
		f.mu.Lock()
		var canned *cannedResponse
		if q := f.script["original"]; len(q) > 0 {
			canned, f.script["original"] = &q[0], q[1:]
		}
		f.mu.Unlock()
		if canned != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(canned.status)
			io.WriteString(w, canned.body)
			return
		}
		writeJSON(w, map[string]string{"id": "orig"})
	})
	mux.HandleFunc("POST /api/v10/interactions/{id}/{token}/callback", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /api/v10/gateway", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		f.mu.Lock()
		u := f.gatewayURL
		f.mu.Unlock()
		writeJSON(w, map[string]string{"url": u})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("fake discord: unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		fault := f.fault
		f.mu.Unlock()
		switch fault {
		case 0:
			mux.ServeHTTP(w, r)
		case faultDrop:
			f.record(r)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			f.record(r)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fault)
			fmt.Fprintf(w, `{"message": %q, "code": 0}`, http.StatusText(fault))
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeDiscord) echo(w http.ResponseWriter, r *http.Request) {
	body := f.record(r)
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (f *fakeDiscord) record(r *http.Request) []byte {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake discord: read body: %v", err)
	}
	f.mu.Lock()
	f.requests = append(f.requests, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	f.mu.Unlock()
	return body
}

func (f *fakeDiscord) enqueue(channel string, rs ...cannedResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[channel] = append(f.script[channel], rs...)
}

// requestsTo returns the recorded requests whose path starts with prefix.
func (f *fakeDiscord) requestsTo(prefix string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.requests {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// newTestDiscord returns a Discord pointed at the fake, in http mode with a generated key pair.
func newTestDiscord(t *testing.T, f *fakeDiscord, mutate func(*Options)) *Discord {
	t.Helper()
	opts := Options{
		Token:         "test-token",
		Mode:          ModeHTTP,
		Listen:        "127.0.0.1:0",
		PublicKey:     testPublicKeyHex,
		ApplicationID: "424242",
		APIURL:        f.srv.URL + "/api/v10/",
		Logger:        slog.New(slog.DiscardHandler),
		Now:           func() time.Time { return testNow },
	}
	if mutate != nil {
		mutate(&opts)
	}
	d, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		d.runner.Drain()
		d.session.Client.CloseIdleConnections()
	})
	return d
}

var testNow = time.Date(2026, 5, 14, 12, 0, 0, 0, time.UTC)

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// validateMessage checks a message body against Discord's own schema (MessageCreateRequest of its OpenAPI spec)
// and against the limits the schema cannot express.
func validateMessage(t *testing.T, body []byte) {
	t.Helper()
	schemaOnce.Do(func() {
		raw, err := os.ReadFile("testdata/discord_openapi_message_create.schema.json")
		if err != nil {
			schemaErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource("discord.json", doc); err != nil {
			schemaErr = err
			return
		}
		schema, schemaErr = c.Compile("discord.json#/$defs/MessageCreateRequest")
	})
	if schemaErr != nil {
		t.Fatalf("schema: %v", schemaErr)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("message body is not JSON: %v\n%s", err, body)
		return
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("message body violates Discord's schema: %v\n%s", err, body)
	}
	checkLimits(t, body)
}

var rawMention = regexp.MustCompile(`(^|[^\\])(@everyone|@here|<@|<#)`)

// checkLimits checks what Discord enforces beyond the schema (content 2000, the 6000 total, fields 25) and that
// no mention can render or ping.
func checkLimits(t *testing.T, body []byte) {
	t.Helper()
	var m struct {
		Content         *string `json:"content"`
		AllowedMentions *struct {
			Parse *[]string `json:"parse"`
		} `json:"allowed_mentions"`
		Embeds []struct {
			Title, Description string
			Fields             []struct{ Name, Value string }
			Footer             *struct{ Text string }
			Author             *struct{ Name string }
		}
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Errorf("body: %v", err)
		return
	}
	if m.AllowedMentions == nil || m.AllowedMentions.Parse == nil || len(*m.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions must be {\"parse\": []}: %s", body)
	}
	rc := utf8.RuneCountInString
	texts := []string{}
	if m.Content != nil {
		if rc(*m.Content) > limitContent {
			t.Errorf("content has %d characters", rc(*m.Content))
		}
		texts = append(texts, *m.Content)
	}
	if len(m.Embeds) > limitEmbeds {
		t.Errorf("%d embeds", len(m.Embeds))
	}
	total := 0
	for _, e := range m.Embeds {
		total += rc(e.Title) + rc(e.Description)
		texts = append(texts, e.Title, e.Description)
		if rc(e.Title) > limitTitle || rc(e.Description) > limitDescription || len(e.Fields) > limitFields {
			t.Errorf("embed over a limit: title %d, description %d, fields %d", rc(e.Title), rc(e.Description), len(e.Fields))
		}
		for _, f := range e.Fields {
			total += rc(f.Name) + rc(f.Value)
			texts = append(texts, f.Value)
			if rc(f.Name) > limitFieldName || rc(f.Value) > limitFieldValue || f.Value == "" {
				t.Errorf("field over a limit or empty: name %d, value %d", rc(f.Name), rc(f.Value))
			}
		}
		if e.Footer != nil {
			total += rc(e.Footer.Text)
		}
		if e.Author != nil {
			total += rc(e.Author.Name)
		}
	}
	if total > limitTotal {
		t.Errorf("embeds total %d characters, over %d", total, limitTotal)
	}
	for _, s := range texts {
		if rawMention.MatchString(s) {
			t.Errorf("unescaped mention in %q", s)
		}
	}
}

// memStore is an in-memory command.Store, enough to run the real command core.
type memStore struct {
	mu       sync.Mutex
	subs     []channel.Subscription
	channels map[channel.Ref]channel.Channel
	papers   []paper.Paper
	enqueued int
	failing  error
}

func (s *memStore) AddSubscription(_ context.Context, sub channel.Subscription) (channel.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub.ID = int64(len(s.subs) + 1)
	s.subs = append(s.subs, sub)
	return sub, nil
}

func (s *memStore) RemoveSubscription(_ context.Context, ch channel.Ref, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sub := range s.subs {
		if sub.ID == id && sub.Channel == ch {
			s.subs = append(s.subs[:i], s.subs[i+1:]...)
			return nil
		}
	}
	return channel.ErrNotFound
}

func (s *memStore) Subscriptions(_ context.Context, ch channel.Ref) ([]channel.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return nil, s.failing
	}
	var out []channel.Subscription
	for _, sub := range s.subs {
		if sub.Channel == ch {
			out = append(out, sub)
		}
	}
	return out, nil
}

func (s *memStore) Channel(_ context.Context, ch channel.Ref) (channel.Channel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[ch]; ok {
		return c, nil
	}
	return channel.Channel{Ref: ch, Mode: channel.ModeInstant}, nil
}

func (s *memStore) SetChannelMode(_ context.Context, c channel.Channel, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels == nil {
		s.channels = map[channel.Ref]channel.Channel{}
	}
	s.channels[c.Ref] = c
	return nil
}

func (s *memStore) SourceStates(context.Context) ([]paper.SourceState, error) {
	return []paper.SourceState{{Source: "arxiv-cs", LastPoll: testNow.Add(-time.Hour), LastSuccess: testNow.Add(-time.Hour), Papers: 12}}, nil
}

func (s *memStore) BlockedChannels(context.Context) ([]channel.Channel, error) { return nil, nil }

func (s *memStore) BlockChannel(context.Context, channel.Ref, string, time.Time) error {
	return nil
}

func (s *memStore) Enqueue(_ context.Context, _ channel.Ref, _ string, matched map[string][]string, _ time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueued += len(matched)
	return len(matched), nil
}

func (s *memStore) ScanCandidates(ctx context.Context, _ *filters.Prefilter, since time.Time, _ int, yield func(paper.Paper) bool) error {
	ps, err := s.Recent(ctx, since, 0)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if !yield(p) {
			return nil
		}
	}
	return nil
}

func (s *memStore) Recent(_ context.Context, since time.Time, _ int) ([]paper.Paper, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return nil, s.failing
	}
	var out []paper.Paper
	for _, p := range s.papers {
		if !p.Published.Before(since) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (s *memStore) CountFailed(context.Context, channel.Ref) (int, error) { return 0, nil }

func (s *memStore) ListFailed(context.Context, channel.Ref, int) ([]channel.OutboxItem, error) {
	return nil, nil
}

func (s *memStore) RequeueFailed(context.Context, channel.Ref) (int, error) { return 0, nil }

var _ command.Store = (*memStore)(nil)

// samplePaper is a complete paper with every card element.
func samplePaper() paper.Paper {
	return paper.Paper{
		Key: "arxiv:2605.13301", ArxivID: "2605.13301", Version: 1,
		Title:      `EEG foundation models with $\alpha$-attention`,
		Abstract:   "We pretrain a transformer on 20,000 hours of EEG. It beats task-specific models on 9 of 12 benchmarks.",
		Authors:    []string{"Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"},
		Categories: []string{"cs.LG", "q-bio.NC"},
		URL:        "https://arxiv.org/abs/2605.13301", PDFURL: "https://arxiv.org/pdf/2605.13301",
		Published: time.Date(2026, 5, 13, 0, 0, 0, 0, time.UTC),
		Sources:   []string{"arxiv-cs", "hf-daily"},
		HasHF:     true, Upvotes: 42, GitHubRepo: "https://github.com/example/eegfm",
		Thumbnail: "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2605.13301.png",
		HFURL:     "https://huggingface.co/papers/2605.13301",
	}
}

// hostilePaper carries mentions, markdown and far too much text.
func hostilePaper(i int) paper.Paper {
	p := samplePaper()
	p.Key = fmt.Sprintf("link:%d", i)
	p.Title = "@everyone <@&123> **Attention** " + strings.Repeat("very long title ", 40)
	p.Abstract = "<@123> @here " + strings.Repeat("ä", 20000)
	p.Authors = []string{strings.Repeat("@everyone ", 300), "<@456>"}
	p.Categories = []string{strings.Repeat("x", 2000)}
	p.Sources = []string{strings.Repeat("s", 3000)}
	p.URL = fmt.Sprintf("https://example.org/%d", i)
	p.Thumbnail = "javascript:alert(1)"
	p.GitHubRepo = "https://github.com/" + strings.Repeat("r", 600)
	return p
}
