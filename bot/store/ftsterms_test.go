package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// prefixCorpus ingests n papers over a vocabulary of many words sharing prefixes, in batches, with a tiny FTS5 hash
// and no automerge, so that the index has many segments of many leaf pages, terms starting on a page's first
// byte and doclists crossing pages. It returns the vocabulary.
func prefixCorpus(t *testing.T, s *Store, n int) []string {
	t.Helper()
	if _, err := s.w.ExecContext(t.Context(), `INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', 2048);
		INSERT INTO papers_fts(papers_fts, rank) VALUES ('automerge', 0)`); err != nil {
		t.Fatal(err)
	}
	var vocab []string
	for _, stem := range []string{"neur", "neuro", "spik", "transform", "a", "b", "z", "x1"} {
		for _, tail := range []string{"", "al", "on", "ons", "science", "modulation", "er", "ers", "ing", "9", "0x"} {
			vocab = append(vocab, stem+tail)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	text := func(words int) string {
		ws := make([]string, words)
		for i := range ws {
			ws[i] = vocab[r.IntN(len(vocab))]
		}
		return strings.Join(ws, " ")
	}
	for batch := 0; batch*100 < n; batch++ {
		var ps []paper.Paper
		for i := batch * 100; i < min(n, (batch+1)*100); i++ {
			ps = append(ps, arxiv(fmt.Sprintf("2609.%05d", i), t0.Add(time.Duration(i)*time.Minute), paper.AnnounceNew,
				text(3+r.IntN(5)), text(10+r.IntN(60))))
		}
		mustIngest(t, s, "arxiv", ps, nil, t0.Add(time.Duration(batch)*time.Hour))
	}
	return vocab
}

// TestPrefixTermsMatchVocab checks the words prefixTerms reads off the index's pages against FTS5's own list of
// its words (the fts5vocab table), for prefixes of every length over an index of many segments and pages, then
// after the segments are merged into one.
func TestPrefixTermsMatchVocab(t *testing.T) {
	s, _ := openTest(t)
	vocab := prefixCorpus(t, s, 1500)
	if _, err := s.w.ExecContext(t.Context(), `CREATE VIRTUAL TABLE temp.papers_vocab USING fts5vocab(main, papers_fts, 'row')`); err != nil {
		t.Fatal(err)
	}
	want := func(prefix string) []string {
		rows, err := s.w.QueryContext(t.Context(), `SELECT term FROM temp.papers_vocab WHERE term >= ? AND term < ?`,
			prefix, prefix[:len(prefix)-1]+string(prefix[len(prefix)-1]+1))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var term string
			if err := rows.Scan(&term); err != nil {
				t.Fatal(err)
			}
			out = append(out, term)
		}
		return out
	}
	prefixes := []string{"q", "zz"} // none
	for _, w := range vocab {
		for i := 1; i <= len(w); i++ {
			if !slices.Contains(prefixes, w[:i]) {
				prefixes = append(prefixes, w[:i])
			}
		}
	}
	check := func(t *testing.T, wantSegments bool) {
		segs, err := ftsSegments(t.Context(), s.w)
		if err != nil {
			t.Fatal(err)
		}
		if wantSegments && len(segs) < 5 {
			t.Fatalf("%d segments: the test wants many", len(segs))
		}
		for _, p := range prefixes {
			got, ok, err := prefixTerms(t.Context(), s.w, p, 1000)
			if err != nil || !ok {
				t.Fatalf("prefixTerms(%q) = %v, %v, %v", p, got, ok, err)
			}
			slices.Sort(got)
			if w := want(p); !slices.Equal(got, w) {
				t.Errorf("prefixTerms(%q) = %v, fts5vocab says %v", p, got, w)
			}
		}
	}
	t.Run("many segments", func(t *testing.T) { check(t, true) })
	if _, err := s.w.ExecContext(t.Context(), `INSERT INTO papers_fts(papers_fts) VALUES ('optimize')`); err != nil {
		t.Fatal(err)
	}
	t.Run("merged", func(t *testing.T) { check(t, false) })

	t.Run("too many or not plain", func(t *testing.T) {
		for _, p := range []string{"n", "", "Neur", "neür", "neur-"} {
			limit := 3
			if got, ok, err := prefixTerms(t.Context(), s.w, p, limit); ok || err != nil {
				t.Errorf("prefixTerms(%q, %d) = %v, %v, %v; want not ok", p, limit, got, ok, err)
			}
		}
	})
}

// TestPrefixLookups checks that a look-up with a prefix, which spells the prefix out from the index, yields the
// same candidates, in the same order, as FTS5's own prefix query, within prefixes, phrases, windows and limits.
func TestPrefixLookups(t *testing.T) {
	s, _ := openTest(t)
	prefixCorpus(t, s, 600)
	for _, q := range []string{"neur*", "title:neur*", "neuro* spik*", "transform* OR neuronscience", "a* -b*",
		"x1*", "q*", "author:neur*", "\"spiking neur*\"", "ne*"} {
		for _, since := range []time.Time{{}, t0.Add(400 * time.Minute)} {
			for _, limit := range []int{0, 7} {
				t.Run(fmt.Sprintf("%s/%d/%d", q, since.Unix(), limit), func(t *testing.T) {
					pre := mustPrefilter(t, q)
					want, err := s.Candidates(t.Context(), pre, since, limit)
					if err != nil {
						t.Fatal(err)
					}
					var got []paper.Paper
					if err := s.ScanCandidates(t.Context(), pre, since, limit, func(p paper.Paper) bool {
						got = append(got, p)
						return true
					}); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(keysOf(got), keysOf(want)) {
						t.Errorf("spelled out: %v\nFTS5 prefix: %v", keysOf(got), keysOf(want))
					}
				})
			}
		}
	}
	// The prefix really is spelled out: the expression names the words, not the prefix.
	pre := mustPrefilter(t, "title:neur*")
	terms, ok, err := prefixTerms(t.Context(), s.look, "neur", maxPrefixTerms)
	if err != nil || !ok || len(terms) < 5 {
		t.Fatalf("prefixTerms(neur) = %v, %v, %v", terms, ok, err)
	}
	if expr := ftsMatchSpelled(pre, map[string][]string{"neur": terms}); strings.Contains(expr, "*") || !strings.Contains(expr, `"neurons"`) {
		t.Errorf("spelled expression %s", expr)
	}
}

// TestMergeIndex checks that MergeIndex leaves the index of many segments as one, intact, answering as before.
func TestMergeIndex(t *testing.T) {
	s, _ := openTest(t)
	prefixCorpus(t, s, 800)
	pre := mustPrefilter(t, "neuro* spiking")
	before, err := s.Candidates(t.Context(), pre, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := ftsSegments(t.Context(), s.r)
	if err != nil || len(segs) < 5 {
		t.Fatalf("%d segments before the merge (%v): the test wants many", len(segs), err)
	}
	if err := s.MergeIndex(t.Context()); err != nil {
		t.Fatal(err)
	}
	if segs, err = ftsSegments(t.Context(), s.r); err != nil || len(segs) != 1 {
		t.Errorf("%d segments after the merge (%v), want 1", len(segs), err)
	}
	if _, err := s.w.ExecContext(t.Context(), `INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')`); err != nil {
		t.Errorf("integrity-check after the merge: %v", err)
	}
	after, err := s.Candidates(t.Context(), pre, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 || !slices.Equal(keysOf(after), keysOf(before)) {
		t.Errorf("after the merge %d candidates, before %d", len(after), len(before))
	}
	// Merged already: one more merge has nothing to do.
	if err := s.MergeIndex(t.Context()); err != nil {
		t.Fatal(err)
	}
}
