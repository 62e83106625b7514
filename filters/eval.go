package filters

import (
	"slices"
	"strings"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Hit is one reason a paper matched: a term and the field it was found in.
type Hit struct {
	// Term is the term as in Terms ("eeg", "foundation model", "neuro*"), or the value of a category or source
	// filter ("cs.lg", "cs.*"), or "upvotes:>=10".
	Term string
	// Field is "title", "abstract", "author", "cat", "source" or "upvotes". A term without a field reports
	// "title" when it is in the title, else "abstract".
	Field string
}

// Explanation says why a paper matched a query: the positive terms that made it match, in query order. Terms
// under a negation never appear, nor alternatives of an OR that did not hold.
type Explanation struct {
	Hits []Hit
}

// String reads like "eeg (title), foundation model (abstract)".
func (e Explanation) String() string {
	var b strings.Builder
	for i, h := range e.Hits {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(h.Term)
		b.WriteString(" (")
		b.WriteString(h.Field)
		b.WriteByte(')')
	}
	return b.String()
}

// Terms lists the matched terms once each, in query order, for a card's "matched: eeg, foundation model".
func (e Explanation) Terms() []string {
	out := make([]string, 0, len(e.Hits))
	for _, h := range e.Hits {
		if !slices.Contains(out, h.Term) {
			out = append(out, h.Term)
		}
	}
	return out
}

// addHit appends h unless it is already listed.
func (e *Explanation) addHit(h Hit) {
	for _, o := range e.Hits {
		if o == h {
			return
		}
	}
	e.Hits = append(e.Hits, h)
}

// doc is a paper as the reference evaluator sees it: folded words per field, each author separately.
type doc struct {
	title, abstract []string
	authors         [][]string
	cats, sources   []string
	hasHF           bool
	upvotes         int
}

func newDoc(p *paper.Paper) *doc {
	d := &doc{title: words(p.Title), abstract: words(p.Abstract), hasHF: p.HasHF, upvotes: p.Upvotes}
	for _, a := range p.Authors {
		d.authors = append(d.authors, words(a))
	}
	for _, c := range p.Categories {
		d.cats = append(d.cats, foldExact(c))
	}
	for _, s := range p.Sources {
		d.sources = append(d.sources, foldExact(s))
	}
	return d
}

// Match evaluates the query on one paper directly from its syntax tree. It is the reference semantics; the
// Matcher computes the same answers for many queries at once. The Explanation is empty when the paper does not
// match.
func (q *Query) Match(p *paper.Paper) (Explanation, bool) {
	d := newDoc(p)
	if !evalNode(q.root, d) {
		return Explanation{}, false
	}
	var e Explanation
	explain(q.root, d, &e)
	return e, true
}

// evalNode evaluates n on d.
func evalNode(n *node, d *doc) bool {
	switch n.kind {
	case kAnd:
		for _, k := range n.kids {
			if !evalNode(k, d) {
				return false
			}
		}
		return true
	case kOr:
		for _, k := range n.kids {
			if evalNode(k, d) {
				return true
			}
		}
		return false
	case kNot:
		return !evalNode(n.kids[0], d)
	}
	return leafField(n, d) != ""
}

// explain records the hits of a node known to be true: every kid of an AND, the true kids of an OR, nothing
// under a NOT.
func explain(n *node, d *doc, e *Explanation) {
	switch n.kind {
	case kAnd, kOr:
		for _, k := range n.kids {
			if n.kind == kAnd || evalNode(k, d) {
				explain(k, d, e)
			}
		}
	case kNot:
	default:
		e.addHit(Hit{Term: leafTerm(n), Field: leafField(n, d)})
	}
}

// leafField returns the name of the field in which a leaf holds, or "" if it does not.
func leafField(n *node, d *doc) string {
	switch n.kind {
	case kUpvotes:
		if d.hasHF && compare(d.upvotes, n.op, n.n) {
			return "upvotes"
		}
	case kExact:
		vals := d.cats
		if n.field == fSource {
			vals = d.sources
		}
		for _, v := range vals {
			if v == n.value || n.prefix && strings.HasPrefix(v, n.value) {
				return fieldNames[n.field]
			}
		}
	case kWord:
		m := n.field.mask()
		switch {
		case m&bitTitle != 0 && seqHas(d.title, n):
			return "title"
		case m&bitAbstract != 0 && seqHas(d.abstract, n):
			return "abstract"
		case m&bitAuthor != 0:
			for _, a := range d.authors {
				if seqHas(a, n) {
					return "author"
				}
			}
		}
	}
	return ""
}

// compare applies an upvotes comparison.
func compare(v int, op cmpOp, n int) bool {
	switch op {
	case opGt:
		return v > n
	case opGe:
		return v >= n
	case opLt:
		return v < n
	case opLe:
		return v <= n
	}
	return v == n
}

// seqHas reports whether the word sequence ws contains the word, prefix or phrase of leaf n.
func seqHas(ws []string, n *node) bool {
	if n.prefix {
		for _, w := range ws {
			if strings.HasPrefix(w, n.words[0]) {
				return true
			}
		}
		return false
	}
outer:
	for i := 0; i+len(n.words) <= len(ws); i++ {
		for j, q := range n.words {
			if !wordEq(q, ws[i+j]) {
				continue outer
			}
		}
		return true
	}
	return false
}
