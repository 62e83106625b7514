package filters

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits that keep a hostile or mistyped query from costing more than a normal one.
const (
	// MaxQueryLen is the longest accepted query, in characters (runes).
	MaxQueryLen = 1000
	// MaxDepth is the deepest accepted nesting of parentheses.
	MaxDepth = 20
	// MaxTerms is the most words, phrases, prefixes and field values a query may hold: each is a lookup in the
	// full-text index, so a look-up's cost grows with their number.
	MaxTerms = 40
	// MaxPrefixes is the most word prefixes (neuro*) a query may hold. A prefix is the dearest term: the index
	// merges the entries of every word it starts, which for a short prefix is a large part of the index, and SQLite
	// cannot interrupt that merge (a profile of BenchmarkWorstLookup spends most of a look-up in it), so a look-up's
	// time budget alone does not bound it.
	MaxPrefixes = 4
	// MinPrefixLen is the fewest letters a word prefix needs before its *: "a*" starts most words of a corpus,
	// and scanning them all took seconds at 40,000 papers. Category and source prefixes (cat:cs.*) are not full
	// text and have no minimum.
	MinPrefixLen = 3
	// MaxGroups is the most OR groups (sets of alternatives) a query may hold.
	MaxGroups = 12
)

// SyntaxError is why a query is invalid and where.
type SyntaxError struct {
	// Pos is the 1-based column (in runes) where the problem starts, or 0 when it concerns the whole query.
	Pos int
	// Msg says what is wrong, in words meant for the user.
	Msg string
}

// Error reads like "unclosed quote at 12", or just the message when the error has no position.
func (e *SyntaxError) Error() string {
	if e.Pos <= 0 {
		return e.Msg
	}
	return e.Msg + " at " + strconv.Itoa(e.Pos)
}

// field says which part of a paper a leaf looks at.
type field uint8

const (
	fDefault  field = iota // title or abstract
	fTitle                 // title
	fAbstract              // abstract
	fAuthor                // one author's name
	fCat                   // arXiv category, exact or prefix
	fSource                // configured source name, exact or prefix
	fUpvotes               // Hugging Face upvotes
)

// fieldNames are the canonical (long) spellings, used by the printer and in explanations.
var fieldNames = [...]string{
	fDefault:  "",
	fTitle:    "title",
	fAbstract: "abstract",
	fAuthor:   "author",
	fCat:      "cat",
	fSource:   "source",
	fUpvotes:  "upvotes",
}

// fieldByName maps every accepted spelling (lower case) to its field.
var fieldByName = map[string]field{
	"title":    fTitle,
	"abstract": fAbstract,
	"abs":      fAbstract,
	"author":   fAuthor,
	"au":       fAuthor,
	"cat":      fCat,
	"source":   fSource,
	"upvotes":  fUpvotes,
}

// textMask is the set of text fields a word leaf looks at, as bits.
const (
	bitTitle    uint8 = 1 << iota // the title
	bitAbstract                   // the abstract
	bitAuthor                     // an author's name
	bitOther                      // a category, source or upvotes leaf was satisfied
)

// mask returns the text fields a word leaf of this field looks at.
func (f field) mask() uint8 {
	switch f {
	case fDefault:
		return bitTitle | bitAbstract
	case fTitle:
		return bitTitle
	case fAbstract:
		return bitAbstract
	case fAuthor:
		return bitAuthor
	}
	return bitOther
}

// kind is the type of an AST node.
type kind uint8

const (
	kAnd     kind = iota // all kids
	kOr                  // any kid
	kNot                 // not the only kid
	kWord                // a word, phrase or word prefix in a text field
	kExact               // a category or source value, or prefix
	kUpvotes             // an upvotes comparison
)

// cmpOp is an upvotes comparison.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opGt
	opGe
	opLt
	opLe
)

var cmpNames = [...]string{opEq: "", opGt: ">", opGe: ">=", opLt: "<", opLe: "<="}

