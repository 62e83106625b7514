package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/health"
)

// sourceHealthV6 keeps what feed health needs beyond source_state (bot/health), as the SQLite store's
// source_health.
const sourceHealthV6 = `
CREATE TABLE source_health (
	source        text   COLLATE "C" PRIMARY KEY,
	failing_since bigint,
	last_batch    bigint,
	arrivals      text   NOT NULL DEFAULT '',
	notice        text   NOT NULL DEFAULT '',
	notice_at     bigint
);
`

// RecordHealth applies one poll's outcome to source's health record (health.Record.Apply), creating it if needed.
// The row is locked while read and written; one poller per source writes it anyway (source leases).
func (s *Store) RecordHealth(ctx context.Context, source string, o health.Observation) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO source_health (source) VALUES ($1) ON CONFLICT DO NOTHING`, source); err != nil {
			return err
		}
		rec, err := scanHealth(tx.QueryRow(ctx, healthSQL+` WHERE source = $1 FOR UPDATE`, source))
		if err != nil {
			return err
		}
		rec = rec.Apply(o)
		_, err = tx.Exec(ctx, `UPDATE source_health SET failing_since = $2, last_batch = $3, arrivals = $4 WHERE source = $1`,
			source, nullNanos(rec.FailingSince), nullNanos(rec.LastBatch), health.EncodeArrivals(rec.Arrivals))
		return err
	})
	if err != nil {
		return fmt.Errorf("record health of %s: %w", source, err)
	}
	return nil
}

// HealthRecords returns every source's health record, by name.
func (s *Store) HealthRecords(ctx context.Context) ([]health.Record, error) {
	rows, err := s.pool.Query(ctx, healthSQL+` ORDER BY source`)
	if err != nil {
		return nil, fmt.Errorf("health records: %w", err)
	}
	defer rows.Close()
	var out []health.Record
	for rows.Next() {
		rec, err := scanHealth(rows)
		if err != nil {
			return nil, fmt.Errorf("health records: %w", err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("health records: %w", err)
	}
	return out, nil
}

// SetNotice moves source's open notice from from to to at at, only if it is from now, and reports whether it did.
// One statement, so that of several instances only one sees its change made.
func (s *Store) SetNotice(ctx context.Context, source string, from, to health.State, at time.Time) (bool, error) {
	// Opening may create the record; closing or changing a notice only updates a record holding from.
	q := `UPDATE source_health SET notice = $3, notice_at = $4 WHERE source = $1 AND notice = $2`
	if from == "" {
		q = `INSERT INTO source_health AS h (source, notice, notice_at) VALUES ($1, $3, $4)
ON CONFLICT (source) DO UPDATE SET notice = excluded.notice, notice_at = excluded.notice_at
	WHERE h.notice = $2`
	}
	tag, err := s.pool.Exec(ctx, q, source, string(from), string(to), at.UnixNano())
	if err != nil {
		return false, fmt.Errorf("set health notice of %s: %w", source, err)
	}
	return tag.RowsAffected() == 1, nil
}

const healthSQL = `SELECT source, failing_since, last_batch, arrivals, notice, notice_at FROM source_health`

func scanHealth(row pgx.Row) (health.Record, error) {
	var rec health.Record
	var failing, batch, noticeAt *int64
	var arrivals, notice string
	if err := row.Scan(&rec.Source, &failing, &batch, &arrivals, &notice, &noticeAt); err != nil {
		return rec, err
	}
	var err error
	if rec.Arrivals, err = health.DecodeArrivals(arrivals); err != nil {
		return rec, fmt.Errorf("source %s: %w", rec.Source, err)
	}
	rec.FailingSince, rec.LastBatch, rec.NoticeAt = nanos(failing), nanos(batch), nanos(noticeAt)
	rec.Notice = health.State(notice)
	return rec, nil
}
