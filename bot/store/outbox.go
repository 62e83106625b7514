package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// outboxMigration adds the outbox: one row per (channel, paper), ever. The UNIQUE constraint is the
// once-per-channel rule; a row is marked sent only after the platform accepted the message, so a crash can at
// worst repeat the one send that was in flight.
const outboxMigration = `
CREATE TABLE outbox (
	id          INTEGER PRIMARY KEY,
	platform    TEXT    NOT NULL,
	channel_id  TEXT    NOT NULL,
	paper_key   TEXT    NOT NULL REFERENCES papers(key),
	matched     TEXT    NOT NULL DEFAULT '[]',
	kind        TEXT    NOT NULL DEFAULT 'match' CHECK (kind IN ('match', 'backfill')),
	state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'overflow', 'sent', 'failed')),
	created_at  INTEGER NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT    NOT NULL DEFAULT '',
	message_id  TEXT    NOT NULL DEFAULT '',
	sent_at     INTEGER,
	UNIQUE (platform, channel_id, paper_key)
);
CREATE INDEX outbox_unsent ON outbox(platform, channel_id) WHERE state IN ('pending', 'overflow');
CREATE INDEX outbox_sent_at ON outbox(platform, channel_id, sent_at) WHERE state = 'sent';

ALTER TABLE channels ADD COLUMN blocked TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN blocked_at INTEGER;
ALTER TABLE channels ADD COLUMN last_digest_at INTEGER;
`

// insertOutboxSQL inserts rows from a JSON array of {p, c, k, m}; ?2 is the kind, ?3 created_at. Channels are
// created as needed (routes come from subscriptions, whose channels exist, but backfill may be the first).
const insertOutboxSQL = `
INSERT INTO outbox (platform, channel_id, paper_key, matched, kind, created_at)
SELECT json_extract(value, '$.p'), json_extract(value, '$.c'), json_extract(value, '$.k'),
	coalesce(json_extract(value, '$.m'), '[]'), ?2, ?3
FROM json_each(?1) WHERE true
ON CONFLICT (platform, channel_id, paper_key) DO NOTHING`