// node is one node of the query AST. The parser keeps it canonical: AND and OR never have a kid of their own
// kind, and have at least two kids; NOT never wraps NOT. This makes structural equality mean equal queries up to
// term order, which the round-trip tests rely on.
type node struct {
	kind  kind
	kids  []*node
	field field
	// words are the folded words of a kWord leaf (more than one for a phrase); value is a kExact leaf's folded value.
	words  []string
	value  string
	prefix bool
	op     cmpOp
	n      int
}

// Query is a parsed, valid query. It is immutable and safe for concurrent use.
type Query struct {
	root *node
}

// tokKind is the type of a lexer token.
type tokKind uint8

const (
	tWord tokKind = iota
	tPhrase
	tField
	tLParen
	tRParen
	tAnd
	tOr
	tNot
	tEOF
)

// token is one lexeme; pos is its 1-based rune column.
type token struct {
	kind  tokKind
	text  string // the word or phrase text, or the operator as written (for messages)
	field field
	pos   int
}

// isSpecial reports whether r ends a bare word.
func isSpecial(r rune) bool {
	return r == '(' || r == ')' || r == '"' || r == '|' || unicode.IsSpace(r)
}

// lex splits a query into tokens.
func lex(q string) ([]token, error) {
	rs := []rune(q)
	var toks []token
	for i := 0; i < len(rs); {
		r := rs[i]
		pos := i + 1
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			toks = append(toks, token{kind: tLParen, text: "(", pos: pos})
			i++
		case r == ')':
			toks = append(toks, token{kind: tRParen, text: ")", pos: pos})
			i++
		case r == '|':
			toks = append(toks, token{kind: tOr, text: "|", pos: pos})
			i++
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			if j == len(rs) {
				return nil, &SyntaxError{Pos: pos, Msg: "unclosed quote"}
			}
			toks = append(toks, token{kind: tPhrase, text: string(rs[i+1 : j]), pos: pos})
			i = j + 1
		default:
			j := i
			for j < len(rs) && !isSpecial(rs[j]) {
				j++
			}
			var err error
			toks, err = lexRun(toks, rs, i, j, true)
			if err != nil {
				return nil, err
			}
			i = j
		}
	}
	return append(toks, token{kind: tEOF, pos: len(rs) + 1}), nil
}

// lexRun lexes the bare run rs[i:j]: a leading "-" (negation), a "field:" prefix, an operator keyword (only when
// the run stands alone), or a word. A negation or field may be followed by more of the run, or by a phrase or
// group right after it.
func lexRun(toks []token, rs []rune, i, j int, standalone bool) ([]token, error) {
	pos := i + 1
	run := string(rs[i:j])
	if rs[i] == '-' {
		// "-" negates what follows directly: the rest of the run, a phrase or a group.
		if i+1 == j && (j == len(rs) || unicode.IsSpace(rs[j]) || rs[j] == ')' || rs[j] == '|') {
			return nil, &SyntaxError{Pos: pos, Msg: `"-" needs a term right after it`}
		}
		toks = append(toks, token{kind: tNot, text: "-", pos: pos})
		if i+1 == j {
			return toks, nil
		}
		return lexRun(toks, rs, i+1, j, false)
	}
	if standalone {
		switch run {
		case "AND":
			return append(toks, token{kind: tAnd, text: run, pos: pos}), nil
		case "OR":
			return append(toks, token{kind: tOr, text: run, pos: pos}), nil
		case "NOT":
			return append(toks, token{kind: tNot, text: run, pos: pos}), nil
		}
	}
	if c := strings.IndexByte(run, ':'); c > 0 && isLetters(run[:c]) {
		name := strings.ToLower(run[:c])
		f, ok := fieldByName[name]
		if !ok {
			return nil, &SyntaxError{Pos: pos, Msg: fmt.Sprintf("unknown field %q", run[:c])}
		}
		toks = append(toks, token{kind: tField, text: name, field: f, pos: pos})
		k := i + c + 1 // c is a byte offset into ASCII letters, so also a rune offset.
		if k == j {
			return toks, nil
		}
		return lexRun(toks, rs, k, j, false)
	}
	return append(toks, token{kind: tWord, text: run, pos: pos}), nil
}

