package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// leanOutboxMigration rebuilds the outbox for writing speed. The old table keyed a row
// by three text columns (platform, channel id, paper key) under a UNIQUE index, checked a foreign key per row and
// kept four partial indexes, and a poll wrote its rows with JSON extraction: 91% of a routed poll's time went there.
//
// Now a channel is a small integer (outbox_channels.num) and a paper its papers.id, so the once-ever key is two
// integers, written in (channel, paper) order, which is also the order delivery reads them (papers.id is
// published order). Rows keep their ids: delivery, digest batches and nonces refer to them.
//
//   - outbox_key is the once-ever rule for rows still in the table;
//   - outbox_unsent covers everything Work and Unsent read of an unsent row, so both are index-only scans of
//     unsent rows that need no sort (Unsent reads a channel's first rows in paper order: a keyset on the key);
//   - outbox_sent_at serves the hourly budget (MessagesSince) and pruning; rows enter it when sent, not on insert;
//   - outbox_open_batches holds only rows of a digest being sent, so it is empty but for a crash's leftovers.
//
// Migration 15 (outboxlow.go) drops outbox_unsent: readers start at a per-channel low-water mark instead.
//
// outbox_posted is what pruning keeps of a sent row older than [delivery] keep_sent: the (channel, paper) pair,
// so that a paper is still announced once ever in a channel.
const leanOutboxMigration = `
CREATE TABLE outbox_channels (
	num        INTEGER PRIMARY KEY,
	platform   TEXT    NOT NULL,
	channel_id TEXT    NOT NULL,
	UNIQUE (platform, channel_id)
);
INSERT INTO outbox_channels (platform, channel_id) SELECT DISTINCT platform, channel_id FROM outbox ORDER BY 1, 2;

CREATE TABLE outbox_lean (
	id         INTEGER PRIMARY KEY,
	chan       INTEGER NOT NULL,
	paper      INTEGER NOT NULL,
	matched    TEXT    NOT NULL DEFAULT '[]',
	kind       TEXT    NOT NULL DEFAULT 'match' CHECK (kind IN ('match', 'backfill')),
	state      TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'overflow', 'sent', 'failed')),
	created_at INTEGER NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	last_error TEXT    NOT NULL DEFAULT '',
	message_id TEXT    NOT NULL DEFAULT '',
	sent_at    INTEGER,
	rejections INTEGER NOT NULL DEFAULT 0,
	retry_at   INTEGER,
	failed_at  INTEGER,
	batch_id   INTEGER,
	sending_at INTEGER
);
INSERT INTO outbox_lean (id, chan, paper, matched, kind, state, created_at, attempts, last_error, message_id, sent_at,
	rejections, retry_at, failed_at, batch_id, sending_at)
SELECT o.id, c.num, p.id, o.matched, o.kind, o.state, o.created_at, o.attempts, o.last_error, o.message_id, o.sent_at,
	o.rejections, o.retry_at, o.failed_at, o.batch_id, o.sending_at
FROM outbox o
JOIN outbox_channels c ON c.platform = o.platform AND c.channel_id = o.channel_id
JOIN papers p ON p.key = o.paper_key
ORDER BY c.num, p.id;
DROP TABLE outbox;
ALTER TABLE outbox_lean RENAME TO outbox;
CREATE UNIQUE INDEX outbox_key ON outbox(chan, paper);
CREATE INDEX outbox_unsent ON outbox(chan, paper, kind, state, retry_at, created_at) WHERE state IN ('pending', 'overflow');
CREATE INDEX outbox_sent_at ON outbox(chan, sent_at) WHERE state = 'sent';
CREATE INDEX outbox_open_batches ON outbox(batch_id) WHERE batch_id IS NOT NULL AND state IN ('pending', 'overflow');

CREATE TABLE outbox_posted (
	chan  INTEGER NOT NULL,
	paper INTEGER NOT NULL,
	PRIMARY KEY (chan, paper)
) WITHOUT ROWID;

CREATE TEMP TABLE IF NOT EXISTS outbox_work_scope (chan INTEGER PRIMARY KEY);
DELETE FROM outbox_work_scope;
INSERT INTO outbox_work_scope SELECT num FROM outbox_channels;
CREATE TABLE outbox_work (
	chan     INTEGER PRIMARY KEY,
	total    INTEGER NOT NULL DEFAULT 0,
	pending  INTEGER NOT NULL DEFAULT 0,
	overflow INTEGER NOT NULL DEFAULT 0,
	backfill INTEGER NOT NULL DEFAULT 0,
	retry    INTEGER NOT NULL DEFAULT 0,
	oldest   INTEGER,
	oldest_n INTEGER NOT NULL DEFAULT 0
);
` + outboxWorkTriggers12 + rebuildWorkSQL12

