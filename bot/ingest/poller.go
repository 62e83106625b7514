package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/paperboy-bot/paperboy/sources"
)

// StateStore is where the poller keeps each source's conditional-GET validators and health.
type StateStore interface {
	Validators(ctx context.Context, source string) (map[string]paper.Validators, error)
	RecordPollError(ctx context.Context, source string, pollErr error, at time.Time) error
	RecordNotModified(ctx context.Context, source string, at time.Time) error
}

// Sink stores one poll's papers together with the validators that produced them, in one transaction.
type Sink interface {
	Ingest(ctx context.Context, source string, papers []paper.Paper, validators map[string]paper.Validators, at time.Time) (paper.IngestResult, error)
}

// Leases let several pollers (one per paperboy instance) share the sources: a source is polled only by the poller
// holding its lease. ClaimSource leases source to owner until at+ttl unless another owner holds a lease that has not
// expired, and reports whether owner holds it now; claiming a source owner holds extends the lease.
type Leases interface {
	ClaimSource(ctx context.Context, source, owner string, at time.Time, ttl time.Duration) (bool, error)
	ReleaseSource(ctx context.Context, source, owner string) error
	// SourceStates tells a poller that takes a source over when it was last polled.
	SourceStates(ctx context.Context) ([]paper.SourceState, error)
}

// DefaultLeaseTTL is how long a source lease lasts without renewal: a poller renews it every third of that, and
// another instance takes a dead poller's sources over within DefaultLeaseTTL plus one check (under a minute).
const DefaultLeaseTTL = 45 * time.Second

// PollReport is the outcome of one poll of one source.
type PollReport struct {
	Source      string        `json:"source"`
	Fetched     int           `json:"fetched"`
	New         int           `json:"new"`
	Updated     int           `json:"updated"`
	NotModified bool          `json:"not_modified"`
	Err         error         `json:"-"`
	Took        time.Duration `json:"-"`
	// NextPoll is the earliest time the server asked to be polled again, zero when it did not say.
	NextPoll time.Time `json:"-"`
	// Repaired, Truncated and Skipped count what the parser mended, cut to its limits or left out of the feed
	// instead of rejecting it (sources.PollResult).
	Repaired  int `json:"repaired,omitempty"`
	Truncated int `json:"truncated,omitempty"`
	Skipped   int `json:"skipped,omitempty"`
}

// ScheduledSource is a source with its polling interval.
type ScheduledSource struct {
	Source   sources.Source
	Interval time.Duration
}

// Poller polls sources and ingests what they deliver. Each poll's papers and the source's new conditional-GET
// validators are stored in one transaction, so a crash can never advance an ETag past papers that were not stored.
type Poller struct {
	State   StateStore
	Sink    Sink
	Sources []ScheduledSource
	Logger  *slog.Logger
	// Now and Sleep are the clock; tests replace them. Sleep returns ctx.Err() if ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Backoff spaces out retries of a failing source.
	Backoff sources.Backoff
	// OnPoll, if set, is called after every poll (for metrics and, later, delivery).
	OnPoll func(PollReport)
	// Leases, when set, makes this poller poll only the sources whose lease it holds, as Owner; nil polls every
	// source (one instance).
	Leases Leases
	Owner  string
	// LeaseTTL is the source lease's duration (DefaultLeaseTTL when 0).
	LeaseTTL time.Duration
	// AfterFirstPoll, if set, runs once per source after its first successful poll by this poller (the history
	// fill). After, not before: the papers of the current listing are then announced as usual, and history adds
	// only what the listing does not carry.
	AfterFirstPoll func(ctx context.Context, source string)
}

// PollOnce polls one source once and ingests the result.
func (p *Poller) PollOnce(ctx context.Context, src sources.Source) (rep PollReport) {
	start := p.now()
	rep = PollReport{Source: src.Name()}
	// rep is the named result, so the deferred assignment lands in what the caller receives (a copy returned
	// before the defer ran would always say took=0s).
	defer func() { rep.Took = p.now().Sub(start) }()
	fail := func(err error) PollReport {
		rep.Err = err
		// Recording the failure must not hide it; a store error is logged, the poll error returned.
		if rerr := p.State.RecordPollError(ctx, src.Name(), err, p.now()); rerr != nil && ctx.Err() == nil {
			p.logger().Error("record poll error", "source", src.Name(), "err", rerr)
		}
		return rep
	}
	prev, err := p.State.Validators(ctx, src.Name())
	if err != nil {
		return fail(fmt.Errorf("load validators of %s: %w", src.Name(), err))
	}
	res, err := src.Poll(ctx, prev)
	if err != nil {
		return fail(err)
	}
	rep.NextPoll = res.NextPoll
	rep.Fetched = len(res.Papers)
	rep.Repaired, rep.Truncated, rep.Skipped = res.Repaired, res.Truncated, res.Skipped
	if res.NotModified {
		rep.NotModified = true
		if err := p.State.RecordNotModified(ctx, src.Name(), p.now()); err != nil {
			return fail(fmt.Errorf("record not-modified of %s: %w", src.Name(), err))
		}
		return rep
	}
	ir, err := p.Sink.Ingest(ctx, src.Name(), res.Papers, res.Validators, p.now())
	if err != nil {
		return fail(fmt.Errorf("ingest %s: %w", src.Name(), err))
	}
	rep.New, rep.Updated = len(ir.New), len(ir.Updated)
	return rep
}

