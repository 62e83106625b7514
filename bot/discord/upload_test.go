package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
)

// uploaded is one file of a multipart request: its form field, file name, content type and bytes.
type uploaded struct {
	Field, Name, ContentType string
	Data                     []byte
}

// splitMultipart returns the JSON of a request body as Discord reads it: the body itself for a JSON request, the
// payload_json part of a multipart one, with its files[n] parts.
func splitMultipart(t *testing.T, h http.Header, body []byte) ([]byte, []uploaded) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return body, nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var payload []byte
	var files []uploaded
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Errorf("fake discord: multipart body: %v", err)
			return nil, nil
		}
		data, _ := io.ReadAll(p)
		switch {
		case p.FormName() == "payload_json":
			payload = data
		case strings.HasPrefix(p.FormName(), "files["):
			files = append(files, uploaded{Field: p.FormName(), Name: p.FileName(), ContentType: p.Header.Get("Content-Type"), Data: data})
		default:
			t.Errorf("fake discord: unexpected multipart part %q", p.FormName())
		}
	}
	if payload == nil {
		t.Error("fake discord: multipart body without payload_json")
	}
	return payload, files
}

// pngBytes is the start of a PNG: enough for the content type to be sniffed as image/png.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{1}, 64)...)

func chartReply() bot.Reply {
	return bot.Reply{
		Text:  []string{"Papers per week: 12 papers, 3 in the last week.", "Rising in the last week: mamba."},
		Files: []bot.File{{Name: "trends.png", Data: pngBytes, Title: "Papers per week", AltText: "Line chart of papers per week"}},
	}
}

// checkChartRequest checks that r carries the chart as Discord takes an attachment: payload_json with the text and
// attachments [{id 0, filename, description}], and files[0] with the bytes.
func checkChartRequest(t *testing.T, r recorded) {
	t.Helper()
	payload, files := splitMultipart(t, r.Header, r.Body)
	if len(files) != 1 || files[0].Field != "files[0]" || files[0].Name != "trends.png" || files[0].ContentType != "image/png" || !bytes.Equal(files[0].Data, pngBytes) {
		t.Fatalf("files %+v", files)
	}
	var body struct {
		Content     string
		Attachments []struct {
			ID          string
			Filename    string
			Description string
		}
		AllowedMentions struct{ Parse []string } `json:"allowed_mentions"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.Content, "12 papers, 3 in the last week") || len(body.Attachments) != 1 ||
		body.Attachments[0].ID != "0" || body.Attachments[0].Filename != "trends.png" || body.Attachments[0].Description != "Line chart of papers per week" {
		t.Errorf("payload_json %s", payload)
	}
	if body.AllowedMentions.Parse == nil || len(body.AllowedMentions.Parse) != 0 {
		t.Errorf("the message may mention: %s", payload)
	}
}

func TestUpload(t *testing.T) {
	tests := []struct {
		name    string
		canned  *cannedResponse
		wantErr func(error) bool
	}{
		{"posted", nil, func(err error) bool { return err == nil }},
		{"no Attach Files permission", &cannedResponse{status: 403, body: `{"message": "Missing Permissions", "code": 50013}`},
			func(err error) bool { return errors.Is(err, bot.ErrPermanent) }},
		{"too large", &cannedResponse{status: 413, body: `{"message": "Request entity too large", "code": 40005}`},
			func(err error) bool { return errors.Is(err, bot.ErrRejected) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord(t)
			if tt.canned != nil {
				f.enqueue("111", *tt.canned)
			}
			d := newTestDiscord(t, f, nil)
			id, err := d.Upload(t.Context(), channel.Ref{Platform: "discord", ID: "111"}, strings.Join(chartReply().Text, "\n"), chartReply().Files)
			if !tt.wantErr(err) {
				t.Fatalf("Upload: id %q, err %v", id, err)
			}
			posts := f.requestsTo("/api/v10/channels/111/messages")
			if len(posts) != 1 {
				t.Fatalf("%d posts", len(posts))
			}
			checkChartRequest(t, posts[0])
			if err == nil && id == "" {
				t.Error("no message id")
			}
		})
	}
}

// chartHandler answers every command with the chart.
type chartHandler struct{}

func (chartHandler) Complete(context.Context, bot.Request, string, string) ([]command.Choice, error) {
	return nil, nil
}

func (chartHandler) Handle(context.Context, bot.Request) (bot.Reply, error) { return chartReply(), nil }

// TestTrendsAttachesChart: /papers trends is deferred (a slow subcommand), and its reply replaces the deferred
// message with the chart attached, in a multipart PATCH of @original.
func TestTrendsAttachesChart(t *testing.T) {
	// Anyone may run it, in public: a member without Manage Channels too.
	for _, perms := range []int64{member, manager} {
		t.Run(fmt.Sprint(perms), func(t *testing.T) {
			f := newFakeDiscord(t)
			d := newTestDiscord(t, f, func(o *Options) { o.Commands = chartHandler{} })
			d.runner = newRunner(time.Hour)
			body := commandPayload(t, discordgo.InteractionApplicationCommand, "trends", perms)
			w, resp := serve(t, d, signedRequest(body, testNow, testPrivateKey))
			d.runner.Drain()
			if w.Code != 200 || resp.Type != int(discordgo.InteractionResponseDeferredChannelMessageWithSource) {
				t.Fatalf("got %d %s, want a deferred response", w.Code, w.Body)
			}
			if resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) != 0 {
				t.Error("the chart's deferred response is private")
			}
			edits := f.requestsTo("/api/v10/webhooks/541298511430287395/")
			if len(edits) != 1 || edits[0].Method != http.MethodPatch || !strings.HasSuffix(edits[0].Path, "/messages/@original") {
				t.Fatalf("follow-up %+v", edits)
			}
			checkChartRequest(t, edits[0])
		})
	}
}
