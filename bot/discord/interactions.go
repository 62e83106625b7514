package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
)

// InteractionsPath is where the HTTP transport receives interactions; set it as the application's Interactions
// Endpoint URL.
const InteractionsPath = "/discord/interactions"

// interactionResponse is an interaction callback body, sent as the HTTP answer or POSTed to the callback URL.
type interactionResponse struct {
	Type discordgo.InteractionResponseType `json:"type"`
	Data any                               `json:"data,omitempty"`
}

// autocompleteData is separate from messageBody because Discord wants "choices" even when empty.
type autocompleteData struct {
	Choices []*discordgo.ApplicationCommandOptionChoice `json:"choices"`
}

// responder delivers the initial response to one interaction: the HTTP answer, or a REST callback.
type responder func(ctx context.Context, r interactionResponse) error

// Handler serves POST /discord/interactions: it verifies the Ed25519 signature of timestamp + raw body and the
// timestamp's freshness before reading anything else, answers PING with PONG and runs /papers.
func (d *Discord) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+InteractionsPath, d.serveInteraction)
	return mux
}

func (d *Discord) serveInteraction(w http.ResponseWriter, r *http.Request) {
	if d.publicKey == nil {
		http.Error(w, "interactions endpoint not configured", http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("X-Signature-Ed25519") == "" || r.Header.Get("X-Signature-Timestamp") == "" {
		http.Error(w, "missing signature", http.StatusUnauthorized)
		return
	}
	raw, ok := command.ReadCappedBody(w, r, maxBodyBytes)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if !discordgo.VerifyInteraction(r, d.publicKey) {
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	// VerifyInteraction does not look at the time: a validly signed request is refused once it is stale, so that
	// a captured request cannot be replayed.
	if !d.fresh(r.Header.Get("X-Signature-Timestamp")) {
		http.Error(w, "stale request timestamp", http.StatusUnauthorized)
		return
	}
	var in discordgo.Interaction
	if err := json.Unmarshal(raw, &in); err != nil {
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	if in.Type == discordgo.InteractionMessageComponent && !d.seen.First(in.ID, d.now()) {
		// A validly signed, fresh request seen before: a replay. A click must count once.
		d.log.Warn("replayed discord interaction refused", "interaction", in.ID, "remote", r.RemoteAddr)
		http.Error(w, "interaction already received", http.StatusConflict)
		return
	}
	var once sync.Once
	d.interact(r.Context(), &in, func(_ context.Context, resp interactionResponse) error {
		err := errors.New("interaction already answered")
		once.Do(func() {
			w.Header().Set("Content-Type", "application/json")
			err = json.NewEncoder(w).Encode(resp)
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		})
		return err
	})
}

// fresh reports whether the signed unix timestamp is within maxClockSkew of now.
func (d *Discord) fresh(ts string) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	skew := d.now().Sub(time.Unix(sec, 0))
	return skew <= maxClockSkew && skew >= -maxClockSkew
}

// restResponder answers a gateway interaction through its callback URL.
func (d *Discord) restResponder(in *discordgo.Interaction) responder {
	return func(ctx context.Context, resp interactionResponse) error {
		endpoint := discordgo.EndpointInteractionResponse(in.ID, in.Token)
		_, err := d.session.RequestWithBucketID(http.MethodPost, endpoint, resp, endpoint, discordgo.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("discord: respond to interaction %s: %w", in.ID, redactURL(err))
		}
		return nil
	}
}

// interact handles one interaction of any transport.
func (d *Discord) interact(ctx context.Context, in *discordgo.Interaction, respond responder) {
	switch in.Type {
	case discordgo.InteractionPing:
		d.answer(ctx, in, respond, interactionResponse{Type: discordgo.InteractionResponsePong})
	case discordgo.InteractionApplicationCommandAutocomplete:
		d.autocomplete(ctx, in, respond)
	case discordgo.InteractionApplicationCommand:
		d.command(ctx, in, respond)
	case discordgo.InteractionMessageComponent:
		d.click(ctx, in, respond)
	default:
		d.log.Warn("discord interaction of unexpected type ignored", "type", in.Type.String())
		d.answer(ctx, in, respond, interactionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: renderReply(bot.Reply{Private: true, Text: []string{"paperboy does not handle that interaction."}}),
		})
	}
}

func (d *Discord) answer(ctx context.Context, in *discordgo.Interaction, respond responder, r interactionResponse) {
	if err := respond(ctx, r); err != nil {
		d.log.Warn("discord interaction response failed", "channel", in.ChannelID, "user", userID(in), "err", err)
	}
}

func userID(in *discordgo.Interaction) string {
	switch {
	case in.Member != nil && in.Member.User != nil:
		return in.Member.User.ID
	case in.User != nil:
		return in.User.ID
	}
	return ""
}

// canManage is the Manage Channels check: Discord sends the member's resolved permissions in the channel
// (overwrites applied) with each interaction. Administrators hold every permission.
func canManage(in *discordgo.Interaction) bool {
	if in.Member == nil {
		return false
	}
	return in.Member.Permissions&(discordgo.PermissionManageChannels|discordgo.PermissionAdministrator) != 0
}

func (d *Discord) request(in *discordgo.Interaction, inv bot.Invocation) bot.Request {
	return bot.Request{
		Channel:    channel.Ref{Platform: d.Name(), ID: in.ChannelID},
		User:       userID(in),
		Workspace:  in.GuildID, // "" in a DM
		CanManage:  canManage(in),
		Invocation: &inv,
		CannotPost: cannotPost(in),
	}
}

// cannotPost reads the bot's own permissions in the channel, which Discord sends with each interaction
// (app_permissions): a *bot.PermanentError naming what is missing of View Channel, Send Messages (or Send
// Messages in Threads) and Embed Links, the permissions a card needs (the invite link asks for them, and Attach Files); nil when they are
// all there, in a DM, or when Discord sent none.
func cannotPost(in *discordgo.Interaction) error {
	p := in.AppPermissions
	if in.Member == nil || p == 0 || p&discordgo.PermissionAdministrator != 0 {
		return nil
	}
	var missing []string
	if p&discordgo.PermissionViewChannel == 0 {
		missing = append(missing, "View Channel")
	}
	if p&(discordgo.PermissionSendMessages|discordgo.PermissionSendMessagesInThreads) == 0 {
		missing = append(missing, "Send Messages")
	}
	if p&discordgo.PermissionEmbedLinks == 0 {
		missing = append(missing, "Embed Links")
	}
	if len(missing) == 0 {
		return nil
	}
	return &bot.PermanentError{
		Reason: "missing permissions: " + strings.Join(missing, ", "),
		Fix:    "give the bot View Channel, Send Messages and Embed Links in this channel (Edit Channel → Permissions)",
	}
}

// command runs /papers through the command core. A command that answers within the budget is answered directly;
// a slower one, or one the command table marks slow, gets a deferred response (within Discord's 3 seconds) and
// its reply replaces the "thinking" message when ready, within the token's 15 minutes.
func (d *Discord) command(ctx context.Context, in *discordgo.Interaction, respond responder) {
	data := in.ApplicationCommandData()
	inv, ok := invocation(data)
	sub, known := command.Lookup(inv.Subcommand)
	if data.Name != CommandName || !ok || !known || d.opts.Commands == nil {
		d.answer(ctx, in, respond, replyResponse(bot.Reply{Private: true, Text: []string{"Unknown command; try /papers help."}}))
		return
	}
	req := d.request(in, inv)
	d.runner.Do(ctx, command.Job{
		Slow: sub.Slow,
		Run: func(ctx context.Context) bot.Reply {
			reply, err := d.opts.Commands.Handle(ctx, req)
			return d.replyOrApology(req, reply, err)
		},
		Answer: func(ctx context.Context, reply bot.Reply) {
			if hasFiles(reply) || reply.Document != nil {
				// Files go in a multipart request, which an interaction response over HTTP cannot be: defer, then
				// attach them to the deferred response. A private reply's deferred response is ephemeral already:
				// the edit cannot change that.
				resp := interactionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}
				if reply.Private {
					resp.Data = messageBody{AllowedMentions: noMentions(), Flags: discordgo.MessageFlagsEphemeral}
				}
				d.answer(ctx, in, respond, resp)
				d.followUp(ctx, in, req, reply)
				return
			}
			d.answer(ctx, in, respond, replyResponse(reply))
		},
		Defer: func(ctx context.Context) {
			resp := interactionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}
			// A deferred response fixes the reply's visibility before the reply exists: private subcommands are
			// private already, and so is a managing command asked for by a member without Manage Channels, since
			// it ends in a refusal. What anyone may run in public (the trends chart) stays public.
			if sub.Private || (sub.Access == command.Managers && !req.CanManage) {
				resp.Data = messageBody{AllowedMentions: noMentions(), Flags: discordgo.MessageFlagsEphemeral}
			}
			d.answer(ctx, in, respond, resp)
		},
		FollowUp: func(ctx context.Context, reply bot.Reply) { d.followUp(ctx, in, req, reply) },
	})
}

