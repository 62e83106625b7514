// Package delivery drains the outbox to the platforms: per channel, oldest paper first, within per-channel and
// per-platform rate limits, in instant or digest mode, recording what each platform accepted. Work is claimed per
// channel through the store (a lease), so a database shared by several instances can honour it.
package delivery

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

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/sources"
)

// Store is what the sender needs from storage.
type Store interface {
	// Work lists the channels that have unsent rows.
	Work(ctx context.Context) ([]channel.Work, error)
	// Claim leases ch to owner until at+ttl, unless another owner holds an unexpired lease; it reports whether
	// owner holds the lease now. Claiming a channel owner already holds extends the lease.
	Claim(ctx context.Context, ch channel.Ref, owner string, at time.Time, ttl time.Duration) (bool, error)
	// Release gives up owner's lease on ch, if it holds one.
	Release(ctx context.Context, ch channel.Ref, owner string) error
	// Unsent lists rows of ch of kind in states, oldest paper first, leaving out rows waiting for a retry.
	Unsent(ctx context.Context, ch channel.Ref, kind string, states []string, limit int) ([]channel.OutboxItem, error)
	// Retries lists rows of ch waiting for a retry after a rejection whose retry time is not after now.
	Retries(ctx context.Context, ch channel.Ref, now time.Time, limit int) ([]channel.OutboxItem, error)
	MarkSent(ctx context.Context, ids []int64, messageID string, at time.Time) error
	// MarkRejected counts a rejection of rows ids and keeps them away until retryAt.
	MarkRejected(ctx context.Context, ids []int64, sendErr error, retryAt time.Time) error
	// MarkFailed sets rows ids aside (state failed) at at.
	MarkFailed(ctx context.Context, ids []int64, sendErr error, at time.Time) error
	MarkOverflow(ctx context.Context, ids []int64) error
	RecordAttempt(ctx context.Context, ids []int64, sendErr error) error
	MessagesSince(ctx context.Context, ch channel.Ref, since time.Time) (int, error)
	SetLastDigest(ctx context.Context, ch channel.Ref, at time.Time) error
	BlockChannel(ctx context.Context, ch channel.Ref, reason string, at time.Time) error
	OutboxDepth(ctx context.Context) (int, error)
	Batches
	InFlight
}

// Peers tells a sender how many senders share the platforms' global rate limits: several instances on one
// database split each platform's budget evenly between the live ones, so together they never exceed it.
// Heartbeat records that owner is alive at at and returns how many owners were alive within the last within
// (this one included).
type Peers interface {
	Heartbeat(ctx context.Context, owner string, at time.Time, within time.Duration) (int, error)
	// Leave forgets owner at once (a clean shutdown), so the others take its share back without waiting.
	Leave(ctx context.Context, owner string) error
}

// Metrics is what the sender counts. A nil Metrics in Options counts nothing.
type Metrics interface {
	Delivered(platform string, latencies ...time.Duration)
	DeliveryError(platform, kind string)
}

// Values of the kind argument of Metrics.DeliveryError.
const (
	// ErrorRetry is a failure that will be retried (network error, 5xx).
	ErrorRetry = "retry"
	// ErrorRateLimited is a 429 the sender waits out.
	ErrorRateLimited = "rate_limited"
	// ErrorPermanent is a bot.ErrPermanent failure that stops the channel.
	ErrorPermanent = "permanent"
	// ErrorRejected is a bot.ErrRejected failure: the paper is tried again later (RejectRetryDelays), or set
	// aside after its last try.
	ErrorRejected = "rejected"
)

// ErrorKinds lists every kind Metrics.DeliveryError is called with, so that a metrics backend can create each
// series at zero before the first failure (an alert on a rate of "rejected" needs the series to exist).
func ErrorKinds() []string {
	return []string{ErrorRetry, ErrorRateLimited, ErrorPermanent, ErrorRejected}
}

// Limits are the send rates the sender keeps to on one platform, before the platform has to say 429.
type Limits struct {
	PerChannel   rate.Limit
	ChannelBurst int
	Global       rate.Limit
	GlobalBurst  int
}

