package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// outboxMigration (released; leanOutboxMigration replaced its table) adds the outbox: one row per (channel, paper), ever. The UNIQUE constraint is the
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

// Enqueue adds rows of the given kind for ch, one per paper key with its matched terms, skipping papers the
// channel already has a row for or was posted (and pruned), except rows that were set aside (failed): those are
// queued again as rows of kind, their attempts reset. It returns how many rows it queued. Backfill uses it;
// ingestion routes through IngestAndRoute.
func (s *Store) Enqueue(ctx context.Context, ch channel.Ref, kind string, matched map[string][]string, at time.Time) (int, error) {
	if len(matched) == 0 {
		return 0, nil
	}
	keys := make([]string, 0, len(matched))
	for key := range matched {
		keys = append(keys, key)
	}
	keysJSON, err := json.Marshal(keys)
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	var n int
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := ensureChannel(ctx, tx, ch, at); err != nil {
			return err
		}
		num, err := channelNum(ctx, tx, ch)
		if err != nil {
			return err
		}
		ids, err := paperIDs(ctx, tx, keysJSON)
		if err != nil {
			return err
		}
		rows := make([]leanRow, 0, len(matched))
		for key, m := range matched {
			id, ok := ids[key]
			if !ok {
				return fmt.Errorf("paper %s is not stored", key)
			}
			js, err := matchedJSON(m)
			if err != nil {
				return err
			}
			rows = append(rows, leanRow{num: num, paper: id, matched: js})
		}
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET `+requeueSet+`, kind = ?2, created_at = ?3
			WHERE chan = ?4 AND state = 'failed'
			AND paper IN (SELECT p.id FROM papers p WHERE p.key IN (SELECT value FROM json_each(?1)))`, string(keysJSON), kind, at.UnixNano(), num)
		if err != nil {
			return err
		}
		requeued, err := res.RowsAffected()
		if err != nil {
			return err
		}
		added, err := insertLean(ctx, tx, rows, kind, at)
		n = int(requeued) + added
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue %s rows for %s: %w", kind, ch, err)
	}
	return n, nil
}

// paperIDs maps the stored papers among keys (a JSON array) to their ids.
func paperIDs(ctx context.Context, tx *sql.Tx, keysJSON []byte) (map[string]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT key, id FROM papers WHERE key IN (SELECT value FROM json_each(?))`, string(keysJSON))
	if err != nil {
		return nil, fmt.Errorf("paper ids: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int64)
	for rows.Next() {
		var key string
		var id int64
		if err := rows.Scan(&key, &id); err != nil {
			return nil, fmt.Errorf("paper ids: %w", err)
		}
		out[key] = id
	}
	return out, rows.Err()
}

// Work lists the channels that have unsent rows. Rows waiting for a retry after a rejection are counted apart
// (Retry, NextRetry), not as pending, overflow or backfill rows. It reads outbox_work, the per-channel summary
// kept with the rows, so its cost grows with the channels, not with the backlog.
func (s *Store) Work(ctx context.Context) ([]channel.Work, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT n.platform, n.channel_id,
	coalesce(c.mode, 'instant'), coalesce(c.digest_at, ''), coalesce(c.digest_tz, ''), coalesce(c.blocked, ''), c.last_digest_at,
	w.pending, w.overflow, w.backfill, w.oldest, w.retry,
	CASE WHEN w.retry > 0 THEN (SELECT min(retry_at) FROM outbox INDEXED BY outbox_key
		WHERE chan = w.chan AND paper >= w.low AND state IN ('pending', 'overflow') AND retry_at IS NOT NULL) END
FROM outbox_work w
JOIN outbox_channels n ON n.num = w.chan
LEFT JOIN channels c ON c.platform = n.platform AND c.id = n.channel_id
WHERE w.total > 0
ORDER BY n.platform, n.channel_id`)
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
// out when they are due. The rows come in outbox_key's order, (channel, paper), from the channel's low-water mark
// on: the first limit rows of the channel's unsent set are read, not the whole set sorted.
func (s *Store) Unsent(ctx context.Context, ch channel.Ref, kind string, states []string, limit int) ([]channel.OutboxItem, error) {
	st, err := json.Marshal(states)
	if err != nil {
		return nil, err
	}
	// Unsent states are read from the channel's low-water mark on; other states (failed) from its whole range.
	from := `outbox o INDEXED BY outbox_key JOIN papers p ON p.id = o.paper
WHERE ` + unsentFrom(chanNumSQL) + ` AND`
	for _, state := range states {
		if state != channel.StatePending && state != channel.StateOverflow {
			from = `outbox o JOIN papers p ON p.id = o.paper WHERE o.chan = ` + chanNumSQL + ` AND`
		}
	}
	items, err := s.queryOutboxItems(ctx, ch, `
SELECT `+outboxItemColumns+` FROM `+from+` o.kind = ?3
	AND o.state IN (SELECT value FROM json_each(?4)) AND o.retry_at IS NULL
ORDER BY o.paper LIMIT ?5`, ch.Platform, ch.ID, kind, string(st), sqlLimit(limit))
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
	st, err := s.writes.get(ctx, s.w, query)
	if err == nil {
		_, err = st.ExecContext(ctx, append([]any{string(data)}, args...)...)
	}
	if err = s.wrote(ctx, err); err != nil {
		return fmt.Errorf("update outbox rows: %w", err)
	}
	return nil
}

// MessagesSince counts the distinct messages posted to ch at or after since (a digest is one message).
func (s *Store) MessagesSince(ctx context.Context, ch channel.Ref, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(DISTINCT message_id) FROM outbox
		WHERE chan = `+chanNumSQL+` AND state = 'sent' AND sent_at >= ?3`, ch.Platform, ch.ID, since.UnixNano()).Scan(&n)
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
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(sum(total), 0) FROM outbox_work`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox depth: %w", err)
	}
	return n, nil
}
