package sources

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Fetcher defaults. They are deliberately conservative: a feed poller has no reason to wait long for one slow server,
// and a feed larger than 20 MiB is either a mistake or an attack.
const (
	DefaultDialTimeout           = 10 * time.Second
	DefaultTLSHandshakeTimeout   = 10 * time.Second
	DefaultResponseHeaderTimeout = 30 * time.Second
	DefaultRequestTimeout        = 60 * time.Second
	DefaultMaxBodySize           = 20 << 20
	DefaultMaxRedirects          = 5
	// DefaultMaxRetryAfter bounds how long one server answer may silence a host, so that a buggy or hostile
	// Retry-After (a year, say) cannot switch a source off for good.
	DefaultMaxRetryAfter = 6 * time.Hour
	// DefaultVersion is used in the User-Agent when FetcherOptions.Version is empty.
	DefaultVersion = "dev"
)

// ErrTooLarge is returned (wrapped) when a response body, after decompression, exceeds the fetcher's cap.
var ErrTooLarge = errors.New("response body too large")

// ErrTooManyRedirects is returned (wrapped) when a redirect chain is longer than FetcherOptions.MaxRedirects.
var ErrTooManyRedirects = errors.New("too many redirects")

// ErrForbiddenAddress is returned (wrapped) when a URL, or one of its redirects, names or resolves to a loopback,
// private, link-local or otherwise non-public address, unless FetcherOptions.AllowPrivateNetworks is set.
var ErrForbiddenAddress = errors.New("address not allowed")

// HTTPError is a non-2xx, non-304 answer.
type HTTPError struct {
	// URL is the redacted URL asked for (see RedactURL).
	URL        string
	StatusCode int
	// RetryAfter is the server's Retry-After (429/503), zero when absent.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("GET %s: HTTP %d (retry after %s)", e.URL, e.StatusCode, e.RetryAfter)
	}
	return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.StatusCode)
}

// HostBlockedError is returned, without any request being made, by a Get to a host that earlier answered 429 or 503
// with a Retry-After that has not yet elapsed. Honouring it locally matters because every source sharing the host
// (arXiv RSS and API, say) would otherwise each spend a request to learn the same thing.
type HostBlockedError struct {
	// URL is the redacted URL asked for (see RedactURL).
	URL  string
	Host string
	// Until is when the host may be contacted again.
	Until time.Time
	// Wait is Until minus the fetcher's clock at the time of the call.
	Wait time.Duration
}

func (e *HostBlockedError) Error() string {
	return fmt.Sprintf("GET %s: host %s asked not to be contacted before %s (%s from now)",
		e.URL, e.Host, e.Until.UTC().Format(time.RFC3339), e.Wait)
}

// Response is a fetched (or not modified) document.
type Response struct {
	// URL is the URL that was asked for; validators belong to it.
	URL string
	// FinalURL is where redirects, if any, ended.
	FinalURL   string
	StatusCode int
	// Body is the decompressed body; nil when NotModified.
	Body        []byte
	NotModified bool
	// Validators are the ETag/Last-Modified to send next time (the previous ones are kept on 304).
	Validators paper.Validators
	// MaxAge is the Cache-Control max-age, zero when absent.
	MaxAge time.Duration
	Header http.Header
}

