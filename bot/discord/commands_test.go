package discord

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot/command"
)

func TestCommandDefinitionGolden(t *testing.T) {
	b, err := json.Marshal(CommandDefinition())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "papers_command.golden.json", b)
}

// TestCommandDefinitionLimits checks Discord's rules for chat commands, which it enforces with a 400 at
// registration: names 1-32 lowercase, descriptions 1-100, at most 25 options and choices, choice names 1-100.
func TestCommandDefinitionLimits(t *testing.T) {
	nameRe := regexp.MustCompile(`^[-_\p{Ll}\p{N}]{1,32}$`)
	var check func(path string, name, desc string, opts []*discordgo.ApplicationCommandOption)
	check = func(path, name, desc string, opts []*discordgo.ApplicationCommandOption) {
		t.Run(path, func(t *testing.T) {
			if !nameRe.MatchString(name) {
				t.Errorf("name %q", name)
			}
			if n := utf8.RuneCountInString(desc); n < 1 || n > 100 {
				t.Errorf("description has %d characters: %q", n, desc)
			}
			if len(opts) > 25 {
				t.Errorf("%d options", len(opts))
			}
			seenOptional := false
			for _, o := range opts {
				if len(o.Choices) > 25 || (len(o.Choices) > 0 && o.Autocomplete) {
					t.Errorf("%s: %d choices, autocomplete %v", o.Name, len(o.Choices), o.Autocomplete)
				}
				for _, c := range o.Choices {
					if n := utf8.RuneCountInString(c.Name); n < 1 || n > 100 {
						t.Errorf("choice %q", c.Name)
					}
				}
				// Required options must come before optional ones.
				if o.Type != discordgo.ApplicationCommandOptionSubCommand {
					if !o.Required {
						seenOptional = true
					} else if seenOptional {
						t.Errorf("required option %s after an optional one", o.Name)
					}
				}
				check(path+"/"+o.Name, o.Name, o.Description, o.Options)
			}
		})
	}
	def := CommandDefinition()
	check(def.Name, def.Name, def.Description, def.Options)
	// Which subcommands, in which order, is the command table's: TestCommandDefinitionFollowsTable.
}

func TestRegisterCommands(t *testing.T) {
	tests := []struct {
		name, appID, guild, wantPath string
		wantCalls                    int
	}{
		{"global", "424242", "", "/api/v10/applications/424242/commands", 1},
		{"one guild for development", "424242", "777", "/api/v10/applications/424242/guilds/777/commands", 1},
		{"application id looked up from the token", "", "", "/api/v10/applications/424242/commands", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord(t)
			d := newTestDiscord(t, f, func(o *Options) { o.ApplicationID = tt.appID; o.GuildID = tt.guild })
			if err := d.RegisterCommands(context.Background()); err != nil {
				t.Fatalf("RegisterCommands: %v", err)
			}
			reqs := f.requestsTo("/api/v10/")
			if len(reqs) != tt.wantCalls {
				t.Fatalf("%d requests, want %d", len(reqs), tt.wantCalls)
			}
			put := reqs[len(reqs)-1]
			if put.Method != "PUT" || put.Path != tt.wantPath {
				t.Fatalf("%s %s, want PUT %s", put.Method, put.Path, tt.wantPath)
			}
			want, _ := json.Marshal([]*discordgo.ApplicationCommand{CommandDefinition()})
			if string(put.Body) != string(want) {
				t.Errorf("registered %s\nwant %s", put.Body, want)
			}
		})
	}
}

func TestInviteURL(t *testing.T) {
	got := InviteURL("424242")
	want := "https://discord.com/oauth2/authorize?client_id=424242&permissions=52224&scope=bot+applications.commands"
	if got != want {
		t.Errorf("InviteURL = %s\nwant %s", got, want)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no token", Options{Mode: ModeGateway}},
		{"unknown mode", Options{Token: "t", Mode: "carrier-pigeon"}},
		{"http without listen", Options{Token: "t", Mode: ModeHTTP, PublicKey: testPublicKeyHex}},
		{"http without key", Options{Token: "t", Mode: ModeHTTP, Listen: ":0"}},
		{"key not hex", Options{Token: "t", Mode: ModeHTTP, Listen: ":0", PublicKey: "xyz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil {
				t.Error("New accepted bad options")
			}
		})
	}
}

// TestRunHTTP: Run registers the command, serves, and returns nil when ctx ends.
func TestRunHTTP(t *testing.T) {
	f := newFakeDiscord(t)
	d := newTestDiscord(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	for len(f.requestsTo("/api/v10/applications/")) == 0 {
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		default:
		}
		// Yield until the registration arrived; this waits for an event, it asserts no duration.
		waitALittle()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after ctx ended", err)
	}
}

func waitALittle() { time.Sleep(time.Millisecond) }

// TestCommandDefinitionFollowsTable: every subcommand of the command table, and only those, is in the definition,
// in the table's order, with its options as the table types them.
func TestCommandDefinitionFollowsTable(t *testing.T) {
	def := CommandDefinition()
	table := command.Subcommands()
	if len(def.Options) != len(table) {
		t.Fatalf("%d subcommands defined, the table has %d", len(def.Options), len(table))
	}
	types := map[command.OptionType]discordgo.ApplicationCommandOptionType{
		command.String: discordgo.ApplicationCommandOptionString, command.Integer: discordgo.ApplicationCommandOptionInteger,
	}
	for i, s := range table {
		got := def.Options[i]
		t.Run(s.Name, func(t *testing.T) {
			if got.Name != s.Name || got.Type != discordgo.ApplicationCommandOptionSubCommand {
				t.Fatalf("subcommand %d is %s (type %d)", i, got.Name, got.Type)
			}
			if !strings.HasPrefix(got.Description, s.Description) || strings.HasSuffix(got.Description, "(Manage Channels)") != (s.Access == command.Managers) {
				t.Errorf("description %q for access %v", got.Description, s.Access)
			}
			if len(got.Options) != len(s.Options) {
				t.Fatalf("%d options, the table has %d", len(got.Options), len(s.Options))
			}
			for j, o := range s.Options {
				g := got.Options[j]
				if g.Name != o.Name || g.Type != types[o.Type] || g.Required != o.Required || g.Autocomplete != o.Autocomplete() || len(g.Choices) != len(o.Choices) {
					t.Errorf("option %d: %+v, table %+v", j, g, o)
				}
			}
		})
	}
}
