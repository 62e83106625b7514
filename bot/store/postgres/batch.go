package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// batchesV4 gives digests a stable identity, as the SQLite store's batch migration does: a digest's rows are
// written to a batch in one transaction before it is sent, so that a digest a crash interrupted is sent again
// with the same rows and id (Discord's nonce is derived from it) while papers that arrived since wait for the next.
// sending_at records when a row's send started, so that a restart can tell the rows that were in flight when the
// previous process died.
const batchesV4 = `
CREATE TABLE outbox_batches (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	platform   text   COLLATE "C" NOT NULL,
	channel_id text   COLLATE "C" NOT NULL,
	kind       text   NOT NULL CHECK (kind IN ('daily', 'overflow', 'backfill')),
	title      text   NOT NULL,
	created_at bigint NOT NULL
);
ALTER TABLE outbox ADD COLUMN batch_id bigint REFERENCES outbox_batches (id);
ALTER TABLE outbox ADD COLUMN sending_at bigint;
CREATE INDEX outbox_open_batches ON outbox (platform, channel_id) WHERE batch_id IS NOT NULL AND state IN ('pending', 'overflow');
`

// OpenBatch stores a digest of kind and title made of ch's unsent rows ids, and returns its id. The rows leave any
// batch they were in (a rejected digest is split into smaller ones). If any of ids is not an unsent row of ch,
// nothing is stored and the error wraps channel.ErrBatchStale.
func (s *Store) OpenBatch(ctx context.Context, ch channel.Ref, kind, title string, ids []int64, at time.Time) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO outbox_batches (platform, channel_id, kind, title, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, ch.Platform, ch.ID, kind, cleanText(title), at.UnixNano()).Scan(&id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE outbox SET batch_id = $1
			WHERE platform = $2 AND channel_id = $3 AND state IN ('pending', 'overflow') AND id = ANY($4)`,
			id, ch.Platform, ch.ID, ids)
		if err != nil {
			return err
		}
		if n := tag.RowsAffected(); n != int64(len(ids)) {
			return fmt.Errorf("%d of %d rows: %w", n, len(ids), channel.ErrBatchStale)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("open %s batch of %d rows for %s: %w", kind, len(ids), ch, err)
	}
	return id, nil
}

// OpenBatches returns ch's batches that still have unsent rows, oldest first, each with those rows. Rows waiting
// for a retry after a rejection are left to Retries.
func (s *Store) OpenBatches(ctx context.Context, ch channel.Ref) ([]channel.Batch, error) {
	rows, err := s.pool.Query(ctx, `SELECT b.id, b.kind, b.title FROM outbox_batches b
		WHERE b.id IN (SELECT o.batch_id FROM outbox o WHERE o.platform = $1 AND o.channel_id = $2 AND o.batch_id IS NOT NULL
			AND o.state IN ('pending', 'overflow') AND o.retry_at IS NULL)
		ORDER BY b.id`, ch.Platform, ch.ID)
	if err != nil {
		return nil, fmt.Errorf("open batches of %s: %w", ch, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (channel.Batch, error) {
		b := channel.Batch{Channel: ch}
		return b, r.Scan(&b.ID, &b.Kind, &b.Title)
	})
	if err != nil {
		return nil, fmt.Errorf("open batches of %s: %w", ch, err)
	}
	for i := range out {
		out[i].Items, err = s.queryOutboxItems(ctx, ch, `SELECT `+outboxItemColumns+`
FROM outbox o JOIN papers p ON p.key = o.paper_key
WHERE o.batch_id = $1 AND o.state IN ('pending', 'overflow') AND o.retry_at IS NULL
ORDER BY p.sort_sec, p.sort_seq, o.id`, out[i].ID)
		if err != nil {
			return nil, fmt.Errorf("rows of batch %d of %s: %w", out[i].ID, ch, err)
		}
	}
	return out, nil
}

// MarkSending records that a send of rows ids starts at at; the zero at records that the send ended without
// being posted.
func (s *Store) MarkSending(ctx context.Context, ids []int64, at time.Time) error {
	var v *int64
	if !at.IsZero() {
		n := at.UnixNano()
		v = &n
	}
	return s.updateRows(ctx, ids, `UPDATE outbox SET sending_at = $2 WHERE id = ANY($1)`, v)
}
