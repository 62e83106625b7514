package ops

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatalf("read %s body: %v", path, err)
	}
	return rec.Code, string(body)
}

func TestHealthz(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	type step struct {
		poll     time.Duration // if > 0, a poll succeeds at start+poll before the check
		at       time.Duration // the clock reads start+at when /healthz is asked
		wantCode int
		wantBody string
	}
	tests := []struct {
		name       string
		maxSilence time.Duration
		steps      []step
	}{
		{
			name:       "grace period, then silence",
			maxSilence: 3 * time.Hour,
			steps: []step{
				{at: 0, wantCode: 200, wantBody: "ok\n"},
				{at: 3*time.Hour - time.Second, wantCode: 200, wantBody: "ok\n"},
				{at: 3 * time.Hour, wantCode: 503, wantBody: "no source has polled successfully for 3h0m0s\n"},
			},
		},
		{
			name:       "success recovers, silence fails again",
			maxSilence: 3 * time.Hour,
			steps: []step{
				{at: 5 * time.Hour, wantCode: 503, wantBody: "no source has polled successfully for 5h0m0s\n"},
				{poll: 5 * time.Hour, at: 5 * time.Hour, wantCode: 200, wantBody: "ok\n"},
				{at: 7 * time.Hour, wantCode: 200, wantBody: "ok\n"},
				{at: 8*time.Hour + 30*time.Minute + 400*time.Millisecond, wantCode: 503, wantBody: "no source has polled successfully for 3h30m0s\n"},
			},
		},
		{
			name:       "an older success does not move the clock back",
			maxSilence: time.Hour,
			steps: []step{
				{poll: 2 * time.Hour, at: 2 * time.Hour, wantCode: 200, wantBody: "ok\n"},
				{poll: time.Hour, at: 2*time.Hour + 30*time.Minute, wantCode: 200, wantBody: "ok\n"},
				{at: 3 * time.Hour, wantCode: 503, wantBody: "no source has polled successfully for 1h0m0s\n"},
			},
		},
		{
			name:       "disabled",
			maxSilence: 0,
			steps:      []step{{at: 1000 * time.Hour, wantCode: 200, wantBody: "ok\n"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := testkit.NewClock(start)
			h := NewHealth(tt.maxSilence, clock.Now)
			srv := NewHandler(NewMetrics(nil), h)
			for i, s := range tt.steps {
				if s.poll > 0 {
					h.PollSucceeded(start.Add(s.poll))
				}
				clock.Set(start.Add(s.at))
				code, body := get(t, srv, "/healthz")
				if code != s.wantCode || body != s.wantBody {
					t.Errorf("step %d at +%s: got %d %q, want %d %q", i, s.at, code, body, s.wantCode, s.wantBody)
				}
			}
		})
	}
}

func TestHealthzNilHealth(t *testing.T) {
	code, body := get(t, NewHandler(nil, nil), "/healthz")
	if code != http.StatusOK || body != "ok\n" {
		t.Errorf("got %d %q, want 200 ok", code, body)
	}
	if code, _ := get(t, NewHandler(nil, nil), "/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics without Metrics: got %d, want 404", code)
	}
}

