package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/command"
)

// CommandName is the one application command paperboy registers.
const CommandName = "papers"

// InvitePermissions are the bot permissions the invite asks for, and no more:
//   - View Channel (1<<10): see the channels it is asked to post in;
//   - Send Messages (1<<11): post the paper cards and digests;
//   - Embed Links (1<<14): without it Discord strips the embeds, which are the cards;
//   - Attach Files (1<<15): post the /papers trends chart (and the weekly digest's) as an image.
//
// Answering /papers needs no permission: interaction responses are webhooks of the application.
const InvitePermissions = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionEmbedLinks |
	discordgo.PermissionAttachFiles

// InviteURL is the OAuth2 URL that adds the bot to a server with the scopes bot (to post) and
// applications.commands (to offer /papers), and InvitePermissions.
func InviteURL(applicationID string) string {
	q := url.Values{}
	q.Set("client_id", applicationID)
	q.Set("scope", "bot applications.commands")
	q.Set("permissions", strconv.FormatInt(InvitePermissions, 10))
	return "https://discord.com/oauth2/authorize?" + q.Encode()
}

func ptr[T any](v T) *T { return &v }

// CommandDefinition is /papers with native subcommands and typed options, walked from the command table. Names
// and descriptions stay within Discord's limits (names 1-32 lowercase characters, descriptions 1-100), which the
// golden test checks.
func CommandDefinition() *discordgo.ApplicationCommand {
	var subs []*discordgo.ApplicationCommandOption
	for _, s := range command.Subcommands() {
		sub := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: s.Name, Description: s.Description}
		if s.Access == command.Managers {
			sub.Description += " (Manage Channels)"
		}
		for _, o := range s.Options {
			sub.Options = append(sub.Options, commandOption(o))
		}
		subs = append(subs, sub)
	}
	return &discordgo.ApplicationCommand{
		Type:        discordgo.ChatApplicationCommand,
		Name:        CommandName,
		Description: "Research papers: look them up, and post new ones matching a query in this channel",
		// Subscriptions belong to server channels; in DMs there is nothing to manage.
		Contexts:         &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
		IntegrationTypes: &[]discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall},
		Options:          subs,
	}
}

// commandOption is one option of the command table as Discord declares it. Strings are at least one character:
// Discord would otherwise accept an option of spaces.
func commandOption(o command.Option) *discordgo.ApplicationCommandOption {
	opt := &discordgo.ApplicationCommandOption{Name: o.Name, Description: o.Description, Required: o.Required, Autocomplete: o.Autocomplete()}
	switch o.Type {
	case command.String:
		opt.Type = discordgo.ApplicationCommandOptionString
		opt.MinLength, opt.MaxLength = ptr(1), o.MaxLength
	case command.Integer:
		opt.Type = discordgo.ApplicationCommandOptionInteger
		opt.MinValue, opt.MaxValue = ptr(float64(o.Min)), float64(o.Max)
	}
	for _, c := range o.Choices {
		opt.Choices = append(opt.Choices, &discordgo.ApplicationCommandOptionChoice{Name: c, Value: c})
	}
	return opt
}

// RegisterCommands installs /papers with a bulk overwrite, which replaces whatever an older version registered:
// in the configured guild (instant, for development) or globally.
func (d *Discord) RegisterCommands(ctx context.Context) error {
	appID, err := d.applicationID(ctx)
	if err != nil {
		return err
	}
	endpoint := discordgo.EndpointApplicationGlobalCommands(appID)
	where := "globally"
	if d.opts.GuildID != "" {
		endpoint = discordgo.EndpointApplicationGuildCommands(appID, d.opts.GuildID)
		where = "in guild " + d.opts.GuildID
	}
	body, err := json.Marshal([]*discordgo.ApplicationCommand{CommandDefinition()})
	if err != nil {
		return fmt.Errorf("discord: register /%s: %w", CommandName, err)
	}
	// A rate limit comes back as a *bot.RateLimitError, which Run's retry waits out interruptibly.
	if _, err := d.rest(ctx, http.MethodPut, endpoint, body, 0); err != nil {
		return fmt.Errorf("discord: register /%s %s: %w", CommandName, where, err)
	}
	d.log.Info("discord command registered", "command", CommandName, "where", where)
	return nil
}

// invocation reads /papers SUB and its typed options as the command core takes them: strings trimmed, integers
// (JSON numbers) as int64. ok is false when the data holds no subcommand.
func invocation(data discordgo.ApplicationCommandInteractionData) (inv bot.Invocation, ok bool) {
	if len(data.Options) == 0 {
		return bot.Invocation{Subcommand: "help"}, true
	}
	o := data.Options[0]
	if o.Type != discordgo.ApplicationCommandOptionSubCommand {
		return bot.Invocation{}, false
	}
	inv = bot.Invocation{Subcommand: o.Name, Options: map[string]any{}}
	for _, opt := range o.Options {
		inv.Options[opt.Name] = optionValue(opt)
	}
	return inv, true
}

// optionValue is an option's value as the command core takes it. Anything but a string or an integer is passed
// on as it is, for the core to refuse.
func optionValue(o *discordgo.ApplicationCommandInteractionDataOption) any {
	switch v := o.Value.(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		if o.Type == discordgo.ApplicationCommandOptionInteger && v == math.Trunc(v) {
			return int64(v)
		}
		return v
	default:
		return v
	}
}
