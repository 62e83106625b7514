// Package store keeps paperboy's state in one SQLite file (modernc.org/sqlite, pure Go): papers with a full-text
// index, the conditional-GET validators and health of every source, channels with their subscriptions and
// delivery leases, and the outbox. It implements the storage interfaces of bot/ingest, bot/delivery and
// bot/command; the rules of what a poll stores and announces are the domain's (paper.Batch, paper.Reconcile), so
// this package holds only SQL: ids in published order, an FTS-friendly write order, validators and state. The
// contract every store passes is in bot/store/storetest.
//
// Concurrency: a Store is safe for concurrent use. All writes go through one connection (see Open), so they queue
// in process instead of contending for SQLite's file lock; reads use a separate pool and, thanks to WAL, never wait
// for a writer. Look-ups (Candidates, Recent), whose cost a chat user chooses, have a small pool of their own, so
// that however many are waiting, polling and delivery never wait behind them.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// readConns bounds the read pool of polling and delivery. Each connection holds its own page cache, so this also
// bounds memory.
const readConns = 4

// LookupConns bounds the look-up pool: at most this many look-ups run at once, the others wait for a connection
// within their time budget. Half the cores (at least one) keeps a flood of look-ups to half the machine's work (a
// pure-Go SQLite statement runs on its caller's goroutine), so that polling and delivery always find a core;
// slash commands are rare enough that one or two at a time answer a team without queueing.
func LookupConns() int {
	return max(1, runtime.GOMAXPROCS(0)/2)
}

// pragmas returns the pragmas common to both pools plus extra.
//
// synchronous=NORMAL: in WAL mode this never corrupts the database and never loses a commit on a process crash
// (the WAL is in the OS's hands at commit); only a power loss or kernel crash can roll back the last few
// commits. Every Ingest stores the papers together with the feed validators that produced them, so such a
// rollback also forgets the validators and the next poll fetches the same items again: nothing is lost, and
// we save an fsync per commit (FULL would fsync the WAL on every Ingest).
//
// busy_timeout: in-process writers never contend (one write connection), but another process (a CLI run against
// the same file, a backup) may hold the lock briefly, and a WAL checkpoint can need it.
func pragmas(extra ...string) []string {
	return append([]string{"busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"}, extra...)
}

// Store is paperboy's persistent state. Create it with Open and release it with Close.
type Store struct {
	// w is the single write connection (MaxOpenConns(1)). Serializing writers in Go rather than on SQLite's lock
	// is what rules out SQLITE_BUSY between our own goroutines: with several write connections, two deferred
	// transactions that both read and then try to write can deadlock, and SQLite answers one of them with BUSY
	// immediately, without waiting for busy_timeout. Transactions on w also BEGIN IMMEDIATE (_txlock), so the
	// write lock is taken before the first read and a transaction can never need to upgrade its lock.
	w *sql.DB
	// r is the read pool; its connections are query_only, so a bug cannot write around the single writer.
	r *sql.DB
	// look is the look-up pool (LookupConns() connections, query_only): the queries chat users write run here and
	// nowhere else. A look-up's context cancels its statement (the driver interrupts SQLite when it ends).
	look *sql.DB

	path string
	full fullState
	// edits says whether Ingest queues edits of posted cards (SetCardEdits).
	edits atomic.Bool
	// writes holds the prepared forms of the outbox's per-send updates: the outbox_work triggers make preparing
	// them cost as much as running them (see updateRows).
	writes preparedWrites

	// beforeCommit, when set, runs inside Ingest's transaction just before COMMIT; an error aborts the
	// transaction. It exists for tests (crash and atomicity tests) and is never set in production.
	beforeCommit func(ctx context.Context) error
	// inlineIndex makes Ingest index its new papers inside the poll's transaction through the insert trigger, as
	// it did before deferred indexing: the baseline of BenchmarkIngestDeferred, never set in production.
	inlineIndex bool
}

// Open opens (creating it if needed) the database file at path and brings its schema up to date. A database
// written by a newer paperboy (a schema version this build does not know) is refused with ErrSchemaTooNew, since
// writing to it could corrupt data the newer version relies on.
func Open(ctx context.Context, path string) (*Store, error) {
	s, err := open(ctx, path, migrations())
	if err != nil && isCorrupt(err) {
		// Damage SQLite meets while opening (a schema page, a page an import's pending indexing reads) is the
		// same damage QuickCheck reports, and needs the same advice.
		return nil, damaged(path, err.Error())
	}
	return s, err
}

// open is Open with the migration list as a parameter, so tests can simulate future migrations.
func open(ctx context.Context, path string, steps []string) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("open store: need a file path, got %q", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	// The writer's page cache is larger than the readers': ingesting into a large FTS index touches many
	// b-tree pages, while look-ups read few. 16 MB rather than 32 MB: BenchmarkIngest at 1M papers ingests as
	// fast (5,700 papers/s either way) with peak RSS 140 MB instead of 180 MB.
	w, err := sql.Open("sqlite", dsn(abs, pragmas("cache_size(-16000)"), "_txlock=immediate"))
	if err != nil {
		return nil, openError(abs, path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, openError(abs, path, err)
	}
	// Both settings persist in the file. The page size only applies to a new, empty database and must precede
	// WAL: 8 KiB pages hold three ~2.5 KB paper rows where 4 KiB pages hold one, which shrinks the file by a
	// third and the pages each ingest writes alike.
	if _, err := w.ExecContext(ctx, "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL"); err != nil {
		_ = w.Close()
		return nil, openError(abs, path, err)
	}
	if err := migrate(ctx, w, steps); err != nil {
		_ = w.Close()
		return nil, openError(abs, path, err)
	}

	// The readers are opened only after the writer has switched the file to WAL (a persistent setting).
	r, err := sql.Open("sqlite", dsn(abs, pragmas("cache_size(-8000)", "query_only(1)")))
	if err != nil {
		_ = w.Close()
		return nil, openError(abs, path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	if err := r.PingContext(ctx); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, openError(abs, path, err)
	}
	look, err := sql.Open("sqlite", dsn(abs, pragmas("cache_size(-8000)", "query_only(1)")))
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, openError(abs, path, err)
	}
	look.SetMaxOpenConns(LookupConns())
	look.SetMaxIdleConns(LookupConns())
	if err := look.PingContext(ctx); err != nil {
		_ = look.Close()
		_ = r.Close()
		_ = w.Close()
		return nil, openError(abs, path, err)
	}
	s := &Store{w: w, r: r, look: look, path: abs}
	// An import interrupted by a crash may have left papers stored but not yet in the full-text index.
	if err := s.IndexPending(ctx); err != nil {
		_ = s.Close()
		if isCorrupt(err) {
			return nil, damaged(abs, err.Error())
		}
		return nil, openError(abs, path, err)
	}
	return s, nil
}

// openError is the error of a failed open: a damaged file (the schema itself may be what is damaged, so reading
// it or migrating can be the first to notice) says how to recover, like QuickCheck.
func openError(abs, path string, err error) error {
	if isCorrupt(err) {
		return damaged(abs, err.Error())
	}
	return fmt.Errorf("open store %s: %w", path, err)
}

// dsn builds a file: URI so that any character in the path (even '?' or '#') is escaped instead of being taken
// for a parameter.
func dsn(abs string, pragmas []string, extra ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	raw := q.Encode()
	for _, e := range extra {
		raw += "&" + e
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: raw}
	return u.String()
}

// Close closes the connection pools. Reads and writes in flight finish first (database/sql waits for them).
func (s *Store) Close() error {
	return errors.Join(s.writes.close(), s.look.Close(), s.r.Close(), s.w.Close())
}
