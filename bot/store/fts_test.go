package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"

	"golang.org/x/text/unicode/norm"
)

// searchWords returns up to limit papers (all if limit <= 0) containing every word as a whole word in the title,
// abstract or authors, case- and diacritic-insensitively, newest first: the tests' and BenchmarkSearch's plain
// look-up, which checks the index itself without the query language. A word of several tokens ("EEG-based") must
// match them consecutively; a word with no letters or digits (`"`, `-`) constrains nothing and is ignored. With no
// word left, it returns nothing.
func searchWords(ctx context.Context, s *Store, words []string, limit int) ([]paper.Paper, error) {
	q := ftsAllWords(words)
	if q == "" {
		return nil, nil
	}
	return s.candidates(ctx, q, time.Time{}, limit)
}

// ftsAllWords builds the FTS5 expression requiring every word: each word becomes a string (a phrase of its
// tokens), so user input can never be FTS syntax: `OR`, `NEAR(` or `*` are plain words.
func ftsAllWords(words []string) string {
	var b strings.Builder
	for _, w := range words {
		w = norm.NFC.String(w)
		if !strings.ContainsFunc(w, isTokenRune) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(ftsQuote(w))
	}
	return b.String()
}

// isTokenRune mirrors unicode61's default token characters (categories L*, N* and Co).
func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r)
}

// mustPrefilter parses a query and returns its pre-filter. It parses as a stored query: the golden and random
// queries include short prefixes, which stored subscriptions may hold and list and backfill look up.
func mustPrefilter(t *testing.T, q string) *filters.Prefilter {
	t.Helper()
	parsed, err := filters.ParseStored(q)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	return parsed.Prefilter()
}

