package slack

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// exportFixture is a real store with n papers on the reading list of U1 in workspace T1, and the command core
// answering over it.
func exportFixture(t *testing.T, n int) (*command.Commander, *store.Store) {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var ps []paper.Paper
	for i := range n {
		ps = append(ps, testkit.Paper(testNow, fmt.Sprintf("2611.3%04d", i), fmt.Sprintf("Paper %d on 100%% & $x_%d$ {EEG} with Ä, ß and é", i, i), "Abstract.", 1))
	}
	if _, err := st.Ingest(t.Context(), "arxiv", ps, nil, testNow); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if _, err := st.Save(t.Context(), channel.User{Platform: "slack", Workspace: "T1", ID: "U1"}, p.Key, testNow.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	return &command.Commander{Store: st, Now: func() time.Time { return testNow }}, st
}

// TestExportAsFile runs /papers export bibtex over the HTTP endpoint with a real store behind it. An export longer
// than one code block goes to the caller's direct messages (conversations.open, then files.uploadV2 into the DM)
// as papers.bib, byte for byte the export, and the ephemeral answer says so; a short one stays a code block; when
// Slack refuses the scope, the answer is the code blocks with one line saying why.
func TestExportAsFile(t *testing.T) {
	tests := []struct {
		name          string
		papers        int
		dmErr, upErr  string
		wantFile      bool
		wantSay       []string
		wantCodeBlock bool
	}{
		{name: "long: a file in the DM", papers: 12, wantFile: true,
			wantSay: []string{"BibTeX of your reading list: 12 entries.", "Sent papers.bib (12 entries) to your direct messages with paperboy."}},
		{name: "short: a code block", papers: 1, wantCodeBlock: true, wantSay: []string{"BibTeX of your reading list: 1 entry."}},
		{name: "no im:write", papers: 30, dmErr: "missing_scope", wantCodeBlock: true,
			wantSay: []string{"I could not send papers.bib to your direct messages (the app lacks the im:write scope", "A message holds"}},
		{name: "no files:write", papers: 12, upErr: "missing_scope", wantCodeBlock: true,
			wantSay: []string{"(the app lacks the files:write scope"}},
		{name: "a token that may not open DMs", papers: 12, dmErr: "not_allowed_token_type", wantCodeBlock: true,
			wantSay: []string{"(Slack does not let this app's token open direct messages)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			f.dmErr, f.files.errCode = tt.dmErr, tt.upErr
			c, _ := exportFixture(t, tt.papers)
			s := newTestSlack(t, f, ModeHTTP, c)
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			// What the command core makes of the same request: the file must arrive exactly so.
			want, err := c.Handle(t.Context(), bot.Request{Channel: slackChannel("C1"), User: "U1", Workspace: "T1", Text: "export bibtex saved"})
			if err != nil {
				t.Fatal(err)
			}
			ack := postCommand(t, srv, commandBodyIn("T1", "C1", "U1", "export bibtex saved", f.responseURL("1")))
			if ack["response_type"] != "ephemeral" {
				t.Errorf("acknowledgement %v", ack)
			}
			m := f.waitResponse(t)
			s.runner.Drain()
			text := allText(blocksOf(t, m))
			if m["response_type"] != "ephemeral" {
				t.Errorf("answer %v, want ephemeral", m)
			}
			for _, say := range tt.wantSay {
				if !strings.Contains(text, say) {
					t.Errorf("answer lacks %q:\n%s", say, text)
				}
			}
			if got := strings.Contains(text, "@misc{"); got != tt.wantCodeBlock {
				t.Errorf("answer holds a code block: %v, want %v:\n%s", got, tt.wantCodeBlock, text)
			}
			// A scope this one feature lacks does not make the platform unready: cards still go out.
			if _, why := s.ready.Ready(); strings.Contains(why, "token") {
				t.Errorf("readiness after the export: %q", why)
			}
			shared := f.files.sharedFiles()
			if !tt.wantFile {
				if len(shared) != 0 {
					t.Errorf("files shared: %+v", shared)
				}
				return
			}
			if want.Document == nil {
				t.Fatal("the command core made no file")
			}
			if len(shared) != 1 {
				t.Fatalf("files shared: %+v, want one", shared)
			}
			got := shared[0]
			if !bytes.Equal(got.Data, want.Document.File.Data) || got.Name != "papers.bib" || got.Channel != "DU1" ||
				strings.Count(string(got.Data), "@misc{") != tt.papers {
				t.Errorf("shared %s in %s, %d bytes; want papers.bib in DU1, the export's %d bytes with %d entries",
					got.Name, got.Channel, len(got.Data), len(want.Document.File.Data), tt.papers)
			}
			if strings.Join(f.dmOpened, ",") != "U1" {
				t.Errorf("direct messages opened with %v, want U1's", f.dmOpened)
			}
		})
	}
}

// TestExportAsFileOverSocketMode: over Socket Mode the command is acknowledged at once, the file goes to the
// DM, and the answer follows through response_url; the workspace is the slash command's team_id there too, so the
// same user in another workspace has an empty reading list.
func TestExportAsFileOverSocketMode(t *testing.T) {
	f := newFakeSlack(t)
	c, _ := exportFixture(t, 12)
	s := newTestSlack(t, f, ModeSocket, c)
	slash := func(envelope, team, text string) socketmode.Event {
		e := slashEvent(envelope, "U1", text, f.responseURL(envelope))
		cmd := e.Data.(slack.SlashCommand)
		cmd.TeamID = team
		e.Data = cmd
		return e
	}
	fs := newFakeSocket(func(ctx context.Context, emit func(socketmode.Event) bool) error {
		emit(socketmode.Event{Type: socketmode.EventTypeConnected, Data: &socketmode.ConnectedEvent{}})
		emit(slash("env-1", "T1", "export bibtex saved"))
		return untilDone(ctx)
	})
	s.newSocket = func() socketClient { return fs }
	stop := runSlack(t, s)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	fs.waitAck(t)
	m := f.waitResponse(t)
	if text := allText(blocksOf(t, m)); m["response_type"] != "ephemeral" || !strings.Contains(text, "Sent papers.bib (12 entries) to your direct messages") || strings.Contains(text, "@misc{") {
		t.Errorf("answer %v", m)
	}
	if shared := f.files.sharedFiles(); len(shared) != 1 || shared[0].Channel != "DU1" || strings.Count(string(shared[0].Data), "@misc{") != 12 {
		t.Errorf("shared %d files, want papers.bib with 12 entries in DU1", len(shared))
	}
	other, err := c.Handle(t.Context(), bot.Request{Channel: slackChannel("C1"), User: "U1", Workspace: "T2", Text: "saved"})
	if err != nil || !strings.Contains(strings.Join(other.Text, " "), "empty") {
		t.Errorf("U1's list in T2 = %q, %v; want empty", other.Text, err)
	}
}
