package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrSchemaTooNew is returned by Open for a database whose schema version is newer than this build knows: it was
// written by a newer paperboy, and this one must not write to it.
var ErrSchemaTooNew = errors.New("database schema is newer than this paperboy")

// migrations returns the schema steps in order: step i brings the schema to version i+1, recorded in
// paperboy_schema. To change the schema, append a step; never edit, reorder or remove a released one, because
// databases in the field record only how many steps they have run.
func migrations() []string {
	return []string{
		// 1: the whole store, mirroring the SQLite store's four steps.
		schemaV1,
		// 2: live instances, to share the platforms' global rate limits (instances.go).
		instancesV2,
		// 3: retries of rejected messages, and when a row was set aside (rejected.go).
		rejectedV3,
		// 4: digest batches, fixed before they are sent (batch.go).
		batchesV4,
		// 5: import checkpoints (imports.go).
		importsV5,
		// 6: feed health: failing since, current batch, recent new-paper times, open notices (sourcehealth.go).
		sourceHealthV6,
		// 7: queued edits of posted cards (edits.go).
		editsV7,
		// 8: full-text index entries of a poll or import batch go to the GIN pending list and
		// are merged right after the commit (fts.go).
		ginPendingV8,
		// 9: the posted set that pruning keeps (posted.go).
		postedV9,
		// 10: votes on cards and reading lists (feedback.go).
		feedbackV10,
		// 11: the workspace of votes and reading-list entries (feedback.go).
		workspaceV11,
	}
}