// isLetters reports whether s is a non-empty run of ASCII letters, the shape of a field name.
func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// parser is a recursive-descent parser over the token list.
type parser struct {
	toks  []token
	i     int
	depth int
	// limited applies the cost limits (MaxTerms, MaxPrefixes, MinPrefixLen, MaxGroups); terms, prefixes and
	// groups count what the query holds so far.
	limited                 bool
	terms, prefixes, groups int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

// startsUnary reports whether a token can begin an operand.
func startsUnary(k tokKind) bool {
	return k == tWord || k == tPhrase || k == tField || k == tLParen || k == tNot
}

// Parse parses a query a user wrote, within the cost limits (MaxTerms, MaxPrefixes, MinPrefixLen, MaxGroups) as
// well as the length and nesting limits. The error, if any, is a *SyntaxError.
func Parse(q string) (*Query, error) {
	return parse(q, true)
}

// ParseStored parses a query stored before the cost limits existed: a subscription that was valid when it was
// stored must keep matching, so it is held only to the length and nesting limits. What a user types goes through
// Parse; a look-up with a stored query is bounded by its time budget instead.
func ParseStored(q string) (*Query, error) {
	return parse(q, false)
}

func parse(q string, limited bool) (*Query, error) {
	if n := utf8.RuneCountInString(q); n > MaxQueryLen {
		return nil, &SyntaxError{Msg: fmt.Sprintf("query is longer than %d characters (it has %d)", MaxQueryLen, n)}
	}
	if !utf8.ValidString(q) {
		return nil, &SyntaxError{Msg: "query is not valid UTF-8"}
	}
	if strings.TrimSpace(q) == "" {
		return nil, &SyntaxError{Msg: "empty query"}
	}
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, limited: limited}
	root, err := p.parseOr(fDefault)
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); t.kind {
	case tEOF:
	case tRParen:
		return nil, &SyntaxError{Pos: t.pos, Msg: "unbalanced parenthesis"}
	default:
		return nil, &SyntaxError{Pos: t.pos, Msg: "unexpected " + t.text}
	}
	if !requires(root) {
		return nil, &SyntaxError{Msg: "a query must require something: NOT alone matches everything"}
	}
	pq := &Query{root: root}
	// The canonical form can be longer than the input ("a|b" is "a OR b", "gpt-4" is "\"gpt 4\""), and it is what
	// the store keeps and parses again: it must fit the limit too, or a stored subscription would stop parsing.
	// The cost limits need no such check: they count the syntax tree, which the canonical form keeps.
	if n := utf8.RuneCountInString(pq.String()); n > MaxQueryLen {
		return nil, &SyntaxError{Msg: fmt.Sprintf("query is longer than %d characters once written in canonical form (it has %d)", MaxQueryLen, n)}
	}
	return pq, nil
}

// requires reports whether every paper matching n satisfies at least one positive leaf, that is whether n is more
// than a negation of something.
func requires(n *node) bool {
	switch n.kind {
	case kNot:
		return false
	case kAnd:
		for _, k := range n.kids {
			if requires(k) {
				return true
			}
		}
		return false
	case kOr:
		for _, k := range n.kids {
			if !requires(k) {
				return false
			}
		}
		return true
	}
	return true
}

