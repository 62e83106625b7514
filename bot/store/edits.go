package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// editsMigration queues edits of posted cards: one row per (channel, paper) whose card changed
// after it was posted. The table is apart from the outbox: it only names the card, and the message id is read
// from the outbox when the edit is sent (postedMessage), so the outbox's layout is not its concern.
//
// state is 'pending' until the edit is sent (then the row is deleted), or 'gone' when the message was deleted
// on the platform: the card is forgotten, and later changes of its paper queue nothing for that channel. rev
// counts the changes folded into a pending edit; the sender deletes the row only if rev is still the one it
// rendered, so a change arriving during a send is not lost. retry_at holds an edit back after a 429.
const editsMigration = `
CREATE TABLE edits (
	platform   TEXT    NOT NULL,
	channel_id TEXT    NOT NULL,
	paper_key  TEXT    NOT NULL REFERENCES papers(key),
	state      TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'gone')),
	rev        INTEGER NOT NULL DEFAULT 1,
	created_at INTEGER NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT    NOT NULL DEFAULT '',
	retry_at   INTEGER,
	PRIMARY KEY (platform, channel_id, paper_key)
) WITHOUT ROWID;
CREATE INDEX edits_pending ON edits(platform, channel_id) WHERE state = 'pending';
`

// The two statements below are the only ones of this file that read the outbox. A posted card is a row sent on
// its own (not in a digest batch) whose message id the platform gave.

// queueEditsSQL queues an edit of every posted card of the papers in ?1 (a JSON array of keys), or folds the
// change into the card's pending edit. For each key the paper is found by its key, the outbox's channels are
// walked (there are few) and the outbox is probed through its (chan, paper) key. CROSS JOIN fixes that order;
// left to itself SQLite scans every sent row through outbox_sent_at, which made a poll of 500 new versions 200
// times slower (BenchmarkIngestEdits).
const queueEditsSQL = `
INSERT INTO edits (platform, channel_id, paper_key, created_at)
SELECT c.platform, c.channel_id, p.key, ?2
FROM json_each(?1) AS k CROSS JOIN papers p CROSS JOIN outbox_channels c CROSS JOIN outbox o
WHERE p.key = k.value AND o.chan = c.num AND o.paper = p.id
	AND o.state = 'sent' AND o.batch_id IS NULL AND o.message_id <> ''
ON CONFLICT (platform, channel_id, paper_key) DO UPDATE SET rev = rev + 1 WHERE state = 'pending'`

// postedMessageSQL is the message id of the card of paper ?3 posted to channel (?1, ?2).
const postedMessageSQL = `
SELECT o.message_id, o.matched FROM outbox o
WHERE o.chan = ` + chanNumSQL + ` AND o.paper = (SELECT id FROM papers WHERE key = ?3)
	AND o.state = 'sent' AND o.batch_id IS NULL AND o.message_id <> ''`

// queueCardEditSQL queues an edit of the card of paper ?3 posted to channel (?1, ?2), due at ?5, or folds the
// change into its pending edit (keeping that one's due time, so that a stream of changes cannot hold it back).
// Nothing is queued for a card that was not posted on its own or whose message is gone.
const queueCardEditSQL = `
INSERT INTO edits (platform, channel_id, paper_key, created_at, retry_at)
SELECT ?1, ?2, p.key, ?4, ?5
FROM papers p CROSS JOIN outbox o
WHERE p.key = ?3 AND o.chan = ` + chanNumSQL + ` AND o.paper = p.id
	AND o.state = 'sent' AND o.batch_id IS NULL AND o.message_id <> ''
ON CONFLICT (platform, channel_id, paper_key) DO UPDATE SET rev = rev + 1 WHERE state = 'pending'`

// cardCountsSQL is the channel's votes on a paper, as its card shows them.
const cardCountsSQL = `SELECT count(*) FILTER (WHERE vote > 0), count(*) FILTER (WHERE vote < 0)
FROM votes WHERE platform = ?1 AND channel_id = ?2 AND paper_key = ?3`

// QueueCardEdit queues an edit of the card of paperKey posted to ch, due at due (the end of a coalescing
// window), or folds it into the card's pending edit. It reports false when there is no card to edit: the paper
// was not posted to ch on its own (a digest, a command's reply), or its message is gone.
func (s *Store) QueueCardEdit(ctx context.Context, ch channel.Ref, paperKey string, at, due time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, queueCardEditSQL, ch.Platform, ch.ID, paperKey, at.UnixNano(), due.UnixNano())
	if err = s.wrote(ctx, err); err != nil {
		return false, fmt.Errorf("queue card edit of %s in %s: %w", paperKey, ch, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("queue card edit of %s in %s: %w", paperKey, ch, err)
	}
	return n > 0, nil
}

// SetCardEdits turns the queueing of card edits in Ingest on or off ([delivery] edits). Off by default.
func (s *Store) SetCardEdits(on bool) { s.edits.Store(on) }

