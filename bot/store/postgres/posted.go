package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// postedV9 adds the posted set: what pruning keeps of a sent row older than
// [delivery] keep_sent, its (channel, paper) pair, so that the paper is still announced once ever there. The
// failed rows' index goes: /papers failed reads one channel's rows, which the unique key already finds, and every
// MarkFailed paid for it.
const postedV9 = `
CREATE TABLE outbox_posted (
	platform   text COLLATE "C" NOT NULL,
	channel_id text COLLATE "C" NOT NULL,
	paper_key  text COLLATE "C" NOT NULL,
	PRIMARY KEY (platform, channel_id, paper_key)
);
DROP INDEX outbox_failed;
`

// prunable selects the sent rows posted before $1 that no open digest batch needs.
const prunable = `state = 'sent' AND sent_at < $1 AND (batch_id IS NULL OR batch_id NOT IN (
	SELECT batch_id FROM outbox WHERE batch_id IS NOT NULL AND state IN ('pending', 'overflow')))`

// PruneSent deletes sent outbox rows posted before before, keeping of each only its (channel, paper) pair, so
// the paper is never announced there again; it returns how many rows it pruned. Rows of a digest whose batch
// still has unsent rows are kept with it.
func (s *Store) PruneSent(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		ct, err := tx.Exec(ctx, `WITH gone AS (DELETE FROM outbox WHERE `+prunable+` RETURNING platform, channel_id, paper_key)
			INSERT INTO outbox_posted (platform, channel_id, paper_key)
			SELECT platform, channel_id, paper_key FROM gone ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING`, before.UnixNano())
		if err != nil {
			return err
		}
		n = ct.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune sent outbox rows: %w", err)
	}
	return int(n), nil
}

// PostedMessage returns the id of the message that posted the paper paperKey to ch, and false if the paper was
// not posted there or its row was pruned.
func (s *Store) PostedMessage(ctx context.Context, ch channel.Ref, paperKey string) (string, bool, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT message_id FROM outbox
		WHERE platform = $1 AND channel_id = $2 AND paper_key = $3 AND state = 'sent' AND message_id <> ''`, ch.Platform, ch.ID, paperKey).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("posted message of %s in %s: %w", paperKey, ch, err)
	}
	return id, true, nil
}