// schemaV1 is the first schema. Times are integers in the SQLite store's units (papers: Unix milliseconds; the
// rest: nanoseconds, exact for injected clocks), NULL meaning unknown.
//
// papers: the key is the identity. Newest first is (sort_sec DESC, sort_seq DESC): sort_sec is the published
// second (or the first-seen one for a paper without a date), sort_seq a sequence number taken when the paper is
// stored or moves to another second, so that of two papers of one second the later-stored sorts as newer, as
// with the SQLite store's ids. No unique index covers these columns, so updating them takes only the NO KEY lock
// level that ingest holds. data is the paper's JSON without title and abstract (their own columns).
//
// fts is the full-text document, built in Go from the text folded exactly as the query language folds it (see
// tsvectorOf): title words weigh A, abstract B, authors C, so a field filter is a weight filter. A paper whose text
// does not fit in a tsvector is unindexed (its fts empty): every look-up takes it as a candidate, and the matcher
// decides.
//
// Identifiers (keys, channels, sources, URLs) collate as "C": bytes, as in SQLite and Go, and cheaper to compare
// than a locale's rules, which matters for the outbox's unique index at a hundred thousand rows a poll.
//
// Notifications: triggers call paperboy_notify on changes of subscriptions and channels, so no code path can
// forget to; PostgreSQL sends them at commit and folds repeats within a transaction. Outbox inserts notify from
// Go instead (notifyOutbox): a statement trigger would copy every inserted row into a transition table just to
// see that there is one, which costs a quarter of writing a large poll's rows.
const schemaV1 = `
CREATE TABLE papers (
	key        text     COLLATE "C" PRIMARY KEY,
	sort_sec   bigint   NOT NULL,
	sort_seq   bigint   NOT NULL,
	arxiv_id   text     NOT NULL DEFAULT '',
	doi        text     NOT NULL DEFAULT '',
	title      text     NOT NULL,
	abstract   text     NOT NULL,
	authors    text     NOT NULL,
	published  bigint,
	updated    bigint,
	first_seen bigint   NOT NULL,
	last_seen  bigint   NOT NULL,
	data       jsonb    NOT NULL,
	fts        tsvector NOT NULL,
	unindexed  boolean  NOT NULL DEFAULT false
);
-- lz4 compresses and decompresses the TOASTed text several times faster than the default pglz; PostgreSQL 13
-- and servers built without lz4 keep the default.
DO $$
BEGIN
	EXECUTE 'ALTER TABLE papers ALTER COLUMN title SET COMPRESSION lz4, ALTER COLUMN abstract SET COMPRESSION lz4,
		ALTER COLUMN authors SET COMPRESSION lz4, ALTER COLUMN data SET COMPRESSION lz4, ALTER COLUMN fts SET COMPRESSION lz4';
EXCEPTION WHEN syntax_error OR feature_not_supported OR invalid_parameter_value THEN
	NULL;
END
$$;
-- The document stays in the row (compressed, but not TOASTed away while the row fits in half a page, the
-- abstract going out first): a look-up of common words walks the newest-first order and checks each paper's
-- document, and fetching it from the TOAST table made each check three times dearer.
ALTER TABLE papers ALTER COLUMN fts SET STORAGE MAIN, SET (toast_tuple_target = 4080);
CREATE SEQUENCE papers_sort_seq;
CREATE INDEX papers_order ON papers (sort_sec DESC, sort_seq DESC);
CREATE INDEX papers_doi ON papers (doi) WHERE doi <> '';
CREATE INDEX papers_fts ON papers USING gin (fts);
-- The planner picks between reading the full-text index and sorting the matches (a rare word) and walking the
-- newest-first order until enough rows match (a common word) by how often it thinks a word occurs; with the
-- default statistics, any word missing from the few hundred most common ones is thought to be in a few percent
-- of papers, and a rare word's look-up then walks the whole table.
ALTER TABLE papers ALTER COLUMN fts SET STATISTICS 1000;
CREATE INDEX papers_unindexed ON papers (sort_sec) WHERE unindexed;

CREATE TABLE fetch_state (
	source        text COLLATE "C" NOT NULL,
	url           text COLLATE "C" NOT NULL,
	etag          text NOT NULL DEFAULT '',
	last_modified text NOT NULL DEFAULT '',
	PRIMARY KEY (source, url)
);

CREATE TABLE source_state (
	source               text    COLLATE "C" PRIMARY KEY,
	last_poll            bigint,
	last_success         bigint,
	last_error           text    NOT NULL DEFAULT '',
	last_error_at        bigint,
	last_new_at          bigint,
	polls                integer NOT NULL DEFAULT 0,
	failures             integer NOT NULL DEFAULT 0,
	consecutive_failures integer NOT NULL DEFAULT 0,
	papers               integer NOT NULL DEFAULT 0
);

-- One poller per source across instances.
CREATE TABLE source_leases (
	source      text   COLLATE "C" PRIMARY KEY,
	lease_owner text   NOT NULL DEFAULT '',
	lease_until bigint NOT NULL DEFAULT 0
);

CREATE TABLE channels (
	platform       text   COLLATE "C" NOT NULL,
	id             text   COLLATE "C" NOT NULL,
	mode           text   NOT NULL DEFAULT 'instant' CHECK (mode IN ('instant', 'digest')),
	digest_at      text   NOT NULL DEFAULT '',
	digest_tz      text   NOT NULL DEFAULT '',
	created_at     bigint NOT NULL,
	blocked        text   NOT NULL DEFAULT '',
	blocked_at     bigint,
	last_digest_at bigint,
	lease_owner    text   NOT NULL DEFAULT '',
	lease_until    bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (platform, id)
);

CREATE TABLE subscriptions (
	id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	platform    text    COLLATE "C" NOT NULL,
	channel_id  text    COLLATE "C" NOT NULL,
	query       text    NOT NULL,
	canonical   text    COLLATE "C" NOT NULL,
	added_by    text    NOT NULL DEFAULT '',
	added_at    bigint  NOT NULL,
	from_config boolean NOT NULL DEFAULT false,
	UNIQUE (platform, channel_id, canonical),
	FOREIGN KEY (platform, channel_id) REFERENCES channels (platform, id) ON DELETE CASCADE
);

-- One row per (channel, paper), ever: the UNIQUE constraint is the once-per-channel rule. A row is marked sent
-- only after the platform accepted the message.
CREATE TABLE outbox (
	id         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	platform   text    COLLATE "C" NOT NULL,
	channel_id text    COLLATE "C" NOT NULL,
	paper_key  text    COLLATE "C" NOT NULL REFERENCES papers (key),
	matched    jsonb   NOT NULL DEFAULT '[]',
	kind       text    NOT NULL DEFAULT 'match' CHECK (kind IN ('match', 'backfill')),
	state      text    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'overflow', 'sent', 'failed')),
	created_at bigint  NOT NULL,
	attempts   integer NOT NULL DEFAULT 0,
	last_error text    NOT NULL DEFAULT '',
	message_id text    NOT NULL DEFAULT '',
	sent_at    bigint,
	UNIQUE (platform, channel_id, paper_key)
);
CREATE INDEX outbox_unsent ON outbox (platform, channel_id) WHERE state IN ('pending', 'overflow');
CREATE INDEX outbox_sent_at ON outbox (platform, channel_id, sent_at) WHERE state = 'sent';

CREATE TABLE counters (
	name  text   PRIMARY KEY,
	value bigint NOT NULL
);
INSERT INTO counters (name, value) VALUES ('subscriptions', 0);

-- The notification channel of this schema: "paperboy" in the public schema, else "paperboy.SCHEMA" (an md5 for
-- a name too long for a channel), so that deployments sharing a database in separate schemas wake only their own.
CREATE FUNCTION paperboy_notify_channel() RETURNS text LANGUAGE sql STABLE AS $$
	SELECT CASE
		WHEN current_schema() = 'public' THEN 'paperboy'
		WHEN octet_length(current_schema()) <= 54 THEN 'paperboy.' || current_schema()
		ELSE 'paperboy.' || md5(current_schema())
	END
$$;
CREATE FUNCTION paperboy_notify(topic text) RETURNS void LANGUAGE sql AS $$
	SELECT pg_notify(paperboy_notify_channel(), topic)
$$;

-- Statement triggers with transition tables: a statement that changed no row (an INSERT ... ON CONFLICT DO
-- NOTHING that hit its conflict) bumps nothing, and a statement of many rows bumps once.
CREATE FUNCTION subscriptions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM changed_rows) THEN
		UPDATE counters SET value = value + 1 WHERE name = 'subscriptions';
		PERFORM paperboy_notify('subscriptions');
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER subscriptions_inserted AFTER INSERT ON subscriptions REFERENCING NEW TABLE AS changed_rows
	FOR EACH STATEMENT EXECUTE FUNCTION subscriptions_changed();
CREATE TRIGGER subscriptions_updated AFTER UPDATE ON subscriptions REFERENCING NEW TABLE AS changed_rows
	FOR EACH STATEMENT EXECUTE FUNCTION subscriptions_changed();
CREATE TRIGGER subscriptions_deleted AFTER DELETE ON subscriptions REFERENCING OLD TABLE AS changed_rows
	FOR EACH STATEMENT EXECUTE FUNCTION subscriptions_changed();

CREATE FUNCTION channels_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM paperboy_notify('channels');
	RETURN NULL;
END
$$;
-- Leases and digest times change often and wake nobody.
CREATE TRIGGER channels_updated AFTER UPDATE ON channels FOR EACH ROW
	WHEN (OLD.mode IS DISTINCT FROM NEW.mode OR OLD.digest_at IS DISTINCT FROM NEW.digest_at
		OR OLD.digest_tz IS DISTINCT FROM NEW.digest_tz OR OLD.blocked IS DISTINCT FROM NEW.blocked)
	EXECUTE FUNCTION channels_changed();
CREATE TRIGGER channels_inserted AFTER INSERT ON channels FOR EACH ROW
	WHEN (NEW.mode <> 'instant' OR NEW.blocked <> '')
	EXECUTE FUNCTION channels_changed();
`