// replyOrApology turns a command core failure into a generic private reply; the details go to the log only.
func (d *Discord) replyOrApology(req bot.Request, reply bot.Reply, err error) bot.Reply {
	if err == nil {
		return reply
	}
	d.log.Error("discord command failed", "channel", req.Channel.String(), "user", req.User, "command", req.CommandLine(), "err", err)
	return bot.Reply{Private: true, Text: []string{"Sorry, something went wrong on paperboy's side; it has been logged. Please try again later."}}
}

func replyResponse(r bot.Reply) interactionResponse {
	return interactionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: renderReply(r)}
}

// followUp replaces the deferred response's "thinking" message with the reply.
func (d *Discord) followUp(ctx context.Context, in *discordgo.Interaction, req bot.Request, r bot.Reply) {
	appID := in.AppID
	if appID == "" {
		var err error
		if appID, err = d.applicationID(ctx); err != nil {
			d.log.Error("discord follow-up failed", "channel", req.Channel.String(), "user", req.User, "err", err)
			return
		}
	}
	endpoint := discordgo.EndpointWebhookMessage(appID, in.Token, "@original")
	if r.Document != nil {
		var sent bool
		if r, sent = d.followUpDocument(ctx, endpoint, in, req, r); sent {
			return
		}
	}
	body := renderReply(r)
	body.Flags = 0 // fixed by the deferred response; an edit cannot change it
	var err error
	if hasFiles(r) {
		err = d.followUpFiles(ctx, endpoint, body, r.Files)
	} else {
		_, err = d.session.RequestWithBucketID(http.MethodPatch, endpoint, body, endpoint,
			discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(true))
	}
	if err != nil {
		d.log.Error("discord follow-up failed", "channel", req.Channel.String(), "user", req.User,
			"err", fmt.Errorf("edit deferred response of interaction %s: %w", in.ID, redactURL(err)))
	}
}

