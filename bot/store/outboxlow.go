package store

// outboxLowMigration drops outbox_unsent, the third B-tree every outbox row was inserted into: a routed poll's
// 184k rows cost three B-tree inserts each (the table, outbox_key and outbox_unsent), and outbox_unsent's
// six-column entries were a third of the bytes the poll wrote.
//
// What outbox_unsent gave, reading a channel's unsent rows without its sent ones, now comes from outbox_key and
// outbox_work.low, a lower bound of the papers of the channel's unsent rows (NULL when it has none): readers scan
// the channel's rows in outbox_key from low on. Delivery sends in paper order, so the rows between low and the
// first unsent one are few: when a row leaves the unsent set the trigger moves low up to the first unsent row,
// a step or two of outbox_key each time.
//
// Row ids do not change, so nothing that refers to rows by id (digest batches, in-flight marks, Discord nonces,
// card edits) needs rewriting.
//
// The table is rebuilt, rows and ids as they were, for its CHECK on state alone: SQLite evaluates an IN list of
// more than two constants through a temporary B-tree, and in a CHECK constraint it builds that B-tree anew for
// every row (four inserts and a search per outbox row, a tenth of writing it). Two-value lists are compared
// directly.
const outboxLowMigration = `
CREATE TABLE outbox_low (
	id         INTEGER PRIMARY KEY,
	chan       INTEGER NOT NULL,
	paper      INTEGER NOT NULL,
	matched    TEXT    NOT NULL DEFAULT '[]',
	kind       TEXT    NOT NULL DEFAULT 'match' CHECK (kind IN ('match', 'backfill')),
	state      TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'overflow') OR state IN ('sent', 'failed')),
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
INSERT INTO outbox_low (id, chan, paper, matched, kind, state, created_at, attempts, last_error, message_id, sent_at,
	rejections, retry_at, failed_at, batch_id, sending_at)
SELECT id, chan, paper, matched, kind, state, created_at, attempts, last_error, message_id, sent_at,
	rejections, retry_at, failed_at, batch_id, sending_at
FROM outbox ORDER BY id;
DROP TABLE outbox;
ALTER TABLE outbox_low RENAME TO outbox;
CREATE UNIQUE INDEX outbox_key ON outbox(chan, paper);
CREATE INDEX outbox_sent_at ON outbox(chan, sent_at) WHERE state = 'sent';
CREATE INDEX outbox_open_batches ON outbox(batch_id) WHERE batch_id IS NOT NULL AND state IN ('pending', 'overflow');
ALTER TABLE outbox_work ADD COLUMN low INTEGER;
CREATE TEMP TABLE IF NOT EXISTS outbox_work_scope (chan INTEGER PRIMARY KEY);
DELETE FROM outbox_work_scope;
INSERT INTO outbox_work_scope SELECT num FROM outbox_channels;
` + outboxWorkTriggers + rebuildWorkSQL

// unsentFrom reads the unsent rows of channel number chanExpr in paper order: its rows from outbox_work.low on.
func unsentFrom(chanExpr string) string {
	return `o.chan = ` + chanExpr + ` AND o.paper >= (SELECT low FROM outbox_work WHERE chan = ` + chanExpr + `)
	AND o.state IN ('pending', 'overflow')`
}

// outboxWorkTriggers keep outbox_work, the per-channel summary Work reads instead of grouping every unsent row on
// every dispatch (a million-row backlog drained 50 cards at a time would group it twenty thousand times):
//   - total counts a channel's unsent rows; pending, overflow, backfill and retry are channel.Work's counts;
//   - oldest is the creation time of its oldest waiting match row, and oldest_n how many rows share it: when
//     the last of them leaves, the trigger finds the next oldest with one pass over the channel's unsent rows,
//     once per poll's worth of rows rather than once per row;
//   - low is at most the paper of every unsent row (see outboxLowMigration): a row entering the unsent set
//     lowers it to the row's paper, and a row leaving moves it up to the first unsent row.
//
// Inserts do not fire a trigger: insertLean adds each channel's inserted rows in one statement, so a poll's
// hundred thousand rows cost a thousand summary updates, not a hundred thousand. Every other way rows enter the
// outbox (a copy's load, the migrations) rebuilds the summary of the channels it touched (rebuildWorkSQL).
//
// The update trigger also fires on a change of paper (movePapers): the row enters the set at its new paper.
const outboxWorkTriggers = `
CREATE TRIGGER outbox_work_update AFTER UPDATE OF state, kind, retry_at, created_at, paper ON outbox
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
			+ (new.state IN ('pending', 'overflow') AND new.retry_at IS NOT NULL),
		low = CASE WHEN new.state IN ('pending', 'overflow') THEN min(coalesce(low, new.paper), new.paper) ELSE low END
	WHERE chan = new.chan;
	UPDATE outbox_work SET low = ` + firstUnsentFromLow + `
	WHERE chan = old.chan AND old.state IN ('pending', 'overflow') AND new.state NOT IN ('pending', 'overflow');
	` + leaveOldest + `
	` + enterOldest + `
END;
CREATE TRIGGER outbox_work_delete AFTER DELETE ON outbox WHEN old.state IN ('pending', 'overflow')
BEGIN
	UPDATE outbox_work SET total = total - 1,
		pending = pending - (old.state = 'pending' AND old.kind = 'match' AND old.retry_at IS NULL),
		overflow = overflow - (old.state = 'overflow' AND old.retry_at IS NULL),
		backfill = backfill - (old.kind = 'backfill' AND old.retry_at IS NULL),
		retry = retry - (old.retry_at IS NOT NULL)
	WHERE chan = old.chan;
	UPDATE outbox_work SET low = ` + firstUnsentFromLow + ` WHERE chan = old.chan;
	` + leaveOldest + `
END;
`

