package postgres

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestDocument checks the documents built in Go as the server reads them: words folded as the query language
// folds them, weights by field, gaps between fields and between authors.
func TestDocument(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	p := paper.Paper{Title: "EEG-based Schrödinger", Abstract: "See foo.com, v1.2; EEG.", Authors: []string{"Émile Noether", "Ada"}}
	doc, ok := tsvectorOf(&p)
	if !ok {
		t.Fatal("a short paper is unindexed")
	}
	var got string
	if err := s.pool.QueryRow(t.Context(), `SELECT ($1::tsvector[])[1]::text`, tsDocs{doc}).Scan(&got); err != nil {
		t.Fatal(err)
	}
	// Title 1-3, gap, abstract 5-10 ("v1.2" is the words v1 and 2), gap, first author 12-13, gap, second author 15.
	want := `'2':9B 'ada':15C 'based':2A 'com':7B 'eeg':1A,10B 'emile':12C 'foo':6B 'noether':13C 'schrodinger':3A 'see':5B 'v1':8B`
	if got != want {
		t.Errorf("document\n got %s\nwant %s", got, want)
	}
}

// TestDocumentMatches runs hand-written tsqueries against stored documents: what a rendered pre-filter relies on.
func TestDocumentMatches(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	long := strings.Repeat("many words ", maxPosition/2) + "needle"
	often := strings.Repeat("again ", maxLexemeOccs+1)
	huge := strings.Repeat("x", 3000)
	papers := []paper.Paper{
		arxiv("2609.00001", t0.Add(-1*time.Hour), paper.AnnounceNew, "Title ends with foundation", "model starts the abstract"),
		arxiv("2609.00002", t0.Add(-2*time.Hour), paper.AnnounceNew, "A foundation model", "about neuroscience"),
		arxiv("2609.00003", t0.Add(-3*time.Hour), paper.AnnounceNew, "Long", long),
		arxiv("2609.00004", t0.Add(-4*time.Hour), paper.AnnounceNew, "Often", often),
		arxiv("2609.00005", t0.Add(-5*time.Hour), paper.AnnounceNew, "Huge "+huge+"y", "word"),
	}
	mustIngest(t, s, "arxiv", papers, nil, t0)
	k := func(i ...int) []string {
		out := []string{}
		for _, j := range i {
			out = append(out, papers[j].Key)
		}
		return out
	}
	// Papers 2 and 3 are unindexed (too many positions; a word too often): every look-up returns them.
	tests := []struct {
		name, query string
		want        []string
	}{
		{"phrase within a field", `'foundation':AB <-> 'model':AB`, k(1, 2, 3)},
		{"no phrase across fields", `'foundation' <-> 'model'`, k(1, 2, 3)},
		{"no phrase across authors", `'turing' <-> 'ada'`, k(2, 3)},
		{"phrase within an author", `'ada':C <-> 'lovelace':C`, k(0, 1, 2, 3, 4)},
		{"title weight", `'model':A`, k(1, 2, 3)},
		{"abstract weight", `'model':B`, k(0, 2, 3)},
		{"author weight excludes text", `'model':C`, k(2, 3)},
		{"prefix with weight", `'neuro':*B`, k(1, 2, 3)},
		{"or of forms in a phrase", `('foundations':A | 'foundation':A) <-> ('models':A | 'model':A)`, k(1, 2, 3)},
		{"cut word found by the same cut", quoteLexeme(cutLexeme(huge + "y")), k(2, 3, 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.candidates(t.Context(), tt.query, time.Time{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keysOf(got), tt.want) {
				t.Errorf("candidates(%s) = %v, want %v", tt.query, keysOf(got), tt.want)
			}
		})
	}
	var unindexed []string
	rows, err := s.pool.Query(t.Context(), `SELECT key FROM papers WHERE unindexed ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			t.Fatal(err)
		}
		unindexed = append(unindexed, key)
	}
	if !slices.Equal(unindexed, k(2, 3)) {
		t.Errorf("unindexed papers = %v", unindexed)
	}
	checkIntegrity(t, s)
}
