package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// maxErrorLen caps a stored error text, as the SQLite store does: errors can embed whole response bodies.
const maxErrorLen = 1000

// ingestAttempts bounds how often Ingest runs its transaction when PostgreSQL aborts it to break a deadlock or a
// serialization conflict with another instance: the transaction is correct to repeat as a whole.
const ingestAttempts = 3

// Ingest stores one poll of one source in one transaction: it merges each paper into the stored one by key, saves
// the validators for the source's URLs and marks the source's last success (and last new paper). What is written
// and what is new follow the domain's rules (paper.Batch, paper.Reconcile), as in every store.
func (s *Store) Ingest(ctx context.Context, source string, papers []paper.Paper, validators map[string]paper.Validators, at time.Time) (paper.IngestResult, error) {
	return s.IngestAndRoute(ctx, source, papers, validators, at, nil)
}

// IngestAndRoute is Ingest plus delivery: in the same transaction, it asks route about every paper the batch
// announces and writes one outbox row per (channel, paper) that has none yet, so a channel sees a paper once,
// ever. Several instances may ingest overlapping batches at once: the rows of the batch's keys are locked (or
// created) before merging, so no paper is stored twice and no merge is lost.
func (s *Store) IngestAndRoute(ctx context.Context, source string, papers []paper.Paper, validators map[string]paper.Validators, at time.Time, route channel.Router) (paper.IngestResult, error) {
	if source == "" {
		return paper.IngestResult{}, errors.New("ingest: empty source name")
	}
	batch := paper.Batch(source, sanitize(papers))
	for attempt := 1; ; attempt++ {
		res, err := s.ingest(ctx, source, batch, validators, at, route)
		if err == nil {
			if err := s.mergePending(ctx); err != nil {
				return res, fmt.Errorf("ingest %s: papers stored, their index entries left pending: %w", source, err)
			}
			return res, nil
		}
		if attempt == ingestAttempts || !retryable(err) {
			return paper.IngestResult{}, fmt.Errorf("ingest %s: %w", source, err)
		}
	}
}

// retryable reports whether PostgreSQL aborted a transaction only to let a concurrent one through.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// storedRow is a locked papers row.
type storedRow struct {
	sortSec, sortSeq, firstSeen int64
	p                           paper.Paper
}

// planned is what the transaction does with one incoming paper.
type planned struct {
	in paper.Incoming
	st *storedRow // nil for a key not stored yet
	o  paper.Outcome
	// sec and seq place the paper in the newest-first order; seq is 0 until allocated.
	sec, seq  int64
	firstSeen int64
}

// moves reports whether the paper needs a new sequence number: it is new, or its merge moved it to another
// second.
func (pl *planned) moves() bool {
	return pl.st == nil || (pl.o.Kind != paper.Unchanged && pl.sec != pl.st.sortSec)
}

// plan reconciles in with its stored row (nil when none).
func plan(in paper.Incoming, st *storedRow, now int64) planned {
	pl := planned{in: in, st: st, firstSeen: now}
	var prev *paper.Paper
	if st != nil {
		prev, pl.firstSeen = &st.p, st.firstSeen
	}
	pl.o = paper.Reconcile(prev, in)
	pl.sec = paper.SortSecond(pl.o.Merged, pl.firstSeen)
	if st != nil && !pl.moves() {
		pl.seq = st.sortSeq
	}
	return pl
}

