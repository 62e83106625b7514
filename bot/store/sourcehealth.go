package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/health"
)

// sourceHealthMigration keeps what feed health needs beyond source_state (bot/health): since when a source fails,
// when its current batch was first seen, the times of its latest new papers, and the open notice, so that a
// restart neither forgets nor repeats it.
const sourceHealthMigration = `
CREATE TABLE source_health (
	source        TEXT    PRIMARY KEY,
	failing_since INTEGER,
	last_batch    INTEGER,
	arrivals      TEXT    NOT NULL DEFAULT '',
	notice        TEXT    NOT NULL DEFAULT '',
	notice_at     INTEGER
) WITHOUT ROWID;
`

// RecordHealth applies one poll's outcome to source's health record (health.Record.Apply), creating it if needed.
func (s *Store) RecordHealth(ctx context.Context, source string, o health.Observation) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rec, err := scanHealth(tx.QueryRowContext(ctx, healthSQL+` WHERE source = ?`, source))
		if errors.Is(err, sql.ErrNoRows) {
			rec, err = health.Record{Source: source}, nil
		}
		if err != nil {
			return err
		}
		rec = rec.Apply(o)
		_, err = tx.ExecContext(ctx, `
INSERT INTO source_health (source, failing_since, last_batch, arrivals) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (source) DO UPDATE SET failing_since = excluded.failing_since, last_batch = excluded.last_batch,
	arrivals = excluded.arrivals`,
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
	rows, err := s.r.QueryContext(ctx, healthSQL+` ORDER BY source`)
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
func (s *Store) SetNotice(ctx context.Context, source string, from, to health.State, at time.Time) (bool, error) {
	// Opening may create the record; closing or changing a notice only updates a record holding from.
	q := `UPDATE source_health SET notice = ?3, notice_at = ?4 WHERE source = ?1 AND notice = ?2`
	if from == "" {
		q = `INSERT INTO source_health (source, notice, notice_at) VALUES (?1, ?3, ?4)
ON CONFLICT (source) DO UPDATE SET notice = excluded.notice, notice_at = excluded.notice_at
	WHERE source_health.notice = ?2`
	}
	res, err := s.w.ExecContext(ctx, q, source, string(from), string(to), at.UnixNano())
	if err = s.wrote(ctx, err); err != nil {
		return false, fmt.Errorf("set health notice of %s: %w", source, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("set health notice of %s: %w", source, err)
	}
	return n == 1, nil
}

const healthSQL = `SELECT source, failing_since, last_batch, arrivals, notice, notice_at FROM source_health`

func scanHealth(row interface{ Scan(...any) error }) (health.Record, error) {
	var rec health.Record
	var failing, batch, noticeAt sql.NullInt64
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
