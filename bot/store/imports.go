package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// importsMigration holds the checkpoint of each named bulk import (paperboy import snapshot, paperboy import
// arxiv): an opaque state the importer saves with every batch, in the batch's transaction, so that a resumed
// import starts exactly after the last batch stored.
//
// It also lets an import defer the full-text indexing of the papers it inserts. Indexing inside each batch costs
// one FTS5 segment flush per statement, which forces the batch into one statement over a JSON array; deferred,
// the papers go in through a prepared statement (as fast as a plain insert) and are indexed later in large runs of
// increasing rowid, which FTS5 accumulates in memory and writes once. fts_defer.deferred is 1 only inside an
// import's transaction (never committed as 1): while it is, the insert trigger records the new id in fts_pending
// instead of indexing the row. fts_pending commits with the papers, so a crash can delay the indexing of a paper,
// never lose it: Open and the next import index what is pending. The delete and update triggers skip pending rows
// (they have no index entry to remove: an FTS5 'delete' of text never indexed would corrupt the index) and keep
// fts_pending's id in step when a pending row moves.
const importsMigration = `
CREATE TABLE imports (
	name       TEXT    PRIMARY KEY,
	state      BLOB    NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE fts_pending (id INTEGER PRIMARY KEY);
CREATE TABLE fts_defer (deferred INTEGER NOT NULL);
INSERT INTO fts_defer (deferred) VALUES (0);

DROP TRIGGER papers_fts_insert;
DROP TRIGGER papers_fts_delete;
DROP TRIGGER papers_fts_update;
CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers WHEN (SELECT deferred FROM fts_defer) = 0 BEGIN
	INSERT INTO papers_fts(rowid, title, abstract, authors) VALUES (new.id, new.title, new.abstract, new.authors);
END;
CREATE TRIGGER papers_fts_insert_deferred AFTER INSERT ON papers WHEN (SELECT deferred FROM fts_defer) <> 0 BEGIN
	INSERT INTO fts_pending(id) VALUES (new.id);
END;
CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers
	WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE id = old.id)
BEGIN
	INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)
		VALUES ('delete', old.id, old.title, old.abstract, old.authors);
END;
CREATE TRIGGER papers_fts_delete_pending AFTER DELETE ON papers
	WHEN EXISTS (SELECT 1 FROM fts_pending WHERE id = old.id)
BEGIN
	DELETE FROM fts_pending WHERE id = old.id;
END;
-- Whatever order the two update triggers fire in, the first sees old.id pending and the second new.id: neither
-- touches the index of a pending row.
CREATE TRIGGER papers_fts_update AFTER UPDATE ON papers
	WHEN (old.id <> new.id OR old.title <> new.title OR old.abstract <> new.abstract OR old.authors <> new.authors)
		AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE id IN (old.id, new.id))
BEGIN
	INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)
		VALUES ('delete', old.id, old.title, old.abstract, old.authors);
	INSERT INTO papers_fts(rowid, title, abstract, authors) VALUES (new.id, new.title, new.abstract, new.authors);
END;
CREATE TRIGGER papers_fts_update_pending AFTER UPDATE ON papers
	WHEN old.id <> new.id AND EXISTS (SELECT 1 FROM fts_pending WHERE id = old.id)
BEGIN
	UPDATE fts_pending SET id = new.id WHERE id = old.id;
END;
`