// outboxWorkTriggers12 are migration 12's triggers (migration 15 replaces them with outboxWorkTriggers); they keep outbox_work, the per-channel summary Work reads instead of grouping every unsent row on
// every dispatch (a million-row backlog drained 50 cards at a time would group it twenty thousand times):
//   - total counts a channel's unsent rows; pending, overflow, backfill and retry are channel.Work's counts;
//   - oldest is the creation time of its oldest waiting match row, and oldest_n how many rows share it: when
//     the last of them leaves, the trigger finds the next oldest with one pass over the channel's unsent rows,
//     once per poll's worth of rows rather than once per row.
//
// Inserts do not fire a trigger: insertLean adds each channel's inserted rows in one statement, so a poll's
// hundred thousand rows cost a thousand summary updates, not a hundred thousand. Every other way rows enter the
// outbox (a copy's load, this migration) rebuilds the summary of the channels it touched (rebuildWorkSQL12).
const outboxWorkTriggers12 = `
CREATE TRIGGER outbox_work_update AFTER UPDATE OF state, kind, retry_at, created_at ON outbox
	WHEN old.state IN ('pending', 'overflow') OR new.state IN ('pending', 'overflow')
BEGIN
	INSERT INTO outbox_work (chan) VALUES (new.chan) ON CONFLICT DO NOTHING;
	UPDATE outbox_work SET
		total = total - (old.state IN ('pending', 'overflow')) + (new.state IN ('pending', 'overflow')),
		pending = pending - (old.state = 'pending' AND old.kind = 'match' AND old.retry_at IS NULL)
			+ (new.state = 'pending' AND new.kind = 'match' AND new.retry_at IS NULL),
		overflow = overflow - (old.state = 'overflow' AND old.retry_at IS NULL) + (new.state = 'overflow' AND new.retry_at IS NULL),
		backfill = backfill - (old.state IN ('pending', 'overflow') AND old.kind = 'backfill' AND old.retry_at IS NULL)
			+ (new.state IN ('pending', 'overflow') AND new.kind = 'backfill' AND new.retry_at IS NULL),
		retry = retry - (old.state IN ('pending', 'overflow') AND old.retry_at IS NOT NULL)
			+ (new.state IN ('pending', 'overflow') AND new.retry_at IS NOT NULL)
	WHERE chan = new.chan;
	` + leaveOldest12 + `
	` + enterOldest12 + `
END;
CREATE TRIGGER outbox_work_delete AFTER DELETE ON outbox WHEN old.state IN ('pending', 'overflow')
BEGIN
	UPDATE outbox_work SET total = total - 1,
		pending = pending - (old.state = 'pending' AND old.kind = 'match' AND old.retry_at IS NULL),
		overflow = overflow - (old.state = 'overflow' AND old.retry_at IS NULL),
		backfill = backfill - (old.kind = 'backfill' AND old.retry_at IS NULL),
		retry = retry - (old.retry_at IS NOT NULL)
	WHERE chan = old.chan;
	` + leaveOldest12 + `
END;
`

// leaveOldest12 is migration 12's trigger step for a row that was counted in oldest: the count of rows at oldest drops, and
// the last one out finds the next oldest (and how many rows have it).
const leaveOldest12 = `UPDATE outbox_work SET oldest_n = oldest_n - 1
	WHERE chan = old.chan AND old.state IN ('pending', 'overflow') AND old.kind = 'match' AND old.retry_at IS NULL
		AND oldest = old.created_at;
	UPDATE outbox_work SET oldest = (SELECT min(created_at) FROM outbox INDEXED BY outbox_unsent
		WHERE chan = old.chan AND state IN ('pending', 'overflow') AND kind = 'match' AND retry_at IS NULL), oldest_n = -1
	WHERE chan = old.chan AND oldest_n = 0 AND oldest IS NOT NULL;
	UPDATE outbox_work SET oldest_n = (SELECT count(*) FROM outbox INDEXED BY outbox_unsent
		WHERE chan = old.chan AND state IN ('pending', 'overflow') AND kind = 'match' AND retry_at IS NULL
			AND created_at = outbox_work.oldest)
	WHERE chan = old.chan AND oldest_n = -1;`