// TestFTS checks the FTS5 rendering of pre-filters: column filters, plural forms, prefixes, phrases and the
// fallback of long phrases to an AND of their words.
func TestFTS(t *testing.T) {
	t.Parallel()
	tests := []struct{ q, want string }{
		{"eeg", `{title abstract} : ("eeg" OR "eegs" OR "eeges")`},
		{"models", `{title abstract} : ("models" OR "modelses" OR "model")`},
		{"classes", `{title abstract} : ("classes" OR "classeses" OR "class" OR "classe")`},
		{"class", `{title abstract} : ("class" OR "classes")`},
		{"neuro*", `{title abstract} : ("neuro"*)`},
		{"title:eeg -survey", `title : ("eeg" OR "eegs" OR "eeges")`},
		{"au:hinton", `authors : ("hinton" OR "hintons" OR "hintones")`},
		{`abs:"deep net"`, `abstract : ("deep net" OR "deep nets" OR "deep netes" OR "deeps net" OR "deeps nets" OR ` +
			`"deeps netes" OR "deepes net" OR "deepes nets" OR "deepes netes")`},
		{"cat:cs.LG eeg", `{title abstract} : ("eeg" OR "eegs" OR "eeges")`},
		{"a1 (b1 OR c1)", `({title abstract} : ("a1" OR "a1s" OR "a1es")) AND (({title abstract} : ("b1" OR "b1s" OR "b1es")) OR ({title abstract} : ("c1" OR "c1s" OR "c1es")))`},
		{`"a1 b1 c1"`, `{title abstract} : (("a1" OR "a1s" OR "a1es") AND ("b1" OR "b1s" OR "b1es") AND ("c1" OR "c1s" OR "c1es"))`},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			t.Parallel()
			pre := mustPrefilter(t, tt.q)
			if pre == nil {
				t.Fatal("no pre-filter")
			}
			if got := ftsMatch(pre); got != tt.want {
				t.Errorf("ftsMatch =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	t.Run("hand-built trees", func(t *testing.T) {
		t.Parallel()
		all := filters.FieldTitle | filters.FieldAbstract | filters.FieldAuthors
		for _, c := range []struct {
			pre  *filters.Prefilter
			want string
		}{
			{&filters.Prefilter{Kind: filters.PreTerm, Fields: all, Words: [][]string{{`a"b`}}}, `{title abstract authors} : ("a""b")`},
			{&filters.Prefilter{Kind: filters.PreTerm, Fields: filters.FieldAuthors, Words: [][]string{{"ada"}, {"lo", "la"}}, Prefix: true},
				`authors : ("ada lo"* OR "ada la"*)`},
		} {
			if got := ftsMatch(c.pre); got != c.want {
				t.Errorf("ftsMatch =\n%s\nwant\n%s", got, c.want)
			}
		}
	})
}

// goldenRow is one query and the FTS5 expression that filters' former Query.FTS wrote for it.
type goldenRow struct {
	Query string `json:"query"`
	FTS5  string `json:"fts5"`
}

func readGolden(t *testing.T) []goldenRow {
	t.Helper()
	b, err := os.ReadFile("testdata/fts5_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []goldenRow
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestFTSGolden holds the rendering to the expressions the query language wrote before the pre-filter became a
// tree (captured from Query.FTS on 600 table, fuzz-seed and random queries), so that look-ups return the same
// candidates as before.
func TestFTSGolden(t *testing.T) {
	t.Parallel()
	rows := readGolden(t)
	if len(rows) < 600 {
		t.Fatalf("only %d golden rows", len(rows))
	}
	for _, row := range rows {
		pre := mustPrefilter(t, row.Query)
		got := ""
		if pre != nil {
			got = ftsMatch(pre)
		}
		if got != row.FTS5 {
			t.Errorf("query %q renders as\n%s\nwant\n%s", row.Query, got, row.FTS5)
		}
	}
}

// Words of the random papers of TestPropertyFTSIsSuperset: the vocabulary of the golden queries, with plural,
// diacritic and near-miss corner cases.
var (
	propWords  = []string{"eeg", "EEGs", "model", "models", "class", "classes", "bus", "buses", "process", "processes", "neural", "network", "deep", "learning", "glass", "spiking", "ai", "AIs", "schrödinger", "naïve", "Schro\u0308dinger"}
	propFiller = []string{"the", "of", "a", "for", "with", "on", "peeg", "decoder", "glas", "modeles", "i", "is"}
	propNames  = []string{"Geoffrey Hinton", "Yann LeCun", "Ada Lovelace", "Hinton Yann", "Ünal Deep", "Model Bus"}
)

func randText(r *rand.Rand, n int) string {
	seps := []string{" ", " ", " ", "-", ", ", ". "}
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(seps[r.IntN(len(seps))])
		}
		if r.IntN(3) == 0 {
			b.WriteString(propFiller[r.IntN(len(propFiller))])
		} else {
			b.WriteString(propWords[r.IntN(len(propWords))])
		}
	}
	return b.String()
}

// TestPropertyFTSIsSuperset runs the rendered pre-filters of the golden queries on real FTS5 over random papers:
// every stored paper a query matches must be among its candidates.
func TestPropertyFTSIsSuperset(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	r := rand.New(rand.NewPCG(5, 6))
	ps := make([]paper.Paper, 400)
	for i := range ps {
		ps[i] = arxiv(fmt.Sprintf("2609.%05d", i), t0.Add(-time.Duration(i)*time.Minute), paper.AnnounceNew,
			randText(r, 2+r.IntN(6)), randText(r, r.IntN(25)))
		ps[i].Authors = nil
		for _, n := range propNames {
			if r.IntN(3) == 0 {
				ps[i].Authors = append(ps[i].Authors, n)
			}
		}
	}
	mustIngest(t, s, "arxiv", ps, nil, t0)
	// Match what the store holds (normalized on the way in), as a look-up does.
	stored, err := s.Recent(t.Context(), time.Time{}, 0)
	if err != nil || len(stored) != len(ps) {
		t.Fatalf("Recent = %d papers, %v", len(stored), err)
	}
	narrowed, checked, excluded := 0, 0, 0
	for _, row := range readGolden(t) {
		q, err := filters.ParseStored(row.Query)
		if err != nil {
			t.Fatal(err)
		}
		pre := q.Prefilter()
		if pre == nil {
			continue
		}
		narrowed++
		cands, err := s.Candidates(t.Context(), pre, time.Time{}, 0)
		if err != nil {
			t.Fatalf("query %q: %v", q, err)
		}
		got := keysOf(cands)
		for i := range stored {
			in := slices.Contains(got, stored[i].Key)
			if _, ok := q.Match(&stored[i]); ok && !in {
				t.Fatalf("query %q matches %+v but FTS %q does not return it", q, stored[i], ftsMatch(pre))
			} else if ok {
				checked++
			} else if !in {
				excluded++
			}
		}
	}
	// Guard against a vacuous run: many matches checked, and an index that does narrow.
	if narrowed < 400 || checked < 20000 || excluded < 50000 {
		t.Fatalf("too few cases: %d narrowed queries, %d matches, %d papers excluded", narrowed, checked, excluded)
	}
}
