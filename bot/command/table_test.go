package command

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

// TestTableIsWellFormed checks what the parser, the help and Discord rely on, for every entry.
func TestTableIsWellFormed(t *testing.T) {
	t.Parallel()
	verbs := map[string]string{}
	for _, s := range Subcommands() {
		t.Run(s.Name, func(t *testing.T) {
			for _, v := range append([]string{s.Name}, s.Aliases...) {
				if other, dup := verbs[v]; dup {
					t.Errorf("verb %q also names %s", v, other)
				}
				verbs[v] = s.Name
			}
			if s.Usage == "" || s.Help == "" || s.Description == "" || s.run == nil {
				t.Errorf("usage %q, help %q, description %q, handler set %v: all are needed", s.Usage, s.Help, s.Description, s.run != nil)
			}
			if (s.Access == Managers) != (s.Refusal != "") {
				t.Errorf("access %v with refusal %q", s.Access, s.Refusal)
			}
			optional := false
			for i, o := range s.Options {
				if o.Name == "" || o.Description == "" {
					t.Errorf("option %d: name %q, description %q", i, o.Name, o.Description)
				}
				if o.Required && optional {
					t.Errorf("required option %s after an optional one", o.Name)
				}
				optional = optional || !o.Required
				if o.Rest && i != len(s.Options)-1 {
					t.Errorf("option %s takes the rest of the line but is not the last", o.Name)
				}
				switch o.Type {
				case String:
					if o.MaxLength < 1 || o.Min != 0 || o.Max != 0 {
						t.Errorf("string option %s: max length %d, bounds %d..%d", o.Name, o.MaxLength, o.Min, o.Max)
					}
				case Integer:
					if o.Min > o.Max || len(o.Choices) > 0 || o.Rest {
						t.Errorf("integer option %s: bounds %d..%d, choices %v, rest %v", o.Name, o.Min, o.Max, o.Choices, o.Rest)
					}
				default:
					t.Errorf("option %s of type %d", o.Name, o.Type)
				}
				if len(o.Choices) > 0 && o.Autocomplete() {
					t.Errorf("option %s has both choices and autocomplete", o.Name)
				}
			}
		})
	}
}

// TestHelpListsEveryEntry: the help is generated from the table, in its order, and keeps its wording.
func TestHelpListsEveryEntry(t *testing.T) {
	t.Parallel()
	help := helpReply()
	if !help.Private {
		t.Error("help must be private")
	}
	var at []int
	for _, s := range Subcommands() {
		i := slices.Index(help.Text, s.helpLine())
		if i < 0 {
			t.Errorf("help lacks %s: %q", s.Name, s.helpLine())
		}
		at = append(at, i)
	}
	if !slices.IsSorted(at) {
		t.Errorf("help lines at %v, want the table's order", at)
	}
	for _, line := range []string{
		"/papers <query> [sort:relevant]: up to 5 recent papers matching the query, shown only to you (sort:relevant: by relevance and this channel's votes)",
		"/papers feedback: this channel's votes of the last 30 days, and suggestions learned from them",
		"/papers saved [page]: your reading list, newest first, shown only to you",
		"/papers export bibtex [saved | <query>]: BibTeX of your reading list or of a query's papers, shown only to you",
		"/papers forget-me: delete your votes and your reading list",
		"/papers subscribe <query>: post new matching papers in this channel (channel managers)",
		"/papers unsubscribe <number or query>: stop one (channel managers)",
		"/papers list: what this channel follows",
		"/papers digest off | daily HH:MM [TZ] | weekly DAY HH:MM [TZ]: one message a day or week instead of one per paper (channel managers)",
		"/papers trends [weeks]: a chart of this channel's papers per week per subscription and the rising terms (default 8 weeks, at most 52)",
		"/papers backfill <days>: post the last days' matching papers here as one digest (channel managers)",
		"/papers sources: feeds, last poll, errors",
	} {
		if !slices.Contains(help.Text, line) {
			t.Errorf("help lost %q", line)
		}
	}
	if last := help.Text[len(help.Text)-1]; !strings.HasPrefix(last, "Examples: /papers subscribe eeg -survey") {
		t.Errorf("help ends with %q, want the examples", last)
	}
}

