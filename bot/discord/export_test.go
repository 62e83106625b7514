package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// exportCommander is the command core over a real store with n papers on the reading list of the captured
// payload's member in its guild.
func exportCommander(t *testing.T, n int) *command.Commander {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var ps []paper.Paper
	for i := range n {
		ps = append(ps, testkit.Paper(testNow, fmt.Sprintf("2611.3%04d", i), fmt.Sprintf("Paper %d on 100%% & $x_%d$ {EEG} with Ä and é", i, i), "Abstract.", 1))
	}
	if _, err := st.Ingest(t.Context(), "arxiv", ps, nil, testNow); err != nil {
		t.Fatal(err)
	}
	// The captured subcommand's member and guild.
	u := channel.User{Platform: "discord", Workspace: "719255152170762301", ID: "196249128286552064"}
	for i, p := range ps {
		if _, err := st.Save(t.Context(), u, p.Key, testNow.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	return &command.Commander{Store: &memStore{}, Feedback: st, Now: func() time.Time { return testNow }}
}

// exportEdit is the edit of the deferred response: its JSON payload and attached files.
func exportEdit(t *testing.T, f *fakeDiscord) []struct {
	content string
	files   []uploaded
	raw     []byte
} {
	t.Helper()
	var out []struct {
		content string
		files   []uploaded
		raw     []byte
	}
	for _, r := range f.requestsTo("/api/v10/webhooks/541298511430287395/") {
		if r.Method != http.MethodPatch || !strings.HasSuffix(r.Path, "/messages/@original") {
			t.Errorf("follow-up %s %s, want a PATCH of @original", r.Method, r.Path)
			continue
		}
		payload, files := splitMultipart(t, r.Header, r.Body)
		var body struct {
			Content string `json:"content"`
			Embeds  []struct {
				Description string `json:"description"`
			} `json:"embeds"`
		}
		if err := json.Unmarshal(payload, &body); err != nil {
			t.Fatal(err)
		}
		text := body.Content
		for _, e := range body.Embeds {
			text += "\n" + e.Description
		}
		out = append(out, struct {
			content string
			files   []uploaded
			raw     []byte
		}{text, files, payload})
	}
	return out
}

// TestExportAsAttachment runs /papers export bibtex through the HTTP interactions endpoint with a real store
// behind it: it is deferred as an ephemeral response (flags 64), then an export longer than one code block
// replaces it with papers.bib attached (a multipart PATCH of @original: payload_json and files[0]), byte for byte
// the export; a short one is a code block; when Discord refuses the attachment, the edit carries the code blocks
// and why.
func TestExportAsAttachment(t *testing.T) {
	tests := []struct {
		name     string
		papers   int
		refuse   bool
		wantFile bool
		wantSay  []string
		wantCode bool
	}{
		{name: "long: attached", papers: 12, wantFile: true,
			wantSay: []string{"BibTeX of your reading list: 12 entries.", "Attached: papers.bib (12 entries), visible only to you."}},
		{name: "short: a code block", papers: 1, wantCode: true, wantSay: []string{"BibTeX of your reading list: 1 entry."}},
		{name: "attachment refused", papers: 30, refuse: true, wantCode: true,
			wantSay: []string{"I could not attach papers.bib (Discord answered 413 Request entity too large)", "A message holds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord(t)
			if tt.refuse {
				f.enqueue("original", cannedResponse{status: http.StatusRequestEntityTooLarge, body: `{"message": "Request entity too large", "code": 40005}`})
			}
			c := exportCommander(t, tt.papers)
			d := newTestDiscord(t, f, func(o *Options) { o.Commands = c })
			body := commandPayload(t, discordgo.InteractionApplicationCommand, "export", member,
				map[string]any{"type": 3, "name": "format", "value": "bibtex"}, map[string]any{"type": 3, "name": "what", "value": "saved"})
			var in discordgo.Interaction
			if err := json.Unmarshal(body, &in); err != nil {
				t.Fatal(err)
			}
			want, err := c.Handle(t.Context(), d.request(&in, bot.Invocation{Subcommand: "export", Options: map[string]any{"format": "bibtex", "what": "saved"}}))
			if err != nil {
				t.Fatal(err)
			}
			w, resp := serve(t, d, signedRequest(body, testNow, testPrivateKey))
			d.runner.Drain()
			if w.Code != http.StatusOK || resp.Type != int(discordgo.InteractionResponseDeferredChannelMessageWithSource) ||
				resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 {
				t.Fatalf("answer %d %s, want a deferred ephemeral response", w.Code, w.Body)
			}
			checkExportEdits(t, f, want, tt.papers, tt.refuse, tt.wantFile, tt.wantCode, tt.wantSay)
		})
	}
}

func checkExportEdits(t *testing.T, f *fakeDiscord, want bot.Reply, papers int, refused, wantFile, wantCode bool, wantSay []string) {
	t.Helper()
	edits := exportEdit(t, f)
	wantEdits := 1
	if refused {
		wantEdits = 2 // the multipart edit refused, then the code blocks
	}
	if len(edits) != wantEdits {
		t.Fatalf("%d edits of the deferred response, want %d", len(edits), wantEdits)
	}
	last := edits[len(edits)-1]
	for _, say := range wantSay {
		if !strings.Contains(last.content, say) {
			t.Errorf("answer lacks %q:\n%s", say, last.content)
		}
	}
	if got := strings.Contains(last.content, "@misc{"); got != wantCode {
		t.Errorf("answer holds code: %v, want %v:\n%s", got, wantCode, last.content)
	}
	if !wantFile {
		if len(last.files) != 0 {
			t.Errorf("files attached: %+v", last.files)
		}
		return
	}
	if want.Document == nil || len(last.files) != 1 {
		t.Fatalf("document made: %v, %d files attached; want one file", want.Document != nil, len(last.files))
	}
	got := last.files[0]
	if !bytes.Equal(got.Data, want.Document.File.Data) || got.Name != "papers.bib" || got.Field != "files[0]" ||
		strings.Count(string(got.Data), "@misc{") != papers || !strings.HasPrefix(got.ContentType, "text/plain") {
		t.Errorf("attached %s as %s (%s), %d bytes; want papers.bib as files[0], the export's %d bytes with %d entries",
			got.Name, got.Field, got.ContentType, len(got.Data), len(want.Document.File.Data), papers)
	}
	if !bytes.Contains(last.raw, []byte(`"filename":"papers.bib"`)) {
		t.Errorf("payload_json does not describe the attachment: %s", last.raw)
	}
}

// TestExportAsAttachmentOverGateway: over the gateway the deferred ephemeral response is a callback, and the file
// is attached in the same edit of @original.
func TestExportAsAttachmentOverGateway(t *testing.T) {
	f := newFakeDiscord(t)
	c := exportCommander(t, 12)
	d := newTestDiscord(t, f, func(o *Options) { o.Mode = ModeGateway; o.Commands = c })
	var in discordgo.Interaction
	body := commandPayload(t, discordgo.InteractionApplicationCommand, "export", member,
		map[string]any{"type": 3, "name": "format", "value": "bibtex"})
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatal(err)
	}
	want, err := c.Handle(t.Context(), d.request(&in, bot.Invocation{Subcommand: "export", Options: map[string]any{"format": "bibtex"}}))
	if err != nil {
		t.Fatal(err)
	}
	d.interact(context.Background(), &in, d.restResponder(&in))
	d.runner.Drain()
	calls := f.requestsTo("/api/v10/interactions/" + in.ID + "/")
	if len(calls) != 1 {
		t.Fatalf("callbacks %+v", calls)
	}
	var resp struct {
		Type int `json:"type"`
		Data struct {
			Flags int `json:"flags"`
		} `json:"data"`
	}
	if err := json.Unmarshal(calls[0].Body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Type != int(discordgo.InteractionResponseDeferredChannelMessageWithSource) || resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 {
		t.Fatalf("callback %s, want a deferred ephemeral response", calls[0].Body)
	}
	checkExportEdits(t, f, want, 12, false, true, false, []string{"Attached: papers.bib (12 entries)"})
}
