package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/config"
	"github.com/paperboy-bot/paperboy/bot/console"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/discord"
	"github.com/paperboy-bot/paperboy/bot/slack"
)

// platform declares one chat platform: its name (the PLATFORM of PLATFORM:ID), the rate limits the sender keeps
// to, and how it is set up from the configuration and the environment. Adding a platform is one entry in
// platforms plus its adapter package (and its config table, if it has settings).
type platform struct {
	name   string
	limits delivery.Limits
	// setup returns the platform when it is configured (its token is set), nil when it is not; service, if not
	// nil, is its command transport (Socket Mode, a gateway session, an HTTP endpoint), run for the bot's life;
	// closer, if not nil, is closed with the App.
	setup func(e env) (p bot.Platform, service func(context.Context) error, closer io.Closer, err error)
	// state says whether setup will turn the platform on, and how its commands arrive, without setting it up.
	state func(cfg *config.Config) (PlatformState, error)
}

// PlatformState is whether a platform is on for a configuration and its environment, for `paperboy check` and
// the start of `paperboy run`.
type PlatformState struct {
	Name string
	On   bool
	// Mode is how it runs when on: "socket", "http on ADDR", "gateway", or where the console prints.
	Mode string
	// Off says why it is off and how to turn it on.
	Off string
}

// PlatformStates returns the state of every registered platform under cfg and the environment's secrets.
func PlatformStates(cfg *config.Config) ([]PlatformState, error) {
	var out []PlatformState
	for _, p := range platforms() {
		st, err := p.state(cfg)
		if err != nil {
			return nil, err
		}
		st.Name = p.name
		out = append(out, st)
	}
	return out, nil
}

// UnservedChannels warns about the configured channels whose platform is off in states.
func UnservedChannels(cfg *config.Config, states []PlatformState) []config.Warning {
	off := map[string]string{}
	for _, st := range states {
		if !st.On {
			off[st.Name] = st.Off
		}
	}
	return cfg.UnservedChannels(off)
}

func consoleState(cfg *config.Config) (PlatformState, error) {
	if cfg.Console.Output != "" {
		return PlatformState{On: true, Mode: "appends to " + cfg.Console.Output}, nil
	}
	return PlatformState{On: true, Mode: "prints to standard output"}, nil
}

func slackState(cfg *config.Config) (PlatformState, error) {
	token, err := config.Secret("SLACK_BOT_TOKEN")
	if err != nil || token == "" {
		return PlatformState{Off: "SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE) is not set"}, err
	}
	if cfg.Slack.Mode == "http" {
		return PlatformState{On: true, Mode: "http on " + cfg.Slack.Listen}, nil
	}
	return PlatformState{On: true, Mode: "socket"}, nil
}

func discordState(cfg *config.Config) (PlatformState, error) {
	token, err := config.Secret("DISCORD_BOT_TOKEN")
	if err != nil || token == "" {
		return PlatformState{Off: "DISCORD_BOT_TOKEN (or DISCORD_BOT_TOKEN_FILE) is not set"}, err
	}
	if cfg.Discord.Mode == "http" {
		return PlatformState{On: true, Mode: "http on " + cfg.Discord.Listen}, nil
	}
	return PlatformState{On: true, Mode: "gateway"}, nil
}

// env is what a platform's setup may use.
type env struct {
	cfg    *config.Config
	app    *App
	stdout io.Writer
}

// platforms is the registry of chat platforms. The limits stay under the platforms' documented limits: Slack
// about one message per second per channel (chat.postMessage), Discord 5 per 5 s per channel and 50 requests per
// second per bot. The console has none.
func platforms() []platform {
	return []platform{
		{name: "console", limits: delivery.Limits{PerChannel: rate.Inf, Global: rate.Inf}, setup: setupConsole, state: consoleState},
		{name: "slack", limits: delivery.Limits{PerChannel: 1, ChannelBurst: 1, Global: 20, GlobalBurst: 5}, setup: setupSlack, state: slackState},
		{name: "discord", limits: delivery.Limits{PerChannel: 1, ChannelBurst: 5, Global: 40, GlobalBurst: 10}, setup: setupDiscord, state: discordState},
	}
}

// PlatformNames lists the registered platforms, for configuration checks and `paperboy cmd --channel`.
func PlatformNames() []string {
	ps := platforms()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name
	}
	return names
}

// PlatformLimits returns the registered platforms' rate limits, by name.
func PlatformLimits() map[string]delivery.Limits {
	out := map[string]delivery.Limits{}
	for _, p := range platforms() {
		out[p.name] = p.limits
	}
	return out
}

