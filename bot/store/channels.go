package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// channelsMigration adds channels and their subscriptions. A channel row exists once anything was configured for
// it; a channel without a row is in instant mode with no subscriptions.
const channelsMigration = `
CREATE TABLE channels (
	platform   TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	mode       TEXT    NOT NULL DEFAULT 'instant' CHECK (mode IN ('instant', 'digest')),
	digest_at  TEXT    NOT NULL DEFAULT '',
	digest_tz  TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	PRIMARY KEY (platform, id)
) WITHOUT ROWID;

CREATE TABLE subscriptions (
	id          INTEGER PRIMARY KEY,
	platform    TEXT    NOT NULL,
	channel_id  TEXT    NOT NULL,
	query       TEXT    NOT NULL,
	canonical   TEXT    NOT NULL,
	added_by    TEXT    NOT NULL DEFAULT '',
	added_at    INTEGER NOT NULL,
	from_config INTEGER NOT NULL DEFAULT 0,
	UNIQUE (platform, channel_id, canonical),
	FOREIGN KEY (platform, channel_id) REFERENCES channels(platform, id) ON DELETE CASCADE
);
`

// leaseMigration adds a real change counter for subscriptions, bumped by triggers whoever writes (a count of
// rowids is fooled by SQLite reusing the highest rowid), and a lease per channel, so that one sender at a time
// delivers to a channel even when several processes share the database.
const leaseMigration = `
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('subscriptions', 0);
CREATE TRIGGER subscriptions_count_insert AFTER INSERT ON subscriptions BEGIN
	UPDATE counters SET value = value + 1 WHERE name = 'subscriptions';
END;
CREATE TRIGGER subscriptions_count_delete AFTER DELETE ON subscriptions BEGIN
	UPDATE counters SET value = value + 1 WHERE name = 'subscriptions';
END;
CREATE TRIGGER subscriptions_count_update AFTER UPDATE ON subscriptions BEGIN
	UPDATE counters SET value = value + 1 WHERE name = 'subscriptions';
END;

ALTER TABLE channels ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
`

func ensureChannel(ctx context.Context, tx *sql.Tx, ref channel.Ref, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO channels (platform, id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		ref.Platform, ref.ID, now.UnixNano())
	if err != nil {
		return fmt.Errorf("create channel %s: %w", ref, err)
	}
	return nil
}

// inTx runs fn in one write transaction.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return s.wrote(ctx, err)
	}
	return s.wrote(ctx, tx.Commit())
}

// AddSubscription stores sub (its ID is ignored) and returns it with its new ID. A subscription whose canonical
// query the channel already follows is ErrDuplicate.
func (s *Store) AddSubscription(ctx context.Context, sub channel.Subscription) (channel.Subscription, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := ensureChannel(ctx, tx, sub.Channel, sub.AddedAt); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (platform, channel_id, query, canonical, added_by, added_at, from_config)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			sub.Channel.Platform, sub.Channel.ID, sub.Query, sub.Canonical, sub.AddedBy, sub.AddedAt.UnixNano(), sub.FromConfig)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return channel.ErrDuplicate
		}
		sub.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return channel.Subscription{}, fmt.Errorf("add subscription %q to %s: %w", sub.Canonical, sub.Channel, err)
	}
	return sub, nil
}

// RemoveSubscription deletes subscription id of channel ch; ErrNotFound if the channel has no such subscription.
func (s *Store) RemoveSubscription(ctx context.Context, ch channel.Ref, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM subscriptions WHERE id = ? AND platform = ? AND channel_id = ?`, id, ch.Platform, ch.ID)
	if err != nil {
		return fmt.Errorf("remove subscription %d of %s: %w", id, ch, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("remove subscription %d of %s: %w", id, ch, channel.ErrNotFound)
	}
	return nil
}

const subColumns = `id, platform, channel_id, query, canonical, added_by, added_at, from_config`

func scanSubs(rows *sql.Rows) ([]channel.Subscription, error) {
	defer rows.Close()
	var out []channel.Subscription
	for rows.Next() {
		var sub channel.Subscription
		var at int64
		if err := rows.Scan(&sub.ID, &sub.Channel.Platform, &sub.Channel.ID, &sub.Query, &sub.Canonical, &sub.AddedBy, &at, &sub.FromConfig); err != nil {
			return nil, err
		}
		sub.AddedAt = time.Unix(0, at).UTC()
		out = append(out, sub)
	}
	return out, rows.Err()
}

// Subscriptions returns channel ch's subscriptions in the order they were added (their numbers in /papers list).
func (s *Store) Subscriptions(ctx context.Context, ch channel.Ref) ([]channel.Subscription, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+subColumns+` FROM subscriptions WHERE platform = ? AND channel_id = ? ORDER BY id`, ch.Platform, ch.ID)
	if err != nil {
		return nil, fmt.Errorf("subscriptions of %s: %w", ch, err)
	}
	subs, err := scanSubs(rows)
	if err != nil {
		return nil, fmt.Errorf("subscriptions of %s: %w", ch, err)
	}
	return subs, nil
}

// AllSubscriptions returns every channel's subscriptions, for compiling the matcher.
func (s *Store) AllSubscriptions(ctx context.Context) ([]channel.Subscription, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+subColumns+` FROM subscriptions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("all subscriptions: %w", err)
	}
	subs, err := scanSubs(rows)
	if err != nil {
		return nil, fmt.Errorf("all subscriptions: %w", err)
	}
	return subs, nil
}

