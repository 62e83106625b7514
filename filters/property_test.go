package filters

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// A small vocabulary makes random queries hit random papers often, and covers the plural corner cases.
var (
	propWords   = []string{"eeg", "EEGs", "model", "models", "class", "classes", "bus", "buses", "process", "processes", "neural", "network", "deep", "learning", "glass", "spiking", "ai", "AIs", "schrödinger", "naïve"}
	propPrefix  = []string{"neur*", "mod*", "cla*", "proc*", "b*", "spik*"}
	propPhrases = []string{`"deep learning"`, `"neural network"`, `"spiking neural networks"`, `"class process"`, `"eeg model"`}
	propExact   = []string{"cat:cs.LG", "cat:cs.*", "cat:q-bio.NC", "cat:q-bio.*", "source:arxiv", "source:hf", "source:a*"}
	propAuthors = []string{"au:hinton", "au:lecun", `au:"geoffrey hinton"`, "au:ada", `author:"hinton yann"`}
	propFiller  = []string{"the", "of", "a", "for", "with", "on", "peeg", "decoder", "glas", "modeles", "i", "is"}
	propNames   = []string{"Geoffrey Hinton", "Yann LeCun", "Ada Lovelace", "Hinton Yann", "Ünal Deep", "Model Bus"}
	propCats    = []string{"cs.LG", "cs.AI", "q-bio.NC", "stat.ML"}
	propSources = []string{"arxiv", "hf", "biorxiv"}
)

// randQuery writes a random query of bounded depth, mixing every construct, possibly invalid.
func randQuery(r *rand.Rand, depth int) string {
	if depth <= 0 || r.IntN(3) == 0 {
		switch r.IntN(10) {
		case 0:
			return propPrefix[r.IntN(len(propPrefix))]
		case 1:
			return propPhrases[r.IntN(len(propPhrases))]
		case 2:
			return propExact[r.IntN(len(propExact))]
		case 3:
			return propAuthors[r.IntN(len(propAuthors))]
		case 4:
			return fmt.Sprintf("upvotes:%s%d", []string{"", ">", ">=", "<", "<=", "="}[r.IntN(6)], r.IntN(20))
		case 5:
			return []string{"title:", "abs:", "abstract:"}[r.IntN(3)] + propWords[r.IntN(len(propWords))]
		}
		return propWords[r.IntN(len(propWords))]
	}
	a, b := randQuery(r, depth-1), randQuery(r, depth-1)
	switch r.IntN(8) {
	case 0, 1:
		return a + " " + b
	case 2:
		return a + " AND " + b
	case 3:
		return a + " OR " + b
	case 4:
		return a + " | " + b
	case 5:
		return a + " -" + b
	case 6:
		return "(" + a + " OR " + b + ") " + randQuery(r, depth-1)
	}
	return []string{"title:", "abs:", "NOT ", "-"}[r.IntN(4)] + "(" + a + " " + b + ") " + randQuery(r, 0)
}

// randQueries returns n valid random queries. They are parsed as stored queries, which the matcher compiles too,
// so that short prefixes (b*), refused to users by the cost limits, stay covered.
func randQueries(r *rand.Rand, n int) []*Query {
	var out []*Query
	for len(out) < n {
		if q, err := ParseStored(randQuery(r, 3)); err == nil {
			out = append(out, q)
		}
	}
	return out
}

func randText(r *rand.Rand, n int) string {
	ws := make([]string, n)
	for i := range ws {
		if r.IntN(3) == 0 {
			ws[i] = propFiller[r.IntN(len(propFiller))]
		} else {
			ws[i] = propWords[r.IntN(len(propWords))]
		}
	}
	seps := []string{" ", " ", " ", "-", ", ", ". "}
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteString(seps[r.IntN(len(seps))])
		}
		b.WriteString(w)
	}
	return b.String()
}

func pick(r *rand.Rand, from []string) []string {
	var out []string
	for _, s := range from {
		if r.IntN(3) == 0 {
			out = append(out, s)
		}
	}
	return out
}

func randPaper(r *rand.Rand) *paper.Paper {
	return &paper.Paper{
		Title:      randText(r, 2+r.IntN(6)),
		Abstract:   randText(r, r.IntN(25)),
		Authors:    pick(r, propNames),
		Categories: pick(r, propCats),
		Sources:    pick(r, propSources),
		HasHF:      r.IntN(2) == 0,
		Upvotes:    r.IntN(20),
	}
}

// reference evaluates every live subscription on its own, the way the compiled Matcher must agree with.
func reference(live map[int64]*Query, p *paper.Paper) []Result {
	var out []Result
	for id, q := range live {
		if e, ok := q.Match(p); ok {
			out = append(out, Result{ID: id, Explanation: e})
		}
	}
	slices.SortFunc(out, func(a, b Result) int { return cmpInt64(a.ID, b.ID) })
	return out
}

// matchFuncResults collects MatchFunc's calls as Match would return them: sorted by id, explanations copied
// because MatchFunc reuses them.
func matchFuncResults(m *Matcher, p *paper.Paper) []Result {
	var out []Result
	m.MatchFunc(p, func(id int64, e *Explanation) {
		out = append(out, Result{ID: id, Explanation: Explanation{Hits: slices.Clone(e.Hits)}})
	})
	slices.SortFunc(out, func(a, b Result) int { return cmpInt64(a.ID, b.ID) })
	return out
}

func TestPropertyMatcherAgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pool := randQueries(r, 400)
	m := NewMatcher()
	live := map[int64]*Query{}
	matched := 0
	for round := range 60 {
		// Churn: adds, replacements (same id) and removals, so that term ids and slots get reused.
		for range 20 {
			id := int64(r.IntN(80))
			if r.IntN(4) == 0 {
				m.Remove(id)
				delete(live, id)
			} else {
				q := pool[r.IntN(len(pool))]
				if r.IntN(3) == 0 {
					// A few popular queries followed by many channels, so that programs are shared, and unshared
					// again as their subscriptions go.
					q = pool[r.IntN(8)]
				}
				m.Add(id, q)
				live[id] = q
			}
		}
		if m.Len() != len(live) {
			t.Fatalf("round %d: Len() = %d, want %d", round, m.Len(), len(live))
		}
		for range 40 {
			p := randPaper(r)
			got, want := m.Match(p), reference(live, p)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d, paper %+v:\ncompiled  %v\nreference %v", round, p, got, want)
			}
			if viaFunc := matchFuncResults(m, p); !reflect.DeepEqual(viaFunc, want) {
				t.Fatalf("round %d, paper %+v:\nMatchFunc %v\nreference %v", round, p, viaFunc, want)
			}
			matched += len(want)
		}
	}
	// Guard against a generator that never matches, which would make the test vacuous.
	if matched < 1000 {
		t.Fatalf("only %d matches in the whole run: the generator is too weak", matched)
	}
	for id := range live {
		m.Remove(id)
	}
	if m.Len() != 0 || len(m.termByKey) != 0 || len(m.words) != 0 || !m.wordPrefix.empty() || !m.catPrefix.empty() ||
		len(m.upvoteTerms) != 0 || len(m.progByKey) != 0 || len(m.freeProgs) != len(m.progs) {
		t.Fatalf("removing every subscription left state behind: %d terms, %d words", len(m.termByKey), len(m.words))
	}
}

func TestPropertyRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	valid := 0
	for range 5000 {
		s := randQuery(r, 4)
		q, err := Parse(s)
		if err != nil {
			continue
		}
		valid++
		assertRoundTrip(t, q)
	}
	if valid < 2000 {
		t.Fatalf("only %d of 5000 random queries were valid", valid)
	}
}