// fallbackLimits apply to a platform the options name no limits for: careful enough for any chat API.
var fallbackLimits = Limits{PerChannel: 1, ChannelBurst: 1, Global: 10, GlobalBurst: 1}

// Options configure a Sender. Store and Owner are required.
type Options struct {
	Store Store
	// Owner names this sender in channel leases; two senders on one database must have different owners.
	Owner string
	// Platforms post messages, by platform name.
	Platforms map[string]bot.Platform
	// Limits are the platforms' rate limits, by platform name (see Limits; fallbackLimits when missing).
	Limits  map[string]Limits
	Logger  *slog.Logger
	Metrics Metrics
	// Now is the clock (time.Now when nil); tests drive digests and retries with a fake one.
	Now func() time.Time
	// HourlyBudget caps the messages an instant channel gets per hour; the rest waits for an overflow digest.
	// 0 means no cap.
	HourlyBudget int
	// DigestCards is how many cards a digest shows; the rest is counted ("and 12 more"). 0 means the default.
	DigestCards int
	// Workers bounds how many channels of one platform are sent to at once; each platform has its own, so one
	// platform's slow or rate-limited sends never hold up another's. 0 means the default.
	Workers int
	// Backoff spaces retries of a channel whose sends fail with retryable errors.
	Backoff sources.Backoff
	// SendTimeout bounds one platform request. The request in flight at shutdown is allowed to finish within it.
	SendTimeout time.Duration
	// Peers, when set, splits the global rate limits between the live senders (see Peers); nil: this sender is
	// alone.
	Peers Peers
	// LeaseTTL is how long a channel claim lasts before another sender may take the channel over (it is renewed
	// while sending). 0 means the default.
	LeaseTTL time.Duration
	// Edits turns on the editing of posted cards ([delivery] edits): Store must then implement CardEdits.
	Edits bool
	// Charts, when set, draws the chart a weekly digest starts with (posted on platforms that are bot.Uploader).
	Charts Charts
	// Ranker, when set, orders digests by what the channel's members voted (bot/relevance), once it has enough
	// votes; nil keeps RankDigest's order.
	Ranker DigestRanker
}

// DigestRanker orders a digest's items for its channel: best first with why each ranked high (by paper key), or
// ok false to keep RankDigest's order.
type DigestRanker interface {
	RankDigest(ctx context.Context, ch channel.Ref, items []channel.OutboxItem) (ranked []channel.OutboxItem, why map[string]string, ok bool, err error)
}

// Sender drains the outbox to the platforms. Build it with NewSender; it is safe for concurrent use.
type Sender struct {
	store     Store
	owner     string
	platforms map[string]bot.Platform
	limits    map[string]Limits
	log       *slog.Logger
	metrics   Metrics
	clock     func() time.Time
	budget    int
	cards     int
	workers   int
	backoff   sources.Backoff
	timeout   time.Duration
	leaseTTL  time.Duration
	peers     Peers
	ranker    DigestRanker
	// edits is the store's CardEdits when editing cards is on, else nil.
	edits CardEdits
	// charts draws the weekly digests' charts; nil: weekly digests go without.
	charts Charts
	// lastBeat is when heartbeat last ran; only Run's dispatch loop touches it.
	lastBeat time.Time
	// live is how many senders share the global limits (1 without Peers); guarded by mu.
	live int

	// mu guards the in-memory state below. It is never held across I/O.
	mu       sync.Mutex
	chans    map[channel.Ref]*chanState
	platWait map[string]time.Time
	platLim  map[string]*rate.Limiter
	warned   map[string]bool

	wake  chan struct{}
	depth atomic.Int64
	// posted counts messages the platforms accepted; a worker that posted something wakes the dispatcher, since
	// its channel (or a rate-limited one) may have more, while a worker that found nothing due must not, or a
	// digest channel waiting for its hour would spin the dispatcher.
	posted atomic.Int64
}

