package discord

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
)

// TestReadingListPerServer: one Discord account clicking Save in two servers and in a DM with the bot keeps
// three reading lists, each shown only where it was made, and /papers forget-me in one leaves the other's list and votes. Clicks and commands
// are signed interactions through the HTTP endpoint into a real store; the server is the payload's guild_id.
func TestReadingListPerServer(t *testing.T) {
	f := newFakeDiscord(t)
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p1 := samplePaper()
	p2 := samplePaper()
	p2.Key, p2.ArxivID, p2.Title, p2.URL = "arxiv:2605.13302", "2605.13302", "A second paper on EEG", "https://arxiv.org/abs/2605.13302"
	if _, err := st.Ingest(ctx, "arxiv", []paper.Paper{p1, p2}, nil, testNow); err != nil {
		t.Fatal(err)
	}
	const chanG1, chanG2, chanDM, user = buttonChannel, "745027906669510668", "845027906669510669", "1001"
	subs := &memStore{}
	for _, c := range []string{chanG1, chanG2, chanDM} {
		if _, err := subs.AddSubscription(ctx, channel.Subscription{Channel: ch(c), Query: "eeg", Canonical: "eeg"}); err != nil {
			t.Fatal(err)
		}
	}
	now := func() time.Time { return testNow }
	d := newTestDiscord(t, f, func(o *Options) {
		o.Commands = &command.Commander{Store: subs, Feedback: st, Now: now}
		o.Clicks = &command.Clicks{Feedback: st, Channels: subs, Now: now}
	})
	inGuild := func(t *testing.T, payload []byte, guild, chID string) []byte {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		m["channel_id"] = chID
		m["member"].(map[string]any)["user"].(map[string]any)["id"] = user
		if guild == "" {
			// A DM: Discord sends user instead of member, and no guild_id.
			m["user"] = m["member"].(map[string]any)["user"]
			delete(m, "member")
			delete(m, "guild_id")
		} else {
			m["guild_id"] = guild
		}
		b, _ := json.Marshal(m)
		return b
	}
	n := 0
	click := func(guild, chID, action string, p paper.Paper) {
		t.Helper()
		n++
		body := inGuild(t, buttonPayload(t, "84646263913460"+strings.Repeat("1", n), chID, user, action, p), guild, chID)
		if code, _ := serveClick(t, d, signedRequest(body, testNow, testPrivateKey)); code != http.StatusOK {
			t.Fatalf("click: status %d", code)
		}
	}
	run := func(guild, chID, sub string) string {
		t.Helper()
		body := inGuild(t, commandPayload(t, discordgo.InteractionApplicationCommand, sub, member), guild, chID)
		w, resp := serve(t, d, signedRequest(body, testNow, testPrivateKey))
		if w.Code != http.StatusOK || resp.Data.Flags&int(discordgo.MessageFlagsEphemeral) == 0 {
			t.Fatalf("/papers %s in %s: status %d, %+v; want an ephemeral answer", sub, guild, w.Code, resp)
		}
		return resp.Data.Content
	}
	click("G1", chanG1, command.ActionSave, p1)
	click("G1", chanG1, command.ActionRelevant, p1)
	click("G2", chanG2, command.ActionSave, p2)
	click("G2", chanG2, command.ActionRelevant, p2)
	click("", chanDM, command.ActionSave, p2)

	if got := run("G1", chanG1, "saved"); !strings.Contains(got, p1.URL) || strings.Contains(got, p2.URL) {
		t.Errorf("G1's list:\n%s\nwant only %s", got, p1.URL)
	}
	if got := run("G2", chanG2, "saved"); !strings.Contains(got, p2.URL) || strings.Contains(got, p1.URL) {
		t.Errorf("G2's list:\n%s\nwant only %s", got, p2.URL)
	}
	if got := run("", chanDM, "saved"); !strings.Contains(got, p2.URL) || strings.Contains(got, p1.URL) || !strings.Contains(got, "1 paper") {
		t.Errorf("the DM's list:\n%s\nwant only %s", got, p2.URL)
	}
	if got := run("G1", chanG1, "forget-me"); !strings.Contains(got, "Deleted your 1 vote and the 1 paper of your reading list in this Discord server") {
		t.Errorf("forget-me in G1: %q", got)
	}
	if got := run("G1", chanG1, "saved"); !strings.Contains(got, "empty") {
		t.Errorf("G1's list after forget-me:\n%s", got)
	}
	if got := run("G2", chanG2, "saved"); !strings.Contains(got, p2.URL) {
		t.Errorf("G2's list after forget-me in G1:\n%s", got)
	}
	if got := run("", chanDM, "saved"); !strings.Contains(got, p2.URL) {
		t.Errorf("the DM's list after forget-me in G1:\n%s", got)
	}
	if v, err := st.ChannelVotes(ctx, ch(chanG2), time.Time{}); err != nil || len(v) != 1 || v[0].User != user {
		t.Errorf("votes in G2's channel after forget-me in G1: %+v, %v; want %s's", v, err, user)
	}
}
