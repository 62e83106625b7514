package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// inTx runs fn in one transaction.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// ensureChannel creates ch's row if it has none; at is its creation time.
func ensureChannel(ctx context.Context, tx pgx.Tx, ref channel.Ref, at time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO channels (platform, id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		ref.Platform, ref.ID, at.UnixNano()); err != nil {
		return fmt.Errorf("create channel %s: %w", ref, err)
	}
	return nil
}

// AddSubscription stores sub (its ID is ignored) and returns it with its new ID. A subscription whose canonical
// query the channel already follows is channel.ErrDuplicate.
func (s *Store) AddSubscription(ctx context.Context, sub channel.Subscription) (channel.Subscription, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := ensureChannel(ctx, tx, sub.Channel, sub.AddedAt); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `
INSERT INTO subscriptions (platform, channel_id, query, canonical, added_by, added_at, from_config)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
			sub.Channel.Platform, sub.Channel.ID, sub.Query, sub.Canonical, sub.AddedBy, sub.AddedAt.UnixNano(), sub.FromConfig).
			Scan(&sub.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return channel.ErrDuplicate
		}
		return err
	})
	if err != nil {
		return channel.Subscription{}, fmt.Errorf("add subscription %q to %s: %w", sub.Canonical, sub.Channel, err)
	}
	return sub, nil
}

// RemoveSubscription deletes subscription id of channel ch; channel.ErrNotFound if the channel has no such
// subscription.
func (s *Store) RemoveSubscription(ctx context.Context, ch channel.Ref, id int64) error {
	ct, err := s.pool.Exec(ctx, `DELETE FROM subscriptions WHERE id = $1 AND platform = $2 AND channel_id = $3`, id, ch.Platform, ch.ID)
	if err != nil {
		return fmt.Errorf("remove subscription %d of %s: %w", id, ch, err)
	}
	if ct.RowsAffected() == 0 {
		return fmt.Errorf("remove subscription %d of %s: %w", id, ch, channel.ErrNotFound)
	}
	return nil
}

const subColumns = `id, platform, channel_id, query, canonical, added_by, added_at, from_config`

func scanSubs(rows pgx.Rows) ([]channel.Subscription, error) {
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
	rows, err := s.pool.Query(ctx, `SELECT `+subColumns+` FROM subscriptions WHERE platform = $1 AND channel_id = $2 ORDER BY id`, ch.Platform, ch.ID)
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
	rows, err := s.pool.Query(ctx, `SELECT `+subColumns+` FROM subscriptions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("all subscriptions: %w", err)
	}
	subs, err := scanSubs(rows)
	if err != nil {
		return nil, fmt.Errorf("all subscriptions: %w", err)
	}
	return subs, nil
}

// SubscriptionsVersion changes whenever a subscription is added, removed or changed, by any instance or tool,
// so that routers know when to recompile their matchers. Triggers bump it, in the transaction of the change.
func (s *Store) SubscriptionsVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT value FROM counters WHERE name = 'subscriptions'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("subscriptions version: %w", err)
	}
	return v, nil
}

// Claim leases ch to owner until at+ttl unless another owner holds a lease that has not expired at at, and
// reports whether owner holds it now. Claiming a channel owner already holds extends the lease. It never waits
// for a lease: a held channel answers false at once.
func (s *Store) Claim(ctx context.Context, ch channel.Ref, owner string, at time.Time, ttl time.Duration) (bool, error) {
	ct, err := s.pool.Exec(ctx, `
INSERT INTO channels AS c (platform, id, created_at, lease_owner, lease_until) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (platform, id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
WHERE c.lease_owner IN ('', excluded.lease_owner) OR c.lease_until <= $3`,
		ch.Platform, ch.ID, at.UnixNano(), owner, at.Add(ttl).UnixNano())
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", ch, err)
	}
	return ct.RowsAffected() == 1, nil
}