// FetcherOptions configures NewFetcher. Zero values select the defaults documented on each field.
type FetcherOptions struct {
	// UserAgent replaces the whole default "paperboy/<Version> (+https://github.com/paperboy-bot/paperboy)".
	UserAgent string
	// Version goes into the default User-Agent; DefaultVersion when empty.
	Version string

	// DialTimeout bounds establishing the TCP connection; DefaultDialTimeout when zero.
	DialTimeout time.Duration
	// TLSHandshakeTimeout; DefaultTLSHandshakeTimeout when zero.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the status line and headers once the request is written;
	// DefaultResponseHeaderTimeout when zero.
	ResponseHeaderTimeout time.Duration
	// Timeout bounds one whole request, redirects and body included (not the politeness wait before it), so that
	// a server trickling bytes cannot hold a poll forever; DefaultRequestTimeout when zero.
	Timeout time.Duration

	// MaxBodySize caps the body after decompression, in bytes; DefaultMaxBodySize when zero.
	MaxBodySize int64
	// MaxRedirects is how many redirects are followed; DefaultMaxRedirects when zero, none when negative.
	MaxRedirects int
	// MaxRetryAfter caps a server's Retry-After; DefaultMaxRetryAfter when zero.
	MaxRetryAfter time.Duration

	// HostIntervals is the minimum gap between the starts of two requests to a host (keyed by lower-case host
	// name, without port). Requests to a host listed here are also serialized, so they share one connection.
	// Nil means DefaultHostIntervals(); an empty non-nil map disables politeness delays.
	HostIntervals map[string]time.Duration

	// AllowPrivateNetworks lets the fetcher connect to loopback, private, link-local, carrier-grade NAT,
	// multicast, unspecified and other non-public addresses (IPv6 equivalents, unique-local fc00::/7 and
	// IPv4-mapped, NAT64 and 6to4 forms included), which it otherwise refuses with ErrForbiddenAddress. The rule
	// is checked on every hop, redirects included: on a literal address in the URL before any connection, and on
	// the resolved address of every connection, so DNS tricks do not get around it. Off by default because a feed,
	// or a redirect it answers with, must not make the bot read a service inside its own network (a cloud
	// metadata endpoint); self-hosters with intranet feeds, and tests polling servers on 127.0.0.1, set it. An
	// HTTP proxy from the environment may be on a private address (the operator chose it); through a proxy only
	// literal addresses can be checked. With a custom Transport, only the literal-address check applies.
	AllowPrivateNetworks bool

	// allowAddr lets particular addresses through the guard: package tests, which need one loopback server to be
	// reachable while proving that the guard refuses another.
	allowAddr func(netip.AddrPort) bool

	// Transport replaces the default transport (tests, custom proxies). Timeouts other than Timeout are then
	// the transport's business.
	Transport http.RoundTripper
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Sleep waits d or until ctx is done, returning ctx's error in the latter case. The default uses a timer.
	// Tests inject one that advances a fake clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives debug lines per request and a warning when a host asks for a pause; discarded when nil.
	Logger *slog.Logger
}

// DefaultHostIntervals returns the politeness intervals used when FetcherOptions.HostIntervals is nil: arXiv's API
// asks for at most one request every 3 seconds over a single connection, and its OAI-PMH service is held to the
// same.
func DefaultHostIntervals() map[string]time.Duration {
	return ArxivHostIntervals(3 * time.Second)
}

// ArxivHostIntervals gives arXiv's API host (export.arxiv.org) and OAI-PMH host (oaipmh.arxiv.org) the politeness
// gap, and the hosts of the given URLs too (an OAI mirror configured with [import] oai_url, say), so that every
// arXiv endpoint sees one request at a time, gap apart. URLs that do not parse are left out: they fail later, with
// a message naming them.
func ArxivHostIntervals(gap time.Duration, urls ...string) map[string]time.Duration {
	m := map[string]time.Duration{"export.arxiv.org": gap, "oaipmh.arxiv.org": gap}
	for _, raw := range urls {
		if u, err := neturl.Parse(raw); err == nil && u.Hostname() != "" {
			m[strings.ToLower(u.Hostname())] = gap
		}
	}
	return m
}

// Fetcher is the one HTTP client all sources share. It is safe for concurrent use; create it with NewFetcher (the
// zero value is not usable). All per-host state (politeness, Retry-After pauses) lives here, so two Fetchers do not
// coordinate with each other.
type Fetcher struct {
	client        *http.Client
	userAgent     string
	timeout       time.Duration
	maxBody       int64
	maxRetryAfter time.Duration
	intervals     map[string]time.Duration
	now           func() time.Time
	sleep         func(ctx context.Context, d time.Duration) error
	log           *slog.Logger

	// guard is nil when private networks are allowed.
	guard *addressGuard

	mu    sync.Mutex
	hosts map[string]*hostState
}

// hostState is what the fetcher remembers about one host.
type hostState struct {
	// turn has capacity 1; holding its slot is the right to talk to a host with a politeness interval.
	turn chan struct{}
	// lastStart is when the last request to the host started (after its politeness wait).
	lastStart time.Time
	// blockedUntil is the end of a server-requested pause (Retry-After).
	blockedUntil time.Time
}

