package store

import (
	"context"
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

// ReleaseSource gives up owner's lease on source, if it holds one.
func (s *Store) ReleaseSource(ctx context.Context, source, owner string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM source_leases WHERE source = ? AND owner = ?`, source, owner); err != nil {
		return fmt.Errorf("release source %s: %w", source, err)
	}
	return nil
}
