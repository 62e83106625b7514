package filters

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// dumpPrefilter writes a pre-filter compactly: AND(..), OR(..), fields:[forms][forms] with * for a prefix, and
// "none" for nil.
func dumpPrefilter(p *Prefilter) string {
	if p == nil {
		return "none"
	}
	switch p.Kind {
	case PreAnd, PreOr:
		kids := make([]string, len(p.Kids))
		for i, k := range p.Kids {
			kids[i] = dumpPrefilter(k)
		}
		op := "AND"
		if p.Kind == PreOr {
			op = "OR"
		}
		return op + "(" + strings.Join(kids, ", ") + ")"
	}
	var fs []string
	for _, f := range []struct {
		bit  Fields
		name string
	}{{FieldTitle, "title"}, {FieldAbstract, "abstract"}, {FieldAuthors, "authors"}} {
		if p.Fields.Has(f.bit) {
			fs = append(fs, f.name)
		}
	}
	var b strings.Builder
	b.WriteString(strings.Join(fs, "+"))
	b.WriteByte(':')
	for _, forms := range p.Words {
		b.WriteString("[" + strings.Join(forms, " ") + "]")
	}
	if p.Prefix {
		b.WriteByte('*')
	}
	return b.String()
}

func TestPrefilter(t *testing.T) {
	t.Parallel()
	tests := []struct{ q, want string }{
		{"eeg", "title+abstract:[eeg eegs eeges]"},
		{"models", "title+abstract:[models modelses model]"},
		{"classes", "title+abstract:[classes classeses class classe]"},
		{"class", "title+abstract:[class classes]"},
		{"i", "title+abstract:[i]"},
		{"neuro*", "title+abstract:[neuro]*"},
		{"title:eeg -survey", "title:[eeg eegs eeges]"},
		{"au:hinton", "authors:[hinton hintons hintones]"},
		{`abs:"deep net"`, "abstract:[deep deeps deepes][net nets netes]"},
		{`title:(abc* OR "x y")`, "OR(title:[abc]*, title:[x][y])"},
		{"eeg OR cat:cs.LG", "none"},
		{"cat:cs.LG", "none"},
		{"upvotes:>=10 source:hf", "none"},
		{"cat:cs.LG eeg", "title+abstract:[eeg eegs eeges]"},
		{"a1 (b1 OR c1)", "AND(title+abstract:[a1 a1s a1es], OR(title+abstract:[b1 b1s b1es], title+abstract:[c1 c1s c1es]))"},
		{`"a1 b1 c1"`, "title+abstract:[a1 a1s a1es][b1 b1s b1es][c1 c1s c1es]"},
		// Negations narrow nothing, even inside an OR or an AND.
		{"-a1 b1 (c1 OR -d1)", "title+abstract:[b1 b1s b1es]"},
		// Dropping a condition may leave an OR inside an OR: the tree keeps that shape.
		{"((a1 OR b1) cat:x) OR c1", "OR(OR(title+abstract:[a1 a1s a1es], title+abstract:[b1 b1s b1es]), title+abstract:[c1 c1s c1es])"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			t.Parallel()
			q := mustParse(t, tt.q)
			checkPrefilter(t, q)
			if got := dumpPrefilter(q.Prefilter()); got != tt.want {
				t.Errorf("Prefilter() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// checkPrefilter checks the shape the Prefilter type promises, and that q has one exactly when every match of q
// needs some positive word.
func checkPrefilter(t *testing.T, q *Query) {
	t.Helper()
	pre := q.Prefilter()
	if requiresWords(q.root) != (pre != nil) {
		t.Fatalf("Prefilter of %q is %s", q, dumpPrefilter(pre))
	}
	var walk func(p *Prefilter)
	walk = func(p *Prefilter) {
		switch p.Kind {
		case PreAnd, PreOr:
			if len(p.Kids) < 2 || p.Fields != 0 || p.Words != nil || p.Prefix {
				t.Fatalf("Prefilter of %q has a bad operator node: %+v", q, p)
			}
			for _, k := range p.Kids {
				if k == nil {
					t.Fatalf("Prefilter of %q has a nil kid", q)
				}
				walk(k)
			}
		case PreTerm:
			if p.Fields == 0 || p.Fields&^(FieldTitle|FieldAbstract|FieldAuthors) != 0 || len(p.Words) == 0 || p.Kids != nil {
				t.Fatalf("Prefilter of %q has a bad term: %+v", q, p)
			}
			if p.Prefix && (len(p.Words) != 1 || len(p.Words[0]) != 1) {
				t.Fatalf("Prefilter of %q has a prefix term of several words: %+v", q, p)
			}
			for _, forms := range p.Words {
				if len(forms) == 0 || slices.Contains(forms, "") {
					t.Fatalf("Prefilter of %q has an empty position: %+v", q, p)
				}
			}
		default:
			t.Fatalf("Prefilter of %q has a node of kind %d", q, p.Kind)
		}
	}
	if pre != nil {
		walk(pre)
	}
}

// prefilterHolds evaluates pre on p by the type's definition, in its strictest reading (a phrase within one
// author's name), so that a superset under it is a superset under any engine's looser one.
func prefilterHolds(pre *Prefilter, p *paper.Paper) bool {
	if pre == nil {
		return true
	}
	switch pre.Kind {
	case PreAnd:
		for _, k := range pre.Kids {
			if !prefilterHolds(k, p) {
				return false
			}
		}
		return true
	case PreOr:
		return slices.ContainsFunc(pre.Kids, func(k *Prefilter) bool { return prefilterHolds(k, p) })
	}
	var texts [][]string
	if pre.Fields.Has(FieldTitle) {
		texts = append(texts, words(p.Title))
	}
	if pre.Fields.Has(FieldAbstract) {
		texts = append(texts, words(p.Abstract))
	}
	if pre.Fields.Has(FieldAuthors) {
		for _, a := range p.Authors {
			texts = append(texts, words(a))
		}
	}
	last := len(pre.Words) - 1
	for _, ws := range texts {
		for i := 0; i+len(pre.Words) <= len(ws); i++ {
			ok := true
			for j, forms := range pre.Words {
				w := ws[i+j]
				if pre.Prefix && j == last {
					ok = ok && slices.ContainsFunc(forms, func(f string) bool { return strings.HasPrefix(w, f) })
				} else {
					ok = ok && slices.Contains(forms, w)
				}
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// TestPropertyPrefilterIsSuperset holds the pre-filter to its contract: it never rejects a paper the query
// matches, by the reference evaluator and by the compiled Matcher.
func TestPropertyPrefilterIsSuperset(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	narrowed, checked, rejected := 0, 0, 0
	for range 3000 {
		q, err := Parse(randQuery(r, 3))
		if err != nil {
			continue
		}
		checkPrefilter(t, q)
		pre := q.Prefilter()
		if pre == nil {
			continue
		}
		narrowed++
		m := NewMatcher()
		m.Add(1, q)
		for range 20 {
			p := randPaper(r)
			_, ok := q.Match(p)
			if compiled := len(m.Match(p)) == 1; compiled != ok {
				t.Fatalf("query %q on %+v: compiled %v, reference %v", q, p, compiled, ok)
			}
			holds := prefilterHolds(pre, p)
			switch {
			case ok && !holds:
				t.Fatalf("query %q matches %+v but its pre-filter %s rejects it", q, p, dumpPrefilter(pre))
			case ok:
				checked++
			case !holds:
				rejected++
			}
		}
	}
	// Guard against a vacuous run: enough matches checked, and a pre-filter that does narrow.
	if narrowed < 1000 || checked < 1000 || rejected < 1000 {
		t.Fatalf("too few cases: %d narrowed queries, %d matching papers, %d rejected papers", narrowed, checked, rejected)
	}
}

// requiresWords reports whether every match of n needs some positive word leaf: when a pre-filter can narrow.
func requiresWords(n *node) bool {
	switch n.kind {
	case kWord:
		return true
	case kAnd:
		return slices.ContainsFunc(n.kids, requiresWords)
	case kOr:
		for _, k := range n.kids {
			if !requiresWords(k) {
				return false
			}
		}
		return true
	}
	return false
}
