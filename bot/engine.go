package bot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

// PlatformLimits are the send rates the engine keeps to, before the platform has to say 429.
type PlatformLimits struct {
	PerChannel   rate.Limit
	ChannelBurst int
	Global       rate.Limit
	GlobalBurst  int
}

// DefaultLimits stay under the platforms' documented limits: Slack about one message per second per channel
// (chat.postMessage), Discord 5 per 5 s per channel and 50 requests per second per bot. The console has none.
func DefaultLimits() map[string]PlatformLimits {
	return map[string]PlatformLimits{
		"slack":   {PerChannel: 1, ChannelBurst: 1, Global: 20, GlobalBurst: 5},
		"discord": {PerChannel: 1, ChannelBurst: 5, Global: 40, GlobalBurst: 10},
		"console": {PerChannel: rate.Inf, Global: rate.Inf},
	}
}

// Engine is the delivery half of the bot: it routes newly ingested papers to the channels whose subscriptions
// match (in the ingest transaction), and drains the outbox to the platforms, per channel, oldest paper first,
// within rate limits, in instant or digest mode.
type Engine struct {
	Store     *store.Store
	Platforms map[string]Platform
	Logger    *slog.Logger
	Metrics   *Metrics
	// Now is the clock (time.Now when nil); tests drive digests and retries with a fake one.
	Now func() time.Time
	// HourlyBudget caps the messages an instant channel gets per hour; the rest waits for an overflow digest.
	// 0 means no cap.
	HourlyBudget int
	// DigestCards is how many cards a digest shows; the rest is counted ("and 12 more").
	DigestCards int
	// Workers bounds how many channels are sent to at once.
	Workers int
	// Backoff spaces retries of a channel whose sends fail with retryable errors.
	Backoff sources.Backoff
	// Limits overrides DefaultLimits per platform name.
	Limits map[string]PlatformLimits
	// SendTimeout bounds one platform request. The request in flight at shutdown is allowed to finish within it.
	SendTimeout time.Duration

	mu sync.Mutex
	// reloadMu makes a reload's read of the store and its swap into the matcher one step, so that two
	// concurrent reloads cannot install an older view over a newer one.
	reloadMu  sync.Mutex
	subsVer   string
	matcher   *filters.Matcher
	subs      map[int64]subMeta
	byChannel map[channel.Ref][]int64
	chans     map[channel.Ref]*chanState
	platWait  map[string]time.Time
	platLim   map[string]*rate.Limiter
	warned    map[string]bool
	wake      chan struct{}
	depth     atomic.Int64
	// posted counts messages the platforms accepted; a worker that posted something wakes the dispatcher, since
	// its channel (or a rate-limited one) may have more, while a worker that found nothing due must not, or a
	// digest channel waiting for its hour would spin the dispatcher.
	posted atomic.Int64
}

type subMeta struct {
	channel channel.Ref
	addedAt time.Time
}

// chanState is the sender's in-memory view of a channel: when it may be sent to again, and its limiter.
type chanState struct {
	busy      bool
	notBefore time.Time
	failures  int
	lim       *rate.Limiter
	// unrecorded is a message the platform accepted but the store failed to record: it is recorded before
	// anything else is sent to the channel, instead of being posted again.
	unrecorded *unrecorded
}

type unrecorded struct {
	ids   []int64
	msgID string
	at    time.Time
}

// sendError is a platform's refusal, already classified and logged by send.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// Defaults of the engine's knobs.
const (
	DefaultDigestCards = 10
	DefaultWorkers     = 4
	defaultSendTimeout = 30 * time.Second
	// batchPerTurn bounds the cards one channel sends before the dispatcher looks at the others again.
	batchPerTurn = 50
)

func (e *Engine) init() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.matcher != nil {
		return
	}
	e.matcher = filters.NewMatcher()
	e.subs = map[int64]subMeta{}
	e.byChannel = map[channel.Ref][]int64{}
	e.chans = map[channel.Ref]*chanState{}
	e.platWait = map[string]time.Time{}
	e.platLim = map[string]*rate.Limiter{}
	e.warned = map[string]bool{}
	e.wake = make(chan struct{}, 1)
}

