package health

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// State is a source's health, one word for /papers sources, /healthz and paperboy_source_state.
type State string

// The states. Only Late and Failing call for attention; Quiet is a feed with nothing to say.
const (
	// OK: the source polls and serves what is expected of it.
	OK State = "ok"
	// Quiet: nothing new because nothing was published: for arXiv sources an evening without an announcement
	// (Friday, Saturday, a holiday) has passed since the last batch; for other feeds the silence is longer than
	// any recent gap between its new papers.
	Quiet State = "quiet"
	// Late: an arXiv announcement was due more than late_after ago and the feed still serves the previous batch.
	Late State = "late"
	// Failing: the last poll failed.
	Failing State = "failing"
)

// States lists every state, in the order metrics and messages use.
func States() []State { return []State{OK, Quiet, Late, Failing} }

// ArrivalHistory is how many of a source's latest new-paper times the store keeps, to learn its usual silence.
const ArrivalHistory = 10

// MinArrivals is how many new-paper times a feed needs before it can be called quiet: with fewer, its usual
// rhythm is unknown.
const MinArrivals = 4

// MinQuietSilence is the shortest silence that can make a feed quiet, however busy its history.
const MinQuietSilence = time.Hour

// Record is what the store keeps about a source's health, beside its paper.SourceState.
type Record struct {
	Source string
	// FailingSince is the first failed poll of the current run of failures; zero after a success.
	FailingSince time.Time
	// LastBatch is the last poll that stored new or changed papers: for arXiv sources, when the current batch
	// was first seen.
	LastBatch time.Time
	// Arrivals are the times of the latest polls that brought new papers, oldest first, at most ArrivalHistory.
	Arrivals []time.Time
	// Notice is the state an open notice was posted for (Late or Failing), "" when none is open; NoticeAt is when
	// it was opened.
	Notice   State
	NoticeAt time.Time
}

// Observation is one poll's outcome, as the health record needs it.
type Observation struct {
	At     time.Time
	Failed bool
	// New and Updated count the papers the poll stored for the first time and the known papers it changed.
	New, Updated int
}

// Apply returns r after o: what every store's RecordHealth writes, so that both keep the same rules.
func (r Record) Apply(o Observation) Record {
	if o.Failed {
		if r.FailingSince.IsZero() {
			r.FailingSince = o.At
		}
		return r
	}
	r.FailingSince = time.Time{}
	if o.New+o.Updated > 0 {
		r.LastBatch = o.At
	}
	if o.New > 0 {
		r.Arrivals = append(slices.Clone(r.Arrivals), o.At)
		if n := len(r.Arrivals); n > ArrivalHistory {
			r.Arrivals = r.Arrivals[n-ArrivalHistory:]
		}
	}
	return r
}

// Report is one source's health at one moment.
type Report struct {
	Source string
	State  State
	// Since is when the source became Late or Failing (zero otherwise): notify_after counts from it.
	Since time.Time
	// Why says what made the state, for people: the holiday or weekday of a quiet arXiv source, the missing
	// announcement of a late one.
	Why string
	// LastBatch is when the current batch was first seen (arXiv) or the last new or changed papers arrived.
	LastBatch time.Time
	// NextBatch is arXiv's next announcement (zero for other kinds); Due the announcement a late source misses.
	NextBatch, Due time.Time
	// LastError is the last poll's error while Failing.
	LastError string
	// LastSuccess and LastNewPaper come from the source's poll state.
	LastSuccess, LastNewPaper time.Time
}

// Policy holds what Evaluate needs beyond the source's own records.
type Policy struct {
	// Schedule is arXiv's announcement calendar.
	Schedule *Schedule
	// LateAfter is how long after an announcement a feed may still serve the previous batch ([health] late_after).
	LateAfter time.Duration
}

// Evaluate gives a source its state at now. listing says the source follows arXiv's announcements (kinds arxiv
// and arxiv-api); other sources are judged by their own history of new papers.
func Evaluate(now time.Time, listing bool, st paper.SourceState, rec Record, p Policy) Report {
	r := Report{Source: st.Source, State: OK, LastBatch: rec.LastBatch, LastSuccess: st.LastSuccess, LastNewPaper: st.LastNewPaper}
	if r.Source == "" {
		r.Source = rec.Source
	}
	if listing && p.Schedule != nil {
		r.NextBatch = p.Schedule.Next(now)
	}
	if st.ConsecutiveFailures > 0 {
		r.State, r.LastError, r.Since = Failing, st.LastError, rec.FailingSince
		if r.Since.IsZero() {
			// Failures recorded before health was (a restart between the two writes): the latest is all we know.
			r.Since = st.LastErrorAt
		}
		return r
	}
	if !listing || p.Schedule == nil {
		if silence, usual, ok := quietFeed(now, rec.Arrivals); ok {
			r.State = Quiet
			r.Why = "nothing new for " + roundDuration(silence) + ", longer than its usual " + roundDuration(usual)
		}
		return r
	}
	due := p.Schedule.Previous(now)
	if due.IsZero() || rec.LastBatch.IsZero() {
		// No announcement known, or no batch ever seen (a new source): nothing to compare against.
		return r
	}
	if !rec.LastBatch.Before(due) {
		if at, why := p.Schedule.SkippedSince(due, now); !at.IsZero() {
			r.State, r.Why = Quiet, "no announcement on "+why+" evening"
		}
		return r
	}
	if now.Sub(due) < p.LateAfter {
		r.Why = "waiting for the batch announced at " + FormatTime(due, p.Schedule.Location)
		return r
	}
	missed := p.Schedule.Next(rec.LastBatch)
	if missed.IsZero() || missed.After(due) {
		missed = due
	}
	r.State, r.Due, r.Since = Late, due, missed.Add(p.LateAfter)
	r.Why = "arXiv announced at " + FormatTime(due, p.Schedule.Location) + " and the feed still serves the previous batch"
	return r
}

// quietFeed applies the quiet rule of feeds without a schedule: silent (since the last new paper) for longer than
// the longest gap between its last ArrivalHistory new-paper polls, and for at least MinQuietSilence; it needs
// MinArrivals of them to know the feed's rhythm.
func quietFeed(now time.Time, arrivals []time.Time) (silence, usual time.Duration, ok bool) {
	if len(arrivals) < MinArrivals {
		return 0, 0, false
	}
	for i := 1; i < len(arrivals); i++ {
		usual = max(usual, arrivals[i].Sub(arrivals[i-1]))
	}
	silence = now.Sub(arrivals[len(arrivals)-1])
	return silence, usual, silence > usual && silence >= MinQuietSilence
}

// FormatTime shows t for people in loc: "Tue 24 Nov 20:00 EST".
func FormatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("Mon 2 Jan 15:04 MST")
}

// roundDuration shows a duration at the precision a silence deserves: minutes, hours, or days from two days on.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Round(time.Hour)/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d.Round(24*time.Hour)/(24*time.Hour)))
}

// EncodeArrivals is how stores keep Record.Arrivals in one text column: Unix nanoseconds, space-separated.
func EncodeArrivals(ts []time.Time) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = strconv.FormatInt(t.UnixNano(), 10)
	}
	return strings.Join(parts, " ")
}

// DecodeArrivals reads what EncodeArrivals wrote.
func DecodeArrivals(s string) ([]time.Time, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil, nil
	}
	out := make([]time.Time, len(f))
	for i, v := range f {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("arrival time %q: %w", v, err)
		}
		out[i] = time.Unix(0, n).UTC()
	}
	return out, nil
}
