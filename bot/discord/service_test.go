package discord

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/paperboy-bot/paperboy/bot"
)

// readyState is one readiness report.
type readyState struct {
	ready  bool
	reason string
}

// readyRecorder collects the readiness reports of a platform.
type readyRecorder struct{ states chan readyState }

func newReadyRecorder() *readyRecorder { return &readyRecorder{states: make(chan readyState, 1000)} }

func (r *readyRecorder) report(ready bool, reason string) { r.states <- readyState{ready, reason} }

// waitFor returns the first report satisfying ok; the test fails if none comes within a generous bound.
func (r *readyRecorder) waitFor(t *testing.T, what string, ok func(readyState) bool) readyState {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case s := <-r.states:
			if ok(s) {
				return s
			}
		case <-deadline:
			t.Fatalf("no readiness report %s", what)
		}
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitUntil polls cond until it holds; the test fails if it never does within a generous bound.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestRunRetriesUntilDiscordAnswers: registration failing with a 500, a refused token (401) or no answer at all
// does not end Run (which would stop the whole bot): it reports the platform not ready with the reason, keeps
// trying, and becomes ready once Discord answers.
func TestRunRetriesUntilDiscordAnswers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		fault  int
		reason string
	}{
		{"server error", http.StatusInternalServerError, "register /papers"},
		{"unreachable", faultDrop, "register /papers"},
		{"token refused", http.StatusUnauthorized, "fix DISCORD_BOT_TOKEN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord(t)
			f.setFault(tt.fault)
			rec := newReadyRecorder()
			var logs syncBuffer
			d := newTestDiscord(t, f, func(o *Options) {
				o.Ready = rec.report
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			d.retryBase, d.retryMax, d.authRetry = time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()

			rec.waitFor(t, "naming the fault", func(s readyState) bool { return !s.ready && strings.Contains(s.reason, tt.reason) })
			waitUntil(t, "three registration attempts", func() bool {
				select {
				case err := <-done:
					t.Fatalf("Run returned while Discord was failing: %v", err)
				default:
				}
				return len(f.requestsTo("/api/v10/applications/")) >= 3
			})
			if tt.fault == http.StatusUnauthorized {
				out := logs.String()
				if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "DISCORD_BOT_TOKEN") {
					t.Errorf("a refused token is not logged at ERROR naming DISCORD_BOT_TOKEN:\n%s", out)
				}
			}
			if strings.Contains(logs.String(), "test-token") {
				t.Errorf("the token was logged:\n%s", logs.String())
			}

			f.setFault(0)
			rec.waitFor(t, "ready after Discord healed", func(s readyState) bool { return s.ready })
			if ok, reason := d.ready.Ready(); !ok {
				t.Errorf("not ready after registering: %s", reason)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v, want nil after ctx ended", err)
			}
		})
	}
}

