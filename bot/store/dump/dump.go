// Package dump copies a whole paperboy store into another, whatever their backends: a SQLite file into
// PostgreSQL when a lab outgrows the embedded store, or back. It holds the records of a store (plain values, no
// SQL) and the two small interfaces a store implements to take part: an Exporter streams its records through a
// Writer, in batches and in dependency order; an Importer writes them into an empty store within a transaction.
//
// What is copied is everything that makes the bot the same bot: papers (with when they were first and last
// seen, in the stores' newest-first order), the conditional-GET validators and health of every source,
// channels with their mode, block and last digest, subscriptions in their order with their origin, digest
// batches with their ids (a digest's platform nonce is derived from its batch's id), the outbox with every row's
// state, batch and in-flight mark, so that the copy delivers what was pending exactly once and never re-sends what
// was sent, and the checkpoints of bulk imports, so that an interrupted import resumes on the copy, and the votes on cards and reading lists. Leases (of channels and sources) and the live-instance heartbeats are not copied: they describe
// running processes, and copying is done with the bot stopped.
package dump

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// BatchSize is how many records an Exporter passes to one Writer call at most, so that a million-paper store is
// streamed and never held in memory.
const BatchSize = 1000

// ErrNotEmpty is returned by Copy when the target store already holds data: a copy never merges into, or
// overwrites, a store in use.
var ErrNotEmpty = errors.New("target store is not empty")

// Paper is a stored paper with when it was first and last seen (millisecond precision).
type Paper struct {
	paper.Paper
	FirstSeen, LastSeen time.Time
}

// Validators are the conditional-GET validators a source keeps for one URL.
type Validators struct {
	Source, URL string
	paper.Validators
}

// SourceState is the health of one source. PolledBy, when set, is recorded by the importer as a lease that has
// already expired, so /papers sources still names who polled last while any instance may claim the source.
type SourceState = paper.SourceState

// Channel is a channel's settings and delivery state. Zero times mean never (BlockedAt, LastDigestAt).
type Channel struct {
	channel.Channel
	CreatedAt    time.Time
	BlockedAt    time.Time
	LastDigestAt time.Time
}

// Pruned reports whether o stands for a posted row that was pruned to its (channel, paper) pair.
func (o Outbox) Pruned() bool {
	epoch := time.Unix(0, 0)
	return o.State == channel.StateSent && o.MessageID == "" && o.SentAt.Equal(epoch) && o.CreatedAt.Equal(epoch)
}

// Subscription is one query a channel follows. An importer may give it a new ID, but must keep the order in
// which the Exporter passes subscriptions (their order in /papers list), AddedAt and FromConfig.
type Subscription = channel.Subscription

// Outbox is one (channel, paper) row of the outbox, whatever its state. It names its paper by key; the paper is
// always exported before it. A row pruned after it was posted (what a store keeps of it is the pair, so that the
// paper is posted once ever) travels as a Pruned row: sent, created and sent at the Unix epoch, without message.
type Outbox struct {
	Channel   channel.Ref
	PaperKey  string
	Matched   []string
	Kind      string // channel.KindMatch or channel.KindBackfill
	State     string // channel.StatePending, StateOverflow, StateSent or StateFailed
	CreatedAt time.Time
	Attempts  int
	LastError string
	MessageID string
	SentAt    time.Time // zero unless sent
	// Rejections, RetryAt and FailedAt are the row's retry state after platform rejections (channel.OutboxItem).
	Rejections int
	RetryAt    time.Time // zero unless waiting for a retry
	FailedAt   time.Time // zero unless set aside
	// BatchID is the digest batch the row belongs to (Batch.ID; 0 for none). SendingAt is when a send of the row
	// started without an outcome recorded yet (zero unless in flight when the source store was last used).
	BatchID   int64
	SendingAt time.Time
}

// Batch is one digest batch (channel.Batch without its rows). An importer keeps its ID: the digest is sent again
// under the nonce derived from it, which lets a platform that deduplicates by nonce (Discord) post it once even
// if the source's send had reached the platform before the bot stopped. Batches are never deleted, so the largest
// ID is also the store's high-water mark, and new batches in the copy get larger ones.
type Batch struct {
	ID        int64
	Channel   channel.Ref
	Kind      string // channel.BatchDaily, BatchOverflow or BatchBackfill
	Title     string
	CreatedAt time.Time
}

// Import is the checkpoint of one named bulk import (paperboy import snapshot, paperboy import arxiv).
type Import struct {
	Name      string
	State     []byte // opaque to the store
	UpdatedAt time.Time
}

// Vote is one user's vote on a paper in a channel (channel.VoteRelevant or VoteNotRelevant).
type Vote struct {
	Channel  channel.Ref
	PaperKey string
	User     string
	// Workspace is the voter's workspace (channel.User's), channel.AnyWorkspace for a vote recorded before the
	// stores kept workspaces.
	Workspace string
	Vote      int
	At        time.Time
}

// Saved is a paper on a user's reading list; reading lists belong to a user of a workspace (channel.User).
type Saved struct {
	Platform string
	// Workspace is channel.User's, channel.AnyWorkspace for an entry recorded before the stores kept workspaces.
	Workspace string
	User      string
	PaperKey  string
	At        time.Time
}

