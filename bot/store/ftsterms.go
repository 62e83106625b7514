package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
)

// Prefix look-ups and FTS5.
//
// FTS5 answers a prefix query ("neur"*) by merging the doclists of every indexed word with that prefix, in every
// segment, into one list in memory before it returns its first row, whatever the LIMIT and the rowid bounds: on the
// 3M-paper synthetic store 'title : neur*' took 0.9-1.1 s to return its newest 20 rows, where the same words
// spelled out ('title : ("neural" OR "neurons")') took 6 ms, since an OR of words is merged lazily, newest first,
// and stops with the LIMIT. Look-ups with a prefix were the whole p99 tail of /papers and of the subscribe
// preview. So a look-up spells a prefix out as the words the index holds with it (prefixTerms), when they are
// few (maxPrefixTerms), and leaves it to FTS5 otherwise.
//
// The words come from FTS5's own index, not from a vocabulary paperboy would keep: every segment's b-tree
// (papers_fts_idx: the first term of each leaf page, as the shortest prefix that tells it from the previous term)
// points at the leaf pages where terms with the prefix start, and those pages' footers list the offsets of the
// terms they hold. This reads the on-disk format FTS5 documents in fts5_index.c (which SQLite keeps compatible
// across versions): a few small rows, instead of millions of postings. Anything unexpected in it makes the
// look-up fall back to FTS5's own prefix query, never to fewer words. TestPrefixTermsMatchVocab checks the words
// against FTS5's fts5vocab table.

// maxPrefixTerms bounds the words a prefix is spelled out as: each is one more doclist for FTS5 to merge, and a
// prefix with many words (a one- or two-letter prefix) is cheaper as FTS5's own merged list.
const maxPrefixTerms = 64

// ftsMainIndex is the byte FTS5 puts before every term of its main index (prefix indexes use others).
const ftsMainIndex = '0'

// errFTSFormat means a page of the FTS5 index is not laid out as expected.
var errFTSFormat = errors.New("unexpected FTS5 page layout")

// queryer is what prefixTerms reads with: a connection pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// prefixTerms returns the words of papers_fts's main index that start with prefix (a word as the index folds it),
// in no particular order, and ok; ok is false, with no error, when there are more than limit of them or prefix
// cannot be looked up this way (empty, or not plain lower-case ASCII letters and digits, whose folding by the
// tokenizer this code would have to repeat). An error is a failed read, or errFTSFormat.
func prefixTerms(ctx context.Context, q queryer, prefix string, limit int) (terms []string, ok bool, err error) {
	if prefix == "" {
		return nil, false, nil
	}
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return nil, false, nil
		}
	}
	lo := []byte(string(rune(ftsMainIndex)) + prefix)
	// The first key past every word with the prefix: the prefix's last byte plus one (never 0xff here).
	hi := bytes.Clone(lo)
	hi[len(hi)-1]++

	segs, err := ftsSegments(ctx, q)
	if err != nil {
		return nil, false, err
	}
	seen := map[string]bool{}
	for _, seg := range segs {
		pages, err := prefixPages(ctx, q, seg, lo, hi)
		if err != nil {
			return nil, false, err
		}
		for _, pgno := range pages {
			var block []byte
			err := q.QueryRowContext(ctx, `SELECT block FROM papers_fts_data WHERE id = ?`, ftsLeafRowid(seg, pgno)).Scan(&block)
			if errors.Is(err, sql.ErrNoRows) {
				// The b-tree names a page the segment does not have: not a layout this code knows.
				return nil, false, fmt.Errorf("segment %d page %d: %w", seg, pgno, errFTSFormat)
			}
			if err != nil {
				return nil, false, fmt.Errorf("read segment %d page %d: %w", seg, pgno, err)
			}
			err = leafTerms(block, func(term []byte) bool {
				if bytes.Compare(term, lo) >= 0 && bytes.Compare(term, hi) < 0 && !seen[string(term)] {
					seen[string(term)] = true
					terms = append(terms, string(term[1:]))
				}
				return len(terms) <= limit
			})
			if err != nil {
				return nil, false, fmt.Errorf("segment %d page %d: %w", seg, pgno, err)
			}
			if len(terms) > limit {
				return nil, false, nil
			}
		}
	}
	return terms, true, nil
}

