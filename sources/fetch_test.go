package sources

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// fetchClock is an injected clock whose Sleep records the requested wait and advances time instead of sleeping.
type fetchClock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func newFetchClock() *fetchClock {
	return &fetchClock{t: time.Date(2025, 3, 4, 20, 0, 0, 0, time.UTC)}
}

func (c *fetchClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fetchClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fetchClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.t = c.t.Add(d)
	return nil
}

func (c *fetchClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// testFetcher builds a Fetcher with test-friendly defaults: no politeness unless asked, a fake clock, short timeout.
func fetcherForTest(opts FetcherOptions) (*Fetcher, *fetchClock) {
	clock := newFetchClock()
	if opts.HostIntervals == nil {
		opts.HostIntervals = map[string]time.Duration{}
	}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = clock.Sleep
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	// The test servers listen on 127.0.0.1; guard_test.go tests the guard itself.
	opts.AllowPrivateNetworks = true
	return NewFetcher(opts), clock
}

func TestGetConditionalHeaders(t *testing.T) {
	const etag = `"v1"`
	const lastMod = "Tue, 04 Mar 2025 19:00:00 GMT"
	tests := []struct {
		name            string
		prev            paper.Validators
		wantINM         string
		wantIMS         string
		wantNotModified bool
	}{
		{"no validators stored", paper.Validators{}, "", "", false},
		{"etag matches", paper.Validators{ETag: etag}, etag, "", true},
		{"last-modified matches", paper.Validators{LastModified: lastMod}, "", lastMod, true},
		{"both stored", paper.Validators{ETag: etag, LastModified: lastMod}, etag, lastMod, true},
		{"stale etag", paper.Validators{ETag: `"v0"`}, `"v0"`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotINM, gotIMS []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotINM, gotIMS = r.Header.Values("If-None-Match"), r.Header.Values("If-Modified-Since")
				w.Header().Set("ETag", etag)
				w.Header().Set("Last-Modified", lastMod)
				w.Header().Set("Cache-Control", "public, max-age=600")
				if r.Header.Get("If-None-Match") == etag || r.Header.Get("If-Modified-Since") == lastMod {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				_, _ = io.WriteString(w, "<rss/>")
			}))
			defer srv.Close()
			f, _ := fetcherForTest(FetcherOptions{})

			resp, err := f.Get(context.Background(), srv.URL+"/feed", tt.prev)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if want := optionalHeader(tt.wantINM); !slices.Equal(gotINM, want) {
				t.Errorf("If-None-Match sent %q, want %q", gotINM, want)
			}
			if want := optionalHeader(tt.wantIMS); !slices.Equal(gotIMS, want) {
				t.Errorf("If-Modified-Since sent %q, want %q", gotIMS, want)
			}
			if resp.NotModified != tt.wantNotModified {
				t.Fatalf("NotModified = %v, want %v", resp.NotModified, tt.wantNotModified)
			}
			if resp.MaxAge != 10*time.Minute {
				t.Errorf("MaxAge = %s, want 10m", resp.MaxAge)
			}
			if resp.URL != srv.URL+"/feed" {
				t.Errorf("URL = %q", resp.URL)
			}
			if tt.wantNotModified {
				if resp.StatusCode != http.StatusNotModified || resp.Body != nil || resp.Validators != tt.prev {
					t.Errorf("304 response = status %d body %q validators %+v; want 304, nil, %+v",
						resp.StatusCode, resp.Body, resp.Validators, tt.prev)
				}
				return
			}
			want := paper.Validators{ETag: etag, LastModified: lastMod}
			if resp.StatusCode != http.StatusOK || string(resp.Body) != "<rss/>" || resp.Validators != want {
				t.Errorf("200 response = status %d body %q validators %+v; want 200, <rss/>, %+v",
					resp.StatusCode, resp.Body, resp.Validators, want)
			}
		})
	}
}

