package paper

import "time"

// IngestResult says what one Ingest did, by paper key, in the order the papers first appeared in the batch.
type IngestResult struct {
	// New are papers announced for the first time: never stored before and not a replacement.
	New []string
	// Updated are known papers whose stored description changed, and replacements of unknown papers.
	Updated []string
	// Unchanged counts known papers the batch taught nothing new.
	Unchanged int
	// Routed counts the outbox rows the batch created (IngestAndRoute only); a (channel, paper) pair that already
	// had a row is not counted.
	Routed int
	// Edits counts the edits of posted cards the batch queued, or folded into pending ones (see
	// paper.CardChanges); only a store told to queue edits counts any.
	Edits int
}

// SourceState is the health of one source, as shown by /papers sources. Zero times mean never.
type SourceState struct {
	Source string
	// LastPoll is the last poll attempt, successful or not; LastSuccess the last successful one (including a
	// 304); LastNewPaper the last poll that brought a New paper.
	LastPoll, LastSuccess, LastNewPaper, LastErrorAt time.Time
	// LastError is the last poll error, kept after later successes as history: the source is currently failing
	// when ConsecutiveFailures > 0 (equivalently, LastErrorAt is after LastSuccess).
	LastError string
	// Papers counts the stored papers this source delivered (each paper once, however often it was delivered).
	Papers int
	// Polls and Failures count all polls and the failed ones; ConsecutiveFailures counts failures since the last
	// success.
	Polls, Failures, ConsecutiveFailures int
	// PolledBy names the instance that holds or last held the source's poll lease ("" with one instance that
	// never leased it).
	PolledBy string
}