// Run polls every source on its own schedule until ctx ends. A failing source is retried with jittered
// exponential backoff (never sooner than a server's Retry-After) and never stops the others. It returns nil when
// ctx is cancelled.
func (p *Poller) Run(ctx context.Context) error {
	if len(p.Sources) == 0 {
		return errors.New("no sources to poll")
	}
	var wg sync.WaitGroup
	for _, s := range p.Sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.loop(ctx, s)
		}()
	}
	wg.Wait()
	return nil
}

func (p *Poller) loop(ctx context.Context, s ScheduledSource) {
	log := p.logger().With("source", s.Source.Name())
	var lease *sourceLease
	if p.Leases != nil {
		lease = p.keepLease(ctx, s.Source.Name(), log)
		// The loop ends with ctx, and so does the keeper; wait for its release, so that Run's return means the
		// store is no longer used.
		defer func() { <-lease.done }()
	}
	failures := 0
	afterFirst := p.AfterFirstPoll
	due := p.now() // a start polls at once
	for {
		if lease != nil && !lease.held.Load() {
			// Another instance polls this source; wait until its lease is ours (it stopped or died).
			select {
			case <-ctx.Done():
				return
			case <-lease.changed:
			}
			if lease.held.Load() {
				due = p.takeOver(ctx, s, due, log)
			}
			continue
		}
		if wait := due.Sub(p.now()); wait > 0 {
			if err := p.sleep(ctx, wait); err != nil {
				return
			}
			if lease != nil && !lease.held.Load() {
				continue // lost while sleeping: another instance polls it now
			}
		}
		rep := p.PollOnce(ctx, s.Source)
		if ctx.Err() != nil {
			return
		}
		if p.OnPoll != nil {
			p.OnPoll(rep)
		}
		if rep.Err != nil {
			failures++
		} else {
			failures = 0
		}
		next := p.nextDelay(s.Interval, rep, failures)
		if rep.Err != nil {
			log.Warn("poll failed", "err", rep.Err, "failures", failures, "retry_in", next.Round(time.Second))
		} else {
			log.Info("polled", "fetched", rep.Fetched, "new", rep.New, "updated", rep.Updated,
				"not_modified", rep.NotModified, "took", rep.Took.Round(time.Millisecond), "next_in", next.Round(time.Second))
		}
		if rep.Repaired+rep.Truncated+rep.Skipped > 0 {
			// The feed was read, but not as served: its publisher may want to know.
			log.Warn("feed repaired while parsing", "repaired_chars", rep.Repaired, "truncated", rep.Truncated,
				"skipped_items", rep.Skipped)
		}
		if rep.Err == nil && afterFirst != nil {
			afterFirst(ctx, s.Source.Name())
			afterFirst = nil
			if ctx.Err() != nil {
				return
			}
		}
		due = p.now().Add(next)
	}
}

// takeOver schedules the first poll of a source this poller just took over: when the previous holder's last poll
// says it is due, not at once, so that a failover does not poll twice in a row.
func (p *Poller) takeOver(ctx context.Context, s ScheduledSource, due time.Time, log *slog.Logger) time.Time {
	states, err := p.Leases.SourceStates(ctx)
	if err != nil {
		log.Warn("source taken over; its last poll is unknown, polling now", "err", err)
		return due
	}
	for _, st := range states {
		if st.Source == s.Source.Name() && !st.LastPoll.IsZero() {
			if next := st.LastPoll.Add(s.Interval); next.After(due) {
				due = next
			}
		}
	}
	log.Info("source taken over by this instance", "owner", p.Owner, "next_poll", due)
	return due
}

// sourceLease is this poller's hold on one source's lease, kept current by keepLease.
type sourceLease struct {
	held atomic.Bool
	// changed receives (without blocking) whenever held changes.
	changed chan struct{}
	// done is closed when the keeper has stopped (and released the lease).
	done chan struct{}
}

// keepLease claims source and renews its lease every third of the TTL until ctx ends, then releases it so that
// another instance can take over at once (a deploy, Ctrl-C).
func (p *Poller) keepLease(ctx context.Context, source string, log *slog.Logger) *sourceLease {
	l := &sourceLease{changed: make(chan struct{}, 1), done: make(chan struct{})}
	ttl := cmp.Or(p.LeaseTTL, DefaultLeaseTTL)
	claim := func() {
		ok, err := p.Leases.ClaimSource(ctx, source, p.Owner, p.now(), ttl)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("renew source lease", "err", err)
			}
			// A store hiccup keeps the lease we had until it expires; we may not start polling without one.
			ok = l.held.Load()
		}
		if l.held.Swap(ok) != ok {
			select {
			case l.changed <- struct{}{}:
			default:
			}
		}
	}
	claim()
	go func() {
		defer close(l.done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				if l.held.Load() {
					rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
					defer cancel()
					if err := p.Leases.ReleaseSource(rctx, source, p.Owner); err != nil {
						log.Warn("release source lease", "err", err)
					}
				}
				return
			case <-t.C:
				claim()
			}
		}
	}()
	return l
}

// nextDelay is how long to wait before polling a source again after rep, its consecutive failures included.
// Failures retry sooner than the schedule at first, but a long outage never polls more often than the schedule
// would, and never before a server's Retry-After; a server's Cache-Control max-age may only lengthen the wait.
func (p *Poller) nextDelay(interval time.Duration, rep PollReport, failures int) time.Duration {
	if rep.Err != nil {
		next := min(p.Backoff.Delay(failures), interval)
		if ra, ok := sources.RetryAfter(rep.Err); ok && ra > next {
			next = ra
		}
		return next
	}
	next := interval
	if !rep.NextPoll.IsZero() {
		next = max(next, rep.NextPoll.Sub(p.now()))
	}
	return next
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Poller) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}
