package slack

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

func TestCheckAccess(t *testing.T) {
	f := newFakeSlack(t)
	f.notMember["COUT"] = true
	f.archived["CARCH"] = true
	f.infoErr["CPRIV"] = "channel_not_found"
	f.infoErr["CSCOPE"] = "missing_scope"
	s := newTestSlack(t, f, ModeHTTP, nil)
	tests := []struct {
		id         string
		wantReason string // "" for no permanent error
		wantErr    bool
		wantFix    string
	}{
		{id: "CIN"},
		{id: "COUT", wantReason: "not_in_channel", wantErr: true, wantFix: "/invite @paperboy"},
		{id: "CARCH", wantReason: "is_archived", wantErr: true, wantFix: "unarchive"},
		{id: "CPRIV", wantReason: "channel_not_found", wantErr: true, wantFix: "/invite @paperboy"},
		// Without channels:read the bot cannot tell: an error, but not one that blocks or warns the channel.
		{id: "CSCOPE", wantErr: true},
		{id: "D0123"}, // a direct message is not asked about
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := s.CheckAccess(context.Background(), channel.Ref{Platform: "slack", ID: tt.id})
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckAccess = %v, want error %v", err, tt.wantErr)
			}
			var perm *bot.PermanentError
			if got := errors.As(err, &perm); got != (tt.wantReason != "") {
				t.Fatalf("CheckAccess = %v: permanent %v, want %v", err, got, tt.wantReason != "")
			}
			if perm == nil {
				return
			}
			if !errors.Is(err, bot.ErrPermanent) || perm.Reason != tt.wantReason || !strings.Contains(perm.Fix, tt.wantFix) {
				t.Errorf("CheckAccess = %v (reason %q, fix %q), want reason %q and a fix with %q", err, perm.Reason, perm.Fix, tt.wantReason, tt.wantFix)
			}
		})
	}
}

// slashReply posts text as a /papers command typed in ch and returns the reply's text; the runner's budget is
// an hour, so the answer is the HTTP response itself.
func slashReply(t *testing.T, srv *httptest.Server, ch, text string) string {
	t.Helper()
	answer := postCommand(t, srv, commandBody(ch, "UMANAGER", text, ""))
	return allText(blocksOf(t, answer))
}

