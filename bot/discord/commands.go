package discord

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// CommandName is the one application command paperboy registers.
const CommandName = "papers"

// InvitePermissions are the bot permissions the invite asks for, and no more:
//   - View Channel (1<<10): see the channels it is asked to post in;
//   - Send Messages (1<<11): post the paper cards and digests;
//   - Embed Links (1<<14): without it Discord strips the embeds, which are the cards.
//
// Answering /papers needs no permission: interaction responses are webhooks of the application.
const InvitePermissions = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionEmbedLinks

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

// CommandDefinition is /papers with native subcommands and typed options. Names and descriptions stay within
// Discord's limits (names 1-32 lowercase characters, descriptions 1-100), which the golden test checks.
func CommandDefinition() *discordgo.ApplicationCommand {
	str := func(name, desc string, required bool, maxLen int) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionString, Name: name, Description: desc, Required: required,
			MinLength: ptr(1), MaxLength: maxLen,
		}
	}
	sub := func(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: desc, Options: opts}
	}
	unsub := str("subscription", "Which subscription: its number in /papers list, or the query", true, 500)
	unsub.Autocomplete = true
	mode := str("mode", "off: one message per paper; daily: one digest a day", true, 5)
	mode.Choices = []*discordgo.ApplicationCommandOptionChoice{{Name: "off", Value: "off"}, {Name: "daily", Value: "daily"}}
	return &discordgo.ApplicationCommand{
		Type:        discordgo.ChatApplicationCommand,
		Name:        CommandName,
		Description: "Research papers: look them up, and post new ones matching a query in this channel",
		// Subscriptions belong to server channels; in DMs there is nothing to manage.
		Contexts:         &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
		IntegrationTypes: &[]discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall},
		Options: []*discordgo.ApplicationCommandOption{
			sub("search", "Recent papers matching a query, shown only to you",
				str("query", `A query, e.g. eeg transformer, "foundation model" -survey, cat:cs.LG`, true, 500)),
			sub("subscribe", "Post new papers matching a query in this channel (Manage Channels)",
				str("query", `A query, e.g. eeg -survey or "foundation model" (eeg OR meg)`, true, 500)),
			sub("unsubscribe", "Stop one of this channel's subscriptions (Manage Channels)", unsub),
			sub("list", "What this channel follows, with recent match counts"),
			sub("digest", "One digest a day instead of one message per paper (Manage Channels)",
				mode,
				str("time", "Local time of the daily digest, HH:MM, e.g. 09:00", false, 5),
				str("timezone", "IANA time zone of that time, e.g. Europe/Berlin (default UTC)", false, 64)),
			sub("backfill", "Post the last days' matching papers here as one digest (Manage Channels)",
				&discordgo.ApplicationCommandOption{
					Type: discordgo.ApplicationCommandOptionInteger, Name: "days", Description: "How many days back, 1 to 30",
					Required: true, MinValue: ptr(1.0), MaxValue: 30,
				}),
			sub("sources", "Each paper feed: last poll, last new paper, errors"),
			sub("help", "How to use /papers, with query examples"),
		},
	}
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
	cmds := []*discordgo.ApplicationCommand{CommandDefinition()}
	// Registration is not a channel post, so discordgo may wait out its 429s itself.
	if _, err := d.session.RequestWithBucketID(http.MethodPut, endpoint, cmds, endpoint,
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(true)); err != nil {
		return fmt.Errorf("discord: register /%s %s: %w", CommandName, where, err)
	}
	d.log.Info("discord command registered", "command", CommandName, "where", where)
	return nil
}

// commandText maps /papers SUB with typed options to the command core's text grammar.
func commandText(data discordgo.ApplicationCommandInteractionData) (sub, text string) {
	if len(data.Options) == 0 {
		return "help", "help"
	}
	o := data.Options[0]
	if o.Type != discordgo.ApplicationCommandOptionSubCommand {
		return "", ""
	}
	val := func(name string) string {
		if opt := o.GetOption(name); opt != nil {
			return optionString(opt)
		}
		return ""
	}
	parts := []string{o.Name}
	switch o.Name {
	case "search", "subscribe":
		parts = append(parts, val("query"))
	case "unsubscribe":
		parts = append(parts, val("subscription"))
	case "digest":
		parts = append(parts, val("mode"), val("time"), val("timezone"))
	case "backfill":
		parts = append(parts, val("days"))
	}
	return o.Name, strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}

// optionString renders an option value as the text the command core parses. Integers arrive as JSON numbers.
func optionString(o *discordgo.ApplicationCommandInteractionDataOption) string {
	switch v := o.Value.(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}