func optionalHeader(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// TestGetValidatorRoundTrip feeds each response's validators into the next request, as the poll loop does.
func TestGetValidatorRoundTrip(t *testing.T) {
	var mu sync.Mutex
	version := 1
	var requests int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests++
		etag := fmt.Sprintf(`"v%d"`, version)
		lastMod := time.Date(2025, 3, version, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		if r.Header.Get("If-None-Match") == etag && r.Header.Get("If-Modified-Since") == lastMod {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprintf(w, "body %d", version)
	}))
	defer srv.Close()
	f, _ := fetcherForTest(FetcherOptions{})
	ctx := context.Background()

	steps := []struct {
		name            string
		bump            bool
		wantNotModified bool
		wantBody        string
		wantETag        string
	}{
		{"first fetch", false, false, "body 1", `"v1"`},
		{"unchanged", false, true, "", `"v1"`},
		{"still unchanged", false, true, "", `"v1"`},
		{"changed", true, false, "body 2", `"v2"`},
		{"unchanged again", false, true, "", `"v2"`},
	}
	var prev paper.Validators
	for _, st := range steps {
		if st.bump {
			mu.Lock()
			version++
			mu.Unlock()
		}
		resp, err := f.Get(ctx, srv.URL, prev)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if resp.NotModified != st.wantNotModified || string(resp.Body) != st.wantBody || resp.Validators.ETag != st.wantETag {
			t.Fatalf("%s: NotModified=%v body=%q etag=%q; want %v %q %q", st.name,
				resp.NotModified, resp.Body, resp.Validators.ETag, st.wantNotModified, st.wantBody, st.wantETag)
		}
		if resp.Validators.LastModified == "" {
			t.Fatalf("%s: Last-Modified lost", st.name)
		}
		prev = resp.Validators
	}
	if requests != len(steps) {
		t.Errorf("server saw %d requests, want %d", requests, len(steps))
	}
}

// zeroStream streams n zero bytes without allocating them.
type zeroStream struct{ n int64 }

func (z *zeroStream) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

func TestGetBodyCap(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name          string
		size          int64
		contentLength bool
		wantErr       bool
	}{
		{"exactly the cap", limit, false, false},
		{"one byte over, streamed", limit + 1, false, true},
		{"50 MB streamed", 50 << 20, false, true},
		{"50 MB with Content-Length", 50 << 20, true, true},
		{"small with Content-Length", 1000, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentLength {
					w.Header().Set("Content-Length", strconv.FormatInt(tt.size, 10))
				}
				// Write errors are expected once the client gives up.
				_, _ = io.Copy(w, &zeroStream{n: tt.size})
			}))
			defer srv.Close()
			f, _ := fetcherForTest(FetcherOptions{MaxBodySize: limit})

			u := srv.URL + "/big"
			resp, err := f.Get(context.Background(), u, paper.Validators{})
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if int64(len(resp.Body)) != tt.size {
					t.Fatalf("body length %d, want %d", len(resp.Body), tt.size)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if msg := err.Error(); !strings.Contains(msg, u) || !strings.Contains(msg, strconv.Itoa(limit)) {
				t.Errorf("error %q should name the URL and the cap", msg)
			}
		})
	}
}

// gzipMember returns one gzip member expanding to n zero bytes.
func gzipMember(t *testing.T, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(zw, &zeroStream{n: n}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGetGzip(t *testing.T) {
	const limit = 1 << 20
	feed := []byte(strings.Repeat("<item><title>EEG foundation models</title></item>\n", 200))
	member := gzipMember(t, 4<<20)

	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []byte
		wantErr error // nil: success; errAnyDecode: any error that is not ErrTooLarge
	}{
		{
			name: "normal gzip body is decompressed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Accept-Encoding") != "gzip" {
					http.Error(w, "no gzip asked", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Encoding", "gzip")
				_, _ = w.Write(gzipOf(t, feed))
			},
			want: feed,
		},
		{
			name: "x-gzip",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "x-gzip")
				_, _ = w.Write(gzipOf(t, feed))
			},
			want: feed,
		},
		{
			name: "identity body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write(feed)
			},
			want: feed,
		},
		{
			name: "empty gzip body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
			},
			want: []byte{},
		},
		{
			// An endless stream of small members each expanding to 4 MiB: without a cap on the decompressed
			// bytes this would run into the timeout instead of failing with ErrTooLarge.
			name: "gzip bomb",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				for r.Context().Err() == nil {
					if _, err := w.Write(member); err != nil {
						return
					}
				}
			},
			wantErr: ErrTooLarge,
		},
		{
			name: "corrupt gzip",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "gzip")
				_, _ = io.WriteString(w, "this is not gzip at all")
			},
			wantErr: errAnyDecode,
		},
		{
			name: "unsupported encoding",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Encoding", "br")
				_, _ = io.WriteString(w, "whatever")
			},
			wantErr: errAnyDecode,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			f, _ := fetcherForTest(FetcherOptions{MaxBodySize: limit})

			resp, err := f.Get(context.Background(), srv.URL, paper.Validators{})
			switch {
			case tt.wantErr == nil:
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if !bytes.Equal(resp.Body, tt.want) {
					t.Fatalf("body = %d bytes %.40q, want %d bytes", len(resp.Body), resp.Body, len(tt.want))
				}
			case errors.Is(tt.wantErr, errAnyDecode):
				if err == nil || errors.Is(err, ErrTooLarge) {
					t.Fatalf("err = %v, want a decoding error", err)
				}
			default:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			}
		})
	}
}