// parseOr parses alternatives: and (OR and)*.
func (p *parser) parseOr(ctx field) (*node, error) {
	if t := p.peek(); t.kind == tOr {
		return nil, &SyntaxError{Pos: t.pos, Msg: "OR needs a term on both sides"}
	}
	first, err := p.parseAnd(ctx)
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for p.peek().kind == tOr {
		op := p.next()
		if !startsUnary(p.peek().kind) {
			return nil, &SyntaxError{Pos: op.pos, Msg: "OR needs a term on both sides"}
		}
		// Counted per run of alternatives, which is at least the OR nodes of the tree (join flattens nested ones):
		// a query accepted here has a canonical form that is accepted too.
		if len(kids) == 1 {
			if err := p.count(&p.groups, MaxGroups, op.pos, "OR groups"); err != nil {
				return nil, err
			}
		}
		k, err := p.parseAnd(ctx)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	return join(kOr, kids), nil
}

// parseAnd parses conjunctions: unary ([AND] unary)*.
func (p *parser) parseAnd(ctx field) (*node, error) {
	if t := p.peek(); t.kind == tAnd {
		return nil, &SyntaxError{Pos: t.pos, Msg: "AND needs a term on both sides"}
	}
	first, err := p.parseUnary(ctx)
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for {
		t := p.peek()
		if t.kind == tAnd {
			p.next()
			if !startsUnary(p.peek().kind) {
				return nil, &SyntaxError{Pos: t.pos, Msg: "AND needs a term on both sides"}
			}
		} else if !startsUnary(t.kind) {
			break
		}
		k, err := p.parseUnary(ctx)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	return join(kAnd, kids), nil
}

// join builds a canonical AND or OR: nested nodes of the same kind are flattened and a single kid stands alone.
func join(k kind, kids []*node) *node {
	if len(kids) == 1 {
		return kids[0]
	}
	n := &node{kind: k}
	for _, c := range kids {
		if c.kind == k {
			n.kids = append(n.kids, c.kids...)
		} else {
			n.kids = append(n.kids, c)
		}
	}
	return n
}

// negate builds a canonical NOT: a double negation cancels out.
func negate(n *node) *node {
	if n.kind == kNot {
		return n.kids[0]
	}
	return &node{kind: kNot, kids: []*node{n}}
}

// parseUnary parses (NOT | -)* primary.
func (p *parser) parseUnary(ctx field) (*node, error) {
	neg := false
	for p.peek().kind == tNot {
		t := p.next()
		if !startsUnary(p.peek().kind) {
			return nil, &SyntaxError{Pos: t.pos, Msg: t.text + " needs a term after it"}
		}
		neg = !neg
	}
	n, err := p.parsePrimary(ctx)
	if err != nil || !neg {
		return n, err
	}
	return negate(n), nil
}

// parsePrimary parses a field-qualified operand, a word, a phrase or a parenthesized group.
func (p *parser) parsePrimary(ctx field) (*node, error) {
	t := p.next()
	switch t.kind {
	case tField:
		if ctx != fDefault {
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("field %s: inside %s:", t.text, fieldNames[ctx])}
		}
		if t.field == fUpvotes {
			return p.parseUpvotes(t)
		}
		if !startsUnary(p.peek().kind) {
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("field %s: needs a term, phrase or group", t.text)}
		}
		return p.parseUnary(t.field)
	case tWord:
		return p.leaf(t, ctx, false)
	case tPhrase:
		return p.leaf(t, ctx, true)
	case tLParen:
		if p.depth >= MaxDepth {
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("parentheses nested deeper than %d", MaxDepth)}
		}
		if p.peek().kind == tRParen {
			return nil, &SyntaxError{Pos: t.pos, Msg: "empty parentheses"}
		}
		p.depth++
		n, err := p.parseOr(ctx)
		if err != nil {
			return nil, err
		}
		p.depth--
		if c := p.next(); c.kind != tRParen {
			if c.kind == tEOF {
				return nil, &SyntaxError{Pos: t.pos, Msg: "unbalanced parenthesis"}
			}
			return nil, &SyntaxError{Pos: c.pos, Msg: "unexpected " + c.text}
		}
		return n, nil
	case tRParen:
		return nil, &SyntaxError{Pos: t.pos, Msg: "unbalanced parenthesis"}
	case tEOF:
		return nil, &SyntaxError{Pos: t.pos, Msg: "unexpected end of query"}
	}
	return nil, &SyntaxError{Pos: t.pos, Msg: "unexpected " + t.text}
}