// NewFetcher builds a Fetcher from opts, filling in defaults.
func NewFetcher(opts FetcherOptions) *Fetcher {
	f := &Fetcher{
		userAgent:     opts.UserAgent,
		timeout:       opts.Timeout,
		maxBody:       opts.MaxBodySize,
		maxRetryAfter: opts.MaxRetryAfter,
		now:           opts.Now,
		sleep:         opts.Sleep,
		log:           opts.Logger,
		hosts:         make(map[string]*hostState),
	}
	if f.userAgent == "" {
		v := opts.Version
		if v == "" {
			v = DefaultVersion
		}
		f.userAgent = "paperboy/" + v + " (+https://github.com/paperboy-bot/paperboy)"
	}
	if f.timeout <= 0 {
		f.timeout = DefaultRequestTimeout
	}
	if f.maxBody <= 0 {
		f.maxBody = DefaultMaxBodySize
	}
	if f.maxRetryAfter <= 0 {
		f.maxRetryAfter = DefaultMaxRetryAfter
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.sleep == nil {
		f.sleep = sleepCtx
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	intervals := opts.HostIntervals
	if intervals == nil {
		intervals = DefaultHostIntervals()
	}
	f.intervals = make(map[string]time.Duration, len(intervals))
	for h, d := range intervals {
		if d > 0 {
			f.intervals[strings.ToLower(h)] = d
		}
	}

	if !opts.AllowPrivateNetworks {
		f.guard = &addressGuard{allow: opts.allowAddr}
	}
	rt := opts.Transport
	if rt == nil {
		rt = newTransport(opts, f.guard)
	}
	maxRedirects := opts.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	f.client = &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// via holds every request made so far, so len(via) is the number of the redirect about to be followed.
			if len(via) > maxRedirects {
				return fmt.Errorf("stopped after %d redirects: %w", maxRedirects, ErrTooManyRedirects)
			}
			if err := f.guard.checkURL(req.URL); err != nil {
				return fmt.Errorf("redirect to %s: %w", RedactURL(req.URL.String()), err)
			}
			return nil
		},
	}
	return f
}

// newTransport builds the default transport; guard, when not nil, screens every address it dials.
func newTransport(opts FetcherOptions, guard *addressGuard) *http.Transport {
	dialTimeout := opts.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = DefaultDialTimeout
	}
	tlsTimeout := opts.TLSHandshakeTimeout
	if tlsTimeout <= 0 {
		tlsTimeout = DefaultTLSHandshakeTimeout
	}
	headerTimeout := opts.ResponseHeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = DefaultResponseHeaderTimeout
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	proxy, dial := http.ProxyFromEnvironment, dialer.DialContext
	if guard != nil {
		guarded := *dialer
		guarded.Control = guard.control
		proxy, dial = guard.proxy, guard.dialContext(&guarded, dialer)
	}
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   tlsTimeout,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		// The fetcher asks for gzip itself and decompresses under its size cap.
		DisableCompression: true,
	}
}

// CloseIdleConnections releases pooled connections, for shutdown.
func (f *Fetcher) CloseIdleConnections() {
	f.client.CloseIdleConnections()
}

