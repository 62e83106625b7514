package command

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/trend"
)

// Access says who may run a subcommand.
type Access int

// Access levels. What "manage" means is the platform's decision, handed over as bot.Request.CanManage.
const (
	// Anyone in the channel.
	Anyone Access = iota
	// Managers of the channel only.
	Managers
)

// OptionType is the type of an option's value.
type OptionType int

// Option types. Values reach the handlers as string and int64.
const (
	String OptionType = iota + 1
	Integer
)

// Option is one argument of a subcommand.
type Option struct {
	Name string
	Type OptionType
	// Description is the option's description on Discord (1 to 100 characters).
	Description string
	// Required options come first. Discord enforces them; in the text grammar a missing one is left to the
	// handler, which answers with a reply specific to what is missing.
	Required bool
	// MaxLength bounds a string option on Discord.
	MaxLength int
	// Min and Max bound an integer option, both inclusive.
	Min, Max int64
	// Choices, when set, are the only values of a string option; text matches them case-insensitively.
	Choices []string
	// Rest makes the option take the rest of the line in the text grammar (a query with spaces) instead of one
	// word; only the last option may.
	Rest bool

	// complete offers values for the option while it is typed (Discord's autocomplete).
	complete func(c *Commander, ctx context.Context, req bot.Request, typed string) ([]Choice, error)
}

// Autocomplete reports whether the option offers values while it is typed (Commander.Complete).
func (o Option) Autocomplete() bool { return o.complete != nil }

// Subcommand is one /papers subcommand: everything the parser, the help, Discord's command definition, the
// autocomplete and the transports' deferral need to know about it, and its handler.
type Subcommand struct {
	Name string
	// Aliases are other verbs for it in the text grammar ("sub" for "subscribe").
	Aliases []string
	// Usage is what follows "/papers" in the help line, e.g. "subscribe <query>".
	Usage string
	// Help explains it in the help line; " (channel managers)" is added for Managers.
	Help string
	// Description is its description on Discord (1 to 100 characters with the " (Manage Channels)" Discord adds
	// for Managers).
	Description string
	Options     []Option
	// Access says who may run it.
	Access Access
	// Refusal completes "Only people who can manage this channel may ..." for Managers subcommands.
	Refusal string
	// Private subcommands answer only the caller; a transport that defers the answer must make the deferred
	// message private already (Discord cannot change it later).
	Private bool
	// Slow subcommands are acknowledged at once and answered later, rather than waited for within the answer
	// budget.
	Slow bool
	// Posts marks subcommands after which the bot will post in the channel (subscribe, backfill, retry): when
	// the platform can tell that the bot cannot post there (Commander.Access), the reply says so and how to fix
	// it, instead of the papers silently never arriving.
	Posts bool
	// BadArgs is the reply when the arguments do not parse (not a number, out of range, not one of the choices,
	// words left over); "Usage: /papers <Usage>" when empty.
	BadArgs string

	run func(c *Commander, ctx context.Context, req bot.Request, args Args) (bot.Reply, error)
}

// Choice is one value offered while an option is typed: Name is shown, Value is what the option then holds.
type Choice struct {
	Name, Value string
}

// Completion limits, Discord's (the only platform with autocomplete): at most MaxChoices choices, with names and
// values of at most MaxChoiceLen characters.
const (
	MaxChoices   = 25
	MaxChoiceLen = 100
)

