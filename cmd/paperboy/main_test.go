package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// feedServer serves the captured fixtures with ETag support, plus a broken feed, like the real endpoints would.
func feedServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	serve := func(file, ctype string) http.HandlerFunc {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		etag := fmt.Sprintf(`"%x"`, len(data))
		return func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
			w.Header().Set("Content-Type", ctype)
			w.Write(data)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/rss/cs.LG+cs.AI+cs.CL+stat.ML", serve("arxiv_rss2_multi_category_captured.xml", "application/rss+xml"))
	mux.Handle("/api/daily_papers", serve("hf_api_daily_papers_trimmed_2items.json", "application/json"))
	mux.Handle("/api/query", serve("arxiv_api_query_response_docs_example.xml", "application/atom+xml"))
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>half a feed</title><item><title>cut`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &requests
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "paperboy.toml")
	// The feed servers of these tests listen on 127.0.0.1, which the fetcher refuses by default.
	cfg := fmt.Sprintf("[store]\npath = %q\n[log]\nlevel = \"info\"\n[fetch]\nallow_private_networks = true\n%s",
		filepath.Join(dir, "paperboy.db"), body)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = realMain(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestPollAndSearchEndToEnd runs the real binary's commands against local servers speaking the real formats: a
// broken source fails alone, the others ingest, a second poll is answered 304, and search finds the papers.
func TestPollAndSearchEndToEnd(t *testing.T) {
	srv, _ := feedServer(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
categories = ["cs.LG", "cs.AI", "cs.CL", "stat.ML"]
url = "%[1]s/rss/cs.LG+cs.AI+cs.CL+stat.ML"

[[sources]]
name = "hf"
kind = "hf-daily"
url = "%[1]s/api/daily_papers"
days = 1

[[sources]]
name = "api"
kind = "arxiv-api"
query = "all:electron"
url = "%[1]s/api/query"

[[sources]]
name = "broken"
kind = "rss"
url = "%[1]s/broken"
`, srv.URL))
	ctx := context.Background()

	code, out, errOut := run(t, ctx, "poll", "--once", "--config", cfg)
	if code != 1 {
		t.Fatalf("poll with a broken source: exit %d, want 1\n%s%s", code, out, errOut)
	}
	rows := pollRows(t, out)
	for name, want := range map[string][2]string{"arxiv-ml": {"4", "3"}, "hf": {"2", "2"}, "api": {"1", "1"}} {
		r := rows[name]
		if r == nil || r[1] != want[0] || r[2] != want[1] || r[5] != "-" {
			t.Errorf("source %s: row %q, want fetched %s new %s and no error", name, r, want[0], want[1])
		}
	}
	if r := rows["broken"]; r == nil || r[5] == "-" {
		t.Errorf("broken source: row %q, want an error", r)
	}

	// Second round: the healthy sources answer 304, nothing is new.
	_, out, _ = run(t, ctx, "poll", "--once", "--config", cfg)
	rows = pollRows(t, out)
	for _, name := range []string{"arxiv-ml", "hf", "api"} {
		if r := rows[name]; r == nil || r[4] != "true" || r[2] != "0" {
			t.Errorf("second poll of %s: row %q, want not modified", name, r)
		}
	}

	code, out, errOut = run(t, ctx, "search", "--config", cfg, "--json", "--limit", "10", "--", "neuroimaging", "networks")
	if code != 0 {
		t.Fatalf("search: exit %d: %s", code, errOut)
	}
	var hits []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("search --json line %q: %v", line, err)
		}
		hits = append(hits, m)
	}
	if len(hits) != 1 || hits[0]["key"] != "arxiv:2205.06398" {
		t.Fatalf("search hits = %v, want only arxiv:2205.06398", hits)
	}
	for _, field := range []string{"key", "title", "url", "authors", "published", "sources", "categories"} {
		if _, ok := hits[0][field]; !ok {
			t.Errorf("search --json object lacks %q: %v", field, hits[0])
		}
	}

	code, out, _ = run(t, ctx, "search", "--config", cfg, "no-such-word-anywhere")
	if code != 0 || !strings.Contains(out, "no matching papers") {
		t.Errorf("empty search: exit %d, %q", code, out)
	}
}

// pollRows parses poll --once's table into source -> columns.
func pollRows(t *testing.T, out string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[0] == "SOURCE" {
			continue
		}
		rows[f[0]] = append(f[:5:5], strings.Join(f[5:], " "))
	}
	return rows
}