// ftsSegments returns the ids of papers_fts's segments (each has b-tree rows; an empty index has none).
func ftsSegments(ctx context.Context, q queryer) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT segid FROM papers_fts_idx`)
	if err != nil {
		return nil, fmt.Errorf("FTS5 segments: %w", err)
	}
	defer rows.Close()
	var segs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("FTS5 segments: %w", err)
		}
		segs = append(segs, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("FTS5 segments: %w", err)
	}
	return segs, nil
}

// prefixPages returns the leaf pages of segment seg on which a term in [lo, hi) may be written: the page of the
// last b-tree key at or before lo (the segment's first page when there is none: its first term has no key), and
// every page whose key lies between lo and hi. A page's key is a prefix of its first term, larger than the term
// before it, so no other page holds a term in the range.
func prefixPages(ctx context.Context, q queryer, seg int64, lo, hi []byte) ([]int64, error) {
	first := int64(1)
	var pgno int64
	err := q.QueryRowContext(ctx, `SELECT pgno FROM papers_fts_idx WHERE segid = ? AND term <= ? ORDER BY term DESC LIMIT 1`,
		seg, lo).Scan(&pgno)
	switch {
	case err == nil:
		// The low bit flags a doclist index; the page number is the rest.
		first = pgno >> 1
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("FTS5 segment %d b-tree: %w", seg, err)
	}
	pages := []int64{first}
	rows, err := q.QueryContext(ctx, `SELECT pgno FROM papers_fts_idx WHERE segid = ? AND term > ? AND term < ? ORDER BY term`,
		seg, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("FTS5 segment %d b-tree: %w", seg, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&pgno); err != nil {
			return nil, fmt.Errorf("FTS5 segment %d b-tree: %w", seg, err)
		}
		pages = append(pages, pgno>>1)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("FTS5 segment %d b-tree: %w", seg, err)
	}
	return pages, nil
}

// ftsLeafRowid is the papers_fts_data rowid of leaf page pgno of segment seg (FTS5_SEGMENT_ROWID: the segment id
// above 31 bits of page number, 5 of b-tree height and 1 doclist-index flag, the last two 0 for a leaf).
func ftsLeafRowid(seg, pgno int64) int64 {
	return seg<<37 + pgno
}

// leafTerms calls fn with every term written on an FTS5 leaf page, in order, until fn returns false. The page
// starts with two big-endian 16-bit offsets (of its first rowid, and of its footer); the footer lists the offset of
// each term on the page as varints, the first from the page's start and the others from the previous term. The
// first term on the page is written whole (varint size, bytes), each later one as the bytes it shares with the one
// before (varint), then its own (varint size, bytes).
func leafTerms(page []byte, fn func(term []byte) bool) error {
	if len(page) < 4 {
		return errFTSFormat
	}
	footer := int(binary.BigEndian.Uint16(page[2:4]))
	if footer < 4 || footer > len(page) {
		return errFTSFormat
	}
	pgidx := page[footer:]
	var term []byte
	off := 0
	for i := 0; len(pgidx) > 0; i++ {
		delta, n := ftsVarint(pgidx)
		if n == 0 {
			return errFTSFormat
		}
		pgidx = pgidx[n:]
		off += int(delta)
		if off < 4 || off >= footer {
			return errFTSFormat
		}
		p := page[off:footer]
		shared := uint64(0)
		if i > 0 {
			if shared, n = ftsVarint(p); n == 0 || shared > uint64(len(term)) {
				return errFTSFormat
			}
			p = p[n:]
		}
		size, n := ftsVarint(p)
		if n == 0 || size > uint64(len(p)-n) {
			return errFTSFormat
		}
		term = append(term[:shared], p[n:n+int(size)]...)
		if !fn(term) {
			return nil
		}
	}
	return nil
}

// ftsVarint decodes SQLite's varint (big-endian groups of 7 bits, high bit set on all but the last byte; a ninth
// byte holds 8 bits) and returns it with its length, 0 when b ends first.
func ftsVarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < 9 && i < len(b); i++ {
		if i == 8 {
			return v<<8 | uint64(b[i]), 9
		}
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
