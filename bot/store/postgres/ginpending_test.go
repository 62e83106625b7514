package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestGinPendingList: a poll's full-text entries wait in the GIN pending list only between its commit and the
// merge right after it: a paper is searchable while they wait (a crash before the merge loses nothing), and once
// Ingest or ImportBatch returns nothing is left pending.
func TestGinPendingList(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	ctx := t.Context()
	// pendingPages merges the pending list and returns how many pages it held.
	pendingPages := func(t *testing.T) int64 {
		t.Helper()
		var n int64
		if err := s.pool.QueryRow(ctx, `SELECT gin_clean_pending_list('papers_fts'::regclass)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	found := func(t *testing.T, word string) int {
		t.Helper()
		ps, err := searchWords(ctx, s, []string{word}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(ps)
	}
	batch := func(word string, from int) []paper.Paper {
		var ps []paper.Paper
		for i := range 200 {
			ps = append(ps, arxiv(fmt.Sprintf("2609.%05d", from+i), t0.Add(time.Duration(i)*time.Minute), paper.AnnounceNew,
				fmt.Sprintf("Paper %d about %s", i, word), "Spiking networks and more words for the index."))
		}
		return ps
	}

	// A crash right after the commit: s.ingest is IngestAndRoute without its merge.
	if _, err := s.ingest(ctx, "arxiv", paper.Batch("arxiv", batch("axolotl", 0)), nil, t0, nil); err != nil {
		t.Fatal(err)
	}
	if n := found(t, "axolotl"); n != 200 {
		t.Errorf("before the merge: %d papers found, want 200", n)
	}
	if n := pendingPages(t); n == 0 {
		t.Error("a committed poll left nothing in the pending list: the test tests nothing")
	}
	if n := found(t, "axolotl"); n != 200 {
		t.Errorf("after the merge: %d papers found, want 200", n)
	}

	mustIngest(t, s, "arxiv", batch("narwhal", 1000), nil, t0)
	if n := pendingPages(t); n != 0 {
		t.Errorf("Ingest returned with %d pages of index entries pending", n)
	}
	if _, err := s.ImportBatch(ctx, "snapshot", batch("quokka", 2000), []byte("1"), t0); err != nil {
		t.Fatal(err)
	}
	if n := pendingPages(t); n != 0 {
		t.Errorf("ImportBatch returned with %d pages of index entries pending", n)
	}
	for _, w := range []string{"narwhal", "quokka"} {
		if n := found(t, w); n != 200 {
			t.Errorf("%s: %d papers found, want 200", w, n)
		}
	}
}