func TestMetricsExposition(t *testing.T) {
	depth := 0.0
	m := NewMetrics(func() float64 { return depth })
	depth = 7
	m.Poll("arxiv-cs", PollOK)
	m.Poll("arxiv-cs", PollNotModified)
	m.BuildInfo("v1.2.3", "0123456789abcdef", "go1.26.8")
	m.BuildInfo("v1.2.4", "fedcba9876543210", "go1.26.8")
	m.PapersIngested("arxiv-cs", 3)
	m.PapersIngested("arxiv-cs", 0)
	m.Matches(2)
	m.Delivered("slack", 90*time.Second, -time.Second)
	m.DeliveryError("discord", delivery.ErrorRateLimited)
	m.InitSource("rss")
	m.InitPlatform("console")
	m.FeedRepairs("rss", 2, 0, 1)
	states := []string{"ok", "quiet", "late", "failing"}
	m.SourceHealth("arxiv-cs", "ok", states, time.Unix(1764000000, 0), time.Time{})
	m.SourceHealth("arxiv-cs", "late", states, time.Unix(1764000600, 500e6), time.Unix(1763990000, 0))

	code, body := get(t, NewHandler(m, NewHealth(time.Hour, nil)), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	tests := []struct{ name, line string }{
		{"polls ok", `paperboy_polls_total{result="ok",source="arxiv-cs"} 1`},
		{"polls not modified", `paperboy_polls_total{result="not_modified",source="arxiv-cs"} 1`},
		{"polls initialized", `paperboy_polls_total{result="error",source="rss"} 0`},
		{"build info, the last one set", `paperboy_build_info{goversion="go1.26.8",revision="fedcba9876543210",version="v1.2.4"} 1`},
		{"ingested", `paperboy_papers_ingested_total{source="arxiv-cs"} 3`},
		{"feed repairs", `paperboy_feed_repairs_total{kind="repaired_char",source="rss"} 2`},
		{"feed repairs initialized", `paperboy_feed_repairs_total{kind="truncated",source="rss"} 0`},
		{"feed skips", `paperboy_feed_repairs_total{kind="skipped_item",source="rss"} 1`},
		{"matches", `paperboy_matches_total 2`},
		{"deliveries", `paperboy_deliveries_total{platform="slack"} 1`},
		{"deliveries initialized", `paperboy_deliveries_total{platform="console"} 0`},
		{"delivery errors", `paperboy_delivery_errors_total{kind="rate_limited",platform="discord"} 1`},
		{"delivery errors initialized", `paperboy_delivery_errors_total{kind="permanent",platform="console"} 0`},
		{"outbox depth from callback at scrape time", `paperboy_outbox_depth 7`},
		{"latency count", `paperboy_delivery_latency_seconds_count 2`},
		{"latency sum, negative clamped", `paperboy_delivery_latency_seconds_sum 90`},
		{"latency smallest bucket", `paperboy_delivery_latency_seconds_bucket{le="1"} 1`},
		{"latency day bucket", `paperboy_delivery_latency_seconds_bucket{le="86400"} 2`},
		{"go runtime", `# TYPE go_goroutines gauge`},
		{"source state current", `paperboy_source_state{source="arxiv-cs",state="late"} 1`},
		{"source state former", `paperboy_source_state{source="arxiv-cs",state="ok"} 0`},
		{"source state others", `paperboy_source_state{source="arxiv-cs",state="quiet"} 0`},
		{"source last success", `paperboy_source_last_success_timestamp_seconds{source="arxiv-cs"} 1.7640006005e+09`},
		{"source last new paper", `paperboy_source_last_new_paper_timestamp_seconds{source="arxiv-cs"} 1.76399e+09`},
	}
	for _, kind := range delivery.ErrorKinds() {
		tests = append(tests, struct{ name, line string }{"delivery errors initialized: " + kind,
			fmt.Sprintf(`paperboy_delivery_errors_total{kind=%q,platform="console"} 0`, kind)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(body, tt.line+"\n") {
				t.Errorf("/metrics lacks %q", tt.line)
			}
		})
	}
	for _, gone := range []string{
		`version="v1.2.3"`,            // BuildInfo replaces its labels rather than adding a second series
		`paperboy_fetch_errors_total`, // was paperboy_polls_total{result="error"} under another name
	} {
		if strings.Contains(body, gone) {
			t.Errorf("/metrics has %q", gone)
		}
	}
}

func TestMetricsOwnRegistry(t *testing.T) {
	// Two instances in one process must not collide, which they would on a shared registry.
	a, b := NewMetrics(func() float64 { return 1 }), NewMetrics(nil)
	a.Matches(1)
	b.Matches(5)
	for _, tt := range []struct {
		name string
		m    *Metrics
		want string
	}{{"a", a, "paperboy_matches_total 1\n"}, {"b", b, "paperboy_matches_total 5\n"}} {
		t.Run(tt.name, func(t *testing.T) {
			_, body := get(t, NewHandler(tt.m, nil), "/metrics")
			if !strings.Contains(body, tt.want) {
				t.Errorf("/metrics lacks %q", tt.want)
			}
		})
	}
	t.Run("no gauge without callback", func(t *testing.T) {
		if _, body := get(t, NewHandler(b, nil), "/metrics"); strings.Contains(body, "paperboy_outbox_depth") {
			t.Error("paperboy_outbox_depth exported without a callback")
		}
	})
	t.Run("default registry untouched", func(t *testing.T) {
		mfs, err := prometheus.DefaultGatherer.Gather()
		if err != nil {
			t.Fatalf("gather default registry: %v", err)
		}
		for _, mf := range mfs {
			if strings.HasPrefix(mf.GetName(), "paperboy_") {
				t.Errorf("%s is on the default registry", mf.GetName())
			}
		}
	})
	t.Run("handler built twice on one registry", func(t *testing.T) {
		NewHandler(a, nil)
		if code, _ := get(t, NewHandler(a, nil), "/metrics"); code != http.StatusOK {
			t.Errorf("second handler: %d", code)
		}
	})
}

func TestNilMetricsIsNoop(t *testing.T) {
	var m *Metrics
	m.Poll("s", PollOK)
	m.BuildInfo("v", "r", "go")
	m.PapersIngested("s", 1)
	m.Matches(1)
	m.Delivered("p", time.Second)
	m.DeliveryError("p", delivery.ErrorRetry)
	m.InitSource("s")
	m.InitPlatform("p")
	if m.Registry() != nil {
		t.Error("nil Metrics has a registry")
	}
}

func TestMetricsConcurrent(t *testing.T) {
	m := NewMetrics(nil)
	h := NewHealth(time.Hour, nil)
	srv := NewHandler(m, h)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				m.Poll("s", PollOK)
				m.Delivered("p", time.Second)
				h.PollSucceeded(time.Now())
				get(t, srv, "/healthz")
			}
		})
	}
	wg.Wait()
	if _, body := get(t, srv, "/metrics"); !strings.Contains(body, `paperboy_polls_total{result="ok",source="s"} 400`+"\n") {
		t.Error("concurrent polls were lost")
	}
}