var errAnyDecode = errors.New("any error")

// fetchRoundTripper lets a test stand in for the transport.
type fetchRoundTripper func(*http.Request) (*http.Response, error)

func (fn fetchRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return fn(r) }

// TestGetTransportDecompressed covers a transport that already decompressed the body (Go's, when it added
// Accept-Encoding itself): Content-Encoding is gone and Uncompressed is set, so the body must not be gunzipped again.
func TestGetTransportDecompressed(t *testing.T) {
	const body = "<feed>plain after transparent decompression</feed>"
	tests := []struct {
		name         string
		header       http.Header
		uncompressed bool
		body         []byte
	}{
		{"header removed", http.Header{}, true, []byte(body)},
		{"header left but flagged", http.Header{"Content-Encoding": {"gzip"}}, true, []byte(body)},
		{"not decompressed", http.Header{"Content-Encoding": {"gzip"}}, false, gzipOf(t, []byte(body))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := fetchRoundTripper(func(r *http.Request) (*http.Response, error) {
				return &http.Response{
					StatusCode:    http.StatusOK,
					Header:        tt.header,
					Body:          io.NopCloser(bytes.NewReader(tt.body)),
					ContentLength: -1,
					Uncompressed:  tt.uncompressed,
					Request:       r,
				}, nil
			})
			f, _ := fetcherForTest(FetcherOptions{Transport: rt})
			resp, err := f.Get(context.Background(), "https://example.org/feed", paper.Validators{})
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if string(resp.Body) != body {
				t.Errorf("body = %q, want %q", resp.Body, body)
			}
		})
	}
}

func TestGetTimeout(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{
			name: "trickling body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				rc := http.NewResponseController(w)
				for {
					if _, err := w.Write([]byte("x")); err != nil {
						return
					}
					_ = rc.Flush()
					select {
					case <-r.Context().Done():
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			},
		},
		{
			name: "headers never come",
			handler: func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			f, _ := fetcherForTest(FetcherOptions{Timeout: 300 * time.Millisecond})
			_, err := f.Get(context.Background(), srv.URL, paper.Validators{})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want context.DeadlineExceeded", err)
			}
			if !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("error %q should name the URL", err)
			}
		})
	}
}

func TestGetRetryAfterSeconds(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	f, clock := fetcherForTest(FetcherOptions{})
	ctx := context.Background()
	start := clock.Now()

	_, err := f.Get(ctx, srv.URL+"/a", paper.Validators{})
	var herr *HTTPError
	if !errors.As(err, &herr) || herr.StatusCode != http.StatusTooManyRequests || herr.RetryAfter != 2*time.Minute {
		t.Fatalf("first Get err = %v, want HTTP 429 with RetryAfter 2m", err)
	}
	if d, ok := RetryAfter(err); !ok || d != 2*time.Minute {
		t.Errorf("RetryAfter = %s, %v", d, ok)
	}

	// Another URL on the same host, before the time: refused locally.
	clock.Advance(time.Minute)
	_, err = f.Get(ctx, srv.URL+"/b", paper.Validators{})
	var blocked *HostBlockedError
	if !errors.As(err, &blocked) {
		t.Fatalf("second Get err = %v, want *HostBlockedError", err)
	}
	if !blocked.Until.Equal(start.Add(2*time.Minute)) || blocked.Wait != time.Minute {
		t.Errorf("blocked until %s (wait %s), want %s (wait 1m)", blocked.Until, blocked.Wait, start.Add(2*time.Minute))
	}
	if d, ok := RetryAfter(err); !ok || d != time.Minute {
		t.Errorf("RetryAfter(blocked) = %s, %v; want 1m", d, ok)
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("server saw %d requests while blocked, want 1", n)
	}

	clock.Advance(time.Minute + time.Second)
	resp, err := f.Get(ctx, srv.URL+"/a", paper.Validators{})
	if err != nil {
		t.Fatalf("Get after the pause: %v", err)
	}
	if string(resp.Body) != "ok" || requests.Load() != 2 {
		t.Errorf("after the pause: body %q, %d requests", resp.Body, requests.Load())
	}
}

