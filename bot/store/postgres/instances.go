package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// instancesV2 records when each sender was last alive, so that instances sharing the database split the
// platforms' global rate limits between the live ones.
const instancesV2 = `
CREATE TABLE instances (
	owner   text   COLLATE "C" PRIMARY KEY,
	seen_at bigint NOT NULL
);
`

// Heartbeat records owner alive at at and returns how many owners were seen within the last within, at included;
// owners silent for ten times that are forgotten.
func (s *Store) Heartbeat(ctx context.Context, owner string, at time.Time, within time.Duration) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO instances (owner, seen_at) VALUES ($1, $2)
			ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at`, owner, at.UnixNano()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM instances WHERE seen_at < $1`, at.Add(-10*within).UnixNano()); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM instances WHERE seen_at >= $1`, at.Add(-within).UnixNano()).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("heartbeat of %s: %w", owner, err)
	}
	return n, nil
}

// Leave forgets owner, so that the other instances count it out at once.
func (s *Store) Leave(ctx context.Context, owner string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM instances WHERE owner = $1`, owner); err != nil {
		return fmt.Errorf("leave %s: %w", owner, err)
	}
	return nil
}