// SubscriptionsVersion changes whenever a subscription is added, removed or changed, by this process or another
// (a `paperboy cmd` next to a running bot), so the router knows when to recompile its matcher.
func (s *Store) SubscriptionsVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'subscriptions'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("subscriptions version: %w", err)
	}
	return v, nil
}

// Claim leases ch to owner until at+ttl unless another owner holds a lease that has not expired at at, and
// reports whether owner holds it now.
func (s *Store) Claim(ctx context.Context, ch channel.Ref, owner string, at time.Time, ttl time.Duration) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO channels (platform, id, created_at, lease_owner, lease_until) VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT (platform, id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
		WHERE channels.lease_owner IN ('', excluded.lease_owner) OR channels.lease_until <= ?3`,
		ch.Platform, ch.ID, at.UnixNano(), owner, at.Add(ttl).UnixNano())
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", ch, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", ch, err)
	}
	return n == 1, nil
}

// Release gives up owner's lease on ch, if it holds one.
func (s *Store) Release(ctx context.Context, ch channel.Ref, owner string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE channels SET lease_owner = '', lease_until = 0
		WHERE platform = ? AND id = ? AND lease_owner = ?`, ch.Platform, ch.ID, owner); err != nil {
		return fmt.Errorf("release %s: %w", ch, err)
	}
	return nil
}

