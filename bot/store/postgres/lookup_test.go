package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/paperboy-bot/paperboy/bot/store/storetest"
	"github.com/paperboy-bot/paperboy/filters"
)

// TestLookupPoolIsolation: look-ups waiting for their pool hold up neither a poll nor a delivery.
func TestLookupPoolIsolation(t *testing.T) {
	s, _ := openTest(t)
	storetest.CheckLookupIsolation(t, s, func(t *testing.T) func() {
		var conns []*pgxpool.Conn
		for range LookupConns {
			c, err := s.lookups.Acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		return func() {
			for _, c := range conns {
				c.Release()
			}
		}
	})
}

// TestLookupCancelled: a look-up's context cancels its statement on the server (pgx sends a cancel request when
// the context ends), and the pool serves the next look-up.
func TestLookupCancelled(t *testing.T) {
	s, _ := openTest(t)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := s.lookups.Exec(ctx, `SELECT pg_sleep(3600)`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("endless statement with an expiring context: %v, want context.DeadlineExceeded", err)
	}
	var timeout string
	if err := s.lookups.QueryRow(t.Context(), `SHOW statement_timeout`).Scan(&timeout); err != nil || timeout != lookupStatementTimeout {
		t.Errorf("look-up sessions' statement_timeout = %q, %v; want the %s backstop", timeout, err, lookupStatementTimeout)
	}
	q, err := filters.Parse("neural")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Candidates(t.Context(), q.Prefilter(), time.Time{}, 10); err != nil {
		t.Fatalf("look-up after a cancelled one: %v", err)
	}
}
