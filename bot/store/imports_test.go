package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestImportDeferredIndex: imported papers are indexed after their batch commits; papers an import stored whose
// indexing a crash interrupted stay pending (and are moved, merged or listed without corrupting the index) until
// the next Open indexes them: none is ever missing from the index for good.
func TestImportDeferredIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paperboy.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id, title string, pub time.Time) paper.Paper {
		p := paper.Paper{ArxivID: id, Version: 1, Title: title, Abstract: "About " + title + ".", Published: pub,
			URL: "https://arxiv.org/abs/" + id, Categories: []string{"cs.LG"}}
		p.Key = paper.KeyOf(p)
		return p
	}
	if _, err := s.ImportBatch(t.Context(), "snapshot", []paper.Paper{mk("2001.00001", "zebrafish", t0)}, []byte("1"), t0); err != nil {
		t.Fatal(err)
	}
	checkIntegrity(t, s)
	if ps, err := searchWords(t.Context(), s, []string{"zebrafish"}, 10); err != nil || len(ps) != 1 {
		t.Fatalf("search after ImportBatch = %d papers, %v; want the imported one", len(ps), err)
	}

	// A crash between an import's commit and its indexing: the rows are stored with their ids pending.
	tx, err := s.w.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), `UPDATE fts_defer SET deferred = 1`); err != nil {
		t.Fatal(err)
	}
	for i, p := range []paper.Paper{mk("2001.00002", "axolotl", t0.Add(time.Hour)), mk("2001.00003", "narwhal", t0.Add(2*time.Hour))} {
		r, err := rowOf(writeOp{id: (t0.Unix()+int64(i+1)*3600)<<idShift + 5, p: p})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(t.Context(), `INSERT INTO papers (id, key, arxiv_id, doi, title, abstract, authors,
			published, updated, first_seen, last_seen, data) VALUES (?, ?, '', '', ?, ?, '', ?, NULL, 0, 0, ?)`,
			r.ID, r.Key, r.Title, r.Abstract, r.Published, string(r.Data)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(t.Context(), `UPDATE fts_defer SET deferred = 0`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if ps, _ := searchWords(t.Context(), s, []string{"axolotl"}, 10); len(ps) != 0 {
		t.Fatalf("a pending paper is searchable before it is indexed")
	}
	// A listing merges into a pending paper and an earlier date moves it: the triggers must leave the index
	// alone and keep the pending id in step. (s.ingest is Ingest without its indexing after the commit, as a
	// crash right after the commit leaves it.)
	moved := mk("2001.00002", "axolotl regeneration", t0.Add(-time.Hour))
	moved.Version = 2
	if _, err := s.ingest(t.Context(), "arxiv", []paper.Paper{moved}, nil, t0.Add(3*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	var pending int
	if err := s.w.QueryRowContext(t.Context(), `SELECT count(*) FROM fts_pending f JOIN papers p ON p.id = f.id`).Scan(&pending); err != nil || pending != 2 {
		t.Fatalf("pending rows matching papers = %d, %v; want 2", pending, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkIntegrity(t, s)
	for _, w := range []string{"zebrafish", "regeneration", "narwhal"} {
		if ps, err := searchWords(t.Context(), s, []string{w}, 10); err != nil || len(ps) != 1 {
			t.Errorf("search %q after reopening = %d papers, %v; want 1", w, len(ps), err)
		}
	}
	if err := s.w.QueryRowContext(t.Context(), `SELECT count(*) FROM fts_pending`).Scan(&pending); err != nil || pending != 0 {
		t.Errorf("pending after Open = %d, %v", pending, err)
	}
}

// TestImportBatchDeferred: a deferred import batch stores every paper (in several multi-row statements when it is
// larger than insertRows) with its indexing pending, so that it is not searchable until IndexPending; then all
// are, and the index is sound.
func TestImportBatchDeferred(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 2*insertRows + 7
	ps := make([]paper.Paper, n)
	for i := range ps {
		id := fmt.Sprintf("2001.%05d", i+1)
		word := "quokka"
		if i == n-1 {
			word = "wombat" // the last row of the last, partial statement
		}
		// Several papers a second, so that ids share seconds.
		ps[i] = paper.Paper{ArxivID: id, Version: 1, Title: word + " " + id, Abstract: "About " + word + ".",
			Published: t0.Add(time.Duration(i/3) * time.Second), URL: "https://arxiv.org/abs/" + id, Categories: []string{"cs.LG"}}
		ps[i].Key = paper.KeyOf(ps[i])
	}
	res, err := s.ImportBatchDeferred(t.Context(), "snapshot", ps, []byte("1"), t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.New) != n {
		t.Fatalf("ImportBatchDeferred stored %d new papers, want %d", len(res.New), n)
	}
	var stored, pending int
	if err := s.w.QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM papers), (SELECT count(*) FROM fts_pending)`).Scan(&stored, &pending); err != nil {
		t.Fatal(err)
	}
	if stored != n || pending != n {
		t.Fatalf("after a deferred batch: %d stored, %d pending; want %d of each", stored, pending, n)
	}
	if got, _ := searchWords(t.Context(), s, []string{"wombat"}, 10); len(got) != 0 {
		t.Fatal("a pending paper is searchable before it is indexed")
	}
	if err := s.IndexPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkIntegrity(t, s)
	// The indexing run's larger FTS5 settings end with it: ingests keep the store's.
	var hashSize, automerge int64
	if err := s.w.QueryRowContext(t.Context(), `SELECT (SELECT v FROM papers_fts_config WHERE k = 'hashsize'),
		coalesce((SELECT v FROM papers_fts_config WHERE k = 'automerge'), 4)`).Scan(&hashSize, &automerge); err != nil {
		t.Fatal(err)
	}
	if hashSize != 8<<20 || automerge != 4 {
		t.Errorf("after indexing: hashsize %d, automerge %d; want the store's 8 MiB and 4", hashSize, automerge)
	}
	if got, err := searchWords(t.Context(), s, []string{"wombat"}, 10); err != nil || len(got) != 1 {
		t.Errorf("search wombat = %d papers, %v; want 1", len(got), err)
	}
	if got, err := searchWords(t.Context(), s, []string{"quokka"}, n); err != nil || len(got) != n-1 {
		t.Errorf("search quokka = %d papers, %v; want %d", len(got), err, n-1)
	}
}
