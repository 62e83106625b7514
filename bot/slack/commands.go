package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"

	"github.com/slack-go/slack"

	"github.com/paperboy-bot/paperboy/bot"
)

const (
	// CommandsPath is where the HTTP endpoint receives slash commands.
	CommandsPath = "/slack/commands"
	// maxBodyBytes caps a slash command request. Slack's are well under 4 KiB (command text is short); the cap
	// keeps an unauthenticated client from making us read and hash megabytes.
	maxBodyBytes = 16 << 10
	// maxClockSkew is how far a request timestamp may be from our clock: Slack's recommendation, which makes a
	// captured request useless for replay after five minutes.
	maxClockSkew = 5 * time.Minute
)

// Errors of request verification; the HTTP endpoint answers all of them with 401.
var (
	errMissingHeaders   = errors.New("missing X-Slack-Signature or X-Slack-Request-Timestamp")
	errBadTimestamp     = errors.New("bad X-Slack-Request-Timestamp")
	errExpiredTimestamp = errors.New("request timestamp more than 5 minutes from now")
	errBadSignature     = errors.New("signature mismatch")
)

// verify checks Slack's v0 request signature: HMAC-SHA256 over "v0:" + timestamp + ":" + raw body, keyed with
// the signing secret, and a timestamp within five minutes of s.now().
//
// It follows slack-go's SecretsVerifier step for step (same headers, same base string, constant-time compare),
// but that verifier reads the wall clock itself, so an injected clock (for tests, and for documented vectors)
// could not be honoured; a test checks that both agree on fresh requests.
func (s *Slack) verify(h http.Header, body []byte) error {
	sig, ts := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	if sig == "" || ts == "" {
		return errMissingHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return errBadTimestamp
	}
	if d := s.now().Sub(time.Unix(sec, 0)); d > maxClockSkew || d < -maxClockSkew {
		return errExpiredTimestamp
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return errBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return errBadSignature
	}
	mac := hmac.New(sha256.New, []byte(s.signingSecret))
	_, _ = fmt.Fprintf(mac, "v0:%s:", ts)
	_, _ = mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), got) {
		return errBadSignature
	}
	return nil
}

// Handler returns the http-mode handler: POST /slack/commands and POST /slack/interactions.
func (s *Slack) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CommandsPath, s.serveCommand)
	mux.HandleFunc("POST "+InteractionsPath, s.serveInteraction)
	return mux
}