// enterOldest12 is migration 12's trigger step for a row that is counted in oldest after the update.
const enterOldest12 = `UPDATE outbox_work SET
		oldest_n = CASE WHEN oldest IS NULL OR new.created_at < oldest THEN 1 WHEN new.created_at = oldest THEN oldest_n + 1 ELSE oldest_n END,
		oldest = CASE WHEN oldest IS NULL OR new.created_at < oldest THEN new.created_at ELSE oldest END
	WHERE chan = new.chan AND new.state IN ('pending', 'overflow') AND new.kind = 'match' AND new.retry_at IS NULL;`

// rebuildWorkSQL12 is migration 12's rebuildWorkSQL: it recomputes outbox_work from the outbox, for the channels chosen by workScope (every channel in the
// migration; a copy's load narrows it with a temporary table).
const rebuildWorkSQL12 = `
DELETE FROM outbox_work WHERE chan IN (SELECT chan FROM outbox_work_scope);
INSERT INTO outbox_work (chan, total, pending, overflow, backfill, retry, oldest)
SELECT chan, count(*),
	sum(state = 'pending' AND kind = 'match' AND retry_at IS NULL), sum(state = 'overflow' AND retry_at IS NULL),
	sum(kind = 'backfill' AND retry_at IS NULL), sum(retry_at IS NOT NULL),
	min(CASE WHEN kind = 'match' AND retry_at IS NULL THEN created_at END)
FROM outbox INDEXED BY outbox_unsent
WHERE state IN ('pending', 'overflow') AND chan IN (SELECT chan FROM outbox_work_scope)
GROUP BY chan;
UPDATE outbox_work SET oldest_n = (SELECT count(*) FROM outbox INDEXED BY outbox_unsent
	WHERE chan = outbox_work.chan AND state IN ('pending', 'overflow') AND kind = 'match' AND retry_at IS NULL
		AND created_at = outbox_work.oldest)
WHERE chan IN (SELECT chan FROM outbox_work_scope);
`

// chanNumSQL is the channel number of (?1 platform, ?2 channel id), NULL if the channel never had a row.
const chanNumSQL = `(SELECT num FROM outbox_channels WHERE platform = ?1 AND channel_id = ?2)`

// channelNums maps channel references to their outbox numbers within one write transaction, adding numbers for
// channels that have none yet.
type channelNums struct {
	tx   *sql.Tx
	nums map[channel.Ref]int64
}

// loadChannelNums reads every channel number: a few thousand rows at most, cheaper than a look-up per route.
func loadChannelNums(ctx context.Context, tx *sql.Tx) (*channelNums, error) {
	rows, err := tx.QueryContext(ctx, `SELECT num, platform, channel_id FROM outbox_channels`)
	if err != nil {
		return nil, fmt.Errorf("load channel numbers: %w", err)
	}
	defer rows.Close()
	c := &channelNums{tx: tx, nums: make(map[channel.Ref]int64)}
	for rows.Next() {
		var n int64
		var ref channel.Ref
		if err := rows.Scan(&n, &ref.Platform, &ref.ID); err != nil {
			return nil, fmt.Errorf("load channel numbers: %w", err)
		}
		c.nums[ref] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load channel numbers: %w", err)
	}
	return c, nil
}

// num returns ref's number, giving it one if it has none.
func (c *channelNums) num(ctx context.Context, ref channel.Ref) (int64, error) {
	if n, ok := c.nums[ref]; ok {
		return n, nil
	}
	n, err := channelNum(ctx, c.tx, ref)
	if err != nil {
		return 0, err
	}
	c.nums[ref] = n
	return n, nil
}

// channelNum returns ref's outbox number, giving it one if it has none.
func channelNum(ctx context.Context, tx *sql.Tx, ref channel.Ref) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `INSERT INTO outbox_channels (platform, channel_id) VALUES (?1, ?2)
		ON CONFLICT (platform, channel_id) DO UPDATE SET num = num RETURNING num`, ref.Platform, ref.ID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("number channel %s: %w", ref, err)
	}
	return n, nil
}

// leanRow is one outbox row to insert.
type leanRow struct {
	num, paper int64
	matched    string
}

// insertChunk is how many rows one INSERT statement carries: few enough statements that database/sql's per-call
// cost vanishes, small enough that a statement's parameters stay far below SQLite's limit.
const insertChunk = 256

// insertStep is the granularity of a statement's row count: a channel's last chunk is padded up to a multiple of
// it, so that a poll prepares at most insertChunk/insertStep statements. Preparing one per exact count (every
// count from 1 to 256 occurs among a thousand channels) cost more than the padding's extra conflict probes.
const insertStep = 16

