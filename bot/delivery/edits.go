package delivery

import (
	"context"
	"errors"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

// CardEdits is how the sender edits posted cards in place when their papers change ([delivery] edits). Edits are
// queued by the ingest transaction (one per channel and paper, later changes folded in) and rendered from the
// paper as stored when sent, so that sending one again after a crash shows the same card.
type CardEdits interface {
	// EditWork lists the channels with edits due at now.
	EditWork(ctx context.Context, now time.Time) ([]channel.EditWork, error)
	// Edits lists up to limit edits of ch due at now, oldest first.
	Edits(ctx context.Context, ch channel.Ref, now time.Time, limit int) ([]channel.Edit, error)
	// EditDone completes the edit of paperKey's card in ch as of change rev (a later change keeps it pending).
	EditDone(ctx context.Context, ch channel.Ref, paperKey string, rev int64) error
	// EditFailed records a failed edit; a non-zero retryAt holds it back until then.
	EditFailed(ctx context.Context, ch channel.Ref, paperKey string, sendErr error, retryAt time.Time) error
	// ForgetCard stops editing paperKey's card in ch for good: its message was deleted.
	ForgetCard(ctx context.Context, ch channel.Ref, paperKey string, reason error, at time.Time) error
}

// editsPerTurn bounds the edits one channel sends before the dispatcher looks at the others again: edits come
// after new cards, and must not hold a platform's workers while other channels have cards waiting.
const editsPerTurn = 10

// withEdits adds the channels' due edits to work: to channels with cards, and as channels of their own after
// them, so that in a dispatch pass every channel with new cards takes a worker before a channel with only edits.
func (e *Sender) withEdits(ctx context.Context, work []channel.Work) []channel.Work {
	if e.edits == nil {
		return work
	}
	ew, err := e.edits.EditWork(ctx, e.now())
	if err != nil {
		if ctx.Err() == nil {
			e.logger().Error("read card edits", "err", err)
		}
		return work
	}
	idx := make(map[channel.Ref]int, len(work))
	for i, w := range work {
		idx[w.Ref] = i
	}
	for _, x := range ew {
		if i, ok := idx[x.Ref]; ok {
			work[i].Edits = x.Edits
			continue
		}
		work = append(work, channel.Work{Channel: channel.Channel{Ref: x.Ref, Mode: channel.ModeInstant, Blocked: x.Blocked},
			Blocked: x.Blocked, Edits: x.Edits})
	}
	return work
}

// hasCards reports whether w has new cards or digests to look at (as opposed to edits only).
func hasCards(w channel.Work) bool {
	return w.Pending+w.Overflow+w.Backfill+w.Retry > 0
}

// editsDue reports whether w's edits may be sent at now; e.mu must be held.
func (e *Sender) editsDue(w channel.Work, now time.Time) bool {
	return e.edits != nil && w.Edits > 0 && !now.Before(e.chanState(w.Ref).editsNotBefore)
}

// sendEdits sends ch's due edits, after its new cards (the caller's order), within the same rate limits.
func (e *Sender) sendEdits(ctx context.Context, plat bot.Platform, ch channel.Ref) error {
	now := e.now()
	e.mu.Lock()
	held := now.Before(e.chanState(ch).editsNotBefore)
	e.mu.Unlock()
	if held {
		return nil
	}
	edits, err := e.edits.Edits(ctx, ch, now, editsPerTurn)
	if err != nil {
		return err
	}
	editor, ok := plat.(bot.Editor)
	for _, ed := range edits {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !ok {
			// A platform that cannot edit keeps its cards as posted.
			if err := e.edits.EditDone(ctx, ch, ed.Paper.Key, ed.Rev); err != nil {
				return err
			}
			continue
		}
		if err := e.sendEdit(ctx, editor, ed); err != nil {
			return err
		}
	}
	return nil
}

// sendEdit edits one posted card within the rate limits and records the outcome. As with send, the request runs
// on a context that shutdown does not cancel, so an edit the platform made is recorded.
func (e *Sender) sendEdit(ctx context.Context, editor bot.Editor, ed channel.Edit) error {
	ch := ed.Channel
	if err := e.waitLimits(ctx, ch); err != nil {
		return err
	}
	if ok, err := e.renew(ctx, ch); err != nil || !ok {
		if err == nil {
			err = errLeaseLost
		}
		return err
	}
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.timeout)
	defer cancel()
	// No nonce: an edit is idempotent, the same paper and counts render the same card. The counts are read when
	// the edit is sent, so votes folded into it show as of now: the last state wins.
	msg := bot.Message{Channel: ch, Cards: []bot.Card{{Paper: ed.Paper, Matched: ed.Matched, Up: ed.Up, Down: ed.Down}}}
	err := editor.Edit(sendCtx, msg, ed.MessageID)
	now := e.now()
	log := e.logger().With("channel", ch.String(), "paper", ed.Paper.Key, "message", ed.MessageID)
	var rl *bot.RateLimitError
	switch {
	case err == nil:
		if derr := e.edits.EditDone(sendCtx, ch, ed.Paper.Key, ed.Rev); derr != nil {
			// The edit is made but still pending: it is sent again, rendering the same card, which changes nothing.
			log.Error("edited a card but could not record it; it will be edited again, identically", "err", derr)
			e.backOff(ch, now)
			return derr
		}
		log.Info("edited a posted card", "changes", ed.Rev)
		e.posted.Add(1)
		e.mu.Lock()
		e.chanState(ch).failures = 0
		e.mu.Unlock()
		return nil
	case errors.Is(err, bot.ErrMessageGone):
		log.Info("the card's message is gone (deleted?); no more edits of it, and it is not posted again", "err", err)
		return e.edits.ForgetCard(sendCtx, ch, ed.Paper.Key, err, now)
	case errors.As(err, &rl):
		e.metrics.DeliveryError(ch.Platform, ErrorRateLimited)
		until := now.Add(rl.RetryAfter)
		e.mu.Lock()
		if rl.Global {
			e.platWait[ch.Platform] = until
		} else {
			// Only the channel's edits wait: its new cards still go first, as soon as they come.
			e.chanState(ch).editsNotBefore = until
		}
		e.mu.Unlock()
		log.Warn("rate limited by the platform on an edit; the channel's edits wait", "retry_after", rl.RetryAfter, "global", rl.Global)
		if ferr := e.edits.EditFailed(sendCtx, ch, ed.Paper.Key, err, until); ferr != nil {
			log.Error("record failed edit", "err", ferr)
		}
		return &sendError{err}
	case errors.Is(err, bot.ErrPermanent):
		e.metrics.DeliveryError(ch.Platform, ErrorPermanent)
		log.Error("channel cannot receive messages; stopped sending to it (its papers are kept)", "err", err)
		if berr := e.store.BlockChannel(sendCtx, ch, err.Error(), now); berr != nil {
			log.Error("record blocked channel", "err", berr)
		}
		return &sendError{err}
	case errors.Is(err, bot.ErrRejected):
		// The card stays as it was; the next change of the paper tries again.
		e.metrics.DeliveryError(ch.Platform, ErrorRejected)
		log.Warn("the platform rejected an edit of a card; dropping the edit", "err", err)
		return e.edits.EditDone(sendCtx, ch, ed.Paper.Key, ed.Rev)
	default:
		e.metrics.DeliveryError(ch.Platform, ErrorRetry)
		if ferr := e.edits.EditFailed(sendCtx, ch, ed.Paper.Key, err, time.Time{}); ferr != nil {
			log.Error("record failed edit", "err", ferr)
		}
		wait := e.backOff(ch, now)
		if errors.Is(err, bot.ErrAuth) {
			log.Error("the platform refused the bot's token; fix it, will retry", "err", err, "retry_in", wait)
		} else {
			log.Warn("edit failed; will retry", "err", err, "retry_in", wait)
		}
		return &sendError{err}
	}
}
