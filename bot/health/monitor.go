package health

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Store is what the monitor needs from the store. Both stores implement it (SQLite and PostgreSQL) and pass the
// same contract (bot/store/storetest).
type Store interface {
	SourceStates(ctx context.Context) ([]paper.SourceState, error)
	// HealthRecords returns every source's health record, by name.
	HealthRecords(ctx context.Context) ([]Record, error)
	// RecordHealth applies one poll's outcome to source's record (Record.Apply), creating it if needed.
	RecordHealth(ctx context.Context, source string, o Observation) error
	// SetNotice moves source's open notice from from to to ("" is none), at at, only if it is from now, and
	// reports whether it did: of several instances, only the one whose call returns true posts the message.
	SetNotice(ctx context.Context, source string, from, to State, at time.Time) (bool, error)
}

// Source is one configured source as the monitor sees it.
type Source struct {
	Name string
	// Listing says the source follows arXiv's announcements (kinds arxiv and arxiv-api).
	Listing bool
}

// Defaults of the [health] table.
const (
	DefaultLateAfter   = 2 * time.Hour
	DefaultNotifyAfter = 6 * time.Hour
	// CheckEvery is how often Run looks at the states: a late source turns late within a minute of its time.
	CheckEvery = time.Minute
)

// Monitor evaluates the sources' health and posts notices about it. Its methods are safe for concurrent use as
// long as its fields are not changed after the first call.
type Monitor struct {
	Store   Store
	Sources []Source
	Policy  Policy
	// NotifyAfter is how long a source must have been late or failing before a notice is posted.
	NotifyAfter time.Duration
	// Notify, when set, posts a notice to [health] notify_channel; nonce identifies it across retries. Nil posts
	// none (and leaves open notices as they are).
	Notify func(ctx context.Context, text, nonce string) error
	// OnCheck, when set, hears every Check's reports (metrics and /healthz).
	OnCheck func([]Report)
	Now     func() time.Time
	Logger  *slog.Logger
}

// Observe records one poll's outcome. A store error is logged: health must not fail a poll.
func (m *Monitor) Observe(ctx context.Context, source string, o Observation) {
	if err := m.Store.RecordHealth(ctx, source, o); err != nil && ctx.Err() == nil {
		m.logger().Warn("record source health", "source", source, "err", err)
	}
}

// Reports returns the configured sources' health at now, in configuration order.
func (m *Monitor) Reports(ctx context.Context) ([]Report, error) {
	reps, _, err := m.reports(ctx, m.now())
	return reps, err
}

func (m *Monitor) reports(ctx context.Context, now time.Time) ([]Report, map[string]Record, error) {
	states, err := m.Store.SourceStates(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("source health: %w", err)
	}
	recs, err := m.Store.HealthRecords(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("source health: %w", err)
	}
	byState := make(map[string]paper.SourceState, len(states))
	for _, s := range states {
		byState[s.Source] = s
	}
	byRec := make(map[string]Record, len(recs))
	for _, r := range recs {
		byRec[r.Source] = r
	}
	out := make([]Report, 0, len(m.Sources))
	for _, s := range m.Sources {
		st := byState[s.Name]
		st.Source = s.Name
		out = append(out, Evaluate(now, s.Listing, st, byRec[s.Name], m.Policy))
	}
	return out, byRec, nil
}

// Check evaluates every source, posts the notices that are due, and passes the reports to OnCheck.
func (m *Monitor) Check(ctx context.Context) ([]Report, error) {
	now := m.now()
	reps, recs, err := m.reports(ctx, now)
	if err != nil {
		return nil, err
	}
	var errs []error
	if m.Notify != nil {
		for _, r := range reps {
			if err := m.notice(ctx, now, r, recs[r.Source]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if m.OnCheck != nil {
		m.OnCheck(reps)
	}
	return reps, errors.Join(errs...)
}

// notice opens or closes source r's notice as its state asks. The store's compare-and-set decides which instance
// posts; a post that fails puts the notice back, so that the next check tries again. A crash between the two
// loses the message rather than posting it twice.
func (m *Monitor) notice(ctx context.Context, now time.Time, r Report, rec Record) error {
	bad := r.State == Late || r.State == Failing
	switch {
	case bad && rec.Notice == "" && !r.Since.IsZero() && now.Sub(r.Since) >= m.NotifyAfter:
		return m.post(ctx, now, r.Source, "", r.State, m.problemText(r), rec.Notice)
	case !bad && rec.Notice != "":
		return m.post(ctx, now, r.Source, rec.Notice, "", m.recoveryText(r, rec), rec.Notice)
	}
	return nil
}

func (m *Monitor) post(ctx context.Context, now time.Time, source string, from, to State, text string, undo State) error {
	ok, err := m.Store.SetNotice(ctx, source, from, to, now)
	if err != nil || !ok {
		return err
	}
	nonce := fmt.Sprintf("health:%s:%s:%d", source, cmp.Or(to, "recovered"), now.Unix())
	if err := m.Notify(ctx, text, nonce); err != nil {
		if _, uerr := m.Store.SetNotice(context.WithoutCancel(ctx), source, to, undo, now); uerr != nil {
			err = errors.Join(err, fmt.Errorf("put the notice back: %w", uerr))
		}
		return fmt.Errorf("health notice for %s: %w", source, err)
	}
	m.logger().Info("health notice posted", "source", source, "state", cmp.Or(string(to), "recovered"))
	return nil
}

func (m *Monitor) problemText(r Report) string {
	loc := m.location()
	switch r.State {
	case Late:
		return fmt.Sprintf("⚠️ Source %s is late: arXiv announced at %s and the feed still serves the previous batch.",
			r.Source, FormatTime(r.Due, loc))
	default:
		return fmt.Sprintf("⚠️ Source %s is failing since %s: %s", r.Source, FormatTime(r.Since, loc), r.LastError)
	}
}

func (m *Monitor) recoveryText(r Report, rec Record) string {
	return fmt.Sprintf("✅ Source %s has recovered (it was %s; notice of %s); now %s.", r.Source, rec.Notice,
		FormatTime(rec.NoticeAt, m.location()), r.State)
}

// Run checks every CheckEvery until ctx ends, at once first; it returns nil when ctx is cancelled.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(CheckEvery)
	defer t.Stop()
	for {
		if _, err := m.Check(ctx); err != nil && ctx.Err() == nil {
			m.logger().Warn("source health check", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (m *Monitor) location() *time.Location {
	if m.Policy.Schedule != nil {
		return m.Policy.Schedule.Location
	}
	return time.UTC
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Monitor) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.New(slog.DiscardHandler)
}
