package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// rejectedMigration lets a message the platform rejected be tried again before it is set aside: rejections counts
// the refusals since the row was queued, retry_at is when a rejected row is due again (NULL for rows that are not
// waiting for a retry: Work and Unsent leave those rows to Retries), and failed_at is when a row was set aside,
// for /papers failed.
const rejectedMigration = `
ALTER TABLE outbox ADD COLUMN rejections INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN retry_at INTEGER;
ALTER TABLE outbox ADD COLUMN failed_at INTEGER;
CREATE INDEX outbox_failed ON outbox(platform, channel_id, failed_at) WHERE state = 'failed';
`

// outboxItemColumns are what scanOutboxItem reads, from outbox o joined with papers p.
const outboxItemColumns = `o.id, o.matched, o.kind, o.state, o.created_at, o.attempts, o.rejections, o.retry_at,
	o.last_error, o.failed_at, o.sending_at, p.key, p.title, p.abstract, p.data`

// queryOutboxItems runs a query selecting outboxItemColumns for rows of ch.
func (s *Store) queryOutboxItems(ctx context.Context, ch channel.Ref, query string, args ...any) ([]channel.OutboxItem, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []channel.OutboxItem
	for rows.Next() {
		it := channel.OutboxItem{Channel: ch}
		var matched, key, title, abstract string
		var data []byte
		var created int64
		var retryAt, failedAt, sending sql.NullInt64
		if err := rows.Scan(&it.ID, &matched, &it.Kind, &it.State, &created, &it.Attempts, &it.Rejections, &retryAt,
			&it.LastError, &failedAt, &sending, &key, &title, &abstract, &data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(matched), &it.Matched); err != nil {
			return nil, fmt.Errorf("outbox row %d: matched: %w", it.ID, err)
		}
		if it.Paper, err = decodePaper(key, title, abstract, data); err != nil {
			return nil, err
		}
		it.CreatedAt, it.RetryAt, it.FailedAt = time.Unix(0, created), nanos(retryAt), nanos(failedAt)
		it.SendingAt = nanos(sending)
		out = append(out, it)
	}
	return out, rows.Err()
}

// Retries returns up to limit (all if <= 0) rows of ch waiting for a retry after a rejection whose time has come
// by now, the longest waiting first.
func (s *Store) Retries(ctx context.Context, ch channel.Ref, now time.Time, limit int) ([]channel.OutboxItem, error) {
	items, err := s.queryOutboxItems(ctx, ch, `
SELECT `+outboxItemColumns+`
FROM outbox o INDEXED BY outbox_key JOIN papers p ON p.id = o.paper
WHERE `+unsentFrom(chanNumSQL)+` AND o.retry_at <= ?3
ORDER BY o.retry_at, o.id LIMIT ?4`, ch.Platform, ch.ID, now.UnixNano(), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("rows of %s due for a retry: %w", ch, err)
	}
	return items, nil
}

// MarkRejected records that the platform rejected rows ids' message and that they are tried again at retryAt.
func (s *Store) MarkRejected(ctx context.Context, ids []int64, sendErr error, retryAt time.Time) error {
	return s.updateRows(ctx, ids, `UPDATE outbox SET attempts = attempts + 1, rejections = rejections + 1, last_error = ?2,
		retry_at = ?3 WHERE state IN ('pending', 'overflow') AND id IN (SELECT value FROM json_each(?1))`, errorText(sendErr), retryAt.UnixNano())
}

// CountFailed counts ch's rows that were set aside.
func (s *Store) CountFailed(ctx context.Context, ch channel.Ref) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE chan = `+chanNumSQL+` AND state = 'failed'`,
		ch.Platform, ch.ID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count set-aside rows of %s: %w", ch, err)
	}
	return n, nil
}

// ListFailed returns up to limit (all if <= 0) of ch's rows that were set aside, the latest first.
func (s *Store) ListFailed(ctx context.Context, ch channel.Ref, limit int) ([]channel.OutboxItem, error) {
	items, err := s.queryOutboxItems(ctx, ch, `
SELECT `+outboxItemColumns+`
FROM outbox o JOIN papers p ON p.id = o.paper
WHERE o.chan = `+chanNumSQL+` AND o.state = 'failed'
ORDER BY o.failed_at DESC, o.id DESC LIMIT ?3`, ch.Platform, ch.ID, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("set-aside rows of %s: %w", ch, err)
	}
	return items, nil
}

// RequeueFailed makes ch's set-aside rows pending again, their attempts and rejections reset, and returns how
// many it re-queued.
func (s *Store) RequeueFailed(ctx context.Context, ch channel.Ref) (int, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE outbox SET `+requeueSet+` WHERE chan = `+chanNumSQL+` AND state = 'failed'`,
		ch.Platform, ch.ID)
	if err != nil {
		return 0, fmt.Errorf("re-queue set-aside rows of %s: %w", ch, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("re-queue set-aside rows of %s: %w", ch, err)
	}
	return int(n), nil
}

// requeueSet is what re-queuing a set-aside row sets: pending, as if new, but keeping its creation time (its place
// in a digest's schedule) and its matched terms.
// It leaves the digest batch it was in: a batch with an unsent row is a digest a crash interrupted, which the
// sender would resend as it was (old title, old nonce, at once) rather than post the row as new.
const requeueSet = `state = 'pending', attempts = 0, rejections = 0, retry_at = NULL, failed_at = NULL, last_error = '',
	batch_id = NULL, sending_at = NULL`