// LoadSubscriptions compiles every stored subscription into the matcher, replacing what it held.
func (e *Engine) LoadSubscriptions(ctx context.Context) error {
	e.init()
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	ver, err := e.Store.SubscriptionsVersion(ctx)
	if err != nil {
		return err
	}
	subs, err := e.Store.AllSubscriptions(ctx)
	if err != nil {
		return err
	}
	m := filters.NewMatcher()
	meta := make(map[int64]subMeta, len(subs))
	byCh := map[channel.Ref][]int64{}
	for _, s := range subs {
		q, err := filters.Parse(s.Query)
		if err != nil {
			// Stored queries were valid when stored; a grammar change must not stop the bot, but must be seen.
			e.logger().Error("stored subscription no longer parses; skipped", "channel", s.Channel.String(), "query", s.Query, "err", err)
			continue
		}
		m.Add(s.ID, q)
		meta[s.ID] = subMeta{channel: s.Channel, addedAt: s.AddedAt}
		byCh[s.Channel] = append(byCh[s.Channel], s.ID)
	}
	e.mu.Lock()
	e.matcher, e.subs, e.byChannel = m, meta, byCh
	e.mu.Unlock()
	e.subsVer = ver
	return nil
}

// refreshSubscriptions reloads the matcher when the stored subscriptions changed behind the engine's back: a
// `paperboy cmd` run in another process, or a command whose reload failed. One cheap query per poll.
func (e *Engine) refreshSubscriptions(ctx context.Context) error {
	ver, err := e.Store.SubscriptionsVersion(ctx)
	if err != nil {
		return err
	}
	e.reloadMu.Lock()
	same := ver == e.subsVer
	e.reloadMu.Unlock()
	if same {
		return nil
	}
	e.logger().Info("subscriptions changed; recompiling")
	return e.LoadSubscriptions(ctx)
}

// ReloadChannel recompiles one channel's subscriptions after a command changed them; the others are untouched.
func (e *Engine) ReloadChannel(ctx context.Context, ch channel.Ref) error {
	e.init()
	// The stored version is left alone: the next ingest sees it changed and recompiles everything once, which
	// also picks up changes made by other processes in the meantime.
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	subs, err := e.Store.Subscriptions(ctx, ch)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range e.byChannel[ch] {
		e.matcher.Remove(id)
		delete(e.subs, id)
	}
	ids := make([]int64, 0, len(subs))
	for _, s := range subs {
		q, err := filters.Parse(s.Query)
		if err != nil {
			continue
		}
		e.matcher.Add(s.ID, q)
		e.subs[s.ID] = subMeta{channel: s.Channel, addedAt: s.AddedAt}
		ids = append(ids, s.ID)
	}
	e.byChannel[ch] = ids
	e.signal()
	return nil
}

// Route is the channel.Router: the channels whose subscriptions match p, one route per channel with the union of
// the matched terms, counting only subscriptions that existed when the paper was first stored.
func (e *Engine) Route(p *paper.Paper, firstSeen time.Time) []channel.Route {
	e.init()
	e.mu.Lock()
	defer e.mu.Unlock()
	// MatchFunc reports in no particular order; collect, then order by subscription id so that a card lists its
	// terms in the order the channel subscribed to them.
	type hit struct {
		id    int64
		terms []string
	}
	var hits []hit
	e.matcher.MatchFunc(p, func(id int64, exp *filters.Explanation) {
		if meta, ok := e.subs[id]; !ok || meta.addedAt.After(firstSeen) {
			return
		}
		h := hit{id: id}
		for _, x := range exp.Hits { // exp is reused by the matcher: copy what we keep
			h.terms = append(h.terms, x.Term)
		}
		hits = append(hits, h)
	})
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(a.id, b.id) })
	var routes []channel.Route
	for _, h := range hits {
		ch := e.subs[h.id].channel
		i := slices.IndexFunc(routes, func(rt channel.Route) bool { return rt.Channel == ch })
		if i < 0 {
			routes = append(routes, channel.Route{Channel: ch})
			i = len(routes) - 1
		}
		for _, t := range h.terms {
			if !slices.Contains(routes[i].Matched, t) {
				routes[i].Matched = append(routes[i].Matched, t)
			}
		}
	}
	return routes
}

