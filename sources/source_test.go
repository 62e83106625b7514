package sources

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// fakeGetter answers from a map of URL to response or error and records what it was asked.
type fakeGetter struct {
	mu        sync.Mutex
	responses map[string]*Response
	errs      map[string]error
	calls     []string
	prevs     map[string]paper.Validators
}

func (f *fakeGetter) Get(ctx context.Context, url string, prev paper.Validators) (*Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, url)
	if f.prevs == nil {
		f.prevs = make(map[string]paper.Validators)
	}
	f.prevs[url] = prev
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err, ok := f.errs[url]; ok {
		// Like the real Fetcher, errors name the URL (see Getter).
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	if r, ok := f.responses[url]; ok {
		return r, nil
	}
	return nil, &HTTPError{URL: url, StatusCode: 404}
}

func readTestdata(t *testing.T, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var fixedNow = time.Date(2026, 5, 18, 13, 45, 0, 0, time.FixedZone("EDT", -4*3600))

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		urls    []string // nil: New must fail
		wantErr bool
	}{
		{"arxiv categories", Config{Name: "ml", Kind: KindArxiv, Categories: []string{"cs.LG", "q-bio.NC", "hep-ex"}},
			[]string{"https://rss.arxiv.org/rss/cs.LG+q-bio.NC+hep-ex"}, false},
		{"arxiv url wins", Config{Name: "ml", Kind: KindArxiv, URL: "https://rss.arxiv.org/atom/cs.LG", Categories: []string{"x y"}},
			[]string{"https://rss.arxiv.org/atom/cs.LG"}, false},
		{"arxiv-api query", Config{Name: "api", Kind: KindArxivAPI, Query: `cat:q-bio.NC AND abs:"foundation model"`},
			[]string{"http://export.arxiv.org/api/query?search_query=cat%3Aq-bio.NC+AND+abs%3A%22foundation+model%22" +
				"&sortBy=submittedDate&sortOrder=descending&max_results=100"}, false},
		{"arxiv-api categories and base", Config{Name: "api", Kind: KindArxivAPI, URL: "https://mirror.example/api/query",
			Categories: []string{"cs.LG", "stat.ML"}, MaxResults: 50},
			[]string{"https://mirror.example/api/query?search_query=cat%3Acs.LG+OR+cat%3Astat.ML" +
				"&sortBy=submittedDate&sortOrder=descending&max_results=50"}, false},
		{"hf-daily default days", Config{Name: "hf", Kind: KindHFDaily}, []string{
			"https://huggingface.co/api/daily_papers?date=2026-05-17",
			"https://huggingface.co/api/daily_papers?date=2026-05-18"}, false},
		{"hf-daily three days, base", Config{Name: "hf", Kind: KindHFDaily, Days: 3, URL: "http://127.0.0.1:8080/dp"}, []string{
			"http://127.0.0.1:8080/dp?date=2026-05-16", "http://127.0.0.1:8080/dp?date=2026-05-17",
			"http://127.0.0.1:8080/dp?date=2026-05-18"}, false},
		{"rss", Config{Name: "biorxiv", Kind: KindRSS, URL: "http://connect.biorxiv.org/biorxiv_xml/neuroscience"},
			[]string{"http://connect.biorxiv.org/biorxiv_xml/neuroscience"}, false},

		{"no name", Config{Kind: KindRSS, URL: "https://e.org/feed"}, nil, true},
		{"unknown kind", Config{Name: "x", Kind: "atom"}, nil, true},
		{"arxiv without categories", Config{Name: "x", Kind: KindArxiv}, nil, true},
		{"arxiv bad category", Config{Name: "x", Kind: KindArxiv, Categories: []string{"cs.LG", "cs.AI/../x"}}, nil, true},
		{"arxiv empty category", Config{Name: "x", Kind: KindArxiv, Categories: []string{""}}, nil, true},
		{"arxiv relative url", Config{Name: "x", Kind: KindArxiv, URL: "rss.arxiv.org/rss/cs.LG"}, nil, true},
		{"arxiv-api nothing to ask", Config{Name: "x", Kind: KindArxivAPI}, nil, true},
		{"arxiv-api too many results", Config{Name: "x", Kind: KindArxivAPI, Query: "all:x", MaxResults: 5000}, nil, true},
		{"arxiv-api base with query", Config{Name: "x", Kind: KindArxivAPI, Query: "all:x", URL: "http://e.org/q?a=1"}, nil, true},
		{"hf-daily negative days", Config{Name: "x", Kind: KindHFDaily, Days: -1}, nil, true},
		{"hf-daily too many days", Config{Name: "x", Kind: KindHFDaily, Days: 100}, nil, true},
		{"hf-daily negative upvotes", Config{Name: "x", Kind: KindHFDaily, MinUpvotes: -1}, nil, true},
		{"rss without url", Config{Name: "x", Kind: KindRSS}, nil, true},
		{"rss ftp url", Config{Name: "x", Kind: KindRSS, URL: "ftp://e.org/feed"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &fakeGetter{errs: map[string]error{}}
			src, err := New(tt.cfg, g, func() time.Time { return fixedNow })
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrConfig) {
					t.Fatalf("New = %v, want an ErrConfig error", err)
				}
				if tt.cfg.Name != "" && !containsName(err, tt.cfg.Name) {
					t.Errorf("error %q does not name the source", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.Name() != tt.cfg.Name || src.Kind() != tt.cfg.Kind {
				t.Errorf("name/kind %q/%q", src.Name(), src.Kind())
			}
			// The fake answers 304 only for the expected URLs (404 otherwise), and records the order of the calls.
			g.responses = map[string]*Response{}
			for _, u := range tt.urls {
				g.responses[u] = &Response{URL: u, StatusCode: 304, NotModified: true}
			}
			if _, err := src.Poll(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.calls, tt.urls) {
				t.Errorf("fetched %q, want %q", g.calls, tt.urls)
			}
		})
	}
}

