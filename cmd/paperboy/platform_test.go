package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// outageDiscord is Discord's REST API at /api/v10/ that can be down (every request answered 500) and that, once
// up, answers each post with a bucket Discord says is empty for 300 seconds.
type outageDiscord struct {
	srv *httptest.Server

	mu       sync.Mutex
	down     bool
	attempts map[string]int // requests by route while down
	posts    []string       // channel ids posted to while up
}

func newOutageDiscord(t *testing.T) *outageDiscord {
	t.Helper()
	d := &outageDiscord{down: true, attempts: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /api/v10/applications/{app}/commands", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, r.Body)
	})
	mux.HandleFunc("POST /api/v10/channels/{id}/messages", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.posts = append(d.posts, r.PathValue("id"))
		n := len(d.posts)
		d.mu.Unlock()
		w.Header().Set("X-RateLimit-Limit", "5")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset-After", "300")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id": "m%d", "channel_id": %q}`, n, r.PathValue("id"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("fake discord: unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	})
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		down := d.down
		if down {
			d.attempts[strings.SplitN(strings.TrimPrefix(r.URL.Path, "/api/v10/"), "/", 2)[0]]++
		}
		d.mu.Unlock()
		if down {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"message": "500: Internal Server Error", "code": 0}`)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *outageDiscord) attemptsTo(route string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.attempts[route]
}

func (d *outageDiscord) postCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.posts)
}

func (d *outageDiscord) setDown(down bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = down
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDiscordOutageDoesNotStopTheBot runs the whole bot with Discord down at start (registration and posts
// answered 500): the bot keeps running, the console channel is delivered, /healthz and paperboy_platform_ready
// name Discord as not ready. Once Discord is back, /papers is registered, the Discord channel gets its first
// paper, and the platform is ready. Discord then says the channel's bucket is empty for 300 s: the bot's
// shutdown does not wait for that reset.
func TestDiscordOutageDoesNotStopTheBot(t *testing.T) {
	srv, _ := feedServer(t)
	discord := newOutageDiscord(t)
	t.Setenv("DISCORD_BOT_TOKEN", "test-token-SECRET")
	t.Setenv("SLACK_BOT_TOKEN", "")
	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "cards.jsonl")
	cfg := writeConfig(t, fmt.Sprintf(`
[http]
listen = %q
[console]
format = "json"
output = %q
[discord]
mode = "http"
listen = "127.0.0.1:0"
public_key = %q
application_id = "424242424242424242"
api_url = "%s/api/v10/"
[[channels]]
platform = "console"
id = "lab"
subscriptions = ["neuroimaging"]
[[channels]]
platform = "discord"
id = "111122223333444455"
subscriptions = ["detection"]
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
url = "%s/rss/cs.LG+cs.AI+cs.CL+stat.ML"
`, addr, out, strings.Repeat("ab", 32), discord.srv.URL, srv.URL))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- realMain(ctx, []string{"run", "--config", cfg}, &stdout, &stderr) }()
	get := func(path string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			return 0, err.Error()
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			select {
			case code := <-done:
				t.Fatalf("run exited %d while waiting for %s:\n%s", code, what, stderr.String())
			default:
			}
			if time.Now().After(end) {
				t.Fatalf("timed out waiting for %s:\n%s", what, stderr.String())
			}
		}
	}

	waitFor("the console delivery and Discord's failed attempts", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), `"key":"arxiv:2205.06398"`) &&
			discord.attemptsTo("applications") >= 2 && discord.attemptsTo("channels") >= 1
	})
	if code, body := get("/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "platform discord not ready") {
		t.Errorf("/healthz = %d %q while Discord is down, want 503 naming discord", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, `paperboy_platform_ready{platform="discord"} 0`) ||
		!strings.Contains(body, `paperboy_platform_ready{platform="console"} 1`) {
		t.Errorf("/metrics does not say discord 0 and console 1:\n%s", grepLines(body, "paperboy_platform_ready"))
	}

	discord.setDown(false)
	waitFor("Discord ready and its channel posted to", func() bool {
		code, _ := get("/healthz")
		_, metrics := get("/metrics")
		return code == http.StatusOK && discord.postCount() >= 1 &&
			strings.Contains(metrics, `paperboy_platform_ready{platform="discord"} 1`)
	})
	// The channel's second paper now waits for the 300 s reset; shutting down must not.
	waitFor("the second Discord paper to be rate limited", func() bool {
		_, metrics := get("/metrics")
		return strings.Contains(metrics, `paperboy_delivery_errors_total{kind="rate_limited",platform="discord"} 1`)
	})
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10 s of the shutdown while a Discord bucket resets in 300 s")
	}
	if n := discord.postCount(); n != 1 {
		t.Errorf("%d Discord posts, want 1 (the second waits for the bucket)", n)
	}
	if strings.Contains(stderr.String(), "SECRET") {
		t.Error("the Discord token was logged")
	}
	var lines int
	b, _ := os.ReadFile(out)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(l), &v) == nil {
			lines++
		}
	}
	if lines != 1 {
		t.Errorf("console got %d announcements, want 1", lines)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