// chanState is the sender's in-memory view of a channel: when it may be sent to again, and its limiter.
type chanState struct {
	busy      bool
	notBefore time.Time
	failures  int
	lim       *rate.Limiter
	// leasedAt is when the store lease was last taken or renewed.
	leasedAt time.Time
	// unrecorded is a message the platform accepted but the store failed to record: it is recorded before
	// anything else is sent to the channel, instead of being posted again.
	unrecorded *unrecorded
	// editsNotBefore holds the channel's edits (not its new cards) back after a 429 on an edit.
	editsNotBefore time.Time
}

type unrecorded struct {
	ids   []int64
	msgID string
	at    time.Time
}

// errLeaseLost ends a turn whose channel lease another sender took over (this one stalled past the lease).
var errLeaseLost = errors.New("channel lease taken over by another sender")

// sendError is a platform's refusal, already classified and logged by send.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// Defaults of the sender's knobs.
const (
	DefaultDigestCards = 10
	DefaultWorkers     = 4
	DefaultLeaseTTL    = time.Minute
	defaultSendTimeout = 30 * time.Second
	// batchPerTurn bounds the cards one channel sends before the dispatcher looks at the others again.
	batchPerTurn = 50
)

// NewSender builds a sender from o.
func NewSender(o Options) (*Sender, error) {
	if o.Store == nil || o.Owner == "" {
		return nil, errors.New("new sender: need a store and an owner")
	}
	s := &Sender{
		store: o.Store, owner: o.Owner, platforms: o.Platforms, limits: o.Limits, log: o.Logger,
		metrics: o.Metrics, clock: o.Now, budget: o.HourlyBudget, cards: cmp.Or(o.DigestCards, DefaultDigestCards),
		workers: cmp.Or(o.Workers, DefaultWorkers), backoff: o.Backoff, timeout: cmp.Or(o.SendTimeout, defaultSendTimeout),
		leaseTTL: cmp.Or(o.LeaseTTL, DefaultLeaseTTL), ranker: o.Ranker,
		chans: map[channel.Ref]*chanState{}, platWait: map[string]time.Time{}, platLim: map[string]*rate.Limiter{},
		warned: map[string]bool{}, wake: make(chan struct{}, 1), peers: o.Peers, live: 1, charts: o.Charts,
	}
	if s.platforms == nil {
		s.platforms = map[string]bot.Platform{}
	}
	if o.Edits {
		ce, ok := o.Store.(CardEdits)
		if !ok {
			return nil, errors.New("new sender: editing cards needs a store that keeps card edits")
		}
		s.edits = ce
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	return s, nil
}

type noMetrics struct{}

func (noMetrics) Delivered(string, ...time.Duration) {}
func (noMetrics) DeliveryError(string, string)       {}

// Enqueued tells the sender that n new outbox rows were written (by ingest or a backfill) and wakes it.
func (e *Sender) Enqueued(n int) {
	e.depth.Add(int64(n))
	e.signal()
}

// refreshDepth re-reads the outbox depth for the gauge.
func (e *Sender) refreshDepth(ctx context.Context) {
	if n, err := e.store.OutboxDepth(ctx); err == nil {
		e.depth.Store(int64(n))
	}
}

// OutboxDepth is the number of unsent rows as of the last dispatch, for the metrics gauge (no I/O).
func (e *Sender) OutboxDepth() float64 { return float64(e.depth.Load()) }

// signal wakes the dispatcher without blocking.
func (e *Sender) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Wake asks the sender to look at the outbox now (after a backfill, for instance).
func (e *Sender) Wake() {
	e.signal()
}

// WakeAfter asks the sender to look at the outbox and the card edits once d has passed: a vote's card edit is
// due at the end of its coalescing window, sooner than the next periodic look.
func (e *Sender) WakeAfter(d time.Duration) {
	time.AfterFunc(d, e.signal)
}

// Run drains the outbox until ctx ends: at most Workers channels of each platform at once, one worker per
// channel so each channel's order holds. On shutdown it stops taking work, lets the sends in flight finish (each within
// SendTimeout) and returns.
func (e *Sender) Run(ctx context.Context) error {
	slots := newSlots(e.workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		e.refreshDepth(ctx)
		e.heartbeat(ctx)
		work, err := e.store.Work(ctx)
		if err != nil && ctx.Err() == nil {
			e.logger().Error("read outbox", "err", err)
		}
		work = e.withEdits(ctx, work)
		for _, w := range work {
			if ctx.Err() != nil {
				break
			}
			platform := w.Ref.Platform
			take := slots.take
			if !hasCards(w) {
				take = slots.takeLow // only edits: lower priority than new cards
			}
			if !take(platform) {
				continue
			}
			if !e.claim(ctx, w) {
				slots.put(platform)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				before := e.posted.Load()
				e.deliverChannel(ctx, w)
				// Release before waking the dispatcher, or it could find this channel still busy and leave its
				// remaining cards to the next tick.
				e.release(ctx, w.Ref)
				if slots.put(platform) || e.posted.Load() != before {
					e.signal()
				}
			}()
		}
		select {
		case <-ctx.Done():
			e.leave(ctx)
			return nil
		case <-e.wake:
		case <-tick.C:
		}
	}
}

// DeliverDue runs one dispatch pass over every channel in the calling goroutine. Tests use it with a fake clock.
func (e *Sender) DeliverDue(ctx context.Context) error {
	work, err := e.store.Work(ctx)
	if err != nil {
		return err
	}
	for _, w := range e.withEdits(ctx, work) {
		if e.claim(ctx, w) {
			e.deliverChannel(ctx, w)
			e.release(ctx, w.Ref)
		}
	}
	return nil
}

// claim takes a channel for one turn: it must be due, not being sent to by this sender, and leased to it in the
// store, so that several senders on one database never send to one channel at once.
func (e *Sender) claim(ctx context.Context, w channel.Work) bool {
	now := e.now()
	if e.platforms[w.Ref.Platform] == nil {
		e.warnOnce("no-platform:"+w.Ref.Platform, e.logger(), "outbox has papers for a platform that is not configured; they wait", "platform", w.Ref.Platform)
		return false
	}
	e.mu.Lock()
	cs := e.chanState(w.Ref)
	if cs.busy || now.Before(cs.notBefore) || now.Before(e.platWait[w.Ref.Platform]) || w.Blocked != "" {
		e.mu.Unlock()
		return false
	}
	if !hasDue(w, now) && !e.editsDue(w, now) {
		// Only rows waiting for a retry (or edits held back by a 429): nothing to do before the earliest is due,
		// so no lease is taken.
		e.mu.Unlock()
		return false
	}
	cs.busy = true
	e.mu.Unlock()
	ok, err := e.store.Claim(ctx, w.Ref, e.owner, now, e.leaseTTL)
	if err != nil && ctx.Err() == nil {
		e.logger().Error("claim channel", "channel", w.Ref.String(), "err", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil || !ok {
		cs.busy = false
		return false
	}
	cs.leasedAt = now
	return true
}

// release ends a turn: the store lease is given up (even during shutdown, so another instance can take the
// channel at once) and the channel is free again here.
func (e *Sender) release(ctx context.Context, ch channel.Ref) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.timeout)
	defer cancel()
	if err := e.store.Release(rctx, ch, e.owner); err != nil {
		// The lease expires by itself; until then only this sender may use the channel.
		e.logger().Warn("release channel lease", "channel", ch.String(), "err", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.chanState(ch).busy = false
}

// renew extends the lease on ch when half of it has passed, so a long turn (rate limits, a slow platform) keeps
// the channel; it reports false if the lease was lost to another sender, which ends the turn.
func (e *Sender) renew(ctx context.Context, ch channel.Ref) (bool, error) {
	now := e.now()
	e.mu.Lock()
	due := now.Sub(e.chanState(ch).leasedAt) >= e.leaseTTL/2
	e.mu.Unlock()
	if !due {
		return true, nil
	}
	ok, err := e.store.Claim(ctx, ch, e.owner, now, e.leaseTTL)
	if err != nil || !ok {
		return false, err
	}
	e.mu.Lock()
	e.chanState(ch).leasedAt = now
	e.mu.Unlock()
	return true, nil
}

// chanState returns ch's state; e.mu must be held.
func (e *Sender) chanState(ch channel.Ref) *chanState {
	cs := e.chans[ch]
	if cs == nil {
		l := e.limitsOf(ch.Platform)
		cs = &chanState{lim: rate.NewLimiter(l.PerChannel, max(l.ChannelBurst, 1))}
		e.chans[ch] = cs
	}
	return cs
}

func (e *Sender) limitsOf(platform string) Limits {
	if l, ok := e.limits[platform]; ok {
		return l
	}
	return fallbackLimits
}

// deliverChannel sends what is due for one channel: a pending backfill, then its digest or instant cards.
func (e *Sender) deliverChannel(ctx context.Context, w channel.Work) {
	log := e.logger().With("channel", w.Ref.String())
	plat := e.platforms[w.Ref.Platform] // claim checked it is there
	if err := e.deliver(ctx, plat, w); err != nil && ctx.Err() == nil {
		// Send failures were logged where they were classified; this is the rest (store, schedule), which
		// would otherwise leave a channel stuck without a trace.
		var se *sendError
		if !errors.As(err, &se) {
			log.Error("channel delivery stopped", "err", err)
		}
	}
}

// deliver sends a channel's new cards and digests, then its card edits: an edit never goes before a new card of its
// channel, and waits for the next turn while more cards are queued than one turn sends.
func (e *Sender) deliver(ctx context.Context, plat bot.Platform, w channel.Work) error {
	e.mu.Lock()
	un := e.chanState(w.Ref).unrecorded
	e.mu.Unlock()
	if hasCards(w) || un != nil {
		if err := e.deliverCards(ctx, plat, w); err != nil {
			return err
		}
	}
	if e.edits == nil || w.Edits == 0 || (w.Mode != channel.ModeDigest && w.Pending > batchPerTurn) {
		return nil
	}
	return e.sendEdits(ctx, plat, w.Ref)
}

func (e *Sender) deliverCards(ctx context.Context, plat bot.Platform, w channel.Work) error {
	now := e.now()
	e.mu.Lock()
	un := e.chanState(w.Ref).unrecorded
	e.mu.Unlock()
	if un != nil {
		if err := e.store.MarkSent(ctx, un.ids, un.msgID, un.at); err != nil {
			e.backOff(w.Ref, now)
			return fmt.Errorf("record message %s posted earlier: %w", un.msgID, err)
		}
		e.mu.Lock()
		e.chanState(w.Ref).unrecorded = nil
		e.mu.Unlock()
		return nil // the channel's work list is stale now; the dispatcher comes back
	}
	resumedDaily, err := e.resumeBatches(ctx, plat, w.Ref)
	if err != nil {
		return err
	}
	if w.Retry > 0 && !now.Before(w.NextRetry) {
		if err := e.sendRetries(ctx, plat, w.Ref, now); err != nil {
			return err
		}
	}
	if w.Backfill > 0 {
		items, err := e.store.Unsent(ctx, w.Ref, channel.KindBackfill, []string{channel.StatePending, channel.StateOverflow}, 0)
		if err != nil {
			return err
		}
		if err := e.sendDigest(ctx, plat, w.Ref, channel.BatchBackfill, items, fmt.Sprintf("Backfill: %d matching papers", len(items))); err != nil {
			return err
		}
	}
	if w.Mode == channel.ModeDigest {
		if resumedDaily {
			// w.LastDigestAt predates the digest just resent, which was this digest time's: judged by it, the
			// papers that arrived since would make a second digest the same day.
			return nil
		}
		sched, err := channel.ParseDigestSchedule(w.DigestAt, w.DigestTZ)
		if err != nil {
			return err
		}
		// Due at the first digest time after both the last digest and the oldest waiting paper: a paper
		// arriving after a quiet day waits for the next 09:00, not for a 09:00 long past.
		if now.Before(sched.Next(later(w.LastDigestAt, w.OldestUnsent))) {
			return nil
		}
		items, err := e.store.Unsent(ctx, w.Ref, channel.KindMatch, []string{channel.StatePending, channel.StateOverflow}, 0)
		if err != nil {
			return err
		}
		if sched.Weekly {
			title := fmt.Sprintf("Weekly digest: %d new matching paper%s", len(items), plural(len(items)))
			if err := e.sendWeekly(ctx, plat, w.Ref, items, title); err != nil {
				return err
			}
			return e.store.SetLastDigest(ctx, w.Ref, now)
		}
		title := fmt.Sprintf("Daily digest: %d new matching paper%s", len(items), plural(len(items)))
		if err := e.sendDigest(ctx, plat, w.Ref, channel.BatchDaily, items, title); err != nil {
			return err
		}
		return e.store.SetLastDigest(ctx, w.Ref, now)
	}

	budget := -1 // unlimited
	if e.budget > 0 {
		n, err := e.store.MessagesSince(ctx, w.Ref, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		budget = max(e.budget-n, 0)
	}
	if w.Overflow > 0 && budget != 0 {
		items, err := e.store.Unsent(ctx, w.Ref, channel.KindMatch, []string{channel.StateOverflow}, 0)
		if err != nil {
			return err
		}
		title := fmt.Sprintf("%d more matching paper%s that arrived faster than this channel's hourly limit", len(items), plural(len(items)))
		if err := e.sendDigest(ctx, plat, w.Ref, channel.BatchOverflow, items, title); err != nil {
			return err
		}
		if budget > 0 {
			budget--
		}
	}
	items, err := e.store.Unsent(ctx, w.Ref, channel.KindMatch, []string{channel.StatePending}, batchPerTurn)
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
			return e.store.MarkOverflow(ctx, ids)
		}
		msg := bot.Message{Channel: w.Ref, Cards: []bot.Card{{Paper: it.Paper, Matched: it.Matched}}, Nonce: "pb-" + strconv.FormatInt(it.ID, 10)}
		if err := e.send(ctx, plat, msg, []channel.OutboxItem{it}); err != nil {
			return err
		}
		if budget > 0 {
			budget--
		}
	}
	return nil
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
func (e *Sender) send(ctx context.Context, plat bot.Platform, msg bot.Message, items []channel.OutboxItem) error {
	ch := msg.Channel
	if err := e.waitLimits(ctx, ch); err != nil {
		return err
	}
	if ok, err := e.renew(ctx, ch); err != nil || !ok {
		if err == nil {
			err = errLeaseLost
		}
		return fmt.Errorf("renew lease on %s: %w", ch, err)
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.timeout)
	defer cancel()
	e.markSending(sendCtx, msg.Nonce, items, ids, e.now())
	msgID, err := plat.Send(sendCtx, msg)
	now := e.now()
	log := e.logger().With("channel", ch.String(), "paper", items[0].Paper.Key)
	if err == nil {
		if merr := e.store.MarkSent(sendCtx, ids, msgID, now); merr != nil {
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
		e.metrics.Delivered(ch.Platform, lat...)
		e.posted.Add(1)
		e.depth.Add(-int64(len(items)))
		e.mu.Lock()
		e.chanState(ch).failures = 0
		e.mu.Unlock()
		return nil
	}
	// Not posted: the rows are no longer in flight (see InFlight).
	if serr := e.store.MarkSending(sendCtx, ids, time.Time{}); serr != nil {
		log.Warn("record the end of a send", "err", serr)
	}
	var rl *bot.RateLimitError
	if errors.Is(err, bot.ErrRejected) && len(items) > 1 {
		// Which card made the platform refuse the digest is unknown: sendDigest splits it and tries again.
		log.Warn("the platform rejected a digest; splitting it to find the paper it refuses", "err", err, "papers", len(items))
		return &rejectedBatch{err}
	}
	if errors.Is(err, bot.ErrRejected) {
		if rerr := e.rejected(sendCtx, msg, items, err, now, log); rerr != nil {
			e.backOff(ch, now)
			return rerr
		}
		return nil
	}
	if aerr := e.store.RecordAttempt(sendCtx, ids, err); aerr != nil {
		// Only the attempt count and last error are lost; the rows stay pending and are retried.
		log.Error("record failed attempt", "err", aerr)
	}
	switch {
	case errors.As(err, &rl):
		e.metrics.DeliveryError(ch.Platform, ErrorRateLimited)
		until := now.Add(rl.RetryAfter)
		e.mu.Lock()
		if rl.Global {
			e.platWait[ch.Platform] = until
		} else {
			e.chanState(ch).notBefore = until
		}
		e.mu.Unlock()
		log.Warn("rate limited by the platform; waiting", "retry_after", rl.RetryAfter, "global", rl.Global)
	case errors.Is(err, bot.ErrPermanent):
		e.metrics.DeliveryError(ch.Platform, ErrorPermanent)
		log.Error("channel cannot receive messages; stopped sending to it (its papers are kept)", "err", err)
		if berr := e.store.BlockChannel(sendCtx, ch, err.Error(), now); berr != nil {
			log.Error("record blocked channel", "err", berr)
		}
	case errors.Is(err, bot.ErrAuth):
		// Retried like any transient failure (a fixed token resumes delivery), but it is an outage an operator
		// must act on, not noise.
		e.metrics.DeliveryError(ch.Platform, ErrorRetry)
		wait := e.backOff(ch, now)
		log.Error("the platform refused the bot's token; fix it, will retry", "err", err, "retry_in", wait)
	default:
		e.metrics.DeliveryError(ch.Platform, ErrorRetry)
		wait := e.backOff(ch, now)
		log.Warn("send failed; will retry", "err", err, "retry_in", wait)
	}
	return &sendError{err}
}

// backOff counts a failure of ch and keeps the sender away from it for the backoff delay.
func (e *Sender) backOff(ch channel.Ref, now time.Time) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs := e.chanState(ch)
	cs.failures++
	wait := e.backoff.Delay(cs.failures)
	cs.notBefore = now.Add(wait)
	return wait
}

// waitLimits waits for the channel's and the platform's limiters.
func (e *Sender) waitLimits(ctx context.Context, ch channel.Ref) error {
	e.mu.Lock()
	cl := e.chanState(ch).lim
	pl := e.platLim[ch.Platform]
	if pl == nil {
		l := e.limitsOf(ch.Platform)
		pl = rate.NewLimiter(l.Global/rate.Limit(e.live), max(l.GlobalBurst/e.live, 1))
		e.platLim[ch.Platform] = pl
	}
	e.mu.Unlock()
	if err := pl.Wait(ctx); err != nil {
		return err
	}
	return cl.Wait(ctx)
}

// peerWindow is how recent a sender's heartbeat must be for it to count as live: a few dispatch ticks, so that
// a crashed instance's share returns to the others within seconds.
const peerWindow = 20 * time.Second

// heartbeat records this sender as alive and, when the number of live senders changed, re-splits the platforms'
// global limits between them.
func (e *Sender) heartbeat(ctx context.Context) {
	now := e.now()
	if e.peers == nil || now.Sub(e.lastBeat) < peerWindow/4 {
		return
	}
	e.lastBeat = now
	n, err := e.peers.Heartbeat(ctx, e.owner, now, peerWindow)
	if err != nil {
		if ctx.Err() == nil {
			e.logger().Warn("sender heartbeat", "err", err)
		}
		return
	}
	n = max(n, 1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if n == e.live {
		return
	}
	e.logger().Info("senders sharing the platforms' global rate limits", "instances", n)
	e.live = n
	for platform, lim := range e.platLim {
		l := e.limitsOf(platform)
		lim.SetLimit(l.Global / rate.Limit(n))
		lim.SetBurst(max(l.GlobalBurst/n, 1))
	}
}

// leave takes this sender out of the live count at shutdown.
func (e *Sender) leave(ctx context.Context) {
	if e.peers == nil {
		return
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := e.peers.Leave(lctx, e.owner); err != nil {
		e.logger().Warn("leave the senders sharing the rate limits", "err", err)
	}
}

// GlobalLimit is the share of platform's global rate limit this sender keeps to now.
func (e *Sender) GlobalLimit(platform string) rate.Limit {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.limitsOf(platform).Global / rate.Limit(e.live)
}

func (e *Sender) warnOnce(key string, log *slog.Logger, msg string, args ...any) {
	e.mu.Lock()
	seen := e.warned[key]
	e.warned[key] = true
	e.mu.Unlock()
	if !seen {
		log.Warn(msg, args...)
	}
}

func (e *Sender) now() time.Time { return e.clock() }

func (e *Sender) logger() *slog.Logger { return e.log }

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

// RejectRetryDelays is the retry policy for a paper whose message the platform rejects (bot.ErrRejected): after
// its n-th rejection it waits RejectRetryDelays[n-1] and is sent again, in full while fewer than
// len(RejectRetryDelays) rejections were counted, then once in reduced form (bot.Message.Reduced: no image, no
// buttons, short text). When the reduced form is rejected too, the paper is set aside (state failed) for
// /papers failed and /papers retry. So a paper is sent at most 4 times over about 21 minutes; meanwhile the
// channel's other papers go on. Refusals that come and go (an overloaded edge answering 400, an image the
// platform could not fetch just then) are delivered; a payload that can never be accepted is set aside.
var RejectRetryDelays = [...]time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}

// hasDue reports whether w has anything to send at now: rows waiting for a retry count only once due.
func hasDue(w channel.Work, now time.Time) bool {
	return w.Pending+w.Overflow+w.Backfill > 0 || (w.Retry > 0 && !now.Before(w.NextRetry))
}

// reducedAfter is the rejections after which a paper is sent in reduced form.
const reducedAfter = len(RejectRetryDelays)

// sendRetries sends ch's rows that are due again after a rejection, each on its own (a digest's paper too, so it
// cannot sink a digest again), in reduced form for its last try.
func (e *Sender) sendRetries(ctx context.Context, plat bot.Platform, ch channel.Ref, now time.Time) error {
	items, err := e.store.Retries(ctx, ch, now, batchPerTurn)
	if err != nil {
		return err
	}
	for _, it := range items {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := bot.Message{Channel: ch, Cards: []bot.Card{{Paper: it.Paper, Matched: it.Matched}},
			Nonce: "pb-" + strconv.FormatInt(it.ID, 10), Reduced: it.Rejections >= reducedAfter}
		if err := e.send(ctx, plat, msg, []channel.OutboxItem{it}); err != nil {
			return err
		}
	}
	return nil
}

// rejected records a rejection of msg, whose rows are items: they wait for their next try (RejectRetryDelays),
// or, after the reduced form was rejected too, are set aside.
func (e *Sender) rejected(ctx context.Context, msg bot.Message, items []channel.OutboxItem, sendErr error, now time.Time, log *slog.Logger) error {
	e.metrics.DeliveryError(msg.Channel.Platform, ErrorRejected)
	ids := make([]int64, len(items))
	rejections := 0
	for i, it := range items {
		ids[i] = it.ID
		rejections = max(rejections, it.Rejections)
	}
	rejections++ // this one
	if msg.Reduced || rejections > reducedAfter {
		log.Error("the platform rejected this paper again, in reduced form too; set aside (/papers failed lists it, /papers retry re-queues it)",
			"err", sendErr, "rejections", rejections)
		return e.store.MarkFailed(ctx, ids, sendErr, now)
	}
	retryAt := now.Add(RejectRetryDelays[rejections-1])
	log.Warn("the platform rejected this message; trying the paper again later, going on with the next one",
		"err", sendErr, "rejections", rejections, "retry_in", RejectRetryDelays[rejections-1], "reduced", rejections >= reducedAfter)
	return e.store.MarkRejected(ctx, ids, sendErr, retryAt)
}
