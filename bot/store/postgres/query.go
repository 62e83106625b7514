package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

// Validators returns the conditional-GET validators stored for source, by URL.
func (s *Store) Validators(ctx context.Context, source string) (map[string]paper.Validators, error) {
	rows, err := s.pool.Query(ctx, `SELECT url, etag, last_modified FROM fetch_state WHERE source = $1`, source)
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
	rows, err := s.pool.Query(ctx, sourceStatesSQL)
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

// sourceStatesSQL selects every source's state, by name, with its last poller, for scanSourceState
// (SourceStates and Export).
const sourceStatesSQL = `
SELECT s.source, last_poll, last_success, last_new_at, last_error_at, last_error, papers, polls, failures,
	consecutive_failures, coalesce(l.lease_owner, '')
FROM source_state s LEFT JOIN source_leases l ON l.source = s.source ORDER BY s.source`

func scanSourceState(rows pgx.Rows) (paper.SourceState, error) {
	var st paper.SourceState
	var poll, success, newAt, errAt *int64
	if err := rows.Scan(&st.Source, &poll, &success, &newAt, &errAt, &st.LastError, &st.Papers, &st.Polls,
		&st.Failures, &st.ConsecutiveFailures, &st.PolledBy); err != nil {
		return st, err
	}
	st.LastPoll, st.LastSuccess, st.LastNewPaper, st.LastErrorAt = nanos(poll), nanos(success), nanos(newAt), nanos(errAt)
	return st, nil
}

// nanos is a stored Unix-nanosecond time; NULL is the zero time.
func nanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// The look-up queries, shared with TestQueryPlans.
const (
	candidatesSQL = `
SELECT key, title, abstract, data FROM papers WHERE (fts @@ $1::tsquery OR unindexed) AND sort_sec >= $2
ORDER BY sort_sec DESC, sort_seq DESC LIMIT $3`
	recentSQL = `
SELECT key, title, abstract, data FROM papers WHERE sort_sec >= $1
ORDER BY sort_sec DESC, sort_seq DESC LIMIT $2`
)

// Candidates returns up to limit papers (all if limit <= 0) that may satisfy pre, newest first, sorting at or
// after since: every paper pre holds for, and papers whose text did not fit in a full-text document. A nil pre,
// or one this store cannot narrow with, is every paper (Recent).
func (s *Store) Candidates(ctx context.Context, pre *filters.Prefilter, since time.Time, limit int) ([]paper.Paper, error) {
	q := tsqueryOf(pre)
	if q == "" {
		return s.Recent(ctx, since, limit)
	}
	ps, err := s.candidates(ctx, q, since, limit)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", q, err)
	}
	return ps, nil
}

// candidates returns up to limit papers (all if limit <= 0) matching the tsquery q and sorting at or after
// since, newest first.
func (s *Store) candidates(ctx context.Context, q string, since time.Time, limit int) ([]paper.Paper, error) {
	// QueryExecModeExec plans the statement with its arguments every time: a cached generic plan could not tell
	// a rare word (read the index, sort the few matches) from a common one (walk the newest-first order and stop
	// after limit matches), and either plan is slow for the other.
	return s.papers(ctx, candidatesSQL, pgx.QueryExecModeExec, q, paper.SinceSecond(since), sqlLimit(limit))
}

// Recent returns up to limit papers (all if limit <= 0) sorting at or after since, newest first.
func (s *Store) Recent(ctx context.Context, since time.Time, limit int) ([]paper.Paper, error) {
	ps, err := s.papers(ctx, recentSQL, paper.SinceSecond(since), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("recent papers since %s: %w", since, err)
	}
	return ps, nil
}

// sqlLimit maps "no limit" to NULL, which LIMIT takes as none.
func sqlLimit(limit int) *int {
	if limit <= 0 {
		return nil
	}
	return &limit
}

// papers runs a query selecting key, title, abstract, data on the look-up pool; ctx cancels the statement.
func (s *Store) papers(ctx context.Context, query string, args ...any) ([]paper.Paper, error) {
	rows, err := s.lookups.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []paper.Paper
	for rows.Next() {
		var key, title, abstract string
		var data []byte
		if err := rows.Scan(&key, &title, &abstract, &data); err != nil {
			return nil, err
		}
		p, err := decodePaper(key, title, abstract, data)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
