package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Topics of the notifications Listen delivers. Triggers send them at the commit of every transaction that
// creates outbox rows, changes subscriptions, or changes a channel's mode, digest time or block.
const (
	TopicOutbox        = "outbox"
	TopicSubscriptions = "subscriptions"
	TopicChannels      = "channels"
)

// Reconnection backoff and idle check of Listen's connection.
const (
	listenMinBackoff = 250 * time.Millisecond
	listenMaxBackoff = 30 * time.Second
	// listenPing is how long the connection may stay silent before Listen checks it is alive: a server that
	// vanished without closing the connection would otherwise be waited on until TCP gives up, for hours.
	listenPing = 30 * time.Second
)

// Listen calls fn with the topic of every notification of this store's schema (TopicOutbox,
// TopicSubscriptions, TopicChannels), from one goroutine, until ctx ends; it then returns nil. It holds a
// connection of its own, outside the pool. When that connection is lost (a server restart, a network failure),
// Listen reconnects with a growing backoff and, once listening again, calls fn once per topic: notifications sent
// while it was away are lost, so whatever they would have woken must look again. fn should return quickly: the
// next notification waits for it. Close does not stop Listen: end its context.
func (s *Store) Listen(ctx context.Context, fn func(topic string)) error {
	backoff := listenMinBackoff
	for reconnect := false; ; reconnect = true {
		listened, err := s.listen(ctx, fn, reconnect)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			backoff = listenMinBackoff
		}
		// Jitter keeps several instances that lost the server together from reconnecting in lockstep.
		wait := backoff/2 + rand.N(backoff/2+1)
		s.logger.Warn("notification connection lost; reconnecting", "err", err, "retry_in", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listen runs one connection: it listens, replays every topic if catchUp, then delivers notifications until the
// connection fails or ctx ends. listened reports whether it got as far as listening.
func (s *Store) listen(ctx context.Context, fn func(string), catchUp bool) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.listenConfig)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	if catchUp {
		s.logger.Info("notification connection restored")
		for _, t := range []string{TopicOutbox, TopicSubscriptions, TopicChannels} {
			fn(t)
		}
	}
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			fn(n.Payload)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			if err := conn.Ping(ctx); err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		default:
			return true, fmt.Errorf("wait for notification: %w", err)
		}
	}
}
