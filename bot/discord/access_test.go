package discord

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestSubscribeWithoutPostPermissions checks that /papers subscribe in a channel where the bot lacks what a card
// needs (Discord sends the bot's permissions there with the interaction, app_permissions) says which permissions
// are missing and how to give them, instead of the papers silently never arriving.
func TestSubscribeWithoutPostPermissions(t *testing.T) {
	tests := []struct {
		name     string
		appPerms int64 // 0: Discord sent none
		want     string
	}{
		{"all it needs", discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionEmbedLinks, ""},
		{"administrator", discordgo.PermissionAdministrator, ""},
		{"in a thread", discordgo.PermissionViewChannel | discordgo.PermissionSendMessagesInThreads | discordgo.PermissionEmbedLinks, ""},
		{"none sent", 0, ""},
		{"no Send Messages", discordgo.PermissionViewChannel | discordgo.PermissionEmbedLinks, "missing permissions: Send Messages)"},
		// The permissions of Discord's own documentation example (442368): attach, embed, mention, emojis.
		{"docs example", 442368, "missing permissions: View Channel, Send Messages)"},
		{"no Embed Links", discordgo.PermissionViewChannel | discordgo.PermissionSendMessages, "missing permissions: Embed Links)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord(t)
			st := &memStore{papers: []paper.Paper{samplePaper()}}
			d := newTestDiscord(t, f, func(o *Options) { o.Commands = newCommander(st) })
			body := commandPayload(t, discordgo.InteractionApplicationCommand, "subscribe", manager,
				map[string]any{"type": 3, "name": "query", "value": "eeg"})
			if tt.appPerms != 0 {
				var p map[string]any
				if err := json.Unmarshal(body, &p); err != nil {
					t.Fatal(err)
				}
				p["app_permissions"] = strconv.FormatInt(tt.appPerms, 10)
				body, _ = json.Marshal(p)
			}
			w, resp := serve(t, d, signedRequest(body, testNow, testPrivateKey))
			d.runner.Drain()
			if w.Code != 200 || !strings.Contains(resp.Data.Content, "This channel now follows eeg") {
				t.Fatalf("status %d, reply %q", w.Code, resp.Data.Content)
			}
			warned := strings.Contains(resp.Data.Content, "cannot post in this channel")
			if warned != (tt.want != "") {
				t.Fatalf("reply %q: warned %v, want %v", resp.Data.Content, warned, tt.want != "")
			}
			if tt.want != "" && (!strings.Contains(resp.Data.Content, tt.want) || !strings.Contains(resp.Data.Content, "Edit Channel")) {
				t.Errorf("reply %q lacks %q and how to fix it", resp.Data.Content, tt.want)
			}
			if subs, _ := st.Subscriptions(t.Context(), channel.Ref{Platform: "discord", ID: fixtureChannel}); len(subs) != 1 {
				t.Errorf("the subscription was not kept: %v", subs)
			}
		})
	}
}
