package postgres

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

// The full-text document of a paper is built here rather than by to_tsvector: PostgreSQL's parser keeps
// "foo.com", "v1.2", "3.5", e-mail addresses and paths as single tokens and knows nothing of diacritics (unaccent
// would fold some, differently), while the query language splits every one of those into words and folds
// diacritics and case its own way (filters.FoldText). A document made of exactly the query language's words
// makes the pre-filter an exact necessary condition, as FTS5 is for the SQLite store, so both stores hand the
// matcher the same candidates and answer the same query with the same papers. It is a tsvector in the `simple`
// sense: no stemming and no stop words.

// Weights of the fields in the document: a field filter of a query is a weight filter of its lexemes.
const (
	weightTitle    = 'A'
	weightAbstract = 'B'
	weightAuthors  = 'C'
)

// Limits of a tsvector (PostgreSQL's MAXSTRLEN, MAXSTRPOS and MAXSIZE), kept with a margin.
const (
	maxLexemeBytes = 2046
	maxPosition    = 16383
	maxLexemeOccs  = 256
	maxDocBytes    = 1 << 19
)

// everything is the lexeme of a document too big for a tsvector (too many words for positions, a word too often
// for its positions to be kept, or too much text). Every rendered tsquery accepts it, so such a
// paper is a candidate for every look-up and the matcher decides: the pre-filter stays a necessary condition. No
// folded word contains '!', so no query word can collide with it.
const everything = "!everything"

// tsvectorOf returns the tsvector literal of p's title, abstract and authors. Positions leave a gap between
// fields and between authors, so a phrase never matches across two of them; the matcher never does either.
func tsvectorOf(p *paper.Paper) string {
	type occ struct {
		pos    int
		weight byte
	}
	lex := map[string][]occ{}
	pos := 0
	add := func(text string, w byte) {
		for word := range strings.FieldsSeq(filters.FoldText(text)) {
			pos++
			word = cutLexeme(word)
			lex[word] = append(lex[word], occ{pos, w})
		}
		pos++ // the gap
	}
	add(p.Title, weightTitle)
	add(p.Abstract, weightAbstract)
	for _, a := range p.Authors {
		add(a, weightAuthors)
	}
	if pos > maxPosition {
		return quoteLexeme(everything)
	}
	words := make([]string, 0, len(lex))
	for w := range lex {
		words = append(words, w)
	}
	slices.Sort(words)
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		occs := lex[w]
		if len(occs) > maxLexemeOccs {
			return quoteLexeme(everything)
		}
		b.WriteString(quoteLexeme(w))
		for j, o := range occs {
			if j == 0 {
				b.WriteByte(':')
			} else {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(o.pos))
			b.WriteByte(o.weight)
		}
		if b.Len() > maxDocBytes {
			return quoteLexeme(everything)
		}
	}
	return b.String()
}

// cutLexeme shortens a word longer than a lexeme may be, on a character boundary. Documents and queries cut
// alike, so a long query word still finds its paper (along with papers sharing the same first 2 kB).
func cutLexeme(w string) string {
	if len(w) <= maxLexemeBytes {
		return w
	}
	cut := maxLexemeBytes
	for cut > 0 && !utf8.RuneStart(w[cut]) {
		cut--
	}
	return w[:cut]
}

// quoteLexeme quotes a lexeme for a tsvector or tsquery literal. Folded words hold only letters, digits and
// marks, but a literal must never be able to turn into syntax.
func quoteLexeme(w string) string {
	return "'" + strings.NewReplacer(`'`, `''`, `\`, `\\`).Replace(w) + "'"
}

// tsqueryAllWords renders the words of a plain search: each word, folded into its words, must occur as a phrase
// in any field; words without letters or digits constrain nothing. It returns "" when nothing constrains.
func tsqueryAllWords(words []string) string {
	var parts []string
	for _, w := range words {
		folded := strings.Fields(filters.FoldText(w))
		if len(folded) == 0 {
			continue
		}
		lexemes := make([]string, len(folded))
		for i, f := range folded {
			lexemes[i] = quoteLexeme(cutLexeme(f))
		}
		parts = append(parts, "("+strings.Join(lexemes, " <-> ")+")")
	}
	if len(parts) == 0 {
		return ""
	}
	return orEverything(strings.Join(parts, " & "))
}

// orEverything lets the papers too big to index through any query.
func orEverything(q string) string {
	return "(" + q + ") | " + quoteLexeme(everything)
}
