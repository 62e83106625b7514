// Package slack is the Slack platform: it posts paper cards as Block Kit messages through the Web API and answers
// the /papers slash command over Socket Mode (the default, no public URL needed) or a signed HTTP endpoint.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/command"
)

// Transport modes of the slash command.
const (
	ModeSocket = "socket"
	ModeHTTP   = "http"
)

// CommandHandler answers /papers commands; *command.Commander is one.
type CommandHandler interface {
	Handle(ctx context.Context, req bot.Request) (bot.Reply, error)
}

// Options configure a Slack platform.
type Options struct {
	// BotToken (xoxb-), AppToken (xapp-, Socket Mode) and SigningSecret (HTTP mode) come from the environment.
	// They are never logged.
	BotToken, AppToken, SigningSecret string
	// Mode is ModeSocket (the default when empty) or ModeHTTP.
	Mode string
	// Listen is the address of the HTTP endpoint in http mode.
	Listen string
	// Managers, when set, are the only user ids that may manage subscriptions; otherwise anyone in the channel.
	Managers []string
	// APIURL overrides Slack's Web API base URL (tests, proxies); "" is Slack's.
	APIURL string
	// Commands answers the slash command.
	Commands CommandHandler
	// Clicks, when set, answers the feedback buttons of cards (votes, Save, More like this); without it their
	// clicks are only acknowledged.
	Clicks ClickHandler
	// Logger receives the adapter's logs; slog.Default() when nil.
	Logger *slog.Logger
	// HTTPClient makes the Web API and response_url requests; a client with a 30 s timeout when nil.
	HTTPClient *http.Client
	// Now is the clock for request signature checks; time.Now when nil.
	Now func() time.Time
	// Ready, when not nil, is told each time the platform becomes ready (Socket Mode connected or the endpoint
	// listening, bot token accepted) or stops being ready, with the reason.
	Ready bot.ReadyFunc
}

// slackAPI is the part of slack-go's client the adapter uses, so that tests can replace it.
type slackAPI interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	// UploadFileContext is files.uploadV2: files.getUploadURLExternal, a POST of the bytes to the URL it gives,
	// files.completeUploadExternal sharing the file in the channel.
	UploadFileContext(ctx context.Context, params slack.UploadFileParameters) (*slack.FileSummary, error)
	// OpenConversationContext is conversations.open: the direct message channel with a user.
	OpenConversationContext(ctx context.Context, params *slack.OpenConversationParameters) (*slack.Channel, bool, bool, error)
}

var _ slackAPI = (*slack.Client)(nil)

// Slack is the Slack Platform. It is safe for concurrent use.
type Slack struct {
	api           slackAPI
	client        *slack.Client // the concrete client, which Socket Mode builds on
	appToken      string
	signingSecret string
	mode          string
	listen        string
	managers      map[string]bool
	apiURL        *url.URL // nil for Slack's own
	commands      CommandHandler
	clicks        ClickHandler
	// seen remembers recent trigger_ids, so that a replayed or redelivered click counts once.
	seen       *command.ReplayGuard
	log        *slog.Logger
	httpClient *http.Client
	now        func() time.Time

	// newSocket builds the Socket Mode connection; tests replace it.
	newSocket func() socketClient

	// runner answers the commands of both transports, bounds them and drains them when Run ends.
	runner *command.Runner

	// ready tracks the conditions of readiness and reports them to Options.Ready.
	ready *bot.Readiness
	// scopeWarned is set once the missing scope of CheckAccess has been logged.
	scopeWarned atomic.Bool
	// retryBase, retryMax and authRetry space the Socket Mode reconnections after slack-go gave up; tests
	// shorten them.
	retryBase, retryMax, authRetry time.Duration
}

var _ bot.Platform = (*Slack)(nil)

const (
	// slackDeadline is how long Slack waits for the HTTP answer to a slash command before it shows the user an
	// error.
	slackDeadline = 3 * time.Second
	// defaultAckBudget is how long the HTTP endpoint waits for an answer before acknowledging and answering later
	// through response_url; it leaves the answer half a second to travel within slackDeadline.
	defaultAckBudget = slackDeadline - 500*time.Millisecond
	// commandTimeout bounds one command's answer, including its response_url post (valid for 30 minutes).
	commandTimeout = time.Minute
	// defaultRetryBase and defaultRetryMax space new Socket Mode connections after slack-go's own reconnection
	// gave up: a Slack outage must not stop the bot.
	defaultRetryBase = time.Second
	defaultRetryMax  = 5 * time.Minute
	// defaultAuthRetry spaces the attempts while Slack refuses the app token: only an operator can fix it.
	defaultAuthRetry = 10 * time.Minute
)

// Conditions of the platform's readiness.
const (
	condConnection = "connection"
	condToken      = "token"
)

// newRunner returns the runner of the command transports, acknowledging after budget.
func newRunner(budget time.Duration) *command.Runner {
	return command.NewRunner(command.RunnerOptions{Budget: budget, FollowUpWindow: commandTimeout})
}

