package delivery

import (
	"context"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// InFlight records which rows are being sent, so that a restart can tell the sends a crash interrupted. Slack has
// no idempotency key: a message it took just before the process died is posted again, and only this record says
// which may have been (one per worker in flight at the crash).
type InFlight interface {
	// MarkSending records that a send of rows ids starts at at (channel.OutboxItem.SendingAt); the zero at records
	// that the send ended without being posted.
	MarkSending(ctx context.Context, ids []int64, at time.Time) error
}

// markSending records that items are about to be sent, and warns about those a previous send left in flight
// without an outcome: a process died during it, and the platform may have posted them already. The record is
// advice, not a guard: when it cannot be written, the send goes ahead.
func (e *Sender) markSending(ctx context.Context, msgNonce string, items []channel.OutboxItem, ids []int64, at time.Time) {
	for _, it := range items {
		if !it.SendingAt.IsZero() {
			e.logger().Warn("sending again a message that was in flight when a paperboy process stopped; a platform without "+
				"a nonce (Slack, the console) may show it twice", "channel", it.Channel.String(), "paper", it.Paper.Key,
				"nonce", msgNonce, "in_flight_since", it.SendingAt)
			break
		}
	}
	if err := e.store.MarkSending(ctx, ids, at); err != nil {
		e.logger().Warn("record a send in flight", "err", err)
	}
}
