package filters

import (
	"slices"
	"strings"
	"testing"

	"github.com/paperboy-bot/paperboy/sources"
)

// matchBoth evaluates q on p with the reference evaluator and with a one-subscription Matcher, failing the test
// if they disagree on the outcome or the explanation.
func matchBoth(t *testing.T, q *Query, p *sources.Paper) (Explanation, bool) {
	t.Helper()
	e, ok := q.Match(p)
	m := NewMatcher()
	m.Add(7, q)
	res := m.Match(p)
	if ok != (len(res) == 1) || len(res) > 1 {
		t.Fatalf("reference says %v, compiled returned %v for %q", ok, res, q)
	}
	if ok && (res[0].ID != 7 || !slices.Equal(res[0].Explanation.Hits, e.Hits)) {
		t.Fatalf("explanations differ for %q: reference %v, compiled %v", q, e, res[0])
	}
	if !ok && len(e.Hits) != 0 {
		t.Fatalf("a non-match has hits: %v", e)
	}
	return e, ok
}

func TestMatch(t *testing.T) {
	paper := &sources.Paper{
		Title:      "EEG-based Foundation Models for Decoding SNNs",
		Abstract:   "We train spiking neural networks on Schrödinger's classes of processes; buses of data, a glass.",
		Authors:    []string{"Geoffrey E. Hinton", "Yann LeCun", "Ada Lovelace-Byron"},
		Categories: []string{"cs.LG", "q-bio.NC"},
		Sources:    []string{"arXiv-CS"},
	}
	hf := *paper
	hf.HasHF, hf.Upvotes = true, 12

	tests := []struct {
		name  string
		q     string
		paper *sources.Paper
		want  bool
	}{
		// DESIGN.md section 3 and the acceptance list.
		{"plural on the text side", "snn", paper, true},
		{"plural on the query side", "networks", &sources.Paper{Title: "A network"}, true},
		{"models matches model", "models", &sources.Paper{Title: "A model of the brain"}, true},
		{"model matches models", "model", paper, true},
		{"case-insensitive whole word", "eeg", paper, true},
		{"hyphen splits words", "based", paper, true},
		{"no substring match", "eeg", &sources.Paper{Title: "PEEG signals"}, false},
		{"no stemming", "decoding", &sources.Paper{Title: "A decoder"}, false},
		{"prefix instead of stemming", "decod*", &sources.Paper{Title: "A decoder"}, true},
		{"phrase with plural", `"foundation model"`, paper, true},
		{"phrase words must be consecutive", `"foundation snn"`, paper, false},
		{"phrase across hyphen", `"eeg based foundation"`, paper, true},
		{"phrase order matters", `"models foundation"`, paper, false},
		{"prefix", "neur*", paper, true},
		{"prefix is whole-word start", "eural*", paper, false},
		{"implicit AND", "eeg snn", paper, true},
		{"implicit AND fails", "eeg meg", paper, false},
		{"explicit AND", "eeg AND snn", paper, true},
		{"OR", "meg OR eeg", paper, true},
		{"pipe", "meg | fmri", paper, false},
		{"negation excludes", "eeg -survey", &sources.Paper{Title: "An EEG survey"}, false},
		{"negation keeps", "eeg -survey", paper, true},
		{"NOT keyword", "eeg NOT snn", paper, false},
		{"title restricts", "title:spiking", paper, false},
		{"title holds", "title:decoding", paper, true},
		{"abstract field", "abs:spiking", paper, true},
		{"abstract field restricts", "abstract:decoding", paper, false},
		{"field on a group", "title:(meg OR snn)", paper, true},
		{"field on a group restricts", "title:(meg OR spiking)", paper, false},
		{"field on a phrase", `abs:"neural network"`, paper, true},
		{"nested parentheses", "((meg OR (fmri OR eeg)) (snn OR (x -y)))", paper, true},
		{"nested parentheses fail", "((meg OR (fmri OR eeg)) (mri OR (x -y)))", paper, false},
		{"AND binds tighter than OR: (meg survey) OR eeg", "meg survey OR eeg", paper, true},
		{"AND binds tighter than OR: eeg (meg OR) no", "eeg meg OR fmri", paper, false},
		{"NOT binds tighter than AND", "-meg eeg", paper, true},
		{"NOT of a group", "eeg -(snn OR meg)", paper, false},

		// Folding.
		{"diacritics", "schrodinger", paper, true},
		{"diacritics in the query", "Schrödinger", &sources.Paper{Title: "schrodinger equation"}, true},
		{"apostrophe splits", "schrodinger's", paper, true},
		{"ligature", "finding", &sources.Paper{Title: "A ﬁnding"}, true},
		{"unicode case", "σύστημα", &sources.Paper{Title: "ΣΎΣΤΗΜΑ"}, true},
		{"final sigma", "συστημας", &sources.Paper{Title: "ΣΥΣΤΗΜΑΣ"}, true},
		{"fullwidth", "eeg", &sources.Paper{Title: "ＥＥＧ"}, true},

		// The plural rule.
		{"process/processes", "process", paper, true},
		{"processes/process", "processes", &sources.Paper{Title: "a process"}, true},
		{"class/classes", "class", paper, true},
		{"classes/class", "classes", &sources.Paper{Title: "one class"}, true},
		{"bus/buses", "bus", paper, true},
		{"buses/bus", "buses", &sources.Paper{Title: "a bus"}, true},
		{"ss keeps its s", "glas", paper, false},
		{"ss word matches itself", "glass", paper, true},
		{"one-letter base", "i", &sources.Paper{Title: "it is"}, false},
		{"two-letter base", "ai", &sources.Paper{Title: "AIs everywhere"}, true},
		{"es only as a suffix", "model", &sources.Paper{Title: "modeles"}, true},
		{"not a double plural", "model", &sources.Paper{Title: "modelss"}, false},
		{"no -ing", "decode", &sources.Paper{Title: "decoding"}, false},

		// Authors.
		{"author word", "au:hinton", paper, true},
		{"author with diacritics-free query", "au:lecun", paper, true},
		{"author phrase", `au:"geoffrey e hinton"`, paper, true},
		{"author phrase never spans authors", `au:"hinton yann"`, paper, false},
		{"author hyphenated", "au:byron", paper, true},
		{"author not in title", "title:hinton", paper, false},
		{"default field excludes authors", "hinton", paper, false},

		// Categories and sources.
		{"category exact", "cat:cs.lg", paper, true},
		{"category case", "cat:CS.LG", paper, true},
		{"category not tokenized", "cat:cs", paper, false},
		{"category prefix", "cat:cs.*", paper, true},
		{"category prefix q-bio", "cat:q-bio.*", paper, true},
		{"category prefix miss", "cat:stat.*", paper, false},
		{"category with words", "cat:q-bio.NC spiking", paper, true},
		{"category negated", "eeg -cat:cs.LG", paper, false},
		{"source", "source:arxiv-cs", paper, true},
		{"source miss", "source:hf", paper, false},
		{"source prefix", "source:arxiv*", paper, true},

		// Upvotes.
		{"no HF data never satisfies", "upvotes:>=0", paper, false},
		{"no HF data, negated", "eeg -upvotes:>=10", paper, true},
		{">=", "upvotes:>=12", &hf, true},
		{">", "upvotes:>12", &hf, false},
		{"<", "upvotes:<13", &hf, true},
		{"<=", "upvotes:<=11", &hf, false},
		{"=", "upvotes:12", &hf, true},
		{"= explicit", "upvotes:=11", &hf, false},
		{"with words", "eeg upvotes:>=10", &hf, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.q)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.q, err)
			}
			if _, got := matchBoth(t, q, tt.paper); got != tt.want {
				t.Errorf("%q on %q: got %v, want %v", tt.q, tt.paper.Title, got, tt.want)
			}
		})
	}
}