func TestGetRetryAfterHTTPDate(t *testing.T) {
	var requests atomic.Int32
	clock := newFetchClock()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Retry-After", clock.Now().Add(90*time.Second).Format(http.TimeFormat))
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	f, _ := fetcherForTest(FetcherOptions{Now: clock.Now, Sleep: clock.Sleep})

	_, err := f.Get(context.Background(), srv.URL, paper.Validators{})
	var herr *HTTPError
	if !errors.As(err, &herr) || herr.StatusCode != http.StatusServiceUnavailable || herr.RetryAfter != 90*time.Second {
		t.Fatalf("err = %v, want HTTP 503 with RetryAfter 90s", err)
	}
	clock.Advance(89 * time.Second)
	var blocked *HostBlockedError
	if _, err := f.Get(context.Background(), srv.URL, paper.Validators{}); !errors.As(err, &blocked) {
		t.Fatalf("Get inside the pause: err = %v, want *HostBlockedError", err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestGetHTTPErrors(t *testing.T) {
	tests := []struct {
		name           string
		status         int
		retryAfter     string
		wantRetryAfter time.Duration
		wantBlocked    bool
	}{
		{"404 ignores Retry-After", http.StatusNotFound, "60", 0, false},
		{"500", http.StatusInternalServerError, "", 0, false},
		{"429 without Retry-After", http.StatusTooManyRequests, "", 0, false},
		{"429 with garbage Retry-After", http.StatusTooManyRequests, "soon", 0, false},
		{"429 with past date", http.StatusTooManyRequests, "Tue, 04 Mar 2025 19:00:00 GMT", 0, false},
		{"503 with huge Retry-After is capped", http.StatusServiceUnavailable, "99999999999", DefaultMaxRetryAfter, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "error page")
			}))
			defer srv.Close()
			f, _ := fetcherForTest(FetcherOptions{})

			_, err := f.Get(context.Background(), srv.URL, paper.Validators{})
			var herr *HTTPError
			if !errors.As(err, &herr) || herr.StatusCode != tt.status || herr.RetryAfter != tt.wantRetryAfter {
				t.Fatalf("err = %#v, want HTTP %d with RetryAfter %s", err, tt.status, tt.wantRetryAfter)
			}
			if herr.URL != srv.URL {
				t.Errorf("HTTPError.URL = %q", herr.URL)
			}
			_, err = f.Get(context.Background(), srv.URL, paper.Validators{})
			var blocked *HostBlockedError
			if got := errors.As(err, &blocked); got != tt.wantBlocked {
				t.Errorf("second Get blocked = %v (err %v), want %v", got, err, tt.wantBlocked)
			}
			wantRequests := int32(2)
			if tt.wantBlocked {
				wantRequests = 1
			}
			if n := requests.Load(); n != wantRequests {
				t.Errorf("server saw %d requests, want %d", n, wantRequests)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 4, 20, 0, 0, 0, time.UTC)
	const maxWait = time.Hour
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"1.5", 0},
		{"abc", 0},
		{"7200", maxWait},
		{"999999999999999999", maxWait},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), maxWait},
		{"Tuesday, 04-Mar-25 20:01:00 GMT", time.Minute}, // RFC 850, still valid HTTP-date
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, now, maxWait); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseMaxAge(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want time.Duration
	}{
		{"absent", nil, 0},
		{"plain", []string{"max-age=300"}, 5 * time.Minute},
		{"among others", []string{"public, max-age=60, must-revalidate"}, time.Minute},
		{"case and spaces", []string{"Public , MAX-AGE = 60"}, time.Minute},
		{"quoted", []string{`max-age="120"`}, 2 * time.Minute},
		{"second header line", []string{"public", "max-age=30"}, 30 * time.Second},
		{"no-store wins", []string{"max-age=300, no-store"}, 0},
		{"no-cache wins", []string{"no-cache", "max-age=300"}, 0},
		{"garbage", []string{"max-age=soon"}, 0},
		{"negative", []string{"max-age=-1"}, 0},
		{"huge is clamped", []string{"max-age=99999999999999"}, 365 * 24 * time.Hour},
		{"s-maxage ignored", []string{"s-maxage=100"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseMaxAge(tt.in); got != tt.want {
				t.Errorf("parseMaxAge(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestGetUserAgent(t *testing.T) {
	tests := []struct {
		name string
		opts FetcherOptions
		want string
	}{
		{"default", FetcherOptions{}, "paperboy/dev (+https://github.com/paperboy-bot/paperboy)"},
		{"version", FetcherOptions{Version: "1.2.3"}, "paperboy/1.2.3 (+https://github.com/paperboy-bot/paperboy)"},
		{"override", FetcherOptions{UserAgent: "lab-bot/1 (mailto:ops@example.org)", Version: "1.2.3"}, "lab-bot/1 (mailto:ops@example.org)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.UserAgent()
			}))
			defer srv.Close()
			f, _ := fetcherForTest(tt.opts)
			if _, err := f.Get(context.Background(), srv.URL, paper.Validators{}); err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got != tt.want {
				t.Errorf("User-Agent = %q, want %q", got, tt.want)
			}
		})
	}
}

