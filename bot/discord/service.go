package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/paperboy-bot/paperboy/bot"
)

// tokenVariable is the setting an operator fixes when Discord refuses the token.
const tokenVariable = "DISCORD_BOT_TOKEN"

// closeAuthenticationFailed is the gateway's close code for a token it refuses.
const closeAuthenticationFailed = 4004

// untilDone calls fn until it succeeds, reporting the platform not ready with the reason meanwhile, and returns
// true; it returns false when ctx ends first. Failures are retried with backoff (retryBase doubling up to
// retryMax), a rate limit after its reset, and a refused token every authRetry, logged at ERROR with the
// variable to fix.
func (d *Discord) untilDone(ctx context.Context, what string, fn func(context.Context) error) bool {
	wait := d.retryBase
	for {
		err := fn(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		next := wait
		var rl *bot.RateLimitError
		switch {
		case unauthorized(err):
			next = d.authRetry
			d.ready.Fail(condConnection, fmt.Sprintf("discord refused the bot token (401); fix %s", tokenVariable))
			d.log.Error("discord refused the bot token; fix "+tokenVariable, "platform", "discord", "variable", tokenVariable,
				"step", what, "err", err, "retry_in", next)
		case errors.As(err, &rl):
			next = max(rl.RetryAfter, time.Second)
			d.log.Warn("discord rate limited at start-up; waiting", "platform", "discord", "step", what, "retry_in", next)
		default:
			d.ready.Fail(condConnection, fmt.Sprintf("cannot %s: %v", what, err))
			d.log.Warn("discord unreachable at start-up; retrying", "platform", "discord", "step", what, "err", err, "retry_in", next)
			wait = min(wait*2, d.retryMax)
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// unauthorized reports whether err is Discord refusing the bot token: a 401 from the REST API, or the gateway
// closing with "Authentication failed".
func unauthorized(err error) bool {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
		return true
	}
	var ce *websocket.CloseError
	return errors.Is(err, discordgo.ErrUnauthorized) || (errors.As(err, &ce) && ce.Code == closeAuthenticationFailed)
}

// rest makes one REST call in endpoint's rate-limit bucket without ever sleeping inside discordgo, whose
// waits for a bucket's reset ignore the context and shutdown (a reset of 300 s chosen by Discord put a delivery
// worker to sleep for 5 minutes). A bucket that resets within maxWait (and before ctx's deadline) is waited for
// here, until ctx ends or Run stops; a longer wait comes back at once as a *bot.RateLimitError, which the caller
// hands to its own scheduler. A request in flight runs under ctx alone.
func (d *Discord) rest(ctx context.Context, method, endpoint string, body []byte, maxWait time.Duration) ([]byte, error) {
	return d.restContent(ctx, method, endpoint, "application/json", body, maxWait)
}

// restContent is rest with a body of another content type (a multipart body with files).
func (d *Discord) restContent(ctx context.Context, method, endpoint, contentType string, body []byte, maxWait time.Duration) ([]byte, error) {
	rl := d.session.Ratelimiter
	b := rl.GetBucket(endpoint)
	for {
		// Another request of this bucket holds it for at most one HTTP round trip; poll instead of blocking in
		// Lock so that ctx and shutdown are heard meanwhile.
		for !b.TryLock() {
			if err := d.wait(ctx, 10*time.Millisecond); err != nil {
				return nil, err
			}
		}
		wait := rl.GetWaitTime(b, 1)
		if wait <= 0 {
			b.Remaining-- // as discordgo's LockBucketObject: this request spends one of the bucket's calls
			break
		}
		b.Unlock()
		// A bucket of one remaining call has no wait of its own, so this is the global limit's share.
		global := rl.GetWaitTime(&discordgo.Bucket{Remaining: 1}, 1) > 0
		limited := &bot.RateLimitError{RetryAfter: wait, Global: global}
		if dl, ok := ctx.Deadline(); wait > maxWait || (ok && time.Until(dl) < wait+time.Second) {
			return nil, limited
		}
		if err := d.wait(ctx, wait); err != nil {
			if errors.Is(err, errStopping) {
				return nil, limited
			}
			return nil, err
		}
	}
	return d.session.RequestWithLockedBucket(method, endpoint, contentType, body, b, 0,
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false))
}

// errStopping ends a wait cut short by Run's shutdown.
var errStopping = errors.New("discord: shutting down")

// wait sleeps for d, or until ctx ends (its error) or Run stops (errStopping).
func (d *Discord) wait(ctx context.Context, dur time.Duration) error {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-d.stopping:
		return errStopping
	case <-t.C:
		return nil
	}
}