// Subcommands returns the /papers subcommands, in the order of the help and of Discord's definition. Adding a
// subcommand is one entry here plus its handler.
func Subcommands() []Subcommand {
	query := func(desc string) Option {
		return Option{Name: "query", Type: String, Description: desc, Required: true, MaxLength: 500, Rest: true}
	}
	return []Subcommand{
		{
			Name: "search", Aliases: []string{"s"},
			Usage:       "<query> [sort:relevant]",
			Help:        "up to 5 recent papers matching the query, shown only to you (sort:relevant: by relevance and this channel's votes)",
			Description: "Recent papers matching a query, shown only to you",
			Options:     []Option{query(`A query, e.g. eeg transformer, "foundation model" -survey, cat:cs.LG`)},
			Private:     true,
			run:         (*Commander).search,
		},
		{
			Name: "subscribe", Aliases: []string{"sub"},
			Usage:       "subscribe <query>",
			Help:        "post new matching papers in this channel",
			Description: "Post new papers matching a query in this channel",
			Options:     []Option{query(`A query, e.g. eeg -survey or "foundation model" (eeg OR meg)`)},
			Access:      Managers, Refusal: "subscribe this channel",
			Posts: true,
			run:   (*Commander).subscribe,
		},
		{
			Name: "unsubscribe", Aliases: []string{"unsub"},
			Usage:       "unsubscribe <number or query>",
			Help:        "stop one",
			Description: "Stop one of this channel's subscriptions",
			Options: []Option{{
				Name: "subscription", Type: String, Description: "Which subscription: its number in /papers list, or the query",
				Required: true, MaxLength: 500, Rest: true, complete: (*Commander).completeSubscription,
			}},
			Access: Managers, Refusal: "unsubscribe this channel",
			run: (*Commander).unsubscribe,
		},
		{
			Name: "list", Aliases: []string{"ls"},
			Usage:       "list",
			Help:        "what this channel follows",
			Description: "What this channel follows, with recent match counts",
			Private:     true,
			run:         (*Commander).list,
		},
		{
			Name:        "digest",
			Usage:       "digest off | daily HH:MM [TZ] | weekly DAY HH:MM [TZ]",
			Help:        "one message a day or week instead of one per paper",
			Description: "One digest a day or a week instead of one message per paper",
			// In the text grammar "weekly DAY HH:MM [TZ]" fills time, timezone and day in that order; the handler
			// puts the values back in their places (see digestArgs). Discord names them.
			Options: []Option{
				{Name: "mode", Type: String, Description: "off: one message per paper; daily or weekly: one digest a day or a week", Required: true, MaxLength: 6, Choices: []string{"off", "daily", "weekly"}},
				{Name: "time", Type: String, Description: "Local time of the digest, HH:MM, e.g. 09:00", MaxLength: 64},
				{Name: "timezone", Type: String, Description: "IANA time zone of that time, e.g. Europe/Berlin (default UTC)", MaxLength: 64},
				{Name: "day", Type: String, Description: "Day of the weekly digest, e.g. monday", MaxLength: 64},
			},
			Access: Managers, Refusal: "change how this channel receives papers",
			BadArgs: "Usage: /papers digest off | /papers digest daily HH:MM [TZ] | /papers digest weekly DAY HH:MM [TZ], e.g. /papers digest daily 09:00 Europe/Berlin or /papers digest weekly monday 09:00",
			run:     (*Commander).digest,
		},
		{
			Name:        "backfill",
			Usage:       "backfill <days>",
			Help:        "post the last days' matching papers here as one digest",
			Description: "Post the last days' matching papers here as one digest",
			Options: []Option{{
				Name: "days", Type: Integer, Description: fmt.Sprintf("How many days back, 1 to %d", MaxBackfillDays),
				Required: true, Min: 1, Max: MaxBackfillDays,
			}},
			Access: Managers, Refusal: "backfill this channel",
			Posts: true,
			// A backfill matches days of papers and fills the outbox.
			Slow:    true,
			BadArgs: fmt.Sprintf("Usage: /papers backfill <days>, with 1 to %d days, e.g. /papers backfill 7", MaxBackfillDays),
			run:     (*Commander).backfill,
		},
		{
			Name:        "trends",
			Usage:       "trends [weeks]",
			Help:        fmt.Sprintf("a chart of this channel's papers per week per subscription and the rising terms (default %d weeks, at most %d)", trend.DefaultWeeks, trend.MaxWeeks),
			Description: "A chart of papers per week per subscription, with the rising terms",
			Options: []Option{{
				Name: "weeks", Type: Integer, Description: fmt.Sprintf("How many weeks, 2 to %d (default %d)", trend.MaxWeeks, trend.DefaultWeeks),
				Min: 2, Max: trend.MaxWeeks,
			}},
			// It reads weeks of papers for every subscription and draws a chart.
			Slow:    true,
			BadArgs: fmt.Sprintf("Usage: /papers trends [weeks], with 2 to %d weeks, e.g. /papers trends 12", trend.MaxWeeks),
			run:     (*Commander).trends,
		},
		{
			Name: "sources", Aliases: []string{"status"},
			Usage:       "sources",
			Help:        "feeds, last poll, errors",
			Description: "Each paper feed: last poll, last new paper, errors",
			Private:     true,
			run:         (*Commander).sources,
		},
		{
			Name:        "failed",
			Usage:       "failed",
			Help:        "papers the platform kept rejecting here, with the error",
			Description: "Papers set aside because the platform kept rejecting them",
			Access:      Managers, Refusal: "see the papers set aside in this channel",
			Private: true,
			run:     (*Commander).failed,
		},
		{
			Name:        "retry",
			Usage:       "retry",
			Help:        "queue this channel's set-aside papers again",
			Description: "Queue this channel's set-aside papers again",
			Access:      Managers, Refusal: "retry this channel's set-aside papers",
			Posts: true,
			run:   (*Commander).retry,
		},
		{
			Name:        "feedback",
			Usage:       "feedback",
			Help:        "this channel's votes of the last 30 days, and suggestions learned from them",
			Description: "This channel's votes of the last 30 days and what they suggest",
			Private:     true,
			run:         (*Commander).feedbackCmd,
		},
		{
			Name:        "like",
			Usage:       "like <arXiv id or link>",
			Help:        fmt.Sprintf("the %d stored papers most like it, with the words they share", LikeResults),
			Description: "The stored papers most like a paper, with the words they share",
			Options: []Option{{
				Name: "paper", Type: String, Description: "An arXiv id or link, e.g. 2401.01234", Required: true, MaxLength: 300,
			}},
			Private: true,
			run:     (*Commander).like,
		},
		{
			Name:        "saved",
			Usage:       "saved [page]",
			Help:        "your reading list, newest first, shown only to you",
			Description: "Your reading list, newest first, shown only to you",
			Options: []Option{{
				Name: "page", Type: Integer, Description: "Which page, from 1", Min: 1, Max: MaxExport / SavedPage,
			}},
			Private: true,
			BadArgs: "Usage: /papers saved [page], e.g. /papers saved 2",
			run:     (*Commander).saved,
		},
		{
			Name:        "unsave",
			Usage:       "unsave <number>",
			Help:        "take a paper off your reading list (its number in /papers saved)",
			Description: "Take a paper off your reading list",
			Options: []Option{{
				Name: "number", Type: Integer, Description: "Its number in /papers saved", Required: true, Min: 1, Max: 1 << 31,
			}},
			Private: true,
			BadArgs: "Usage: /papers unsave <number>, the paper's number in /papers saved",
			run:     (*Commander).unsave,
		},
		{
			Name:        "export",
			Usage:       "export bibtex [saved | <query>]",
			Help:        "BibTeX of your reading list or of a query's papers, shown only to you",
			Description: "BibTeX of your reading list or of papers matching a query",
			Options: []Option{
				{Name: "format", Type: String, Description: "The format: bibtex", Required: true, MaxLength: 10, Choices: []string{"bibtex"}},
				{Name: "what", Type: String, Description: "saved (your reading list, the default) or a query", MaxLength: 500, Rest: true},
			},
			Private: true,
			// An export of a query matches up to MaxExport papers.
			Slow:    true,
			BadArgs: "Usage: /papers export bibtex [saved | <query>], e.g. /papers export bibtex saved",
			run:     (*Commander).export,
		},
		{
			Name:        "forget-me",
			Usage:       "forget-me",
			Help:        "delete your votes and your reading list",
			Description: "Delete your votes and your reading list",
			Private:     true,
			run:         (*Commander).forgetMe,
		},
		{
			Name:        "help",
			Usage:       "help",
			Help:        "this help",
			Description: "How to use /papers, with query examples",
			Private:     true,
			run:         (*Commander).help,
		},
	}
}