// Ingest stores a poll and routes its new papers to the outbox in one transaction (it is the poller's store).
func (e *Engine) Ingest(ctx context.Context, source string, papers []paper.Paper, validators map[string]paper.Validators, at time.Time) (paper.IngestResult, error) {
	e.init()
	if err := e.refreshSubscriptions(ctx); err != nil {
		return paper.IngestResult{}, fmt.Errorf("refresh subscriptions: %w", err)
	}
	res, err := e.Store.IngestAndRoute(ctx, source, papers, validators, at, e.Route)
	if err != nil {
		return res, err
	}
	e.Metrics.PapersIngested(source, len(res.New))
	if res.Routed > 0 {
		e.Metrics.Matches(res.Routed)
		e.depth.Add(int64(res.Routed))
		e.signal()
	}
	return res, nil
}

// refreshDepth re-reads the outbox depth for the gauge.
func (e *Engine) refreshDepth(ctx context.Context) {
	if n, err := e.Store.OutboxDepth(ctx); err == nil {
		e.depth.Store(int64(n))
	}
}

// Validators delegates to the store, so that the Engine is a complete PaperStore for the Poller.
func (e *Engine) Validators(ctx context.Context, source string) (map[string]paper.Validators, error) {
	return e.Store.Validators(ctx, source)
}

// RecordPollError delegates to the store.
func (e *Engine) RecordPollError(ctx context.Context, source string, pollErr error, at time.Time) error {
	return e.Store.RecordPollError(ctx, source, pollErr, at)
}

// RecordNotModified delegates to the store.
func (e *Engine) RecordNotModified(ctx context.Context, source string, at time.Time) error {
	return e.Store.RecordNotModified(ctx, source, at)
}

// OutboxDepth is the number of unsent rows as of the last dispatch, for the metrics gauge (no I/O).
func (e *Engine) OutboxDepth() float64 { return float64(e.depth.Load()) }

// signal wakes the dispatcher without blocking.
func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Wake asks the sender to look at the outbox now (after a backfill, for instance).
func (e *Engine) Wake() {
	e.init()
	e.signal()
}

// RunSender drains the outbox until ctx ends: at most Workers channels at once, one worker per channel so each
// channel's order holds. On shutdown it stops taking work, lets the sends in flight finish (each within
// SendTimeout) and returns.
func (e *Engine) RunSender(ctx context.Context) error {
	e.init()
	sem := make(chan struct{}, cmp.Or(e.Workers, DefaultWorkers))
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		e.refreshDepth(ctx)
		work, err := e.Store.Work(ctx)
		if err != nil && ctx.Err() == nil {
			e.logger().Error("read outbox", "err", err)
		}
		for _, w := range work {
			if !e.claim(w) {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				e.release(w.Ref)
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				before := e.posted.Load()
				e.deliverChannel(ctx, w)
				// Release before waking the dispatcher, or it could find this channel still busy and leave its
				// remaining cards to the next tick.
				e.release(w.Ref)
				if e.posted.Load() != before {
					e.signal()
				}
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		case <-tick.C:
		}
	}
}

// DeliverDue runs one dispatch pass over every channel in the calling goroutine. Tests use it with a fake clock.
func (e *Engine) DeliverDue(ctx context.Context) error {
	e.init()
	work, err := e.Store.Work(ctx)
	if err != nil {
		return err
	}
	for _, w := range work {
		if e.claim(w) {
			e.deliverChannel(ctx, w)
			e.release(w.Ref)
		}
	}
	return nil
}

// claim marks a channel busy if it is due and not already being sent to.
func (e *Engine) claim(w channel.Work) bool {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	cs := e.chanState(w.Ref)
	if cs.busy || now.Before(cs.notBefore) || now.Before(e.platWait[w.Ref.Platform]) || w.Blocked != "" {
		return false
	}
	cs.busy = true
	return true
}