func TestCheck(t *testing.T) {
	good := writeConfig(t, "[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n")
	bad := writeConfig(t, "[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\nintervall = \"1h\"\n")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"valid", []string{"check", "--config", good}, 0, "ok (1 sources, 0 channels)"},
		// writeConfig's header takes lines 1 to 6; the bad key is on the fourth line of the body.
		{"unknown key with line", []string{"check", "--config", bad}, 1, `paperboy.toml:10: unknown key "sources.intervall"`},
		{"missing file", []string{"check", "--config", filepath.Join(t.TempDir(), "none.toml")}, 1, "none.toml (from --config)\nto start one, copy the example from paperboy's repository and edit it:\n  cp config.example.toml paperboy.toml"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"version", []string{"version"}, 0, "paperboy"},
		{"example config", []string{"check", "--config", filepath.Join("..", "..", "config.example.toml")}, 0, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), tt.args...)
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.wantOut) {
				t.Errorf("exit %d, output %q; want exit %d and %q", code, out+errOut, tt.wantCode, tt.wantOut)
			}
		})
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("PAPERBOY_CONFIG", writeConfig(t, "[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n"))
	if code, out, errOut := run(t, context.Background(), "check"); code != 0 {
		t.Fatalf("check with PAPERBOY_CONFIG: exit %d %s%s", code, out, errOut)
	}
}