func (s *Store) ingest(ctx context.Context, source string, batch []paper.Incoming, validators map[string]paper.Validators, at time.Time, route channel.Router) (res paper.IngestResult, err error) {
	now := at.UnixMilli()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return res, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()

	keys := make([]string, len(batch))
	for i, in := range batch {
		keys[i] = in.Paper.Key
	}
	stored, err := lockPapers(ctx, tx, keys)
	if err != nil {
		return res, err
	}
	plans := make([]planned, len(batch))
	for i, in := range batch {
		plans[i] = plan(in, stored[in.Paper.Key], now)
	}
	if err := allocSeqs(ctx, tx, plans); err != nil {
		return res, err
	}

	// Unknown keys are inserted as they came. A key another transaction inserted meanwhile is skipped by ON
	// CONFLICT (which waits for that transaction to end), then locked and merged like any stored paper.
	lost, err := insertPapers(ctx, tx, plans, now)
	if err != nil {
		return res, err
	}
	if len(lost) > 0 {
		stored, err := lockPapers(ctx, tx, lost)
		if err != nil {
			return res, err
		}
		for i := range plans {
			if st, ok := stored[plans[i].in.Paper.Key]; ok && plans[i].st == nil {
				plans[i] = plan(plans[i].in, st, now)
			}
		}
		if err := allocSeqs(ctx, tx, plans); err != nil {
			return res, err
		}
	}

	var (
		updates, toRoute []*planned
		touches          []string
		changed          []string // keys whose posted cards need an edit
		gained           int
	)
	for i := range plans {
		pl := &plans[i]
		res.Add(pl.o)
		if pl.o.SourceGained {
			gained++
		}
		if pl.o.Route {
			toRoute = append(toRoute, pl)
		}
		switch {
		case pl.st == nil:
		case pl.o.Kind == paper.Unchanged:
			touches = append(touches, pl.in.Paper.Key)
		default:
			updates = append(updates, pl)
			if len(paper.CardChanges(&pl.st.p, &pl.o.Merged)) > 0 {
				changed = append(changed, pl.o.Merged.Key)
			}
		}
	}

	b := &pgx.Batch{}
	if err := queueUpdates(b, updates, touches, now); err != nil {
		return res, err
	}
	if route != nil && len(toRoute) > 0 {
		if err := queueRoutes(b, route, toRoute, at, &res.Routed); err != nil {
			return res, err
		}
	}
	if s.edits.Load() && len(changed) > 0 {
		queueEdits(b, changed, at, &res.Edits)
	}
	queueValidators(b, source, validators)
	var lastNew *int64
	if len(res.New) > 0 {
		n := at.UnixNano()
		lastNew = &n
	}
	b.Queue(`
INSERT INTO source_state AS s (source, last_poll, last_success, last_new_at, polls, papers) VALUES ($1, $2, $2, $3, 1, $4)
ON CONFLICT (source) DO UPDATE SET
	last_poll = excluded.last_poll, last_success = excluded.last_success,
	last_new_at = coalesce(excluded.last_new_at, s.last_new_at),
	polls = s.polls + 1, consecutive_failures = 0, papers = s.papers + excluded.papers`,
		source, at.UnixNano(), lastNew, gained)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return res, err
	}
	if res.Routed > 0 || res.Edits > 0 {
		if err := notifyOutbox(ctx, tx); err != nil {
			return res, err
		}
	}
	if s.beforeCommit != nil {
		if err := s.beforeCommit(ctx, tx); err != nil {
			return res, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

const lockPapersSQL = `
SELECT key, sort_sec, sort_seq, first_seen, title, abstract, data FROM papers WHERE key = ANY($1)
ORDER BY key FOR NO KEY UPDATE`

// lockPapers locks the stored rows among keys, in key order (bytewise, like Go's, which insertPapers follows) so
// that two transactions locking overlapping sets cannot deadlock, and loads them. FOR NO KEY UPDATE, because ingest never changes a key: outbox rows being
// inserted elsewhere (which hold KEY SHARE locks on their papers) neither wait for it nor make it wait.
func lockPapers(ctx context.Context, tx pgx.Tx, keys []string) (map[string]*storedRow, error) {
	rows, err := tx.Query(ctx, lockPapersSQL, keys)
	if err != nil {
		return nil, fmt.Errorf("lock stored papers: %w", err)
	}
	defer rows.Close()
	out := make(map[string]*storedRow)
	for rows.Next() {
		var st storedRow
		var key, title, abstract string
		var data []byte
		if err := rows.Scan(&key, &st.sortSec, &st.sortSeq, &st.firstSeen, &title, &abstract, &data); err != nil {
			return nil, fmt.Errorf("lock stored papers: %w", err)
		}
		if st.p, err = decodePaper(key, title, abstract, data); err != nil {
			return nil, err
		}
		out[key] = &st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock stored papers: %w", err)
	}
	return out, nil
}

// allocSeqs gives a sequence number to every plan that needs one and has none, in batch order: of two papers of
// one second, the later in the batch sorts as newer, as in the SQLite store.
func allocSeqs(ctx context.Context, tx pgx.Tx, plans []planned) error {
	var need []*planned
	for i := range plans {
		if plans[i].seq == 0 && plans[i].moves() {
			need = append(need, &plans[i])
		}
	}
	if len(need) == 0 {
		return nil
	}
	seqs, err := nextSeqs(ctx, tx, len(need))
	if err != nil {
		return err
	}
	for i, pl := range need {
		pl.seq = seqs[i]
	}
	return nil
}

// nextSeqs takes n sort sequence numbers, in increasing order.
func nextSeqs(ctx context.Context, tx pgx.Tx, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT nextval('papers_sort_seq') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("allocate sort numbers: %w", err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("allocate sort numbers: %w", err)
	}
	if len(seqs) != n {
		return nil, fmt.Errorf("allocate sort numbers: got %d of %d", len(seqs), n)
	}
	// One session's nextval calls increase, but the rows need not come back in call order.
	slices.Sort(seqs)
	return seqs, nil
}

// paperColumns holds papers rows as column arrays, for one statement over unnest.
type paperColumns struct {
	key, arxivID, doi, title, abstract, authors, data []string
	fts                                               tsDocs
	reindex, unindexed                                []bool
	sortSec, sortSeq                                  []int64
	published, updated                                []*int64
}

// add appends p; reindex says to (re)build its full-text document, else the stored one is kept.
func (c *paperColumns) add(p *paper.Paper, sec, seq int64, reindex bool) error {
	data, err := encodeData(p)
	if err != nil {
		return err
	}
	c.key = append(c.key, p.Key)
	c.sortSec = append(c.sortSec, sec)
	c.sortSeq = append(c.sortSeq, seq)
	c.arxivID = append(c.arxivID, p.ArxivID)
	c.doi = append(c.doi, p.DOI)
	c.title = append(c.title, p.Title)
	c.abstract = append(c.abstract, p.Abstract)
	c.authors = append(c.authors, strings.Join(p.Authors, "; "))
	c.published = append(c.published, unixMilli(p.Published))
	c.updated = append(c.updated, unixMilli(p.Updated))
	c.data = append(c.data, data)
	doc, ok := emptyDoc(), true
	if reindex {
		if doc, ok = tsvectorOf(p); !ok {
			doc = emptyDoc()
		}
	}
	c.fts = append(c.fts, doc)
	c.reindex = append(c.reindex, reindex)
	c.unindexed = append(c.unindexed, !ok)
	return nil
}

// args are the arguments of a statement over unnestPapers whose $15 is the time it writes as seen.
func (c *paperColumns) args(now int64) []any {
	return append(c.columns(), now)
}

// columns are the arrays unnestPapers takes, $1 to $14.
func (c *paperColumns) columns() []any {
	return []any{c.key, c.sortSec, c.sortSeq, c.arxivID, c.doi, c.title, c.abstract, c.authors, c.published,
		c.updated, c.data, c.fts, c.reindex, c.unindexed}
}

const unnestPapers = `unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
	$8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::tsvector[], $13::boolean[], $14::boolean[])
	AS r(key, sort_sec, sort_seq, arxiv_id, doi, title, abstract, authors, published, updated, data, fts, reindex,
		unindexed)`

// insertChunk is how many papers one insert statement writes.
const insertChunk = 500

const insertPapersSQL = `
INSERT INTO papers (key, sort_sec, sort_seq, arxiv_id, doi, title, abstract, authors, published, updated, first_seen,
	last_seen, data, fts, unindexed)
SELECT key, sort_sec, sort_seq, arxiv_id, doi, title, abstract, authors, published, updated, $15, $15, data::jsonb,
	fts, unindexed
FROM ` + unnestPapers + `
ON CONFLICT (key) DO NOTHING
RETURNING key`

// insertPapers inserts the plans without a stored row, in key order (see lockPapers: the rows go in array order),
// and returns the keys it found inserted by another transaction.
func insertPapers(ctx context.Context, tx pgx.Tx, plans []planned, now int64) ([]string, error) {
	var fresh []*planned
	for i := range plans {
		if plans[i].st == nil {
			fresh = append(fresh, &plans[i])
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	slices.SortFunc(fresh, func(a, b *planned) int { return strings.Compare(a.in.Paper.Key, b.in.Paper.Key) })
	// The rows go in chunks, built by a goroutine while the server inserts the chunk before: building the
	// documents is a fifth of an ingest, and the server would wait for it. The channel holds every chunk, so the
	// builder never blocks; stop ends it early when an insert fails.
	type chunk struct {
		cols paperColumns
		err  error
	}
	nChunks := (len(fresh) + insertChunk - 1) / insertChunk
	chunks := make(chan chunk, nChunks)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(chunks)
		for part := range slices.Chunk(fresh, insertChunk) {
			select {
			case <-stop:
				return
			default:
			}
			var c chunk
			for _, pl := range part {
				if c.err = c.cols.add(&pl.o.Merged, pl.sec, pl.seq, true); c.err != nil {
					break
				}
			}
			chunks <- c
			if c.err != nil {
				return
			}
		}
	}()
	var inserted []string
	for c := range chunks {
		if c.err != nil {
			return nil, c.err
		}
		rows, err := tx.Query(ctx, insertPapersSQL, c.cols.args(now)...)
		if err != nil {
			return nil, fmt.Errorf("insert papers: %w", err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("insert papers: %w", err)
		}
		inserted = append(inserted, keys...)
	}
	if len(inserted) == len(fresh) {
		return nil, nil
	}
	got := make(map[string]bool, len(inserted))
	for _, k := range inserted {
		got[k] = true
	}
	var lost []string
	for _, pl := range fresh {
		if !got[pl.in.Paper.Key] {
			lost = append(lost, pl.in.Paper.Key)
		}
	}
	return lost, nil
}

// queueUpdates queues the writes of merged papers and the last-seen time of unchanged ones. The full-text
// document is rebuilt only when the indexed text changed: an upvote update then leaves every indexed column as
// it was, and PostgreSQL can update the row in place (HOT) without touching the indexes.
func queueUpdates(b *pgx.Batch, updates []*planned, touches []string, now int64) error {
	if len(updates) > 0 {
		var cols paperColumns
		for _, pl := range updates {
			m, old := &pl.o.Merged, &pl.st.p
			textChanged := m.Title != old.Title || m.Abstract != old.Abstract || !slices.Equal(m.Authors, old.Authors)
			if err := cols.add(m, pl.sec, pl.seq, textChanged); err != nil {
				return err
			}
		}
		n := len(updates)
		b.Queue(`
UPDATE papers p SET
	sort_sec = r.sort_sec, sort_seq = r.sort_seq, arxiv_id = r.arxiv_id, doi = r.doi, title = r.title,
	abstract = r.abstract, authors = r.authors, published = r.published, updated = r.updated, last_seen = $15,
	data = r.data::jsonb, fts = CASE WHEN r.reindex THEN r.fts ELSE p.fts END,
	unindexed = CASE WHEN r.reindex THEN r.unindexed ELSE p.unindexed END
FROM `+unnestPapers+`
WHERE p.key = r.key`, cols.args(now)...).Exec(func(ct pgconn.CommandTag) error {
			return wrote("update papers", ct, n)
		})
	}
	if len(touches) > 0 {
		n := len(touches)
		b.Queue(`UPDATE papers SET last_seen = $2 WHERE key = ANY($1)`, touches, now).Exec(func(ct pgconn.CommandTag) error {
			return wrote("touch papers", ct, n)
		})
	}
	return nil
}

// wrote checks that a statement wrote the n rows locked before it: anything else is a bug, said loudly rather
// than reporting papers that were not written.
func wrote(what string, ct pgconn.CommandTag, n int) error {
	if ct.RowsAffected() != int64(n) {
		return fmt.Errorf("%s: wrote %d rows of %d", what, ct.RowsAffected(), n)
	}
	return nil
}

// outboxRow is one (channel, paper) announcement to insert.
type outboxRow struct {
	ch      channel.Ref
	key     string
	matched []string
}

// queueRoutes asks route about each paper and queues its outbox rows; *routed receives how many were inserted.
//
// A paper this transaction inserted can have no outbox row yet (a row references a stored paper, and no other
// transaction could see this one), so its rows go in with a plain INSERT; ON CONFLICT, needed for the papers that
// were stored before, checks the unique index before each insert and doubles the cost of writing the rows.
func queueRoutes(b *pgx.Batch, route channel.Router, plans []*planned, at time.Time, routed *int) error {
	var fresh, known []outboxRow
	for _, pl := range plans {
		for _, r := range route(&pl.o.Merged, time.UnixMilli(pl.firstSeen)) {
			row := outboxRow{ch: r.Channel, key: pl.o.Merged.Key, matched: r.Matched}
			if pl.st == nil {
				fresh = append(fresh, row)
			} else {
				known = append(known, row)
			}
		}
	}
	add := func(n int) { *routed += n }
	if err := queueOutbox(b, fresh, channel.KindMatch, at, true, add); err != nil {
		return err
	}
	return queueOutbox(b, known, channel.KindMatch, at, false, add)
}

// queueOutbox queues an insert of rows and reports the count inserted to done. Unless fresh (see queueRoutes),
// pairs that have a row already are skipped. Rows go in unique-key order, so that two transactions inserting
// overlapping rows cannot deadlock, and a pair given twice is inserted once.
func queueOutbox(b *pgx.Batch, rows []outboxRow, kind string, at time.Time, fresh bool, done func(n int)) error {
	if len(rows) == 0 {
		return nil
	}
	order := func(a, b outboxRow) int {
		return cmp.Or(strings.Compare(a.ch.Platform, b.ch.Platform), strings.Compare(a.ch.ID, b.ch.ID), strings.Compare(a.key, b.key))
	}
	slices.SortFunc(rows, order)
	rows = slices.CompactFunc(rows, func(a, b outboxRow) bool { return order(a, b) == 0 })
	platforms, ids, keys, matched := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		m := r.matched
		if m == nil {
			m = []string{}
		}
		js, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode matched terms: %w", err)
		}
		platforms[i], ids[i], keys[i], matched[i] = r.ch.Platform, r.ch.ID, r.key, string(js)
	}
	q := `
INSERT INTO outbox (platform, channel_id, paper_key, matched, kind, created_at)
SELECT p, c, k, m::jsonb, $5, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS r(p, c, k, m)`
	if !fresh {
		// A pair pruned after it was posted stays posted; a paper this transaction inserted cannot have been.
		q += `
WHERE NOT EXISTS (SELECT 1 FROM outbox_posted d WHERE d.platform = r.p AND d.channel_id = r.c AND d.paper_key = r.k)
ON CONFLICT (platform, channel_id, paper_key) DO NOTHING`
	}
	b.Queue(q, platforms, ids, keys, matched, kind, at.UnixNano()).Exec(func(ct pgconn.CommandTag) error {
		done(int(ct.RowsAffected()))
		return nil
	})
	return nil
}

// notifyOutbox wakes the other instances at commit: tx created outbox rows.
func notifyOutbox(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT paperboy_notify('outbox')`); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// queueValidators queues the upsert of the validators of the URLs the poll fetched; URLs the poll did not fetch
// keep theirs.
func queueValidators(b *pgx.Batch, source string, validators map[string]paper.Validators) {
	if len(validators) == 0 {
		return
	}
	urls := make([]string, 0, len(validators))
	for u := range validators {
		urls = append(urls, u)
	}
	slices.Sort(urls)
	etags, lms := make([]string, len(urls)), make([]string, len(urls))
	for i, u := range urls {
		etags[i], lms[i] = validators[u].ETag, validators[u].LastModified
	}
	b.Queue(`
INSERT INTO fetch_state (source, url, etag, last_modified)
SELECT $1, u, e, l FROM unnest($2::text[], $3::text[], $4::text[]) AS r(u, e, l)
ON CONFLICT (source, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified`,
		source, urls, etags, lms)
}

// RecordPollError records a failed poll of source at time at: the error text (capped) becomes the source's last
// error. Validators and papers are untouched, so the next poll retries the same content.
func (s *Store) RecordPollError(ctx context.Context, source string, pollErr error, at time.Time) error {
	if pollErr == nil {
		return fmt.Errorf("record poll error of %s: nil error", source)
	}
	if _, err := s.pool.Exec(ctx, `
INSERT INTO source_state AS s (source, last_poll, last_error, last_error_at, polls, failures, consecutive_failures)
VALUES ($1, $2, $3, $2, 1, 1, 1)
ON CONFLICT (source) DO UPDATE SET
	last_poll = excluded.last_poll, last_error = excluded.last_error, last_error_at = excluded.last_error_at,
	polls = s.polls + 1, failures = s.failures + 1, consecutive_failures = s.consecutive_failures + 1`,
		source, at.UnixNano(), errorText(pollErr)); err != nil {
		return fmt.Errorf("record poll error of %s: %w", source, err)
	}
	return nil
}

// RecordNotModified records a successful poll of source at time at that found nothing new (every URL answered
// 304). The stored validators stay valid.
func (s *Store) RecordNotModified(ctx context.Context, source string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `
INSERT INTO source_state AS s (source, last_poll, last_success, polls) VALUES ($1, $2, $2, 1)
ON CONFLICT (source) DO UPDATE SET
	last_poll = excluded.last_poll, last_success = excluded.last_success,
	polls = s.polls + 1, consecutive_failures = 0`,
		source, at.UnixNano()); err != nil {
		return fmt.Errorf("record not-modified poll of %s: %w", source, err)
	}
	return nil
}

// errorText is err's text for storage: valid text for PostgreSQL, cut on a character boundary to maxErrorLen
// bytes.
func errorText(err error) string {
	msg := cleanText(err.Error())
	if len(msg) <= maxErrorLen {
		return msg
	}
	cut := maxErrorLen
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// cleanText makes s storable in a PostgreSQL text or jsonb value, which hold neither NUL nor invalid UTF-8
// (SQLite stores both): each becomes U+FFFD, as encoding/json already does with invalid UTF-8.
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// sanitize returns papers with cleanText applied to every string of every paper, copying only what changes. It
// walks the fields by reflection so that a field added to paper.Paper later cannot be forgotten here.
func sanitize(papers []paper.Paper) []paper.Paper {
	var out []paper.Paper
	for i := range papers {
		v := reflect.ValueOf(&papers[i]).Elem()
		dirty := false
		for f := range v.NumField() {
			if needsCleaning(v.Field(f)) {
				dirty = true
				break
			}
		}
		if !dirty {
			continue
		}
		if out == nil {
			out = slices.Clone(papers)
		}
		w := reflect.ValueOf(&out[i]).Elem()
		for f := range w.NumField() {
			cleanValue(w.Field(f))
		}
	}
	if out == nil {
		return papers
	}
	return out
}

func needsCleaning(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return cleanText(v.String()) != v.String()
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			for i := range v.Len() {
				if needsCleaning(v.Index(i)) {
					return true
				}
			}
		}
	}
	return false
}

// cleanValue cleans a string or string slice field in place; a slice is replaced, never written through, since
// its array belongs to the caller.
func cleanValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(cleanText(v.String()))
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String || !needsCleaning(v) {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			cleanValue(c.Index(i))
		}
		v.Set(c)
	}
}

// encodeData is a paper's JSON without title and abstract, which have their own columns.
func encodeData(p *paper.Paper) (string, error) {
	q := *p
	q.Title, q.Abstract = "", ""
	data, err := json.Marshal(q)
	if err != nil {
		return "", fmt.Errorf("encode paper %s: %w", p.Key, err)
	}
	return string(data), nil
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
