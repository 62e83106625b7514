package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// Enqueue adds rows of the given kind for ch, one per paper key with its matched terms, skipping papers the
// channel already has a row for, except rows that were set aside (failed): those are queued again as rows of kind,
// their attempts reset. It returns how many rows it queued. Backfill uses it; ingestion routes through
// IngestAndRoute.
func (s *Store) Enqueue(ctx context.Context, ch channel.Ref, kind string, matched map[string][]string, at time.Time) (int, error) {
	if len(matched) == 0 {
		return 0, nil
	}
	rows := make([]outboxRow, 0, len(matched))
	for key, m := range matched {
		rows = append(rows, outboxRow{ch: ch, key: key, matched: m})
	}
	keys := make([]string, 0, len(matched))
	for key := range matched {
		keys = append(keys, key)
	}
	var n, revived int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := ensureChannel(ctx, tx, ch, at); err != nil {
			return err
		}
		ct, err := tx.Exec(ctx, `UPDATE outbox SET `+requeueSet+`, kind = $1, created_at = $2
			WHERE state = 'failed' AND platform = $3 AND channel_id = $4 AND paper_key = ANY($5)`, kind, at.UnixNano(), ch.Platform, ch.ID, keys)
		if err != nil {
			return err
		}
		revived = int(ct.RowsAffected())
		b := &pgx.Batch{}
		if err := queueOutbox(b, rows, kind, at, false, func(k int) { n = revived + k }); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if n == 0 && revived == 0 {
			return nil
		}
		return notifyOutbox(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue %s rows for %s: %w", kind, ch, err)
	}
	return n, nil
}

// Work lists the channels that have unsent rows. Rows waiting for a retry after a rejection are counted apart
// (Retry, NextRetry), not as pending, overflow or backfill rows.
func (s *Store) Work(ctx context.Context) ([]channel.Work, error) {
	rows, err := s.pool.Query(ctx, `
SELECT o.platform, o.channel_id,
	coalesce(c.mode, 'instant'), coalesce(c.digest_at, ''), coalesce(c.digest_tz, ''), coalesce(c.blocked, ''), c.last_digest_at,
	count(*) FILTER (WHERE o.state = 'pending' AND o.kind = 'match' AND o.retry_at IS NULL),
	count(*) FILTER (WHERE o.state = 'overflow' AND o.retry_at IS NULL), count(*) FILTER (WHERE o.kind = 'backfill' AND o.retry_at IS NULL),
	min(o.created_at) FILTER (WHERE o.kind = 'match' AND o.retry_at IS NULL),
	count(*) FILTER (WHERE o.retry_at IS NOT NULL), min(o.retry_at)
FROM outbox o LEFT JOIN channels c ON c.platform = o.platform AND c.id = o.channel_id
WHERE o.state IN ('pending', 'overflow')
GROUP BY o.platform, o.channel_id, c.platform, c.id
ORDER BY o.platform, o.channel_id`)
	if err != nil {
		return nil, fmt.Errorf("list outbox work: %w", err)
	}
	defer rows.Close()
	var out []channel.Work
	for rows.Next() {
		var w channel.Work
		var last, oldest, retry *int64
		if err := rows.Scan(&w.Ref.Platform, &w.Ref.ID, &w.Mode, &w.DigestAt, &w.DigestTZ, &w.Blocked, &last,
			&w.Pending, &w.Overflow, &w.Backfill, &oldest, &w.Retry, &retry); err != nil {
			return nil, fmt.Errorf("list outbox work: %w", err)
		}
		w.LastDigestAt, w.OldestUnsent, w.NextRetry = nanos(last), nanos(oldest), nanos(retry)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list outbox work: %w", err)
	}
	return out, nil
}