// containsName reports whether err quotes the source name, as every source error must.
func containsName(err error, name string) bool {
	return err != nil && strings.Contains(err.Error(), `"`+name+`"`)
}

func TestPollArxiv(t *testing.T) {
	const u = "https://rss.arxiv.org/rss/cs.LG+cs.AI+cs.CL+stat.ML"
	g := &fakeGetter{responses: map[string]*Response{u: {
		URL: u, StatusCode: 200, Body: readTestdata(t, "arxiv-rss", "rss2_multi_category_captured.xml"),
		Validators: paper.Validators{ETag: `"v2"`, LastModified: "Thu, 24 Sep 2026 08:58:05 GMT"}, MaxAge: 30 * time.Minute,
	}}}
	src, err := New(Config{Name: "ml", Kind: KindArxiv, Categories: []string{"cs.LG", "cs.AI", "cs.CL", "stat.ML"}}, g,
		func() time.Time { return fixedNow })
	if err != nil {
		t.Fatal(err)
	}
	prev := map[string]paper.Validators{u: {ETag: `"v1"`}}
	res, err := src.Poll(context.Background(), prev)
	if err != nil {
		t.Fatal(err)
	}
	if g.prevs[u] != prev[u] {
		t.Errorf("getter got validators %+v, want %+v", g.prevs[u], prev[u])
	}
	if res.NotModified || len(res.Papers) != 4 {
		t.Fatalf("NotModified %v, %d papers; want false, 4", res.NotModified, len(res.Papers))
	}
	for _, p := range res.Papers {
		if !slices.Equal(p.Sources, []string{"ml"}) {
			t.Errorf("%s: sources %q", p.Key, p.Sources)
		}
	}
	if res.Validators[u] != (paper.Validators{ETag: `"v2"`, LastModified: "Thu, 24 Sep 2026 08:58:05 GMT"}) {
		t.Errorf("validators %+v", res.Validators)
	}
	if !res.NextPoll.Equal(fixedNow.Add(30 * time.Minute)) {
		t.Errorf("NextPoll %v, want now+30m", res.NextPoll)
	}
}

