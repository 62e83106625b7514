// Package discord is paperboy's Discord platform: it posts paper cards as embeds through the REST API (with
// discordgo's rate limiter) and answers the /papers application command, received either over the gateway or on a
// signed HTTP interactions endpoint.
package discord

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paperboy-bot/paperboy/bot/command"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/httpserve"
)

// Transport modes of [discord] mode.
const (
	ModeGateway = "gateway"
	ModeHTTP    = "http"
)

// CommandHandler answers /papers commands and completes their options; *command.Commander implements it.
type CommandHandler interface {
	Handle(ctx context.Context, req bot.Request) (bot.Reply, error)
	Complete(ctx context.Context, req bot.Request, option, typed string) ([]command.Choice, error)
}

// Options configure a Discord platform.
type Options struct {
	// Token is the bot token from the environment (DISCORD_BOT_TOKEN), with or without the "Bot " prefix. It is
	// never logged.
	Token string
	// Mode is ModeGateway (the default when empty) or ModeHTTP.
	Mode string
	// Listen is the address of POST /discord/interactions in http mode.
	Listen string
	// PublicKey is the application's Ed25519 public key in hex; required in http mode.
	PublicKey string
	// ApplicationID is the application's snowflake; when empty it is looked up with the token at registration.
	ApplicationID string
	// GuildID registers /papers in that guild only (instant, for development) instead of globally.
	GuildID string
	// APIURL replaces https://discord.com/api/v9/ as the REST base, e.g. "http://127.0.0.1:8080/api/v10/" (tests).
	APIURL string
	// Commands answers the /papers commands and their autocomplete.
	Commands CommandHandler
	// Clicks, when set, answers the feedback buttons of cards (votes, Save, More like this).
	Clicks ClickHandler
	// Logger receives the adapter's logs; slog.Default() when nil.
	Logger *slog.Logger
	// HTTPClient is the base client for REST calls; a client with a 20 s timeout when nil.
	HTTPClient *http.Client
	// Now is the clock for the interactions' timestamp window; time.Now when nil.
	Now func() time.Time
	// Ready, when not nil, is told each time the platform becomes ready (commands registered, gateway session
	// open or endpoint listening, token accepted) or stops being ready, with the reason.
	Ready bot.ReadyFunc
}

// Tunables. They are variables of the Discord value, not package state, so tests can shorten them per instance.
const (
	// maxBodyBytes caps an interaction request body: real ones are a few kilobytes.
	maxBodyBytes = 64 << 10
	// maxClockSkew is how far an interaction's signed timestamp may be from now; older signed requests are
	// refused, so a captured request cannot be replayed later.
	maxClockSkew = 5 * time.Minute
	// defaultDeferAfter is how long a command may run before it is answered with a deferred response instead:
	// Discord invalidates the token of an interaction not answered within 3 seconds.
	defaultDeferAfter = 2 * time.Second
	// followupWindow bounds a deferred command's work: the interaction token lives 15 minutes.
	followupWindow = 14 * time.Minute
	// maxInlineRateWait is the longest 429 that Send waits out itself; longer ones go back to the delivery
	// engine as a *bot.RateLimitError, which keeps the outbox row and retries later with the same nonce.
	maxInlineRateWait = 5 * time.Second
	// maxRateAttempts bounds Send's attempts under repeated 429s before it hands the wait to the engine.
	maxRateAttempts = 5
	// shutdownGrace is how long the HTTP endpoint lets requests in flight finish after ctx ends; the commands
	// they started are drained by the runner (command.DrainTimeout).
	shutdownGrace = 10 * time.Second
	// defaultRetryBase and defaultRetryMax space the start-up attempts (registration, gateway) while Discord
	// cannot be reached: a Discord outage must not stop the bot, so Run keeps trying.
	defaultRetryBase = time.Second
	defaultRetryMax  = 5 * time.Minute
	// defaultAuthRetry spaces the attempts while Discord refuses the token: only an operator can fix that, and
	// hammering Discord with a bad token gets the bot's IP banned.
	defaultAuthRetry = 10 * time.Minute
)

// Conditions of the platform's readiness.
const (
	condConnection = "connection"
	condToken      = "token"
)

// Discord is the Discord Platform. It is safe for concurrent use.
type Discord struct {
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	session   *discordgo.Session
	publicKey ed25519.PublicKey

	mu    sync.Mutex
	appID string // opts.ApplicationID, or looked up at registration

	// runner answers the commands of both transports, bounds them and drains them when Run ends.
	runner *command.Runner
	// seen remembers recent interaction ids of clicks, so that a replayed or redelivered click counts once.
	seen *command.ReplayGuard

	// ready tracks the conditions of readiness and reports them to Options.Ready.
	ready *bot.Readiness
	// stopping is closed when Run's context ends: waits before a request (rate limits) give up then, while a
	// request in flight still runs to the end of its own context, so that a post Discord accepted is recorded.
	stopping chan struct{}
	stopOnce sync.Once
	// retryBase, retryMax and authRetry space Run's start-up attempts; tests shorten them.
	retryBase, retryMax, authRetry time.Duration
}

