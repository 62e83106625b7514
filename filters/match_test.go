package filters

import (
	"slices"
	"strings"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// matchBoth evaluates q on p with the reference evaluator and with a one-subscription Matcher, failing the test
// if they disagree on the outcome or the explanation.
func matchBoth(t *testing.T, q *Query, p *paper.Paper) (Explanation, bool) {
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
	pp := &paper.Paper{
		Title:      "EEG-based Foundation Models for Decoding SNNs",
		Abstract:   "We train spiking neural networks on Schrödinger's classes of processes; buses of data, a glass.",
		Authors:    []string{"Geoffrey E. Hinton", "Yann LeCun", "Ada Lovelace-Byron"},
		Categories: []string{"cs.LG", "q-bio.NC"},
		Sources:    []string{"arXiv-CS"},
	}
	hf := *pp
	hf.HasHF, hf.Upvotes = true, 12

	tests := []struct {
		name string
		q    string
		doc  *paper.Paper
		want bool
	}{
		// DESIGN.md section 3 and the acceptance list.
		{"plural on the text side", "snn", pp, true},
		{"plural on the query side", "networks", &paper.Paper{Title: "A network"}, true},
		{"models matches model", "models", &paper.Paper{Title: "A model of the brain"}, true},
		{"model matches models", "model", pp, true},
		{"case-insensitive whole word", "eeg", pp, true},
		{"hyphen splits words", "based", pp, true},
		{"no substring match", "eeg", &paper.Paper{Title: "PEEG signals"}, false},
		{"no stemming", "decoding", &paper.Paper{Title: "A decoder"}, false},
		{"prefix instead of stemming", "decod*", &paper.Paper{Title: "A decoder"}, true},
		{"phrase with plural", `"foundation model"`, pp, true},
		{"phrase words must be consecutive", `"foundation snn"`, pp, false},
		{"phrase across hyphen", `"eeg based foundation"`, pp, true},
		{"phrase order matters", `"models foundation"`, pp, false},
		{"prefix", "neur*", pp, true},
		{"prefix is whole-word start", "eural*", pp, false},
		{"implicit AND", "eeg snn", pp, true},
		{"implicit AND fails", "eeg meg", pp, false},
		{"explicit AND", "eeg AND snn", pp, true},
		{"OR", "meg OR eeg", pp, true},
		{"pipe", "meg | fmri", pp, false},
		{"negation excludes", "eeg -survey", &paper.Paper{Title: "An EEG survey"}, false},
		{"negation keeps", "eeg -survey", pp, true},
		{"NOT keyword", "eeg NOT snn", pp, false},
		{"title restricts", "title:spiking", pp, false},
		{"title holds", "title:decoding", pp, true},
		{"abstract field", "abs:spiking", pp, true},
		{"abstract field restricts", "abstract:decoding", pp, false},
		{"field on a group", "title:(meg OR snn)", pp, true},
		{"field on a group restricts", "title:(meg OR spiking)", pp, false},
		{"field on a phrase", `abs:"neural network"`, pp, true},
		{"nested parentheses", "((meg OR (fmri OR eeg)) (snn OR (x -y)))", pp, true},
		{"nested parentheses fail", "((meg OR (fmri OR eeg)) (mri OR (x -y)))", pp, false},
		{"AND binds tighter than OR: (meg survey) OR eeg", "meg survey OR eeg", pp, true},
		{"AND binds tighter than OR: eeg (meg OR) no", "eeg meg OR fmri", pp, false},
		{"NOT binds tighter than AND", "-meg eeg", pp, true},
		{"NOT of a group", "eeg -(snn OR meg)", pp, false},

		// Folding.
		{"diacritics", "schrodinger", pp, true},
		{"diacritics in the query", "Schrödinger", &paper.Paper{Title: "schrodinger equation"}, true},
		{"apostrophe splits", "schrodinger's", pp, true},
		{"ligature", "finding", &paper.Paper{Title: "A ﬁnding"}, true},
		{"unicode case", "σύστημα", &paper.Paper{Title: "ΣΎΣΤΗΜΑ"}, true},
		{"final sigma", "συστημας", &paper.Paper{Title: "ΣΥΣΤΗΜΑΣ"}, true},
		{"fullwidth", "eeg", &paper.Paper{Title: "ＥＥＧ"}, true},

		// The plural rule.
		{"process/processes", "process", pp, true},
		{"processes/process", "processes", &paper.Paper{Title: "a process"}, true},
		{"class/classes", "class", pp, true},
		{"classes/class", "classes", &paper.Paper{Title: "one class"}, true},
		{"bus/buses", "bus", pp, true},
		{"buses/bus", "buses", &paper.Paper{Title: "a bus"}, true},
		{"ss keeps its s", "glas", pp, false},
		{"ss word matches itself", "glass", pp, true},
		{"one-letter base", "i", &paper.Paper{Title: "it is"}, false},
		{"two-letter base", "ai", &paper.Paper{Title: "AIs everywhere"}, true},
		{"es only as a suffix", "model", &paper.Paper{Title: "modeles"}, true},
		{"not a double plural", "model", &paper.Paper{Title: "modelss"}, false},
		{"no -ing", "decode", &paper.Paper{Title: "decoding"}, false},

		// Authors.
		{"author word", "au:hinton", pp, true},
		{"author with diacritics-free query", "au:lecun", pp, true},
		{"author phrase", `au:"geoffrey e hinton"`, pp, true},
		{"author phrase never spans authors", `au:"hinton yann"`, pp, false},
		{"author hyphenated", "au:byron", pp, true},
		{"author not in title", "title:hinton", pp, false},
		{"default field excludes authors", "hinton", pp, false},

		// Categories and sources.
		{"category exact", "cat:cs.lg", pp, true},
		{"category case", "cat:CS.LG", pp, true},
		{"category not tokenized", "cat:cs", pp, false},
		{"category prefix", "cat:cs.*", pp, true},
		{"category prefix q-bio", "cat:q-bio.*", pp, true},
		{"category prefix miss", "cat:stat.*", pp, false},
		{"category with words", "cat:q-bio.NC spiking", pp, true},
		{"category negated", "eeg -cat:cs.LG", pp, false},
		{"source", "source:arxiv-cs", pp, true},
		{"source miss", "source:hf", pp, false},
		{"source prefix", "source:arxiv*", pp, true},

		// Upvotes.
		{"no HF data never satisfies", "upvotes:>=0", pp, false},
		{"no HF data, negated", "eeg -upvotes:>=10", pp, true},
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
			if _, got := matchBoth(t, q, tt.doc); got != tt.want {
				t.Errorf("%q on %q: got %v, want %v", tt.q, tt.doc.Title, got, tt.want)
			}
		})
	}
}

func TestExplanation(t *testing.T) {
	pp := &paper.Paper{
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
			e, ok := matchBoth(t, q, pp)
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
	pp := &paper.Paper{Title: "EEG foundation models", Abstract: "We decode MEG."}
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
			for _, r := range m.Match(pp) {
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
		rs := m.Match(pp)
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
			m.MatchFunc(pp, func(int64, *Explanation) { panic("delivery failed") })
		}()
		// The pooled scratch must have been cleaned: a paper without "eeg" must not inherit its hit.
		if rs := m.Match(&paper.Paper{Title: "a survey"}); len(rs) != 1 || rs[0].ID != 2 {
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
