package discord

import (
	"context"
	"fmt"
	"net/http"
	"strings"

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

// digestMenus are a digest's feedback menus: one string select per action (Relevant, Not relevant, Save, More
// like this: four of a message's five action rows), each listing the digest's papers in order, with the paper's
// click token as the option's value. A paper whose token would be too long is left out of the menus; a digest
// whose papers all are gets none. The menus show no counts: a digest is never edited.
func digestMenus(cards []bot.Card) []discordgo.MessageComponent {
	type entry struct {
		label, desc string
		key         string
	}
	var entries []entry
	for _, c := range cards {
		key := command.CardKey(c.Paper)
		if _, ok := command.ClickToken(command.ActionRelevant, key); !ok || len(entries) == limitOptions {
			continue
		}
		label := oneLine(bot.CleanLaTeX(c.Paper.Title))
		if label == "" {
			label = "(untitled)"
		}
		var desc []string
		if a := bot.ShortAuthors(c.Paper.Authors); a != "" {
			desc = append(desc, oneLine(a))
		}
		if !c.Paper.Published.IsZero() {
			desc = append(desc, c.Paper.Published.Format("2006-01-02"))
		}
		// Labels are plain text (not markdown), so they are only cut, not escaped.
		entries = append(entries, entry{label: truncate(label, limitOptionText), desc: truncate(strings.Join(desc, " · "), limitOptionText), key: key})
	}
	if len(entries) == 0 {
		return nil
	}
	rows := make([]discordgo.MessageComponent, 0, len(command.FeedbackActions))
	for _, a := range command.FeedbackActions {
		menu := discordgo.SelectMenu{MenuType: discordgo.StringSelectMenu, CustomID: command.PickID(a),
			Placeholder: command.MenuLabel(a) + "…"}
		for _, e := range entries {
			tok, ok := command.ClickToken(a, e.key)
			if !ok { // a longer action name may not fit where "up" did
				continue
			}
			menu.Options = append(menu.Options, discordgo.SelectMenuOption{Label: e.label, Value: tok, Description: e.desc})
		}
		if len(menu.Options) > 0 && len(rows) < limitRows {
			rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{menu}})
		}
	}
	return rows
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

// clickToken is the click token of a component interaction: a feedback button's custom_id, or the option chosen
// from a digest's menu (a string select, component type 3, whose custom_id names the action); false for a
// component paperboy did not make. A menu's choice that is not a token of its action is returned as is, to be
// refused by the command core like any forged token.
func clickToken(data discordgo.MessageComponentInteractionData) (string, bool) {
	if !command.IsClickToken(data.CustomID) {
		return "", false
	}
	if data.ComponentType != discordgo.SelectMenuComponent {
		return data.CustomID, true
	}
	tok, err := command.PickedToken(data.CustomID, data.Values)
	if err != nil {
		return data.CustomID, true
	}
	return tok, true
}

// click answers a message component interaction (a card's button or a digest's menu). A vote on a posted card is
// acknowledged with DEFERRED_UPDATE_MESSAGE (type 6) and nothing else: the card shows the new counts through the
// coalesced card-edit queue, so a burst of votes is one edit rendered from the store's latest counts, within the
// channel's rate limit. Without the queue ([delivery] edits = false) a vote updates the clicked message's buttons
// (UPDATE_MESSAGE, type 7). Any other vote (from a digest, on a look-up's ephemeral card, on a card the queue
// cannot edit), Save, More like this and refusals are ephemeral replies. A click slower than the budget is
// acknowledged with type 6 and finished through the interaction's webhook.
func (d *Discord) click(ctx context.Context, in *discordgo.Interaction, respond responder) {
	data := in.MessageComponentData()
	token, ok := clickToken(data)
	if d.opts.Clicks == nil || !ok || in.ChannelID == "" || userID(in) == "" {
		d.answer(ctx, in, respond, replyResponse(bot.Reply{Private: true, Text: []string{"paperboy does not handle that button."}}))
		return
	}
	k := command.Click{Channel: channel.Ref{Platform: d.Name(), ID: in.ChannelID}, User: userID(in), Workspace: in.GuildID, Token: token}
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
			switch {
			case !res.Voted: // also the busy reply, when res was never set
				d.answer(ctx, in, respond, replyResponse(privately(reply)))
			case res.Queued:
				d.answer(ctx, in, respond, interactionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
			case res.InPlace && in.Message != nil && withCounts(in.Message.Components, res.PaperKey, res.Up, res.Down):
				d.answer(ctx, in, respond, interactionResponse{Type: discordgo.InteractionResponseUpdateMessage,
					Data: componentsBody{Components: in.Message.Components}})
			default:
				d.answer(ctx, in, respond, replyResponse(privately(res.Reply)))
			}
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

// clickFollowUp finishes a deferred click: a vote the card-edit queue shows needs nothing more; a card it cannot
// edit has its buttons edited through the interaction's webhook (@original is the message the button is on);
// other answers are ephemeral follow-up messages.
func (d *Discord) clickFollowUp(ctx context.Context, in *discordgo.Interaction, res command.ClickResult) {
	if res.Queued {
		return
	}
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
	case res.Voted && res.InPlace && in.Message != nil && withCounts(in.Message.Components, res.PaperKey, res.Up, res.Down):
		method, endpoint = http.MethodPatch, discordgo.EndpointWebhookMessage(appID, in.Token, "@original")
		body = componentsBody{Components: in.Message.Components}
	default:
		body = renderReply(privately(res.Reply))
	}
	if _, err := d.session.RequestWithBucketID(method, endpoint, body, endpoint,
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(true)); err != nil {
		d.log.Error("discord click follow-up failed", "channel", in.ChannelID, "err", fmt.Errorf("interaction %s: %w", in.ID, redactURL(err)))
	}
}
