package store

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestIngestDeferredIndex: Ingest stores new papers without indexing them in the poll's transaction and indexes
// them right after, so a paper is searchable once Ingest returns; a new version's title and abstract replace the
// old ones in the index; and a crash between the poll's commit and its indexing loses no paper from the index:
// the next Ingest or Open indexes what is pending, with its latest text.
func TestIngestDeferredIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paperboy.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id string, version int, title string) paper.Paper {
		p := paper.Paper{ArxivID: id, Version: version, Title: title, Abstract: "We study " + title + ".",
			Published: t0, URL: "https://arxiv.org/abs/" + id, Categories: []string{"q-bio.NC"}}
		p.Key = paper.KeyOf(p)
		return p
	}
	found := func(t *testing.T, word string) int {
		t.Helper()
		ps, err := searchWords(t.Context(), s, []string{word}, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(ps)
	}
	pending := func(t *testing.T) int {
		t.Helper()
		var n int
		if err := s.w.QueryRowContext(t.Context(), `SELECT count(*) FROM fts_pending`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	steps := []struct {
		name    string
		papers  []paper.Paper
		crash   bool // commit the poll, skip its indexing, as a crash right after the commit does
		reopen  bool // then start again: Open indexes what is pending
		found   []string
		missing []string
		pending int
	}{
		{name: "new papers are searchable when Ingest returns",
			papers: []paper.Paper{mk("2503.00001", 1, "zebrafish larvae"), mk("2503.00002", 1, "octopus arms")},
			found:  []string{"zebrafish", "octopus"}},
		{name: "a new version's title replaces the old one in the index",
			papers:  []paper.Paper{mk("2503.00001", 2, "medaka larvae")},
			found:   []string{"medaka", "larvae", "octopus"},
			missing: []string{"zebrafish"}},
		{name: "a crash after the commit leaves new papers pending, not searchable yet",
			papers:  []paper.Paper{mk("2503.00003", 1, "axolotl limbs"), mk("2503.00002", 2, "squid arms")},
			crash:   true,
			found:   []string{"squid"},
			missing: []string{"axolotl", "octopus"},
			pending: 1},
		{name: "a pending paper's new version changes what will be indexed",
			papers:  []paper.Paper{mk("2503.00003", 2, "salamander limbs")},
			crash:   true,
			missing: []string{"axolotl", "salamander"},
			pending: 1},
		{name: "Open indexes the pending papers with their latest text",
			reopen:  true,
			found:   []string{"salamander", "limbs", "squid", "medaka"},
			missing: []string{"axolotl", "zebrafish", "octopus"}},
		{name: "the next ingest indexes what a crash left pending",
			papers:  []paper.Paper{mk("2503.00004", 1, "lamprey spinal cord")},
			crash:   true,
			missing: []string{"lamprey"},
			pending: 1},
		{name: "and its own papers",
			papers: []paper.Paper{mk("2503.00005", 1, "hydra regeneration")},
			found:  []string{"lamprey", "hydra", "salamander"}},
	}
	at := t0
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			at = at.Add(time.Hour)
			if len(st.papers) > 0 {
				if st.crash {
					_, err = s.ingest(t.Context(), "arxiv", st.papers, nil, at, nil)
				} else {
					_, err = s.Ingest(t.Context(), "arxiv", st.papers, nil, at)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if st.reopen {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if s, err = Open(t.Context(), path); err != nil {
					t.Fatal(err)
				}
			}
			if st.pending == 0 {
				// FTS5's check compares the index with every row of papers, pending ones included.
				checkIntegrity(t, s)
			}
			for _, w := range st.found {
				if n := found(t, w); n != 1 {
					t.Errorf("search %q = %d papers, want 1", w, n)
				}
			}
			for _, w := range st.missing {
				if n := found(t, w); n != 0 {
					t.Errorf("search %q = %d papers, want none", w, n)
				}
			}
			if n := pending(t); n != st.pending {
				t.Errorf("%d papers pending, want %d", n, st.pending)
			}
		})
	}
}
