package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// importsMigration holds the checkpoint of each named bulk import (paperboy import snapshot, paperboy import
// arxiv): an opaque state the importer saves with every batch, in the batch's transaction, so that a resumed
// import starts exactly after the last batch stored.
const importsMigration = `
CREATE TABLE imports (
	name       TEXT    PRIMARY KEY,
	state      BLOB    NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;
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
	res, err := s.importBatch(ctx, name, papers, state, at)
	if err != nil {
		return paper.IngestResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	return res, nil
}

func (s *Store) importBatch(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time) (res paper.IngestResult, err error) {
	if name == "" {
		return res, errors.New("empty import name")
	}
	if state == nil {
		state = []byte{}
	}
	batch := paper.Batch(name, papers)
	keys := make([]string, len(batch))
	for i, in := range batch {
		keys[i] = in.Paper.Key
	}
	keysJSON, err := json.Marshal(keys)
	if err != nil {
		return res, fmt.Errorf("encode keys: %w", err)
	}
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
	old, err := loadStored(ctx, tx, keysJSON)
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
	if err := writePapers(ctx, tx, ops, now); err != nil {
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
	return res, nil
}