// Channel returns ch's settings; a channel never configured is instant.
func (s *Store) Channel(ctx context.Context, ch channel.Ref) (channel.Channel, error) {
	c := channel.Channel{Ref: ch, Mode: channel.ModeInstant}
	var blockedAt sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT mode, digest_at, digest_tz, blocked, blocked_at FROM channels WHERE platform = ? AND id = ?`, ch.Platform, ch.ID).
		Scan(&c.Mode, &c.DigestAt, &c.DigestTZ, &c.Blocked, &blockedAt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return channel.Channel{}, fmt.Errorf("channel %s: %w", ch, err)
	}
	if c.Blocked != "" && blockedAt.Valid {
		c.BlockedAt = time.Unix(0, blockedAt.Int64).UTC()
	}
	return c, nil
}

// BlockedChannels lists the channels delivery stopped for, with the reason.
func (s *Store) BlockedChannels(ctx context.Context) ([]channel.Channel, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT platform, id, mode, digest_at, digest_tz, blocked, blocked_at FROM channels WHERE blocked <> '' ORDER BY platform, id`)
	if err != nil {
		return nil, fmt.Errorf("blocked channels: %w", err)
	}
	defer rows.Close()
	var out []channel.Channel
	for rows.Next() {
		var c channel.Channel
		var blockedAt sql.NullInt64
		if err := rows.Scan(&c.Ref.Platform, &c.Ref.ID, &c.Mode, &c.DigestAt, &c.DigestTZ, &c.Blocked, &blockedAt); err != nil {
			return nil, fmt.Errorf("blocked channels: %w", err)
		}
		if blockedAt.Valid {
			c.BlockedAt = time.Unix(0, blockedAt.Int64).UTC()
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetChannelMode stores c's mode and digest time; at is when, should the channel be new.
func (s *Store) SetChannelMode(ctx context.Context, c channel.Channel, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO channels (platform, id, mode, digest_at, digest_tz, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform, id) DO UPDATE SET mode = excluded.mode, digest_at = excluded.digest_at, digest_tz = excluded.digest_tz,
			-- Switching into digest mode restarts the digest clock, so an old digest time cannot fire at once.
			last_digest_at = CASE WHEN channels.mode <> excluded.mode THEN NULL ELSE channels.last_digest_at END`,
		c.Ref.Platform, c.Ref.ID, c.Mode, c.DigestAt, c.DigestTZ, at.UnixNano())
	if err != nil {
		return fmt.Errorf("set mode of %s: %w", c.Ref, err)
	}
	return nil
}

// SyncConfigChannels makes the configuration-managed subscriptions match chans, in one transaction: missing ones
// are added (at now), ones no longer configured are removed. Subscriptions added by commands are left alone; a
// configured query that a command already added becomes configuration-managed. It first compares on a read
// connection and takes the write lock only when something differs, so that a command or a restart with an
// unchanged configuration never waits for, or blocks, a running bot.
func (s *Store) SyncConfigChannels(ctx context.Context, chans []channel.ConfigChannel, now time.Time) error {
	d, err := configDiff(ctx, s.r, chans)
	if err != nil {
		return fmt.Errorf("sync configured channels: %w", err)
	}
	if d.Empty() {
		return nil
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Compared again under the write lock: another process may have changed the subscriptions since.
		d, err := configDiff(ctx, tx, chans)
		if err != nil {
			return err
		}
		return applyConfigDiff(ctx, tx, d, now)
	})
	if err != nil {
		return fmt.Errorf("sync configured channels: %w", err)
	}
	return nil
}

// querier is a connection pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// configDiff reads the stored channels and subscriptions through q and compares them with chans.
func configDiff(ctx context.Context, q querier, chans []channel.ConfigChannel) (channel.ConfigDiff, error) {
	known := map[channel.Ref]bool{}
	rows, err := q.QueryContext(ctx, `SELECT platform, id FROM channels`)
	if err != nil {
		return channel.ConfigDiff{}, fmt.Errorf("read channels: %w", err)
	}
	for rows.Next() {
		var r channel.Ref
		if err := rows.Scan(&r.Platform, &r.ID); err != nil {
			_ = rows.Close()
			return channel.ConfigDiff{}, fmt.Errorf("read channels: %w", err)
		}
		known[r] = true
	}
	if err := rows.Close(); err != nil {
		return channel.ConfigDiff{}, fmt.Errorf("read channels: %w", err)
	}
	rows, err = q.QueryContext(ctx, `SELECT id, platform, channel_id, canonical, from_config FROM subscriptions`)
	if err != nil {
		return channel.ConfigDiff{}, fmt.Errorf("read subscriptions: %w", err)
	}
	defer rows.Close()
	var stored []channel.Subscription
	for rows.Next() {
		var sub channel.Subscription
		if err := rows.Scan(&sub.ID, &sub.Channel.Platform, &sub.Channel.ID, &sub.Canonical, &sub.FromConfig); err != nil {
			return channel.ConfigDiff{}, fmt.Errorf("read subscriptions: %w", err)
		}
		stored = append(stored, sub)
	}
	if err := rows.Err(); err != nil {
		return channel.ConfigDiff{}, fmt.Errorf("read subscriptions: %w", err)
	}
	return channel.DiffConfig(chans, known, stored), nil
}

// configChunk bounds the rows one statement of applyConfigDiff takes, and so the size of its JSON argument.
const configChunk = 10_000

// applyConfigDiff writes d in tx, a chunk of rows per statement: the subscriptions triggers make SQLite keep a
// statement journal, which costs a page write per statement and touched page, so row-at-a-time statements make
// a first start with 100k subscriptions several times slower.
func applyConfigDiff(ctx context.Context, tx *sql.Tx, d channel.ConfigDiff, now time.Time) error {
	at := now.UnixNano()
	chans := make([][2]string, len(d.NewChannels))
	for i, r := range d.NewChannels {
		chans[i] = [2]string{r.Platform, r.ID}
	}
	if err := inChunks(ctx, tx, "create channels", `INSERT INTO channels (platform, id, created_at)
		SELECT value->>0, value->>1, ?2 FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`, chans, at); err != nil {
		return err
	}
	if err := inChunks(ctx, tx, "remove unconfigured subscriptions",
		`DELETE FROM subscriptions WHERE id IN (SELECT value FROM json_each(?1))`, d.Remove); err != nil {
		return err
	}
	if err := inChunks(ctx, tx, "adopt subscriptions",
		`UPDATE subscriptions SET from_config = 1 WHERE id IN (SELECT value FROM json_each(?1))`, d.Adopt); err != nil {
		return err
	}
	add := make([][4]string, len(d.Add))
	for i, a := range d.Add {
		add[i] = [4]string{a.Channel.Platform, a.Channel.ID, a.Query, a.Canonical}
	}
	// ORDER BY key keeps the configured order in the new ids (their /papers list numbers).
	return inChunks(ctx, tx, "add configured subscriptions", `INSERT INTO subscriptions (platform, channel_id, query, canonical, added_by, added_at, from_config)
		SELECT value->>0, value->>1, value->>2, value->>3, 'config', ?2, 1 FROM json_each(?1) ORDER BY key`, add, at)
}

// inChunks runs query once per configChunk rows, with the chunk as JSON in ?1 and args after it.
func inChunks[T any](ctx context.Context, tx *sql.Tx, what, query string, rows []T, args ...any) error {
	for chunk := range slices.Chunk(rows, configChunk) {
		data, err := json.Marshal(chunk)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if _, err := tx.ExecContext(ctx, query, append([]any{string(data)}, args...)...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}