// TestRunOfflineKeepsRunning points run at a port nobody listens on: it must log that it cannot reach the feed,
// keep running (retrying with backoff) and stop cleanly when its context ends.
func TestRunOfflineKeepsRunning(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	cfg := writeConfig(t, fmt.Sprintf("[[sources]]\nname = \"offline\"\nkind = \"rss\"\nurl = %q\n", dead+"/feed"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int)
	go func() { done <- realMain(ctx, []string{"run", "--config", cfg}, &out, &errOut) }()
	// Wait for the first failed poll to be logged, then stop the bot as SIGTERM would.
	deadline := time.After(30 * time.Second)
	for !strings.Contains(errOut.String(), "poll failed") {
		select {
		case code := <-done:
			t.Fatalf("run exited (%d) on its own while the feed was unreachable:\n%s", code, errOut.String())
		case <-deadline:
			t.Fatalf("no failed poll logged within the deadline:\n%s", errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exit %d after cancel, want 0: %s", code, errOut.String())
	}
	log := errOut.String()
	if !strings.Contains(log, "source=offline") || !strings.Contains(log, "retry_in") || !strings.Contains(log, "paperboy stopped") {
		t.Errorf("run did not log the unreachable feed and the clean stop clearly:\n%s", log)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's writes racing the test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRunServesHealthAndMetrics runs the whole bot against a local feed with [http] listen set, and reads
// /healthz and /metrics the way an operator's probes would.
func TestRunServesHealthAndMetrics(t *testing.T) {
	srv, _ := feedServer(t)
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the bot listens on it; a race for the port with another process is unlikely on loopback
	out := filepath.Join(t.TempDir(), "cards.jsonl")
	cfg := writeConfig(t, fmt.Sprintf(`
[http]
listen = %q
[console]
format = "json"
output = %q
[[channels]]
platform = "console"
id = "lab"
subscriptions = ["neuroimaging"]
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
url = "%s/rss/cs.LG+cs.AI+cs.CL+stat.ML"
`, addr, out, srv.URL))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int)
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
	// Wait until the paper was delivered to the console channel, then look at the endpoints.
	deadline := time.After(30 * time.Second)
	for {
		if b, _ := os.ReadFile(out); strings.Contains(string(b), `"key":"arxiv:2205.06398"`) {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run exited %d before delivering:\n%s", code, stderr.String())
		case <-deadline:
			t.Fatalf("nothing delivered within the deadline:\n%s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d %q, want 200 after a successful poll", code, body)
	}
	// The console line is written during the send; the delivery is counted once the store recorded it, a moment
	// later: wait for the counter rather than race it.
	code, body := get("/metrics")
	for end := time.Now().Add(30 * time.Second); !strings.Contains(body, `paperboy_deliveries_total{platform="console"} 1`) && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
		code, body = get("/metrics")
	}
	for _, want := range []string{
		`paperboy_polls_total{result="ok",source="arxiv-ml"} 1`,
		`paperboy_papers_ingested_total{source="arxiv-ml"} 3`,
		// The build that runs; a test binary records the Go version, which the label carries.
		`paperboy_build_info{goversion="` + runtime.Version() + `"`,
		`paperboy_deliveries_total{platform="console"} 1`,
		`paperboy_outbox_depth`,
		// Every error class exists at 0 from the start, so alerts on it work before the first failure.
		`paperboy_delivery_errors_total{kind="rejected",platform="console"} 0`,
		`paperboy_delivery_errors_total{kind="retry",platform="console"} 0`,
	} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q (status %d)", want, code)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(func() string { b, _ := os.ReadFile(out); return string(b) }()), "\n")
	if len(lines) != 1 {
		t.Errorf("console got %d announcements, want exactly the one matching paper:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

func TestDiscordInvite(t *testing.T) {
	cfg := writeConfig(t, "[discord]\napplication_id = \"123456789012345678\"\n[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n")
	code, out, errOut := run(t, context.Background(), "discord", "invite", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"client_id=123456789012345678", "permissions=52224", "scope=bot+applications.commands"} {
		if !strings.Contains(out, want) {
			t.Errorf("invite URL %q lacks %q", out, want)
		}
	}
	t.Setenv("DISCORD_BOT_TOKEN", "")
	noApp := writeConfig(t, "[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n")
	if code, _, errOut := run(t, context.Background(), "discord", "invite", "--config", noApp); code != 1 ||
		!strings.Contains(errOut, "application_id") || !strings.Contains(errOut, "DISCORD_BOT_TOKEN") {
		t.Errorf("without application_id or token: exit %d, %q", code, errOut)
	}
}

// TestDiscordInviteFromToken checks that without [discord] application_id, discord invite asks Discord which
// application the bot token belongs to, as run does, through the real discordgo client and a local fake of
// Discord's REST API.
func TestDiscordInviteFromToken(t *testing.T) {
	const token = "fake-bot-token"
	var mu sync.Mutex
	var auths []string
	answer := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bot "+token {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message": "401: Unauthorized", "code": 0}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id": "987654321098765432", "name": "paperboy", "bot_public": false}`)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v10/oauth2/applications/@me", answer)
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	cfg := writeConfig(t, fmt.Sprintf("[discord]\napi_url = %q\n[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n", api.URL+"/api/v10/"))

	tests := []struct {
		name      string
		env       map[string]string
		wantCode  int
		wantOut   string
		wantErr   string
		wantCalls int
	}{
		{"token in the environment", map[string]string{"DISCORD_BOT_TOKEN": token}, 0, "client_id=987654321098765432", "", 1},
		{"token in a file, as systemd credentials and Docker secrets give it", map[string]string{"DISCORD_BOT_TOKEN_FILE": "FILE"}, 0, "client_id=987654321098765432", "", 1},
		{"a token Discord refuses", map[string]string{"DISCORD_BOT_TOKEN": "wrong"}, 1, "", "look up the application of the bot token", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			auths = nil
			mu.Unlock()
			t.Setenv("DISCORD_BOT_TOKEN", "")
			t.Setenv("DISCORD_BOT_TOKEN_FILE", "")
			for k, v := range tt.env {
				if v == "FILE" {
					v = filepath.Join(t.TempDir(), "discord-token")
					if err := os.WriteFile(v, []byte(token+"\n"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				t.Setenv(k, v)
			}
			code, out, errOut := run(t, context.Background(), "discord", "invite", "--config", cfg)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, %q, %q", code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
			if strings.Contains(errOut, token) || strings.Contains(errOut, "wrong") {
				t.Errorf("stderr shows the token: %q", errOut)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(auths) != tt.wantCalls {
				t.Errorf("%d look-ups, want %d", len(auths), tt.wantCalls)
			}
		})
	}
}

// TestRunPostsToSlack runs the whole bot with a Slack token in the environment and [slack] api_url pointing at a
// local fake Web API: the matching paper is posted to the configured Slack channel through the real slack-go client.
func TestRunPostsToSlack(t *testing.T) {
	feeds, _ := feedServer(t)
	var mu sync.Mutex
	var posts []url.Values
	slackAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		authed := r.Header.Get("Authorization") == "Bearer xoxb-test-token" || r.PostForm.Get("token") == "xoxb-test-token"
		if r.URL.Path != "/api/chat.postMessage" || !authed {
			t.Errorf("unexpected request %s %s (authorized: %v)", r.Method, r.URL.Path, authed)
			http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
			return
		}
		mu.Lock()
		posts = append(posts, r.PostForm)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.000100"}`, r.PostForm.Get("channel"))
	}))
	t.Cleanup(slackAPI.Close)
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
	t.Setenv("SLACK_SIGNING_SECRET", "test-signing-secret")
	cfg := writeConfig(t, fmt.Sprintf(`
[slack]
mode = "http"
listen = "127.0.0.1:0"
api_url = "%s/api/"
[[channels]]
platform = "slack"
id = "C0123ABCD"
subscriptions = ["neuroimaging"]
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
url = "%s/rss/cs.LG+cs.AI+cs.CL+stat.ML"
`, slackAPI.URL, feeds.URL))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() { done <- realMain(ctx, []string{"run", "--config", cfg}, &stdout, &stderr) }()
	deadline := time.After(30 * time.Second)
	for {
		mu.Lock()
		n := len(posts)
		mu.Unlock()
		if n > 0 {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run exited %d before posting:\n%s", code, stderr.String())
		case <-deadline:
			t.Fatalf("nothing posted to Slack within the deadline:\n%s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 || posts[0].Get("channel") != "C0123ABCD" || !strings.Contains(posts[0].Get("blocks"), "Outlier Detection for Multi-Network Data") {
		t.Errorf("posts = %v, want one card for the matching paper in C0123ABCD", posts)
	}
	if strings.Contains(stderr.String(), "xoxb-test-token") || strings.Contains(stderr.String(), "test-signing-secret") {
		t.Errorf("a secret was logged:\n%s", stderr.String())
	}
}