// insertLean inserts rows of kind, created at at, in (channel, paper) order, skipping pairs that already have a
// row or were posted and pruned; it returns how many it inserted. A statement never spans two channels, so that
// its count of inserted rows is the channel's, which outbox_work gets in one update per channel.
func insertLean(ctx context.Context, tx *sql.Tx, rows []leanRow, kind string, at time.Time) (int, error) {
	slices.SortFunc(rows, func(a, b leanRow) int {
		if a.num != b.num {
			return int(min(max(a.num-b.num, -1), 1))
		}
		return int(min(max(a.paper-b.paper, -1), 1))
	})
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			_ = st.Close()
		}
	}()
	// OR IGNORE would also skip a row that breaks the kind CHECK, silently: reject a bad kind here instead.
	if kind != channel.KindMatch && kind != channel.KindBackfill {
		return 0, fmt.Errorf("write outbox: unknown kind %q", kind)
	}
	work, err := tx.PrepareContext(ctx, addWorkSQL)
	if err != nil {
		return 0, fmt.Errorf("prepare outbox summary: %w", err)
	}
	defer func() { _ = work.Close() }()
	match := kind == channel.KindMatch
	total := 0
	args := make([]any, 0, 3*insertChunk+2)
	for len(rows) > 0 {
		end := 1
		for end < len(rows) && rows[end].num == rows[0].num {
			end++
		}
		chanRows := rows[:end]
		rows = rows[end:]
		added := 0
		for start := 0; start < len(chanRows); start += insertChunk {
			chunk := chanRows[start:min(start+insertChunk, len(chanRows))]
			size := (len(chunk) + insertStep - 1) / insertStep * insertStep
			st, ok := stmts[size]
			if !ok {
				var err error
				if st, err = tx.PrepareContext(ctx, insertLeanSQL(size)); err != nil {
					return 0, fmt.Errorf("prepare outbox insert: %w", err)
				}
				stmts[size] = st
			}
			args = append(args[:0], kind, at.UnixNano())
			for _, r := range chunk {
				args = append(args, r.num, r.paper, r.matched)
			}
			// The padding repeats the last row, which its first copy makes a conflict: skipped, and not counted.
			last := chunk[len(chunk)-1]
			for range size - len(chunk) {
				args = append(args, last.num, last.paper, last.matched)
			}
			res, err := st.ExecContext(ctx, args...)
			if err != nil {
				return 0, fmt.Errorf("write outbox: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return 0, fmt.Errorf("write outbox: %w", err)
			}
			added += int(n)
		}
		if added > 0 {
			if _, err := work.ExecContext(ctx, chanRows[0].num, added, match, at.UnixNano(), chanRows[0].paper); err != nil {
				return 0, fmt.Errorf("write outbox summary: %w", err)
			}
		}
		total += added
	}
	return total, nil
}

// addWorkSQL adds ?2 new pending rows of channel ?1 to outbox_work: match rows (?3) created at ?4, or backfill rows,
// of papers ?5 and above (the smallest paper the insert tried: a row it skipped leaves low lower than it could be,
// which the next row to leave corrects).
const addWorkSQL = `
INSERT INTO outbox_work (chan, total, pending, backfill, oldest, oldest_n, low)
VALUES (?1, ?2, CASE WHEN ?3 THEN ?2 ELSE 0 END, CASE WHEN ?3 THEN 0 ELSE ?2 END, CASE WHEN ?3 THEN ?4 END, CASE WHEN ?3 THEN ?2 ELSE 0 END, ?5)
ON CONFLICT (chan) DO UPDATE SET
	low = min(coalesce(low, ?5), ?5),
	total = total + ?2,
	pending = pending + CASE WHEN ?3 THEN ?2 ELSE 0 END,
	backfill = backfill + CASE WHEN ?3 THEN 0 ELSE ?2 END,
	oldest_n = CASE WHEN NOT ?3 THEN oldest_n WHEN oldest IS NULL OR ?4 < oldest THEN ?2 WHEN ?4 = oldest THEN oldest_n + ?2 ELSE oldest_n END,
	oldest = CASE WHEN NOT ?3 THEN oldest WHEN oldest IS NULL OR ?4 < oldest THEN ?4 ELSE oldest END`

// rebuildWork recomputes outbox_work for channels nums, after rows entered the outbox other than by insertLean.
func rebuildWork(ctx context.Context, tx *sql.Tx, nums []int64) error {
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS outbox_work_scope (chan INTEGER PRIMARY KEY);
		DELETE FROM outbox_work_scope`); err != nil {
		return fmt.Errorf("rebuild outbox summary: %w", err)
	}
	for _, n := range nums {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_work_scope VALUES (?) ON CONFLICT DO NOTHING`, n); err != nil {
			return fmt.Errorf("rebuild outbox summary: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, rebuildWorkSQL); err != nil {
		return fmt.Errorf("rebuild outbox summary: %w", err)
	}
	return nil
}