func TestExplanation(t *testing.T) {
	paper := &sources.Paper{
		Title:      "EEG Foundation Models",
		Abstract:   "A foundation model for EEG and MEG, with neuromorphic hardware.",
		Authors:    []string{"Geoffrey Hinton"},
		Categories: []string{"cs.LG"},
		HasHF:      true,
		Upvotes:    20,
	}
	tests := []struct {
		q, str, terms string
	}{
		{`eeg abs:"foundation model"`, "eeg (title), foundation model (abstract)", "eeg, foundation model"},
		{"meg OR fmri", "meg (abstract)", "meg"},
		{"(meg OR eeg) -survey", "meg (abstract), eeg (title)", "meg, eeg"},
		{"(fmri survey) OR eeg", "eeg (title)", "eeg"},
		{"neuro* au:hinton cat:cs.* upvotes:>=10", "neuro* (abstract), hinton (author), cs.* (cat), upvotes:>=10 (upvotes)",
			"neuro*, hinton, cs.*, upvotes:>=10"},
		{"title:eeg OR abs:eeg", "eeg (title), eeg (abstract)", "eeg"},
		{"eeg eeg", "eeg (title)", "eeg"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			q, err := Parse(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			e, ok := matchBoth(t, q, paper)
			if !ok {
				t.Fatalf("%q does not match", tt.q)
			}
			if e.String() != tt.str || strings.Join(e.Terms(), ", ") != tt.terms {
				t.Errorf("got %q / %q, want %q / %q", e.String(), e.Terms(), tt.str, tt.terms)
			}
		})
	}
}

