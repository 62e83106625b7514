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
	// Logger receives the adapter's logs; slog.Default() when nil.
	Logger *slog.Logger
	// HTTPClient is the base client for REST calls; a client with a 20 s timeout when nil.
	HTTPClient *http.Client
	// Now is the clock for the interactions' timestamp window; time.Now when nil.
	Now func() time.Time
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
	// Interactions need no gateway intent; Guilds keeps the session's state useful without privileged intents.
	s.Identify.Intents = discordgo.IntentsGuilds
	s.StateEnabled = false
	d.session = s
	return d, nil
}

// Name is "discord", the Platform of the channels it serves.
func (d *Discord) Name() string { return "discord" }

// Run registers /papers, then serves interactions over the gateway or the HTTP endpoint until ctx ends. It
// returns nil when ctx ends, after the commands in flight finished (or command.DrainTimeout passed).
func (d *Discord) Run(ctx context.Context) error {
	defer d.runner.Drain()
	if err := d.RegisterCommands(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped during registration: a shutdown, not a failure
		}
		return err
	}
	if d.opts.Mode == ModeHTTP {
		return d.runHTTP(ctx)
	}
	return d.runGateway(ctx)
}

func (d *Discord) runHTTP(ctx context.Context) error {
	srv, err := httpserve.Listen(ctx, httpserve.Config{Addr: d.opts.Listen, Handler: d.Handler()})
	if err != nil {
		return fmt.Errorf("discord: interactions endpoint: %w", err)
	}
	d.log.Info("discord interactions endpoint listening", "addr", srv.Addr().String())
	if err := srv.Run(ctx, shutdownGrace); err != nil {
		return fmt.Errorf("discord: interactions endpoint on %s: %w", d.opts.Listen, err)
	}
	return nil
}

func (d *Discord) runGateway(ctx context.Context) error {
	remove := d.session.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
		if ic == nil || ic.Interaction == nil {
			return
		}
		d.interact(ctx, ic.Interaction, d.restResponder(ic.Interaction))
	})
	defer remove()
	if err := d.session.Open(); err != nil {
		return fmt.Errorf("discord: open gateway session: %w", err)
	}
	d.log.Info("discord gateway session open")
	<-ctx.Done()
	if err := d.session.Close(); err != nil {
		d.log.Warn("discord gateway session close", "err", err)
	}
	return nil
}

// applicationID returns the configured application id, or asks Discord for the token's application once.
func (d *Discord) applicationID(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.appID != "" {
		return d.appID, nil
	}
	endpoint := discordgo.EndpointOAuth2Application("@me")
	body, err := d.session.RequestWithBucketID(http.MethodGet, endpoint, nil, endpoint, discordgo.WithContext(ctx))
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
