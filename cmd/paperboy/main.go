// Command paperboy announces new research papers in Slack and Discord channels. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/paperboy-bot/paperboy/bot/app"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store/dump"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/discord"
	"github.com/paperboy-bot/paperboy/filters"
)

const usage = `paperboy announces new research papers in Slack and Discord channels.

Usage:
  paperboy <command> [flags]

Commands:
  run       poll every source on its schedule until SIGINT/SIGTERM
  poll      poll every source (--once: one round, print a report, exit 1 if any source failed)
  search    search the local store: paperboy search [--json] [--limit N] [--] QUERY...
  cmd       run a /papers command as if typed in a channel:
            paperboy cmd --channel PLATFORM:ID [--manager] [--user ID] [--] TEXT...
  check     validate the configuration file and exit 0 (valid) or 1
  store copy --from FILE_OR_URL --to FILE_OR_URL
            copy a whole store (SQLite file or postgres:// URL) into an empty one, with the bot stopped
  import snapshot FILE [--categories LIST] [--resume] [--skip-bad]
            import arXiv's metadata snapshot (JSON lines or .gz) as history for look-ups and previews
  import arxiv [--categories LIST] [--from DATE] [--until DATE] [--resume] [--skip-bad]
            harvest arXiv's metadata through OAI-PMH as history; --resume continues an interrupted harvest
  discord invite [--config FILE]
            print the URL that invites the bot to a Discord server, with exactly the permissions it needs
  healthcheck [--url URL]
            exit 0 if /healthz of the running bot ([http] listen) answers 200, else 1 with the reason
  version   print the version

Every command but version and store copy takes --config FILE (default $PAPERBOY_CONFIG, else paperboy.toml).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a second Ctrl-C ends a shutdown that
		// hangs.
		<-ctx.Done()
		stop()
	}()
	code := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// realMain runs one command until it finishes or ctx ends, and returns the exit code: 0 ok, 1 failure, 2 usage
// error.
func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "paperboy", app.Version())
		return 0
	case "discord":
		return discordCmd(ctx, rest, stdout, stderr)
	case "store":
		return storeCmd(ctx, rest, stdout, stderr)
	case "import":
		return importCmd(ctx, rest, stdout, stderr)
	case "healthcheck":
		return healthcheckCmd(ctx, rest, stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	case "check", "poll", "search", "run", "cmd":
	default:
		fmt.Fprintf(stderr, "paperboy: unknown command %q\n\n%s", cmd, usage)
		return 2
	}

	fs := flag.NewFlagSet("paperboy "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defConfig := os.Getenv("PAPERBOY_CONFIG")
	if defConfig == "" {
		defConfig = "paperboy.toml"
	}
	configPath := fs.String("config", defConfig, "configuration file (env PAPERBOY_CONFIG)")
	once := fs.Bool("once", false, "poll: one round over every source, then exit")
	asJSON := fs.Bool("json", false, "search: print one JSON object per line")
	limit := fs.Int("limit", 20, "search: at most this many papers")
	channel := fs.String("channel", "", "cmd: the channel, as PLATFORM:ID (e.g. slack:C0123ABCD)")
	manager := fs.Bool("manager", false, "cmd: act as someone who may manage the channel")
	user := fs.String("user", "cli", "cmd: the user id to act as")
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, err := app.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "paperboy: invalid configuration:\n%v\n", err)
		return 1
	}
	db, err := cfg.Database()
	if err != nil {
		fmt.Fprintf(stderr, "paperboy: %v\n", err)
		return 1
	}
	if cmd == "check" {
		fmt.Fprintf(stdout, "%s: ok (%d sources)\nstore: %s\n", *configPath, len(cfg.Sources), db)
		return 0
	}
	logger := app.NewLogger(cfg.Log, stderr)
	// Look-ups and commands need no platform.
	// run and poll's loop are the bot: one per SQLite file (Exclusive). poll --once only ingests and routes,
	// which the store makes safe next to a running bot (a paper is new to one of them only), and it delivers
	// nothing, so it runs without the lock, like search and cmd.
	exclusive := cmd == "run" || (cmd == "poll" && !*once)
	a, err := app.New(ctx, cfg, logger, app.Options{Platforms: cmd == "run" || cmd == "poll", Stdout: stdout, Exclusive: exclusive})
	if err != nil {
		if ctx.Err() != nil {
			return 0 // asked to stop while starting: a clean stop, not a failure
		}
		fmt.Fprintf(stderr, "paperboy: %v\n", err)
		return 1
	}
	defer func() { _ = a.Close() }()

	switch cmd {
	case "poll":
		if !*once {
			return runLoop(ctx, a, stderr)
		}
		return pollOnce(ctx, a, stdout)
	case "search":
		if *limit <= 0 {
			fmt.Fprintln(stderr, "paperboy search: --limit must be positive")
			return 2
		}
		return search(ctx, a, strings.Join(fs.Args(), " "), *limit, *asJSON, stdout, stderr)
	case "cmd":
		return command(ctx, a, *channel, *user, *manager, strings.Join(fs.Args(), " "), stdout, stderr)
	default: // run
		return runLoop(ctx, a, stderr)
	}
}

// discordCmd runs "paperboy discord invite".
func discordCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "invite" {
		fmt.Fprintln(stderr, "usage: paperboy discord invite [--config FILE]")
		return 2
	}
	fs := flag.NewFlagSet("paperboy discord invite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defConfig := os.Getenv("PAPERBOY_CONFIG")
	if defConfig == "" {
		defConfig = "paperboy.toml"
	}
	configPath := fs.String("config", defConfig, "configuration file (env PAPERBOY_CONFIG)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := app.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "paperboy: invalid configuration:\n%v\n", err)
		return 1
	}
	appID, err := app.DiscordApplicationID(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "paperboy discord invite: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, discord.InviteURL(appID))
	return 0
}

// storeCmd runs "paperboy store copy".
func storeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const use = "usage: paperboy store copy --from FILE_OR_URL --to FILE_OR_URL"
	if len(args) == 0 || args[0] != "copy" {
		fmt.Fprintln(stderr, use)
		return 2
	}
	fs := flag.NewFlagSet("paperboy store copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the store to copy: a SQLite file or a postgres:// URL")
	to := fs.String("to", "", "the empty store to fill: a SQLite file (created if missing) or a postgres:// URL")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, use)
		return 2
	}
	src, dst := app.ParseDatabase(*from), app.ParseDatabase(*to)
	c, err := app.CopyStore(ctx, src, dst)
	if errors.Is(err, dump.ErrNotEmpty) {
		fmt.Fprintf(stderr, "paperboy store copy: %s already holds data; copy into a new file or an empty database\n", app.Describe(dst))
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "paperboy store copy: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %s to %s:\n", app.Describe(src), app.Describe(dst))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, r := range []struct {
		n    int
		what string
	}{
		{c.Papers, "papers"}, {c.Validators, "feed validators"}, {c.Sources, "sources"}, {c.Channels, "channels"},
		{c.Subscriptions, "subscriptions"}, {c.Outbox, "outbox rows"}, {c.Unsent, "of them waiting for delivery"},
		{c.Batches, "digest batches"}, {c.Imports, "import checkpoints"},
	} {
		fmt.Fprintf(tw, "  %d\t %s\n", r.n, r.what)
	}
	_ = tw.Flush()
	return 0
}

func runLoop(ctx context.Context, a *app.App, stderr io.Writer) int {
	a.Logger.Info("paperboy starting", "version", app.Version(), "store", a.Database.String(),
		"sources", len(a.Config.Sources), "channels", len(a.Config.Channels))
	if err := a.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "paperboy: %v\n", err)
		return 1
	}
	a.Logger.Info("paperboy stopped")
	return 0
}

func pollOnce(ctx context.Context, a *app.App, stdout io.Writer) int {
	reps := a.PollAll(ctx)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tFETCHED\tNEW\tUPDATED\tNOT MODIFIED\tERROR")
	code := 0
	for _, r := range reps {
		errText := "-"
		if r.Err != nil {
			errText = r.Err.Error()
			code = 1
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%t\t%s\n", r.Source, r.Fetched, r.New, r.Updated, r.NotModified, errText)
	}
	_ = tw.Flush() // a failed write to stdout has nowhere to be reported
	return code
}

func search(ctx context.Context, a *app.App, query string, limit int, asJSON bool, stdout, stderr io.Writer) int {
	if strings.TrimSpace(query) == "" {
		fmt.Fprintln(stderr, "paperboy search: give a query, e.g. paperboy search eeg transformer")
		return 2
	}
	cards, err := a.Search(ctx, query, limit)
	var syn *filters.SyntaxError
	if errors.As(err, &syn) {
		fmt.Fprintf(stderr, "paperboy search: invalid query: %v\n", err)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "paperboy search: %v\n", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, c := range cards {
			if err := enc.Encode(searchResult{Paper: c.Paper, Matched: c.Matched}); err != nil {
				fmt.Fprintf(stderr, "paperboy search: %v\n", err)
				return 1
			}
		}
		return 0
	}
	if len(cards) == 0 {
		fmt.Fprintln(stdout, "no matching papers")
		return 0
	}
	for _, c := range cards {
		p := c.Paper
		fmt.Fprintf(stdout, "%s  %s  %s\n    %s  matched: %s\n", p.Published.Format("2006-01-02"), p.Key, p.Title, p.URL, strings.Join(c.Matched, ", "))
	}
	return 0
}

// searchResult is one line of search --json: the paper's fields plus the terms that matched.
type searchResult struct {
	paper.Paper
	Matched []string `json:"matched"`
}

func command(ctx context.Context, a *app.App, chanArg, user string, manager bool, text string, stdout, stderr io.Writer) int {
	ref, err := channel.ParseRef(chanArg)
	if err == nil && !slices.Contains(app.PlatformNames(), ref.Platform) {
		err = fmt.Errorf("channel %q: unknown platform %q (want %s)", chanArg, ref.Platform, strings.Join(app.PlatformNames(), ", "))
	}
	if err != nil {
		fmt.Fprintf(stderr, "paperboy cmd: --channel: %v\n", err)
		return 2
	}
	reply, err := a.Commander.Handle(ctx, bot.Request{Channel: ref, User: user, CanManage: manager, Text: text})
	if err != nil {
		fmt.Fprintf(stderr, "paperboy cmd: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, bot.RenderText(reply))
	return 0
}