// newRunner returns the runner of the command transports, deferring after budget.
func newRunner(budget time.Duration) *command.Runner {
	return command.NewRunner(command.RunnerOptions{Budget: budget, FollowUpWindow: followupWindow})
}

var _ bot.Platform = (*Discord)(nil)

// New checks opts and returns a Discord platform. It opens no connection: Send works at once over REST, Run
// starts the gateway session or the interactions endpoint.
func New(opts Options) (*Discord, error) {
	token := strings.TrimSpace(opts.Token)
	if token == "" {
		return nil, errors.New("discord: no bot token (set DISCORD_BOT_TOKEN)")
	}
	if !strings.HasPrefix(token, "Bot ") {
		token = "Bot " + token
	}
	opts.Mode = cmp.Or(opts.Mode, ModeGateway)
	d := &Discord{
		opts:   opts,
		log:    opts.Logger,
		now:    opts.Now,
		appID:  opts.ApplicationID,
		runner: newRunner(defaultDeferAfter),
		// A signed timestamp is accepted from 5 minutes before it to 5 after: a replay can come 10 minutes later.
		seen:  command.NewReplayGuard(2*maxClockSkew, 0),
		ready: bot.NewReadiness(opts.Ready),

		stopping:  make(chan struct{}),
		retryBase: defaultRetryBase, retryMax: defaultRetryMax, authRetry: defaultAuthRetry,
	}
	if opts.Logger == nil {
		d.log = slog.Default()
	}
	if opts.Now == nil {
		d.now = time.Now
	}
	switch opts.Mode {
	case ModeGateway:
	case ModeHTTP:
		if opts.Listen == "" {
			return nil, errors.New("discord: mode http needs [discord] listen")
		}
	default:
		return nil, fmt.Errorf("discord: mode %q: want %q or %q", opts.Mode, ModeGateway, ModeHTTP)
	}
	if opts.PublicKey != "" || opts.Mode == ModeHTTP {
		key, err := hex.DecodeString(strings.TrimSpace(opts.PublicKey))
		if err != nil || len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("discord: public_key must be the application's %d-byte Ed25519 key in hex", ed25519.PublicKeySize)
		}
		d.publicKey = key
	}
	if opts.APIURL != "" && !strings.HasSuffix(opts.APIURL, "/") {
		opts.APIURL += "/"
		d.opts.APIURL = opts.APIURL
	}

	s, err := discordgo.New(token)
	if err != nil {
		return nil, fmt.Errorf("discord: session: %w", err)
	}
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 20 * time.Second}
	}
	client := *base
	client.Transport = &transport{base: cmp.Or[http.RoundTripper](base.Transport, http.DefaultTransport), apiURL: opts.APIURL}
	s.Client = &client
	// Send handles 429s itself (context-aware, same nonce, long waits handed to the engine); discordgo's own
	// retry sleeps without a context.
	s.ShouldRetryOnRateLimit = false
	// A 502 retried inside discordgo would wait for the bucket with an uninterruptible sleep; the callers retry.
	s.MaxRestRetries = 0
	// Interactions need no gateway intent; Guilds keeps the session's state useful without privileged intents.
	s.Identify.Intents = discordgo.IntentsGuilds
	s.StateEnabled = false
	d.session = s
	// Not ready until Run has registered the command and connected; Send works before that over REST.
	d.ready.Fail(condConnection, "not connected yet")
	return d, nil
}

// Name is "discord", the Platform of the channels it serves.
func (d *Discord) Name() string { return "discord" }

// Run registers /papers, then serves interactions over the gateway or the HTTP endpoint until ctx ends. While
// Discord cannot be reached or refuses the token, it keeps trying (with backoff; every authRetry for a refused
// token) and reports the platform not ready, instead of stopping: the other platforms and the polling go on. It
// returns nil when ctx ends, after the commands in flight finished (or command.DrainTimeout passed), and an error
// only when the interactions endpoint cannot listen.
func (d *Discord) Run(ctx context.Context) error {
	defer d.runner.Drain()
	stop := context.AfterFunc(ctx, d.stopWaiting)
	defer stop()
	if !d.untilDone(ctx, "register /"+CommandName, d.RegisterCommands) {
		return nil // stopped while Discord was unreachable: a shutdown, not a failure
	}
	if d.opts.Mode == ModeHTTP {
		return d.runHTTP(ctx)
	}
	return d.runGateway(ctx)
}

// stopWaiting ends the rate-limit waits in progress and makes later ones give up at once.
func (d *Discord) stopWaiting() { d.stopOnce.Do(func() { close(d.stopping) }) }

