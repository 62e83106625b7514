package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
)

// Discord JSON error codes that mean the bot can never post in that channel until someone changes something.
const (
	codeUnknownChannel     = 10003
	codeMissingAccess      = 50001
	codeMissingPermissions = 50013
)

// Send posts msg in its channel and returns the message id. Every body carries allowed_mentions {"parse": []} and,
// when msg has a nonce, enforce_nonce: Discord then returns the already created message instead of posting a
// duplicate when the engine retries a send whose response was lost. A 429 is waited out here (with the same body,
// hence the same nonce) when short, and handed to the engine as a *bot.RateLimitError when long; 403 and 404 are
// *bot.PermanentError.
func (d *Discord) Send(ctx context.Context, msg bot.Message) (string, error) {
	if msg.Channel.Platform != "" && msg.Channel.Platform != d.Name() {
		return "", fmt.Errorf("discord: send to %s: not a discord channel", msg.Channel)
	}
	chID := channelID(msg.Channel.ID)
	if chID == "" {
		return "", &bot.PermanentError{Reason: "no channel id", Err: fmt.Errorf("discord: send to %q", msg.Channel.ID)}
	}
	rendered, err := renderMessage(msg)
	if err != nil {
		return "", fmt.Errorf("discord: %w", err)
	}
	body, err := json.Marshal(rendered)
	if err != nil {
		return "", fmt.Errorf("discord: encode the message: %w", err)
	}
	endpoint := discordgo.EndpointChannelMessages(chID)
	for attempt := 1; ; attempt++ {
		ri := &rateInfo{}
		rctx := context.WithValue(ctx, rateInfoKey{}, ri)
		// The bucket is the channel's message route, as discordgo's own ChannelMessageSendComplex uses, so the
		// X-RateLimit headers pace these posts before a 429 happens. A bucket reset beyond maxInlineRateWait
		// comes back as a *bot.RateLimitError: the engine keeps the channel aside without holding a worker.
		resp, err := d.rest(rctx, http.MethodPost, endpoint, body, maxInlineRateWait)
		if err == nil {
			var m struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(resp, &m); err != nil || m.ID == "" {
				return "", fmt.Errorf("discord: post to channel %s: unreadable response: %w", chID, errors.Join(err, errors.New("no message id")))
			}
			d.tokenAccepted()
			return m.ID, nil
		}
		var limited *bot.RateLimitError
		if errors.As(err, &limited) {
			return "", limited
		}
		ri.mu.Lock()
		wait, global := ri.retryAfter, ri.global
		ri.mu.Unlock()
		var rl *discordgo.RateLimitError
		if !errors.As(err, &rl) {
			if wait > 0 {
				// A 429 whose body is not Discord's JSON (Cloudflare's HTML page): the headers still say how
				// long to stay away, and ignoring them risks a temporary IP ban.
				return "", &bot.RateLimitError{RetryAfter: wait, Global: global}
			}
			if unauthorized(err) {
				d.tokenRefused(err)
				return "", fmt.Errorf("%w (401); fix DISCORD_BOT_TOKEN: %w", bot.ErrAuth, err)
			}
			return "", sendError(chID, err)
		}
		if rl.TooManyRequests != nil && rl.RetryAfter > 0 {
			wait = rl.RetryAfter // the body's retry_after has millisecond precision; the header has seconds
		}
		if wait <= 0 {
			wait = time.Second
		}
		// Waiting past the caller's deadline would turn a 429 into a timeout, losing its Retry-After: hand it
		// back to the engine instead.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+time.Second {
			return "", &bot.RateLimitError{RetryAfter: wait, Global: global}
		}
		if wait > maxInlineRateWait || attempt >= maxRateAttempts {
			return "", &bot.RateLimitError{RetryAfter: wait, Global: global}
		}
		d.log.Info("discord rate limited, waiting", "channel", chID, "retry_after", wait, "global", global)
		if err := d.wait(ctx, wait); err != nil {
			if errors.Is(err, errStopping) {
				// Shutdown: the row stays pending and is sent, with the same nonce, after the restart.
				return "", &bot.RateLimitError{RetryAfter: wait, Global: global}
			}
			return "", fmt.Errorf("discord: post to channel %s: %w", chID, err)
		}
	}
}

// tokenAccepted records that Discord accepted the token, which makes the platform ready again after a refusal.
func (d *Discord) tokenAccepted() {
	if d.ready.OK(condToken) {
		d.log.Info("discord accepts the bot token again", "platform", "discord")
	}
}

// tokenRefused records a post refused with 401: every post fails until an operator fixes the token, so the
// platform is reported not ready and the refusal is logged once at ERROR with the variable to fix.
func (d *Discord) tokenRefused(err error) {
	if d.ready.Fail(condToken, fmt.Sprintf("discord refused the bot token (401) on a post; fix %s", tokenVariable)) {
		d.log.Error("discord refused the bot token; fix "+tokenVariable, "platform", "discord", "variable", tokenVariable, "err", err)
	}
}

// channelID accepts a bare channel snowflake or "GUILD/CHANNEL".
func channelID(id string) string {
	id = strings.TrimSpace(id)
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	return id
}

// sendError classifies a failed post: 403 and 404 (missing access or permissions, unknown channel) can never
// succeed for that channel, so the engine stops it instead of retrying forever.
func sendError(chID string, err error) error {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		code := 0
		if re.Message != nil {
			code = re.Message.Code
		}
		switch {
		case re.Response.StatusCode == http.StatusForbidden, re.Response.StatusCode == http.StatusNotFound,
			code == codeUnknownChannel, code == codeMissingAccess, code == codeMissingPermissions:
			reason := fmt.Sprintf("%d %s", re.Response.StatusCode, http.StatusText(re.Response.StatusCode))
			if re.Message != nil && re.Message.Message != "" {
				reason = fmt.Sprintf("%d %s (%d)", re.Response.StatusCode, re.Message.Message, code)
			}
			return &bot.PermanentError{Reason: reason, Err: fmt.Errorf("discord: post to channel %s: %w", chID, err)}
		case re.Response.StatusCode == http.StatusBadRequest, re.Response.StatusCode == http.StatusRequestEntityTooLarge:
			// Invalid Form Body and the like: this payload will never be accepted, the channel is fine.
			return fmt.Errorf("discord: post to channel %s: %w: %w", chID, bot.ErrRejected, err)
		}
	}
	return fmt.Errorf("discord: post to channel %s: %w", chID, err)
}