// Lookup returns the subcommand named name (not an alias: platforms with native subcommands use the names).
func Lookup(name string) (Subcommand, bool) {
	for _, s := range Subcommands() {
		if s.Name == name {
			return s, true
		}
	}
	return Subcommand{}, false
}

// Find returns the subcommand req runs: its Invocation's, or the one its Text names (help for none, search for
// a verb that names none). ok is false only for an Invocation of an unknown subcommand.
func Find(req bot.Request) (Subcommand, bool) {
	if req.Invocation != nil {
		return Lookup(req.Invocation.Subcommand)
	}
	sub, _ := splitText(req.Text)
	return sub, true
}

// Args are a subcommand's option values by name: string, or int64 for Integer options. Options not given are
// absent.
type Args map[string]any

// String returns a string option's value, "" when absent.
func (a Args) String(name string) string {
	s, _ := a[name].(string)
	return s
}

// Int returns an integer option's value; ok is false when it is absent.
func (a Args) Int(name string) (n int64, ok bool) {
	n, ok = a[name].(int64)
	return n, ok
}

// errBadArgs means the arguments do not fit the subcommand's options; the user gets its BadArgs reply.
var errBadArgs = errors.New("arguments do not fit the subcommand")

// errUnknown means an invocation names no subcommand (a stale platform definition).
var errUnknown = errors.New("unknown subcommand")

// parse returns the subcommand req runs and its arguments, typed and checked against the table.
func parse(req bot.Request) (Subcommand, Args, error) {
	if inv := req.Invocation; inv != nil {
		sub, ok := Lookup(inv.Subcommand)
		if !ok {
			return Subcommand{}, nil, fmt.Errorf("%w %q", errUnknown, inv.Subcommand)
		}
		args, err := sub.checkInvocation(inv.Options)
		return sub, args, err
	}
	sub, rest := splitText(req.Text)
	args, err := sub.parseText(rest)
	return sub, args, err
}

