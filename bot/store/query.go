package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

// Validators returns the conditional-GET validators stored for source, by URL.
func (s *Store) Validators(ctx context.Context, source string) (map[string]paper.Validators, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT url, etag, last_modified FROM fetch_state WHERE source = ?`, source)
	if err != nil {
		return nil, fmt.Errorf("validators of %s: %w", source, err)
	}
	defer rows.Close()
	out := make(map[string]paper.Validators)
	for rows.Next() {
		var u string
		var v paper.Validators
		if err := rows.Scan(&u, &v.ETag, &v.LastModified); err != nil {
			return nil, fmt.Errorf("validators of %s: %w", source, err)
		}
		out[u] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("validators of %s: %w", source, err)
	}
	return out, nil
}

// SourceStates returns the state of every source ever polled, by name.
func (s *Store) SourceStates(ctx context.Context) ([]paper.SourceState, error) {
	rows, err := s.r.QueryContext(ctx, sourceStatesSQL)
	if err != nil {
		return nil, fmt.Errorf("source states: %w", err)
	}
	defer rows.Close()
	var out []paper.SourceState
	for rows.Next() {
		st, err := scanSourceState(rows)
		if err != nil {
			return nil, fmt.Errorf("source states: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("source states: %w", err)
	}
	return out, nil
}

// sourceStatesSQL selects every source's state, by name, for scanSourceState (SourceStates and Export).
const sourceStatesSQL = `
SELECT s.source, last_poll, last_success, last_new_at, last_error_at, last_error, papers, polls, failures,
	consecutive_failures, coalesce(l.owner, '')
FROM source_state s LEFT JOIN source_leases l ON l.source = s.source ORDER BY s.source`

func scanSourceState(rows *sql.Rows) (paper.SourceState, error) {
	var st paper.SourceState
	var poll, success, newAt, errAt sql.NullInt64
	if err := rows.Scan(&st.Source, &poll, &success, &newAt, &errAt, &st.LastError, &st.Papers, &st.Polls,
		&st.Failures, &st.ConsecutiveFailures, &st.PolledBy); err != nil {
		return st, err
	}
	st.LastPoll, st.LastSuccess, st.LastNewPaper, st.LastErrorAt = nanos(poll), nanos(success), nanos(newAt), nanos(errAt)
	return st, nil
}

func nanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// The look-up queries, shared with TestQueryPlans.
const (
	candidatesSQL = `
SELECT p.key, p.title, p.abstract, p.data
FROM papers_fts f JOIN papers p ON p.id = f.rowid
WHERE papers_fts MATCH ?1 AND f.rowid >= ?2
ORDER BY f.rowid DESC LIMIT ?3`
	recentSQL = `SELECT key, title, abstract, data FROM papers WHERE id >= ? ORDER BY id DESC LIMIT ?`
)

// Candidates and Recent are the look-ups: they run on the look-up pool, within ctx, which cancels the statement.

// Candidates returns up to limit papers (all if limit <= 0) that satisfy the pre-filter pre, or every paper when
// pre is nil, sorting at or after since (by Published, at second precision; papers without a date sort by when they
// were first seen), newest first. The index may let through papers pre does not hold for (see ftsMatch), never
// the other way round: the caller's matcher decides.
func (s *Store) Candidates(ctx context.Context, pre *filters.Prefilter, since time.Time, limit int) ([]paper.Paper, error) {
	if pre == nil {
		return s.Recent(ctx, since, limit)
	}
	return s.candidates(ctx, ftsMatch(pre), since, limit)
}

// candidates runs the FTS5 MATCH expression expr, which must come from trusted code (ftsMatch, tests), never from
// a user: it is FTS5 syntax. A malformed expression is an error.
func (s *Store) candidates(ctx context.Context, expr string, since time.Time, limit int) ([]paper.Paper, error) {
	// The ORDER BY is on the FTS rowid, which FTS5 serves in descending order from its index: with LIMIT, it
	// stops after limit matches instead of sorting them all.
	ps, err := s.papers(ctx, s.look, candidatesSQL, expr, sinceID(since), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", expr, err)
	}
	return ps, nil
}

// Recent returns up to limit papers (all if limit <= 0) sorting at or after since, newest first.
func (s *Store) Recent(ctx context.Context, since time.Time, limit int) ([]paper.Paper, error) {
	ps, err := s.papers(ctx, s.look, recentSQL, sinceID(since), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("recent papers since %s: %w", since, err)
	}
	return ps, nil
}

// sqlLimit maps "no limit" to SQLite's -1.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// ScanCandidates calls yield with the papers Candidates returns (Recent's when pre is nil), in the same order,
// newest first, and stops when yield returns false. The rows come from one cursor that SQLite steps only when
// yield asks for the next paper, and FTS5 produces its matches in descending rowid order as it goes, so a look-up
// that has its answer after the first 20 candidates reads and decodes 20 rows, not limit: paging without pages
// (a keyset page would run the MATCH again for every page; the cursor carries on where it stopped).
func (s *Store) ScanCandidates(ctx context.Context, pre *filters.Prefilter, since time.Time, limit int, yield func(paper.Paper) bool) error {
	if pre == nil {
		if err := s.scan(ctx, s.look, yield, recentSQL, sinceID(since), sqlLimit(limit)); err != nil {
			return fmt.Errorf("recent papers since %s: %w", since, err)
		}
		return nil
	}
	words := prefixWords(pre)
	if len(words) == 0 {
		expr := ftsMatch(pre)
		if err := s.scan(ctx, s.look, yield, candidatesSQL, expr, sinceID(since), sqlLimit(limit)); err != nil {
			return fmt.Errorf("search %q: %w", expr, err)
		}
		return nil
	}
	// The prefixes are spelled out from the index and the index then searched in one read transaction, so that no
	// write in between (a new word, a merge of segments) can make the words miss a row.
	tx, err := s.look.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read only: nothing to undo
	spelled := map[string][]string{}
	for _, w := range words {
		terms, ok, err := prefixTerms(ctx, tx, w, maxPrefixTerms)
		switch {
		case errors.Is(err, errFTSFormat):
			// A page this code cannot read: FTS5's own prefix query is slower, never wrong.
			continue
		case err != nil:
			return fmt.Errorf("search: spell out %s*: %w", w, err)
		case ok:
			spelled[w] = terms
		}
	}
	expr := ftsMatchSpelled(pre, spelled)
	if err := s.scan(ctx, tx, yield, candidatesSQL, expr, sinceID(since), sqlLimit(limit)); err != nil {
		return fmt.Errorf("search %q: %w", expr, err)
	}
	return nil
}

// papers runs a query selecting key, title, abstract, data on db (the look-up pool).
func (s *Store) papers(ctx context.Context, db *sql.DB, query string, args ...any) ([]paper.Paper, error) {
	var out []paper.Paper
	err := s.scan(ctx, db, func(p paper.Paper) bool {
		out = append(out, p)
		return true
	}, query, args...)
	return out, err
}

// scan runs a query selecting key, title, abstract, data on db and calls yield with each paper, decoded, until
// yield returns false or the rows end.
func (s *Store) scan(ctx context.Context, db queryer, yield func(paper.Paper) bool, query string, args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key, title, abstract string
		var data []byte
		if err := rows.Scan(&key, &title, &abstract, &data); err != nil {
			return err
		}
		p, err := decodePaper(key, title, abstract, data)
		if err != nil {
			return err
		}
		if !yield(p) {
			return nil
		}
	}
	return rows.Err()
}