// serveCommand verifies a slash command before anything else, answers within Slack's 3 s when the command is
// quick, and otherwise acknowledges and answers later through response_url.
func (s *Slack) serveCommand(w http.ResponseWriter, r *http.Request) {
	body, ok := command.ReadCappedBody(w, r, maxBodyBytes)
	if !ok {
		return
	}
	if err := s.verify(r.Header, body); err != nil {
		s.log.WarnContext(r.Context(), "rejected unverified slash command request", "err", err, "remote", r.RemoteAddr)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if form.Get("ssl_check") == "1" {
		w.WriteHeader(http.StatusOK) // Slack checking our certificate; nothing to answer
		return
	}
	cmd := slack.SlashCommand{
		TeamID:      form.Get("team_id"),
		ChannelID:   form.Get("channel_id"),
		UserID:      form.Get("user_id"),
		Command:     form.Get("command"),
		Text:        form.Get("text"),
		ResponseURL: form.Get("response_url"),
	}
	if cmd.ChannelID == "" || cmd.UserID == "" {
		http.Error(w, "missing channel_id or user_id", http.StatusBadRequest)
		return
	}
	// Answered in the HTTP response when quick, else acknowledged there and answered through response_url.
	req := s.request(cmd)
	sub, _ := command.Find(req)
	s.runner.Do(r.Context(), command.Job{
		Slow: sub.Slow,
		Run:  func(ctx context.Context) bot.Reply { return s.answer(ctx, req) },
		Answer: func(ctx context.Context, reply bot.Reply) {
			if hasFiles(reply) {
				s.answerFiles(ctx, w, cmd, reply)
				return
			}
			writeJSON(w, toResponse(reply))
		},
		Defer: func(context.Context) {
			writeJSON(w, response{ResponseType: slack.ResponseTypeEphemeral, Text: "Working on it…"})
		},
		FollowUp: func(ctx context.Context, reply bot.Reply) { s.followUp(ctx, cmd, reply) },
	})
}

// followUp posts a deferred reply: through response_url, or, when it carries files, as an upload in the channel.
func (s *Slack) followUp(ctx context.Context, cmd slack.SlashCommand, reply bot.Reply) {
	if hasFiles(reply) {
		s.followUpFiles(ctx, cmd, reply)
		return
	}
	s.respond(ctx, cmd, toResponse(reply))
}

// response is a slash command answer as Slack takes it, in the HTTP response or posted to response_url.
type response struct {
	ResponseType string        `json:"response_type"`
	Text         string        `json:"text"`
	Blocks       []slack.Block `json:"blocks,omitempty"`
}

func writeJSON(w http.ResponseWriter, msg response) {
	b, err := json.Marshal(msg)
	if err != nil {
		http.Error(w, "cannot encode reply", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(b)
}

// request turns a slash command into the command core's request. A slash command typed in a channel comes from a
// member of it (Slack lets only members post there), so without a managers list every caller may manage.
func (s *Slack) request(cmd slack.SlashCommand) bot.Request {
	return bot.Request{
		Channel:   channel.Ref{Platform: "slack", ID: cmd.ChannelID},
		User:      cmd.UserID,
		Workspace: cmd.TeamID,
		CanManage: len(s.managers) == 0 || s.managers[cmd.UserID],
		Text:      cmd.Text,
	}
}

// answer runs the command through the command core. A failure of the bot itself is logged and answered with a
// generic apology: its details are for the operator, not the channel.
func (s *Slack) answer(ctx context.Context, req bot.Request) bot.Reply {
	reply, err := s.commands.Handle(ctx, req)
	if err != nil {
		s.log.ErrorContext(ctx, "slash command failed", "channel", req.Channel.ID, "user", req.User, "err", err)
		reply = bot.Reply{Private: true, Text: []string{"Sorry, something went wrong on paperboy's side. Please try again later."}}
	}
	if reply.Document != nil {
		// Both transports answer through here, before the reply is rendered: the file goes out first, and the
		// answer says where it went, or why it did not.
		reply = s.sendDocument(ctx, req, reply)
	}
	return reply
}

// toResponse renders a reply as a slash command answer.
func toResponse(reply bot.Reply) response {
	r := renderReply(reply)
	msg := response{ResponseType: slack.ResponseTypeInChannel, Text: r.text, Blocks: r.blocks}
	if reply.Private {
		msg.ResponseType = slack.ResponseTypeEphemeral
	}
	return msg
}

// respond posts msg through the command's response_url.
func (s *Slack) respond(ctx context.Context, cmd slack.SlashCommand, msg response) {
	if !s.responseURLAllowed(cmd.ResponseURL) {
		s.log.WarnContext(ctx, "slash command without a usable response_url; reply dropped", "channel", cmd.ChannelID, "user", cmd.UserID)
		return
	}
	_, _, err := s.api.PostMessageContext(ctx, cmd.ChannelID,
		slack.MsgOptionResponseURL(cmd.ResponseURL, msg.ResponseType),
		slack.MsgOptionText(msg.Text, false),
		slack.MsgOptionBlocks(msg.Blocks...),
	)
	if err != nil {
		// A transport error names the response_url, which is a credential for this command's replies.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s response_url: %w", ue.Op, ue.Err)
		}
		s.log.ErrorContext(ctx, "post slash command reply to response_url", "channel", cmd.ChannelID, "user", cmd.UserID, "err", err)
	}
}

// responseURLAllowed accepts Slack's own https hosts, or the configured API host (tests, proxies). The URL comes
// from a verified request, but a check costs nothing and keeps the bot from ever being pointed elsewhere.
func (s *Slack) responseURLAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if s.apiURL != nil && u.Scheme == s.apiURL.Scheme && u.Host == s.apiURL.Host {
		return true
	}
	host := u.Hostname()
	return u.Scheme == "https" && (host == "slack.com" || strings.HasSuffix(host, ".slack.com") ||
		host == "slack-gov.com" || strings.HasSuffix(host, ".slack-gov.com"))
}
