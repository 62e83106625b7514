package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

var _ bot.Uploader = (*Slack)(nil)

// Upload posts files in ch the way files.uploadV2 does (files.getUploadURLExternal, the bytes POSTed to the URL
// Slack gives, files.completeUploadExternal sharing them in the channel), the first with text as its message. It
// returns the first file's id. It needs the files:write scope; without it Slack answers missing_scope, an
// ErrAuth like the other token errors. Errors are classified as Send's.
func (s *Slack) Upload(ctx context.Context, ch channel.Ref, text string, files []bot.File) (string, error) {
	first := ""
	for i, f := range files {
		comment := ""
		if i == 0 {
			comment = escape(strings.TrimSpace(text))
		}
		sum, err := s.api.UploadFileContext(ctx, slack.UploadFileParameters{
			Reader: bytes.NewReader(f.Data), FileSize: len(f.Data), Filename: f.Name,
			Title: f.Title, AltTxt: f.AltText, Channel: ch.ID, InitialComment: comment,
		})
		if err != nil {
			if code := slackErrorCode(err); tokenErrors[code] {
				s.tokenRefused(code)
			}
			return "", fmt.Errorf("upload %s to channel %q: %w", f.Name, ch.ID, mapError(err))
		}
		if i == 0 {
			first = sum.ID
		}
	}
	return first, nil
}

// postFiles posts a reply that carries files in the command's channel: the files with the reply's text as their
// message. It returns the response to give the command: none when the files went out, else the reply's text
// with why the files could not be posted, shown only to the caller.
func (s *Slack) postFiles(ctx context.Context, cmd slack.SlashCommand, reply bot.Reply) (response, bool) {
	ch := channel.Ref{Platform: "slack", ID: cmd.ChannelID}
	_, err := s.Upload(ctx, ch, strings.Join(reply.Text, "\n\n"), reply.Files)
	if err == nil {
		return response{}, false
	}
	s.log.WarnContext(ctx, "upload slash command reply files", "channel", cmd.ChannelID, "user", cmd.UserID, "err", err)
	why := "Slack refused the upload: " + slackErrorCode(err)
	var perm *bot.PermanentError
	switch {
	case slackErrorCode(err) == "missing_scope":
		why = "the app lacks the files:write scope; reinstall it with the manifest of this version"
	case errors.As(err, &perm):
		why = perm.Reason + fixSentence(perm.Fix)
	case slackErrorCode(err) == "":
		why = "the upload failed; try again later"
	}
	failed := reply
	failed.Files = nil
	failed.Private = true
	failed.Text = append(append([]string(nil), reply.Text...), "The chart could not be posted: "+why+".")
	return toResponse(failed), true
}

// fixSentence is " To fix it: FIX" when the fix is known.
func fixSentence(fix string) string {
	if fix == "" {
		return ""
	}
	return ". To fix it: " + fix
}

// answerFiles writes the HTTP answer to a command whose reply carries files: an empty 200 once they are posted
// (Slack then shows nothing more), or the reply with why they could not be.
func (s *Slack) answerFiles(ctx context.Context, w http.ResponseWriter, cmd slack.SlashCommand, reply bot.Reply) {
	if msg, ok := s.postFiles(ctx, cmd, reply); ok {
		writeJSON(w, msg)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// followUpFiles posts a deferred reply that carries files; see postFiles.
func (s *Slack) followUpFiles(ctx context.Context, cmd slack.SlashCommand, reply bot.Reply) {
	if msg, ok := s.postFiles(ctx, cmd, reply); ok {
		s.respond(ctx, cmd, msg)
	}
}

// hasFiles says whether reply has files to post in the channel. A private reply cannot carry them (an upload is
// seen by the whole channel), so its files are left out.
func hasFiles(reply bot.Reply) bool { return len(reply.Files) > 0 && !reply.Private }

// sendDocument delivers a reply's Document to the caller's direct messages with the app (Slack has no private
// files in a channel): conversations.open (scope im:write), then files.uploadV2 into that DM (files:write), the
// reply's text as the file's message. It returns the answer to show the caller: the text and where the file went,
// or, when Slack refused, the code blocks with the reason.
func (s *Slack) sendDocument(ctx context.Context, req bot.Request, reply bot.Reply) bot.Reply {
	doc := reply.Document
	err := s.uploadToDM(ctx, req.User, escape(strings.Join(reply.Text, "\n\n")), doc.File)
	if err == nil {
		return reply.DocumentSent(fmt.Sprintf("Sent %s to your direct messages with paperboy.", doc.Summary))
	}
	s.log.WarnContext(ctx, "send export to direct messages", "channel", req.Channel.ID, "user", req.User, "err", err)
	return reply.WithoutDocument(fmt.Sprintf("I could not send %s to your direct messages (%s), so here is what one message holds.", doc.File.Name, dmRefusal(err)))
}

// uploadToDM opens the direct message channel with user and uploads f there with comment as its message.
func (s *Slack) uploadToDM(ctx context.Context, user, comment string, f bot.File) error {
	im, _, _, err := s.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		s.tokenTrouble(err)
		return &dmError{step: "conversations.open", scope: "im:write", err: fmt.Errorf("open a direct message with %s: %w", user, mapError(err))}
	}
	if im == nil || im.ID == "" {
		return &dmError{step: "conversations.open", err: fmt.Errorf("open a direct message with %s: no channel in the answer", user)}
	}
	_, err = s.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Reader: bytes.NewReader(f.Data), FileSize: len(f.Data), Filename: f.Name,
		Title: f.Title, AltTxt: f.AltText, Channel: im.ID, InitialComment: comment,
	})
	if err != nil {
		s.tokenTrouble(err)
		return &dmError{step: "files.uploadV2", scope: "files:write", err: fmt.Errorf("upload %s to the direct message %s: %w", f.Name, im.ID, mapError(err))}
	}
	return nil
}

// tokenTrouble reports a refused token as Send does. A missing scope is left out: it disables this one feature,
// which falls back, while the token still posts cards.
func (s *Slack) tokenTrouble(err error) {
	if code := slackErrorCode(err); tokenErrors[code] && code != "missing_scope" {
		s.tokenRefused(code)
	}
}

// dmError is a failed step of sending a file to a user's direct messages.
type dmError struct {
	step  string // the Web API method that failed
	scope string // the scope the method needs
	err   error
}

func (e *dmError) Error() string { return e.step + ": " + e.err.Error() }
func (e *dmError) Unwrap() error { return e.err }

// dmRefusal says, for the caller, why the file could not be sent to their direct messages.
func dmRefusal(err error) string {
	code := slackErrorCode(err)
	var de *dmError
	step, scope := "", ""
	if errors.As(err, &de) {
		step, scope = de.step, de.scope
	}
	switch {
	case code == "missing_scope" && scope != "":
		return "the app lacks the " + scope + " scope; a workspace admin can reinstall it with the manifest of this version"
	case code == "missing_scope":
		return "the app lacks a scope; a workspace admin can reinstall it with the manifest of this version"
	case code == "not_allowed_token_type":
		return "Slack does not let this app's token " + map[bool]string{true: "open direct messages", false: "upload files"}[step == "conversations.open"]
	case code != "":
		return "Slack answered " + code
	}
	return "the upload failed; try again later"
}
