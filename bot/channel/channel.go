// Package channel is where papers go: channels on a platform, the subscriptions they follow, their delivery
// mode, and the outbox items (one per channel and paper, ever) waiting to be posted. Like package paper it imports
// no storage, network or SDK code: the store, the router, the sender and the commands all speak these types.
package channel

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// ErrDuplicate is returned when a channel already has a subscription with the same canonical query.
var ErrDuplicate = errors.New("already subscribed")

// ErrNotFound is returned when a subscription to remove does not exist in that channel.
var ErrNotFound = errors.New("not found")

// Ref names a channel on a platform.
type Ref struct {
	Platform string // "slack", "discord" or "console"
	ID       string
}

func (c Ref) String() string { return c.Platform + ":" + c.ID }

// ParseRef parses "PLATFORM:ID", e.g. "slack:C0123ABCD". Whether the platform exists is for the caller to say
// (the composition root knows the registered platforms).
func ParseRef(s string) (Ref, error) {
	p, id, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || p == "" || id == "" || strings.ContainsAny(p+id, " \t") {
		return Ref{}, fmt.Errorf("channel %q: want PLATFORM:ID, e.g. slack:C0123ABCD", s)
	}
	return Ref{Platform: p, ID: id}, nil
}

// Delivery modes of a channel.
const (
	ModeInstant = "instant"
	ModeDigest  = "digest"
)

// Channel is a channel's delivery settings.
type Channel struct {
	Ref  Ref
	Mode string // ModeInstant or ModeDigest
	// DigestAt ("09:00", or "Mon 09:00" for a weekly digest) and DigestTZ (IANA name) are set in digest mode; see
	// ParseDigestSchedule.
	DigestAt string
	DigestTZ string
	// Blocked is why delivery to the channel stopped (a permanent platform error), "" when it is deliverable;
	// BlockedAt is when it stopped (zero when it is deliverable).
	Blocked   string
	BlockedAt time.Time
}

// ModeString describes the mode for people: "each paper as it arrives", "daily digest at 09:00 Europe/Berlin" or
// "weekly digest on Monday at 09:00 Europe/Berlin".
func (c Channel) ModeString() string {
	if c.Mode == ModeDigest {
		if sched, err := ParseDigestSchedule(c.DigestAt, c.DigestTZ); err == nil && sched.Weekly {
			return fmt.Sprintf("weekly digest on %s at %s %s", sched.Day, sched.At[4:], sched.TZ)
		}
		return fmt.Sprintf("daily digest at %s %s", c.DigestAt, c.DigestTZ)
	}
	return "each paper as it arrives"
}

// Subscription is one query a channel follows.
type Subscription struct {
	ID      int64
	Channel Ref
	// Query is as typed; Canonical is the parsed query's canonical form, which identifies it within the channel.
	Query     string
	Canonical string
	AddedBy   string
	AddedAt   time.Time
	// FromConfig subscriptions are managed by the [[channels]] table of the configuration file.
	FromConfig bool
}

// ConfigChannel is a channel and the subscriptions the configuration file gives it.
type ConfigChannel struct {
	Ref           Ref
	Subscriptions []Subscription // Query and Canonical are used
}

// Outbox row kinds and states.
const (
	KindMatch    = "match"
	KindBackfill = "backfill"

	StatePending  = "pending"
	StateOverflow = "overflow"
	StateSent     = "sent"
	// StateFailed rows were rejected by the platform again and again, in full and in reduced form, and set aside;
	// they keep their last_error and failed_at for /papers failed, and /papers retry makes them pending again.
	StateFailed = "failed"
)

// OutboxItem is one unsent (channel, paper) announcement.
type OutboxItem struct {
	ID        int64
	Channel   Ref
	Paper     paper.Paper
	Matched   []string
	Kind      string
	State     string
	CreatedAt time.Time
	Attempts  int
	// Rejections counts the times the platform rejected this row's message (bot.ErrRejected) since it was
	// queued or re-queued; the sender retries it a bounded number of times before setting it aside.
	Rejections int
	// RetryAt is when a rejected row is tried again (zero when it is not waiting for a retry).
	RetryAt time.Time
	// LastError is the platform's last refusal, and FailedAt when the row was set aside (zero unless failed).
	LastError string
	FailedAt  time.Time
	// SendingAt is when a send of the row last started (zero if none did). A row still unsent with a SendingAt
	// from before the sender started was in flight when the previous process stopped: the platform may have
	// taken it already.
	SendingAt time.Time
}

// Work is a channel with unsent rows, for the sender's dispatch.
type Work struct {
	Channel
	Pending, Overflow, Backfill int
	// Blocked is the reason the channel stopped (a permanent platform error), "" when it is deliverable.
	Blocked      string
	LastDigestAt time.Time
	// OldestUnsent is when the oldest waiting match row was created.
	OldestUnsent time.Time
	// Retry counts rows waiting to be tried again after the platform rejected them (not counted in Pending,
	// Overflow or Backfill, and not listed by Unsent); NextRetry is the earliest time one of them is due.
	Retry     int
	NextRetry time.Time
	// Edits counts the channel's card edits that are due (see Edit); they go after its new cards.
	Edits int
}

// Router decides which channels get a paper; it runs inside the ingest transaction and must not touch the store.
// firstSeen is when the paper was first stored: a router applies only subscriptions that existed by then, so a
// new subscription never pulls in papers ingested before it.
type Router func(p *paper.Paper, firstSeen time.Time) []Route

// Route is one channel that gets a paper, with the query terms that matched there.
type Route struct {
	Channel Ref
	Matched []string
}

// Edit is a pending change of a posted card: its paper changed (paper.CardChanges) after the card went out. There
// is at most one per (channel, paper): changes that arrive before it is sent fold into it, and it renders the
// paper as it is when sent, so that sending it again after a crash shows the same card.
type Edit struct {
	Channel Ref
	// Paper is the paper as stored now.
	Paper paper.Paper
	// MessageID is the platform's id of the posted card, and Matched the terms it showed.
	MessageID string
	Matched   []string
	// Up and Down are the channel's votes on the paper now: the edited card shows them on its vote buttons, so an
	// edit for any reason keeps the counts, and an edit queued by votes shows the last of them.
	Up, Down int
	// Rev counts the changes folded into the edit; the sender completes the edit only if no change arrived while
	// it was being sent (see EditDone).
	Rev      int64
	Attempts int
	// CreatedAt is when the first change of this edit was recorded.
	CreatedAt time.Time
}

// EditWork is a channel with edits due, for the sender's dispatch.
type EditWork struct {
	Ref   Ref
	Edits int
	// Blocked is the channel's stop reason, as in Work.
	Blocked string
}
