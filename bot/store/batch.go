package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// batchMigration gives digests a stable identity, and records when a row's send started (sending_at), so that a
// restart can tell the rows that were in flight when the previous process died.
//
// A digest's rows are written to a batch in one transaction before the digest is sent; a digest that a crash
// interrupted is sent again with the same rows and the same id (Discord's nonce is derived from it), while papers
// that arrived since wait for the next batch. AUTOINCREMENT: an id is never reused, even after the newest batches
// were deleted (a restored backup), so a nonce never names two digests.
const batchMigration = `
CREATE TABLE outbox_batches (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	platform   TEXT    NOT NULL,
	channel_id TEXT    NOT NULL,
	kind       TEXT    NOT NULL CHECK (kind IN ('daily', 'overflow', 'backfill')),
	title      TEXT    NOT NULL,
	created_at INTEGER NOT NULL
);
ALTER TABLE outbox ADD COLUMN batch_id INTEGER REFERENCES outbox_batches(id);
ALTER TABLE outbox ADD COLUMN sending_at INTEGER;
CREATE INDEX outbox_open_batches ON outbox(platform, channel_id) WHERE batch_id IS NOT NULL AND state IN ('pending', 'overflow');
`

// OpenBatch stores a digest of kind and title made of ch's unsent rows ids, and returns its id. The rows leave any
// batch they were in (a rejected digest is split into smaller ones). If any of ids is not an unsent row of ch,
// nothing is stored and the error wraps channel.ErrBatchStale.
func (s *Store) OpenBatch(ctx context.Context, ch channel.Ref, kind, title string, ids []int64, at time.Time) (int64, error) {
	data, err := json.Marshal(ids)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO outbox_batches (platform, channel_id, kind, title, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, ch.Platform, ch.ID, kind, title, at.UnixNano()).Scan(&id); err != nil {
			return err
		}
		// +chan: the rows are found by id; a search of outbox_key by channel would read its whole history.
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET batch_id = ?1
			WHERE +chan = (SELECT num FROM outbox_channels WHERE platform = ?2 AND channel_id = ?3)
			AND state IN ('pending', 'overflow') AND id IN (SELECT value FROM json_each(?4))`,
			id, ch.Platform, ch.ID, string(data))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(ids)) {
			return fmt.Errorf("%d of %d rows: %w", n, len(ids), cmpErr(err, channel.ErrBatchStale))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("open %s batch of %d rows for %s: %w", kind, len(ids), ch, err)
	}
	return id, nil
}

// cmpErr is err, or fallback when err is nil.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// OpenBatches returns ch's batches that still have unsent rows, oldest first, each with those rows. Rows waiting
// for a retry after a rejection are left to Retries. The batches are found in outbox_open_batches, which holds
// only the rows of digests being sent, not in the channel's unsent backlog.
func (s *Store) OpenBatches(ctx context.Context, ch channel.Ref) ([]channel.Batch, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT b.id, b.kind, b.title FROM outbox_batches b
		WHERE b.id IN (SELECT o.batch_id FROM outbox o INDEXED BY outbox_open_batches WHERE o.chan = `+chanNumSQL+`
			AND o.batch_id IS NOT NULL AND o.state IN ('pending', 'overflow') AND o.retry_at IS NULL)
		ORDER BY b.id`, ch.Platform, ch.ID)
	if err != nil {
		return nil, fmt.Errorf("open batches of %s: %w", ch, err)
	}
	out, err := scanBatches(rows, ch)
	if err != nil {
		return nil, fmt.Errorf("open batches of %s: %w", ch, err)
	}
	for i := range out {
		out[i].Items, err = s.queryOutboxItems(ctx, ch, `SELECT `+outboxItemColumns+`
FROM outbox o JOIN papers p ON p.id = o.paper
WHERE o.batch_id = ?1 AND o.batch_id IS NOT NULL AND o.state IN ('pending', 'overflow') AND o.retry_at IS NULL
ORDER BY o.paper, o.id`, out[i].ID)
		if err != nil {
			return nil, fmt.Errorf("rows of batch %d of %s: %w", out[i].ID, ch, err)
		}
	}
	return out, nil
}

// MarkSending records that a send of rows ids starts at at; the zero at records that the send ended without
// being posted.
func (s *Store) MarkSending(ctx context.Context, ids []int64, at time.Time) error {
	var v any
	if !at.IsZero() {
		v = at.UnixNano()
	}
	return s.updateRows(ctx, ids, `UPDATE outbox SET sending_at = ?2 WHERE id IN (SELECT value FROM json_each(?1))`, v)
}

// scanBatches reads batch headers (id, kind, title) of ch and closes rows, so that their rows can be queried next.
func scanBatches(rows *sql.Rows, ch channel.Ref) ([]channel.Batch, error) {
	defer rows.Close()
	var out []channel.Batch
	for rows.Next() {
		b := channel.Batch{Channel: ch}
		if err := rows.Scan(&b.ID, &b.Kind, &b.Title); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
