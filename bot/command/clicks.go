package command

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Feedback is what card buttons need from the store.
type Feedback interface {
	// Vote records user's vote (+1 relevant, -1 not relevant, 0 withdrawn) on paperKey in ch, replacing an earlier one,
	// and returns the card's counts after it.
	Vote(ctx context.Context, ch channel.Ref, paperKey string, user channel.User, vote int, at time.Time) (up, down int, err error)
	// Save adds paperKey to user's reading list (in user's workspace); false when it was already saved.
	Save(ctx context.Context, user channel.User, paperKey string, at time.Time) (added bool, err error)
}

// SimilarPapers finds the stored papers most like one, for "More like this".
type SimilarPapers interface {
	// Similar returns up to n stored papers most similar to paperKey, most similar first.
	Similar(ctx context.Context, paperKey string, n int) ([]paper.Paper, error)
}

// CardEditQueue queues edits of posted cards: a vote changes the card's counts through the same coalesced,
// rate-limited queue as a paper's changes (bot/delivery), rather than through the click's own response.
type CardEditQueue interface {
	// QueueCardEdit queues an edit of the card of paperKey posted to ch, due at due, or folds it into the card's
	// pending edit; false when there is no such card (a digest, a command's reply, a deleted message).
	QueueCardEdit(ctx context.Context, ch channel.Ref, paperKey string, at, due time.Time) (bool, error)
}

// PaperLookup finds a stored paper by key, to name it in a vote's private confirmation.
type PaperLookup interface {
	PaperByKey(ctx context.Context, key string) (paper.Paper, error)
}

// DefaultEditWindow is how long a vote's card edit waits for more votes on the same card: the votes of a burst
// become one edit, and the voter still sees the count change within a few seconds.
const DefaultEditWindow = 2 * time.Second

// KnownChannels tells which channels this bot serves; Store is one.
type KnownChannels interface {
	Subscriptions(ctx context.Context, ch channel.Ref) ([]channel.Subscription, error)
}

// Card button actions, as they appear in click tokens.
const (
	ActionRelevant    = "up"
	ActionNotRelevant = "down"
	ActionSave        = "save"
	ActionMore        = "more"
)

// FeedbackActions are the card's feedback buttons, in display order.
var FeedbackActions = [...]string{ActionRelevant, ActionNotRelevant, ActionSave, ActionMore}

// Click tokens: "pb1:<action>:<paper key>". The version prefix lets a later format coexist with cards already
// posted; the paper key is only ever looked up, never trusted.
const (
	tokenPrefix = "pb1:"
	// MaxTokenLen is the longest token a card carries: Discord's custom_id takes 100 characters (Slack's
	// action_id 255). A paper whose key does not fit gets no feedback buttons.
	MaxTokenLen = 100
	// SimilarCount is how many papers "More like this" shows.
	SimilarCount = 5
)

// ErrBadToken means a click's token is not one paperboy made.
var ErrBadToken = errors.New("malformed click token")

// CardKey is the paper key a card's buttons carry: the stored key, or the one its identifiers give.
func CardKey(p paper.Paper) string { return cmp.Or(p.Key, paper.KeyOf(p)) }

// ClickToken returns the token of action on paperKey; false when it would be longer than MaxTokenLen.
func ClickToken(action, paperKey string) (string, bool) {
	t := tokenPrefix + action + ":" + paperKey
	return t, len(t) <= MaxTokenLen && paperKey != ""
}

// IsClickToken reports whether s looks like a feedback token (any version), as opposed to a link button's id.
func IsClickToken(s string) bool { return strings.HasPrefix(s, "pb") && strings.Contains(s, ":") }

