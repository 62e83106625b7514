package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

func bigBatch(now time.Time, from, n int) []paper.Paper {
	ps := make([]paper.Paper, n)
	for i := range ps {
		ps[i] = testkit.Paper(now, fmt.Sprintf("2601.%05d", from+i), fmt.Sprintf("Paper %d", from+i), strings.Repeat("an abstract of some length ", 80), 1)
	}
	return ps
}

// TestDiskFull: a write that fails with a real SQLITE_FULL (the file's page limit, as a full disk would) wraps
// ErrDiskFull, is reported to the handler after a WAL checkpoint, and marks the store unhealthy until a write
// succeeds again.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "paperboy.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var reported []error
	s.SetDiskFullHandler(func(err error) { reported = append(reported, err) })
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := s.Ingest(ctx, "arxiv", bigBatch(now, 0, 10), nil, now); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// The single write connection lives as long as the store, so the limit holds for every later write.
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+2)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Ingest(ctx, "arxiv", bigBatch(now, 100, 200), nil, now)
	if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Ingest into a full store: %v, want ErrDiskFull naming %s", err, path)
	}
	if len(reported) != 1 || !errors.Is(reported[0], ErrDiskFull) {
		t.Errorf("handler heard %v, want the one full-disk error", reported)
	}
	if err := s.DiskFull(); !errors.Is(err, ErrDiskFull) {
		t.Errorf("DiskFull() = %v after SQLITE_FULL", err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		if fi, _ := os.Stat(path + "-wal"); fi.Size() != 0 {
			t.Errorf("WAL is %d bytes after the full-disk checkpoint, want truncated", fi.Size())
		}
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA max_page_count = 1000000"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, "arxiv", bigBatch(now, 100, 200), nil, now); err != nil {
		t.Fatalf("Ingest after space came back: %v", err)
	}
	if err := s.DiskFull(); err != nil {
		t.Errorf("DiskFull() = %v after a successful write, want nil", err)
	}
}

// TestQuickCheck: a healthy store passes; one with a damaged page fails with an error naming the file and how
// to recover.
func TestQuickCheck(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "paperboy.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := s.Ingest(ctx, "arxiv", bigBatch(now, 0, 300), nil, now); err != nil {
		t.Fatal(err)
	}
	if err := s.QuickCheck(ctx); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Scribble over the b-tree page headers past the schema (page 1): the file stays openable, its tables are
	// damaged.
	const pageSize = 8192
	for off := 4 * pageSize; off+64 <= len(data); off += pageSize {
		copy(data[off:off+64], strings.Repeat("\xff", 64))
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Opening may already trip over the damage (it indexes papers an import left pending); either way the
	// error must name the file and how to recover.
	s, err = Open(ctx, path)
	if err == nil {
		defer s.Close()
		err = s.QuickCheck(ctx)
	}
	t.Logf("damaged store: %v", err)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), ".recover") {
		t.Errorf("damaged store: %v, want an error naming %s and how to recover", err, path)
	}
}