// New validates opts and returns a Slack platform. It makes no network request.
func New(opts Options) (*Slack, error) {
	if !strings.HasPrefix(opts.BotToken, "xoxb-") {
		return nil, errors.New("slack: SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
	}
	mode := opts.Mode
	if mode == "" {
		mode = ModeSocket
	}
	switch mode {
	case ModeSocket:
		if !strings.HasPrefix(opts.AppToken, "xapp-") {
			return nil, errors.New("slack: socket mode needs SLACK_APP_TOKEN, an app-level token starting with xapp-")
		}
	case ModeHTTP:
		if opts.SigningSecret == "" {
			return nil, errors.New("slack: http mode needs SLACK_SIGNING_SECRET")
		}
	default:
		return nil, fmt.Errorf("slack: mode %q: want %q or %q", mode, ModeSocket, ModeHTTP)
	}
	if opts.Commands == nil {
		return nil, errors.New("slack: no command handler")
	}
	s := &Slack{
		appToken:      opts.AppToken,
		signingSecret: opts.SigningSecret,
		mode:          mode,
		listen:        opts.Listen,
		managers:      map[string]bool{},
		commands:      opts.Commands,
		clicks:        opts.Clicks,
		// A signed timestamp is accepted from 5 minutes before it to 5 after, so a replay can come 10 minutes
		// after the original.
		seen:       command.NewReplayGuard(2*maxClockSkew, 0),
		log:        opts.Logger,
		httpClient: opts.HTTPClient,
		now:        opts.Now,
		runner:     newRunner(defaultAckBudget),
		ready:      bot.NewReadiness(opts.Ready),
		retryBase:  defaultRetryBase,
		retryMax:   defaultRetryMax,
		authRetry:  defaultAuthRetry,
	}
	for _, m := range opts.Managers {
		if m = strings.TrimSpace(m); m != "" {
			s.managers[m] = true
		}
	}
	if len(opts.Managers) > 0 && len(s.managers) == 0 {
		// A managers list of blanks must not silently mean "everyone may manage".
		return nil, fmt.Errorf("slack: managers lists no user id")
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("platform", "slack")
	if s.httpClient == nil {
		s.httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	if s.now == nil {
		s.now = time.Now
	}
	// No OptionRetry: slack-go retries nothing by default, and it must stay so. The delivery engine retries
	// (honouring Retry-After), while a client-side retry after a timeout could post a card twice.
	copts := []slack.Option{slack.OptionHTTPClient(s.httpClient)}
	if opts.APIURL != "" {
		u, err := url.Parse(opts.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("slack: api_url %q: want an http(s) URL", opts.APIURL)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/" // slack-go appends the method name ("chat.postMessage") to the base
		}
		s.apiURL = u
		copts = append(copts, slack.OptionAPIURL(u.String()))
	}
	if mode == ModeSocket {
		copts = append(copts, slack.OptionAppLevelToken(opts.AppToken))
	}
	s.client = slack.New(opts.BotToken, copts...)
	s.api = s.client
	s.newSocket = s.defaultSocket
	// Not ready until Run has connected; Send works before that over the Web API.
	s.ready.Fail(condConnection, "not connected yet")
	return s, nil
}

// Name is "slack".
func (s *Slack) Name() string { return "slack" }

// Send posts msg to its channel and returns the message's ts. A 429 is a *bot.RateLimitError; errors that no
// retry can fix for this channel (channel_not_found, not_in_channel, invalid_auth, ...) wrap bot.ErrPermanent.
// msg.Nonce is not used: Slack has no idempotency key for chat.postMessage.
func (s *Slack) Send(ctx context.Context, msg bot.Message) (string, error) {
	ch := msg.Channel.ID
	r := renderMessage(msg, true)
	ts, err := s.post(ctx, ch, r)
	if err != nil && r.images && slackErrorCode(err) == "invalid_blocks" {
		// Slack fetches image accessories while posting and rejects the whole message when one cannot be
		// fetched (a dead thumbnail link). Nothing was posted, so sending it again without images is safe, and a
		// card without its thumbnail beats no card.
		s.log.WarnContext(ctx, "message rejected with images; posting without them", "channel", ch, "err", err)
		ts, err = s.post(ctx, ch, renderMessage(msg, false))
	}
	if err != nil {
		if code := slackErrorCode(err); tokenErrors[code] {
			s.tokenRefused(code)
		}
		return "", fmt.Errorf("post to channel %q: %w", ch, mapError(err))
	}
	if s.ready.OK(condToken) {
		s.log.InfoContext(ctx, "slack accepts the bot token again")
	}
	return ts, nil
}

// Edit replaces the card messageID in msg.Channel with msg (chat.update), rendered as Send renders it, and like
// Send again without images when Slack cannot fetch one (invalid_blocks). An update never notifies anyone, and the
// text is escaped as a post's, so it cannot form a mention. A deleted message (message_not_found) or one the bot may
// no longer change (cant_update_message, edit_window_closed) wraps bot.ErrMessageGone; the other errors are
// classified as Send's.
func (s *Slack) Edit(ctx context.Context, msg bot.Message, messageID string) error {
	ch := msg.Channel.ID
	r := renderMessage(msg, true)
	err := s.update(ctx, ch, messageID, r)
	if err != nil && r.images && slackErrorCode(err) == "invalid_blocks" {
		s.log.WarnContext(ctx, "edit rejected with images; editing without them", "channel", ch, "err", err)
		err = s.update(ctx, ch, messageID, renderMessage(msg, false))
	}
	if err != nil {
		code := slackErrorCode(err)
		if goneErrors[code] {
			return fmt.Errorf("edit message %s in channel %q: %w: %s: %w", messageID, ch, bot.ErrMessageGone, code, err)
		}
		if tokenErrors[code] {
			s.tokenRefused(code)
		}
		return fmt.Errorf("edit message %s in channel %q: %w", messageID, ch, mapError(err))
	}
	return nil
}

func (s *Slack) update(ctx context.Context, channel, ts string, r rendered) error {
	_, _, _, err := s.api.UpdateMessageContext(ctx, channel, ts,
		slack.MsgOptionText(r.text, false), // already escaped
		slack.MsgOptionBlocks(r.blocks...),
	)
	return err
}

// goneErrors are chat.update error codes saying the message cannot be edited any more: it was deleted, or it is
// not the bot's to change.
var goneErrors = map[string]bool{
	"message_not_found":   true,
	"cant_update_message": true,
	"edit_window_closed":  true,
}

// tokenRefused records a post refused for the bot token: every post fails until an operator fixes it, so the
// platform is reported not ready and the refusal is logged once at ERROR with the variable to fix.
func (s *Slack) tokenRefused(code string) {
	if s.ready.Fail(condToken, fmt.Sprintf("slack refused the bot token (%s); fix SLACK_BOT_TOKEN", code)) {
		s.log.Error("slack refused the bot token; fix SLACK_BOT_TOKEN or reinstall the app", "variable", "SLACK_BOT_TOKEN", "err", code)
	}
}

func (s *Slack) post(ctx context.Context, channel string, r rendered) (string, error) {
	_, ts, err := s.api.PostMessageContext(ctx, channel,
		slack.MsgOptionText(r.text, false), // already escaped
		slack.MsgOptionBlocks(r.blocks...),
		slack.MsgOptionDisableLinkUnfurl(), // the card is the preview; an unfurl would repeat it
		slack.MsgOptionDisableMediaUnfurl(),
	)
	return ts, err
}

// permanentErrors are chat.postMessage error codes that retrying the same message to the same channel cannot
// fix: the channel is gone or archived, the bot is not in it or may not post there, or the token is dead. A
// command typed in the channel (after re-inviting the bot or reinstalling the app) resumes delivery.
var permanentErrors = map[string]bool{
	"channel_not_found": true,
	"not_in_channel":    true,
	"is_archived":       true,
	"restricted_action": true,
}

// tokenErrors are about the bot's token, not the channel: stopping each channel would need a command typed in
// every one of them once the token is fixed, so they are retried with backoff (and logged as errors) instead.
var tokenErrors = map[string]bool{
	"invalid_auth":            true,
	"not_authed":              true,
	"account_inactive":        true,
	"token_revoked":           true,
	"token_expired":           true,
	"missing_scope":           true,
	"team_access_not_granted": true,
}

// slackErrorCode is Slack's documented error code ("channel_not_found") of err, or "".
func slackErrorCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	var sp *slack.SlackErrorResponse
	if errors.As(err, &sp) && sp != nil {
		return sp.Err
	}
	return ""
}

// mapError turns slack-go's errors into the delivery engine's: rate limits and permanent failures are typed,
// everything else is returned as is and retried by the engine.
func mapError(err error) error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		// Retry-After: 0 would make the engine hammer Slack; one second is Slack's own granularity.
		return &bot.RateLimitError{RetryAfter: max(rl.RetryAfter, time.Second)}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code == http.StatusTooManyRequests {
		// A 429 without a usable Retry-After: wait a conservative minute.
		return &bot.RateLimitError{RetryAfter: time.Minute}
	}
	code := slackErrorCode(err)
	if tokenErrors[code] {
		return fmt.Errorf("%w (%s); fix SLACK_BOT_TOKEN or reinstall the app: %w", bot.ErrAuth, code, err)
	}
	if permanentErrors[code] {
		return &bot.PermanentError{Reason: code, Err: err, Fix: fixes[code]}
	}
	if rejectedErrors[code] {
		return fmt.Errorf("%w: %s: %w", bot.ErrRejected, code, err)
	}
	return err
}

// rejectedErrors are chat.postMessage error codes about the message itself: sending it again cannot help, but
// the channel's next message may go through.
var rejectedErrors = map[string]bool{
	"invalid_blocks":        true,
	"invalid_blocks_format": true,
	"msg_too_long":          true,
	"no_text":               true,
	"too_many_attachments":  true,
	"invalid_arguments":     true,
}
