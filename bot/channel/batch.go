package channel

import "errors"

// Kinds of digest batch: what a digest is, which decides its title and whether sending it counts as the channel's
// daily digest.
const (
	BatchDaily    = "daily"
	BatchOverflow = "overflow"
	BatchBackfill = "backfill"
)

// ErrBatchStale is returned when a batch is opened over rows that are no longer unsent rows of the channel: the
// caller's view of the outbox is out of date and must be read again.
var ErrBatchStale = errors.New("outbox rows changed before the batch was opened")

// Batch is a digest whose outbox rows were fixed, and stored, before it was sent: sent again after a crash or a
// failure it holds the same rows and has the same identity (hence the same nonce), and papers that arrived since
// wait for the next one. A batch is open while any of its rows is unsent.
type Batch struct {
	ID      int64
	Channel Ref
	// Kind is BatchDaily, BatchOverflow or BatchBackfill.
	Kind string
	// Title is the digest's title as it was first sent.
	Title string
	// Items are the batch's unsent rows, oldest paper first.
	Items []OutboxItem
}