// ImportState returns the saved checkpoint of the named import (nil, false when none).
func (s *Store) ImportState(ctx context.Context, name string) (state []byte, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT state FROM imports WHERE name = ?`, name).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("import state of %s: %w", name, err)
	}
	return state, true, nil
}

// ImportBatch stores papers as history (merged by identity like Ingest, never routed to any channel) and saves
// state as the named import's checkpoint, in one transaction.
//
// The papers merge with the stored ones under the domain's rules (paper.Batch, paper.Reconcile), with name as
// their source: a paper the store did not hold is New in the result, a known one Updated or Unchanged. Nothing is
// offered to a router and no source's health changes: an import is not a poll. A paper stored by an import counts
// as first seen when it was published, not at the import, so that a channel subscribing later never takes years
// of history for new announcements (a later listing of the paper follows the usual rules with that first-seen
// time) and windows such as the subscribe preview's "last 7 days" see its publication date only.
func (s *Store) ImportBatch(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error) {
	res, err := s.importBatch(ctx, name, papers, state, at, false)
	if err != nil {
		return paper.IngestResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	return res, nil
}

// ImportBatchDeferred is ImportBatch for a bulk import that indexes in large runs: the batch's papers may be left
// out of the full-text index (committed in fts_pending, so never lost: Open indexes them after a crash) until
// indexBacklog papers are pending; the importer calls IndexPending when it ends. Look-ups meanwhile miss at most
// that backlog, and each indexing run writes fewer, larger FTS5 segments, which later need fewer merges.
func (s *Store) ImportBatchDeferred(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error) {
	res, err := s.importBatch(ctx, name, papers, state, at, true)
	if err != nil {
		return paper.IngestResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	return res, nil
}

func (s *Store) importBatch(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time, deferIndex bool) (res paper.IngestResult, err error) {
	if name == "" {
		return res, errors.New("empty import name")
	}
	if state == nil {
		state = []byte{}
	}
	batch := paper.Batch(name, papers)
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
	for _, in := range batch {
		prev, known := old[in.Paper.Key]
		if !known {
			o := paper.Reconcile(nil, in)
			res.Add(o)
			seen := now
			if !o.Merged.Published.IsZero() {
				seen = o.Merged.Published.UnixMilli()
			}
			id, err := alloc.next(ctx, paper.SortSecond(o.Merged, seen))
			if err != nil {
				return res, err
			}
			ops = append(ops, writeOp{id: id, p: o.Merged, seen: seen})
			continue
		}
		o := paper.Reconcile(&prev.p, in)
		res.Add(o)
		if o.Kind == paper.Unchanged {
			// An import is not a sighting by a source: last_seen stays, and the row is not rewritten.
			continue
		}
		id := prev.id
		if sec := paper.SortSecond(o.Merged, prev.firstSeen); sec != prev.id>>idShift {
			if id, err = alloc.next(ctx, sec); err != nil {
				return res, err
			}
		}
		ops = append(ops, writeOp{id: id, oldID: prev.id, p: o.Merged})
	}
	slices.SortFunc(ops, func(a, b writeOp) int { return cmp.Compare(a.id, b.id) })
	if err := writeDeferred(ctx, tx, ops, now); err != nil {
		return res, err
	}
	if _, err := tx.ExecContext(ctx, `
INSERT INTO imports (name, state, updated_at) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
		name, state, at.UnixNano()); err != nil {
		return res, fmt.Errorf("save checkpoint: %w", err)
	}
	if s.beforeCommit != nil {
		if err := s.beforeCommit(ctx); err != nil {
			return res, err
		}
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	// The batch's papers are stored and their ids in fts_pending: index them now (or, deferred, once the backlog
	// is large), in transactions of their own. A crash in between leaves them pending, and Open indexes them.
	if deferIndex {
		var pending int
		if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM fts_pending`).Scan(&pending); err != nil {
			return res, fmt.Errorf("count papers to index: %w", err)
		}
		if pending < indexBacklog {
			return res, nil
		}
	}
	if err := s.IndexPending(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// indexChunk bounds how many deferred papers one indexing transaction writes, so that indexing a backlog (an
// interrupted import's, at Open) does not hold the write connection for long.
const indexChunk = 50_000

// ftsDefaultAutomerge is FTS5's automerge when the store sets none; bulkAutomerge the value an indexing run
// raises it to.
const (
	ftsDefaultAutomerge = 4
	bulkAutomerge       = 8
)

// indexBacklog is how many papers ImportBatchDeferred leaves pending before it indexes them.
const indexBacklog = indexChunk

// writeDeferred writes an ingest's or an import's rows: the new ones through prepared multi-row statements with
// their indexing deferred (see importsMigration), the changed and touched known ones with writePapers, whose
// triggers update the index in the same transaction (an update must remove the old text's entries, which only the
// old text can do). A new row's first_seen is its op.seen, or now when that is 0.
func writeDeferred(ctx context.Context, tx *sql.Tx, ops []writeOp, now int64) error {
	var inserts, updates []writeOp
	for _, op := range ops {
		if op.oldID == 0 {
			inserts = append(inserts, op)
		} else {
			updates = append(updates, op)
		}
	}
	if err := writePapers(ctx, tx, updates, now); err != nil {
		return err
	}
	if len(inserts) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE fts_defer SET deferred = 1`); err != nil {
		return fmt.Errorf("defer indexing: %w", err)
	}
	// Many rows a statement, bound as parameters: one statement per row costs a database/sql round trip and, in a
	// transaction, a statement journal entry for every page the row touches (the insert triggers make each
	// statement one that may abort halfway); a JSON array would cost encoding and decoding every paper again.
	var full *sql.Stmt
	defer func() {
		if full != nil {
			_ = full.Close()
		}
	}()
	args := make([]any, 0, insertRows*insertCols)
	for len(inserts) > 0 {
		n := min(len(inserts), insertRows)
		args = args[:0]
		for _, op := range inserts[:n] {
			r, err := rowOf(op)
			if err != nil {
				return err
			}
			seen := op.seen
			if seen == 0 {
				seen = now
			}
			args = append(args, r.ID, r.Key, r.ArxivID, r.DOI, r.Title, r.Abstract, r.Authors,
				r.Published, r.Updated, seen, now, string(r.Data))
		}
		var err error
		if n == insertRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertSQL(insertRows)); err != nil {
					return fmt.Errorf("insert papers: %w", err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertSQL(n), args...)
		}
		if err != nil {
			return fmt.Errorf("insert %d papers from %s: %w", n, inserts[0].p.Key, err)
		}
		inserts = inserts[n:]
	}
	if _, err := tx.ExecContext(ctx, `UPDATE fts_defer SET deferred = 0`); err != nil {
		return fmt.Errorf("defer indexing: %w", err)
	}
	return nil
}

