package command

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/testkit"

	"github.com/paperboy-bot/paperboy/bot/store"
)

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// newTestCommander returns a Commander over a real store holding a few papers.
func newTestCommander(t *testing.T) (*Commander, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Ingest(ctx, "arxiv", testkit.SamplePapers(testNow), nil, testNow); err != nil {
		t.Fatal(err)
	}
	return &Commander{Store: st, Now: func() time.Time { return testNow }}, st
}

func TestCommands(t *testing.T) {
	ctx := context.Background()
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	c, st := newTestCommander(t)
	do := func(manager bool, text string) bot.Reply {
		t.Helper()
		r, err := c.Handle(ctx, bot.Request{Channel: ch, User: "U1", CanManage: manager, Text: text})
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		return r
	}
	text := func(r bot.Reply) string { return strings.Join(r.Text, "\n") }

	t.Run("search is private, newest first, explains", func(t *testing.T) {
		r := do(false, "eeg")
		if !r.Private || len(r.Cards) != 3 {
			t.Fatalf("reply %+v, want 3 private cards", r)
		}
		if r.Cards[0].Paper.Key != "arxiv:2611.00001" || r.Cards[2].Paper.Key != "arxiv:2610.00004" {
			t.Errorf("order: %s, %s, %s", r.Cards[0].Paper.Key, r.Cards[1].Paper.Key, r.Cards[2].Paper.Key)
		}
		if strings.Join(r.Cards[0].Matched, ",") != "eeg" {
			t.Errorf("matched = %v", r.Cards[0].Matched)
		}
	})
	t.Run("search with the query language", func(t *testing.T) {
		r := do(false, "search eeg -survey")
		for _, card := range r.Cards {
			if card.Paper.Key == "arxiv:2611.00002" {
				t.Errorf("-survey did not exclude the survey")
			}
		}
		if r := do(false, "snn"); len(r.Cards) != 1 {
			t.Errorf("snn should find SNNs: %+v", r)
		}
	})
	t.Run("non-manager cannot subscribe", func(t *testing.T) {
		r := do(false, "subscribe eeg")
		if !r.Private || !strings.Contains(text(r), "manage this channel") {
			t.Errorf("reply %q", text(r))
		}
		if subs, _ := st.Subscriptions(ctx, ch); len(subs) != 0 {
			t.Errorf("refused subscribe stored %v", subs)
		}
	})
	t.Run("invalid query says where", func(t *testing.T) {
		r := do(true, `subscribe "foundation model`)
		if !r.Private || !strings.Contains(text(r), "not valid") || !strings.Contains(text(r), "^") {
			t.Errorf("reply %q", text(r))
		}
		if subs, _ := st.Subscriptions(ctx, ch); len(subs) != 0 {
			t.Errorf("invalid subscribe stored %v", subs)
		}
	})
	t.Run("subscribe previews the last 7 days", func(t *testing.T) {
		r := do(true, "subscribe EEG -survey")
		if r.Private || !strings.Contains(text(r), "follows eeg -survey") || !strings.Contains(text(r), "would have matched 1 paper,") {
			t.Errorf("reply %q", text(r))
		}
		if len(r.Cards) != 1 || r.Cards[0].Paper.Key != "arxiv:2611.00001" {
			t.Errorf("examples %+v", r.Cards)
		}
		if r := do(true, "sub eeg  -survey"); !strings.Contains(text(r), "already follows") {
			t.Errorf("duplicate: %q", text(r))
		}
		do(true, `sub "foundation model"`)
	})
	t.Run("list numbers the subscriptions", func(t *testing.T) {
		r := do(false, "list")
		got := text(r)
		if !strings.Contains(got, "1. eeg -survey  (1)") || !strings.Contains(got, `2. "foundation model"  (1)`) {
			t.Errorf("list:\n%s", got)
		}
	})
	t.Run("unsubscribe by number and by query", func(t *testing.T) {
		if r := do(false, "unsubscribe 1"); !strings.Contains(text(r), "manage this channel") {
			t.Errorf("non-manager unsubscribe: %q", text(r))
		}
		if r := do(true, "unsubscribe 7"); !strings.Contains(text(r), "no subscription number 7") {
			t.Errorf("bad number: %q", text(r))
		}
		if r := do(true, "unsubscribe 1"); !strings.Contains(text(r), "no longer follows eeg -survey") {
			t.Errorf("by number: %q", text(r))
		}
		if r := do(true, `unsubscribe "Foundation Model"`); !strings.Contains(text(r), "no longer follows") {
			t.Errorf("by query: %q", text(r))
		}
		if subs, _ := st.Subscriptions(ctx, ch); len(subs) != 0 {
			t.Errorf("left %v", subs)
		}
	})
	t.Run("digest", func(t *testing.T) {
		if r := do(true, "digest daily 09:00 Europe/Berlin"); !strings.Contains(text(r), "09:00 Europe/Berlin") {
			t.Errorf("digest: %q", text(r))
		}
		if got, _ := st.Channel(ctx, ch); got.Mode != channel.ModeDigest || got.DigestTZ != "Europe/Berlin" {
			t.Errorf("stored %+v", got)
		}
		if r := do(true, "digest daily 9am Mars/Olympus"); !r.Private || !strings.Contains(text(r), "HH:MM") {
			t.Errorf("bad time: %q", text(r))
		}
		if r := do(true, "digest daily 09:00 Mars/Olympus"); !strings.Contains(text(r), "time zone") {
			t.Errorf("bad zone: %q", text(r))
		}
		if r := do(true, "digest daily 09:00 Europe/Berlin again"); !r.Error || !strings.Contains(text(r), "Usage: /papers digest") {
			t.Errorf("words left over: %q", text(r))
		}
		if r := do(true, "digest weekly monday 08:30 Europe/Berlin"); !strings.Contains(text(r), "one digest a week, on Monday at 08:30 Europe/Berlin") {
			t.Errorf("weekly: %q", text(r))
		}
		if got, _ := st.Channel(ctx, ch); got.Mode != channel.ModeDigest || got.DigestAt != "Mon 08:30" || got.DigestTZ != "Europe/Berlin" {
			t.Errorf("stored %+v", got)
		}
		if got, _ := st.Channel(ctx, ch); got.ModeString() != "weekly digest on Monday at 08:30 Europe/Berlin" {
			t.Errorf("mode %q", got.ModeString())
		}
		if r := do(true, "digest weekly someday 08:30"); !r.Error || !strings.Contains(text(r), "weekday") {
			t.Errorf("bad day: %q", text(r))
		}
		do(true, "digest off")
		if got, _ := st.Channel(ctx, ch); got.Mode != channel.ModeInstant {
			t.Errorf("stored %+v", got)
		}
	})
	t.Run("sources", func(t *testing.T) {
		if r := do(false, "sources"); !strings.Contains(text(r), "arxiv: last poll") {
			t.Errorf("sources: %q", text(r))
		}
	})
	t.Run("help", func(t *testing.T) {
		for _, in := range []string{"", "help"} {
			if r := do(false, in); !r.Private || !strings.Contains(text(r), "/papers subscribe") {
				t.Errorf("help for %q: %q", in, text(r))
			}
		}
	})
	t.Run("config subscriptions are managed by the config", func(t *testing.T) {
		cfgCh := channel.Ref{Platform: "discord", ID: "42"}
		if err := st.SyncConfigChannels(ctx, []channel.ConfigChannel{{Ref: cfgCh, Subscriptions: []channel.Subscription{{Query: "eeg", Canonical: "eeg"}}}}, testNow); err != nil {
			t.Fatal(err)
		}
		r, err := c.Handle(ctx, bot.Request{Channel: cfgCh, CanManage: true, Text: "unsubscribe 1"})
		if err != nil || !strings.Contains(text(r), "configuration file") {
			t.Errorf("reply %q, %v", text(r), err)
		}
		// Removing it from the config removes it from the store at the next start.
		if err := st.SyncConfigChannels(ctx, nil, testNow); err != nil {
			t.Fatal(err)
		}
		if subs, _ := st.Subscriptions(ctx, cfgCh); len(subs) != 0 {
			t.Errorf("config-removed subscription kept: %v", subs)
		}
	})
}