func (e *Engine) release(ch channel.Ref) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.chanState(ch).busy = false
}

// chanState returns ch's state; e.mu must be held.
func (e *Engine) chanState(ch channel.Ref) *chanState {
	cs := e.chans[ch]
	if cs == nil {
		l := e.limits(ch.Platform)
		cs = &chanState{lim: rate.NewLimiter(l.PerChannel, max(l.ChannelBurst, 1))}
		e.chans[ch] = cs
	}
	return cs
}

func (e *Engine) limits(platform string) PlatformLimits {
	if l, ok := e.Limits[platform]; ok {
		return l
	}
	if l, ok := DefaultLimits()[platform]; ok {
		return l
	}
	return PlatformLimits{PerChannel: 1, ChannelBurst: 1, Global: 10, GlobalBurst: 1}
}

// deliverChannel sends what is due for one channel: a pending backfill, then its digest or instant cards.
func (e *Engine) deliverChannel(ctx context.Context, w channel.Work) {
	log := e.logger().With("channel", w.Ref.String())
	plat := e.Platforms[w.Ref.Platform]
	if plat == nil {
		e.warnOnce("no-platform:"+w.Ref.Platform, log, "outbox has papers for a platform that is not configured; they wait", "platform", w.Ref.Platform)
		return
	}
	if err := e.deliver(ctx, plat, w); err != nil && ctx.Err() == nil {
		// Send failures were logged where they were classified; this is the rest (store, schedule), which
		// would otherwise leave a channel stuck without a trace.
		var se *sendError
		if !errors.As(err, &se) {
			log.Error("channel delivery stopped", "err", err)
		}
	}
}

