// Package ops is what an operator watches: Prometheus metrics on a registry of their own, and the /healthz check.
package ops

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Values of the result label of paperboy_polls_total.
const (
	PollOK          = "ok"
	PollNotModified = "not_modified"
	PollError       = "error"
)

// deliveryLatencyBuckets span ingest-to-post latencies from an instant post (seconds) to a daily digest (a day),
// at steps an operator reads at a glance.
var deliveryLatencyBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 4 * 3600, 8 * 3600, 12 * 3600, 24 * 3600}

// Metrics holds paperboy's Prometheus collectors on a registry of its own, so that several instances (tests, two
// apps in one process) never collide on the global default registry. A nil *Metrics records nothing, so code can
// call it unconditionally when metrics are disabled. Its methods are safe for concurrent use.
type Metrics struct {
	reg             *prometheus.Registry
	polls           *prometheus.CounterVec
	papersIngested  *prometheus.CounterVec
	matches         prometheus.Counter
	deliveries      *prometheus.CounterVec
	deliveryErrors  *prometheus.CounterVec
	deliveryLatency prometheus.Histogram
	platformReady   *prometheus.GaugeVec
	feedRepairs     *prometheus.CounterVec
	source          sourceHealthMetrics
	buildInfo       *prometheus.GaugeVec
}

// sourceHealthMetrics are the per-source health gauges (bot/health), set at every health check.
type sourceHealthMetrics struct {
	state       *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	lastNew     *prometheus.GaugeVec
}

// NewMetrics builds and registers paperboy's collectors, plus the Go runtime and process collectors. outboxDepth,
// if not nil, is called at every scrape for paperboy_outbox_depth, so it must be cheap and safe to call from any
// goroutine (read a value the sender keeps up to date rather than querying the store); when nil the gauge is
// left out instead of reporting a made-up 0.
func NewMetrics(outboxDepth func() float64) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paperboy_polls_total",
			Help: "Source polls by result (ok, not_modified, error).",
		}, []string{"source", "result"}),
		papersIngested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paperboy_papers_ingested_total",
			Help: "Papers stored for the first time, by the source that delivered them.",
		}, []string{"source"}),
		matches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "paperboy_matches_total",
			Help: "(channel, paper) matches queued for delivery.",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paperboy_deliveries_total",
			Help: "Messages posted, by platform.",
		}, []string{"platform"}),
		deliveryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paperboy_delivery_errors_total",
			Help: "Failed posts by platform and kind (retry, rate_limited, permanent).",
		}, []string{"platform", "kind"}),
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "paperboy_delivery_latency_seconds",
			Help:    "Time from a paper's ingestion to its post in a channel.",
			Buckets: deliveryLatencyBuckets,
		}),
		platformReady: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paperboy_platform_ready",
			Help: "1 when the platform is ready (connected, commands registered, token accepted), else 0.",
		}, []string{"platform"}),
	}
	m.reg.MustRegister(m.polls, m.papersIngested, m.matches, m.deliveries, m.deliveryErrors,
		m.deliveryLatency, m.platformReady, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.feedRepairs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "paperboy_feed_repairs_total",
		Help: "What parsing mended instead of rejecting a feed, by source and kind (repaired_char, truncated, skipped_item).",
	}, []string{"source", "kind"})
	m.reg.MustRegister(m.feedRepairs)
	m.source = sourceHealthMetrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paperboy_source_state",
			Help: "1 for the source's current health state (ok, quiet, late, failing), 0 for the others. Quiet is healthy: nothing was published.",
		}, []string{"source", "state"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paperboy_source_last_success_timestamp_seconds",
			Help: "Unix time of the source's last successful poll (new papers or not).",
		}, []string{"source"}),
		lastNew: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "paperboy_source_last_new_paper_timestamp_seconds",
			Help: "Unix time of the source's last poll that brought a new paper.",
		}, []string{"source"}),
	}
	m.reg.MustRegister(m.source.state, m.source.lastSuccess, m.source.lastNew)
	// paperboy_fetch_errors_total counted exactly the polls that failed, so it was paperboy_polls_total{result="error"}
	// under a second name (a poll fails as a whole; a source's several URLs are one fetch), and was dropped.
	m.buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "paperboy_build_info",
		Help: "Always 1; its labels say which build runs (version, VCS revision, Go version).",
	}, []string{"version", "revision", "goversion"})
	m.reg.MustRegister(m.buildInfo)
	if outboxDepth != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "paperboy_outbox_depth",
			Help: "Matched papers waiting to be posted.",
		}, outboxDepth))
	}
	return m
}