// Get fetches url with conditional headers from prev.
//
// It first honours any Retry-After pause the host asked for (returning *HostBlockedError without a request) and the
// host's politeness interval (waiting, or returning early with ctx's error wrapped). A 304 yields NotModified with
// prev kept; any other non-2xx yields *HTTPError. Bodies larger than the cap after decompression yield an error
// wrapping ErrTooLarge; exceeding FetcherOptions.Timeout yields an error wrapping context.DeadlineExceeded; a URL or
// redirect to a non-public address yields an error wrapping ErrForbiddenAddress (unless
// FetcherOptions.AllowPrivateNetworks), without connecting to it.
//
// Errors, and the fetcher's log lines, name the URL only as RedactURL gives it (no credentials, no query) and never
// quote a response body: they are stored in source state and shown to anyone in chat by /papers sources.
func (f *Fetcher) Get(ctx context.Context, url string, prev paper.Validators) (*Response, error) {
	if f == nil || f.client == nil {
		return nil, fmt.Errorf("fetch %s: Fetcher not created with NewFetcher", RedactURL(url))
	}
	// Errors and logs name the URL without credentials or query (api keys live there): they end up in chat.
	shown := RedactURL(url)
	req, err := f.newRequest(ctx, url, shown, prev)
	if err != nil {
		return nil, err
	}
	host := strings.ToLower(req.URL.Hostname())
	if err := f.guard.checkURL(req.URL); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", shown, err)
	}

	release, err := f.acquire(ctx, shown, host)
	if err != nil {
		return nil, err
	}
	defer release()

	tctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	start := f.now()
	resp, err := f.client.Do(req.WithContext(tctx))
	if err != nil {
		return nil, f.requestError(ctx, tctx, shown, err)
	}
	defer func() { _ = resp.Body.Close() }()

	out, err := f.handle(ctx, tctx, url, shown, host, prev, resp)
	if err != nil {
		f.log.Debug("fetch failed", "url", shown, "status", resp.StatusCode, "err", err)
		return nil, err
	}
	f.log.Debug("fetched", "url", shown, "status", resp.StatusCode, "bytes", len(out.Body),
		"duration", f.now().Sub(start))
	return out, nil
}

// newRequest builds the GET. Validators are sent only when stored: an empty If-None-Match would be malformed.
// shown is rawURL as errors may name it.
func (f *Fetcher) newRequest(ctx context.Context, rawURL, shown string, prev paper.Validators) (*http.Request, error) {
	u, err := neturl.Parse(rawURL)
	if err != nil {
		// url.Parse's error quotes the whole URL.
		return nil, fmt.Errorf("fetch %s: malformed URL", shown)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("fetch %s: unsupported scheme %q", shown, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("fetch %s: no host", shown)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: malformed URL", shown)
	}
	req.Header.Set("User-Agent", f.userAgent)
	// Asking for gzip ourselves turns off the transport's transparent decompression, which would otherwise
	// expand a body without any limit before we see it.
	req.Header.Set("Accept-Encoding", "gzip")
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	return req, nil
}

// acquire waits for the host's turn and politeness interval. The returned release must be called once the response
// has been read, so that serialized hosts really see one request at a time.
func (f *Fetcher) acquire(ctx context.Context, url, host string) (release func(), err error) {
	if err := f.checkBlocked(url, host); err != nil {
		return nil, err
	}
	interval := f.intervals[host]
	if interval <= 0 {
		return func() {}, nil
	}
	st := f.state(host)
	select {
	case st.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch %s: waiting for turn at %s: %w", url, host, ctx.Err())
	}
	release = func() { <-st.turn }

	f.mu.Lock()
	last := st.lastStart
	f.mu.Unlock()
	if !last.IsZero() {
		if wait := last.Add(interval).Sub(f.now()); wait > 0 {
			if err := f.sleep(ctx, wait); err != nil {
				release()
				return nil, fmt.Errorf("fetch %s: politeness wait for %s: %w", url, host, err)
			}
		}
	}
	// The request just before ours may have been told to back off.
	if err := f.checkBlocked(url, host); err != nil {
		release()
		return nil, err
	}
	f.mu.Lock()
	st.lastStart = f.now()
	f.mu.Unlock()
	return release, nil
}

// state returns the host's state, creating it on first use.
func (f *Fetcher) state(host string) *hostState {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.hosts[host]
	if !ok {
		st = &hostState{turn: make(chan struct{}, 1)}
		f.hosts[host] = st
	}
	return st
}

func (f *Fetcher) checkBlocked(url, host string) error {
	f.mu.Lock()
	st, ok := f.hosts[host]
	var until time.Time
	if ok {
		until = st.blockedUntil
	}
	f.mu.Unlock()
	if until.IsZero() {
		return nil
	}
	if wait := until.Sub(f.now()); wait > 0 {
		return &HostBlockedError{URL: url, Host: host, Until: until, Wait: wait}
	}
	return nil
}

func (f *Fetcher) block(host string, d time.Duration) {
	until := f.now().Add(d)
	st := f.state(host)
	f.mu.Lock()
	if until.After(st.blockedUntil) {
		st.blockedUntil = until
	}
	f.mu.Unlock()
}

// requestError attributes a failure to the caller's cancellation or our own timeout when either happened, because
// the transport's error text for those cases varies and callers test with errors.Is.
func (f *Fetcher) requestError(ctx, tctx context.Context, url string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("fetch %s: %w", url, cerr)
	}
	if tctx.Err() != nil {
		return fmt.Errorf("fetch %s: timed out after %s: %w", url, f.timeout, context.DeadlineExceeded)
	}
	// net/http's *url.Error repeats the method and URL, which this message already gives.
	var ue *neturl.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("fetch %s: %w", url, err)
}