// hostRewriter sends every request to srv whatever its host, so tests can use several host names.
func hostRewriter(srv *httptest.Server) http.RoundTripper {
	target, _ := url.Parse(srv.URL)
	base := srv.Client().Transport
	return fetchRoundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
		return base.RoundTrip(r)
	})
}

func TestGetHostInterval(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
	}))
	defer srv.Close()
	f, clock := fetcherForTest(FetcherOptions{
		Transport:     hostRewriter(srv),
		HostIntervals: map[string]time.Duration{"Export.arXiv.org": 3 * time.Second},
	})
	ctx := context.Background()

	steps := []struct {
		url      string
		advance  time.Duration // before the Get
		wantWait time.Duration // zero: no wait expected
	}{
		{"http://export.arxiv.org/api/query?a", 0, 0},
		{"http://export.arxiv.org/api/query?b", time.Second, 2 * time.Second},
		{"https://EXPORT.arxiv.org:443/api/query?c", 0, 3 * time.Second},
		{"http://rss.arxiv.org/rss/cs.LG", 0, 0},
		{"http://export.arxiv.org/api/query?d", 10 * time.Second, 0},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		before := len(clock.Waits())
		if _, err := f.Get(ctx, st.url, paper.Validators{}); err != nil {
			t.Fatalf("step %d: Get %s: %v", i, st.url, err)
		}
		waits := clock.Waits()[before:]
		switch {
		case st.wantWait == 0 && len(waits) != 0:
			t.Errorf("step %d: waited %v, want no wait", i, waits)
		case st.wantWait != 0 && (len(waits) != 1 || waits[0] != st.wantWait):
			t.Errorf("step %d: waited %v, want [%s]", i, waits, st.wantWait)
		}
	}
	if n := requests.Load(); n != int32(len(steps)) {
		t.Errorf("server saw %d requests, want %d", n, len(steps))
	}
}

// TestGetHostSerialized checks that requests to a host with an interval never overlap. The handler lingers so
// that overlapping requests, if the fetcher allowed them, would be seen; a correct fetcher can never fail this.
func TestGetHostSerialized(t *testing.T) {
	var inflight, maxInflight atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			m := maxInflight.Load()
			if n <= m || maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}))
	defer srv.Close()
	f, clock := fetcherForTest(FetcherOptions{HostIntervals: map[string]time.Duration{"127.0.0.1": 3 * time.Second}})

	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := f.Get(context.Background(), srv.URL, paper.Validators{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
	}
	if m := maxInflight.Load(); m != 1 {
		t.Errorf("up to %d concurrent requests to a serialized host, want 1", m)
	}
	if waits := clock.Waits(); len(waits) != n-1 {
		t.Errorf("politeness waits %v, want %d of them", waits, n-1)
	}
}