// Registry returns the registry the collectors live on, for serving it or registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// InitSource creates a source's series at zero, so that rate() and alerts see them before the first event.
func (m *Metrics) InitSource(source string) {
	if m == nil {
		return
	}
	for _, r := range []string{PollOK, PollNotModified, PollError} {
		m.polls.WithLabelValues(source, r)
	}
	m.papersIngested.WithLabelValues(source)
	for _, k := range []string{RepairChar, RepairTruncate, RepairSkip} {
		m.feedRepairs.WithLabelValues(source, k)
	}
}

// InitPlatform creates a platform's series at zero, so that rate() and alerts see them before the first event.
func (m *Metrics) InitPlatform(platform string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(platform)
	for _, k := range delivery.ErrorKinds() {
		m.deliveryErrors.WithLabelValues(platform, k)
	}
}

// PlatformReady sets paperboy_platform_ready for platform: 1 when ready, 0 when not.
func (m *Metrics) PlatformReady(platform string, ready bool) {
	if m == nil {
		return
	}
	v := 0.0
	if ready {
		v = 1
	}
	m.platformReady.WithLabelValues(platform).Set(v)
}

// Poll counts one poll of source; result is PollOK, PollNotModified or PollError.
func (m *Metrics) Poll(source, result string) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(source, result).Inc()
}

// BuildInfo sets paperboy_build_info to 1 with the labels of the running build, replacing any earlier labels.
func (m *Metrics) BuildInfo(version, revision, goVersion string) {
	if m == nil {
		return
	}
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(version, revision, goVersion).Set(1)
}

// SourceHealth sets source's health gauges: paperboy_source_state to 1 for state and 0 for the other states, and
// the times of its last success and last new paper (left unset while zero: never is not 1970).
func (m *Metrics) SourceHealth(source, state string, states []string, lastSuccess, lastNewPaper time.Time) {
	if m == nil {
		return
	}
	for _, s := range states {
		v := 0.0
		if s == state {
			v = 1
		}
		m.source.state.WithLabelValues(source, s).Set(v)
	}
	if !lastSuccess.IsZero() {
		m.source.lastSuccess.WithLabelValues(source).Set(float64(lastSuccess.UnixNano()) / 1e9)
	}
	if !lastNewPaper.IsZero() {
		m.source.lastNew.WithLabelValues(source).Set(float64(lastNewPaper.UnixNano()) / 1e9)
	}
}

// Values of the kind label of paperboy_feed_repairs_total.
const (
	RepairChar     = "repaired_char"
	RepairTruncate = "truncated"
	RepairSkip     = "skipped_item"
)

// FeedRepairs counts what one poll of source mended: characters repaired, fields cut, items skipped.
func (m *Metrics) FeedRepairs(source string, repaired, truncated, skipped int) {
	if m == nil {
		return
	}
	for kind, n := range map[string]int{RepairChar: repaired, RepairTruncate: truncated, RepairSkip: skipped} {
		if n > 0 {
			m.feedRepairs.WithLabelValues(source, kind).Add(float64(n))
		}
	}
}

// PapersIngested counts n papers that source delivered and the store did not know yet.
func (m *Metrics) PapersIngested(source string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.papersIngested.WithLabelValues(source).Add(float64(n))
}

// Matches counts n (channel, paper) matches written to the outbox.
func (m *Metrics) Matches(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.matches.Add(float64(n))
}

// Delivered counts one message posted on platform, and records for each paper it carried the time since the
// paper was ingested. Clock steps can make a latency negative; it then counts as 0 rather than corrupting the sum.
func (m *Metrics) Delivered(platform string, latencies ...time.Duration) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(platform).Inc()
	for _, l := range latencies {
		m.deliveryLatency.Observe(max(l, 0).Seconds())
	}
}

// DeliveryError counts one failed post on platform; kind is one of the delivery package's Error* values.
func (m *Metrics) DeliveryError(platform, kind string) {
	if m == nil {
		return
	}
	m.deliveryErrors.WithLabelValues(platform, kind).Inc()
}

