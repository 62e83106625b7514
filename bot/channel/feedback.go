package channel

import (
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Vote values: a user finds a paper relevant to the channel, or not; VoteNone withdraws an earlier vote.
const (
	VoteRelevant    = 1
	VoteNotRelevant = -1
	VoteNone        = 0
)

// Vote is one user's vote on a paper in a channel, with the paper's text so that what the channel likes can be
// learned from it (bot/relevance).
type Vote struct {
	Paper paper.Paper
	User  string
	// Vote is VoteRelevant or VoteNotRelevant.
	Vote int
	At   time.Time
}

// SavedPaper is a paper on a user's reading list, and when it was saved.
type SavedPaper struct {
	Paper   paper.Paper
	SavedAt time.Time
}
