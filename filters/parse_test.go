package filters

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		q    string
		want string // full Error() text
		pos  int
	}{
		{"", "empty query", 0},
		{"   \t", "empty query", 0},
		{`eeg "foundation model`, "unclosed quote at 5", 5},
		{`title:"eeg`, "unclosed quote at 7", 7},
		{"OR eeg", "OR needs a term on both sides at 1", 1},
		{"eeg OR", "OR needs a term on both sides at 5", 5},
		{"eeg OR OR meg", "OR needs a term on both sides at 5", 5},
		{"eeg | ", "OR needs a term on both sides at 5", 5},
		{"(eeg OR) meg", "OR needs a term on both sides at 6", 6},
		{"eeg AND", "AND needs a term on both sides at 5", 5},
		{"AND eeg", "AND needs a term on both sides at 1", 1},
		{"eeg AND OR meg", "AND needs a term on both sides at 5", 5},
		{"foo:bar", `unknown field "foo" at 1`, 1},
		{"eeg Foo:bar", `unknown field "Foo" at 5`, 5},
		{"(eeg meg", "unbalanced parenthesis at 1", 1},
		{"eeg meg)", "unbalanced parenthesis at 8", 8},
		{"((eeg) meg", "unbalanced parenthesis at 1", 1},
		{"eeg ()", "empty parentheses at 5", 5},
		{"-survey", "a query must require something: NOT alone matches everything", 0},
		{"NOT survey", "a query must require something: NOT alone matches everything", 0},
		{"-survey -review", "a query must require something: NOT alone matches everything", 0},
		{"eeg OR -survey", "a query must require something: NOT alone matches everything", 0},
		{"-(eeg -meg)", "a query must require something: NOT alone matches everything", 0},
		{"eeg NOT", "NOT needs a term after it at 5", 5},
		{"eeg - meg", `"-" needs a term right after it at 5`, 5},
		{"eeg -", `"-" needs a term right after it at 5`, 5},
		{"neu*ro", "* may only end a word, as in neuro* at 1", 1},
		{"*", "* needs a word before it, as in neuro* at 1", 1},
		{"eeg-bas*", "a prefix must be a single word at 1", 1},
		{`""`, "empty phrase at 1", 1},
		{`" ,; "`, "empty phrase at 1", 1},
		{"eeg &&", `"&&" has no letters or digits at 5`, 5},
		{"title:", "field title: needs a term, phrase or group at 1", 1},
		{"title:(eeg abs:meg)", "field abs: inside title: at 12", 12},
		{"title:abs:meg", "field abs: inside title: at 7", 7},
		{"upvotes:", "upvotes: needs a comparison such as upvotes:>=10 at 1", 1},
		{"upvotes:(>3)", "upvotes: needs a comparison such as upvotes:>=10 at 1", 1},
		{"upvotes:>=x", "upvotes: needs a whole number such as upvotes:>=10 at 9", 9},
		{"upvotes:>=-3", "upvotes: needs a whole number such as upvotes:>=10 at 9", 9},
		{"upvotes:-3", "upvotes: needs a comparison such as upvotes:>=10 at 1", 1},
		{"upvotes:1234567890", "upvotes: needs a whole number such as upvotes:>=10 at 9", 9},
		{"cat:*", "cat: needs a value at 5", 5},
		{`source:""`, "source: needs a value at 8", 8},
		{"schrödinger )", "unbalanced parenthesis at 13", 13}, // positions count runes, not bytes
		{strings.Repeat("a ", 501), "query is longer than 1000 characters (it has 1002)", 0},
		// The cost limits, with where the query crossed them.
		{"a* b", "prefix a* is too short (at least 3 letters before *, as in neu*) at 1", 1},
		{"eeg title:ne*", "prefix ne* is too short (at least 3 letters before *, as in neu*) at 11", 11},
		{strings.Repeat("a* OR b* OR c* ", 40), "prefix a* is too short (at least 3 letters before *, as in neu*) at 1", 1},
		{strings.Repeat("neu* ", 4) + "spik* eeg", "too many prefixes such as neuro* (at most 4; narrow the query) at 21", 21},
		{strings.Repeat("w ", 40) + "x", "too many terms (at most 40; narrow the query) at 81", 81},
		{strings.Repeat("w ", 40) + "upvotes:>3", "too many terms (at most 40; narrow the query) at 81", 81},
		{strings.Repeat("(a OR b) ", 12) + "(c | d)", "too many OR groups (at most 12; narrow the query) at 112", 112},
		{strings.Repeat("(", 21) + "eeg" + strings.Repeat(")", 21), "parentheses nested deeper than 20 at 21", 21},
		{"eeg \xff", "query is not valid UTF-8", 0},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			q, err := Parse(tt.q)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error %q", tt.q, q, tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is %T, want *SyntaxError", err, err)
			}
			if se.Error() != tt.want || se.Pos != tt.pos {
				t.Errorf("Parse(%q) error = %q (pos %d), want %q (pos %d)", tt.q, se.Error(), se.Pos, tt.want, tt.pos)
			}
		})
	}
}

