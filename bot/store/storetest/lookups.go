package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

var lookupCases = []testCase{
	{"recent papers", testRecent},
	{"candidates of a query", testCandidates},
	{"scanning candidates stops early, in Candidates' order", testScanCandidates},
}

// candidates calls Candidates the way the command core does: the query language parses query and hands the store
// its pre-filter. This is the one place that knows the form of that argument.
func candidates(t *testing.T, s Store, q *filters.Query, since time.Time, limit int) []paper.Paper {
	t.Helper()
	pre := q.Prefilter()
	if pre == nil {
		t.Fatalf("query %q has no pre-filter", q)
	}
	ps, err := s.Candidates(t.Context(), pre, since, limit)
	if err != nil {
		t.Fatalf("Candidates(%q): %v", q, err)
	}
	return ps
}

// lookupPapers are the papers the look-up tests search, oldest to newest by publication (ingested in another
// order).
func lookupPapers() []paper.Paper {
	ps := []paper.Paper{
		arxiv("2609.00001", t0.Add(-48*time.Hour), paper.AnnounceNew, "Neural decoding of speech", "An old paper.", "cs.CL"),
		arxiv("2609.00002", t0.Add(-3*time.Hour), paper.AnnounceNew, "Quantum Schrödinger bridges", "Bridges.", "quant-ph"),
		arxiv("2609.00003", t0.Add(-1*time.Hour), paper.AnnounceNew, "Neuromorphic chips", "A chip for spiking networks.", "cs.NE"),
		arxiv("2609.00004", t0, paper.AnnounceNew, "Graph networks", "The newest decoding method.", "cs.LG"),
	}
	ps[1].Authors = []string{"Émile Noether"}
	return ps
}

func testRecent(t *testing.T, s Store) {
	ps := lookupPapers()
	mustIngest(t, s, "arxiv", []paper.Paper{ps[2], ps[0], ps[3], ps[1]}, nil, t0)
	k := func(i ...int) []string {
		out := []string{}
		for _, j := range i {
			out = append(out, ps[j].Key)
		}
		return out
	}
	tests := []struct {
		name  string
		since time.Time
		limit int
		want  []string
	}{
		{"all, newest first", time.Time{}, 0, k(3, 2, 1, 0)},
		{"limit", time.Time{}, 2, k(3, 2)},
		{"since", t0.Add(-3 * time.Hour), 0, k(3, 2, 1)},
		{"since and limit", t0.Add(-3 * time.Hour), 1, k(3)},
		{"since after every paper", t0.Add(time.Hour), 0, k()},
	}
	for _, tt := range tests {
		got, err := s.Recent(t.Context(), tt.since, tt.limit)
		check(t, err, "Recent")
		if !slices.Equal(keysOf(got), tt.want) {
			t.Errorf("%s: Recent = %v, want %v", tt.name, keysOf(got), tt.want)
		}
	}
}

