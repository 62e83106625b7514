package discord

import (
	"context"
	"fmt"
	"net/http"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
)

// ClickHandler answers the feedback buttons of cards; *command.Clicks is one.
type ClickHandler interface {
	Click(ctx context.Context, k command.Click) (command.ClickResult, error)
}

// feedbackRow is the card's row of feedback buttons, each with its click token as custom_id; nil when the paper's
// key makes a token longer than a custom_id takes.
func feedbackRow(c bot.Card) discordgo.MessageComponent {
	key := command.CardKey(c.Paper)
	counts := map[string]int{command.ActionRelevant: c.Up, command.ActionNotRelevant: c.Down}
	row := discordgo.ActionsRow{}
	for _, a := range command.FeedbackActions {
		tok, ok := command.ClickToken(a, key)
		if !ok {
			return nil
		}
		style := discordgo.SecondaryButton
		if a == command.ActionSave {
			style = discordgo.PrimaryButton
		}
		row.Components = append(row.Components, discordgo.Button{Label: command.ButtonLabel(a, counts[a]), Style: style, CustomID: tok})
	}
	return row
}

// withCounts relabels the vote buttons of paperKey in components with up and down; false when there are none.
func withCounts(components []discordgo.MessageComponent, paperKey string, up, down int) bool {
	found := false
	relabel := func(b *discordgo.Button) {
		action, key, err := command.ParseClickToken(b.CustomID)
		if err != nil || key != paperKey {
			return
		}
		switch action {
		case command.ActionRelevant:
			b.Label, found = command.ButtonLabel(action, up), true
		case command.ActionNotRelevant:
			b.Label, found = command.ButtonLabel(action, down), true
		}
	}
	for i, c := range components {
		var row *discordgo.ActionsRow
		switch r := c.(type) {
		case *discordgo.ActionsRow:
			row = r
		case discordgo.ActionsRow:
			row = &r
			components[i] = row
		default:
			continue
		}
		for j, e := range row.Components {
			switch b := e.(type) {
			case *discordgo.Button:
				relabel(b)
			case discordgo.Button:
				relabel(&b)
				row.Components[j] = b
			}
		}
	}
	return found
}

// componentsBody is an UPDATE_MESSAGE (type 7) body or a message edit changing only the buttons: everything else
// of the card stays as it is.
type componentsBody struct {
	Components []discordgo.MessageComponent `json:"components"`
}

// click answers a message component interaction (a card's button): a vote updates the card's vote buttons with
// the counts (UPDATE_MESSAGE, one click one update, so within Discord's limits by construction); Save, More like
// this and refusals are ephemeral replies. A click slower than the budget is acknowledged with
// DEFERRED_UPDATE_MESSAGE and finished through the interaction's webhook.
func (d *Discord) click(ctx context.Context, in *discordgo.Interaction, respond responder) {
	data := in.MessageComponentData()
	if d.opts.Clicks == nil || !command.IsClickToken(data.CustomID) || in.ChannelID == "" || userID(in) == "" {
		d.answer(ctx, in, respond, replyResponse(bot.Reply{Private: true, Text: []string{"paperboy does not handle that button."}}))
		return
	}
	k := command.Click{Channel: channel.Ref{Platform: d.Name(), ID: in.ChannelID}, User: userID(in), Workspace: in.GuildID, Token: data.CustomID}
	var res command.ClickResult
	var err error
	d.runner.Do(ctx, command.Job{
		Run: func(ctx context.Context) bot.Reply {
			res, err = d.opts.Clicks.Click(ctx, k)
			if err != nil {
				d.log.Error("discord card button failed", "channel", in.ChannelID, "user", k.User, "err", err)
				res = command.ClickResult{Reply: bot.Reply{Private: true, Text: []string{"Sorry, something went wrong on paperboy's side; it has been logged. Please try again later."}}}
			}
			return res.Reply
		},
		Answer: func(ctx context.Context, reply bot.Reply) {
			if !res.Voted { // also the busy reply, when res was never set
				d.answer(ctx, in, respond, replyResponse(privately(reply)))
				return
			}
			if in.Message != nil && withCounts(in.Message.Components, res.PaperKey, res.Up, res.Down) {
				d.answer(ctx, in, respond, interactionResponse{Type: discordgo.InteractionResponseUpdateMessage,
					Data: componentsBody{Components: in.Message.Components}})
				return
			}
			d.answer(ctx, in, respond, replyResponse(votedReply(res)))
		},
		Defer: func(ctx context.Context) {
			d.answer(ctx, in, respond, interactionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
		},
		FollowUp: func(ctx context.Context, _ bot.Reply) { d.clickFollowUp(ctx, in, res) },
	})
}

// privately makes a click's reply ephemeral: a click's answer is for the clicker only.
func privately(r bot.Reply) bot.Reply {
	r.Private = true
	return r
}

func votedReply(res command.ClickResult) bot.Reply {
	return bot.Reply{Private: true, Text: []string{fmt.Sprintf("Thanks, your vote is recorded: 👍 %d · 👎 %d", res.Up, res.Down)}}
}

// clickFollowUp finishes a deferred click: the card's buttons are edited through the interaction's webhook
// (@original is the message the button is on), other answers are ephemeral follow-up messages.
func (d *Discord) clickFollowUp(ctx context.Context, in *discordgo.Interaction, res command.ClickResult) {
	appID := in.AppID
	if appID == "" {
		var err error
		if appID, err = d.applicationID(ctx); err != nil {
			d.log.Error("discord click follow-up failed", "channel", in.ChannelID, "err", err)
			return
		}
	}
	method, endpoint := http.MethodPost, discordgo.EndpointWebhookToken(appID, in.Token)
	var body any
	switch {
	case res.Voted && in.Message != nil && withCounts(in.Message.Components, res.PaperKey, res.Up, res.Down):
		method, endpoint = http.MethodPatch, discordgo.EndpointWebhookMessage(appID, in.Token, "@original")
		body = componentsBody{Components: in.Message.Components}
	case res.Voted:
		body = renderReply(votedReply(res))
	default:
		body = renderReply(privately(res.Reply))
	}
	if _, err := d.session.RequestWithBucketID(method, endpoint, body, endpoint,
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(true)); err != nil {
		d.log.Error("discord click follow-up failed", "channel", in.ChannelID, "err", fmt.Errorf("interaction %s: %w", in.ID, redactURL(err)))
	}
}
