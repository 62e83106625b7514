package command

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

// stubAccess answers CheckAccess from a map: a channel's error, nil for the others; it counts the calls.
type stubAccess struct {
	mu    sync.Mutex
	errs  map[channel.Ref]error
	calls int
}

func (s *stubAccess) CheckAccess(_ context.Context, ch channel.Ref) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.errs[ch]
}

func (s *stubAccess) set(ch channel.Ref, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs[ch] = err
}

func TestAccessNotes(t *testing.T) {
	ctx := context.Background()
	in := channel.Ref{Platform: "slack", ID: "CIN"}
	out := channel.Ref{Platform: "slack", ID: "COUT"}
	unknown := channel.Ref{Platform: "slack", ID: "CUNKNOWN"}
	notIn := &bot.PermanentError{Reason: "not_in_channel", Fix: "type /invite @paperboy in this channel"}
	access := &stubAccess{errs: map[channel.Ref]error{out: notIn, unknown: errors.New("conversations.info: missing_scope")}}
	c, st := newTestCommander(t)
	c.Access = access
	do := func(ch channel.Ref, text string) string {
		t.Helper()
		r, err := c.Handle(ctx, bot.Request{Channel: ch, User: "U1", CanManage: true, Text: text})
		if err != nil {
			t.Fatalf("%q in %s: %v", text, ch, err)
		}
		return strings.Join(r.Text, "\n")
	}
	const warn = "cannot post in this channel (not_in_channel)"
	tests := []struct {
		name string
		ch   channel.Ref
		text string
		warn bool
	}{
		{"subscribe where the bot is", in, "subscribe eeg", false},
		{"subscribe where it is not", out, "subscribe eeg", true},
		{"subscribe where it cannot tell", unknown, "subscribe eeg", false},
		{"backfill where it is not", out, "backfill 3", true},
		{"retry where it is not", out, "retry", true},
		{"a look-up is not warned", out, "list", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(tt.ch, tt.text)
			if strings.Contains(got, warn) != tt.warn || tt.warn && !strings.Contains(got, "/invite @paperboy") {
				t.Errorf("%q in %s, warned %v:\n%s", tt.text, tt.ch, tt.warn, got)
			}
		})
	}

	// A channel stopped by a permanent error explains itself in its own /papers sources.
	blockedAt := testNow.Add(-26 * time.Hour)
	if err := st.BlockChannel(ctx, out, `post to channel "COUT": not_in_channel`, blockedAt); err != nil {
		t.Fatal(err)
	}
	if err := st.BlockChannel(ctx, unknown, "channel_not_found", blockedAt); err != nil {
		t.Fatal(err)
	}
	t.Run("still not in the channel", func(t *testing.T) {
		got := do(out, "sources")
		want := `The bot has not been able to post in this channel since 2026-11-26 10:00 UTC (26h ago): post to channel "COUT": not_in_channel.`
		if !strings.Contains(got, want) || !strings.Contains(got, "/invite @paperboy") {
			t.Errorf("sources:\n%s\nwant %q and the fix", got, want)
		}
		if strings.Count(got, "not_in_channel") != 1 {
			t.Errorf("the reason is given more than once:\n%s", got)
		}
		if ch, _ := st.Channel(ctx, out); ch.Blocked == "" {
			t.Error("the channel was resumed though the bot still cannot post there")
		}
	})
	t.Run("other channels only count it", func(t *testing.T) {
		if got := do(in, "sources"); strings.Contains(got, "not_in_channel") || strings.Contains(got, "COUT") {
			t.Errorf("another channel's sources names the stopped channel:\n%s", got)
		}
	})
	t.Run("resumed when the platform cannot tell", func(t *testing.T) {
		got := do(unknown, "help")
		if want := "Posting in this channel had stopped since 2026-11-26 10:00 UTC (26h ago): channel_not_found. This command resumed it"; !strings.Contains(got, want) {
			t.Errorf("help:\n%s\nwant %q", got, want)
		}
		if ch, _ := st.Channel(ctx, unknown); ch.Blocked != "" {
			t.Errorf("still blocked: %+v", ch)
		}
		if got := do(unknown, "help"); strings.Contains(got, "had stopped") {
			t.Errorf("the note repeats once resumed:\n%s", got)
		}
	})
	t.Run("resumed once invited", func(t *testing.T) {
		access.set(out, nil)
		got := do(out, "sources")
		if !strings.Contains(got, "Posting in this channel had stopped since 2026-11-26 10:00 UTC (26h ago)") {
			t.Errorf("sources:\n%s", got)
		}
		if ch, _ := st.Channel(ctx, out); ch.Blocked != "" {
			t.Errorf("still blocked: %+v", ch)
		}
	})
}

// TestCannotPostSentWithTheCommand checks the platform's own word sent with a command (Discord's app_permissions)
// the same way: a stopped channel stays stopped and says why while the bot still cannot post, without asking
// Access.
func TestCannotPostSentWithTheCommand(t *testing.T) {
	ctx := context.Background()
	ch := channel.Ref{Platform: "discord", ID: "942872224254292018"}
	c, st := newTestCommander(t)
	access := &stubAccess{errs: map[channel.Ref]error{}}
	c.Access = access
	if err := st.BlockChannel(ctx, ch, "50001 Missing Access", testNow.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	missing := &bot.PermanentError{Reason: "missing permissions: View Channel", Fix: "give the bot View Channel"}
	r, err := c.Handle(ctx, bot.Request{Channel: ch, CanManage: true, Text: "sources", CannotPost: missing})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(r.Text, "\n")
	if !strings.Contains(got, "since 2026-11-27 11:00 UTC (1h ago): 50001 Missing Access") || !strings.Contains(got, "give the bot View Channel") {
		t.Errorf("sources:\n%s", got)
	}
	if ch, _ := st.Channel(ctx, ch); ch.Blocked == "" {
		t.Error("resumed though the platform said the bot cannot post")
	}
	if access.calls != 0 {
		t.Errorf("Access asked %d times though the command said it", access.calls)
	}
}