// ParseClickToken splits a token into its action and paper key.
func ParseClickToken(tok string) (action, paperKey string, err error) {
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok || len(tok) > MaxTokenLen {
		return "", "", ErrBadToken
	}
	action, paperKey, ok = strings.Cut(rest, ":")
	if !ok || paperKey == "" || strings.ContainsFunc(paperKey, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", "", ErrBadToken
	}
	switch action {
	case ActionRelevant, ActionNotRelevant, ActionSave, ActionMore:
		return action, paperKey, nil
	}
	return "", "", ErrBadToken
}

// Digest menus. A digest has no room for four buttons per paper, so it carries menus: on Discord one string
// select per action whose options are the digest's papers, on Slack one overflow menu per paper whose options are
// the actions. Either way the chosen option's value is the paper's click token, looked up like a button's, so a
// vote from a digest counts exactly as one from the paper's own card. A Discord menu's custom_id names its action
// ("pb1:pick:up"): a value of another action chosen from it is refused as forged.
const pickPrefix = "pb1:pick:"

// PickID is the custom_id of a digest's menu of action.
func PickID(action string) string { return pickPrefix + action }

// PickedToken returns the click token chosen from the digest menu menuID: exactly one value, a token of the
// menu's own action. Anything else is ErrBadToken.
func PickedToken(menuID string, values []string) (string, error) {
	action, ok := strings.CutPrefix(menuID, pickPrefix)
	if !ok || len(values) != 1 {
		return "", ErrBadToken
	}
	got, _, err := ParseClickToken(values[0])
	if err != nil || got != action {
		return "", ErrBadToken
	}
	return values[0], nil
}

// MenuLabel is an action's name in a digest's menu (no counts: a digest does not show them).
func MenuLabel(action string) string { return ButtonLabel(action, 0) }

// ButtonLabel is the label of a feedback button; a vote button shows its count once there is one
// ("👍 Relevant · 3"), which is how a card shows its votes.
func ButtonLabel(action string, count int) string {
	var l string
	switch action {
	case ActionRelevant:
		l = "👍 Relevant"
	case ActionNotRelevant:
		l = "👎 Not relevant"
	case ActionSave:
		return "🔖 Save"
	case ActionMore:
		return "More like this"
	}
	if count > 0 {
		l += fmt.Sprintf(" · %d", count)
	}
	return l
}

// Click is one press of a card's feedback button, as a transport received it after checking its signature.
type Click struct {
	// Channel is where the card is, as the platform says.
	Channel channel.Ref
	// User clicked.
	User string
	// Workspace is the Slack team id or Discord guild id of the click, "" in a Discord DM: the reading list a
	// Save goes to, and the workspace a vote is recorded in.
	Workspace string
	// Token is the button's custom_id (Discord) or value (Slack).
	Token string
}

// Member is who clicked, in the click's workspace.
func (k Click) Member() channel.User {
	return channel.User{Platform: k.Channel.Platform, Workspace: k.Workspace, ID: k.User}
}

// ClickResult is how to answer a click.
type ClickResult struct {
	// Voted is set when a vote was recorded, with the paper's counts after it.
	Voted    bool
	PaperKey string
	Up, Down int
	// Queued is set when the vote queued an edit of the posted card: the transport only acknowledges the click,
	// and the card shows the counts when the edit goes out. A vote not Queued answers with Reply, except that
	// with InPlace the transport may instead update the clicked message itself where it shows the vote buttons.
	Queued bool
	// InPlace is set on a vote when there is no card-edit queue ([delivery] edits = false): the click's own
	// response is then the only way to show the counts on the card. With a queue, a card it cannot edit (a
	// digest, a deleted message, a command's reply) is not rewritten behind its back.
	InPlace bool
	// Reply is a private answer to the clicker: the click's outcome, or a vote's confirmation with the counts.
	Reply bot.Reply
}

