package filters

// PrefilterKind is the type of a Prefilter node.
type PrefilterKind uint8

const (
	// PreAnd holds when every kid holds.
	PreAnd PrefilterKind = iota + 1
	// PreOr holds when some kid holds.
	PreOr
	// PreTerm holds when one of the term's fields contains its words (see Prefilter).
	PreTerm
)

// Fields is a set of a paper's text fields, as bits.
type Fields uint8

const (
	// FieldTitle is the paper's title.
	FieldTitle Fields = 1 << iota
	// FieldAbstract is the paper's abstract.
	FieldAbstract
	// FieldAuthors is the paper's author names.
	FieldAuthors
)

// Has reports whether every field of g is in f.
func (f Fields) Has(g Fields) bool { return f&g == g }

// Prefilter is a necessary condition for a query to match a paper, in a form any full-text engine can evaluate:
// a tree of AND and OR over terms, each term a run of words in a set of text fields. It exists so that a store
// can narrow a look-up with its index without knowing the query language, and the query language need not know
// the store.
//
// The contract: every paper the query matches satisfies its Prefilter. A store evaluating it may over-approximate
// (return papers that do not satisfy it, for example by matching a phrase across two author names, or by
// dropping a condition it cannot express) but must never under-approximate; the query's Match or a Matcher then
// decides. A nil *Prefilter is no condition at all: every paper passes.
//
// A term's text is seen as this package sees it: each field folded and split into words as by FoldText (with
// FieldAuthors, each author's name on its own; an engine may index all names as one text, which only
// over-approximates). The term holds when, in some field of Fields, len(Words) consecutive words occur such
// that the i-th is one of Words[i], or, for the last position of a Prefix term, starts with one of
// Words[len(Words)-1]. Words[i][0] is the query's own folded word; the other forms are its plural and singular
// spellings under the package's plural rule, spelled out because no index is expected to know that rule.
//
// The tree is not normalized: an AND may have an AND kid, and an OR an OR kid, where dropping a condition left
// one behind. And and Or nodes have at least two kids; no kid is nil.
type Prefilter struct {
	// Kind says which of the fields below are set.
	Kind PrefilterKind
	// Kids are the operands of PreAnd and PreOr.
	Kids []*Prefilter
	// Fields are where a PreTerm may occur: at least one bit.
	Fields Fields
	// Words are a PreTerm's consecutive positions, each with the word forms accepted there: one position for a
	// word, several for a phrase.
	Words [][]string
	// Prefix makes a PreTerm's last position a word prefix. A prefix term has one position and one form.
	Prefix bool
}

// termFields maps a word leaf's field to the text fields it looks at.
var termFields = [...]Fields{
	fDefault:  FieldTitle | FieldAbstract,
	fTitle:    FieldTitle,
	fAbstract: FieldAbstract,
	fAuthor:   FieldAuthors,
}

// Prefilter returns a necessary condition for q to match (see the type's contract), or nil when q has none that a
// text index could use: for example when it is only categories, sources or upvotes, or when an OR has a branch
// without words. Negations are dropped, never inverted, because "does not contain" narrows nothing safely once an
// engine over-approximates. Each call builds a new tree; the caller may keep or change it.
func (q *Query) Prefilter() *Prefilter {
	return prefilterNode(q.root)
}

// prefilterNode returns the condition of n, nil meaning "none". Dropping a condition only widens the result.
func prefilterNode(n *node) *Prefilter {
	switch n.kind {
	case kNot, kExact, kUpvotes:
		return nil
	case kWord:
		t := &Prefilter{Kind: PreTerm, Fields: termFields[n.field], Prefix: n.prefix, Words: make([][]string, len(n.words))}
		for i, w := range n.words {
			if n.prefix {
				// Plural forms of a prefix are words with that prefix already.
				t.Words[i] = []string{w}
			} else {
				t.Words[i] = wordForms(w)
			}
		}
		return t
	}
	kind := PreAnd
	if n.kind == kOr {
		kind = PreOr
	}
	kids := make([]*Prefilter, 0, len(n.kids))
	for _, k := range n.kids {
		c := prefilterNode(k)
		if c == nil {
			if n.kind == kOr {
				// A branch without a condition lets any paper through the whole OR.
				return nil
			}
			continue
		}
		kids = append(kids, c)
	}
	switch len(kids) {
	case 0:
		return nil
	case 1:
		return kids[0]
	}
	return &Prefilter{Kind: kind, Kids: kids}
}