func (e *Engine) deliver(ctx context.Context, plat Platform, w channel.Work) error {
	now := e.now()
	e.mu.Lock()
	un := e.chanState(w.Ref).unrecorded
	e.mu.Unlock()
	if un != nil {
		if err := e.Store.MarkSent(ctx, un.ids, un.msgID, un.at); err != nil {
			e.backOff(w.Ref, now)
			return fmt.Errorf("record message %s posted earlier: %w", un.msgID, err)
		}
		e.mu.Lock()
		e.chanState(w.Ref).unrecorded = nil
		e.mu.Unlock()
		return nil // the channel's work list is stale now; the dispatcher comes back
	}
	if w.Backfill > 0 {
		items, err := e.Store.Unsent(ctx, w.Ref, channel.KindBackfill, []string{channel.StatePending, channel.StateOverflow}, 0)
		if err != nil {
			return err
		}
		if err := e.sendDigest(ctx, plat, w.Ref, items, fmt.Sprintf("Backfill: %d matching papers", len(items))); err != nil {
			return err
		}
	}
	if w.Mode == channel.ModeDigest {
		sched, err := channel.ParseDigestSchedule(w.DigestAt, w.DigestTZ)
		if err != nil {
			return err
		}
		// Due at the first digest time after both the last digest and the oldest waiting paper: a paper
		// arriving after a quiet day waits for the next 09:00, not for a 09:00 long past.
		if now.Before(sched.Next(later(w.LastDigestAt, w.OldestUnsent))) {
			return nil
		}
		items, err := e.Store.Unsent(ctx, w.Ref, channel.KindMatch, []string{channel.StatePending, channel.StateOverflow}, 0)
		if err != nil {
			return err
		}
		title := fmt.Sprintf("Daily digest: %d new matching paper%s", len(items), plural(len(items)))
		if err := e.sendDigest(ctx, plat, w.Ref, items, title); err != nil {
			return err
		}
		return e.Store.SetLastDigest(ctx, w.Ref, now)
	}

	budget := -1 // unlimited
	if e.HourlyBudget > 0 {
		n, err := e.Store.MessagesSince(ctx, w.Ref, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		budget = max(e.HourlyBudget-n, 0)
	}
	if w.Overflow > 0 && budget != 0 {
		items, err := e.Store.Unsent(ctx, w.Ref, channel.KindMatch, []string{channel.StateOverflow}, 0)
		if err != nil {
			return err
		}
		title := fmt.Sprintf("%d more matching paper%s that arrived faster than this channel's hourly limit", len(items), plural(len(items)))
		if err := e.sendDigest(ctx, plat, w.Ref, items, title); err != nil {
			return err
		}
		if budget > 0 {
			budget--
		}
	}
	items, err := e.Store.Unsent(ctx, w.Ref, channel.KindMatch, []string{channel.StatePending}, batchPerTurn)
	if err != nil {
		return err
	}
	for i, it := range items {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if budget == 0 {
			ids := make([]int64, 0, len(items)-i)
			for _, rest := range items[i:] {
				ids = append(ids, rest.ID)
			}
			e.logger().Info("hourly budget reached; the rest goes into an overflow digest", "channel", w.Ref.String(), "papers", len(ids))
			return e.Store.MarkOverflow(ctx, ids)
		}
		msg := Message{Channel: w.Ref, Cards: []Card{{Paper: it.Paper, Matched: it.Matched}}, Nonce: "pb-" + strconv.FormatInt(it.ID, 10)}
		if err := e.send(ctx, plat, msg, []channel.OutboxItem{it}); err != nil {
			return err
		}
		if budget > 0 {
			budget--
		}
	}
	return nil
}

// sendDigest posts items as one digest message, best first, and marks them all sent (those beyond the card
// limit are counted in the message).
func (e *Engine) sendDigest(ctx context.Context, plat Platform, ch channel.Ref, items []channel.OutboxItem, title string) error {
	if len(items) == 0 {
		return nil
	}
	ranked := slices.Clone(items)
	RankDigest(ranked)
	limit := cmp.Or(e.DigestCards, DefaultDigestCards)
	msg := Message{Channel: ch, Digest: true, Title: title, Nonce: fmt.Sprintf("pbd-%d-%d", ranked[0].ID, len(ranked))}
	for _, it := range ranked[:min(limit, len(ranked))] {
		msg.Cards = append(msg.Cards, Card{Paper: it.Paper, Matched: it.Matched})
	}
	msg.Overflow = len(ranked) - len(msg.Cards)
	err := e.send(ctx, plat, msg, items)
	var rb *rejectedBatch
	if !errors.As(err, &rb) {
		return err
	}
	// Halving finds the refused paper in log2(n) more messages, and every other paper still goes out.
	half := len(items) / 2
	if err := e.sendDigest(ctx, plat, ch, items[:half], title); err != nil {
		return err
	}
	return e.sendDigest(ctx, plat, ch, items[half:], title)
}

// rejectedBatch is a digest the platform refused as malformed; sendDigest splits it.
type rejectedBatch struct{ err error }

func (e *rejectedBatch) Error() string { return e.err.Error() }
func (e *rejectedBatch) Unwrap() error { return e.err }

// RankDigest orders digest items best first: more matched terms, then more Hugging Face upvotes, then newest.
func RankDigest(items []channel.OutboxItem) {
	slices.SortStableFunc(items, func(a, b channel.OutboxItem) int {
		return cmp.Or(
			cmp.Compare(len(b.Matched), len(a.Matched)),
			cmp.Compare(b.Paper.Upvotes, a.Paper.Upvotes),
			b.Paper.Published.Compare(a.Paper.Published),
		)
	})
}

// send posts one message within the rate limits and records the outcome. The request itself runs on a context
// that shutdown does not cancel (bounded by SendTimeout), so a message the platform accepted is always recorded.
func (e *Engine) send(ctx context.Context, plat Platform, msg Message, items []channel.OutboxItem) error {
	ch := msg.Channel
	if err := e.waitLimits(ctx, ch); err != nil {
		return err
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(e.SendTimeout, defaultSendTimeout))
	defer cancel()
	msgID, err := plat.Send(sendCtx, msg)
	now := e.now()
	log := e.logger().With("channel", ch.String(), "paper", items[0].Paper.Key)
	if err == nil {
		if merr := e.Store.MarkSent(sendCtx, ids, msgID, now); merr != nil {
			// The message is out but not recorded. Keep it in memory and record it before sending anything else
			// to this channel; only a restart before that succeeds could post it again.
			log.Error("posted but could not record it; will record it before the next send", "err", merr)
			e.mu.Lock()
			e.chanState(ch).unrecorded = &unrecorded{ids: ids, msgID: msgID, at: now}
			e.mu.Unlock()
			e.backOff(ch, now)
			return merr
		}
		lat := make([]time.Duration, len(items))
		for i, it := range items {
			lat[i] = now.Sub(it.CreatedAt)
		}
		e.Metrics.Delivered(ch.Platform, lat...)
		e.posted.Add(1)
		e.depth.Add(-int64(len(items)))
		e.mu.Lock()
		e.chanState(ch).failures = 0
		e.mu.Unlock()
		return nil
	}
	var rl *RateLimitError
	if errors.Is(err, ErrRejected) && len(items) > 1 {
		// Which card made the platform refuse the digest is unknown: sendDigest splits it and tries again.
		log.Warn("the platform rejected a digest; splitting it to find the paper it refuses", "err", err, "papers", len(items))
		return &rejectedBatch{err}
	}
	if errors.Is(err, ErrRejected) {
		e.Metrics.DeliveryError(ch.Platform, DeliveryRejected)
		log.Error("the platform rejected this message; set aside, going on with the next paper", "err", err, "papers", len(ids))
		if ferr := e.Store.MarkFailed(sendCtx, ids, err); ferr != nil {
			e.backOff(ch, now)
			return ferr
		}
		return nil
	}
	_ = e.Store.RecordAttempt(sendCtx, ids, err)
	switch {
	case errors.As(err, &rl):
		e.Metrics.DeliveryError(ch.Platform, DeliveryRateLimited)
		until := now.Add(rl.RetryAfter)
		e.mu.Lock()
		if rl.Global {
			e.platWait[ch.Platform] = until
		} else {
			e.chanState(ch).notBefore = until
		}
		e.mu.Unlock()
		log.Warn("rate limited by the platform; waiting", "retry_after", rl.RetryAfter, "global", rl.Global)
	case errors.Is(err, ErrPermanent):
		e.Metrics.DeliveryError(ch.Platform, DeliveryPermanent)
		log.Error("channel cannot receive messages; stopped sending to it (its papers are kept)", "err", err)
		if berr := e.Store.BlockChannel(sendCtx, ch, err.Error(), now); berr != nil {
			log.Error("record blocked channel", "err", berr)
		}
	default:
		e.Metrics.DeliveryError(ch.Platform, DeliveryRetry)
		wait := e.backOff(ch, now)
		log.Warn("send failed; will retry", "err", err, "retry_in", wait)
	}
	return &sendError{err}
}

// backOff counts a failure of ch and keeps the sender away from it for the backoff delay.
func (e *Engine) backOff(ch channel.Ref, now time.Time) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs := e.chanState(ch)
	cs.failures++
	wait := e.Backoff.Delay(cs.failures)
	cs.notBefore = now.Add(wait)
	return wait
}

// waitLimits waits for the channel's and the platform's limiters.
func (e *Engine) waitLimits(ctx context.Context, ch channel.Ref) error {
	e.mu.Lock()
	cl := e.chanState(ch).lim
	pl := e.platLim[ch.Platform]
	if pl == nil {
		l := e.limits(ch.Platform)
		pl = rate.NewLimiter(l.Global, max(l.GlobalBurst, 1))
		e.platLim[ch.Platform] = pl
	}
	e.mu.Unlock()
	if err := pl.Wait(ctx); err != nil {
		return err
	}
	return cl.Wait(ctx)
}

func (e *Engine) warnOnce(key string, log *slog.Logger, msg string, args ...any) {
	e.mu.Lock()
	seen := e.warned[key]
	e.warned[key] = true
	e.mu.Unlock()
	if !seen {
		log.Warn(msg, args...)
	}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
