package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

var _ bot.AccessChecker = (*Slack)(nil)

// fixes say what a person in the channel does about a permanent error. Slack answers a slash command even in a
// channel the bot is not in, so the reply is where they learn it.
var fixes = map[string]string{
	"not_in_channel":    "type /invite @paperboy in this channel (or the name the app has in your workspace)",
	"channel_not_found": "type /invite @paperboy in this channel (a private channel is invisible to the bot until then)",
	"is_archived":       "unarchive the channel",
	"restricted_action": "ask a workspace admin to let the app post in this channel",
}

// CheckAccess asks conversations.info whether the bot is a member of ch (scopes channels:read and groups:read):
// a *bot.PermanentError not_in_channel, channel_not_found (a private channel it was not invited to) or
// is_archived when it cannot post there, with the fix. A direct message is not checked (the bot's own DM always
// takes its posts); a missing scope or a network error is an error that says nothing about the channel.
func (s *Slack) CheckAccess(ctx context.Context, ch channel.Ref) error {
	if strings.HasPrefix(ch.ID, "D") {
		return nil
	}
	info, err := s.client.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: ch.ID})
	if err != nil {
		code := slackErrorCode(err)
		if permanentErrors[code] {
			return &bot.PermanentError{Reason: code, Err: fmt.Errorf("conversations.info %s: %w", ch.ID, err), Fix: fixes[code]}
		}
		if code == "missing_scope" && s.scopeWarned.CompareAndSwap(false, true) {
			s.log.WarnContext(ctx, "cannot check whether the bot is in a channel: the app lacks the channels:read and groups:read scopes; add them (slack-manifest.yml) and reinstall the app", "err", code)
		}
		return fmt.Errorf("conversations.info %s: %w", ch.ID, mapError(err))
	}
	switch {
	case info.IsIM:
		return nil
	case info.IsArchived:
		return &bot.PermanentError{Reason: "is_archived", Fix: fixes["is_archived"]}
	case !info.IsMember:
		return &bot.PermanentError{Reason: "not_in_channel", Fix: fixes["not_in_channel"]}
	}
	return nil
}