// Clicks answers card button clicks: votes, "Save" and "More like this". It is safe for concurrent use.
type Clicks struct {
	Feedback Feedback
	// Similar, when set, answers "More like this".
	Similar SimilarPapers
	// Channels, when set, restricts clicks to channels with subscriptions: a card forwarded or copied to another
	// workspace or server is refused there.
	Channels KnownChannels
	// Limiter, when set, bounds each user's clicks; a click over it is refused at once, never queued.
	Limiter *UserLimiter
	// Edits, when set, shows votes on posted cards through the card-edit queue, each edit due EditWindow
	// (DefaultEditWindow when 0) after the first vote it carries; WakeEdits, when set, is asked to look at the
	// queue once that window has passed.
	Edits      CardEditQueue
	EditWindow time.Duration
	WakeEdits  func(after time.Duration)
	// Papers, when set, names the paper in a vote's private confirmation.
	Papers PaperLookup
	// Log receives the failures that do not change the click's answer (a card edit that could not be queued).
	Log *slog.Logger
	Now func() time.Time
}

// Replies to clicks; all private.
var (
	clickBadToken = "Sorry, I do not recognise that button. It may come from an older version of paperboy; newer cards have working buttons."
	clickUnknown  = "Sorry, I no longer know that paper, so I cannot record that. Try a newer card or /papers to look it up."
	clickForeign  = "Sorry, this card comes from a channel paperboy does not serve here, so I cannot record that."
)