func TestPollNotModified(t *testing.T) {
	g := &fakeGetter{responses: map[string]*Response{}}
	src, err := New(Config{Name: "hf", Kind: KindHFDaily}, g, func() time.Time { return fixedNow })
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := DefaultHFDailyBase+"?date=2026-05-17", DefaultHFDailyBase+"?date=2026-05-18"
	prev := map[string]paper.Validators{d1: {ETag: "a"}, d2: {ETag: "b"}}
	g.responses[d1] = &Response{URL: d1, StatusCode: 304, NotModified: true, Validators: paper.Validators{ETag: "a"}}
	// A fetcher that forgets to echo the validators on 304 must not make the poll lose them.
	g.responses[d2] = &Response{URL: d2, StatusCode: 304, NotModified: true}
	res, err := src.Poll(context.Background(), prev)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotModified || len(res.Papers) != 0 || res.Validators[d1] != prev[d1] || res.Validators[d2] != prev[d2] {
		t.Errorf("all 304: got %+v", res)
	}

	t.Run("one day changed", func(t *testing.T) {
		g.responses[d2] = &Response{URL: d2, StatusCode: 200, Body: readTestdata(t, "hf", "daily_papers_trimmed_2items.json"),
			Validators: paper.Validators{ETag: "c"}}
		res, err := src.Poll(context.Background(), prev)
		if err != nil {
			t.Fatal(err)
		}
		if res.NotModified || len(res.Papers) != 2 || res.Validators[d2].ETag != "c" || res.Validators[d1].ETag != "a" {
			t.Errorf("got %+v", res)
		}
	})
}

func TestPollHFMinUpvotesAndDedup(t *testing.T) {
	body := readTestdata(t, "hf", "daily_papers_trimmed_2items.json") // upvotes 1 and 2
	g := &fakeGetter{responses: map[string]*Response{}}
	for _, d := range []string{"2026-05-17", "2026-05-18"} {
		u := DefaultHFDailyBase + "?date=" + d
		g.responses[u] = &Response{URL: u, StatusCode: 200, Body: body}
	}
	tests := []struct {
		min  int
		want []string
	}{
		{0, []string{"arxiv:2605.15320", "arxiv:2605.15963"}},
		{2, []string{"arxiv:2605.15963"}},
		{3, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("min=%d", tt.min), func(t *testing.T) {
			src, err := New(Config{Name: "hf", Kind: KindHFDaily, MinUpvotes: tt.min}, g, func() time.Time { return fixedNow })
			if err != nil {
				t.Fatal(err)
			}
			res, err := src.Poll(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, p := range res.Papers {
				keys = append(keys, p.Key)
			}
			if !slices.Equal(keys, tt.want) {
				t.Errorf("keys %q, want %q (each once although listed on two days)", keys, tt.want)
			}
		})
	}
}

func TestPollErrors(t *testing.T) {
	const u = "https://example.org/feed.xml"
	boom := errors.New("connection reset")
	tests := []struct {
		name  string
		resp  *Response
		err   error
		check func(error) bool
	}{
		{"fetch error", nil, boom, func(err error) bool { return errors.Is(err, boom) }},
		{"http error", nil, &HTTPError{URL: u, StatusCode: 503, RetryAfter: time.Minute}, func(err error) bool {
			var he *HTTPError
			return errors.As(err, &he) && he.RetryAfter == time.Minute
		}},
		{"too large", nil, ErrTooLarge, func(err error) bool { return errors.Is(err, ErrTooLarge) }},
		{"html instead of feed", &Response{URL: u, StatusCode: 200, Body: []byte("<html><body>login</body></html>")}, nil,
			func(err error) bool { return err != nil }},
		{"context canceled", nil, context.Canceled, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &fakeGetter{responses: map[string]*Response{}, errs: map[string]error{}}
			if tt.resp != nil {
				g.responses[u] = tt.resp
			} else {
				g.errs[u] = tt.err
			}
			src, err := New(Config{Name: "blog", Kind: KindRSS, URL: u}, g, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := src.Poll(context.Background(), nil)
			if err == nil || !tt.check(err) {
				t.Fatalf("Poll error %v, want the cause preserved", err)
			}
			if !containsName(err, "blog") || !strings.Contains(err.Error(), u) {
				t.Errorf("error %q should name the source and the URL", err)
			}
			if res.Validators != nil || res.Papers != nil {
				t.Errorf("failed poll returned %+v; want nothing to store", res)
			}
		})
	}

	t.Run("api error feed", func(t *testing.T) {
		g := &fakeGetter{responses: map[string]*Response{}}
		src, err := New(Config{Name: "api", Kind: KindArxivAPI, Query: "id:1234.12345"}, g, nil)
		if err != nil {
			t.Fatal(err)
		}
		u := "http://export.arxiv.org/api/query?search_query=id%3A1234.12345&sortBy=submittedDate&sortOrder=descending&max_results=100"
		g.responses[u] = &Response{URL: u, StatusCode: 200, Body: readTestdata(t, "arxiv-api", "error_docs_example.xml")}
		_, err = src.Poll(context.Background(), nil)
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("error %v, want *APIError", err)
		}
	})
}
