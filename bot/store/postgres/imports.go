package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// importsV5 holds the checkpoint of each named bulk import, saved with every batch in the batch's transaction
// (see ImportBatch), as in the SQLite store.
const importsV5 = `
CREATE TABLE imports (
	name       text   COLLATE "C" PRIMARY KEY,
	state      bytea  NOT NULL,
	updated_at bigint NOT NULL
);
`

// ImportState returns the saved checkpoint of the named import (nil, false when none).
func (s *Store) ImportState(ctx context.Context, name string) (state []byte, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT state FROM imports WHERE name = $1`, name).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("import state of %s: %w", name, err)
	}
	return state, true, nil
}

// ImportBatch stores papers as history (merged by identity like Ingest, never routed to any channel) and saves
// state as the named import's checkpoint, in one transaction. The rules are the SQLite store's (see its
// ImportBatch): name is the papers' source, a paper stored by the import was first seen when it was published,
// a known paper the import teaches nothing is not rewritten, and no source's health changes.
func (s *Store) ImportBatch(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error) {
	if name == "" {
		return paper.IngestResult{}, errors.New("import: empty import name")
	}
	if state == nil {
		state = []byte{}
	}
	batch := paper.Batch(name, sanitize(papers))
	for attempt := 1; ; attempt++ {
		res, err := s.importBatch(ctx, name, batch, state, at)
		if err == nil {
			if err := s.mergePending(ctx); err != nil {
				return res, fmt.Errorf("import %s: papers stored, their index entries left pending: %w", name, err)
			}
			return res, nil
		}
		if attempt == ingestAttempts || !retryable(err) {
			return paper.IngestResult{}, fmt.Errorf("import %s: %w", name, err)
		}
	}
}

func (s *Store) importBatch(ctx context.Context, name string, batch []paper.Incoming, state []byte, at time.Time) (res paper.IngestResult, err error) {
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
	// As in ingest: a key another transaction inserted meanwhile is locked and merged like a stored one.
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
		updates  []*planned
		seenKeys []string
		seenAt   []int64
	)
	for i := range plans {
		pl := &plans[i]
		res.Add(pl.o)
		switch {
		case pl.st == nil:
			// insertPapers wrote the import's time as first seen; an imported paper was first seen when it was
			// published.
			if p := pl.o.Merged.Published; !p.IsZero() {
				seenKeys, seenAt = append(seenKeys, pl.in.Paper.Key), append(seenAt, p.UnixMilli())
			}
		case pl.o.Kind == paper.Unchanged:
			// Not a sighting by a source: the row is not rewritten.
		default:
			updates = append(updates, pl)
		}
	}
	b := &pgx.Batch{}
	if err := queueUpdates(b, updates, nil, now); err != nil {
		return res, err
	}
	if len(seenKeys) > 0 {
		b.Queue(`
UPDATE papers p SET first_seen = r.seen FROM unnest($1::text[], $2::bigint[]) AS r(key, seen) WHERE p.key = r.key`,
			seenKeys, seenAt)
	}
	b.Queue(`
INSERT INTO imports (name, state, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
		name, state, at.UnixNano())
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return res, err
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