// parseUpvotes parses the comparison that must follow upvotes: directly.
func (p *parser) parseUpvotes(f token) (*node, error) {
	bad := &SyntaxError{Pos: f.pos, Msg: "upvotes: needs a comparison such as upvotes:>=10"}
	t := p.peek()
	if t.kind != tWord {
		return nil, bad
	}
	p.next()
	s := t.text
	op := opEq
	for _, c := range []struct {
		s  string
		op cmpOp
	}{{">=", opGe}, {"<=", opLe}, {">", opGt}, {"<", opLt}, {"=", opEq}} {
		if rest, ok := strings.CutPrefix(s, c.s); ok {
			s, op = rest, c.op
			break
		}
	}
	if s == "" || len(s) > 9 || strings.TrimLeft(s, "0123456789") != "" {
		return nil, &SyntaxError{Pos: t.pos, Msg: "upvotes: needs a whole number such as upvotes:>=10"}
	}
	n, _ := strconv.Atoi(s) // At most 9 ASCII digits: cannot fail.
	if err := p.count(&p.terms, MaxTerms, f.pos, "terms"); err != nil {
		return nil, err
	}
	return &node{kind: kUpvotes, field: fUpvotes, op: op, n: n}, nil
}

// count adds one to *n and refuses the query when that exceeds limit; what names the things counted.
func (p *parser) count(n *int, limit, pos int, what string) error {
	*n++
	if p.limited && *n > limit {
		return &SyntaxError{Pos: pos, Msg: fmt.Sprintf("too many %s (at most %d; narrow the query)", what, limit)}
	}
	return nil
}

// leaf turns a word or phrase token into a leaf for the field in force, counting it against the limits.
func (p *parser) leaf(t token, f field, quoted bool) (*node, error) {
	n, err := leaf(t, f, quoted)
	if err != nil {
		return nil, err
	}
	if err := p.count(&p.terms, MaxTerms, t.pos, "terms"); err != nil {
		return nil, err
	}
	if n.kind != kWord || !n.prefix {
		return n, nil
	}
	if p.limited && utf8.RuneCountInString(n.words[0]) < MinPrefixLen {
		return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("prefix %s* is too short (at least %d letters before *, as in neu*)", n.words[0], MinPrefixLen)}
	}
	if err := p.count(&p.prefixes, MaxPrefixes, t.pos, "prefixes such as neuro*"); err != nil {
		return nil, err
	}
	return n, nil
}

// leaf turns a word or phrase token into a leaf for the field in force.
func leaf(t token, f field, quoted bool) (*node, error) {
	if f == fCat || f == fSource {
		v := foldExact(t.text)
		prefix := false
		if cut, ok := strings.CutSuffix(v, "*"); ok {
			v, prefix = strings.TrimRight(cut, " "), true
		}
		if v == "" {
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("%s: needs a value", fieldNames[f])}
		}
		return &node{kind: kExact, field: f, value: v, prefix: prefix}, nil
	}
	text, prefix := t.text, false
	if !quoted {
		if k := strings.IndexByte(text, '*'); k >= 0 {
			if k != len(text)-1 {
				return nil, &SyntaxError{Pos: t.pos, Msg: "* may only end a word, as in neuro*"}
			}
			text, prefix = text[:k], true
		}
	}
	ws := words(text)
	switch {
	case len(ws) == 0 && quoted:
		return nil, &SyntaxError{Pos: t.pos, Msg: "empty phrase"}
	case len(ws) == 0 && prefix:
		return nil, &SyntaxError{Pos: t.pos, Msg: "* needs a word before it, as in neuro*"}
	case len(ws) == 0:
		return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("%q has no letters or digits", t.text)}
	case len(ws) > 1 && prefix:
		return nil, &SyntaxError{Pos: t.pos, Msg: "a prefix must be a single word"}
	}
	return &node{kind: kWord, field: f, words: ws, prefix: prefix}, nil
}