// Release gives up owner's lease on ch, if it holds one.
func (s *Store) Release(ctx context.Context, ch channel.Ref, owner string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE channels SET lease_owner = '', lease_until = 0
		WHERE platform = $1 AND id = $2 AND lease_owner = $3`, ch.Platform, ch.ID, owner); err != nil {
		return fmt.Errorf("release %s: %w", ch, err)
	}
	return nil
}

// ClaimSource leases source to owner until at+ttl unless another owner holds a lease that has not expired at
// at, and reports whether owner holds it now: of several instances, the one holding a source's lease polls it.
// Claiming a source owner already holds extends the lease; if the holder dies, its lease expires and another
// instance claims the source.
func (s *Store) ClaimSource(ctx context.Context, source, owner string, at time.Time, ttl time.Duration) (bool, error) {
	ct, err := s.pool.Exec(ctx, `
INSERT INTO source_leases AS l (source, lease_owner, lease_until) VALUES ($1, $2, $3)
ON CONFLICT (source) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
WHERE l.lease_owner = excluded.lease_owner OR l.lease_until <= $4`,
		source, owner, at.Add(ttl).UnixNano(), at.UnixNano())
	if err != nil {
		return false, fmt.Errorf("claim source %s: %w", source, err)
	}
	return ct.RowsAffected() == 1, nil
}

// ReleaseSource gives up owner's lease on source, if it holds one, so that another instance may poll it at once.
// The owner stays recorded as the source's last poller, for /papers sources.
func (s *Store) ReleaseSource(ctx context.Context, source, owner string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE source_leases SET lease_until = 0 WHERE source = $1 AND lease_owner = $2`,
		source, owner); err != nil {
		return fmt.Errorf("release source %s: %w", source, err)
	}
	return nil
}

// Channel returns ch's settings; a channel never configured is instant.
func (s *Store) Channel(ctx context.Context, ch channel.Ref) (channel.Channel, error) {
	c := channel.Channel{Ref: ch, Mode: channel.ModeInstant}
	var blockedAt *int64
	err := s.pool.QueryRow(ctx, `SELECT mode, digest_at, digest_tz, blocked, blocked_at FROM channels WHERE platform = $1 AND id = $2`, ch.Platform, ch.ID).
		Scan(&c.Mode, &c.DigestAt, &c.DigestTZ, &c.Blocked, &blockedAt)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return channel.Channel{}, fmt.Errorf("channel %s: %w", ch, err)
	}
	if c.Blocked != "" && blockedAt != nil {
		c.BlockedAt = time.Unix(0, *blockedAt).UTC()
	}
	return c, nil
}

// BlockedChannels lists the channels delivery stopped for, with the reason.
func (s *Store) BlockedChannels(ctx context.Context) ([]channel.Channel, error) {
	rows, err := s.pool.Query(ctx, `SELECT platform, id, mode, digest_at, digest_tz, blocked, blocked_at FROM channels
		WHERE blocked <> '' ORDER BY platform, id`)
	if err != nil {
		return nil, fmt.Errorf("blocked channels: %w", err)
	}
	defer rows.Close()
	var out []channel.Channel
	for rows.Next() {
		var c channel.Channel
		var blockedAt *int64
		if err := rows.Scan(&c.Ref.Platform, &c.Ref.ID, &c.Mode, &c.DigestAt, &c.DigestTZ, &c.Blocked, &blockedAt); err != nil {
			return nil, fmt.Errorf("blocked channels: %w", err)
		}
		if blockedAt != nil {
			c.BlockedAt = time.Unix(0, *blockedAt).UTC()
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("blocked channels: %w", err)
	}
	return out, nil
}

// SetChannelMode stores c's mode and digest time; at is when, should the channel be new.
func (s *Store) SetChannelMode(ctx context.Context, c channel.Channel, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `
INSERT INTO channels AS c (platform, id, mode, digest_at, digest_tz, created_at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (platform, id) DO UPDATE SET mode = excluded.mode, digest_at = excluded.digest_at, digest_tz = excluded.digest_tz,
	-- Switching into digest mode restarts the digest clock, so an old digest time cannot fire at once.
	last_digest_at = CASE WHEN c.mode <> excluded.mode THEN NULL ELSE c.last_digest_at END`,
		c.Ref.Platform, c.Ref.ID, c.Mode, c.DigestAt, c.DigestTZ, at.UnixNano()); err != nil {
		return fmt.Errorf("set mode of %s: %w", c.Ref, err)
	}
	return nil
}

