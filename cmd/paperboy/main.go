// Command paperboy announces new research papers in Slack and Discord channels. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
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
            paperboy cmd --channel PLATFORM:ID [--manager] [--user ID] [--workspace ID] [--] TEXT...
            (exit 1 when the reply is an error)
  check     validate the configuration file: errors with file:line and the fix (exit 1), then the platforms
            that are on and warnings about channels none can serve (exit 0)
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
paperboy help COMMAND (or paperboy COMMAND -h) shows a command's flags.
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
// error. Each command parses its own flags.
func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return runCmd(ctx, rest, stdout, stderr)
	case "poll":
		return pollCmd(ctx, rest, stdout, stderr)
	case "search":
		return searchCmd(ctx, rest, stdout, stderr)
	case "cmd":
		return cmdCmd(ctx, rest, stdout, stderr)
	case "check":
		return checkCmd(rest, stdout, stderr)
	case "version", "--version", "-version":
		return versionCmd(rest, stdout, stderr)
	case "discord":
		return discordCmd(ctx, rest, stdout, stderr)
	case "store":
		return storeCmd(ctx, rest, stdout, stderr)
	case "import":
		return importCmd(ctx, rest, stdout, stderr)
	case "healthcheck":
		return healthcheckCmd(ctx, rest, stdout, stderr)
	case "help", "-h", "--help", "-help":
		return helpCmd(ctx, rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "paperboy: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// helpCmd prints the list of commands, or with a command's name that command's usage and flags.
func helpCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	return realMain(ctx, append(slices.Clone(args), "-h"), stdout, stderr)
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "version", "Print paperboy's version.", stdout, stderr)
	if _, code, stop := fs.parse(args, false, false); stop {
		return code
	}
	fmt.Fprintln(stdout, "paperboy", app.Version())
	return 0
}

// checkCmd validates the configuration: errors exit 1; warnings (a channel no platform can serve) are printed
// and exit 0.
func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "check [--config FILE]",
		"Validate the configuration file: every error with its file:line and how to fix it, then warnings about\n"+
			"what would do nothing (a channel on a platform without a token). Exit 0 when valid, 1 when not.", stdout, stderr)
	configPath := fs.configFlag()
	if _, code, stop := fs.parse(args, false, false); stop {
		return code
	}
	cfg, ok := loadConfig(fs, *configPath)
	if !ok {
		return 1
	}
	db, err := cfg.Database()
	if err != nil {
		fmt.Fprintf(stderr, "paperboy: %v\n", err)
		return 1
	}
	states, err := app.PlatformStates(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "paperboy: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%d sources, %d channels)\nstore: %s\n", *configPath, len(cfg.Sources), len(cfg.Channels), db)
	for _, st := range states {
		if st.On {
			fmt.Fprintf(stdout, "platform %s: on, %s\n", st.Name, st.Mode)
		} else {
			fmt.Fprintf(stdout, "platform %s: off, %s\n", st.Name, st.Off)
		}
	}
	for _, w := range app.UnservedChannels(cfg, states) {
		fmt.Fprintln(stderr, w)
	}
	return 0
}

// openApp loads the configuration and builds the App a command needs; ok false means exit with code.
func openApp(ctx context.Context, fs *flags, configPath string, o app.Options, stderr io.Writer) (a *app.App, code int, ok bool) {
	cfg, ok := loadConfig(fs, configPath)
	if !ok {
		return nil, 1, false
	}
	if _, err := cfg.Database(); err != nil {
		fmt.Fprintf(stderr, "paperboy: %v\n", err)
		return nil, 1, false
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg.Log, stderr), o)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, false // asked to stop while starting: a clean stop, not a failure
		}
		fmt.Fprintf(stderr, "paperboy: %v\n", err)
		return nil, 1, false
	}
	return a, 0, true
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "run [--config FILE]",
		"Run the bot: poll every source on its schedule, deliver to the channels, answer /papers commands, until\n"+
			"SIGINT or SIGTERM. One bot per SQLite file.", stdout, stderr)
	configPath := fs.configFlag()
	if _, code, stop := fs.parse(args, false, false); stop {
		return code
	}
	a, code, ok := openApp(ctx, fs, *configPath, app.Options{Platforms: true, Stdout: stdout, Exclusive: true}, stderr)
	if !ok {
		return code
	}
	defer func() { _ = a.Close() }()
	return runLoop(ctx, a, stderr)
}

func pollCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("poll", "poll [--once] [--config FILE]",
		"Poll every source: with --once one round, print a report and exit 1 if any source failed (it only\n"+
			"ingests and routes, so it may run next to a bot); without it, like run.", stdout, stderr)
	configPath := fs.configFlag()
	once := fs.Bool("once", false, "one round over every source, then exit")
	if _, code, stop := fs.parse(args, false, false); stop {
		return code
	}
	// poll's loop is the bot: one per SQLite file (Exclusive). poll --once only ingests and routes, which the store
	// makes safe next to a running bot (a paper is new to one of them only), and it delivers nothing, so it runs
	// without the lock, like search and cmd.
	a, code, ok := openApp(ctx, fs, *configPath, app.Options{Platforms: true, Stdout: stdout, Exclusive: !*once}, stderr)
	if !ok {
		return code
	}
	defer func() { _ = a.Close() }()
	if !*once {
		return runLoop(ctx, a, stderr)
	}
	return pollOnce(ctx, a, stdout)
}

func searchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("search", "search [--json] [--limit N] [--sort newest|relevant] [--config FILE] [--] QUERY...",
		"Search the local store with the query language of /papers subscribe.", stdout, stderr)
	configPath := fs.configFlag()
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	limit := fs.Int("limit", 20, "at most this many papers")
	sortBy := fs.String("sort", "newest", "order: newest (first), or relevant (best full-text match, BM25, with matched terms, upvotes and recency)")
	pos, code, stop := fs.parse(args, true, false)
	if stop {
		return code
	}
	if *limit <= 0 {
		fmt.Fprintln(stderr, "paperboy search: --limit must be positive")
		return 2
	}
	if *sortBy != "newest" && *sortBy != "relevant" {
		fmt.Fprintf(stderr, "paperboy search: --sort %q: want newest or relevant\n", *sortBy)
		return 2
	}
	query := strings.Join(pos, " ")
	if strings.TrimSpace(query) == "" {
		fmt.Fprintln(stderr, "paperboy search: give a query, e.g. paperboy search eeg transformer")
		return 2
	}
	// search only reads: it neither syncs the configured channels nor waits for the write lock.
	a, code, ok := openApp(ctx, fs, *configPath, app.Options{Stdout: stdout, LookupOnly: true}, stderr)
	if !ok {
		return code
	}
	defer func() { _ = a.Close() }()
	return search(ctx, a, query, *sortBy, *limit, *asJSON, stdout, stderr)
}

func cmdCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cmd", "cmd --channel PLATFORM:ID [--manager] [--user ID] [--workspace ID] [--config FILE] [--] TEXT...",
		"Run a /papers command as if typed in a channel, and print the reply. Exit 1 when the reply is an error\n"+
			"(bad arguments, no permission, an invalid query).", stdout, stderr)
	configPath := fs.configFlag()
	channel := fs.String("channel", "", "the channel, as PLATFORM:ID (e.g. slack:C0123ABCD)")
	manager := fs.Bool("manager", false, "act as someone who may manage the channel")
	user := fs.String("user", "cli", "the user id to act as")
	workspace := fs.String("workspace", "", "the Slack team id or Discord server id to act in: whose reading list and votes saved, export and forget-me see")
	pos, code, stop := fs.parse(args, true, false)
	if stop {
		return code
	}
	a, code, ok := openApp(ctx, fs, *configPath, app.Options{Stdout: stdout}, stderr)
	if !ok {
		return code
	}
	defer func() { _ = a.Close() }()
	return command(ctx, a, *channel, *user, *workspace, *manager, strings.Join(pos, " "), stdout, stderr)
}

