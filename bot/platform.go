// Package bot is the contract between paperboy's core and its platform adapters: the messages and cards the core
// sends (Message, Card), the commands it answers (Request, Reply), the Platform interface with its error taxonomy
// (ErrPermanent, ErrRejected, RateLimitError), and the text helpers every adapter shares. It imports no SDK, no
// storage and no network code, so an adapter links only what it needs.
package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

// Message is one announcement to post: a single card (instant mode) or a digest of several.
type Message struct {
	Channel channel.Ref
	// Cards holds one card in instant mode, the best first in a digest.
	Cards []Card
	// Digest is true for a digest message, even one holding a single card.
	Digest bool
	// Overflow counts matches left out of a digest for lack of room ("and 12 more").
	Overflow int
	// Title heads a digest ("12 new papers since Tuesday").
	Title string
	// Nonce identifies this send across retries (derived from the outbox rows), so platforms that deduplicate by
	// nonce (Discord's enforce_nonce) post it at most once.
	Nonce string
	// Reduced asks for a minimal rendering: no image or thumbnail, no buttons or fields, a short text. The sender
	// tries it once for a paper whose full card the platform kept rejecting, before setting the paper aside.
	Reduced bool
}

// Platform posts messages to one chat platform. Adapters live in bot/slack, bot/discord and bot/console.
type Platform interface {
	// Name is "slack", "discord" or "console": the Platform of the channels it serves.
	Name() string
	// Send posts msg and returns the platform's id of the posted message. Errors that can never succeed for
	// this channel wrap ErrPermanent; errors about this message only wrap ErrRejected; a rate limit is a
	// *RateLimitError; anything else is retried.
	Send(ctx context.Context, msg Message) (messageID string, err error)
}

// ErrPermanent marks send errors that retrying cannot fix: the channel was deleted, the bot was removed from it or
// lacks access. The sender stops that channel (keeping its outbox) instead of retrying forever.
var ErrPermanent = errors.New("permanent platform error")

// ErrRejected marks a send error about the message itself (Slack invalid_blocks or msg_too_long, Discord 400):
// the platform refused this payload, but the channel is fine. Such refusals are sometimes transient (a 400 from
// an overloaded edge, an image the platform could not fetch), so the sender tries the paper again a few times
// with backoff, once in reduced form (Message.Reduced), before it sets it aside (state failed, with the error);
// meanwhile it goes on with the channel's next paper, so one bad payload cannot block a channel's queue.
var ErrRejected = errors.New("message rejected by the platform")

// ErrAuth marks a send error about the bot's own credentials (Slack invalid_auth or token_revoked, a 401): no
// channel can receive anything until an operator fixes the token. The sender keeps retrying with backoff, so that
// a fixed token resumes delivery without a command in every channel, and logs it at ERROR, since it is an outage
// and not a transient failure.
var ErrAuth = errors.New("the platform refused the bot's credentials")

// PermanentError wraps a platform's reason for a permanent failure.
type PermanentError struct {
	Reason string // e.g. channel_not_found, not_in_channel, 403 Missing Access
	Err    error
	// Fix, when known, says what a person in the channel does about it ("type /invite @paperboy in this
	// channel"); it is shown to them, not part of Error.
	Fix string
}

func (e *PermanentError) Error() string {
	// slack-go's error is the bare code: "not_in_channel: not_in_channel" would say nothing more.
	if e.Err != nil && e.Err.Error() != e.Reason {
		return fmt.Sprintf("%s: %v", e.Reason, e.Err)
	}
	return e.Reason
}

// AccessChecker is implemented by a Platform that can tell, before posting, whether the bot may post in a
// channel (Slack: conversations.info's is_member), so that a subscription in a channel the bot cannot reach is
// reported when it is made rather than noticed when nothing arrives.
type AccessChecker interface {
	// CheckAccess returns nil when the bot can post in ch; an error wrapping ErrPermanent (a *PermanentError
	// with the platform's reason and, when it knows one, the Fix) when it cannot; any other error when it could
	// not tell (a network failure, a missing scope).
	CheckAccess(ctx context.Context, ch channel.Ref) error
}

// Unwrap lets errors.Is(err, ErrPermanent) hold, and exposes the cause.
func (e *PermanentError) Unwrap() []error { return []error{ErrPermanent, e.Err} }

// RateLimitError is a platform's 429: nothing may be sent before RetryAfter has passed.
type RateLimitError struct {
	RetryAfter time.Duration
	// Global is true when the limit applies to the whole bot, not just this channel.
	Global bool
}

func (e *RateLimitError) Error() string {
	scope := "channel"
	if e.Global {
		scope = "global"
	}
	return fmt.Sprintf("rate limited (%s), retry after %s", scope, e.RetryAfter)
}

// Editor is a Platform that can change a message it posted: a card is edited in place when its paper changes (a
// new version, an upvote milestone, a code link). Platforms that cannot edit simply do not implement it.
type Editor interface {
	// Edit replaces the content of the message messageID in msg.Channel with msg, a single card rendered as Send
	// would render it. An edit never notifies anyone. It returns an error wrapping ErrMessageGone when the message
	// no longer exists (a person deleted it) or can no longer be edited; the other errors are classified as
	// Send's.
	Edit(ctx context.Context, msg Message, messageID string) error
}

// ErrMessageGone marks an edit of a message that was deleted (Slack message_not_found, Discord 10008 Unknown
// Message) or may no longer be edited: the card is forgotten, never posted again.
var ErrMessageGone = errors.New("the message to edit is gone")
