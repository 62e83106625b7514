package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// errorText is err's text for storage, cut on a character boundary to maxErrorLen bytes.
func errorText(err error) string {
	msg := err.Error()
	if len(msg) <= maxErrorLen {
		return msg
	}
	cut := maxErrorLen
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// maxErrorLen caps a stored poll error: errors can embed whole response bodies.
const maxErrorLen = 1000

// idShift splits a papers.id into the sort second (high bits, at most paper.MaxSortSecond) and a counter within
// the second (low bits). 2^20 papers per second is far more than any source publishes.
const idShift = 20

// stored is a paper as loaded from the database for merging.
type stored struct {
	id        int64
	firstSeen int64
	p         paper.Paper
}

// writeOp is one row to write, sorted by id before writing: FTS5 keeps accumulating a transaction's index
// entries in memory only while rowids increase, and flushes a new segment each time they do not.
type writeOp struct {
	id    int64 // the id after the write
	oldID int64 // 0 for an insert
	p     paper.Paper
	touch bool // only last_seen changes
	// seen is an insert's first-seen time (Unix ms) when it is not the write's time: an imported paper was
	// first seen when it was published (see ImportBatch).
	seen int64
}

// Ingest stores one poll of one source in ONE transaction: it reconciles each paper with the stored one of its key
// (paper.Batch and paper.Reconcile hold the rules: what is New, Updated or Unchanged), saves the validators for the
// source's URLs and marks the source's last success (and last new paper). The new papers' full-text indexing is
// recorded in that transaction (fts_pending) and done in a second one before Ingest returns; an error from that
// second step comes with the result of the committed poll.
func (s *Store) Ingest(ctx context.Context, source string, papers []paper.Paper, validators map[string]paper.Validators, at time.Time) (paper.IngestResult, error) {
	return s.IngestAndRoute(ctx, source, papers, validators, at, nil)
}

// IngestAndRoute is Ingest plus delivery: in the same transaction, it asks route about every paper the batch
// announces (new papers, and known papers that a non-replacement item changed, such as a cross-list adding a
// category or upvotes growing) and writes one outbox row per (channel, paper). A pair that already has a row is
// skipped, so a channel sees a paper once, ever, whatever the source, version or cross-list; a replacement never
// routes. Because papers and outbox rows commit together, a crash can lose neither.
func (s *Store) IngestAndRoute(ctx context.Context, source string, papers []paper.Paper, validators map[string]paper.Validators, at time.Time, route channel.Router) (paper.IngestResult, error) {
	res, err := s.ingest(ctx, source, papers, validators, at, route)
	if err = s.wrote(ctx, err); err != nil {
		return paper.IngestResult{}, fmt.Errorf("ingest %s: %w", source, err)
	}
	// The new papers are stored and their ids in fts_pending: index them now, in a second transaction, so that
	// a look-up finds them once Ingest returns. Within the poll's transaction the index would cost the papers
	// table 4x its insert rate (FTS5 tokenizes and flushes inside every statement); here it is one run in rowid
	// order, which FTS5 accumulates in memory, and it holds the write lock apart from the poll, so a delivery can
	// commit in between. Indexing is not cancelled with ctx (a poll's papers take a fraction of a second): a
	// poll that committed should also be searchable. A crash in between leaves the ids pending, and the next
	// ingest or Open indexes them.
	if err := s.wrote(ctx, s.IndexPending(context.WithoutCancel(ctx))); err != nil {
		return res, fmt.Errorf("ingest %s: papers stored, their indexing left for later: %w", source, err)
	}
	return res, nil
}

func (s *Store) ingest(ctx context.Context, source string, papers []paper.Paper, validators map[string]paper.Validators, at time.Time, route channel.Router) (res paper.IngestResult, err error) {
	if source == "" {
		return res, errors.New("empty source name")
	}
	batch := paper.Batch(source, papers)
	now := at.UnixMilli()

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()

	old, err := loadStored(ctx, tx, batch)
	if err != nil {
		return res, err
	}
	alloc, err := newIDAllocator(ctx, tx)
	if err != nil {
		return res, err
	}
	defer alloc.close()

	ops := make([]writeOp, 0, len(batch))
	var toRoute []routeCand
	var changed []string // keys whose posted cards need an edit
	gained := 0
	for _, in := range batch {
		prev, known := old[in.Paper.Key]
		var o paper.Outcome
		if known {
			o = paper.Reconcile(&prev.p, in)
		} else {
			o = paper.Reconcile(nil, in)
		}
		res.Add(o)
		if o.SourceGained {
			gained++
		}
		firstSeen := now
		var rowID int64
		switch {
		case !known:
			id, err := alloc.next(ctx, paper.SortSecond(o.Merged, now))
			if err != nil {
				return res, err
			}
			rowID = id
			ops = append(ops, writeOp{id: id, p: o.Merged})
		case o.Kind == paper.Unchanged:
			rowID = prev.id
			ops = append(ops, writeOp{id: prev.id, oldID: prev.id, touch: true})
		default:
			firstSeen = prev.firstSeen
			id := prev.id
			if sec := paper.SortSecond(o.Merged, prev.firstSeen); sec != prev.id>>idShift {
				// The merge moved Published (an earlier date became known): move the row so the id order stays
				// the published order.
				if id, err = alloc.next(ctx, sec); err != nil {
					return res, err
				}
			}
			rowID = id
			ops = append(ops, writeOp{id: id, oldID: prev.id, p: o.Merged})
			if len(paper.CardChanges(&prev.p, &o.Merged)) > 0 {
				changed = append(changed, o.Merged.Key)
			}
		}
		if o.Route {
			toRoute = append(toRoute, routeCand{p: o.Merged, firstSeen: firstSeen, id: rowID})
		}
	}
	slices.SortFunc(ops, func(a, b writeOp) int { return cmp.Compare(a.id, b.id) })
	write := writeDeferred
	if s.inlineIndex {
		write = writePapers
	}
	if err := write(ctx, tx, ops, now); err != nil {
		return res, err
	}
	if route != nil && len(toRoute) > 0 {
		if res.Routed, err = writeRoutes(ctx, tx, route, toRoute, at); err != nil {
			return res, err
		}
	}
	if s.edits.Load() && len(changed) > 0 {
		if res.Edits, err = queueEdits(ctx, tx, changed, at); err != nil {
			return res, err
		}
	}
	if err := saveValidators(ctx, tx, source, validators); err != nil {
		return res, err
	}
	var lastNew any
	if len(res.New) > 0 {
		lastNew = at.UnixNano()
	}
	if _, err := tx.ExecContext(ctx, `
INSERT INTO source_state (source, last_poll, last_success, last_new_at, polls, papers) VALUES (?1, ?2, ?2, ?3, 1, ?4)
ON CONFLICT (source) DO UPDATE SET
	last_poll = excluded.last_poll, last_success = excluded.last_success,
	last_new_at = coalesce(excluded.last_new_at, last_new_at),
	polls = polls + 1, consecutive_failures = 0, papers = papers + excluded.papers`,
		source, at.UnixNano(), lastNew, gained); err != nil {
		return res, fmt.Errorf("save source state: %w", err)
	}
	if s.beforeCommit != nil {
		if err := s.beforeCommit(ctx); err != nil {
			return res, err
		}
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// routeCand is a paper to offer the router, with when it was first stored (Unix ms) and its papers.id.
type routeCand struct {
	p         paper.Paper
	firstSeen int64
	id        int64
}

// routeChunk is how many papers writeRoutes routes before it writes their outbox rows. A poll of 20,000 papers
// for 1,000 channels makes about a million rows: held all at once, they and the router's per-paper route lists
// were the poll's peak memory. A chunk of the largest arXiv day keeps a usual poll to one write.
const routeChunk = 2000

// writeRoutes asks route about each candidate and inserts the outbox rows, a chunk of candidates at a time (in
// papers.id order, so each chunk's rows go after the previous chunk's in every channel), each chunk's in
// (channel, paper) order. All chunks are written in the poll's transaction: the poll stays atomic.
func writeRoutes(ctx context.Context, tx *sql.Tx, route channel.Router, cands []routeCand, at time.Time) (int, error) {
	nums, err := loadChannelNums(ctx, tx)
	if err != nil {
		return 0, err
	}
	slices.SortFunc(cands, func(a, b routeCand) int { return cmp.Compare(a.id, b.id) })
	var rows []leanRow
	// A poll's rows name few distinct sets of matched terms: one stored string per set, not one per row, keeps
	// a 20k-paper poll's million rows from holding a million copies.
	terms := map[string]string{}
	var key []byte
	total := 0
	// The chunk's routes are gathered first so that rows is allocated once at its size: grown by append, the
	// copies of a 184k-row poll's rows were a tenth of its Go time.
	routes := make([][]channel.Route, 0, min(routeChunk, len(cands)))
	for start := 0; start < len(cands); start += routeChunk {
		routes = routes[:0]
		n := 0
		for i := start; i < min(start+routeChunk, len(cands)); i++ {
			rs := route(&cands[i].p, time.UnixMilli(cands[i].firstSeen))
			routes = append(routes, rs)
			n += len(rs)
		}
		if cap(rows) < n {
			rows = make([]leanRow, 0, n)
		}
		rows = rows[:0]
		for k, rs := range routes {
			i := start + k
			for _, r := range rs {
				num, err := nums.num(ctx, r.Channel)
				if err != nil {
					return 0, err
				}
				key = key[:0]
				for _, t := range r.Matched {
					key = append(append(key, t...), 0)
				}
				m, ok := terms[string(key)]
				if !ok {
					if m, err = matchedJSON(r.Matched); err != nil {
						return 0, err
					}
					terms[string(key)] = m
				}
				rows = append(rows, leanRow{num: num, paper: cands[i].id, matched: m})
			}
		}
		if len(rows) == 0 {
			continue
		}
		n, err := insertLean(ctx, tx, rows, channel.KindMatch, at)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

const loadStoredSQL = `
SELECT id, first_seen, key, title, abstract, data FROM papers WHERE key IN (SELECT value FROM json_each(?))`

// loadStored loads the stored papers among batch's keys with one statement: SQLite walks them as a JSON array
// and probes the key index, instead of us issuing one query per paper.
func loadStored(ctx context.Context, tx *sql.Tx, batch []paper.Incoming) (map[string]stored, error) {
	keys := make([]string, len(batch))
	for i, in := range batch {
		keys[i] = in.Paper.Key
	}
	keysJSON, err := json.Marshal(keys)
	if err != nil {
		return nil, fmt.Errorf("load stored papers: encode keys: %w", err)
	}
	rows, err := tx.QueryContext(ctx, loadStoredSQL, string(keysJSON))
	if err != nil {
		return nil, fmt.Errorf("load stored papers: %w", err)
	}
	defer rows.Close()
	out := make(map[string]stored)
	for rows.Next() {
		var st stored
		var key, title, abstract string
		var data []byte
		if err := rows.Scan(&st.id, &st.firstSeen, &key, &title, &abstract, &data); err != nil {
			return nil, fmt.Errorf("load stored papers: %w", err)
		}
		if st.p, err = decodePaper(key, title, abstract, data); err != nil {
			return nil, err
		}
		out[key] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load stored papers: %w", err)
	}
	return out, nil
}

// writePapers applies ops (sorted by id) with at most three statements, each over a JSON array of rows. One
// statement per kind rather than one per paper matters for FTS5: it flushes its pending index data into a new
// segment at the start of every statement that writes it (a statement savepoint), so per-paper statements would
// write one tiny segment per paper and spend most of the ingest merging them. It also saves a database/sql round
// trip per paper.
func writePapers(ctx context.Context, tx *sql.Tx, ops []writeOp, now int64) error {
	var inserts, updates []rowJSON
	var touches []int64
	for _, op := range ops {
		if op.touch {
			touches = append(touches, op.id)
			continue
		}
		r, err := rowOf(op)
		if err != nil {
			return err
		}
		if op.oldID == 0 {
			inserts = append(inserts, r)
		} else {
			updates = append(updates, r)
		}
	}
	stmts := []struct {
		what string
		rows any
		n    int
		sql  string
	}{
		// Updates first: a moved paper's new id must not be taken by an insert of the same second, and the
		// allocator guarantees it is not; running them first keeps each statement's FTS rowids increasing.
		{"update papers", updates, len(updates), `
UPDATE papers SET
	id = r.value->>'id', arxiv_id = r.value->>'arxiv_id', doi = r.value->>'doi', title = r.value->>'title',
	abstract = r.value->>'abstract', authors = r.value->>'authors', published = r.value->>'published',
	updated = r.value->>'updated', last_seen = ?2, data = r.value->>'data'
FROM json_each(?1) AS r
WHERE papers.id = r.value->>'old'`},
		{"insert papers", inserts, len(inserts), `
INSERT INTO papers (id, key, arxiv_id, doi, title, abstract, authors, published, updated, first_seen, last_seen, data)
SELECT value->>'id', value->>'key', value->>'arxiv_id', value->>'doi', value->>'title', value->>'abstract',
	value->>'authors', value->>'published', value->>'updated', coalesce(value->>'seen', ?2), ?2, value->>'data'
FROM json_each(?1) ORDER BY value->>'id'`},
		{"touch papers", touches, len(touches), `
UPDATE papers SET last_seen = ?2 WHERE id IN (SELECT value FROM json_each(?1))`},
	}
	for _, st := range stmts {
		if st.n == 0 {
			continue
		}
		arg, err := json.Marshal(st.rows)
		if err != nil {
			return fmt.Errorf("%s: encode: %w", st.what, err)
		}
		res, err := tx.ExecContext(ctx, st.sql, string(arg), now)
		if err != nil {
			return fmt.Errorf("%s: %w", st.what, err)
		}
		// A short count would mean a row we loaded vanished under us: impossible with one writer, so say so
		// loudly rather than report papers that were not written.
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("%s: rows affected: %w", st.what, err)
		}
		if n != int64(st.n) {
			return fmt.Errorf("%s: wrote %d rows of %d", st.what, n, st.n)
		}
	}
	return movePapers(ctx, tx, ops)
}

// rowJSON is a papers row as a JSON object for json_each. Data is the paper's JSON (without title and abstract),
// embedded as is.
type rowJSON struct {
	ID        int64           `json:"id"`
	Old       int64           `json:"old,omitempty"`
	Key       string          `json:"key"`
	ArxivID   string          `json:"arxiv_id"`
	DOI       string          `json:"doi"`
	Title     string          `json:"title"`
	Abstract  string          `json:"abstract"`
	Authors   string          `json:"authors"`
	Published *int64          `json:"published"`
	Updated   *int64          `json:"updated"`
	Seen      int64           `json:"seen,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// rowOf prepares a paper for storage.
func rowOf(op writeOp) (rowJSON, error) {
	p := op.p
	r := rowJSON{
		ID: op.id, Old: op.oldID, Key: p.Key, ArxivID: p.ArxivID, DOI: p.DOI, Seen: op.seen,
		Title: p.Title, Abstract: p.Abstract, Authors: strings.Join(p.Authors, "; "),
		Published: unixMilli(p.Published), Updated: unixMilli(p.Updated),
	}
	p.Title, p.Abstract = "", ""
	var err error
	if r.Data, err = json.Marshal(p); err != nil {
		return r, fmt.Errorf("encode paper %s: %w", p.Key, err)
	}
	return r, nil
}

// decodePaper rebuilds a paper from its columns.
func decodePaper(key, title, abstract string, data []byte) (paper.Paper, error) {
	var p paper.Paper
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("decode paper %s: %w", key, err)
	}
	p.Key, p.Title, p.Abstract = key, title, abstract
	return p, nil
}

func unixMilli(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// sinceID is the smallest id of a paper sorting at or after t.
func sinceID(t time.Time) int64 {
	return paper.SinceSecond(t) << idShift
}

// idAllocator hands out ids within one transaction: the next free counter within each second.
type idAllocator struct {
	q    *sql.Stmt
	used map[int64]int64 // second -> next counter value
}

func newIDAllocator(ctx context.Context, tx *sql.Tx) (*idAllocator, error) {
	q, err := tx.PrepareContext(ctx, `SELECT max(id) FROM papers WHERE id >= ? AND id < ?`)
	if err != nil {
		return nil, fmt.Errorf("prepare id allocation: %w", err)
	}
	return &idAllocator{q: q, used: make(map[int64]int64)}, nil
}

func (a *idAllocator) close() { _ = a.q.Close() }

// next returns a fresh id for a paper sorting at second sec, above every id already used in that second, so that
// of two papers published in the same second the later-ingested sorts as newer.
func (a *idAllocator) next(ctx context.Context, sec int64) (int64, error) {
	lo := sec << idShift
	n, ok := a.used[sec]
	if !ok {
		var top sql.NullInt64
		if err := a.q.QueryRowContext(ctx, lo, lo+1<<idShift).Scan(&top); err != nil {
			return 0, fmt.Errorf("allocate id: %w", err)
		}
		n = lo
		if top.Valid {
			n = top.Int64 + 1
		}
	}
	if n >= lo+1<<idShift {
		return 0, fmt.Errorf("allocate id: more than %d papers published at %s", 1<<idShift, time.Unix(sec, 0).UTC())
	}
	a.used[sec] = n + 1
	return n, nil
}

// saveValidators upserts the validators of the URLs the poll fetched. URLs the poll did not fetch keep theirs.
func saveValidators(ctx context.Context, tx *sql.Tx, source string, validators map[string]paper.Validators) error {
	if len(validators) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `
INSERT INTO fetch_state (source, url, etag, last_modified) VALUES (?, ?, ?, ?)
ON CONFLICT (source, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified`)
	if err != nil {
		return fmt.Errorf("save validators: %w", err)
	}
	defer st.Close()
	for u, v := range validators {
		if _, err := st.ExecContext(ctx, source, u, v.ETag, v.LastModified); err != nil {
			return fmt.Errorf("save validators for %s: %w", u, err)
		}
	}
	return nil
}

// RecordPollError records a failed poll of source at time at: the error text (capped) becomes the source's last
// error. Validators and papers are untouched, so the next poll retries the same content.
func (s *Store) RecordPollError(ctx context.Context, source string, pollErr error, at time.Time) error {
	if pollErr == nil {
		return fmt.Errorf("record poll error of %s: nil error", source)
	}
	msg := errorText(pollErr)
	if _, err := s.w.ExecContext(ctx, `
INSERT INTO source_state (source, last_poll, last_error, last_error_at, polls, failures, consecutive_failures)
VALUES (?1, ?2, ?3, ?2, 1, 1, 1)
ON CONFLICT (source) DO UPDATE SET
	last_poll = excluded.last_poll, last_error = excluded.last_error, last_error_at = excluded.last_error_at,
	polls = polls + 1, failures = failures + 1, consecutive_failures = consecutive_failures + 1`,
		source, at.UnixNano(), msg); err != nil {
		return fmt.Errorf("record poll error of %s: %w", source, err)
	}
	return nil
}

// RecordNotModified records a successful poll of source at time at that found nothing new (every URL answered
// 304). The stored validators stay valid.
func (s *Store) RecordNotModified(ctx context.Context, source string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `
INSERT INTO source_state (source, last_poll, last_success, polls) VALUES (?1, ?2, ?2, 1)
ON CONFLICT (source) DO UPDATE SET
	last_poll = excluded.last_poll, last_success = excluded.last_success,
	polls = polls + 1, consecutive_failures = 0`,
		source, at.UnixNano()); err != nil {
		return fmt.Errorf("record not-modified poll of %s: %w", source, err)
	}
	return nil
}