// autocomplete offers what the command core completes for the option being typed (the channel's subscriptions
// for /papers unsubscribe).
func (d *Discord) autocomplete(ctx context.Context, in *discordgo.Interaction, respond responder) {
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	defer func() {
		d.answer(ctx, in, respond, interactionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult, Data: autocompleteData{Choices: choices}})
	}()
	data := in.ApplicationCommandData()
	inv, ok := invocation(data)
	focused := focusedOption(data.Options)
	if data.Name != CommandName || !ok || focused == nil || d.opts.Commands == nil {
		return
	}
	typed, _ := optionValue(focused).(string)
	req := d.request(in, inv)
	offered, err := d.opts.Commands.Complete(ctx, req, focused.Name, typed)
	if err != nil {
		d.log.Error("discord autocomplete failed", "channel", in.ChannelID, "user", userID(in), "err", err)
		return
	}
	for _, c := range offered[:min(len(offered), limitChoices)] {
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: truncate(c.Name, limitChoice), Value: c.Value})
	}
}

// focusedOption finds the option being typed, inside the subcommand.
func focusedOption(opts []*discordgo.ApplicationCommandInteractionDataOption) *discordgo.ApplicationCommandInteractionDataOption {
	for _, o := range opts {
		if o.Focused {
			return o
		}
		if f := focusedOption(o.Options); f != nil {
			return f
		}
	}
	return nil
}

// redactURL drops the URL from a transport error: interaction callback and webhook URLs carry the interaction
// token, a credential that must not reach the logs.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// hasFiles says whether reply has files to attach. A private reply's files are left out: a deferred response that
// was made public for files could not become private again, and the commands that post files are public.
func hasFiles(reply bot.Reply) bool { return len(reply.Files) > 0 && !reply.Private }
