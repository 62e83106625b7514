package postgres

import (
	"strings"

	"github.com/paperboy-bot/paperboy/filters"
)

// tsqueryOf renders a query's pre-filter for the documents tsvectorOf builds, "" meaning no condition. A term
// becomes a phrase (<->) of its positions, each an OR of its word forms; its fields become weights (title A,
// abstract B, authors C) and a prefix term ends in :*. Nothing is lost in the translation, so the result is as
// exact a necessary condition as the pre-filter itself, and the SQLite store and this one hand the matcher the
// same candidates. A node of a kind this store does not know is no condition: dropping a condition only widens.
func tsqueryOf(pre *filters.Prefilter) string {
	if pre == nil {
		return ""
	}
	var b strings.Builder
	if !writeTSQuery(&b, pre) {
		return ""
	}
	return b.String()
}

// writeTSQuery writes the condition of p and reports whether there is one.
func writeTSQuery(b *strings.Builder, p *filters.Prefilter) bool {
	switch p.Kind {
	case filters.PreTerm:
		writeTerm(b, p)
		return true
	case filters.PreAnd, filters.PreOr:
	default:
		return false
	}
	op := " & "
	if p.Kind == filters.PreOr {
		op = " | "
	}
	var kids []string
	for _, k := range p.Kids {
		var kb strings.Builder
		if !writeTSQuery(&kb, k) {
			if p.Kind == filters.PreOr {
				return false // a branch without a condition lets everything through
			}
			continue
		}
		kids = append(kids, kb.String())
	}
	if len(kids) == 0 {
		return false
	}
	b.WriteByte('(')
	b.WriteString(strings.Join(kids, op))
	b.WriteByte(')')
	return true
}

// writeTerm writes one term: (form | form) <-> (form | form) ..., each form weighted by the term's fields.
func writeTerm(b *strings.Builder, p *filters.Prefilter) {
	weights := weightsOf(p.Fields)
	b.WriteByte('(')
	for i, forms := range p.Words {
		if i > 0 {
			b.WriteString(" <-> ")
		}
		b.WriteByte('(')
		for j, f := range forms {
			if j > 0 {
				b.WriteString(" | ")
			}
			writeLexeme(b, cutLexeme(f))
			b.WriteByte(':')
			if p.Prefix && i == len(p.Words)-1 {
				b.WriteByte('*')
			}
			b.WriteString(weights)
		}
		b.WriteByte(')')
	}
	b.WriteByte(')')
}

// weightsOf is the weight restriction of a set of fields; every field, or none known, is no restriction.
func weightsOf(f filters.Fields) string {
	var w string
	if f.Has(filters.FieldTitle) {
		w += "A"
	}
	if f.Has(filters.FieldAbstract) {
		w += "B"
	}
	if f.Has(filters.FieldAuthors) {
		w += "C"
	}
	if len(w) == 3 || w == "" {
		return ""
	}
	return w
}