func TestGetCancelWhileWaitingInterval(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waiting := make(chan time.Duration, 1)
	f := NewFetcher(FetcherOptions{
		AllowPrivateNetworks: true, // the test server is on 127.0.0.1
		HostIntervals:        map[string]time.Duration{"127.0.0.1": time.Hour},
		// The real sleep, so that its ctx handling is what is tested; the hook only reports that it started.
		Sleep: func(ctx context.Context, d time.Duration) error {
			waiting <- d
			return sleepCtx(ctx, d)
		},
	})
	if _, err := f.Get(context.Background(), srv.URL, paper.Validators{}); err != nil {
		t.Fatalf("first Get: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := f.Get(ctx, srv.URL, paper.Validators{})
		errc <- err
	}()
	if d := <-waiting; d <= 0 || d > time.Hour {
		t.Errorf("asked to wait %s, want (0, 1h]", d)
	}
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestGetCancelWhileQueued(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	defer srv.Close()
	f, _ := fetcherForTest(FetcherOptions{HostIntervals: map[string]time.Duration{"127.0.0.1": time.Second}})

	firstErr := make(chan error, 1)
	go func() {
		_, err := f.Get(context.Background(), srv.URL, paper.Validators{})
		firstErr <- err
	}()
	<-entered
	// The first request holds the host's turn, so only the cancelled context can end this Get.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Get(ctx, srv.URL, paper.Validators{}); !errors.Is(err, context.Canceled) {
		t.Errorf("queued Get err = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-firstErr; err != nil {
		t.Errorf("first Get: %v", err)
	}
}

func TestGetRedirects(t *testing.T) {
	tests := []struct {
		name      string
		redirects int
		max       int
		wantErr   bool
	}{
		{"none", 0, 0, false},
		{"five by default", 5, 0, false},
		{"six by default", 6, 0, true},
		{"custom limit", 2, 1, true},
		{"disabled", 1, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := strconv.Atoi(r.URL.Query().Get("n"))
				if n < tt.redirects {
					http.Redirect(w, r, fmt.Sprintf("/r?n=%d", n+1), http.StatusFound)
					return
				}
				_, _ = io.WriteString(w, "final")
			}))
			defer srv.Close()
			f, _ := fetcherForTest(FetcherOptions{MaxRedirects: tt.max})
			resp, err := f.Get(context.Background(), srv.URL+"/r?n=0", paper.Validators{})
			if tt.wantErr {
				if !errors.Is(err, ErrTooManyRedirects) {
					t.Fatalf("err = %v, want ErrTooManyRedirects", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			wantFinal := fmt.Sprintf("%s/r?n=%d", srv.URL, tt.redirects)
			if string(resp.Body) != "final" || resp.FinalURL != wantFinal || resp.URL != srv.URL+"/r?n=0" {
				t.Errorf("body %q FinalURL %q URL %q; want final, %q", resp.Body, resp.FinalURL, resp.URL, wantFinal)
			}
		})
	}
}

func TestGetBadInput(t *testing.T) {
	f, _ := fetcherForTest(FetcherOptions{})
	for _, u := range []string{"ftp://example.org/feed", "http:///nohost", "://bad", "file:///etc/passwd"} {
		t.Run(u, func(t *testing.T) {
			if _, err := f.Get(context.Background(), u, paper.Validators{}); err == nil {
				t.Errorf("Get(%q) succeeded", u)
			}
		})
	}
	t.Run("zero Fetcher", func(t *testing.T) {
		var zero Fetcher
		if _, err := zero.Get(context.Background(), "https://example.org/", paper.Validators{}); err == nil {
			t.Error("zero Fetcher succeeded")
		}
	})
}

func TestNewTransportTimeouts(t *testing.T) {
	tests := []struct {
		name                    string
		opts                    FetcherOptions
		wantTLS, wantHeader     time.Duration
		wantCompressionDisabled bool
	}{
		{"defaults", FetcherOptions{}, DefaultTLSHandshakeTimeout, DefaultResponseHeaderTimeout, true},
		{"custom", FetcherOptions{TLSHandshakeTimeout: time.Second, ResponseHeaderTimeout: 2 * time.Second}, time.Second, 2 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(tt.opts, nil)
			if tr.TLSHandshakeTimeout != tt.wantTLS || tr.ResponseHeaderTimeout != tt.wantHeader ||
				tr.DisableCompression != tt.wantCompressionDisabled || tr.DialContext == nil {
				t.Errorf("transport TLS %s header %s compression disabled %v; want %s %s %v",
					tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout, tr.DisableCompression,
					tt.wantTLS, tt.wantHeader, tt.wantCompressionDisabled)
			}
		})
	}
}