// TestHealthzNamesPlatformsNotReady: a platform that is not ready makes /healthz answer 503 naming it and its
// reason, whatever the polls do (with the silence check on or off), and the gauge says 0 for it; once ready
// again, /healthz is 200 and the gauge 1.
func TestHealthzNamesPlatformsNotReady(t *testing.T) {
	for _, silence := range []time.Duration{0, time.Hour} {
		t.Run(silence.String(), func(t *testing.T) {
			now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
			h := NewHealth(silence, func() time.Time { return now })
			m := NewMetrics(nil)
			srv := NewHandler(m, h)
			set := func(p string, ready bool, reason string) {
				h.SetPlatformReady(p, ready, reason)
				m.PlatformReady(p, ready)
			}
			set("console", true, "")
			set("discord", false, "discord refused the bot token (401); fix DISCORD_BOT_TOKEN")
			set("slack", false, "socket mode connection failed")
			code, body := get(t, srv, "/healthz")
			if code != http.StatusServiceUnavailable ||
				!strings.Contains(body, "platform discord not ready: discord refused the bot token (401); fix DISCORD_BOT_TOKEN") ||
				!strings.Contains(body, "platform slack not ready") || strings.Contains(body, "console") {
				t.Errorf("/healthz = %d %q, want 503 naming discord and slack", code, body)
			}
			_, metrics := get(t, srv, "/metrics")
			for _, want := range []string{`paperboy_platform_ready{platform="console"} 1`, `paperboy_platform_ready{platform="discord"} 0`} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			set("discord", true, "")
			set("slack", true, "")
			if code, body := get(t, srv, "/healthz"); code != http.StatusOK {
				t.Errorf("/healthz = %d %q after the platforms became ready, want 200", code, body)
			}
			if _, metrics := get(t, srv, "/metrics"); !strings.Contains(metrics, `paperboy_platform_ready{platform="discord"} 1`) {
				t.Error("gauge not back to 1")
			}
		})
	}
}

// TestHealthzExtraChecks: a failing added check (a full disk) makes /healthz 503 with its reason, even with polls
// succeeding and the silence check off; once it passes, /healthz is 200 again.
func TestHealthzExtraChecks(t *testing.T) {
	for _, maxSilence := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint("max silence ", maxSilence), func(t *testing.T) {
			h := NewHealth(maxSilence, nil)
			h.PollSucceeded(time.Now())
			full := errors.New("the disk holding the store is full")
			h.AddCheck(func() error { return full })
			if code, body := get(t, NewHandler(nil, h), "/healthz"); code != http.StatusServiceUnavailable || body != "the disk holding the store is full\n" {
				t.Errorf("/healthz with a failing check = %d %q, want 503 and its reason", code, body)
			}
			full = nil
			if code, body := get(t, NewHandler(nil, h), "/healthz"); code != http.StatusOK {
				t.Errorf("/healthz after the check passed = %d %q, want 200", code, body)
			}
		})
	}
}

// TestHealthzShowsSources: the sources' states follow the verdict and never change it, so that a late or failing
// feed (or a quiet Friday) does not make an orchestrator restart the bot.
func TestHealthzShowsSources(t *testing.T) {
	start := time.Date(2026, 11, 27, 22, 0, 0, 0, time.UTC)
	h := NewHealth(time.Hour, func() time.Time { return start })
	h.PollSucceeded(start)
	h.SetSources([]string{"arxiv-cs: quiet: no announcement on Friday evening", "hf: failing since Fri 27 Nov 12:00 EST: HTTP 503"})
	code, body := get(t, NewHandler(nil, h), "/healthz")
	want := "ok\nsource arxiv-cs: quiet: no announcement on Friday evening\nsource hf: failing since Fri 27 Nov 12:00 EST: HTTP 503\n"
	if code != http.StatusOK || body != want {
		t.Errorf("/healthz = %d %q, want 200 %q", code, body, want)
	}
	h.SetPlatformReady("slack", false, "token refused")
	if code, body := get(t, NewHandler(nil, h), "/healthz"); code != http.StatusServiceUnavailable ||
		!strings.HasPrefix(body, "platform slack not ready: token refused\nsource arxiv-cs: quiet") {
		t.Errorf("/healthz with a platform down = %d %q", code, body)
	}
}