// Writer receives a store's records, one call per batch of at most BatchSize records of one kind; it must not keep
// a batch after returning (the exporter reuses it). An Exporter
// calls it in this order, each kind complete before the next starts: Papers (oldest first: the importer keeps
// that order as its newest-first order), Validators, SourceStates, Channels, Subscriptions (in list order),
// Batches (by id), Outbox (in creation order), Imports (by name), Votes, Saved (both after the papers they name).
type Writer interface {
	Papers(ctx context.Context, batch []Paper) error
	Validators(ctx context.Context, batch []Validators) error
	SourceStates(ctx context.Context, batch []SourceState) error
	Channels(ctx context.Context, batch []Channel) error
	Subscriptions(ctx context.Context, batch []Subscription) error
	Batches(ctx context.Context, batch []Batch) error
	Outbox(ctx context.Context, batch []Outbox) error
	Imports(ctx context.Context, batch []Import) error
	Votes(ctx context.Context, batch []Vote) error
	Saved(ctx context.Context, batch []Saved) error
}

// Exporter is a store that can stream all its records. Export reads one consistent snapshot of the store.
type Exporter interface {
	Export(ctx context.Context, w Writer) error
}

// Importer is a store that can be filled from another's records.
type Importer interface {
	// Import starts writing into the store; nothing is visible to others before Commit.
	Import(ctx context.Context) (Load, error)
}

// Load is an import in progress: a Writer within a transaction (or a few, none visible before Commit).
type Load interface {
	Writer
	// Empty reports whether the store held no data (papers, source state, channels, subscriptions, batches,
	// outbox, import checkpoints, votes, reading lists) when the import started. Schema bookkeeping (migrations, counters) does not count.
	Empty(ctx context.Context) (bool, error)
	// Commit makes the import visible and ends it.
	Commit(ctx context.Context) error
	// Rollback abandons the import, leaving the store as it was; after Commit it does nothing.
	Rollback(ctx context.Context) error
}

// Counts says how many records of each kind were copied.
type Counts struct {
	Papers, Validators, Sources, Channels, Subscriptions, Batches, Imports int
	// Votes and Saved count the votes on cards and the papers on reading lists.
	Votes, Saved int
	// Outbox counts every outbox row; Unsent those waiting to be delivered (pending or overflow).
	Outbox, Unsent int
}

// Copy copies every record of from into to, which must be empty (ErrNotEmpty otherwise, and to is left
// untouched). The copy commits as a whole or not at all.
func Copy(ctx context.Context, from Exporter, to Importer) (c Counts, err error) {
	load, err := to.Import(ctx)
	if err != nil {
		return c, fmt.Errorf("start import: %w", err)
	}
	defer func() {
		if err != nil {
			// The rollback's own error adds nothing to the one that caused it.
			_ = load.Rollback(context.WithoutCancel(ctx))
		}
	}()
	empty, err := load.Empty(ctx)
	if err != nil {
		return c, fmt.Errorf("check the target is empty: %w", err)
	}
	if !empty {
		return c, ErrNotEmpty
	}
	if err := from.Export(ctx, &counter{w: load, c: &c}); err != nil {
		return c, fmt.Errorf("copy: %w", err)
	}
	if err := load.Commit(ctx); err != nil {
		return c, fmt.Errorf("commit the copy: %w", err)
	}
	return c, nil
}

// counter is a Writer that counts what passes through to w.
type counter struct {
	w Writer
	c *Counts
}

func (k *counter) Papers(ctx context.Context, b []Paper) error {
	k.c.Papers += len(b)
	return k.w.Papers(ctx, b)
}

func (k *counter) Validators(ctx context.Context, b []Validators) error {
	k.c.Validators += len(b)
	return k.w.Validators(ctx, b)
}

func (k *counter) SourceStates(ctx context.Context, b []SourceState) error {
	k.c.Sources += len(b)
	return k.w.SourceStates(ctx, b)
}

func (k *counter) Channels(ctx context.Context, b []Channel) error {
	k.c.Channels += len(b)
	return k.w.Channels(ctx, b)
}

func (k *counter) Subscriptions(ctx context.Context, b []Subscription) error {
	k.c.Subscriptions += len(b)
	return k.w.Subscriptions(ctx, b)
}

func (k *counter) Batches(ctx context.Context, b []Batch) error {
	k.c.Batches += len(b)
	return k.w.Batches(ctx, b)
}

func (k *counter) Imports(ctx context.Context, b []Import) error {
	k.c.Imports += len(b)
	return k.w.Imports(ctx, b)
}

func (k *counter) Votes(ctx context.Context, b []Vote) error {
	k.c.Votes += len(b)
	return k.w.Votes(ctx, b)
}

func (k *counter) Saved(ctx context.Context, b []Saved) error {
	k.c.Saved += len(b)
	return k.w.Saved(ctx, b)
}

func (k *counter) Outbox(ctx context.Context, b []Outbox) error {
	k.c.Outbox += len(b)
	for _, r := range b {
		if r.State == channel.StatePending || r.State == channel.StateOverflow {
			k.c.Unsent++
		}
	}
	return k.w.Outbox(ctx, b)
}

// Batcher collects records of one kind and passes them on to flush BatchSize at a time, reusing its buffer: an
// Exporter's helper for streaming rows as it scans them.
type Batcher[T any] struct {
	buf   []T
	flush func(context.Context, []T) error
}

// NewBatcher returns a Batcher that passes full batches to flush.
func NewBatcher[T any](flush func(context.Context, []T) error) *Batcher[T] {
	return &Batcher[T]{buf: make([]T, 0, BatchSize), flush: flush}
}

// Add appends r, passing the batch on when it is full.
func (b *Batcher[T]) Add(ctx context.Context, r T) error {
	b.buf = append(b.buf, r)
	if len(b.buf) < BatchSize {
		return nil
	}
	return b.Flush(ctx)
}

// Flush passes on what has been collected, if anything.
func (b *Batcher[T]) Flush(ctx context.Context) error {
	if len(b.buf) == 0 {
		return nil
	}
	err := b.flush(ctx, b.buf)
	clear(b.buf) // drop references to the papers' strings before the next batch
	b.buf = b.buf[:0]
	return err
}
