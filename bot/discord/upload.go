package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

var _ bot.Uploader = (*Discord)(nil)

// limitAltText is Discord's limit on an attachment's description (its alt text).
const limitAltText = 1024

// withFiles returns the multipart body of body with files attached (payload_json, then files[0], files[1], ...,
// each described in body's attachments with its alt text), and its content type.
func withFiles(body messageBody, files []bot.File) (string, []byte, error) {
	var dfiles []*discordgo.File
	body.Attachments = nil
	for i, f := range files {
		dfiles = append(dfiles, &discordgo.File{Name: f.Name, ContentType: http.DetectContentType(f.Data), Reader: bytes.NewReader(f.Data)})
		body.Attachments = append(body.Attachments, attachment{ID: strconv.Itoa(i), Filename: f.Name, Description: truncate(f.AltText, limitAltText)})
	}
	ct, b, err := discordgo.MultipartBodyWithJSON(body, dfiles)
	if err != nil {
		return "", nil, fmt.Errorf("discord: encode the files: %w", err)
	}
	return ct, b, nil
}

// Upload posts text with files attached in ch (a multipart POST to the channel's messages: payload_json and
// files[n]) and returns the message id. It needs the Attach Files permission (in the invite); without it Discord
// answers 403 Missing Permissions, a *bot.PermanentError. A rate limit is a *bot.RateLimitError; the other errors
// are classified as Send's.
func (d *Discord) Upload(ctx context.Context, ch channel.Ref, text string, files []bot.File) (string, error) {
	chID := channelID(ch.ID)
	if chID == "" {
		return "", &bot.PermanentError{Reason: "no channel id", Err: fmt.Errorf("discord: upload to %q", ch.ID)}
	}
	body := renderReply(bot.Reply{Text: strings.Split(strings.TrimSpace(text), "\n")})
	ct, b, err := withFiles(body, files)
	if err != nil {
		return "", err
	}
	resp, err := d.restContent(ctx, http.MethodPost, discordgo.EndpointChannelMessages(chID), ct, b, maxInlineRateWait)
	if err != nil {
		var limited *bot.RateLimitError
		var rl *discordgo.RateLimitError
		switch {
		case errors.As(err, &limited):
			return "", limited
		case errors.As(err, &rl):
			return "", &bot.RateLimitError{RetryAfter: max(rl.RetryAfter, time.Second)}
		case unauthorized(err):
			d.tokenRefused(err)
			return "", fmt.Errorf("%w (401); fix %s: %w", bot.ErrAuth, tokenVariable, err)
		}
		return "", sendError(chID, err)
	}
	var m struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp, &m); err != nil || m.ID == "" {
		return "", fmt.Errorf("discord: upload to channel %s: unreadable response: %w", chID, errors.Join(err, errors.New("no message id")))
	}
	d.tokenAccepted()
	return m.ID, nil
}

// followUpFiles replaces the deferred response's "thinking" message with body and files attached: a multipart
// PATCH of the original response, which takes attachments as a post does.
func (d *Discord) followUpFiles(ctx context.Context, endpoint string, body messageBody, files []bot.File) error {
	ct, b, err := withFiles(body, files)
	if err != nil {
		return err
	}
	_, err = d.session.RequestRaw(http.MethodPatch, endpoint, ct, b, endpoint, 0,
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(true))
	return err
}

// followUpDocument replaces the deferred (ephemeral) response with the reply's text and its Document attached as a
// file: Discord takes attachments on an edit of the original interaction response, which stays ephemeral, but not
// in the HTTP answer to an interaction. sent says the file went out with its answer; otherwise the reply returned
// is what to send instead: the code blocks and why the file could not be attached.
func (d *Discord) followUpDocument(ctx context.Context, endpoint string, in *discordgo.Interaction, req bot.Request, r bot.Reply) (_ bot.Reply, sent bool) {
	doc := r.Document
	body := renderReply(r.DocumentSent(fmt.Sprintf("Attached: %s, visible only to you.", doc.Summary)))
	body.Flags = 0 // fixed by the deferred response
	err := d.followUpFiles(ctx, endpoint, body, []bot.File{doc.File})
	if err == nil {
		return r, true
	}
	d.log.Warn("attach export to the deferred response", "channel", req.Channel.String(), "user", req.User,
		"err", fmt.Errorf("interaction %s: %w", in.ID, redactURL(err)))
	why := "the upload failed; try again later"
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		why = "Discord answered " + re.Response.Status
		if re.Message != nil && re.Message.Message != "" {
			why = fmt.Sprintf("Discord answered %d %s", re.Response.StatusCode, re.Message.Message)
		}
	}
	return r.WithoutDocument(fmt.Sprintf("I could not attach %s (%s), so here is what one message holds.", doc.File.Name, why)), false
}
