package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// editsV7 queues edits of posted cards, as the SQLite store's editsMigration: one row per
// (channel, paper) whose card changed after it was posted, apart from the outbox (the message id is read from the
// outbox when the edit is sent, by postedMessage). state 'gone' remembers a card whose message was deleted; rev
// counts the changes folded into a pending edit; retry_at holds an edit back after a 429.
const editsV7 = `
CREATE TABLE edits (
	platform   text    COLLATE "C" NOT NULL,
	channel_id text    COLLATE "C" NOT NULL,
	paper_key  text    COLLATE "C" NOT NULL REFERENCES papers (key),
	state      text    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'gone')),
	rev        bigint  NOT NULL DEFAULT 1,
	created_at bigint  NOT NULL,
	attempts   integer NOT NULL DEFAULT 0,
	last_error text    NOT NULL DEFAULT '',
	retry_at   bigint,
	PRIMARY KEY (platform, channel_id, paper_key)
);
CREATE INDEX edits_pending ON edits (platform, channel_id) WHERE state = 'pending';
`

// The two statements below are the only ones of this file that read the outbox. A posted card is a row sent on
// its own (not in a digest batch) whose message id the platform gave.

// queueEditsSQL queues an edit of every posted card of the papers $1, or folds the change into the card's pending
// edit. Rows go in key order, so that two ingests folding into the same edits cannot deadlock.
const queueEditsSQL = `
INSERT INTO edits AS e (platform, channel_id, paper_key, created_at)
SELECT o.platform, o.channel_id, o.paper_key, $2
FROM channels c CROSS JOIN unnest($1::text[]) AS k(key)
	JOIN outbox o ON o.platform = c.platform AND o.channel_id = c.id AND o.paper_key = k.key
WHERE o.state = 'sent' AND o.batch_id IS NULL AND o.message_id <> ''
ORDER BY o.platform, o.channel_id, o.paper_key
ON CONFLICT (platform, channel_id, paper_key) DO UPDATE SET rev = e.rev + 1 WHERE e.state = 'pending'`

// postedMessageSQL is the message id of the card of paper $3 posted to channel ($1, $2).
const postedMessageSQL = `
SELECT message_id, matched::text FROM outbox
WHERE platform = $1 AND channel_id = $2 AND paper_key = $3 AND state = 'sent' AND batch_id IS NULL AND message_id <> ''`

// queueCardEditSQL queues an edit of the card of paper $3 posted to channel ($1, $2), due at $5, or folds the
// change into its pending edit (keeping that one's due time), as the SQLite store's.
const queueCardEditSQL = `
INSERT INTO edits AS e (platform, channel_id, paper_key, created_at, retry_at)
SELECT o.platform, o.channel_id, o.paper_key, $4, $5 FROM outbox o
WHERE o.platform = $1 AND o.channel_id = $2 AND o.paper_key = $3
	AND o.state = 'sent' AND o.batch_id IS NULL AND o.message_id <> ''
ON CONFLICT (platform, channel_id, paper_key) DO UPDATE SET rev = e.rev + 1 WHERE e.state = 'pending'`

// cardCountsSQL is the channel's votes on a paper, as its card shows them.
const cardCountsSQL = `SELECT count(*) FILTER (WHERE vote > 0), count(*) FILTER (WHERE vote < 0)
FROM votes WHERE platform = $1 AND channel_id = $2 AND paper_key = $3`

// QueueCardEdit queues an edit of the card of paperKey posted to ch, due at due (the end of a coalescing
// window), or folds it into the card's pending edit. It reports false when there is no card to edit: the paper
// was not posted to ch on its own (a digest, a command's reply), or its message is gone.
func (s *Store) QueueCardEdit(ctx context.Context, ch channel.Ref, paperKey string, at, due time.Time) (bool, error) {
	ct, err := s.pool.Exec(ctx, queueCardEditSQL, ch.Platform, ch.ID, paperKey, at.UnixNano(), due.UnixNano())
	if err != nil {
		return false, fmt.Errorf("queue card edit of %s in %s: %w", paperKey, ch, err)
	}
	return ct.RowsAffected() > 0, nil
}

// SetCardEdits turns the queueing of card edits in Ingest on or off ([delivery] edits). Off by default.
func (s *Store) SetCardEdits(on bool) { s.edits.Store(on) }

// queueEdits queues, in the ingest batch, edits of the posted cards of keys; *n receives how many it queued or
// folded into pending ones.
func queueEdits(b *pgx.Batch, keys []string, at time.Time, n *int) {
	b.Queue(queueEditsSQL, keys, at.UnixNano()).Exec(func(ct pgconn.CommandTag) error {
		*n = int(ct.RowsAffected())
		return nil
	})
}

// postedMessage returns the platform's id of the card of paperKey posted to ch ("" when there is none) and the
// matched terms it shows.
func (s *Store) postedMessage(ctx context.Context, ch channel.Ref, paperKey string) (string, []string, error) {
	var id, matched string
	err := s.pool.QueryRow(ctx, postedMessageSQL, ch.Platform, ch.ID, paperKey).Scan(&id, &matched)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("posted message of %s in %s: %w", paperKey, ch, err)
	}
	var terms []string
	if err := json.Unmarshal([]byte(matched), &terms); err != nil {
		return "", nil, fmt.Errorf("posted message of %s in %s: matched: %w", paperKey, ch, err)
	}
	return id, terms, nil
}

