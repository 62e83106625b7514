package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrSchemaTooNew is returned by Open for a database whose schema version is newer than this build knows: it was
// written by a newer paperboy, and this one must not write to it.
var ErrSchemaTooNew = errors.New("database schema is newer than this paperboy")

// migrations returns the schema steps in order: step i brings the database to version i+1, recorded in
// PRAGMA user_version. To change the schema, append a step; never edit, reorder or remove a released one, because
// databases in the field record only how many steps they have run.
func migrations() []string {
	return []string{
		// 1: papers, their full-text index, and per-source fetch and health state.
		//
		// papers.id is not an arbitrary rowid but a sort key: (published seconds << 20) + n, where n tells apart
		// papers published in the same second (see paper.SortSecond and idAllocator in ingest.go). FTS5 rowids are
		// papers.id, so "newest first" is "descending rowid", which FTS5 delivers natively from its doclists and
		// which stops after LIMIT rows: a common word's 100k matches are never sorted, only the first few are read.
		//
		// Time columns are Unix milliseconds (papers) or nanoseconds (source state, exact for injected clocks);
		// NULL means unknown. data holds the JSON of the paper.Paper minus title and abstract, which live in
		// their own columns (the FTS external content) and would otherwise be stored twice.
		//
		// The FTS table uses external content (content=papers): the text is stored once, in papers, and the
		// index can be checked or rebuilt from it ('integrity-check', 'rebuild'). Triggers keep it in sync, so
		// no code path can forget to; the update trigger fires only when indexed text or the id changes, so
		// upvote updates cost no index work.
		`
CREATE TABLE papers (
	id         INTEGER PRIMARY KEY,
	key        TEXT    NOT NULL UNIQUE,
	arxiv_id   TEXT    NOT NULL DEFAULT '',
	doi        TEXT    NOT NULL DEFAULT '',
	title      TEXT    NOT NULL,
	abstract   TEXT    NOT NULL,
	authors    TEXT    NOT NULL,
	published  INTEGER,
	updated    INTEGER,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	data       TEXT    NOT NULL
);
-- arxiv_id needs no index: a paper with an arXiv id always has the key 'arxiv:' || arxiv_id.
CREATE INDEX papers_doi ON papers(doi) WHERE doi <> '';

CREATE VIRTUAL TABLE papers_fts USING fts5(
	title, abstract, authors,
	content='papers', content_rowid='id',
	tokenize='unicode61 remove_diacritics 2'
);
-- A 2,000-paper batch holds a few MB of pending index data; with the default 1 MB hash FTS5 would flush it as
-- several segments, each then merged again.
INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', 8388608);
CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
	INSERT INTO papers_fts(rowid, title, abstract, authors) VALUES (new.id, new.title, new.abstract, new.authors);
END;
CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
	INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)
		VALUES ('delete', old.id, old.title, old.abstract, old.authors);
END;
CREATE TRIGGER papers_fts_update AFTER UPDATE ON papers
	WHEN old.id <> new.id OR old.title <> new.title OR old.abstract <> new.abstract OR old.authors <> new.authors
BEGIN
	INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)
		VALUES ('delete', old.id, old.title, old.abstract, old.authors);
	INSERT INTO papers_fts(rowid, title, abstract, authors) VALUES (new.id, new.title, new.abstract, new.authors);
END;

CREATE TABLE fetch_state (
	source        TEXT NOT NULL,
	url           TEXT NOT NULL,
	etag          TEXT NOT NULL DEFAULT '',
	last_modified TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (source, url)
) WITHOUT ROWID;

CREATE TABLE source_state (
	source               TEXT PRIMARY KEY,
	last_poll            INTEGER,
	last_success         INTEGER,
	last_error           TEXT NOT NULL DEFAULT '',
	last_error_at        INTEGER,
	last_new_at          INTEGER,
	polls                INTEGER NOT NULL DEFAULT 0,
	failures             INTEGER NOT NULL DEFAULT 0,
	consecutive_failures INTEGER NOT NULL DEFAULT 0,
	papers               INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
`,
		// 2: channels and their subscriptions (channels.go).
		channelsMigration,
		// 3: the outbox, and channel delivery state (outbox.go).
		outboxMigration,
		// 4: a subscription change counter and per-channel delivery leases (channels.go).
		leaseMigration,
		// 5: per-source poll leases (leases.go).
		sourceLeaseMigration,
		// 6: live instances, to share the platforms' global rate limits (leases.go).
		instancesMigration,
		// 7: retries of rejected messages, and when a row was set aside (rejected.go).
		rejectedMigration,
		// 8: digest batches, fixed before they are sent (batch.go).
		batchMigration,
		// 9: import checkpoints, and full-text indexing deferred to just after an import's batch (imports.go).
		importsMigration,
		// 10: feed health: failing since, current batch, recent new-paper times, open notices (sourcehealth.go).
		sourceHealthMigration,
		// 11: queued edits of posted cards (edits.go).
		editsMigration,
		// 12: the lean outbox, keyed by (channel number, papers.id), and the posted set that
		// pruning keeps (lean.go).
		leanOutboxMigration,
		// 13: votes on cards and reading lists (feedback.go).
		feedbackMigration,
		// 14: the workspace of votes and reading-list entries (feedback.go).
		workspaceMigration,
		// 15: the outbox without its unsent index: readers start at a per-channel low-water mark (outboxlow.go).
		outboxLowMigration,
	}
}

// migrate brings db to len(steps), each step in its own transaction together with the version bump, so a failed
// step leaves the database at the previous version, whole.
func migrate(ctx context.Context, db *sql.DB, steps []string) error {
	// Almost every open finds the schema current: a plain read says so without BEGIN IMMEDIATE, so that a look-up
	// next to a running bot does not wait for its write lock. A step to apply is still decided under the lock.
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if version == len(steps) {
		return nil
	}
	for {
		done, err := migrateOne(ctx, db, steps)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next pending step, if any. The version is read inside the (immediate) transaction so
// that two processes opening the same file at once cannot both apply a step.
func migrateOne(ctx context.Context, db *sql.DB, steps []string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, fmt.Errorf("migrate: read schema version: %w", err)
	}
	switch {
	case version > len(steps):
		return false, fmt.Errorf("migrate: schema version %d, this build knows %d: %w", version, len(steps), ErrSchemaTooNew)
	case version == len(steps):
		return true, tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, steps[version]); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", version+1, err)
	}
	// PRAGMA takes no bound parameters; version+1 is an int, not input.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, fmt.Errorf("migrate to version %d: set version: %w", version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate to version %d: commit: %w", version+1, err)
	}
	return false, nil
}
