package ingest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/paperboy-bot/paperboy/sources"
)

// memImports is an in-memory HistoryStore: papers merged by key, one checkpoint per import name.
type memImports struct {
	mu     sync.Mutex
	papers map[string]paper.Paper
	states map[string][]byte
}

func (m *memImports) ImportState(_ context.Context, name string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[name]
	return s, ok, nil
}

func (m *memImports) ImportBatch(_ context.Context, name string, papers []paper.Paper, state []byte, _ time.Time) (paper.IngestResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var res paper.IngestResult
	for _, p := range papers {
		if old, ok := m.papers[p.Key]; ok {
			m.papers[p.Key] = paper.Merge(old, p)
			res.Unchanged++
			continue
		}
		m.papers[p.Key] = p
		res.New = append(res.New, p.Key)
	}
	m.states[name] = state
	return res, nil
}

var windowRe = regexp.MustCompile(`submittedDate:\[(\d{12}) TO (\d{12})\]`)

// historyAPI answers arXiv API queries with one paper per day of the asked window, in the API's Atom shape.
type historyAPI struct {
	mu      sync.Mutex
	windows []string
}

func (a *historyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := windowRe.FindStringSubmatch(r.URL.Query().Get("search_query"))
	if m == nil {
		http.Error(w, "no window", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.windows = append(a.windows, m[1]+"-"+m[2])
	a.mu.Unlock()
	from, _ := time.Parse("200601021504", m[1])
	until, _ := time.Parse("200601021504", m[2])
	var entries []string
	for d := from.Truncate(24 * time.Hour).Add(12 * time.Hour); !d.After(until); d = d.Add(24 * time.Hour) {
		if d.Before(from) {
			continue
		}
		id := "2611." + d.Format("0102") + "0"
		entries = append(entries, fmt.Sprintf(`<entry><id>http://arxiv.org/abs/%[1]sv1</id><published>%[2]s</published><updated>%[2]s</updated>
<title>EEG paper of %[2]s</title><summary>An abstract.</summary><author><name>A. Author</name></author>
<category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/></entry>`, id, d.Format(time.RFC3339)))
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>ArXiv Query</title><id>http://arxiv.org/api/x</id><updated>2026-11-30T00:00:00Z</updated>
<opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">%d</opensearch:totalResults>
%s</feed>`, len(entries), strings.Join(entries, "\n"))
}

func (a *historyAPI) asked() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.windows...)
}

// TestHistoryFill: a first start fetches the whole window; a restart within the poll interval fetches nothing; a
// restart after a longer gap fetches only the gap.
func TestHistoryFill(t *testing.T) {
	api := &historyAPI{}
	ts := httptest.NewServer(api)
	defer ts.Close()
	clock := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	st := &memImports{papers: map[string]paper.Paper{}, states: map[string][]byte{}}
	f := sources.NewFetcher(sources.FetcherOptions{AllowPrivateNetworks: true, HostIntervals: map[string]time.Duration{}})
	defer f.CloseIdleConnections()
	h := &History{Store: st, Get: f, Now: func() time.Time { return clock },
		Specs: map[string]HistorySpec{"arxiv-eeg": {Query: "abs:EEG", Window: 30 * 24 * time.Hour, Interval: time.Hour, BaseURL: ts.URL}}}

	if err := h.Fill(t.Context(), "arxiv-eeg"); err != nil {
		t.Fatal(err)
	}
	if got := api.asked(); len(got) != 1 || got[0] != "202610310900-202611300900" {
		t.Fatalf("first start asked %v, want the last 30 days", got)
	}
	if len(st.papers) != 30 {
		t.Errorf("%d papers stored, want 30 (one a day)", len(st.papers))
	}
	if err := h.Fill(t.Context(), "hf-daily"); err != nil || len(api.asked()) != 1 {
		t.Errorf("a source without history fetched: %v %v", err, api.asked())
	}

	clock = clock.Add(30 * time.Minute)
	if err := h.Fill(t.Context(), "arxiv-eeg"); err != nil {
		t.Fatal(err)
	}
	if got := api.asked(); len(got) != 1 {
		t.Errorf("a restart within the interval asked again: %v", got)
	}

	clock = clock.Add(3 * 24 * time.Hour)
	if err := h.Fill(t.Context(), "arxiv-eeg"); err != nil {
		t.Fatal(err)
	}
	if got := api.asked(); len(got) != 2 || got[1] != "202611300900-202612030930" {
		t.Errorf("a restart after 3 days asked %v, want only the gap", got)
	}
	if len(st.papers) != 33 {
		t.Errorf("%d papers stored, want 33", len(st.papers))
	}
	if _, ok := st.states[HistoryName("arxiv-eeg")]; !ok {
		t.Error("no checkpoint under the history name")
	}
}