func TestParseText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text    string
		sub     string
		args    Args
		badArgs bool
	}{
		{"", "help", Args{}, false},
		{"  help  ", "help", Args{}, false},
		{"eeg transformer", "search", Args{"query": "eeg transformer"}, false},
		{`"foundation model" -survey`, "search", Args{"query": `"foundation model" -survey`}, false},
		{"search eeg -survey", "search", Args{"query": "eeg -survey"}, false},
		{"s eeg", "search", Args{"query": "eeg"}, false},
		{"search", "search", Args{}, false},
		{"SUBSCRIBE eeg  -survey", "subscribe", Args{"query": "eeg  -survey"}, false},
		{"sub eeg", "subscribe", Args{"query": "eeg"}, false},
		{"unsub 2", "unsubscribe", Args{"subscription": "2"}, false},
		{`unsubscribe "foundation model"`, "unsubscribe", Args{"subscription": `"foundation model"`}, false},
		{"ls", "list", Args{}, false},
		{"list please", "list", Args{}, false},
		{"status", "sources", Args{}, false},
		{"digest off", "digest", Args{"mode": "off"}, false},
		{"digest OFF", "digest", Args{"mode": "off"}, false},
		{"digest daily 09:00", "digest", Args{"mode": "daily", "time": "09:00"}, false},
		{"digest daily\t09:00  Europe/Berlin", "digest", Args{"mode": "daily", "time": "09:00", "timezone": "Europe/Berlin"}, false},
		{"digest", "digest", Args{}, false},
		{"digest weekly", "digest", Args{"mode": "weekly"}, false},
		{"digest hourly", "digest", nil, true},
		// The text grammar fills the options in order; the handler puts a weekly digest's values in place.
		{"digest weekly monday 09:00 Europe/Berlin", "digest", Args{"mode": "weekly", "time": "monday", "timezone": "09:00", "day": "Europe/Berlin"}, false},
		{"digest daily 09:00 Europe/Berlin again", "digest", Args{"mode": "daily", "time": "09:00", "timezone": "Europe/Berlin", "day": "again"}, false},
		{"digest weekly monday 09:00 Europe/Berlin again", "digest", nil, true},
		{"trends", "trends", Args{}, false},
		{"trends 52", "trends", Args{"weeks": int64(52)}, false},
		{"trends 53", "trends", nil, true},
		{"backfill 7", "backfill", Args{"days": int64(7)}, false},
		{"backfill 30", "backfill", Args{"days": int64(30)}, false},
		{"backfill", "backfill", Args{}, false},
		{"backfill 0", "backfill", nil, true},
		{"backfill 31", "backfill", nil, true},
		{"backfill seven", "backfill", nil, true},
		{"backfill 7 days", "backfill", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			sub, args, err := parse(bot.Request{Text: tt.text})
			if sub.Name != tt.sub {
				t.Errorf("subcommand %q, want %q", sub.Name, tt.sub)
			}
			if tt.badArgs {
				if err == nil {
					t.Errorf("args %v accepted", args)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if len(args) != len(tt.args) {
				t.Errorf("args %v, want %v", args, tt.args)
			}
			for k, v := range tt.args {
				if args[k] != v {
					t.Errorf("%s = %#v, want %#v", k, args[k], v)
				}
			}
		})
	}
}

// TestTypedInvocation runs commands as Discord hands them over: integer options arrive as int64 and are used as
// such, and values that do not fit the table are refused like bad text.
func TestTypedInvocation(t *testing.T) {
	ctx := context.Background()
	ch := channel.Ref{Platform: "discord", ID: "42"}
	c, _ := newTestCommander(t)
	if r, err := c.Handle(ctx, bot.Request{Channel: ch, CanManage: true, Text: "subscribe eeg"}); err != nil || r.Private {
		t.Fatalf("subscribe: %+v, %v", r, err)
	}
	do := func(manager bool, sub string, opts map[string]any) string {
		t.Helper()
		r, err := c.Handle(ctx, bot.Request{Channel: ch, CanManage: manager, Invocation: &bot.Invocation{Subcommand: sub, Options: opts},
			Text: "help"}) // ignored: the invocation wins
		if err != nil {
			t.Fatalf("%s %v: %v", sub, opts, err)
		}
		return strings.Join(r.Text, "\n")
	}
	tests := []struct {
		name    string
		manager bool
		sub     string
		opts    map[string]any
		want    string
	}{
		{"integer as int64", true, "backfill", map[string]any{"days": int64(30)}, "from the last 30 days"},
		{"integer as text is not an integer", true, "backfill", map[string]any{"days": "30"}, "Usage: /papers backfill <days>"},
		{"integer out of range", true, "backfill", map[string]any{"days": int64(31)}, "Usage: /papers backfill <days>, with 1 to 30 days"},
		{"missing integer", true, "backfill", nil, "Usage: /papers backfill"},
		{"refused before the arguments are looked at", false, "backfill", map[string]any{"days": int64(99)}, "Only people who can manage this channel may backfill"},
		{"string option", false, "search", map[string]any{"query": "eeg -survey"}, "papers matching eeg -survey"},
		{"empty string is no value", false, "search", map[string]any{"query": "  "}, "What should I look for?"},
		{"choice", true, "digest", map[string]any{"mode": "daily", "time": "09:00", "timezone": "Europe/Berlin"}, "one digest a day at 09:00 Europe/Berlin"},
		{"not a choice", true, "digest", map[string]any{"mode": "hourly"}, "Usage: /papers digest off"},
		{"weekly, named", true, "digest", map[string]any{"mode": "weekly", "day": "Monday", "time": "09:00", "timezone": "Europe/Berlin"}, "one digest a week, on Monday at 09:00 Europe/Berlin"},
		{"weekly without a day", true, "digest", map[string]any{"mode": "weekly", "time": "09:00"}, "Usage: /papers digest off"},
		{"daily with a day", true, "digest", map[string]any{"mode": "daily", "time": "09:00", "day": "monday"}, "Usage: /papers digest off"},
		{"unknown option", false, "list", map[string]any{"verbose": "yes"}, "Usage: /papers list"},
		{"unknown subcommand", false, "frobnicate", nil, "Unknown command"},
		{"no options", false, "list", nil, "1. eeg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := do(tt.manager, tt.sub, tt.opts); !strings.Contains(got, tt.want) {
				t.Errorf("reply %q, want %q", got, tt.want)
			}
		})
	}
}

