package sources

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// fakeArxivAPI serves export.arxiv.org/api/query for "(QUERY) AND submittedDate:[A TO B]", sorted by submission date,
// paged by start and max_results, in the Atom shape of the API's documentation.
type fakeArxivAPI struct {
	t      *testing.T
	papers []struct {
		id  string
		sub time.Time
	}
	mu       sync.Mutex
	requests []string // "from-until@start"
	queries  []string
}

var submittedRe = regexp.MustCompile(`^\((.*)\) AND submittedDate:\[(\d{12}) TO (\d{12})\]$`)

func (a *fakeArxivAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m := submittedRe.FindStringSubmatch(q.Get("search_query"))
	if m == nil || q.Get("sortBy") != "submittedDate" {
		a.t.Errorf("unexpected query %q", r.URL.RawQuery)
		http.Error(w, "bad query", http.StatusBadRequest)
		return
	}
	from, _ := time.Parse("200601021504", m[2])
	until, _ := time.Parse("200601021504", m[3])
	start, _ := strconv.Atoi(q.Get("start"))
	size, _ := strconv.Atoi(q.Get("max_results"))
	if size > MaxMaxResults {
		a.t.Errorf("max_results %d above the API's limit", size)
	}
	a.mu.Lock()
	a.requests = append(a.requests, fmt.Sprintf("%s-%s@%d", m[2], m[3], start))
	a.queries = append(a.queries, m[1])
	a.mu.Unlock()
	var hits []string
	for _, p := range a.papers {
		if !p.sub.Before(from) && !p.sub.After(until) {
			hits = append(hits, fmt.Sprintf(`  <entry>
    <id>http://arxiv.org/abs/%[1]sv1</id>
    <published>%[2]s</published>
    <updated>%[2]s</updated>
    <title>History paper %[1]s</title>
    <summary>  An abstract.
</summary>
    <author><name>A. Author</name></author>
    <link href="http://arxiv.org/abs/%[1]sv1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/%[1]sv1" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
`, p.id, p.sub.Format(time.RFC3339)))
		}
	}
	page := hits[min(start, len(hits)):min(start+size, len(hits))]
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">ArXiv Query</title>
  <id>http://arxiv.org/api/x</id>
  <updated>2026-11-30T00:00:00-05:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">%d</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">%d</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">%d</opensearch:itemsPerPage>
%s</feed>
`, len(hits), start, size, strings.Join(page, ""))
}

func newFakeArxivAPI(t *testing.T, n int, from time.Time, every time.Duration) *fakeArxivAPI {
	a := &fakeArxivAPI{t: t}
	for i := range n {
		a.papers = append(a.papers, struct {
			id  string
			sub time.Time
		}{fmt.Sprintf("2511.%05d", i+1), from.Add(time.Duration(i)*every + 7*time.Second)})
	}
	return a
}

func TestHistoryFetchPagesAndSplits(t *testing.T) {
	until := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	from := until.AddDate(0, 0, -30)
	api := newFakeArxivAPI(t, 23, from.Add(time.Hour), 29*time.Hour)
	ts := httptest.NewServer(api)
	defer ts.Close()
	clock := newFakeClock()
	f := NewFetcher(FetcherOptions{AllowPrivateNetworks: true, HostIntervals: ArxivHostIntervals(testGap, ts.URL), Now: clock.Now, Sleep: clock.Sleep})
	defer f.CloseIdleConnections()
	// A total limit of 10 makes the 23-paper month too big for one query: it is fetched as halves (and quarters).
	h := &HistoryFetcher{Get: f, BaseURL: ts.URL, PageSize: 4, MaxTotal: 10, Sleep: clock.Sleep}

	query, err := Config{Name: "arxiv-ml", Kind: KindArxiv, Categories: []string{"cs.LG", "stat.ML"}}.HistoryQuery()
	if err != nil || query != "cat:cs.LG OR cat:stat.ML" {
		t.Fatalf("history query %q, %v", query, err)
	}
	got := map[string]int{}
	var saved []byte
	store := func(_ context.Context, papers []paper.Paper, next HistoryCheckpoint) error {
		for _, p := range papers {
			got[p.Key]++
		}
		var err error
		saved, err = json.Marshal(next)
		return err
	}

	// Interrupt after the first stored page, then resume from what was saved.
	ctx, cancel := context.WithCancel(t.Context())
	first := true
	_, err = h.Fetch(ctx, NewHistoryCheckpoint(query, from, until), func(ctx context.Context, papers []paper.Paper, next HistoryCheckpoint) error {
		if first {
			first = false
			defer cancel()
			return store(ctx, papers, next)
		}
		return context.Canceled
	})
	if err == nil {
		t.Fatal("interrupted fetch returned no error")
	}
	var cp HistoryCheckpoint
	if err := json.Unmarshal(saved, &cp); err != nil {
		t.Fatal(err)
	}
	if cp.Done || cp.Pages != 1 || cp.Start == 0 {
		t.Fatalf("checkpoint after one page %+v", cp)
	}
	final, err := h.Fetch(t.Context(), cp, store)
	if err != nil {
		t.Fatal(err)
	}
	if !final.Done || len(final.Pending) != 0 {
		t.Errorf("final checkpoint %+v", final)
	}
	if len(got) != 23 {
		t.Errorf("%d papers fetched, want 23", len(got))
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("paper %s delivered %d times", k, n)
		}
	}
	// No (window, start) page was asked for twice except the interrupted one, whose page was never stored.
	seen := map[string]int{}
	for _, r := range api.requests {
		seen[r]++
	}
	var dup []string
	for r, n := range seen {
		if n > 1 {
			dup = append(dup, r)
		}
	}
	sort.Strings(dup)
	if len(dup) > 1 {
		t.Errorf("pages fetched more than once: %v (requests %v)", dup, api.requests)
	}
	windows := map[string]bool{}
	for _, r := range api.requests {
		windows[strings.Split(r, "@")[0]] = true
	}
	if len(windows) < 3 {
		t.Errorf("the month was not split (windows %v) although it holds more than MaxTotal papers", windows)
	}
	for _, q := range api.queries {
		if q != query {
			t.Errorf("query %q, want the source's %q", q, query)
		}
	}
}

func TestHistoryQuery(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
		bad  bool
	}{
		{cfg: Config{Kind: KindArxivAPI, Query: "abs:EEG AND cat:cs.LG", Categories: []string{"cs.LG"}}, want: "abs:EEG AND cat:cs.LG"},
		{cfg: Config{Kind: KindArxivAPI, Categories: []string{"q-bio.NC"}}, want: "cat:q-bio.NC"},
		{cfg: Config{Kind: KindArxiv, Categories: []string{"cs.LG", "stat.ML"}}, want: "cat:cs.LG OR cat:stat.ML"},
		{cfg: Config{Kind: KindArxiv, URL: "https://rss.arxiv.org/rss/cs.LG"}, bad: true},
		{cfg: Config{Kind: KindRSS, URL: "https://example.org/feed"}, bad: true},
		{cfg: Config{Kind: KindHFDaily}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.cfg.Kind+"/"+tt.want, func(t *testing.T) {
			got, err := tt.cfg.HistoryQuery()
			if (err != nil) != tt.bad || got != tt.want {
				t.Errorf("HistoryQuery() = %q, %v; want %q (error: %t)", got, err, tt.want, tt.bad)
			}
		})
	}
}
