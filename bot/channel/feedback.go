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

// User is a person as a platform knows them in one workspace (a Slack team, a Discord server): reading lists,
// votes and /papers forget-me are per User, so the same Discord account in two servers keeps two reading lists.
type User struct {
	Platform string
	// Workspace is the Slack team id or the Discord guild id the person acts in; "" where there is none (a
	// Discord DM, the console, paperboy cmd without --workspace), which is a workspace of its own.
	Workspace string
	ID        string
}

// String is "platform:workspace/id", for logs.
func (u User) String() string { return u.Platform + ":" + u.Workspace + "/" + u.ID }

// AnyWorkspace is the workspace the stores give votes and reading-list entries recorded before they kept
// workspaces: such an entry is the user's in every workspace of the platform (the stores' workspace migration
// says how each command treats it). No platform names a workspace so.
const AnyWorkspace = "*"