// setupConsole is always on: it is how the bot runs out of the box, and a console channel in the config is a way
// to watch what a subscription would post.
func setupConsole(e env) (bot.Platform, func(context.Context) error, io.Closer, error) {
	var out = e.stdout
	var closer io.Closer
	if e.cfg.Console.Output != "" {
		f, err := console.Open(e.cfg.Console.Output)
		if err != nil {
			return nil, nil, nil, err // console.Open names what failed
		}
		out, closer = f, f
	}
	con, err := console.New(console.Options{Format: e.cfg.Console.Format, Output: out, FilesDir: e.app.FilesDir()})
	if err != nil {
		if closer != nil {
			_ = closer.Close()
		}
		return nil, nil, nil, fmt.Errorf("[console] %w", err)
	}
	return con, nil, closer, nil
}

// setupSlack sets up Slack when SLACK_BOT_TOKEN is set.
func setupSlack(e env) (bot.Platform, func(context.Context) error, io.Closer, error) {
	var tokens [3]string
	for i, name := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"} {
		v, err := config.Secret(name)
		if err != nil {
			return nil, nil, nil, err
		}
		tokens[i] = v
	}
	if tokens[0] == "" {
		return nil, nil, nil, nil
	}
	c := e.cfg.Slack
	var clicks slack.ClickHandler // a nil *command.Clicks must stay a nil interface
	if e.app.Clicks != nil {
		clicks = e.app.Clicks
	}
	s, err := slack.New(slack.Options{
		BotToken: tokens[0], AppToken: tokens[1], SigningSecret: tokens[2],
		Mode: c.Mode, Listen: c.Listen, Managers: c.Managers, APIURL: c.APIURL,
		Commands: e.app.Commander, Clicks: clicks, Logger: e.app.Logger, Ready: e.app.platformReady("slack"),
	})
	if err != nil {
		return nil, nil, nil, err // slack.New's errors start with "slack:"
	}
	return s, s.Run, nil, nil
}

// setupDiscord sets up Discord when DISCORD_BOT_TOKEN is set.
func setupDiscord(e env) (bot.Platform, func(context.Context) error, io.Closer, error) {
	token, err := config.Secret("DISCORD_BOT_TOKEN")
	if err != nil || token == "" {
		return nil, nil, nil, err
	}
	opts := discordOptions(e.cfg.Discord, token)
	opts.Commands, opts.Logger, opts.Ready = e.app.Commander, e.app.Logger, e.app.platformReady("discord")
	if e.app.Clicks != nil { // a nil *command.Clicks must stay a nil interface
		opts.Clicks = e.app.Clicks
	}
	d, err := discord.New(opts)
	if err != nil {
		return nil, nil, nil, err // discord.New's errors start with "discord:"
	}
	return d, d.Run, nil, nil
}

// platformAccess asks a channel's platform whether the bot can post there (command.ChannelAccess), for the
// platforms that can tell (bot.AccessChecker); for the others it knows nothing and says nil.
type platformAccess map[string]bot.AccessChecker

// CheckAccess implements command.ChannelAccess.
func (p platformAccess) CheckAccess(ctx context.Context, ch channel.Ref) error {
	if c, ok := p[ch.Platform]; ok {
		return c.CheckAccess(ctx, ch)
	}
	return nil
}

// accessOf is the platformAccess of plats, nil when none of them can tell.
func accessOf(plats map[string]bot.Platform) command.ChannelAccess {
	access := platformAccess{}
	for name, p := range plats {
		if c, ok := p.(bot.AccessChecker); ok {
			access[name] = c
		}
	}
	if len(access) == 0 {
		return nil
	}
	return access
}

// discordOptions are the Discord platform's options from the [discord] table and the bot token, shared by the
// bot and paperboy discord invite so that both reach the same application.
func discordOptions(c config.DiscordConfig, token string) discord.Options {
	return discord.Options{
		Token: token, Mode: c.Mode, Listen: c.Listen, PublicKey: c.PublicKey,
		ApplicationID: c.ApplicationID, GuildID: c.GuildID, APIURL: c.APIURL,
	}
}

// DiscordApplicationID is the Discord application the bot acts as: [discord] application_id when set, else the
// application of the bot token (DISCORD_BOT_TOKEN or its _FILE), asked of Discord as the bot does at start.
func DiscordApplicationID(ctx context.Context, cfg *config.Config) (string, error) {
	if cfg.Discord.ApplicationID != "" {
		return cfg.Discord.ApplicationID, nil
	}
	token, err := config.Secret("DISCORD_BOT_TOKEN")
	if err != nil {
		return "", err
	}
	if token == "" {
		return "", errors.New("set DISCORD_BOT_TOKEN (or DISCORD_BOT_TOKEN_FILE), whose application is then looked up, or [discord] application_id (the developer portal's Application ID)")
	}
	d, err := discord.New(discordOptions(cfg.Discord, token))
	if err != nil {
		return "", err // already says discord:
	}
	return d.ApplicationID(ctx)
}
