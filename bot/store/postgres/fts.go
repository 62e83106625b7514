package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
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

// Weights of the fields in the document, as WordEntryPos weight bits (A=3 ... D=0): a field filter of a query is
// a weight filter of its lexemes.
const (
	weightTitle    = 3 // A
	weightAbstract = 2 // B
	weightAuthors  = 1 // C
)

// Limits of a tsvector (PostgreSQL's MAXSTRLEN, MAXENTRYPOS, MAXNUMPOS and MAXSTRPOS), the last with a margin.
const (
	maxLexemeBytes = 2046
	maxPosition    = 1<<14 - 1
	maxLexemeOccs  = 256
	maxDocBytes    = 1 << 19
)

// tsDoc is a tsvector in PostgreSQL's binary format (tsvectorsend): the number of lexemes, then each lexeme as a
// NUL-terminated string followed by its number of positions and the positions, each a uint16 holding the
// weight in its top two bits. Sending it binary spares the server parsing a text literal, which costs as much
// as the rest of an insert.
type tsDoc []byte

// tsvectorOf returns the document of p's title, abstract and authors. Positions leave a gap between fields and
// between authors, so a phrase never matches across two of them; the matcher never does either. ok is false
// for a document too big for a tsvector (too many words for positions, a word too often for its positions to be
// kept, or too much text): such a paper must be a candidate of every look-up.
func tsvectorOf(p *paper.Paper) (doc tsDoc, ok bool) {
	type entry struct {
		word string
		pos  []uint16
	}
	index := make(map[string]int, 192)
	entries := make([]entry, 0, 192)
	pos, bytes := 0, 0
	ok = true
	add := func(text string, weight uint16) {
		folded := filters.FoldText(text)
		for folded != "" {
			// FoldText separates words with one space.
			word, rest, _ := strings.Cut(folded, " ")
			folded = rest
			if pos++; pos > maxPosition {
				ok = false
				return
			}
			word = cutLexeme(word)
			i, seen := index[word]
			if !seen {
				i = len(entries)
				index[word] = i
				entries = append(entries, entry{word: word})
				bytes += len(word)
			}
			if len(entries[i].pos) == maxLexemeOccs {
				ok = false
				return
			}
			entries[i].pos = append(entries[i].pos, weight<<14|uint16(pos))
		}
		pos++ // the gap
	}
	add(p.Title, weightTitle)
	add(p.Abstract, weightAbstract)
	for _, a := range p.Authors {
		add(a, weightAuthors)
	}
	if !ok || bytes > maxDocBytes {
		return nil, false
	}
	// The lexemes go in first-seen order: the server sorts them (in C, faster than here).
	doc = make(tsDoc, 0, 4+bytes+len(entries)*3+pos*2)
	doc = binary.BigEndian.AppendUint32(doc, uint32(len(entries)))
	for _, e := range entries {
		doc = append(doc, e.word...)
		doc = append(doc, 0)
		doc = binary.BigEndian.AppendUint16(doc, uint16(len(e.pos)))
		for _, wp := range e.pos {
			doc = binary.BigEndian.AppendUint16(doc, wp)
		}
	}
	return doc, true
}

// emptyDoc returns the document of no words.
func emptyDoc() tsDoc { return tsDoc{0, 0, 0, 0} }

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

// writeLexeme writes a lexeme quoted for a tsvector or tsquery literal. Folded words hold only letters, digits
// and marks, but a literal must never be able to turn into syntax.
func writeLexeme(b *strings.Builder, w string) {
	b.WriteByte('\'')
	if !strings.ContainsAny(w, `'\`) {
		b.WriteString(w)
	} else {
		for i := 0; i < len(w); i++ {
			if w[i] == '\'' || w[i] == '\\' {
				b.WriteByte(w[i])
			}
			b.WriteByte(w[i])
		}
	}
	b.WriteByte('\'')
}

func quoteLexeme(w string) string {
	var b strings.Builder
	writeLexeme(&b, w)
	return b.String()
}

// ginPendingV8 lets the full-text index take a whole poll's or import batch's entries into its pending list (GIN's
// fast update: appended, unsorted) instead of merging them into the index inside the transaction whenever the
// list passes the default 4 MB, which was 58% of a 2,000-paper poll's ingest. The pending list is part of the
// index: a look-up scans it too, so a paper is searchable as soon as its transaction commits, and a crash loses
// nothing (VACUUM, or the next mergePending, merges what is left). 64 MB bounds what a look-up may have to scan
// should merges fall behind; a larger batch merges inside its transaction, as before.
const ginPendingV8 = `ALTER INDEX papers_fts ` + ginPendingSetting + `;`

// ginPendingSetting is the full-text index's pending list limit, in kB (see ginPendingV8).
const ginPendingSetting = `SET (gin_pending_list_limit = 65536)`

// mergePending merges the full-text index's pending list into the index, in a statement of its own after a poll or
// an import batch commits, so that the next look-ups do not scan a poll's entries unsorted. It is not cancelled
// with ctx: the poll committed, and leaving its entries pending only slows look-ups until the next merge.
func (s *Store) mergePending(ctx context.Context) error {
	if _, err := s.pool.Exec(context.WithoutCancel(ctx), `SELECT gin_clean_pending_list('papers_fts'::regclass)`); err != nil {
		return fmt.Errorf("merge full-text index pending list: %w", err)
	}
	return nil
}
