package postgres

import (
	"context"
	"fmt"
	"math"
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

// The look-up queries' keyset pages for ScanCandidates: the same order and filters, from after the last row of the
// previous page ((sort_sec, sort_seq) below $4, $5).
const (
	candidatesPageSQL = `
SELECT key, title, abstract, data, sort_sec, sort_seq FROM papers
WHERE (fts @@ $1::tsquery OR unindexed) AND sort_sec >= $2 AND (sort_sec, sort_seq) < ($4, $5)
ORDER BY sort_sec DESC, sort_seq DESC LIMIT $3`
	recentPageSQL = `
SELECT key, title, abstract, data, sort_sec, sort_seq FROM papers
WHERE sort_sec >= $1 AND (sort_sec, sort_seq) < ($3, $4)
ORDER BY sort_sec DESC, sort_seq DESC LIMIT $2`
)

// Keyset page sizes of ScanCandidates: the first page is small, as most look-ups have their answer in the first
// few dozen candidates; each next one is pageGrowth times larger, up to maxPage.
const (
	firstPage  = 32
	pageGrowth = 4
	maxPage    = 2048
)

// ScanCandidates calls yield with the papers Candidates returns, in the same order, newest first, and stops when
// yield returns false. It reads them in keyset pages (each from after the last row of the one before), growing
// from firstPage: a result set, once asked for, is computed and sent whole by the server, so one query for limit
// rows would cost a look-up for a common word thousands of rows it never looks at.
func (s *Store) ScanCandidates(ctx context.Context, pre *filters.Prefilter, since time.Time, limit int, yield func(paper.Paper) bool) error {
	q := tsqueryOf(pre)
	sec, seq := int64(math.MaxInt64), int64(math.MaxInt64)
	left, page := limit, firstPage
	for {
		n := page
		if limit > 0 {
			n = min(n, left)
		}
		var rows pgx.Rows
		var err error
		if q == "" {
			rows, err = s.lookups.Query(ctx, recentPageSQL, paper.SinceSecond(since), n, sec, seq)
		} else {
			// Planned with its arguments every time, as candidates explains.
			rows, err = s.lookups.Query(ctx, candidatesPageSQL, pgx.QueryExecModeExec, q, paper.SinceSecond(since), n, sec, seq)
		}
		if err != nil {
			return fmt.Errorf("look up %s: %w", q, err)
		}
		got, stop := 0, false
		for rows.Next() {
			var key, title, abstract string
			var data []byte
			if err := rows.Scan(&key, &title, &abstract, &data, &sec, &seq); err != nil {
				rows.Close()
				return fmt.Errorf("look up %s: %w", q, err)
			}
			p, err := decodePaper(key, title, abstract, data)
			if err != nil {
				rows.Close()
				return fmt.Errorf("look up %s: %w", q, err)
			}
			got++
			if !yield(p) {
				stop = true
				break
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("look up %s: %w", q, err)
		}
		left -= got
		if stop || got < n || (limit > 0 && left <= 0) {
			return nil
		}
		page = min(page*pageGrowth, maxPage)
	}
}

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