func TestComplete(t *testing.T) {
	ctx := context.Background()
	ch := channel.Ref{Platform: "discord", ID: "42"}
	c, _ := newTestCommander(t)
	long := strings.Repeat("verylongterm ", 10)
	for _, q := range []string{"eeg -survey", "snn", long} {
		if r, err := c.Handle(ctx, bot.Request{Channel: ch, CanManage: true, Text: "subscribe " + q}); err != nil || r.Private {
			t.Fatalf("subscribe %q: %+v, %v", q, r, err)
		}
	}
	longName := "3. " + strings.TrimSpace(bot.Truncate(strings.TrimSpace(long), MaxChoiceLen-3))
	tests := []struct {
		sub, option, typed string
		want               []Choice
	}{
		{"unsubscribe", "subscription", "", []Choice{{"1. eeg -survey", "eeg -survey"}, {"2. snn", "snn"}, {longName, "3"}}},
		{"unsubscribe", "subscription", "EEG", []Choice{{"1. eeg -survey", "eeg -survey"}}},
		{"unsubscribe", "subscription", "2", []Choice{{"2. snn", "snn"}}},
		{"unsubscribe", "subscription", "nothing", nil},
		{"search", "query", "ee", nil},
		{"frobnicate", "x", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.sub+" "+tt.typed, func(t *testing.T) {
			req := bot.Request{Channel: ch, Invocation: &bot.Invocation{Subcommand: tt.sub}}
			got, err := c.Complete(ctx, req, tt.option, tt.typed)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("choices %q\nwant %q", got, tt.want)
			}
			for _, ch := range got {
				if len([]rune(ch.Name)) > MaxChoiceLen || len([]rune(ch.Value)) > MaxChoiceLen {
					t.Errorf("choice over %d characters: %q", MaxChoiceLen, ch)
				}
			}
		})
	}
	t.Run("from text", func(t *testing.T) {
		got, err := c.Complete(ctx, bot.Request{Channel: ch, Text: "unsub sn"}, "subscription", "sn")
		if err != nil || len(got) != 1 || got[0].Value != "snn" {
			t.Errorf("choices %q, %v", got, err)
		}
	})
}

// TestBackfillPromisesConfiguredDigestCards: the reply promises as many papers as the digest will show.
func TestBackfillPromisesConfiguredDigestCards(t *testing.T) {
	for _, tt := range []struct {
		cards int
		want  string
	}{
		{3, "the best 3 shown"},
		{0, "the best 10 shown"}, // a Commander built without the setting uses the sender's default
	} {
		t.Run(tt.want, func(t *testing.T) {
			ctx := context.Background()
			c, _ := newTestCommander(t)
			c.DigestCards = tt.cards
			ch := channel.Ref{Platform: "slack", ID: "C1"}
			for _, text := range []string{"subscribe eeg", "backfill 30"} {
				r, err := c.Handle(ctx, bot.Request{Channel: ch, CanManage: true, Text: text})
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(r.Text, "\n"); text == "backfill 30" && !strings.Contains(got, tt.want) {
					t.Errorf("backfill reply %q, want %q", got, tt.want)
				}
			}
		})
	}
}
