package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/store/storetest"
	"github.com/paperboy-bot/paperboy/filters"
)

func openLookupTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestLookupPoolIsolation: look-ups waiting for their pool hold up neither a poll nor a delivery.
func TestLookupPoolIsolation(t *testing.T) {
	s := openLookupTest(t)
	storetest.CheckLookupIsolation(t, s, func(t *testing.T) func() {
		var conns []*sql.Conn
		for range LookupConns() {
			c, err := s.look.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		return func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}
	})
}

// TestLookupCancelled: a look-up's context interrupts its statement inside SQLite (modernc.org/sqlite calls
// sqlite3_interrupt when the context ends), and the pool serves the next look-up.
func TestLookupCancelled(t *testing.T) {
	s := openLookupTest(t)
	// A statement that never ends on its own: only the interrupt can stop it.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	var n int64
	err := s.look.QueryRowContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c`).Scan(&n)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("endless statement with an expiring context: %v (count %d), want context.DeadlineExceeded", err, n)
	}
	q, err := filters.Parse("neural")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Candidates(t.Context(), q.Prefilter(), time.Time{}, 10); err != nil {
		t.Fatalf("look-up after an interrupted one: %v", err)
	}
	done, stop := context.WithCancel(t.Context())
	stop()
	if _, err := s.Candidates(done, q.Prefilter(), time.Time{}, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("Candidates with a cancelled context: %v, want context.Canceled", err)
	}
}
