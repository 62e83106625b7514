package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/ops"
)

// TestSourceHealthEndToEnd runs the app's feed health on a real feed server, store and console platform: a feed
// failing for longer than notify_after gets one notice in [health] notify_channel, the same state in /papers
// sources, /healthz (which stays 200: a failing source does not make the bot unready, only health_max_silence
// without any successful poll does) and the metrics, and one recovery notice once it serves again.
func TestSourceHealthEndToEnd(t *testing.T) {
	feed, err := os.ReadFile(filepath.Join("testdata", "arxiv_rss2_multi_category_captured.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	broken.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if broken.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = w.Write(feed)
	}))
	defer srv.Close()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "paperboy.toml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, `[store]
path = %q
[fetch]
allow_private_networks = true
[http]
health_max_silence = "48h"
[health]
notify_channel = "console:ops"
notify_after = "6h"
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
categories = ["cs.LG"]
url = "%s/rss/cs.LG"
`, filepath.Join(dir, "paperboy.db"), srv.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC) // Tuesday, 12:00 EST
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	var out syncLog
	ctx := context.Background()
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler), Options{Platforms: true, Stdout: &out, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	handler := ops.NewHandler(a.Metrics, a.Health)
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
		b, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(b)
	}
	sources := func() string {
		r, err := a.Commander.Handle(ctx, bot.Request{Channel: channel.Ref{Platform: "console", ID: "ops"}, Text: "sources"})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(r.Text, "\n")
	}
	step := func() {
		t.Helper()
		a.PollAll(ctx)
		if _, err := a.Sources.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	notices := func() int { return strings.Count(out.String(), "Source arxiv-ml") }

	step()
	if notices() != 0 {
		t.Fatalf("a notice after the first failure:\n%s", out.String())
	}
	advance(6 * time.Hour)
	step()
	if got := out.String(); notices() != 1 || !strings.Contains(got, "[console:ops]") ||
		!strings.Contains(got, "Source arxiv-ml is failing since Tue 24 Nov 12:00 EST") {
		t.Fatalf("after 6h failing, console shows:\n%s", got)
	}
	if s := sources(); !strings.Contains(s, "arxiv-ml: failing for 6h (since Tue 24 Nov 17:00 UTC)") {
		t.Errorf("/papers sources:\n%s", s)
	}
	if code, body := get("/healthz"); code != http.StatusOK || !strings.Contains(body, "source arxiv-ml: failing since") {
		t.Errorf("/healthz = %d %q, want 200 naming the failing source", code, body)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{`paperboy_source_state{source="arxiv-ml",state="failing"} 1`, `paperboy_source_state{source="arxiv-ml",state="ok"} 0`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	advance(time.Hour)
	step()
	if notices() != 1 {
		t.Errorf("a second notice for the same episode:\n%s", out.String())
	}
	broken.Store(false)
	advance(time.Hour)
	step()
	if got := out.String(); notices() != 2 || !strings.Contains(got, "Source arxiv-ml has recovered (it was failing") {
		t.Fatalf("after recovery, console shows:\n%s", got)
	}
	advance(time.Hour)
	step()
	if notices() != 2 {
		t.Errorf("a second recovery notice:\n%s", out.String())
	}
	_, metrics = get("/metrics")
	// The poller stamps the poll state with the real clock, so only the presence of the times is checked here
	// (bot/ops tests their values).
	for _, want := range []string{`paperboy_source_state{source="arxiv-ml",state="ok"} 1` + "\n",
		`paperboy_source_last_new_paper_timestamp_seconds{source="arxiv-ml"} `,
		`paperboy_source_last_success_timestamp_seconds{source="arxiv-ml"} `} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