// Health answers /healthz from the time of the last successful poll of any source. A bot whose feeds have all
// been failing for hours is alive but useless, which is what an orchestrator's health check should catch.
type Health struct {
	// MaxSilence is how long the bot may go without any successful poll before it is unhealthy; 0 or less
	// disables the check. Set it before serving.
	MaxSilence time.Duration
	// Now is the clock, time.Now when nil. Set it before serving.
	Now func() time.Time

	mu          sync.Mutex
	started     time.Time
	lastSuccess time.Time
	// notReady holds the platforms that are not ready, with the reason.
	notReady map[string]string
	checks   []func() error
	// sources holds each source's health line for the body (SetSources); it never fails the check.
	sources []string
}

// SetSources replaces the per-source lines /healthz shows after its verdict, one per source ("arxiv: late: ...").
// A source's state never makes /healthz fail: a late or failing feed does not make the bot unready (restarting it
// fixes nothing); a monitor alerts on paperboy_source_state instead, and quiet is healthy by definition.
func (h *Health) SetSources(lines []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sources = slices.Clone(lines)
}

// AddCheck adds a condition that makes the bot unhealthy while fn returns an error (such as a full disk), whatever
// the polls say; fn must be cheap and safe to call from any goroutine.
func (h *Health) AddCheck(fn func() error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, fn)
}

// NewHealth returns a Health whose grace period starts now: during the first maxSilence after start it is healthy
// even though nothing has been polled yet, since the first polls may legitimately take a while.
func NewHealth(maxSilence time.Duration, now func() time.Time) *Health {
	if now == nil {
		now = time.Now
	}
	return &Health{MaxSilence: maxSilence, Now: now, started: now()}
}

// SetPlatformReady records whether platform is ready and, if not, why. A platform that is not ready (Discord
// unreachable, a token refused) makes the bot unhealthy, naming the platform; the others keep running.
func (h *Health) SetPlatformReady(platform string, ready bool, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ready {
		delete(h.notReady, platform)
		return
	}
	if h.notReady == nil {
		h.notReady = map[string]string{}
	}
	h.notReady[platform] = reason
}

// PollSucceeded records a successful poll (new papers or not modified) of any source at at.
func (h *Health) PollSucceeded(at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if at.After(h.lastSuccess) {
		h.lastSuccess = at
	}
}

// Check returns nil when healthy, else an error whose message gives the reasons, one per line: the polls'
// silence, and each platform that is not ready.
func (h *Health) Check() error {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	h.mu.Lock()
	checks := h.checks
	since := h.lastSuccess
	platforms := make([]string, 0, len(h.notReady))
	for p := range h.notReady {
		platforms = append(platforms, p)
	}
	slices.Sort(platforms)
	var errs []error
	for _, p := range platforms {
		errs = append(errs, fmt.Errorf("platform %s not ready: %s", p, h.notReady[p]))
	}
	h.mu.Unlock()
	// The checks run outside the lock: they may take their own locks (the store's disk-full flag).
	for _, fn := range checks {
		if err := fn(); err != nil {
			errs = append(errs, err)
		}
	}
	if h.MaxSilence <= 0 {
		return errors.Join(errs...)
	}
	if since.IsZero() {
		since = h.started
	}
	if silence := now().Sub(since); silence >= h.MaxSilence {
		errs = append([]error{fmt.Errorf("no source has polled successfully for %s", silence.Round(time.Second))}, errs...)
	}
	return errors.Join(errs...)
}

// ServeHTTP answers 200 "ok" when healthy, else 503 with the reason; the sources' health lines (SetSources)
// follow, for people, whatever the verdict.
func (h *Health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := h.Check()
	h.mu.Lock()
	sources := h.sources
	h.mu.Unlock()
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintln(w, err)
	} else {
		_, _ = fmt.Fprintln(w, "ok")
	}
	for _, l := range sources {
		_, _ = fmt.Fprintln(w, "source "+l)
	}
}

// NewHandler serves /healthz from h and /metrics from m's registry. A nil h answers /healthz with 200 as long
// as the process serves requests; a nil m leaves /metrics out (404).
func NewHandler(m *Metrics, h *Health) http.Handler {
	mux := http.NewServeMux()
	if h != nil {
		mux.Handle("GET /healthz", h)
	} else {
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = fmt.Fprintln(w, "ok")
		})
	}
	if m != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	}
	return mux
}
