package filters

import (
	"strconv"
	"strings"
	"unicode"
)

// String returns the query in canonical form: lower-cased folded terms, long field names, OR for alternatives,
// "-" for negation, and only the parentheses precedence requires. A field shared by every leaf of a group is
// written once in front of the group. Parse(q.String()) yields the same query.
func (q *Query) String() string {
	var b strings.Builder
	writeNode(&b, q.root, fDefault, false)
	return b.String()
}

// noField marks a subtree whose leaves do not all share one factorable field.
const noField field = 255

// commonField returns the field every leaf of n uses, or noField. Upvotes leaves are never factored: their
// syntax takes a comparison, not a group.
func commonField(n *node) field {
	switch n.kind {
	case kUpvotes:
		return noField
	case kWord, kExact:
		return n.field
	}
	f := commonField(n.kids[0])
	for _, k := range n.kids[1:] {
		if commonField(k) != f {
			return noField
		}
	}
	return f
}

// writeNode prints n. ctx is the field already written in front of an enclosing group; paren asks for parentheses
// around an AND or OR.
func writeNode(b *strings.Builder, n *node, ctx field, paren bool) {
	switch n.kind {
	case kWord, kExact, kUpvotes:
		if n.field != ctx && n.field != fDefault {
			b.WriteString(fieldNames[n.field])
			b.WriteByte(':')
		}
		writeLeafValue(b, n)
		return
	case kNot:
		b.WriteByte('-')
		writeNode(b, n.kids[0], ctx, true)
		return
	}
	if f := commonField(n); ctx == fDefault && f != noField && f != fDefault {
		b.WriteString(fieldNames[f])
		b.WriteString(":(")
		writeKids(b, n, f)
		b.WriteByte(')')
		return
	}
	if paren {
		b.WriteByte('(')
	}
	writeKids(b, n, ctx)
	if paren {
		b.WriteByte(')')
	}
}

// writeKids prints the kids of an AND or OR. Outside a field group, consecutive kids sharing a field are grouped
// under it, which re-parses to the same flattened node.
func writeKids(b *strings.Builder, n *node, ctx field) {
	sep := " "
	if n.kind == kOr {
		sep = " OR "
	}
	for i := 0; i < len(n.kids); {
		if i > 0 {
			b.WriteString(sep)
		}
		j := i + 1
		if f := commonField(n.kids[i]); ctx == fDefault && f != noField && f != fDefault {
			for j < len(n.kids) && commonField(n.kids[j]) == f {
				j++
			}
		}
		if j-i > 1 {
			b.WriteString(fieldNames[commonField(n.kids[i])])
			b.WriteString(":(")
			writeKids(b, &node{kind: n.kind, kids: n.kids[i:j]}, commonField(n.kids[i]))
			b.WriteByte(')')
		} else {
			// Inside AND, an OR kid needs parentheses; inside OR, an AND kid binds tighter and needs none.
			writeNode(b, n.kids[i], ctx, n.kind == kAnd && n.kids[i].kind == kOr)
		}
		i = j
	}
}

// writeLeafValue prints a leaf without its field.
func writeLeafValue(b *strings.Builder, n *node) {
	switch n.kind {
	case kWord:
		if len(n.words) > 1 {
			b.WriteByte('"')
			b.WriteString(strings.Join(n.words, " "))
			b.WriteByte('"')
			return
		}
		b.WriteString(n.words[0])
		if n.prefix {
			b.WriteByte('*')
		}
	case kExact:
		v := n.value
		if n.prefix {
			v += "*"
		}
		if needsQuotes(n.value) {
			b.WriteByte('"')
			b.WriteString(v)
			b.WriteByte('"')
			return
		}
		b.WriteString(v)
	case kUpvotes:
		b.WriteString(cmpNames[n.op])
		b.WriteString(strconv.Itoa(n.n))
	}
}

// needsQuotes reports whether an exact value would not lex back as one bare word.
func needsQuotes(v string) bool {
	if strings.HasPrefix(v, "-") || strings.ContainsAny(v, `()"|:`) {
		return true
	}
	switch v {
	case "and", "or", "not":
		// Folded values are lower case and so never keywords; listed for clarity should folding change.
		return false
	}
	return strings.IndexFunc(v, unicode.IsSpace) >= 0
}

// leafTerm is how a leaf is named in explanations and Terms: its value without the field.
func leafTerm(n *node) string {
	var b strings.Builder
	if n.kind == kUpvotes {
		b.WriteString("upvotes:")
	}
	switch n.kind {
	case kWord:
		b.WriteString(strings.Join(n.words, " "))
		if n.prefix {
			b.WriteByte('*')
		}
	case kExact:
		b.WriteString(n.value)
		if n.prefix {
			b.WriteByte('*')
		}
	default:
		writeLeafValue(&b, n)
	}
	return b.String()
}

// Terms returns the positive words, phrases and prefixes of the query ("eeg", "foundation model", "neuro*"),
// without duplicates, in query order: what a card may highlight. Negated terms and categories, sources and upvotes
// are left out.
func (q *Query) Terms() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		switch n.kind {
		case kNot:
			return
		case kWord:
			if t := leafTerm(n); !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(q.root)
	return out
}