// Unsent returns up to limit (all if <= 0) unsent rows of ch of the given kind and states, oldest paper first.
// Rows waiting for a retry after a rejection are not listed: Retries hands them out when they are due.
func (s *Store) Unsent(ctx context.Context, ch channel.Ref, kind string, states []string, limit int) ([]channel.OutboxItem, error) {
	items, err := s.queryOutboxItems(ctx, ch, `
SELECT `+outboxItemColumns+`
FROM outbox o JOIN papers p ON p.key = o.paper_key
WHERE o.platform = $1 AND o.channel_id = $2 AND o.kind = $3 AND o.state = ANY($4) AND o.retry_at IS NULL
ORDER BY p.sort_sec, p.sort_seq, o.id LIMIT $5`, ch.Platform, ch.ID, kind, states, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("unsent rows of %s: %w", ch, err)
	}
	return items, nil
}

// MarkSent records that rows ids were posted as message messageID.
func (s *Store) MarkSent(ctx context.Context, ids []int64, messageID string, at time.Time) error {
	return s.updateRows(ctx, ids, `UPDATE outbox SET state = 'sent', message_id = $2, sent_at = $3, last_error = '', retry_at = NULL WHERE id = ANY($1)`,
		messageID, at.UnixNano())
}

// MarkFailed sets rows ids aside at at after the platform rejected their message for the last time.
func (s *Store) MarkFailed(ctx context.Context, ids []int64, sendErr error, at time.Time) error {
	return s.updateRows(ctx, ids, `UPDATE outbox SET state = 'failed', attempts = attempts + 1, rejections = rejections + 1,
		last_error = $2, retry_at = NULL, failed_at = $3 WHERE id = ANY($1)`, errorText(sendErr), at.UnixNano())
}

// MarkOverflow moves pending rows ids to the channel's next digest.
func (s *Store) MarkOverflow(ctx context.Context, ids []int64) error {
	return s.updateRows(ctx, ids, `UPDATE outbox SET state = 'overflow' WHERE state = 'pending' AND id = ANY($1)`)
}

// RecordAttempt notes a failed send of rows ids.
func (s *Store) RecordAttempt(ctx context.Context, ids []int64, sendErr error) error {
	return s.updateRows(ctx, ids, `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1)`, errorText(sendErr))
}

func (s *Store) updateRows(ctx context.Context, ids []int64, query string, args ...any) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, query, append([]any{ids}, args...)...); err != nil {
		return fmt.Errorf("update outbox rows: %w", err)
	}
	return nil
}

// MessagesSince counts the distinct messages posted to ch at or after since (a digest is one message).
func (s *Store) MessagesSince(ctx context.Context, ch channel.Ref, since time.Time) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(DISTINCT message_id) FROM outbox
		WHERE platform = $1 AND channel_id = $2 AND state = 'sent' AND sent_at >= $3`, ch.Platform, ch.ID, since.UnixNano()).Scan(&n); err != nil {
		return 0, fmt.Errorf("messages to %s since %s: %w", ch, since, err)
	}
	return n, nil
}

// SetLastDigest records when ch's last digest went out (or, the first time, when its digest clock started).
func (s *Store) SetLastDigest(ctx context.Context, ch channel.Ref, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO channels (platform, id, created_at, last_digest_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (platform, id) DO UPDATE SET last_digest_at = excluded.last_digest_at`, ch.Platform, ch.ID, at.UnixNano()); err != nil {
		return fmt.Errorf("set last digest of %s: %w", ch, err)
	}
	return nil
}

// BlockChannel stops delivery to ch after a permanent platform error (reason is shown in status); "" unblocks.
// The channel's rows are kept, so nothing is lost if it comes back.
func (s *Store) BlockChannel(ctx context.Context, ch channel.Ref, reason string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO channels (platform, id, created_at, blocked, blocked_at) VALUES ($1, $2, $3, $4, $3)
		ON CONFLICT (platform, id) DO UPDATE SET blocked = excluded.blocked, blocked_at = excluded.blocked_at`,
		ch.Platform, ch.ID, at.UnixNano(), cleanText(reason)); err != nil {
		return fmt.Errorf("block channel %s: %w", ch, err)
	}
	return nil
}

// OutboxDepth counts unsent rows.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE state IN ('pending', 'overflow')`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox depth: %w", err)
	}
	return n, nil
}