func TestParseLimitsAccepted(t *testing.T) {
	tests := []string{
		strings.Repeat(strings.Repeat("x", 24)+" ", 39) + strings.Repeat("y", 25), // exactly 1000 characters and MaxTerms terms
		strings.Repeat("neu* ", 3) + "spi*",                                       // exactly MaxPrefixes prefixes, of MinPrefixLen letters
		strings.Repeat("(a OR b) ", 12),                                           // exactly MaxGroups groups
		"cat:c* source:a*",                                                        // exact-field prefixes are not full text
		strings.Repeat("(", 20) + "eeg" + strings.Repeat(")", 20),                 // exactly the maximum depth
		strings.Repeat("NOT ", 200) + "eeg",                                       // even number of negations
		strings.Repeat("é", 1000),                                                 // runes, not bytes, are counted
		"title:(" + strings.Repeat("(", 19) + "eeg" + strings.Repeat(")", 20),     // a field group counts as one level
	}
	for _, q := range tests {
		t.Run(q[:10], func(t *testing.T) {
			if _, err := Parse(q); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

// TestParseStored checks that stored queries are held to the length and nesting limits only: a subscription
// stored before the cost limits must keep matching.
func TestParseStored(t *testing.T) {
	for _, q := range []string{"a* OR b*", strings.Repeat("a ", 499) + "ab", strings.Repeat("(a OR b) ", 20)} {
		if _, err := ParseStored(q); err != nil {
			t.Errorf("ParseStored(%.20q): %v", q, err)
		}
		if _, err := Parse(q); err == nil {
			t.Errorf("Parse(%.20q) accepted a query over the cost limits", q)
		}
	}
	for q, want := range map[string]string{
		strings.Repeat("a|", 333) + "a":                           "query is longer than 1000 characters once written in canonical form (it has 1666)",
		strings.Repeat("a ", 501):                                 "query is longer than 1000 characters (it has 1002)",
		strings.Repeat("(", 21) + "eeg" + strings.Repeat(")", 21): "parentheses nested deeper than 20 at 21",
	} {
		if _, err := ParseStored(q); err == nil || err.Error() != want {
			t.Errorf("ParseStored(%.20q) = %v, want %q", q, err, want)
		}
	}
}

// TestCanonical pins the canonical form, and so the precedence rules: NOT binds tightest, then AND (implicit or
// explicit), then OR.
func TestCanonical(t *testing.T) {
	tests := []struct{ q, want string }{
		{"EEG", "eeg"},
		{"eeg foundation", "eeg foundation"},
		{"eeg AND foundation", "eeg foundation"},
		{"eeg OR meg", "eeg OR meg"},
		{"eeg | meg", "eeg OR meg"},
		{"eeg|meg", "eeg OR meg"},
		{"a b OR c", "a b OR c"},
		{"a OR b c", "a OR b c"},
		{"a AND b OR c AND d", "a b OR c d"},
		{"(a OR b) c", "(a OR b) c"},
		{"a (b OR c)", "a (b OR c)"},
		{"((a))", "a"},
		{"(a b) c", "a b c"},
		{"(a OR (b OR c))", "a OR b OR c"},
		{"a ((b OR c) (d OR (e f)))", "a (b OR c) (d OR e f)"},
		{"-a b", "-a b"},
		{"NOT a b", "-a b"},
		{"b NOT a", "b -a"},
		{"b -(a OR c)", "b -(a OR c)"},
		{"b NOT (a c)", "b -(a c)"},
		{"b --a", "b a"},
		{"NOT NOT a", "a"},
		{`"foundation model"`, `"foundation model"`},
		{`"Foundation  Models!"`, `"foundation models"`},
		{`"eeg"`, "eeg"},
		{"gpt-4", `"gpt 4"`},
		{"EEG-based", `"eeg based"`},
		{"Neuro*", "neuro*"},
		{"Schrödinger", "schrodinger"},
		{"title:eeg", "title:eeg"},
		{"TITLE:eeg", "title:eeg"},
		{"title: eeg", "title:eeg"},
		{"abs:eeg", "abstract:eeg"},
		{"au:hinton", "author:hinton"},
		{`au:"Geoffrey Hinton"`, `author:"geoffrey hinton"`},
		{"title:(eeg OR meg)", "title:(eeg OR meg)"},
		{"title:(eeg meg) survey", "title:(eeg meg) survey"},
		{"title:eeg title:meg survey", "title:(eeg meg) survey"},
		{"title:eeg OR title:meg", "title:(eeg OR meg)"},
		{"title:(eeg -meg)", "title:(eeg -meg)"},
		{"-title:eeg meg", "-title:eeg meg"},
		{"title:-eeg meg", "-title:eeg meg"},
		{"-title:(eeg meg) x", "-title:(eeg meg) x"},
		{"title:(a OR b) abs:(c OR d)", "title:(a OR b) abstract:(c OR d)"},
		{"cat:cs.LG", "cat:cs.lg"},
		{"cat:CS.*", "cat:cs.*"},
		{"cat:(cs.LG OR stat.ML)", "cat:(cs.lg OR stat.ml)"},
		{`source:"My Feed"`, `source:"my feed"`},
		{`source:"My Feed*"`, `source:"my feed*"`},
		{`source:"a:b"`, `source:"a:b"`},
		{`cat:"-x"`, `cat:"-x"`},
		{"source:arxiv-cs", "source:arxiv-cs"},
		{"upvotes:>=10", "upvotes:>=10"},
		{"upvotes:=10", "upvotes:10"},
		{"upvotes:10", "upvotes:10"},
		{"upvotes:>3 upvotes:<9", "upvotes:>3 upvotes:<9"},
		{"upvotes:<=007", "upvotes:<=7"},
		{"or and not", "or and not"},
		{`"OR"`, "or"},
		{"eeg AND (meg OR NOT fmri)", "eeg (meg OR -fmri)"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			q, err := Parse(tt.q)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.q, err)
			}
			if got := q.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.q, got, tt.want)
			}
			assertRoundTrip(t, q)
		})
	}
}