// migrateLockSQL takes the migration lock of the current schema for the rest of the transaction: a lock per
// schema, so that deployments in separate schemas of one database never wait for each other.
const migrateLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended('paperboy migrate ' || current_schema(), 0))`

// migrate brings the schema to len(steps), each step in its own transaction together with the version bump, so
// a failed step leaves the schema at the previous version, whole.
func migrate(ctx context.Context, pool *pgxpool.Pool, steps []string) error {
	for {
		done, err := migrateOne(ctx, pool, steps)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next pending step, if any. The version is read under the migration lock, so that of
// two instances starting together one migrates and the other, once the lock is free, finds nothing to do.
func migrateOne(ctx context.Context, pool *pgxpool.Pool, steps []string) (done bool, err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := tx.Exec(ctx, migrateLockSQL); err != nil {
		return false, fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS paperboy_schema (version integer NOT NULL)`); err != nil {
		return false, fmt.Errorf("migrate: version table: %w", err)
	}
	var version int
	err = tx.QueryRow(ctx, `SELECT version FROM paperboy_schema`).Scan(&version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := tx.Exec(ctx, `INSERT INTO paperboy_schema (version) VALUES (0)`); err != nil {
			return false, fmt.Errorf("migrate: version table: %w", err)
		}
	case err != nil:
		return false, fmt.Errorf("migrate: read schema version: %w", err)
	}
	switch {
	case version > len(steps):
		return false, fmt.Errorf("migrate: schema version %d, this build knows %d: %w", version, len(steps), ErrSchemaTooNew)
	case version == len(steps):
		return true, tx.Commit(ctx)
	}
	if _, err := tx.Exec(ctx, steps[version]); err != nil {
		return false, fmt.Errorf("migrate to version %d: %w", version+1, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE paperboy_schema SET version = $1`, version+1); err != nil {
		return false, fmt.Errorf("migrate to version %d: set version: %w", version+1, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("migrate to version %d: commit: %w", version+1, err)
	}
	return false, nil
}