func (d *Discord) runHTTP(ctx context.Context) error {
	srv, err := httpserve.Listen(ctx, httpserve.Config{Addr: d.opts.Listen, Handler: d.Handler()})
	if err != nil {
		d.ready.Fail(condConnection, "interactions endpoint cannot listen")
		return fmt.Errorf("discord: interactions endpoint: %w", err)
	}
	d.log.Info("discord interactions endpoint listening", "addr", srv.Addr().String())
	d.ready.OK(condConnection)
	if err := srv.Run(ctx, shutdownGrace); err != nil {
		d.ready.Fail(condConnection, "interactions endpoint stopped")
		return fmt.Errorf("discord: interactions endpoint on %s: %w", d.opts.Listen, err)
	}
	return nil
}

func (d *Discord) runGateway(ctx context.Context) error {
	remove := d.session.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
		if ic == nil || ic.Interaction == nil {
			return
		}
		if ic.Type == discordgo.InteractionMessageComponent && !d.seen.First(ic.ID, d.now()) {
			return // redelivered after a resume: it was answered the first time, and must count once
		}
		d.interact(ctx, ic.Interaction, d.restResponder(ic.Interaction))
	})
	defer remove()
	// discordgo reconnects a session that dropped by itself; these keep the readiness true to it meanwhile.
	removeDown := d.session.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) {
		if ctx.Err() == nil {
			d.ready.Fail(condConnection, "gateway session disconnected; reconnecting")
		}
	})
	defer removeDown()
	removeUp := d.session.AddHandler(func(*discordgo.Session, *discordgo.Connect) { d.ready.OK(condConnection) })
	defer removeUp()
	open := func(context.Context) error {
		if err := d.session.Open(); err != nil {
			return fmt.Errorf("discord: open gateway session: %w", err)
		}
		return nil
	}
	if !d.untilDone(ctx, "open the gateway session", open) {
		return nil
	}
	d.ready.OK(condConnection)
	d.log.Info("discord gateway session open")
	<-ctx.Done()
	// A heartbeat that races Close fails on the close frame ("close sent") and calls discordgo's reconnect, which
	// retries Open forever with nothing left to stop it. Turned off first, reconnect returns at once; Close
	// orders this write before the heartbeat's (through the session's websocket mutex).
	d.session.ShouldReconnectOnError = false
	if err := d.session.Close(); err != nil {
		d.log.Warn("discord gateway session close", "err", err)
	}
	return nil
}

// ApplicationID returns the configured application id, or asks Discord once which application the bot token
// belongs to: how Run finds the id to register /papers under, and how paperboy discord invite finds it without
// [discord] application_id.
func (d *Discord) ApplicationID(ctx context.Context) (string, error) { return d.applicationID(ctx) }

// applicationID returns the configured application id, or asks Discord for the token's application once.
func (d *Discord) applicationID(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.appID != "" {
		return d.appID, nil
	}
	endpoint := discordgo.EndpointOAuth2Application("@me")
	body, err := d.rest(ctx, http.MethodGet, endpoint, nil, 0)
	if err != nil {
		return "", fmt.Errorf("discord: look up the application of the bot token: %w", err)
	}
	var app struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &app); err != nil || app.ID == "" {
		return "", fmt.Errorf("discord: look up the application of the bot token: no id in the answer: %w", errors.Join(err, errors.New("empty id")))
	}
	d.appID = app.ID
	return d.appID, nil
}

// transport points discordgo's fixed https://discord.com/api/vN/ URLs at apiURL (tests, proxies) without touching
// discordgo's package-level endpoint variables, and records what a 429's headers say for Send.
type transport struct {
	base   http.RoundTripper
	apiURL string
}

// rateInfo receives a 429's header details; discordgo's RateLimitError carries only the body's retry_after.
type rateInfo struct {
	mu         sync.Mutex
	global     bool
	retryAfter time.Duration
}

type rateInfoKey struct{}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.apiURL != "" {
		if rest, ok := strings.CutPrefix(req.URL.String(), discordgo.EndpointAPI); ok {
			u, err := req.URL.Parse(t.apiURL + rest)
			if err != nil {
				return nil, fmt.Errorf("discord: rewrite a request to api_url: %w", err) // the path may hold a token
			}
			req = req.Clone(req.Context())
			req.URL = u
			req.Host = ""
		}
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	if ri, ok := req.Context().Value(rateInfoKey{}).(*rateInfo); ok {
		ri.mu.Lock()
		ri.global = strings.EqualFold(resp.Header.Get("X-RateLimit-Global"), "true") ||
			resp.Header.Get("X-RateLimit-Scope") == "global"
		if s, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil && s > 0 {
			ri.retryAfter = time.Duration(s * float64(time.Second))
		}
		ri.mu.Unlock()
	}
	return resp, nil
}