// assertRoundTrip checks that the canonical form parses back to the same syntax tree and prints identically.
func assertRoundTrip(t *testing.T, q *Query) {
	t.Helper()
	roundTrip(t, q, Parse)
}

// roundTrip is assertRoundTrip with the parse function as a parameter (Parse or ParseStored).
func roundTrip(t *testing.T, q *Query, parse func(string) (*Query, error)) {
	t.Helper()
	s := q.String()
	q2, err := parse(s)
	if err != nil {
		t.Fatalf("canonical form %q does not parse: %v", s, err)
	}
	if !reflect.DeepEqual(q.root, q2.root) {
		t.Fatalf("canonical form %q parses to a different tree:\n%s\nvs\n%s", s, dump(q.root), dump(q2.root))
	}
	if s2 := q2.String(); s2 != s {
		t.Fatalf("String not stable: %q then %q", s, s2)
	}
}

// dump prints a tree for failure messages.
func dump(n *node) string {
	var b strings.Builder
	var walk func(n *node, depth int)
	walk = func(n *node, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString([]string{"AND", "OR", "NOT", "WORD", "EXACT", "UPVOTES"}[n.kind])
		b.WriteString(" " + fieldNames[n.field] + " " + strings.Join(n.words, "|") + " " + n.value)
		if n.prefix {
			b.WriteString("*")
		}
		b.WriteString("\n")
		for _, k := range n.kids {
			walk(k, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

func TestPrecedenceTree(t *testing.T) {
	// "a b OR c" must be OR(AND(a, b), c), and "-a b" AND(NOT a, b).
	q, err := Parse("a b OR -c d")
	if err != nil {
		t.Fatal(err)
	}
	r := q.root
	if r.kind != kOr || len(r.kids) != 2 || r.kids[0].kind != kAnd || r.kids[1].kind != kAnd ||
		r.kids[1].kids[0].kind != kNot || r.kids[1].kids[1].kind != kWord {
		t.Fatalf("wrong tree:\n%s", dump(r))
	}
}

func TestTerms(t *testing.T) {
	tests := []struct {
		q    string
		want []string
	}{
		{"eeg", []string{"eeg"}},
		{`EEG "foundation models" -survey neuro* cat:cs.LG upvotes:>3`, []string{"eeg", "foundation models", "neuro*"}},
		{"title:eeg OR abs:eeg OR au:hinton", []string{"eeg", "hinton"}},
		{"eeg -(meg OR fmri)", []string{"eeg"}},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			q, err := Parse(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := q.Terms(); !slices.Equal(got, tt.want) {
				t.Errorf("Terms() = %q, want %q", got, tt.want)
			}
		})
	}
}
