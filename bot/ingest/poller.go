package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
}

// PollOnce polls one source once and ingests the result.
func (p *Poller) PollOnce(ctx context.Context, src sources.Source) PollReport {
	start := p.now()
	rep := PollReport{Source: src.Name()}
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
	failures := 0
	for {
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
		if err := p.sleep(ctx, next); err != nil {
			return
		}
	}
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