// SyncConfigChannels makes the configuration-managed subscriptions match chans, in one transaction: missing ones
// are added (at now), ones no longer configured are removed. Subscriptions added by commands are left alone; a
// configured query that a command already added becomes configuration-managed. It compares first and writes only
// when something differs, so that instances restarting with an unchanged configuration write nothing.
func (s *Store) SyncConfigChannels(ctx context.Context, chans []channel.ConfigChannel, now time.Time) error {
	d, err := configDiff(ctx, s.pool, chans)
	if err != nil {
		return fmt.Errorf("sync configured channels: %w", err)
	}
	if d.Empty() {
		return nil
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// Compared again inside the transaction: another instance or command may have changed them since.
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

// querier is the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// configDiff reads the stored channels and subscriptions through q and compares them with chans.
func configDiff(ctx context.Context, q querier, chans []channel.ConfigChannel) (channel.ConfigDiff, error) {
	known := map[channel.Ref]bool{}
	rows, err := q.Query(ctx, `SELECT platform, id FROM channels`)
	if err != nil {
		return channel.ConfigDiff{}, fmt.Errorf("read channels: %w", err)
	}
	var r channel.Ref
	if _, err := pgx.ForEachRow(rows, []any{&r.Platform, &r.ID}, func() error {
		known[r] = true
		return nil
	}); err != nil {
		return channel.ConfigDiff{}, fmt.Errorf("read channels: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT id, platform, channel_id, canonical, from_config FROM subscriptions`)
	if err != nil {
		return channel.ConfigDiff{}, fmt.Errorf("read subscriptions: %w", err)
	}
	var stored []channel.Subscription
	var sub channel.Subscription
	if _, err := pgx.ForEachRow(rows, []any{&sub.ID, &sub.Channel.Platform, &sub.Channel.ID, &sub.Canonical, &sub.FromConfig}, func() error {
		stored = append(stored, sub)
		return nil
	}); err != nil {
		return channel.ConfigDiff{}, fmt.Errorf("read subscriptions: %w", err)
	}
	return channel.DiffConfig(chans, known, stored), nil
}

// applyConfigDiff writes d in tx, one set-based statement per kind of change.
func applyConfigDiff(ctx context.Context, tx pgx.Tx, d channel.ConfigDiff, now time.Time) error {
	if len(d.NewChannels) > 0 {
		plat, id := make([]string, len(d.NewChannels)), make([]string, len(d.NewChannels))
		for i, r := range d.NewChannels {
			plat[i], id[i] = r.Platform, r.ID
		}
		if _, err := tx.Exec(ctx, `
INSERT INTO channels (platform, id, created_at)
SELECT p, i, $3 FROM unnest($1::text[], $2::text[]) AS r(p, i) ORDER BY p, i
ON CONFLICT DO NOTHING`, plat, id, now.UnixNano()); err != nil {
			return fmt.Errorf("create channels: %w", err)
		}
	}
	if len(d.Remove) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM subscriptions WHERE id = ANY($1) AND from_config`, d.Remove); err != nil {
			return fmt.Errorf("remove unconfigured subscriptions: %w", err)
		}
	}
	if len(d.Adopt) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE subscriptions SET from_config = true WHERE id = ANY($1)`, d.Adopt); err != nil {
			return fmt.Errorf("adopt subscriptions: %w", err)
		}
	}
	if len(d.Add) == 0 {
		return nil
	}
	n := len(d.Add)
	plat, chanID, query, canon := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, a := range d.Add {
		plat[i], chanID[i], query[i], canon[i] = a.Channel.Platform, a.Channel.ID, a.Query, a.Canonical
	}
	// WITH ORDINALITY keeps the configured order in the new subscriptions' ids (their /papers list order). A
	// command adding the same query in the meantime is adopted rather than failing the start.
	if _, err := tx.Exec(ctx, `
INSERT INTO subscriptions AS s (platform, channel_id, query, canonical, added_by, added_at, from_config)
SELECT p, c, q, k, 'config', $5, true FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS r(p, c, q, k, n)
ORDER BY n
ON CONFLICT (platform, channel_id, canonical) DO UPDATE SET from_config = true WHERE NOT s.from_config`,
		plat, chanID, query, canon, now.UnixNano()); err != nil {
		return fmt.Errorf("add configured subscriptions: %w", err)
	}
	return nil
}