// fakeGateway is a minimal Discord gateway: Hello, then READY once identified, then it reads until the client
// goes away.
func fakeGateway(t *testing.T) *httptest.Server {
	t.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("gateway upgrade: %v", err)
			return
		}
		defer conn.Close()
		if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"op":10,"d":{"heartbeat_interval":45000}}`)); err != nil {
			return
		}
		if _, identify, err := conn.ReadMessage(); err != nil || !strings.Contains(string(identify), `"op":2`) {
			t.Errorf("gateway: want an identify, got %s (%v)", identify, err)
			return
		}
		ready := `{"op":0,"s":1,"t":"READY","d":{"v":10,"session_id":"s1","user":{"id":"1","username":"paperboy"},"guilds":[]}}`
		if err := conn.WriteMessage(websocket.TextMessage, []byte(ready)); err != nil {
			return
		}
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRunGatewayRetriesUntilReachable: a gateway that cannot be reached keeps the platform not ready and Run
// retrying; once the gateway answers, the session opens and the platform is ready.
func TestRunGatewayRetriesUntilReachable(t *testing.T) {
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "ws://" + ln.Addr().String() + "/"
	ln.Close()
	f := newFakeDiscord(t)
	f.gatewayURL = closed
	rec := newReadyRecorder()
	d := newTestDiscord(t, f, func(o *Options) { o.Mode, o.Ready = ModeGateway, rec.report })
	d.retryBase, d.retryMax = time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	rec.waitFor(t, "naming the gateway", func(s readyState) bool { return !s.ready && strings.Contains(s.reason, "gateway") })
	waitUntil(t, "two gateway attempts", func() bool { return len(f.requestsTo("/api/v10/gateway")) >= 2 })

	gw := fakeGateway(t)
	f.mu.Lock()
	f.gatewayURL = "ws" + strings.TrimPrefix(gw.URL, "http")
	f.mu.Unlock()
	rec.waitFor(t, "ready once the gateway answers", func(s readyState) bool { return s.ready })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after ctx ended", err)
	}
}

// longReset is a successful post after which Discord says the channel's bucket is empty for 300 seconds.
var longReset = cannedResponse{status: 200, body: `{"id": "m1"}`, header: map[string]string{
	"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "300", "X-RateLimit-Bucket": "b1",
}}

// TestSendHandsBackALongBucketReset: a bucket reset chosen by Discord (300 s, on a success) is not slept inside
// discordgo: the next Send returns at once with a *bot.RateLimitError, which the engine waits out without holding
// a worker, and makes no request.
func TestSendHandsBackALongBucketReset(t *testing.T) {
	f := newFakeDiscord(t)
	f.enqueue("C1", longReset)
	d := newTestDiscord(t, f, nil)
	msg := bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: samplePaper()}}, Nonce: "pb-1"}
	if _, err := d.Send(context.Background(), msg); err != nil {
		t.Fatalf("first send: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // the engine's send timeout
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := d.Send(ctx, msg)
		errc <- err
	}()
	var err error
	select {
	case err = <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("Send is asleep on the bucket's 300 s reset")
	}
	var rl *bot.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter < 290*time.Second || rl.Global {
		t.Fatalf("err = %v, want a channel *bot.RateLimitError of about 300s", err)
	}
	if n := len(f.requestsTo("/api/v10/channels/C1/messages")); n != 1 {
		t.Errorf("%d posts, want 1: the second must wait for the reset", n)
	}
}

// TestShutdownEndsABucketWait: a short bucket wait that Send would sit out inline ends when Run stops, handing
// the wait back as a *bot.RateLimitError (the row stays pending), so a shutdown is not held up by it.
func TestShutdownEndsABucketWait(t *testing.T) {
	f := newFakeDiscord(t)
	short := longReset
	short.header = map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "4"}
	f.enqueue("C1", short)
	rec := newReadyRecorder()
	d := newTestDiscord(t, f, func(o *Options) { o.Ready = rec.report })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	rec.waitFor(t, "ready", func(s readyState) bool { return s.ready })
	msg := bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: samplePaper()}}, Nonce: "pb-1"}
	if _, err := d.Send(context.Background(), msg); err != nil {
		t.Fatalf("first send: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		// The engine's send context is not cancelled by shutdown; only Run's is.
		_, err := d.Send(context.Background(), msg)
		errc <- err
	}()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	var rl *bot.RateLimitError
	if err := <-errc; !errors.As(err, &rl) {
		t.Fatalf("Send during shutdown = %v, want a *bot.RateLimitError", err)
	}
	if n := len(f.requestsTo("/api/v10/channels/C1/messages")); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
}

// TestRevokedTokenMakesDiscordNotReady: posts refused with 401 (a revoked token) report the platform not ready
// naming DISCORD_BOT_TOKEN, logged once at ERROR, so /healthz does not stay healthy while every delivery fails;
// an accepted post makes it ready again.
func TestRevokedTokenMakesDiscordNotReady(t *testing.T) {
	f := newFakeDiscord(t)
	rec := newReadyRecorder()
	var logs syncBuffer
	d := newTestDiscord(t, f, func(o *Options) {
		o.Ready = rec.report
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	d.ready.OK(condConnection) // as after Run connected
	unauthorized := cannedResponse{status: 401, body: `{"message": "401: Unauthorized", "code": 0}`}
	f.enqueue("C1", unauthorized, unauthorized)
	msg := bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: samplePaper()}}, Nonce: "pb-1"}
	for range 2 {
		if _, err := d.Send(context.Background(), msg); err == nil || errors.Is(err, bot.ErrPermanent) {
			t.Fatalf("Send with a refused token = %v, want a retryable error", err)
		}
	}
	rec.waitFor(t, "naming the token", func(s readyState) bool { return !s.ready && strings.Contains(s.reason, "DISCORD_BOT_TOKEN") })
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines for two refused posts, want 1:\n%s", n, logs.String())
	}
	if _, err := d.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "ready after an accepted post", func(s readyState) bool { return s.ready })
}
