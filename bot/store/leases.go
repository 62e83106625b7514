package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// sourceLeaseMigration adds a lease per source, so that when several processes share the database each source is
// polled by one of them at a time (see ingest.Leases).
const sourceLeaseMigration = `
CREATE TABLE source_leases (
	source      TEXT    PRIMARY KEY,
	owner       TEXT    NOT NULL,
	lease_until INTEGER NOT NULL
) WITHOUT ROWID;
`

// ClaimSource leases source to owner until at+ttl unless another owner holds a lease that has not expired at at,
// and reports whether owner holds it now.
func (s *Store) ClaimSource(ctx context.Context, source, owner string, at time.Time, ttl time.Duration) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO source_leases (source, owner, lease_until) VALUES (?1, ?2, ?3)
		ON CONFLICT (source) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
		WHERE source_leases.owner = excluded.owner OR source_leases.lease_until <= ?4`,
		source, owner, at.Add(ttl).UnixNano(), at.UnixNano())
	if err != nil {
		return false, fmt.Errorf("claim source %s: %w", source, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim source %s: %w", source, err)
	}
	return n == 1, nil
}

// ReleaseSource gives up owner's lease on source, if it holds one. The owner stays recorded as the source's last
// poller, for /papers sources.
func (s *Store) ReleaseSource(ctx context.Context, source, owner string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE source_leases SET lease_until = 0 WHERE source = ? AND owner = ?`, source, owner); err != nil {
		return fmt.Errorf("release source %s: %w", source, err)
	}
	return nil
}

// instancesMigration records when each sender was last alive, so that instances sharing the database split the
// platforms' global rate limits between the live ones.
const instancesMigration = `
CREATE TABLE instances (
	owner   TEXT    PRIMARY KEY,
	seen_at INTEGER NOT NULL
) WITHOUT ROWID;
`

// Heartbeat records owner alive at at and returns how many owners were seen within the last within, at included;
// owners silent for ten times that are forgotten.
func (s *Store) Heartbeat(ctx context.Context, owner string, at time.Time, within time.Duration) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO instances (owner, seen_at) VALUES (?1, ?2)
			ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at`, owner, at.UnixNano()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM instances WHERE seen_at < ?`, at.Add(-10*within).UnixNano()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM instances WHERE seen_at >= ?`, at.Add(-within).UnixNano()).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("heartbeat of %s: %w", owner, err)
	}
	return n, nil
}

// Leave forgets owner, so that the other instances count it out at once.
func (s *Store) Leave(ctx context.Context, owner string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM instances WHERE owner = ?`, owner); err != nil {
		return fmt.Errorf("leave %s: %w", owner, err)
	}
	return nil
}