func TestWordForms(t *testing.T) {
	// wordForms must list exactly the words wordEq accepts; check it over every short word of a small alphabet.
	alphabet := []string{"a", "e", "s", "ss", "es", "x"}
	var all []string
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		if prefix != "" {
			all = append(all, prefix)
		}
		if depth == 0 {
			return
		}
		for _, a := range alphabet {
			gen(prefix+a, depth-1)
		}
	}
	gen("", 4)
	slices.Sort(all)
	all = slices.Compact(all)
	for _, q := range all {
		forms := wordForms(q)
		for _, w := range all {
			if got, want := slices.Contains(forms, w), wordEq(q, w); got != want {
				t.Fatalf("q=%q w=%q: in wordForms %v, wordEq %v", q, w, got, want)
			}
		}
	}
}

func TestFoldText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"EEG-based Schrödinger's ﬁnding, naïve café", "eeg based schrodinger s finding naive cafe"},
		{"  ", ""},
		{"ΣΥΣΤΗΜΑΣ x²", "συστημασ x2"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := FoldText(tt.in); got != tt.want {
				t.Errorf("FoldText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestMatcherSharedQueries checks that subscriptions with the same canonical query, which share one compiled
// program, still come and go one by one, and that sharing never lets one result's explanation alter another's.
func TestMatcherSharedQueries(t *testing.T) {
	paper := &sources.Paper{Title: "EEG foundation models", Abstract: "We decode MEG."}
	spellings := []string{`eeg -survey`, `EEG AND NOT survey`, `eeg  NOT  Survey`, `(eeg) -(survey)`}
	tests := []struct {
		name    string
		remove  []int64
		wantIDs []int64
	}{
		{"all", nil, []int64{10, 11, 12, 13}},
		{"remove first", []int64{10}, []int64{11, 12, 13}},
		{"remove last added", []int64{13}, []int64{10, 11, 12}},
		{"remove all but one", []int64{10, 12, 13}, []int64{11}},
		{"remove all", []int64{10, 11, 12, 13}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMatcher()
			m.Add(1, mustParse(t, "meg")) // an unrelated program, to check slot bookkeeping around it
			for i, s := range spellings {
				m.Add(int64(10+i), mustParse(t, s))
			}
			if len(m.progByKey) != 2 {
				t.Fatalf("%d distinct programs for 2 distinct queries", len(m.progByKey))
			}
			for _, id := range tt.remove {
				m.Remove(id)
			}
			var got []int64
			for _, r := range m.Match(paper) {
				got = append(got, r.ID)
				if want := "eeg (title)"; r.ID != 1 && r.Explanation.String() != want {
					t.Errorf("subscription %d: explanation %q, want %q", r.ID, r.Explanation, want)
				}
			}
			if want := append([]int64{1}, tt.wantIDs...); !slices.Equal(got, want) {
				t.Fatalf("matched %v, want %v", got, want)
			}
			// Re-adding a removed subscription must share the program again rather than leak a second copy.
			for _, id := range tt.remove {
				m.Add(id, mustParse(t, spellings[id-10]))
			}
			if len(m.progByKey) != 2 || m.Len() != 5 {
				t.Fatalf("after re-adding: %d programs, %d subscriptions; want 2 and 5", len(m.progByKey), m.Len())
			}
		})
	}

	t.Run("explanations do not alias", func(t *testing.T) {
		m := NewMatcher()
		m.Add(1, mustParse(t, "eeg"))
		m.Add(2, mustParse(t, "EEG"))
		rs := m.Match(paper)
		if len(rs) != 2 {
			t.Fatalf("got %v, want 2 results", rs)
		}
		rs[0].Explanation.Hits = append(rs[0].Explanation.Hits, Hit{Term: "extra", Field: "title"})
		if got := rs[1].Explanation.String(); got != "eeg (title)" {
			t.Fatalf("appending to one result's hits changed another's: %q", got)
		}
	})

	t.Run("MatchFunc survives a panicking callback", func(t *testing.T) {
		m := NewMatcher()
		m.Add(1, mustParse(t, "eeg"))
		m.Add(2, mustParse(t, "survey"))
		func() {
			defer func() { _ = recover() }()
			m.MatchFunc(paper, func(int64, *Explanation) { panic("delivery failed") })
		}()
		// The pooled scratch must have been cleaned: a paper without "eeg" must not inherit its hit.
		if rs := m.Match(&sources.Paper{Title: "a survey"}); len(rs) != 1 || rs[0].ID != 2 {
			t.Fatalf("after a panic in MatchFunc: %v, want only subscription 2", rs)
		}
	})
}

func mustParse(t *testing.T, s string) *Query {
	t.Helper()
	q, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return q
}
