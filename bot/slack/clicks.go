package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
)

const (
	// InteractionsPath is where the HTTP endpoint receives button clicks (the app's Interactivity Request URL).
	InteractionsPath = "/slack/interactions"
	// maxInteractionBytes caps a block_actions request. Unlike a slash command, Slack sends the whole message the
	// button is on, url-encoded: a full card is a few kilobytes of blocks, which encoding can triple. The cap
	// is read before the signature is checked, as for /slack/commands.
	maxInteractionBytes = 64 << 10
)

// ClickHandler answers the feedback buttons of cards; *command.Clicks is one.
type ClickHandler interface {
	Click(ctx context.Context, k command.Click) (command.ClickResult, error)
}

// clickOf finds the feedback click in a block_actions payload: a feedback button (its value is the click token),
// or the option chosen from a digest's menu (an overflow or static_select whose selected_option's value is the
// token). False for any other interaction (the link buttons, which Slack reports too).
func clickOf(cb *slack.InteractionCallback) (command.Click, bool) {
	if cb.Type != slack.InteractionTypeBlockActions {
		return command.Click{}, false
	}
	for _, a := range cb.ActionCallback.BlockActions {
		if a == nil {
			continue
		}
		tok := a.Value
		if a.Type == slack.ActionType(slack.OptTypeStatic) || a.Type == slack.ActionType(slack.METOverflow) {
			tok = a.SelectedOption.Value
		}
		if !command.IsClickToken(tok) {
			continue
		}
		ch := cb.Channel.ID
		if ch == "" {
			ch = cb.Container.ChannelID
		}
		if ch == "" || cb.User.ID == "" {
			return command.Click{}, false
		}
		// The workspace the click comes from: block_actions carries it as team.id, and as user.team_id.
		team := cb.Team.ID
		if team == "" {
			team = cb.User.TeamID
		}
		return command.Click{Channel: channel.Ref{Platform: "slack", ID: ch}, User: cb.User.ID, Workspace: team, Token: tok}, true
	}
	return command.Click{}, false
}

// click answers a feedback button. ack acknowledges the interaction at once (Slack wants it within 3 s and shows
// an error otherwise); the answer follows through response_url, bounded by the runner like the commands.
func (s *Slack) click(ctx context.Context, cb *slack.InteractionCallback, k command.Click, ack func()) {
	var res command.ClickResult
	var err error
	s.runner.Do(ctx, command.Job{
		Slow: true,
		Run: func(ctx context.Context) bot.Reply {
			res, err = s.clicks.Click(ctx, k)
			return bot.Reply{}
		},
		Answer: func(ctx context.Context, reply bot.Reply) {
			ack()
			s.respondClick(ctx, cb, toResponse(reply))
		},
		Defer: func(context.Context) { ack() },
		FollowUp: func(ctx context.Context, _ bot.Reply) {
			if err != nil {
				s.log.ErrorContext(ctx, "card button failed", "channel", k.Channel.ID, "user", k.User, "err", err)
				s.respondClick(ctx, cb, response{ResponseType: slack.ResponseTypeEphemeral,
					Text: "Sorry, something went wrong on paperboy's side. Please try again later."})
				return
			}
			s.answerClick(ctx, cb, res)
		},
	})
}

// answerClick shows a click's outcome. A vote on a posted card needs nothing more than the acknowledgement: the
// card shows the new counts through the coalesced card-edit queue (one chat.update for a burst of votes, rendered
// from the store's latest counts, within the channel's rate limit). Without the queue ([delivery] edits = false)
// the card is replaced through response_url with its vote buttons relabelled. Any other vote (from a digest, on
// an ephemeral card, on a card the queue cannot edit) is confirmed privately with the counts, and so are Save,
// More like this and refusals.
func (s *Slack) answerClick(ctx context.Context, cb *slack.InteractionCallback, res command.ClickResult) {
	if !res.Voted {
		s.respondClick(ctx, cb, toResponse(res.Reply))
		return
	}
	if res.Queued {
		return
	}
	blocks := cb.Message.Blocks.BlockSet
	if !res.InPlace || cb.Container.IsEphemeral || len(blocks) == 0 || !withCounts(blocks, res.PaperKey, res.Up, res.Down) {
		// An ephemeral card (a look-up's answer) comes without its blocks; a digest has no count to show.
		s.respondClick(ctx, cb, toResponse(res.Reply))
		return
	}
	if !s.responseURLAllowed(cb.ResponseURL) {
		s.log.WarnContext(ctx, "card click without a usable response_url; update dropped", "channel", cb.Channel.ID)
		return
	}
	_, _, err := s.api.PostMessageContext(ctx, cb.Channel.ID,
		slack.MsgOptionReplaceOriginal(cb.ResponseURL),
		slack.MsgOptionText(cb.Message.Text, false), // Slack's own copy of the text, already escaped
		slack.MsgOptionBlocks(blocks...),
	)
	if err != nil {
		s.log.ErrorContext(ctx, "update card counts through response_url", "channel", cb.Channel.ID, "err", redact(err))
	}
}

// respondClick posts a private reply through the click's response_url.
func (s *Slack) respondClick(ctx context.Context, cb *slack.InteractionCallback, msg response) {
	s.respond(ctx, slack.SlashCommand{ChannelID: cb.Channel.ID, UserID: cb.User.ID, ResponseURL: cb.ResponseURL}, msg)
}

// redact drops the URL of a transport error: a response_url is a credential for the interaction's replies.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s response_url: %w", ue.Op, ue.Err)
	}
	return err
}

// serveInteraction receives a block_actions payload over HTTP: verified like a slash command (signature,
// timestamp within five minutes, capped body), refused when its trigger_id was already seen, acknowledged with
// an empty 200, and answered through response_url.
func (s *Slack) serveInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := command.ReadCappedBody(w, r, maxInteractionBytes)
	if !ok {
		return
	}
	if err := s.verify(r.Header, body); err != nil {
		s.log.WarnContext(r.Context(), "rejected unverified interaction request", "err", err, "remote", r.RemoteAddr)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "bad form: no payload", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	if !s.seen.First(cb.TriggerID, s.now()) {
		s.log.WarnContext(r.Context(), "rejected replayed interaction", "remote", r.RemoteAddr)
		http.Error(w, "interaction already received", http.StatusConflict)
		return
	}
	k, ok := clickOf(&cb)
	if !ok || s.clicks == nil {
		w.WriteHeader(http.StatusOK) // a link button, or feedback not enabled: nothing to answer
		return
	}
	s.click(r.Context(), &cb, k, func() { w.WriteHeader(http.StatusOK) })
}

// socketClick handles an interactive envelope of Socket Mode: acknowledged at once, answered through
// response_url when it is a feedback click seen for the first time.
func (s *Slack) socketClick(ctx context.Context, sc socketClient, evt socketmode.Event) {
	ack := func() {
		if evt.Request != nil && evt.Request.EnvelopeID != "" {
			s.ack(ctx, sc, evt)
		}
	}
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		ack()
		return
	}
	k, isClick := clickOf(&cb)
	if !isClick || s.clicks == nil || !s.seen.First(cb.TriggerID, s.now()) {
		// A redelivered envelope (Slack retries one it thinks was not acknowledged) is acknowledged again but
		// not counted twice.
		ack()
		return
	}
	s.click(ctx, &cb, k, ack)
}
