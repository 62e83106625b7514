package store

import (
	"strings"

	"github.com/paperboy-bot/paperboy/filters"
)

// ftsColumns are the text fields of a pre-filter term as papers_fts columns, in the table's column order.
var ftsColumns = []struct {
	field filters.Fields
	name  string
}{
	{filters.FieldTitle, "title"},
	{filters.FieldAbstract, "abstract"},
	{filters.FieldAuthors, "authors"},
}

// maxPhraseForms bounds the number of spelled-out phrase variants of one term; beyond it a phrase becomes an AND
// of its positions, dropping adjacency, which is still a superset. FTS5 has no alternatives inside a phrase, so
// a phrase of n words with three forms each would otherwise cost 3^n phrases.
const maxPhraseForms = 16

// ftsMatch renders a pre-filter as an FTS5 MATCH expression over papers_fts (tokenizer unicode61
// remove_diacritics 2) that every paper satisfying pre passes. Every word is a quoted FTS5 string, so no word can
// inject FTS syntax. pre must not be nil.
//
// The index holds the raw text, which unicode61 folds by case and diacritics as filters.FoldText does; it does not
// apply compatibility decomposition, so a paper that spells a word with a ligature ("ﬁnding") is not found by the
// word's plain spelling. The authors column is all names in one text, so a phrase may match across two names:
// an over-approximation the matcher then removes.
func ftsMatch(pre *filters.Prefilter) string {
	return ftsMatchSpelled(pre, nil)
}

// ftsMatchSpelled is ftsMatch with prefixes spelled out: a prefix term whose word is a key of spelled is the OR
// of those indexed words instead (see prefixTerms), which FTS5 reads lazily where it would merge every doclist of
// the prefix first. It matches the same rows, as long as spelled lists every indexed word with the prefix.
func ftsMatchSpelled(pre *filters.Prefilter, spelled map[string][]string) string {
	switch pre.Kind {
	case filters.PreAnd, filters.PreOr:
		sep := " AND "
		if pre.Kind == filters.PreOr {
			sep = " OR "
		}
		parts := make([]string, len(pre.Kids))
		for i, k := range pre.Kids {
			parts[i] = "(" + ftsMatchSpelled(k, spelled) + ")"
		}
		return strings.Join(parts, sep)
	}
	if words, ok := spelled[prefixWord(pre)]; ok && len(words) > 0 {
		qs := make([]string, len(words))
		for i, w := range words {
			qs[i] = ftsQuote(w)
		}
		return ftsColumnFilter(pre.Fields) + " : (" + strings.Join(qs, " OR ") + ")"
	}
	return ftsColumnFilter(pre.Fields) + " : " + ftsTerm(pre)
}

// prefixWord is the word of a prefix term with one position and one form (every prefix term the filters package
// makes), "" for any other node.
func prefixWord(pre *filters.Prefilter) string {
	if pre.Kind != filters.PreTerm || !pre.Prefix || len(pre.Words) != 1 || len(pre.Words[0]) != 1 {
		return ""
	}
	return pre.Words[0][0]
}

// prefixWords returns the words of pre's prefix terms (see prefixWord).
func prefixWords(pre *filters.Prefilter) []string {
	if w := prefixWord(pre); w != "" {
		return []string{w}
	}
	var out []string
	for _, k := range pre.Kids {
		out = append(out, prefixWords(k)...)
	}
	return out
}

// ftsColumnFilter writes a column filter: one column by name, several as {a b}.
func ftsColumnFilter(f filters.Fields) string {
	var cols []string
	for _, c := range ftsColumns {
		if f.Has(c.field) {
			cols = append(cols, c.name)
		}
	}
	if len(cols) == 1 {
		return cols[0]
	}
	return "{" + strings.Join(cols, " ") + "}"
}

// ftsQuote quotes one FTS5 string: inner double quotes are doubled, the only escaping FTS5 strings need.
func ftsQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ftsTerm spells out a term's word forms, parenthesized: every combination of forms as one phrase when there are
// at most maxPhraseForms, otherwise each position as an alternative of its forms, all required.
func ftsTerm(t *filters.Prefilter) string {
	total := 1
	for _, forms := range t.Words {
		total *= len(forms)
		if total > maxPhraseForms {
			break
		}
	}
	star := ""
	if t.Prefix {
		// FTS5 reads a * after a string as "the last token is a prefix".
		star = "*"
	}
	var alts []string
	if total <= maxPhraseForms {
		idx := make([]int, len(t.Words))
		ws := make([]string, len(t.Words))
		for {
			for i, forms := range t.Words {
				ws[i] = forms[idx[i]]
			}
			alts = append(alts, ftsQuote(strings.Join(ws, " "))+star)
			i := len(idx) - 1
			for i >= 0 && idx[i] == len(t.Words[i])-1 {
				idx[i] = 0
				i--
			}
			if i < 0 {
				break
			}
			idx[i]++
		}
		return "(" + strings.Join(alts, " OR ") + ")"
	}
	last := len(t.Words) - 1
	for i, forms := range t.Words {
		qs := make([]string, len(forms))
		for j, w := range forms {
			qs[j] = ftsQuote(w)
			if i == last {
				qs[j] += star
			}
		}
		alts = append(alts, "("+strings.Join(qs, " OR ")+")")
	}
	return "(" + strings.Join(alts, " AND ") + ")"
}
