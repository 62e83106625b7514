package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/ingest"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/sources"
)

// TestSourceFaultsAreIsolated polls four real feeds through the real fetcher into a real store: one healthy, one
// answering 500, one too slow for the fetch timeout, one serving garbage. The healthy one ingests while the others
// fail; once they heal, each of them ingests too.
func TestSourceFaultsAreIsolated(t *testing.T) {
	feed, err := os.ReadFile(filepath.Join("testdata", "arxiv_rss2_multi_category_captured.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var healed atomic.Bool
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	mux := http.NewServeMux()
	mux.HandleFunc("/good", func(w http.ResponseWriter, r *http.Request) { w.Write(feed) })
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) {
		if !healed.Load() {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Write(feed)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		if !healed.Load() {
			select { // hold the request past the fetcher's timeout
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Write(feed)
	})
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) {
		if !healed.Load() {
			w.Write([]byte("<html><body>Service temporarily unavailable"))
			return
		}
		w.Write(feed)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := sources.NewFetcher(sources.FetcherOptions{Timeout: 300 * time.Millisecond, AllowPrivateNetworks: true})
	var srcs []sources.Source
	for _, name := range []string{"good", "500", "slow", "garbage"} {
		s, err := sources.New(sources.Config{Name: "feed-" + name, Kind: "rss", URL: srv.URL + "/" + name}, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	p := &ingest.Poller{State: st, Sink: st}
	poll := func() map[string]ingest.PollReport {
		out := map[string]ingest.PollReport{}
		for _, s := range srcs {
			out[s.Name()] = p.PollOnce(ctx, s)
		}
		return out
	}

	first := poll()
	if r := first["feed-good"]; r.Err != nil || r.New != 3 || r.Fetched != 4 {
		t.Errorf("healthy source: %+v, want 4 fetched and 3 new (one is a replace) despite the others failing", r)
	}
	for _, name := range []string{"feed-500", "feed-slow", "feed-garbage"} {
		if first[name].Err == nil {
			t.Errorf("%s: no error reported", name)
		}
	}
	states, err := st.SourceStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.Source != "feed-good" && (s.LastError == "" || s.ConsecutiveFailures != 1) {
			t.Errorf("%s: failure not recorded: %+v", s.Source, s)
		}
	}

	healed.Store(true)
	second := poll()
	for _, name := range []string{"feed-500", "feed-slow", "feed-garbage"} {
		// The papers are already stored (same keys as the good feed), so recovery shows as success, not as new.
		if r := second[name]; r.Err != nil || r.Fetched != 4 {
			t.Errorf("%s after healing: %+v, want a clean poll of 4 papers", name, r)
		}
	}
	if all, _ := st.Recent(ctx, time.Time{}, 0); len(all) != 4 {
		n := len(all)
		t.Errorf("store holds %d papers, want 4 (one per paper, whatever the source)", n)
	}
}