// queueEdits queues edits of the posted cards of keys in the ingest transaction and returns how many it queued or
// folded into a pending one.
func queueEdits(ctx context.Context, tx *sql.Tx, keys []string, at time.Time) (int, error) {
	data, err := json.Marshal(keys)
	if err != nil {
		return 0, fmt.Errorf("queue card edits: %w", err)
	}
	res, err := tx.ExecContext(ctx, queueEditsSQL, string(data), at.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("queue card edits: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// postedMessage returns the platform's id of the card of paperKey posted to ch ("" when there is none) and the
// matched terms it shows.
func (s *Store) postedMessage(ctx context.Context, ch channel.Ref, paperKey string) (string, []string, error) {
	var id, matched string
	err := s.r.QueryRowContext(ctx, postedMessageSQL, ch.Platform, ch.ID, paperKey).Scan(&id, &matched)
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := s.r.QueryContext(ctx, `
SELECT e.platform, e.channel_id, count(*), coalesce(max(c.blocked), '')
FROM edits e LEFT JOIN channels c ON c.platform = e.platform AND c.id = e.channel_id
WHERE e.state = 'pending' AND (e.retry_at IS NULL OR e.retry_at <= ?1)
GROUP BY e.platform, e.channel_id`, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("list card edits: %w", err)
	}
	defer rows.Close()
	var out []channel.EditWork
	for rows.Next() {
		var w channel.EditWork
		if err := rows.Scan(&w.Ref.Platform, &w.Ref.ID, &w.Edits, &w.Blocked); err != nil {
			return nil, fmt.Errorf("list card edits: %w", err)
		}
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
	rows, err := s.r.QueryContext(ctx, `
SELECT e.rev, e.attempts, e.created_at, p.key, p.title, p.abstract, p.data
FROM edits e JOIN papers p ON p.key = e.paper_key
WHERE e.platform = ?1 AND e.channel_id = ?2 AND e.state = 'pending' AND (e.retry_at IS NULL OR e.retry_at <= ?3)
ORDER BY e.created_at, e.paper_key LIMIT ?4`, ch.Platform, ch.ID, now.UnixNano(), sqlLimit(limit))
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
			if err := rows.Scan(&e.Rev, &e.Attempts, &created, &key, &title, &abstract, &data); err != nil {
				return err
			}
			if e.Paper, err = decodePaper(key, title, abstract, data); err != nil {
				return err
			}
			e.CreatedAt = time.Unix(0, created)
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
		if err := s.r.QueryRowContext(ctx, cardCountsSQL, ch.Platform, ch.ID, e.Paper.Key).Scan(&e.Up, &e.Down); err != nil {
			return nil, fmt.Errorf("votes on the card of %s in %s: %w", e.Paper.Key, ch, err)
		}
		kept = append(kept, e)
	}
	return kept, nil
}

// EditDone records that the edit of paperKey's card in ch was sent as of change rev: the edit is done, unless a
// change arrived meanwhile (its rev moved on), in which case it stays pending and is sent again.
func (s *Store) EditDone(ctx context.Context, ch channel.Ref, paperKey string, rev int64) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM edits WHERE platform = ?1 AND channel_id = ?2 AND paper_key = ?3
		AND state = 'pending' AND rev = ?4`, ch.Platform, ch.ID, paperKey, rev)
	if err = s.wrote(ctx, err); err != nil {
		return fmt.Errorf("record card edit of %s in %s: %w", paperKey, ch, err)
	}
	return nil
}

// EditFailed records a failed send of the edit of paperKey's card in ch; a non-zero retryAt holds it back until
// then (a 429).
func (s *Store) EditFailed(ctx context.Context, ch channel.Ref, paperKey string, sendErr error, retryAt time.Time) error {
	var retry any
	if !retryAt.IsZero() {
		retry = retryAt.UnixNano()
	}
	_, err := s.w.ExecContext(ctx, `UPDATE edits SET attempts = attempts + 1, last_error = ?4, retry_at = ?5
		WHERE platform = ?1 AND channel_id = ?2 AND paper_key = ?3 AND state = 'pending'`,
		ch.Platform, ch.ID, paperKey, errorText(sendErr), retry)
	if err = s.wrote(ctx, err); err != nil {
		return fmt.Errorf("record failed card edit of %s in %s: %w", paperKey, ch, err)
	}
	return nil
}

// ForgetCard stops editing paperKey's card in ch for good (the message was deleted): its pending edit is dropped
// and later changes of the paper queue none. The card is never posted again (its outbox row stays sent).
func (s *Store) ForgetCard(ctx context.Context, ch channel.Ref, paperKey string, reason error, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO edits (platform, channel_id, paper_key, state, created_at, last_error)
		VALUES (?1, ?2, ?3, 'gone', ?4, ?5)
		ON CONFLICT (platform, channel_id, paper_key) DO UPDATE SET state = 'gone', last_error = excluded.last_error, retry_at = NULL`,
		ch.Platform, ch.ID, paperKey, at.UnixNano(), errorText(reason))
	if err = s.wrote(ctx, err); err != nil {
		return fmt.Errorf("forget card of %s in %s: %w", paperKey, ch, err)
	}
	return nil
}