// Enqueue adds rows of the given kind for ch, one per paper key with its matched terms, skipping papers the
// channel already has a row for, except rows that were set aside (failed): those are queued again as rows of kind,
// their attempts reset. It returns how many rows it queued. Backfill uses it; ingestion routes through
// IngestAndRoute.
func (s *Store) Enqueue(ctx context.Context, ch channel.Ref, kind string, matched map[string][]string, at time.Time) (int, error) {
	type row struct {
		Platform string   `json:"p"`
		Channel  string   `json:"c"`
		Key      string   `json:"k"`
		Matched  []string `json:"m"`
	}
	rows := make([]row, 0, len(matched))
	for key, m := range matched {
		rows = append(rows, row{Platform: ch.Platform, Channel: ch.ID, Key: key, Matched: m})
	}
	if len(rows) == 0 {
		return 0, nil
	}
	data, err := json.Marshal(rows)
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	var n int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := ensureChannel(ctx, tx, ch, at); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET `+requeueSet+`, kind = ?2, created_at = ?3
			WHERE state = 'failed' AND platform = ?4 AND channel_id = ?5
			AND paper_key IN (SELECT json_extract(value, '$.k') FROM json_each(?1))`, string(data), kind, at.UnixNano(), ch.Platform, ch.ID)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, insertOutboxSQL, string(data), kind, at.UnixNano())
		if err != nil {
			return err
		}
		added, err := res.RowsAffected()
		n += added
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue %s rows for %s: %w", kind, ch, err)
	}
	return int(n), nil
}

// Work lists the channels that have unsent rows. Rows waiting for a retry after a rejection are counted apart
// (Retry, NextRetry), not as pending, overflow or backfill rows.
func (s *Store) Work(ctx context.Context) ([]channel.Work, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT o.platform, o.channel_id,
	coalesce(c.mode, 'instant'), coalesce(c.digest_at, ''), coalesce(c.digest_tz, ''), coalesce(c.blocked, ''), c.last_digest_at,
	sum(o.state = 'pending' AND o.kind = 'match' AND o.retry_at IS NULL), sum(o.state = 'overflow' AND o.retry_at IS NULL),
	sum(o.kind = 'backfill' AND o.retry_at IS NULL), min(CASE WHEN o.kind = 'match' AND o.retry_at IS NULL THEN o.created_at END),
	sum(o.retry_at IS NOT NULL), min(o.retry_at)
FROM outbox o LEFT JOIN channels c ON c.platform = o.platform AND c.id = o.channel_id
WHERE o.state IN ('pending', 'overflow')
GROUP BY o.platform, o.channel_id`)
	if err != nil {
		return nil, fmt.Errorf("list outbox work: %w", err)
	}
	defer rows.Close()
	var out []channel.Work
	for rows.Next() {
		var w channel.Work
		var last, oldest, retry sql.NullInt64
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

// Unsent returns up to limit (all if <= 0) unsent rows of ch of the given kind and states, oldest paper first
// (papers.id is published order). Rows waiting for a retry after a rejection are not listed: Retries hands them
// out when they are due.
func (s *Store) Unsent(ctx context.Context, ch channel.Ref, kind string, states []string, limit int) ([]channel.OutboxItem, error) {
	st, err := json.Marshal(states)
	if err != nil {
		return nil, err
	}
	items, err := s.queryOutboxItems(ctx, ch, `
SELECT `+outboxItemColumns+`
FROM outbox o JOIN papers p ON p.key = o.paper_key
WHERE o.platform = ?1 AND o.channel_id = ?2 AND o.kind = ?3 AND o.state IN (SELECT value FROM json_each(?4))
	AND o.retry_at IS NULL
ORDER BY p.id, o.id LIMIT ?5`, ch.Platform, ch.ID, kind, string(st), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("unsent rows of %s: %w", ch, err)
	}
	return items, nil
}

// MarkSent records that rows ids were posted as message messageID.
func (s *Store) MarkSent(ctx context.Context, ids []int64, messageID string, at time.Time) error {
	return s.updateRows(ctx, ids, `UPDATE outbox SET state = 'sent', message_id = ?2, sent_at = ?3, last_error = '', retry_at = NULL
		WHERE id IN (SELECT value FROM json_each(?1))`, messageID, at.UnixNano())
}

// MarkFailed sets rows ids aside at at after the platform rejected their message for the last time.
func (s *Store) MarkFailed(ctx context.Context, ids []int64, sendErr error, at time.Time) error {
	return s.updateRows(ctx, ids, `UPDATE outbox SET state = 'failed', attempts = attempts + 1, rejections = rejections + 1,
		last_error = ?2, retry_at = NULL, failed_at = ?3 WHERE id IN (SELECT value FROM json_each(?1))`, errorText(sendErr), at.UnixNano())
}

// MarkOverflow moves pending rows ids to the channel's next digest.
func (s *Store) MarkOverflow(ctx context.Context, ids []int64) error {
	return s.updateRows(ctx, ids, `UPDATE outbox SET state = 'overflow' WHERE state = 'pending' AND id IN (SELECT value FROM json_each(?1))`)
}

// RecordAttempt notes a failed send of rows ids.
func (s *Store) RecordAttempt(ctx context.Context, ids []int64, sendErr error) error {
	return s.updateRows(ctx, ids, `UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id IN (SELECT value FROM json_each(?1))`, errorText(sendErr))
}

func (s *Store) updateRows(ctx context.Context, ids []int64, query string, args ...any) error {
	if len(ids) == 0 {
		return nil
	}
	data, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, query, append([]any{string(data)}, args...)...)
	if err = s.wrote(ctx, err); err != nil {
		return fmt.Errorf("update outbox rows: %w", err)
	}
	return nil
}

// MessagesSince counts the distinct messages posted to ch at or after since (a digest is one message).
func (s *Store) MessagesSince(ctx context.Context, ch channel.Ref, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(DISTINCT message_id) FROM outbox
		WHERE platform = ? AND channel_id = ? AND state = 'sent' AND sent_at >= ?`, ch.Platform, ch.ID, since.UnixNano()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("messages to %s since %s: %w", ch, since, err)
	}
	return n, nil
}

// SetLastDigest records when ch's last digest went out (or, the first time, when its digest clock started).
func (s *Store) SetLastDigest(ctx context.Context, ch channel.Ref, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO channels (platform, id, created_at, last_digest_at) VALUES (?1, ?2, ?3, ?3)
		ON CONFLICT (platform, id) DO UPDATE SET last_digest_at = excluded.last_digest_at`, ch.Platform, ch.ID, at.UnixNano())
	if err != nil {
		return fmt.Errorf("set last digest of %s: %w", ch, err)
	}
	return nil
}

// BlockChannel stops delivery to ch after a permanent platform error (reason is shown in status); "" unblocks.
// The channel's rows are kept, so nothing is lost if it comes back.
func (s *Store) BlockChannel(ctx context.Context, ch channel.Ref, reason string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO channels (platform, id, created_at, blocked, blocked_at) VALUES (?1, ?2, ?3, ?4, ?3)
		ON CONFLICT (platform, id) DO UPDATE SET blocked = excluded.blocked, blocked_at = excluded.blocked_at`,
		ch.Platform, ch.ID, at.UnixNano(), reason)
	if err != nil {
		return fmt.Errorf("block channel %s: %w", ch, err)
	}
	return nil
}

// OutboxDepth counts unsent rows.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE state IN ('pending', 'overflow')`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox depth: %w", err)
	}
	return n, nil
}
