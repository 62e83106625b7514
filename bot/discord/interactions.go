package discord

import (
	"bytes"
	"cmp"
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

func (d *Discord) request(in *discordgo.Interaction, text string) bot.Request {
	return bot.Request{
		Channel:   channel.Ref{Platform: d.Name(), ID: in.ChannelID},
		User:      userID(in),
		CanManage: canManage(in),
		Text:      text,
	}
}

// alwaysDeferred are subcommands whose work is known to be slow (a backfill matches days of papers and fills the
// outbox): they are deferred at once rather than after deferAfter.
var alwaysDeferred = map[string]bool{"backfill": true}

// privateByDefault are the look-ups, whose deferred "thinking" state must already be ephemeral: a deferred
// response's visibility cannot change later.
var privateByDefault = map[string]bool{"search": true, "list": true, "sources": true, "help": true}

// command runs /papers through the command core. A command that answers within deferAfter is answered directly;
// a slower one gets a deferred response at once (within Discord's 3 seconds) and its reply replaces the "thinking"
// message when ready, within the token's 15 minutes.
func (d *Discord) command(ctx context.Context, in *discordgo.Interaction, respond responder) {
	data := in.ApplicationCommandData()
	sub, text := commandText(data)
	if data.Name != CommandName || sub == "" || d.opts.Commands == nil {
		d.answer(ctx, in, respond, replyResponse(bot.Reply{Private: true, Text: []string{"Unknown command; try /papers help."}}))
		return
	}
	select {
	case d.slots <- struct{}{}:
	default:
		d.answer(ctx, in, respond, replyResponse(bot.Reply{Private: true, Text: []string{"paperboy is busy; please try again in a minute."}}))
		return
	}
	req := d.request(in, text)
	jobCtx, cancel := context.WithTimeout(d.bg, followupWindow)

	type outcome struct {
		reply bot.Reply
		err   error
	}
	var (
		mu sync.Mutex
		// Known-slow commands are deferred before they start, so they never race the direct answer.
		deferred = alwaysDeferred[sub]
		done     = make(chan outcome, 1)
		acked    = make(chan struct{}) // closed once the deferred response was sent
	)
	d.jobs.Add(1)
	go func() {
		defer d.jobs.Done()
		defer func() { <-d.slots }()
		defer cancel()
		reply, err := d.opts.Commands.Handle(jobCtx, req)
		mu.Lock()
		if !deferred {
			done <- outcome{reply, err}
			mu.Unlock()
			return
		}
		mu.Unlock()
		select {
		case <-acked:
		case <-jobCtx.Done():
			return
		}
		d.followUp(jobCtx, in, req, d.replyOrApology(req, reply, err))
	}()

	if !alwaysDeferred[sub] {
		t := time.NewTimer(d.deferAfter)
		defer t.Stop()
		select {
		case o := <-done:
			d.answer(ctx, in, respond, replyResponse(d.replyOrApology(req, o.reply, o.err)))
			return
		case <-t.C:
		}
		mu.Lock()
		select {
		case o := <-done: // finished just as the timer fired
			mu.Unlock()
			d.answer(ctx, in, respond, replyResponse(d.replyOrApology(req, o.reply, o.err)))
			return
		default:
			deferred = true
		}
		mu.Unlock()
	}
	resp := interactionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}
	// A deferred response fixes the reply's visibility before the reply exists: look-ups are private, and so is
	// everything a member without Manage Channels asks for, since their managing commands end in a refusal.
	if privateByDefault[sub] || !req.CanManage {
		resp.Data = messageBody{AllowedMentions: noMentions(), Flags: discordgo.MessageFlagsEphemeral}
	}
	d.answer(ctx, in, respond, resp)
	close(acked)
}

// replyOrApology turns a command core failure into a generic private reply; the details go to the log only.
func (d *Discord) replyOrApology(req bot.Request, reply bot.Reply, err error) bot.Reply {
	if err == nil {
		return reply
	}
	d.log.Error("discord command failed", "channel", req.Channel.String(), "user", req.User, "command", req.Text, "err", err)
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
	body := renderReply(r)
	body.Flags = 0 // fixed by the deferred response; an edit cannot change it
	endpoint := discordgo.EndpointWebhookMessage(appID, in.Token, "@original")
	if _, err := d.session.RequestWithBucketID(http.MethodPatch, endpoint, body, endpoint,
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(true)); err != nil {
		d.log.Error("discord follow-up failed", "channel", req.Channel.String(), "user", req.User,
			"err", fmt.Errorf("edit deferred response of interaction %s: %w", in.ID, redactURL(err)))
	}
}

// autocomplete offers the channel's subscriptions for /papers unsubscribe, filtered by what was typed. The value
// is the canonical query (stable when the list is renumbered), or the number when the query is too long for a
// choice value.
func (d *Discord) autocomplete(ctx context.Context, in *discordgo.Interaction, respond responder) {
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	defer func() {
		d.answer(ctx, in, respond, interactionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult, Data: autocompleteData{Choices: choices}})
	}()
	if d.opts.Subscriptions == nil {
		return
	}
	typed := strings.ToLower(strings.TrimSpace(focusedValue(in.ApplicationCommandData().Options)))
	subs, err := d.opts.Subscriptions.Subscriptions(ctx, channel.Ref{Platform: d.Name(), ID: in.ChannelID})
	if err != nil {
		d.log.Error("discord autocomplete failed", "channel", in.ChannelID, "user", userID(in), "err", err)
		return
	}
	for i, s := range subs {
		if len(choices) >= limitChoices {
			break
		}
		n := strconv.Itoa(i + 1)
		if typed != "" && !strings.Contains(strings.ToLower(s.Canonical), typed) && typed != n {
			continue
		}
		value := s.Canonical
		if len([]rune(value)) > limitChoice {
			value = n
		}
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{
			Name:  truncate(n+". "+cmp.Or(oneLine(s.Canonical), s.Query), limitChoice),
			Value: value,
		})
	}
}

// focusedValue finds the option being typed, inside the subcommand.
func focusedValue(opts []*discordgo.ApplicationCommandInteractionDataOption) string {
	for _, o := range opts {
		if o.Focused {
			return optionString(o)
		}
		if v := focusedValue(o.Options); v != "" {
			return v
		}
	}
	return ""
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