// EditWork lists the channels with edits due at now.
func (s *Store) EditWork(ctx context.Context, now time.Time) ([]channel.EditWork, error) {
	rows, err := s.pool.Query(ctx, `
SELECT e.platform, e.channel_id, count(*), coalesce(max(c.blocked), '')
FROM edits e LEFT JOIN channels c ON c.platform = e.platform AND c.id = e.channel_id
WHERE e.state = 'pending' AND (e.retry_at IS NULL OR e.retry_at <= $1)
GROUP BY e.platform, e.channel_id`, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("list card edits: %w", err)
	}
	defer rows.Close()
	var out []channel.EditWork
	for rows.Next() {
		var w channel.EditWork
		var n int64
		if err := rows.Scan(&w.Ref.Platform, &w.Ref.ID, &n, &w.Blocked); err != nil {
			return nil, fmt.Errorf("list card edits: %w", err)
		}
		w.Edits = int(n)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list card edits: %w", err)
	}
	return out, nil
}

// Edits returns up to limit (all if <= 0) edits of ch due at now, oldest first, each with the paper as stored now
// and the id of the posted card. An edit whose card cannot be found any more is forgotten.
func (s *Store) Edits(ctx context.Context, ch channel.Ref, now time.Time, limit int) ([]channel.Edit, error) {
	rows, err := s.pool.Query(ctx, `
SELECT e.rev, e.attempts, e.created_at, p.key, p.title, p.abstract, p.data
FROM edits e JOIN papers p ON p.key = e.paper_key
WHERE e.platform = $1 AND e.channel_id = $2 AND e.state = 'pending' AND (e.retry_at IS NULL OR e.retry_at <= $3)
ORDER BY e.created_at, e.paper_key LIMIT $4`, ch.Platform, ch.ID, now.UnixNano(), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("card edits of %s: %w", ch, err)
	}
	var out []channel.Edit
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			e := channel.Edit{Channel: ch}
			var key, title, abstract string
			var data []byte
			var created int64
			var attempts int32
			if err := rows.Scan(&e.Rev, &attempts, &created, &key, &title, &abstract, &data); err != nil {
				return err
			}
			if e.Paper, err = decodePaper(key, title, abstract, data); err != nil {
				return err
			}
			e.Attempts, e.CreatedAt = int(attempts), time.Unix(0, created)
			out = append(out, e)
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("card edits of %s: %w", ch, err)
	}
	kept := out[:0]
	for _, e := range out {
		if e.MessageID, e.Matched, err = s.postedMessage(ctx, ch, e.Paper.Key); err != nil {
			return nil, err
		}
		if e.MessageID == "" {
			if err := s.ForgetCard(ctx, ch, e.Paper.Key, errors.New("no posted card"), now); err != nil {
				return nil, err
			}
			continue
		}
		var up, down int64
		if err := s.pool.QueryRow(ctx, cardCountsSQL, ch.Platform, ch.ID, e.Paper.Key).Scan(&up, &down); err != nil {
			return nil, fmt.Errorf("votes on the card of %s in %s: %w", e.Paper.Key, ch, err)
		}
		e.Up, e.Down = int(up), int(down)
		kept = append(kept, e)
	}
	return kept, nil
}

// EditDone records that the edit of paperKey's card in ch was sent as of change rev: the edit is done, unless a
// change arrived meanwhile (its rev moved on), in which case it stays pending and is sent again.
func (s *Store) EditDone(ctx context.Context, ch channel.Ref, paperKey string, rev int64) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM edits WHERE platform = $1 AND channel_id = $2 AND paper_key = $3
		AND state = 'pending' AND rev = $4`, ch.Platform, ch.ID, paperKey, rev); err != nil {
		return fmt.Errorf("record card edit of %s in %s: %w", paperKey, ch, err)
	}
	return nil
}

// EditFailed records a failed send of the edit of paperKey's card in ch; a non-zero retryAt holds it back until
// then (a 429).
func (s *Store) EditFailed(ctx context.Context, ch channel.Ref, paperKey string, sendErr error, retryAt time.Time) error {
	var retry *int64
	if !retryAt.IsZero() {
		v := retryAt.UnixNano()
		retry = &v
	}
	if _, err := s.pool.Exec(ctx, `UPDATE edits SET attempts = attempts + 1, last_error = $4, retry_at = $5
		WHERE platform = $1 AND channel_id = $2 AND paper_key = $3 AND state = 'pending'`,
		ch.Platform, ch.ID, paperKey, errorText(sendErr), retry); err != nil {
		return fmt.Errorf("record failed card edit of %s in %s: %w", paperKey, ch, err)
	}
	return nil
}

// ForgetCard stops editing paperKey's card in ch for good (the message was deleted): its pending edit is dropped
// and later changes of the paper queue none. The card is never posted again (its outbox row stays sent).
func (s *Store) ForgetCard(ctx context.Context, ch channel.Ref, paperKey string, reason error, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO edits AS e (platform, channel_id, paper_key, state, created_at, last_error)
		VALUES ($1, $2, $3, 'gone', $4, $5)
		ON CONFLICT (platform, channel_id, paper_key) DO UPDATE SET state = 'gone', last_error = excluded.last_error, retry_at = NULL`,
		ch.Platform, ch.ID, paperKey, at.UnixNano(), errorText(reason)); err != nil {
		return fmt.Errorf("forget card of %s in %s: %w", paperKey, ch, err)
	}
	return nil
}