// handle turns a received response into a Response or an error.
// url is the URL asked for, shown its redacted form for errors and logs.
func (f *Fetcher) handle(ctx, tctx context.Context, url, shown, host string, prev paper.Validators, resp *http.Response) (*Response, error) {
	out := &Response{
		URL:        url,
		FinalURL:   resp.Request.URL.String(),
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		MaxAge:     parseMaxAge(resp.Header.Values("Cache-Control")),
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		out.NotModified = true
		out.Validators = prev
		return out, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		// A little of the body is read so the connection can be reused; the rest is not worth the bandwidth.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		herr := &HTTPError{URL: shown, StatusCode: resp.StatusCode}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			herr.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), f.now(), f.maxRetryAfter)
			if herr.RetryAfter > 0 {
				f.block(host, herr.RetryAfter)
				f.log.Warn("host asked for a pause", "url", shown, "status", resp.StatusCode,
					"retry_after", herr.RetryAfter)
			}
		}
		return nil, herr
	}

	body, err := f.readBody(shown, resp)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, f.requestError(ctx, tctx, shown, err)
	}
	out.Body = body
	out.Validators = paper.Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	return out, nil
}

// readBody decompresses when needed and reads at most the cap. If a transport decompressed transparently it has
// removed Content-Encoding (and set Uncompressed), so the body is read as is.
func (f *Fetcher) readBody(url string, resp *http.Response) ([]byte, error) {
	var r io.Reader = resp.Body
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if resp.Uncompressed {
		enc = ""
	}
	switch enc {
	case "", "identity":
		if resp.ContentLength > f.maxBody {
			return nil, fmt.Errorf("fetch %s: Content-Length %d exceeds %d bytes: %w",
				url, resp.ContentLength, f.maxBody, ErrTooLarge)
		}
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(resp.Body)
		if errors.Is(err, io.EOF) {
			return []byte{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer func() { _ = zr.Close() }() // its only error is the checksum one, which Read already returned
		r = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	body, err := io.ReadAll(io.LimitReader(r, f.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > f.maxBody {
		return nil, fmt.Errorf("fetch %s: body exceeds %d bytes: %w", url, f.maxBody, ErrTooLarge)
	}
	return body, nil
}

// RedactURL returns raw as scheme://host/path, without user info, query or fragment, which is how errors and logs
// may name a feed URL: credentials (user:pass@) and api keys (?api_key=) live in the parts it drops. Anything that
// does not parse as a URL with a host is replaced by a placeholder.
func RedactURL(raw string) string {
	u, err := neturl.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return (&neturl.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 10.2.3) relative to now, capped at maxWait.
// Anything unparsable or in the past is zero: the caller then falls back to its own backoff.
func parseRetryAfter(v string, now time.Time, maxWait time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxWait/time.Second) {
			return maxWait
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxWait)
}

// parseMaxAge returns the Cache-Control max-age, or zero when absent or when no-store/no-cache make it meaningless.
func parseMaxAge(values []string) time.Duration {
	var maxAge time.Duration
	for _, v := range values {
		for dir := range strings.SplitSeq(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				secs, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
				if err != nil || secs <= 0 {
					continue
				}
				// Clamp to keep the multiplication from overflowing; a year is already "never" for a poller.
				secs = min(secs, int64(365*24*time.Hour/time.Second))
				maxAge = time.Duration(secs) * time.Second
			}
		}
	}
	return maxAge
}

// sleepCtx is the default Sleep.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
