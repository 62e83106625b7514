// Package sources turns paper feeds (arXiv RSS/Atom, the arXiv API, Hugging Face daily papers and any RSS, Atom or
// JSON feed) into normalized papers (package paper), fetched through one shared, polite HTTP fetcher.
package sources

import (
	"context"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// PollResult is what one poll of a source produced. Validators are only to be stored together with the papers (in
// the same transaction), so that a crash between the two can never skip a feed's content.
type PollResult struct {
	Papers []paper.Paper
	// NotModified is true when every URL the source fetched answered 304.
	NotModified bool
	// Validators maps each fetched URL to its new validators.
	Validators map[string]paper.Validators
	// NextPoll, when non-zero, is the earliest time the server asked to be polled again (Cache-Control, Retry-After).
	NextPoll time.Time
	// Repaired counts invalid characters (bad UTF-8, NUL, other control characters) replaced or removed so that the
	// feed could be read, Truncated the text runs and fields cut to the parse limits (MaxAbstractBytes...), and
	// Skipped the items left out (malformed, beyond MaxFeedItems, absurd identifiers) while the rest was kept.
	Repaired, Truncated, Skipped int
}

// Source is one configured feed.
type Source interface {
	// Name is the configured, unique source name.
	Name() string
	// Kind is the source kind: "arxiv", "arxiv-api", "hf-daily" or "rss".
	Kind() string
	// Poll fetches the feed once. prev holds the validators stored from earlier polls, by URL.
	Poll(ctx context.Context, prev map[string]paper.Validators) (PollResult, error)
}