// splitText finds the subcommand a text names and the text of its arguments. No text is help; a first word that
// names no subcommand makes the whole text a search: "/papers eeg transformer".
func splitText(text string) (Subcommand, string) {
	text = strings.TrimSpace(text)
	subs := Subcommands()
	find := func(name string) Subcommand {
		i := slices.IndexFunc(subs, func(s Subcommand) bool { return s.Name == name })
		return subs[i]
	}
	if text == "" {
		return find("help"), ""
	}
	verb, rest, _ := strings.Cut(text, " ")
	verb = strings.ToLower(verb)
	for _, s := range subs {
		if s.Name == verb || slices.Contains(s.Aliases, verb) {
			return s, strings.TrimSpace(rest)
		}
	}
	return find("search"), text
}

// parseText reads the options from the text grammar: one word each, in order, the Rest option taking what is
// left. A missing option is absent, for the handler to ask for.
func (s Subcommand) parseText(text string) (Args, error) {
	args := Args{}
	for _, o := range s.Options {
		text = strings.TrimSpace(text)
		if text == "" {
			break
		}
		word := text
		if o.Rest {
			text = ""
		} else if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
			word, text = text[:i], text[i:]
		} else {
			text = ""
		}
		var v any = word
		if o.Type == Integer {
			n, err := strconv.ParseInt(word, 10, 64)
			if err != nil {
				return args, fmt.Errorf("%w: %s: %q is not a whole number", errBadArgs, o.Name, word)
			}
			v = n
		}
		checked, err := o.check(v)
		if err != nil {
			return args, err
		}
		args[o.Name] = checked
	}
	// Words after a subcommand without options were always ignored ("/papers list please"); after options they
	// are a mistake worth pointing out.
	if len(s.Options) > 0 && strings.TrimSpace(text) != "" {
		return args, fmt.Errorf("%w: %q left over", errBadArgs, strings.TrimSpace(text))
	}
	return args, nil
}

// checkInvocation checks a platform's typed options against the table.
func (s Subcommand) checkInvocation(opts map[string]any) (Args, error) {
	args := Args{}
	for name, v := range opts {
		i := slices.IndexFunc(s.Options, func(o Option) bool { return o.Name == name })
		if i < 0 {
			return args, fmt.Errorf("%w: no option %q", errBadArgs, name)
		}
		if str, ok := v.(string); ok && strings.TrimSpace(str) == "" {
			continue // an empty string is no value, as in the text grammar
		}
		checked, err := s.Options[i].check(v)
		if err != nil {
			return args, err
		}
		args[name] = checked
	}
	return args, nil
}

// check returns v as the option's type, within its bounds and choices.
func (o Option) check(v any) (any, error) {
	switch o.Type {
	case String:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s: %T, want a string", errBadArgs, o.Name, v)
		}
		str = strings.TrimSpace(str)
		if len(o.Choices) == 0 {
			return str, nil
		}
		for _, c := range o.Choices {
			if strings.EqualFold(c, str) {
				return c, nil
			}
		}
		return nil, fmt.Errorf("%w: %s: %q is not one of %v", errBadArgs, o.Name, str, o.Choices)
	case Integer:
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("%w: %s: %T, want an int64", errBadArgs, o.Name, v)
		}
		if n < o.Min || n > o.Max {
			return nil, fmt.Errorf("%w: %s: %d is not within %d to %d", errBadArgs, o.Name, n, o.Min, o.Max)
		}
		return n, nil
	}
	return nil, fmt.Errorf("%w: %s: option of unknown type %d", errBadArgs, o.Name, o.Type)
}

// badArgs is the reply to arguments that do not parse.
func (s Subcommand) badArgs() bot.Reply {
	if s.BadArgs != "" {
		return failed(s.BadArgs)
	}
	return failed("Usage: /papers " + s.Usage + ". See /papers help.")
}

// helpLine is the subcommand's line in the help.
func (s Subcommand) helpLine() string {
	line := "/papers " + s.Usage + ": " + s.Help
	if s.Access == Managers {
		line += " (channel managers)"
	}
	return line
}

func (c *Commander) help(context.Context, bot.Request, Args) (bot.Reply, error) {
	return helpReply(), nil
}

func helpReply() bot.Reply {
	var lines []string
	for _, s := range Subcommands() {
		lines = append(lines, s.helpLine())
	}
	return private(append(lines,
		`Queries: words match whole words, plurals included (snn finds SNNs); "foundation model" is a phrase; neuro* a prefix; words are ANDed; OR or | for alternatives; -survey or NOT survey excludes; (parentheses) group; fields title: abs: au: cat:cs.LG cat:cs.* source: upvotes:>=10.`,
		`Examples: /papers subscribe eeg -survey | /papers subscribe "foundation model" (eeg OR meg) | /papers title:snn cat:cs.NE`,
	)...)
}