// TestSubscribeWhereTheBotIsNot checks that a subscription made in a channel the bot is not in says so and how
// to fix it, through the real slack-go client asking conversations.info of a local Slack API, and that a channel
// delivery stopped for shows why and since when in its own /papers sources.
func TestSubscribeWhereTheBotIsNot(t *testing.T) {
	f := newFakeSlack(t)
	f.notMember["COUT"] = true
	st := newTestStore(t)
	cmds := &command.Commander{Store: st, Now: func() time.Time { return testNow }}
	s := newTestSlack(t, f, ModeHTTP, cmds, "UMANAGER")
	cmds.Access = s
	s.runner = newRunner(time.Hour)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	defer s.runner.Drain()

	t.Run("member", func(t *testing.T) {
		got := slashReply(t, srv, "CIN", "subscribe eeg")
		if !strings.Contains(got, "This channel now follows eeg") || strings.Contains(got, "/invite") {
			t.Errorf("reply in a channel the bot is in:\n%s", got)
		}
	})
	t.Run("not a member", func(t *testing.T) {
		got := slashReply(t, srv, "COUT", "subscribe eeg")
		for _, want := range []string{"This channel now follows eeg", "cannot post in this channel (not_in_channel)", "/invite @paperboy"} {
			if !strings.Contains(got, want) {
				t.Errorf("reply lacks %q:\n%s", want, got)
			}
		}
	})
	t.Run("a look-up does not ask", func(t *testing.T) {
		f.mu.Lock()
		before := f.infoCalls
		f.mu.Unlock()
		if got := slashReply(t, srv, "COUT", "list"); strings.Contains(got, "/invite") {
			t.Errorf("list warns about posting:\n%s", got)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.infoCalls != before {
			t.Errorf("list called conversations.info %d times", f.infoCalls-before)
		}
	})

	// Delivery stopped for the channel an hour ago, after chat.postMessage answered not_in_channel.
	out := channel.Ref{Platform: "slack", ID: "COUT"}
	blockedAt := testNow.Add(-time.Hour)
	f.errCode["COUT"] = "not_in_channel"
	_, sendErr := s.Send(context.Background(), bot.Message{Channel: out, Cards: []bot.Card{{Paper: testkit.SamplePapers(testNow)[0]}}})
	if !errors.Is(sendErr, bot.ErrPermanent) {
		t.Fatalf("post to a channel the bot is not in: %v, want a permanent error", sendErr)
	}
	if err := st.BlockChannel(context.Background(), out, sendErr.Error(), blockedAt); err != nil {
		t.Fatal(err)
	}
	t.Run("sources while still not a member", func(t *testing.T) {
		got := slashReply(t, srv, "COUT", "sources")
		for _, want := range []string{"not been able to post in this channel since 2026-11-27 11:00 UTC (1h ago)", "not_in_channel", "/invite @paperboy"} {
			if !strings.Contains(got, want) {
				t.Errorf("sources lacks %q:\n%s", want, got)
			}
		}
		if c, err := st.Channel(context.Background(), out); err != nil || c.Blocked == "" {
			t.Errorf("the channel was unblocked though the bot is still not in it: %+v, %v", c, err)
		}
	})
	t.Run("sources in another channel", func(t *testing.T) {
		got := slashReply(t, srv, "CIN", "sources")
		if strings.Contains(got, "not_in_channel") || strings.Contains(got, "/invite") {
			t.Errorf("another channel's sources shows the stopped channel's details:\n%s", got)
		}
	})
	t.Run("sources once invited", func(t *testing.T) {
		f.mu.Lock()
		f.notMember["COUT"] = false
		f.mu.Unlock()
		got := slashReply(t, srv, "COUT", "sources")
		for _, want := range []string{"Posting in this channel had stopped since 2026-11-27 11:00 UTC (1h ago)", "not_in_channel", "This command resumed it"} {
			if !strings.Contains(got, want) {
				t.Errorf("sources lacks %q:\n%s", want, got)
			}
		}
		if c, err := st.Channel(context.Background(), out); err != nil || c.Blocked != "" {
			t.Errorf("the channel is still blocked: %+v, %v", c, err)
		}
	})
}

// TestManifestScopes checks that the app manifest users install from asks for the scopes CheckAccess needs (an
// app without them only learns that the bot is not in a channel from the first failed post) and those of a long
// export's file in the caller's direct messages.
func TestManifestScopes(t *testing.T) {
	raw, err := os.ReadFile("../../slack-manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	scopes := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "- "); ok {
			scopes[s] = true
		}
	}
	for _, want := range []string{"chat:write", "commands", "channels:read", "groups:read", "files:write", "im:write"} {
		if !scopes[want] {
			t.Errorf("slack-manifest.yml lacks the bot scope %s", want)
		}
	}
}

// TestMissingScopeLoggedOnce checks that an app installed without channels:read says what to fix, once, and
// that the commands still work.
func TestMissingScopeLoggedOnce(t *testing.T) {
	f := newFakeSlack(t)
	f.infoErr["C1"] = "missing_scope"
	lb := &logBuffer{}
	s, err := New(Options{BotToken: testBotToken, SigningSecret: testSecret, Mode: ModeHTTP, APIURL: f.apiURL(),
		Commands: &recorder{}, Logger: slog.New(slog.NewTextHandler(lb, nil)), HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		err := s.CheckAccess(context.Background(), channel.Ref{Platform: "slack", ID: "C1"})
		if err == nil || errors.Is(err, bot.ErrPermanent) {
			t.Fatalf("CheckAccess without the scope = %v, want an error that is not permanent", err)
		}
	}
	if n := strings.Count(lb.String(), "lacks the channels:read and groups:read scopes"); n != 1 {
		t.Errorf("the missing scope was logged %d times, want once:\n%s", n, lb.String())
	}
}