// insertRows is how many papers one insert statement of an import writes, and insertCols the columns of each:
// 256 rows are 3,072 parameters, well under SQLite's limit of 32,766.
const (
	insertRows = 256
	insertCols = 12
)

// insertSQL is the statement inserting n papers.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO papers (id, key, arxiv_id, doi, title, abstract, authors, published, updated, first_seen, last_seen, data) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// IndexPending writes the full-text index entries of every paper an ingest or import stored with its indexing
// deferred, in transactions of at most indexChunk papers, lowest id first. Ingest and ImportBatch call it after
// each commit; Open calls it for what a crash left.
func (s *Store) IndexPending(ctx context.Context) error {
	// Usually nothing is pending: a read says so without the write lock, which a running bot may hold.
	var pending bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM fts_pending)`).Scan(&pending); err != nil {
		return fmt.Errorf("index imported papers: %w", err)
	}
	if !pending {
		return nil
	}
	for {
		n, err := s.indexChunk(ctx)
		if err != nil {
			return fmt.Errorf("index imported papers: %w", err)
		}
		if n < indexChunk {
			return nil
		}
	}
}

// indexChunk indexes up to indexChunk pending papers in one transaction and returns how many it indexed.
func (s *Store) indexChunk(ctx context.Context) (n int, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var last sql.NullInt64
	var count int
	if err := tx.QueryRowContext(ctx, `SELECT max(id), count(*) FROM (SELECT id FROM fts_pending ORDER BY id LIMIT ?)`,
		indexChunk).Scan(&last, &count); err != nil {
		return 0, err
	}
	if count == 0 {
		return 0, tx.Rollback()
	}
	// One statement in rowid order: FTS5 accumulates the run in memory, as a bulk build does, and writes a
	// segment whenever it holds hashsize bytes. The run raises automerge for its own transaction: merging 8
	// segments at a time rather than 4 rewrites each index entry about half as often (at 300k papers the merges
	// took 6.5 s of CPU instead of 2.7 s). The setting is restored in the same transaction, so no other write sees
	// it. (A larger hashsize too saves merges, but 16 MiB took the import's peak RSS over 200 MB.)
	var automerge int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT v FROM papers_fts_config WHERE k = 'automerge'), ?)`,
		ftsDefaultAutomerge).Scan(&automerge); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO papers_fts(papers_fts, rank) VALUES ('automerge', ?)`,
		max(automerge, bulkAutomerge)); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `
INSERT INTO papers_fts(rowid, title, abstract, authors)
SELECT p.id, p.title, p.abstract, p.authors FROM fts_pending f JOIN papers p ON p.id = f.id
WHERE f.id <= ? ORDER BY f.id`, last.Int64); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO papers_fts(papers_fts, rank) VALUES ('automerge', ?)`, automerge); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM fts_pending WHERE id <= ?`, last.Int64); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return count, nil
}

// mergeStep is how many pages of the full-text index one step of MergeIndex writes: each step is a write
// transaction of its own (a few MB), so a bot sharing the file waits for one step, never for the whole merge.
const mergeStep = 2000

// MergeIndex merges the full-text index's segments into one, as FTS5's 'optimize' does, but incrementally: in
// steps of mergeStep pages, each its own transaction, until a step finds nothing left to merge. A bulk import
// leaves a dozen segments (13 after 3M papers), which every look-up reads one by one; merged, /papers look-ups on
// the 3M-paper store took about half the time (p99 51-81 ms against 154-161 ms on a loaded machine), for 61 s of
// CPU at the end of the import.
func (s *Store) MergeIndex(ctx context.Context) error {
	for {
		done, err := s.mergeStep(ctx)
		if err != nil {
			return fmt.Errorf("merge the full-text index: %w", err)
		}
		if done {
			return nil
		}
	}
}

// mergeStep runs one step of MergeIndex and reports whether the index is merged: one segment left, or a step that
// changed nothing (FTS5's sign that a merge found no work). A negative 'merge' makes every segment eligible, as
// 'optimize' does.
func (s *Store) mergeStep(ctx context.Context) (done bool, err error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.Close() }() // returns the write connection to its pool
	segs, err := ftsSegments(ctx, conn)
	if err != nil || len(segs) <= 1 {
		return err == nil, err
	}
	var before, after int64
	if err := conn.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
		return false, err
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO papers_fts(papers_fts, rank) VALUES ('merge', ?)`, -mergeStep); err != nil {
		return false, err
	}
	if err := conn.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&after); err != nil {
		return false, err
	}
	return after == before, nil
}