// testCandidates checks look-ups as the command core makes them: the store's candidates, filtered by the query's
// own matcher, are the matching papers, newest first. Where the pre-filter can be exact, the candidates must be
// exactly the matches; a pre-filter may only ever widen (a NOT, for example, is left to the matcher).
func testCandidates(t *testing.T, s Store) {
	ps := lookupPapers()
	mustIngest(t, s, "arxiv", []paper.Paper{ps[2], ps[0], ps[3], ps[1]}, nil, t0)
	k := func(i ...int) []string {
		out := []string{}
		for _, j := range i {
			out = append(out, ps[j].Key)
		}
		return out
	}
	newestFirst := k(3, 2, 1, 0)
	tests := []struct {
		query string
		since time.Time
		limit int
		want  []string
		exact bool
	}{
		{"neur*", time.Time{}, 0, k(2, 0), true},
		{"neur*", t0.Add(-24 * time.Hour), 0, k(2), true},
		{"neur*", time.Time{}, 1, k(2), true},
		{"decoding", time.Time{}, 0, k(3, 0), true},
		{"title:decoding", time.Time{}, 0, k(0), true},
		{"graph OR speech", time.Time{}, 0, k(3, 0), true},
		{"chip", time.Time{}, 0, k(2), true},
		{"schrodinger", time.Time{}, 0, k(1), true},
		{"Schrödinger", time.Time{}, 0, k(1), true},
		{"author:emile", time.Time{}, 0, k(1), true},
		{"eeg", time.Time{}, 0, k(), true},
		{"neur* -chips", time.Time{}, 0, k(0), false},
		{"decoding NOT title:graph", time.Time{}, 0, k(0), false},
	}
	for _, tt := range tests {
		q, err := filters.Parse(tt.query)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.query, err)
		}
		cands := candidates(t, s, q, tt.since, tt.limit)
		var matched []string
		for i := range cands {
			if _, ok := q.Match(&cands[i]); ok {
				matched = append(matched, cands[i].Key)
			}
		}
		if !slices.Equal(matched, tt.want) {
			t.Errorf("%q since %v limit %d: matching candidates %v, want %v (candidates %v)", tt.query, tt.since,
				tt.limit, matched, tt.want, keysOf(cands))
		}
		if tt.exact && !slices.Equal(keysOf(cands), tt.want) {
			t.Errorf("%q: candidates %v, want exactly %v", tt.query, keysOf(cands), tt.want)
		}
		if tt.limit > 0 && len(cands) > tt.limit {
			t.Errorf("%q: %d candidates over limit %d", tt.query, len(cands), tt.limit)
		}
		last := -1
		for _, c := range cands {
			i := slices.Index(newestFirst, c.Key)
			if i <= last {
				t.Errorf("%q: candidates %v are not newest first", tt.query, keysOf(cands))
				break
			}
			last = i
			if c.Published.Before(tt.since) {
				t.Errorf("%q: candidate %s published %s, before %s", tt.query, c.Key, c.Published, tt.since)
			}
		}
	}
}

// testScanCandidates: ScanCandidates yields the papers Candidates (or Recent, for no pre-filter) returns, in the
// same order, across the store's pages (here 300 papers, many sharing a second, and matches spread among
// non-matches), and once yield says stop it yields nothing more.
func testScanCandidates(t *testing.T, s Store) {
	var ps []paper.Paper
	for i := range 300 {
		abstract := "A plain paper."
		if i%3 == 0 {
			abstract = "Spiking networks."
		}
		// Five papers a minute, all published in the same second: the pages must break ties as the order does.
		ps = append(ps, arxiv(fmt.Sprintf("2609.%05d", i+1), t0.Add(time.Duration(i/5)*time.Minute), paper.AnnounceNew,
			fmt.Sprintf("Paper %d", i), abstract, "cs.NE"))
	}
	mustIngest(t, s, "arxiv", ps, nil, t0)
	spiking, err := filters.Parse("spiking")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pre   *filters.Prefilter
		since time.Time
		limit int
	}{
		{"every paper", nil, time.Time{}, 0},
		{"every paper, limit", nil, time.Time{}, 250},
		{"every paper since", nil, t0.Add(20 * time.Minute), 0},
		{"a word", spiking.Prefilter(), time.Time{}, 0},
		{"a word, limit", spiking.Prefilter(), time.Time{}, 70},
		{"a word since", spiking.Prefilter(), t0.Add(30 * time.Minute), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []paper.Paper
			if tt.pre == nil {
				want, err = s.Recent(t.Context(), tt.since, tt.limit)
			} else {
				want, err = s.Candidates(t.Context(), tt.pre, tt.since, tt.limit)
			}
			check(t, err, "look-up")
			if len(want) < 10 {
				t.Fatalf("only %d candidates: the case tests nothing", len(want))
			}
			for _, stop := range []int{1, 7, 33, len(want), len(want) + 1} {
				var got []paper.Paper
				err := s.ScanCandidates(t.Context(), tt.pre, tt.since, tt.limit, func(p paper.Paper) bool {
					got = append(got, p)
					return len(got) < stop
				})
				check(t, err, "ScanCandidates")
				wantKeys := keysOf(want[:min(stop, len(want))])
				if !slices.Equal(keysOf(got), wantKeys) {
					t.Errorf("stopping after %d: ScanCandidates yielded %v, want %v", stop, keysOf(got), wantKeys)
				}
			}
		})
	}
}