// Click answers one click. Problems of the click (a bad token, an unknown paper or channel, a rate limit) are
// private replies; an error means the store failed, and the transport apologises generically.
func (c *Clicks) Click(ctx context.Context, k Click) (ClickResult, error) {
	if c.Limiter != nil {
		if ok, wait := c.Limiter.Allow(k.Channel.Platform, k.User); !ok {
			return ClickResult{Reply: rateLimitedClicks(wait)}, nil
		}
	}
	action, key, err := ParseClickToken(k.Token)
	if err != nil {
		return refusal(clickBadToken), nil
	}
	if c.Channels != nil {
		subs, err := c.Channels.Subscriptions(ctx, k.Channel)
		if err != nil {
			return ClickResult{}, fmt.Errorf("click in %s: %w", k.Channel, err)
		}
		if len(subs) == 0 {
			return refusal(clickForeign), nil
		}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	switch action {
	case ActionRelevant, ActionNotRelevant:
		vote := 1
		if action == ActionNotRelevant {
			vote = -1
		}
		up, down, err := c.Feedback.Vote(ctx, k.Channel, key, k.Member(), vote, now())
		if errors.Is(err, channel.ErrNotFound) {
			return refusal(clickUnknown), nil
		}
		if err != nil {
			return ClickResult{}, fmt.Errorf("vote on %s in %s: %w", key, k.Channel, err)
		}
		res := ClickResult{Voted: true, PaperKey: key, Up: up, Down: down}
		res.Queued, res.InPlace = c.queueEdit(ctx, k.Channel, key, now()), c.Edits == nil
		res.Reply = c.voteReply(ctx, action, key, up, down)
		return res, nil
	case ActionSave:
		added, err := c.Feedback.Save(ctx, k.Member(), key, now())
		if errors.Is(err, channel.ErrNotFound) {
			return refusal(clickUnknown), nil
		}
		if err != nil {
			return ClickResult{}, fmt.Errorf("save %s for a user of %s: %w", key, k.Channel, err)
		}
		if !added {
			return answered("Already in your reading list. /papers saved shows it."), nil
		}
		return answered("Saved to your reading list. /papers saved shows it; only you can see it."), nil
	default: // ActionMore
		if c.Similar == nil {
			return answered("Sorry, \"More like this\" is not available on this paperboy."), nil
		}
		ps, err := c.Similar.Similar(ctx, key, SimilarCount)
		if errors.Is(err, channel.ErrNotFound) {
			return refusal(clickUnknown), nil
		}
		if err != nil {
			return ClickResult{}, fmt.Errorf("papers like %s: %w", key, err)
		}
		if len(ps) == 0 {
			return answered("I found no stored paper much like this one yet."), nil
		}
		r := bot.Reply{Private: true, Text: []string{fmt.Sprintf("%d stored paper%s most like this one:", len(ps), plural(len(ps)))}}
		for _, p := range ps {
			r.Cards = append(r.Cards, bot.Card{Paper: p})
		}
		return ClickResult{Reply: r}, nil
	}
}

// queueEdit queues the edit that shows a vote on the card of key in ch; false when the card cannot be edited
// that way. A failure to queue is logged and leaves the vote recorded: the transport then answers as for a card
// it cannot edit.
func (c *Clicks) queueEdit(ctx context.Context, ch channel.Ref, key string, now time.Time) bool {
	if c.Edits == nil {
		return false
	}
	window := cmp.Or(c.EditWindow, DefaultEditWindow)
	queued, err := c.Edits.QueueCardEdit(ctx, ch, key, now, now.Add(window))
	if err != nil {
		if c.Log != nil {
			c.Log.ErrorContext(ctx, "queue the card edit of a vote", "channel", ch.String(), "paper", key, "err", err)
		}
		return false
	}
	if queued && c.WakeEdits != nil {
		c.WakeEdits(window)
	}
	return queued
}

// voteReply is a vote's private confirmation: which paper (a digest's menu does not show what was picked) and
// the channel's counts.
func (c *Clicks) voteReply(ctx context.Context, action, key string, up, down int) bot.Reply {
	what := "relevant"
	if action == ActionNotRelevant {
		what = "not relevant"
	}
	line := "Marked " + what
	if c.Papers != nil {
		if p, err := c.Papers.PaperByKey(ctx, key); err == nil && p.Title != "" {
			line += ": “" + bot.Truncate(bot.CleanLaTeX(p.Title), 150) + "”"
		}
	}
	return private(fmt.Sprintf("%s. Votes in this channel: 👍 %d · 👎 %d", line, up, down))
}

// answered is a click's private answer.
func answered(text string) ClickResult { return ClickResult{Reply: private(text)} }

// refusal is a click's private, polite refusal.
func refusal(text string) ClickResult { return ClickResult{Reply: failed(text)} }

func rateLimitedClicks(wait time.Duration) bot.Reply {
	r := rateLimited(wait)
	r.Text = []string{strings.Replace(r.Text[0], "sending commands", "clicking", 1)}
	return r
}

// Defaults of the click limiter: clicks are cheaper than look-ups, and people vote through a digest quickly.
const (
	DefaultClickRate  = 60
	DefaultClickBurst = 10
)

// ReplayGuard remembers the ids of recent requests (Slack trigger_ids, Discord interaction ids) for a window, so
// that a request seen twice is refused the second time. It holds at most max ids; past it the oldest are
// forgotten early, which only weakens the guard for requests older than the newest max. It is safe for
// concurrent use.
type ReplayGuard struct {
	window time.Duration
	max    int

	mu    sync.Mutex
	seen  map[string]time.Time
	order []string // in arrival order, for expiry
}

// NewReplayGuard returns a guard remembering ids for window, at most max of them (100 000 when 0).
func NewReplayGuard(window time.Duration, max int) *ReplayGuard {
	if max <= 0 {
		max = 100_000
	}
	return &ReplayGuard{window: window, max: max, seen: make(map[string]time.Time)}
}

// First records id at now and reports whether it was not seen within the window. An empty id is never a replay.
func (g *ReplayGuard) First(id string, now time.Time) bool {
	if id == "" {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.order) > 0 {
		old := g.order[0]
		if at, ok := g.seen[old]; ok && now.Sub(at) < g.window && len(g.order) < g.max {
			break
		}
		delete(g.seen, old)
		g.order = g.order[1:]
	}
	if at, ok := g.seen[id]; ok && now.Sub(at) < g.window {
		return false
	}
	g.seen[id] = now
	g.order = append(g.order, id)
	return true
}