// discordCmd runs "paperboy discord invite".
func discordCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const use = "usage: paperboy discord invite [--config FILE]"
	switch {
	case len(args) > 0 && isHelp(args[0]):
		fmt.Fprintln(stdout, use)
		return 0
	case len(args) == 0 || args[0] != "invite":
		fmt.Fprintln(stderr, use)
		return 2
	}
	fs := newFlags("discord invite", "discord invite [--config FILE]",
		"Print the URL that invites the bot to a Discord server, with exactly the permissions it needs.", stdout, stderr)
	configPath := fs.configFlag()
	if _, code, stop := fs.parse(args[1:], false, false); stop {
		return code
	}
	cfg, ok := loadConfig(fs, *configPath)
	if !ok {
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
	switch {
	case len(args) > 0 && isHelp(args[0]):
		fmt.Fprintln(stdout, use)
		return 0
	case len(args) == 0 || args[0] != "copy":
		fmt.Fprintln(stderr, use)
		return 2
	}
	fs := newFlags("store copy", "store copy --from FILE_OR_URL --to FILE_OR_URL",
		"Copy a whole store (SQLite file or postgres:// URL) into an empty one, with the bot stopped.", stdout, stderr)
	from := fs.String("from", "", "the store to copy: a SQLite file or a postgres:// URL")
	to := fs.String("to", "", "the empty store to fill: a SQLite file (created if missing) or a postgres:// URL")
	if _, code, stop := fs.parse(args[1:], false, false); stop {
		return code
	}
	if *from == "" || *to == "" {
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
		{c.Batches, "digest batches"}, {c.Imports, "import checkpoints"}, {c.Votes, "votes"}, {c.Saved, "saved papers"},
	} {
		fmt.Fprintf(tw, "  %d\t %s\n", r.n, r.what)
	}
	_ = tw.Flush()
	return 0
}

func runLoop(ctx context.Context, a *app.App, stderr io.Writer) int {
	a.Logger.Info("paperboy starting", "version", app.Version(), "store", a.Database.String(),
		"sources", len(a.Config.Sources), "channels", len(a.Config.Channels))
	// Which platforms are on, and which configured channels therefore get nothing: a missing token is otherwise
	// only noticed when a channel stays silent.
	states, err := app.PlatformStates(a.Config)
	if err != nil {
		fmt.Fprintf(stderr, "paperboy: %v\n", err)
		return 1
	}
	for _, st := range states {
		if st.On {
			a.Logger.Info("platform on", "platform", st.Name, "mode", st.Mode)
		} else {
			a.Logger.Info("platform off", "platform", st.Name, "reason", st.Off)
		}
	}
	for _, w := range app.UnservedChannels(a.Config, states) {
		a.Logger.Warn("channel cannot be served", "problem", w.String())
	}
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

func search(ctx context.Context, a *app.App, query, sortBy string, limit int, asJSON bool, stdout, stderr io.Writer) int {
	if strings.TrimSpace(query) == "" {
		fmt.Fprintln(stderr, "paperboy search: give a query, e.g. paperboy search eeg transformer")
		return 2
	}
	cards, err := a.SearchSorted(ctx, query, sortBy, limit)
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

func command(ctx context.Context, a *app.App, chanArg, user, workspace string, manager bool, text string, stdout, stderr io.Writer) int {
	if workspace == channel.AnyWorkspace {
		fmt.Fprintf(stderr, "paperboy cmd: --workspace %q is not a workspace id\n", workspace)
		return 2
	}
	ref, err := channel.ParseRef(chanArg)
	if err == nil && !slices.Contains(app.PlatformNames(), ref.Platform) {
		err = fmt.Errorf("channel %q: unknown platform %q (want %s)", chanArg, ref.Platform, strings.Join(app.PlatformNames(), ", "))
	}
	if err != nil {
		fmt.Fprintf(stderr, "paperboy cmd: --channel: %v\n", err)
		return 2
	}
	// The terminal has no message size: an export prints every entry.
	a.Commander.WholeExports = true
	reply, err := a.Commander.Handle(ctx, bot.Request{Channel: ref, User: user, Workspace: workspace, CanManage: manager, Text: text})
	if err != nil {
		fmt.Fprintf(stderr, "paperboy cmd: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, bot.RenderText(reply))
	// A terminal cannot show the chart: write it out and say where.
	paths, err := a.WriteFiles(reply.Files)
	for i, p := range paths {
		fmt.Fprintf(stdout, "%s written to %s\n", reply.Files[i].Name, p)
	}
	if err != nil {
		fmt.Fprintf(stderr, "paperboy cmd: %v\n", err)
		return 1
	}
	if reply.Error {
		return 1
	}
	return 0
}