// insertLeanSQL inserts n rows given as (channel, paper, matched) triples after kind and created_at. The
// parameters are anonymous: the driver looks up each parameter's name as it binds it, a scan of the statement's
// named parameters that made binding a 768-parameter statement cost more than running it.
//
// OR IGNORE rather than ON CONFLICT DO NOTHING: an upsert clause leaves the NOT NULL and CHECK constraints
// aborting, and a multi-row statement that may abort midway has SQLite copy every page it touches to a statement
// journal first (a temporary file: 14% of a poll's rows' cost, all of it pwrite calls). With every constraint
// ignoring, the statement cannot abort and needs none; the values bound here are never NULL, and insertLean checks
// the kind.
func insertLeanSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO outbox (chan, paper, matched, kind, created_at)
SELECT v.column1, v.column2, v.column3, ?, ? FROM (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?)")
	}
	b.WriteString(`) AS v
WHERE NOT EXISTS (SELECT 1 FROM outbox_posted d WHERE d.chan = v.column1 AND d.paper = v.column2)`)
	return b.String()
}

// matchedJSON is the stored form of a row's matched terms.
func matchedJSON(m []string) (string, error) {
	if len(m) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode matched terms: %w", err)
	}
	return string(b), nil
}

// movePapers repoints outbox rows and posted pairs at the papers ops moved to a new id: one pass over the outbox
// for all of a write's moves, which are rare (a paper's publication date became known).
func movePapers(ctx context.Context, tx *sql.Tx, ops []writeOp) error {
	type mv struct {
		Old int64 `json:"o"`
		New int64 `json:"n"`
	}
	var list []mv
	for _, op := range ops {
		if op.oldID != 0 && op.oldID != op.id {
			list = append(list, mv{op.oldID, op.id})
		}
	}
	if len(list) == 0 {
		return nil
	}
	data, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("encode moved papers: %w", err)
	}
	for _, table := range []string{"outbox", "outbox_posted"} {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET paper = (SELECT m.value->>'n' FROM json_each(?1) m WHERE m.value->>'o' = paper)
			WHERE paper IN (SELECT value->>'o' FROM json_each(?1))`, string(data)); err != nil {
			return fmt.Errorf("move %s rows of %d papers: %w", table, len(list), err)
		}
	}
	return nil
}

// PruneSent deletes sent outbox rows posted before before, keeping of each only its (channel, paper) pair, so
// the paper is never announced there again; it returns how many rows it pruned. Rows of a digest whose batch
// still has unsent rows are kept with it.
func (s *Store) PruneSent(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_posted (chan, paper)
			SELECT chan, paper FROM outbox WHERE `+prunable+` ORDER BY chan, paper
			ON CONFLICT DO NOTHING`, before.UnixNano()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE `+prunable, before.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune sent outbox rows: %w", err)
	}
	return int(n), nil
}

// prunable selects the sent rows posted before ?1 that no open digest batch needs.
const prunable = `state = 'sent' AND sent_at < ?1 AND (batch_id IS NULL OR batch_id NOT IN (
	SELECT batch_id FROM outbox WHERE batch_id IS NOT NULL AND state IN ('pending', 'overflow')))`

// preparedWrites keeps prepared statements of the write pool by query text. The queries are the store's own
// constants, so the map stays as small as their number.
type preparedWrites struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// get returns query prepared on w, preparing it the first time.
func (p *preparedWrites) get(ctx context.Context, w *sql.DB, query string) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts[query]; ok {
		return st, nil
	}
	st, err := w.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if p.stmts == nil {
		p.stmts = make(map[string]*sql.Stmt)
	}
	p.stmts[query] = st
	return st, nil
}

func (p *preparedWrites) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, st := range p.stmts {
		errs = append(errs, st.Close())
	}
	p.stmts = nil
	return errors.Join(errs...)
}

// PostedMessage returns the id of the message that posted the paper paperKey to ch, and false if the paper was
// not posted there or its row was pruned.
func (s *Store) PostedMessage(ctx context.Context, ch channel.Ref, paperKey string) (string, bool, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT o.message_id FROM outbox o
		WHERE o.chan = `+chanNumSQL+` AND o.paper = (SELECT id FROM papers WHERE key = ?3) AND o.state = 'sent' AND o.message_id <> ''`,
		ch.Platform, ch.ID, paperKey).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("posted message of %s in %s: %w", paperKey, ch, err)
	}
	return id, true, nil
}