// firstUnsentFromLow is the paper of the first unsent row of the outbox_work row being updated, from its low on:
// the new low after a row left the unsent set (NULL when none is left).
const firstUnsentFromLow = `(SELECT paper FROM outbox INDEXED BY outbox_key
		WHERE chan = outbox_work.chan AND paper >= outbox_work.low AND state IN ('pending', 'overflow') ORDER BY paper LIMIT 1)`

// leaveOldest is the trigger step for a row that was counted in oldest: the count of rows at oldest drops, and
// the last one out finds the next oldest (and how many rows have it) among the channel's rows from low on.
const leaveOldest = `UPDATE outbox_work SET oldest_n = oldest_n - 1
	WHERE chan = old.chan AND old.state IN ('pending', 'overflow') AND old.kind = 'match' AND old.retry_at IS NULL
		AND oldest = old.created_at;
	UPDATE outbox_work SET oldest = (SELECT min(created_at) FROM outbox INDEXED BY outbox_key
		WHERE chan = old.chan AND paper >= outbox_work.low AND state IN ('pending', 'overflow') AND kind = 'match' AND retry_at IS NULL), oldest_n = -1
	WHERE chan = old.chan AND oldest_n = 0 AND oldest IS NOT NULL;
	UPDATE outbox_work SET oldest_n = (SELECT count(*) FROM outbox INDEXED BY outbox_key
		WHERE chan = old.chan AND paper >= outbox_work.low AND state IN ('pending', 'overflow') AND kind = 'match' AND retry_at IS NULL
			AND created_at = outbox_work.oldest)
	WHERE chan = old.chan AND oldest_n = -1;`

// enterOldest is the trigger step for a row that is counted in oldest after the update.
const enterOldest = `UPDATE outbox_work SET
		oldest_n = CASE WHEN oldest IS NULL OR new.created_at < oldest THEN 1 WHEN new.created_at = oldest THEN oldest_n + 1 ELSE oldest_n END,
		oldest = CASE WHEN oldest IS NULL OR new.created_at < oldest THEN new.created_at ELSE oldest END
	WHERE chan = new.chan AND new.state IN ('pending', 'overflow') AND new.kind = 'match' AND new.retry_at IS NULL;`

// rebuildWorkSQL recomputes outbox_work from the outbox, for the channels chosen by outbox_work_scope (every
// channel in a migration; a copy's load narrows it to the channels it wrote).
const rebuildWorkSQL = `
DELETE FROM outbox_work WHERE chan IN (SELECT chan FROM outbox_work_scope);
INSERT INTO outbox_work (chan, total, pending, overflow, backfill, retry, oldest, low)
SELECT chan, count(*),
	sum(state = 'pending' AND kind = 'match' AND retry_at IS NULL), sum(state = 'overflow' AND retry_at IS NULL),
	sum(kind = 'backfill' AND retry_at IS NULL), sum(retry_at IS NOT NULL),
	min(CASE WHEN kind = 'match' AND retry_at IS NULL THEN created_at END), min(paper)
FROM outbox
WHERE state IN ('pending', 'overflow') AND chan IN (SELECT chan FROM outbox_work_scope)
GROUP BY chan;
UPDATE outbox_work SET oldest_n = (SELECT count(*) FROM outbox INDEXED BY outbox_key
	WHERE chan = outbox_work.chan AND paper >= outbox_work.low AND state IN ('pending', 'overflow') AND kind = 'match'
		AND retry_at IS NULL AND created_at = outbox_work.oldest)
WHERE chan IN (SELECT chan FROM outbox_work_scope);
`
