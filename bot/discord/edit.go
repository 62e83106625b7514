package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
)

// codeCannotEditOthers is Discord's refusal to edit a message another user wrote.
const codeCannotEditOthers = 50005

// Edit replaces the card messageID in msg.Channel with msg (PATCH /channels/{channel}/messages/{message}, via
// discordgo's ChannelMessageEditComplex), with allowed_mentions {"parse": []} as every post: an edit pings no one.
// A deleted message (404 Unknown Message, 10008) wraps bot.ErrMessageGone; a 429 is a *bot.RateLimitError for the
// engine to wait out; a lost channel (403, 404 Unknown Channel) is a *bot.PermanentError, as in Send.
func (d *Discord) Edit(ctx context.Context, msg bot.Message, messageID string) error {
	chID := channelID(msg.Channel.ID)
	if chID == "" || messageID == "" {
		return fmt.Errorf("discord: edit message %q in %q: %w", messageID, msg.Channel.ID, bot.ErrMessageGone)
	}
	body, err := renderMessage(msg)
	if err != nil {
		return fmt.Errorf("discord: %w", err)
	}
	content := body.Content
	components := body.Components
	if components == nil {
		components = []discordgo.MessageComponent{} // a link the paper lost goes from the card too
	}
	edit := &discordgo.MessageEdit{
		ID: messageID, Channel: chID,
		Content: &content, Embeds: &body.Embeds, Components: &components,
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
	}
	_, err = d.session.ChannelMessageEditComplex(edit, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false))
	if err == nil {
		d.tokenAccepted()
		return nil
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		wait := time.Second
		if rl.RateLimit != nil && rl.TooManyRequests != nil && rl.RetryAfter > 0 {
			wait = rl.RetryAfter
		}
		return &bot.RateLimitError{RetryAfter: wait}
	}
	if unauthorized(err) {
		d.tokenRefused(err)
		return fmt.Errorf("%w (401); fix DISCORD_BOT_TOKEN: %w", bot.ErrAuth, err)
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		code := 0
		if re.Message != nil {
			code = re.Message.Code
		}
		if code == discordgo.ErrCodeUnknownMessage || code == codeCannotEditOthers ||
			(re.Response.StatusCode == http.StatusNotFound && code != codeUnknownChannel) {
			return fmt.Errorf("discord: edit message %s in channel %s: %w: %w", messageID, chID, bot.ErrMessageGone, err)
		}
	}
	return sendError(chID, fmt.Errorf("edit message %s: %w", messageID, err))
}
