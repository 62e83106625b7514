package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrDiskFull marks a write that failed because the disk (or the file's size limit) is full: SQLITE_FULL.
var ErrDiskFull = errors.New("the disk holding the store is full")

// fullState remembers the last SQLITE_FULL until a write succeeds again.
type fullState struct {
	mu  sync.Mutex
	err error
	// onFull, when set, is told of every write that failed for want of space, after the checkpoint.
	onFull func(error)
}

// SetDiskFullHandler makes fn hear of every write that fails because the disk is full (for an ERROR log line);
// set it before using the store.
func (s *Store) SetDiskFullHandler(fn func(error)) { s.full.onFull = fn }

// DiskFull returns an error while the store's last write failed for want of disk space (ErrDiskFull), nil once a
// write succeeds again; /healthz reports it.
func (s *Store) DiskFull() error {
	s.full.mu.Lock()
	defer s.full.mu.Unlock()
	return s.full.err
}

// wrote records the outcome of a write. On SQLITE_FULL it checkpoints the WAL into the database and truncates it
// (the WAL grows with every commit until a checkpoint, and is often what filled the disk), so that the next write
// may fit, and marks the store full until a write succeeds; the returned error then wraps ErrDiskFull.
func (s *Store) wrote(ctx context.Context, err error) error {
	if err == nil {
		s.full.mu.Lock()
		s.full.err = nil
		s.full.mu.Unlock()
		return nil
	}
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_FULL {
		return err
	}
	ferr := fmt.Errorf("%w (%s): %w", ErrDiskFull, s.path, err)
	if _, cerr := s.w.ExecContext(context.WithoutCancel(ctx), "PRAGMA wal_checkpoint(TRUNCATE)"); cerr != nil {
		ferr = fmt.Errorf("%w; the WAL checkpoint failed too: %w", ferr, cerr)
	}
	s.full.mu.Lock()
	s.full.err = ferr
	s.full.mu.Unlock()
	if s.full.onFull != nil {
		s.full.onFull(ferr)
	}
	return ferr
}

// QuickCheck runs SQLite's quick_check over the whole file: it reads every page (so its cost grows with the
// store; see README) and finds corrupted b-trees and records, but not index/table mismatches. A damaged store is
// an error naming the file and how to recover.
func (s *Store) QuickCheck(ctx context.Context) error {
	problems, err := s.quickCheck(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("integrity check of %s: %w", s.path, err)
		}
		// A page too damaged to read fails the check itself (SQLITE_CORRUPT) instead of listing problems.
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return damaged(s.path, strings.Join(problems, "; "))
	}
	return nil
}

// isCorrupt reports whether err is SQLite's SQLITE_CORRUPT (any extended code).
func isCorrupt(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CORRUPT
}

// damaged is the error for a store file SQLite finds damaged, saying how to recover.
func damaged(path, problems string) error {
	return fmt.Errorf("store %s is damaged (%s): stop paperboy, then restore a backup, or salvage it with "+
		"`sqlite3 %s .recover | sqlite3 recovered.db` and point [store] path at recovered.db",
		path, problems, path)
}

// quickCheck returns the first problems quick_check lists.
func (s *Store) quickCheck(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return problems, err
		}
		if line != "ok" && len(problems) < 5 {
			problems = append(problems, line)
		}
	}
	return problems, rows.Err()
}
