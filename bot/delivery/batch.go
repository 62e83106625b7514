package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

// Batches is how the sender gives digests a stable identity: the rows of a digest are stored as a batch before it
// is sent, so that a digest a crash (or a failed send) interrupted is sent again as the same message, with the
// same nonce and the same papers, and papers that arrived since wait for the next one.
type Batches interface {
	// OpenBatch stores a digest of kind and title made of ch's unsent rows ids (taking them out of any batch they
	// were in) and returns its id; channel.ErrBatchStale when a row is no longer an unsent row of ch.
	OpenBatch(ctx context.Context, ch channel.Ref, kind, title string, ids []int64, at time.Time) (int64, error)
	// OpenBatches lists ch's batches that still have unsent rows, oldest first.
	OpenBatches(ctx context.Context, ch channel.Ref) ([]channel.Batch, error)
}

// BatchNonce is the nonce of digest batch id: the same for every send of the batch, so that Discord, which
// deduplicates by nonce (enforce_nonce) within a few minutes, posts a batch once even when a crash interrupted
// the send after Discord created the message. Row nonces are "pb-<row id>"; batches have their own prefix.
func BatchNonce(id int64) string { return "pbd-b" + strconv.FormatInt(id, 10) }

// resumeBatches sends ch's digests that were stored but not (all) recorded as sent: a crash or a failed send
// interrupted them. They go first, as they were, before anything newer is looked at. It reports whether one was a
// daily digest: that was the channel's digest for its time, and papers that arrived since wait for the next.
func (e *Sender) resumeBatches(ctx context.Context, plat bot.Platform, ch channel.Ref) (daily bool, err error) {
	batches, err := e.store.OpenBatches(ctx, ch)
	if err != nil {
		return false, err
	}
	for _, b := range batches {
		e.logger().Info("sending a digest again that was interrupted before its delivery was recorded",
			"channel", ch.String(), "batch", b.ID, "kind", b.Kind, "papers", len(b.Items))
		if err := e.sendBatch(ctx, plat, b); err != nil {
			return daily, err
		}
		if b.Kind == channel.BatchDaily {
			daily = true
			if err := e.store.SetLastDigest(ctx, ch, e.now()); err != nil {
				return daily, err
			}
		}
	}
	return daily, nil
}

// sendDigest posts items as one digest message, best first, and marks them all sent (those beyond the card
// limit are counted in the message). The rows are stored as a batch first (see Batches).
func (e *Sender) sendDigest(ctx context.Context, plat bot.Platform, ch channel.Ref, kind string, items []channel.OutboxItem, title string) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	id, err := e.store.OpenBatch(ctx, ch, kind, title, ids, e.now())
	if err != nil {
		return err
	}
	return e.sendBatch(ctx, plat, channel.Batch{ID: id, Channel: ch, Kind: kind, Title: title, Items: items})
}

// sendBatch posts batch b as one digest. A digest the platform refuses as malformed is split in two new batches.
func (e *Sender) sendBatch(ctx context.Context, plat bot.Platform, b channel.Batch) error {
	items := b.Items
	ranked := slices.Clone(items)
	RankDigest(ranked)
	var why map[string]string
	if e.ranker != nil {
		// The channel's votes reorder the digest once there are enough of them; without them, or when they
		// cannot be read, the digest keeps its usual order rather than wait.
		r, w, ok, err := e.ranker.RankDigest(ctx, b.Channel, ranked)
		switch {
		case err != nil:
			e.logger().Warn("digest keeps its usual order: could not rank it by the channel's votes", "channel", b.Channel.String(), "batch", b.ID, "err", err)
		case ok && len(r) == len(ranked):
			ranked, why = r, w
		}
	}
	msg := bot.Message{Channel: b.Channel, Digest: true, Title: b.Title, Nonce: BatchNonce(b.ID)}
	for _, it := range ranked[:min(e.cards, len(ranked))] {
		msg.Cards = append(msg.Cards, bot.Card{Paper: it.Paper, Matched: it.Matched, Why: why[it.Paper.Key]})
	}
	msg.Overflow = len(ranked) - len(msg.Cards)
	err := e.send(ctx, plat, msg, items)
	var rb *rejectedBatch
	if !errors.As(err, &rb) {
		return err
	}
	// Halving finds the refused paper in log2(n) more messages, and every other paper still goes out.
	half := len(items) / 2
	if err := e.sendDigest(ctx, plat, b.Channel, b.Kind, items[:half], b.Title); err != nil {
		return fmt.Errorf("first half of batch %d: %w", b.ID, err)
	}
	return e.sendDigest(ctx, plat, b.Channel, b.Kind, items[half:], b.Title)
}

// Charts draws the chart a weekly digest starts with: the channel's papers per week and rising terms (what
// /papers trends shows). *command.Commander implements it.
type Charts interface {
	// WeeklyChart returns the chart of ch and the text that goes with it.
	WeeklyChart(ctx context.Context, ch channel.Ref) (text string, chart bot.File, err error)
}

// sendWeekly posts a weekly digest: the rows are stored as a batch (kind daily: the channel's scheduled digest),
// then the chart goes out, then the batch. The chart is decoration: when it cannot be drawn or posted the digest
// goes without it, and since the batch is stored first, a digest resent after a crash or a failed send is resent
// without posting the chart again.
func (e *Sender) sendWeekly(ctx context.Context, plat bot.Platform, ch channel.Ref, items []channel.OutboxItem, title string) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	id, err := e.store.OpenBatch(ctx, ch, channel.BatchDaily, title, ids, e.now())
	if err != nil {
		return err
	}
	if err := e.postChart(ctx, plat, ch); err != nil {
		return err
	}
	return e.sendBatch(ctx, plat, channel.Batch{ID: id, Channel: ch, Kind: channel.BatchDaily, Title: title, Items: items})
}

// postChart posts ch's weekly chart when the platform can upload files. Only a cancelled ctx is an error: any
// other failure is logged and the digest goes on without the chart.
func (e *Sender) postChart(ctx context.Context, plat bot.Platform, ch channel.Ref) error {
	up, ok := plat.(bot.Uploader)
	if e.charts == nil || !ok {
		return nil
	}
	text, chart, err := e.charts.WeeklyChart(ctx, ch)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.logger().Warn("weekly digest without its chart: drawing it failed", "channel", ch.String(), "err", err)
		return nil
	}
	if err := e.waitLimits(ctx, ch); err != nil {
		return err
	}
	// As a send, the upload in flight at shutdown may finish within the send timeout.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.timeout)
	defer cancel()
	if _, err := up.Upload(uctx, ch, text, []bot.File{chart}); err != nil {
		e.logger().Warn("weekly digest without its chart: the platform refused the upload", "channel", ch.String(), "err", err)
	}
	return nil
}
