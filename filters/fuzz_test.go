package filters

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// fuzzSeeds are queries from the table tests: valid ones of every construct and typical mistakes.
var fuzzSeeds = []string{
	"eeg", "snn", "models", `"foundation model"`, "neuro*", "eeg -survey", "eeg NOT survey", "title:eeg",
	"title:(eeg OR meg)", "abs:eeg", `au:"geoffrey hinton"`, "au:hinton", "cat:cs.LG", "cat:cs.*", "source:hf",
	"upvotes:>=10", "upvotes:3", "a b OR c", "((a OR b) (c OR (d -e)))", "-title:(a b) c", `source:"my feed*"`,
	"gpt-4", "Schrödinger", "ΣΥΣΤΗΜΑΣ", "ﬁnding", "", "(eeg", "eeg)", `"eeg`, "OR eeg", "-survey", "foo:bar",
	"eeg AND", "neu*ro", "title:abs:x", "upvotes:>=x", `cat:"-x"`, "eeg | meg",
	// Around the cost limits: short prefixes, too many prefixes, terms and OR groups.
	"a*", "ab* cd", "abc*", "title:(ab* OR b*)", strings.Repeat("a* OR b* OR c* ", 5),
	strings.Repeat("neu* ", 9), strings.Repeat("w ", 41), strings.Repeat("(a OR b) ", 13), strings.Repeat("(a|b|c) ", 6) + "d",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		stored, serr := ParseStored(s)
		if err == nil && (serr != nil || !reflect.DeepEqual(q.root, stored.root)) {
			t.Fatalf("ParseStored(%q) = %v, %v; Parse accepted it as %v", s, stored, serr, q)
		}
		if serr == nil {
			roundTrip(t, stored, ParseStored)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is %T, want *SyntaxError", err, err)
			}
			if se.Msg == "" || se.Pos < 0 || se.Pos > len([]rune(s))+1 {
				t.Fatalf("bad error %#v for %q", se, s)
			}
			return
		}
		assertRoundTrip(t, q)
		q.Terms()
		checkPrefilter(t, q)
	})
}

func FuzzMatchAgreement(f *testing.F) {
	texts := []string{"EEG-based Foundation Models", "spiking neural networks, buses and classes", "Schrödinger's ﬁnding"}
	for i, s := range fuzzSeeds {
		f.Add(s, texts[i%len(texts)], texts[(i+1)%len(texts)], "Geoffrey Hinton, Yann LeCun", "cs.LG q-bio.NC", i%25)
	}
	f.Fuzz(func(t *testing.T, query, title, abstract, authors, cats string, upvotes int) {
		// Stored queries are compiled too, so the agreement must hold without the cost limits.
		q, err := ParseStored(query)
		if err != nil {
			return
		}
		p := &paper.Paper{
			Title:      title,
			Abstract:   abstract,
			Authors:    strings.Split(authors, ","),
			Categories: strings.Fields(cats),
			Sources:    strings.Fields(cats),
			HasHF:      upvotes >= 0,
			Upvotes:    upvotes,
		}
		// A second subscription with the query's canonical form must behave identically.
		q2, err := ParseStored(q.String())
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", q, err)
		}
		m := NewMatcher()
		m.Add(1, q)
		m.Add(2, q2)
		got := m.Match(p)
		e, ok := q.Match(p)
		var want []Result
		if ok {
			want = []Result{{ID: 1, Explanation: e}, {ID: 2, Explanation: e}}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("query %q on %+v: compiled %v, reference %v", q, p, got, want)
		}
		m.Remove(1)
		m.Remove(2)
		if m.Len() != 0 || len(m.termByKey) != 0 || len(m.words) != 0 {
			t.Fatal("state left after removing everything")
		}
	})
}
