package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/paperboy-bot/paperboy/bot/app"
	"github.com/paperboy-bot/paperboy/bot/snapshot"
)

const importUsage = `usage:
  paperboy import snapshot FILE [--categories LIST] [--resume] [--skip-bad] [--config FILE]
      import arXiv's metadata snapshot (JSON lines, or .gz) as history
  paperboy import arxiv [--categories LIST] [--from DATE] [--until DATE] [--resume] [--skip-bad] [--config FILE]
      harvest arXiv's metadata through its OAI-PMH interface ([import] oai_url) as history
`

// importCmd runs the "paperboy import" family: bulk imports of history into the store, which look-ups,
// subscribe previews and backfills find and no channel receives as new.
func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		_, _ = fmt.Fprint(stderr, importUsage)
		return 2
	}
	switch args[0] {
	case "snapshot":
		return importSnapshot(ctx, args[1:], stdout, stderr)
	case "arxiv":
		return importArxiv(ctx, args[1:], stdout, stderr)
	// Each further import (e.g. "arxiv", the OAI-PMH harvest) is one case here calling its own function.
	case "help", "-h", "--help", "-help":
		_, _ = fmt.Fprint(stdout, importUsage)
		return 0
	default:
		_, _ = fmt.Fprintf(stderr, "paperboy import: unknown import %q\n%s", args[0], importUsage)
		return 2
	}
}

// parseInterspersed parses flags that may come before or after the positional arguments (FILE --resume as well
// as --resume FILE), which package flag alone does not.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// importMemoryLimit is the Go memory limit of paperboy import snapshot unless GOMEMLIMIT sets one.
const importMemoryLimit = 90 << 20

// importSnapshot runs "paperboy import snapshot FILE". Its exit status is 0 when every record was imported (or
// --skip-bad accepts skipped ones), 1 when records were skipped or the import failed, 2 on a usage error.
func importSnapshot(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("import snapshot", "import snapshot FILE [--categories LIST] [--resume] [--skip-bad] [--config FILE]",
		"Import arXiv's metadata snapshot (JSON lines, or .gz) as history for look-ups and previews.", stdout, stderr)
	configPath := fs.configFlag()
	cats := fs.String("categories", "", "import only these categories or archives, comma-separated (cs.LG,math)")
	resume := fs.Bool("resume", false, "continue the interrupted import of FILE after its last stored batch")
	skipBad := fs.Bool("skip-bad", false, "exit 0 even if some records could not be imported")
	pos, code, stop := fs.parse(args, true, true)
	if stop {
		return code
	}
	if len(pos) != 1 {
		_, _ = fmt.Fprint(stderr, importUsage)
		return 2
	}
	filter, err := snapshot.ParseFilter(*cats)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "paperboy import snapshot: %v\n", err)
		return 2
	}
	cfg, ok := loadConfig(fs, *configPath)
	if !ok {
		return 1
	}
	// The import's own working set is bounded (a few batches, SQLite's caches); a soft limit keeps the Go heap's
	// garbage from doubling it. SQLite's page caches and FTS5's hash live outside the Go heap, where the limit does
	// not see them, so it is set for the process to stay under 200 MB: importing 300k synthetic papers peaked at
	// 203 MB RSS with 120 MiB and at 173 MB with 90 MiB, for 12% more CPU time. GOMEMLIMIT wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(importMemoryLimit)
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg.Log, stderr), app.Options{Stdout: stdout})
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "paperboy: %v\n", err)
		return 1
	}
	defer func() { _ = a.Close() }()

	rep, err := snapshot.Run(ctx, a.Store, snapshot.Options{
		Path: pos[0], Filter: filter, Resume: *resume,
		Progress: stdout, Terminal: isTerminal(stdout), Bad: stderr,
	})
	switch {
	case errors.Is(err, snapshot.ErrNoCheckpoint):
		_, _ = fmt.Fprintf(stderr, "paperboy import snapshot: %v; run it without --resume\n", err)
		return 1
	case err != nil && ctx.Err() != nil:
		_, _ = fmt.Fprintf(stderr, "paperboy import snapshot: interrupted; %d papers stored up to line %d. Continue with: paperboy import snapshot %s --resume\n",
			rep.Papers, rep.Line, pos[0])
		return 1
	case err != nil:
		_, _ = fmt.Fprintf(stderr, "paperboy import snapshot: %v\n", err)
		if rep.Line > 0 {
			_, _ = fmt.Fprintf(stderr, "stored up to line %d; continue with: paperboy import snapshot %s --resume\n", rep.Line, pos[0])
		}
		return 1
	}
	if rep.AlreadyDone {
		_, _ = fmt.Fprintf(stdout, "%s: already imported (%d papers); nothing to resume\n", pos[0], rep.Papers)
		return 0
	}
	printImportReport(stdout, pos[0], rep)
	if rep.SkippedTotal() > 0 && !*skipBad {
		return 1
	}
	return 0
}

func printImportReport(w io.Writer, file string, rep snapshot.Report) {
	from := ""
	if rep.ResumedAt > 0 {
		from = fmt.Sprintf(", resumed at byte %d", rep.ResumedAt)
	}
	_, _ = fmt.Fprintf(w, "imported %s: %d papers from %d lines in %s%s\n", file, rep.Papers, rep.Lines,
		rep.Took.Round(time.Second), from)
	_, _ = fmt.Fprintf(w, "  this run: %d new, %d updated, %d unchanged\n", rep.New, rep.Updated, rep.Unchanged)
	_, _ = fmt.Fprintf(w, "  withdrawn (imported, marked by their comment): %d\n", rep.Withdrawn)
	if rep.Filtered > 0 {
		_, _ = fmt.Fprintf(w, "  left out by --categories: %d\n", rep.Filtered)
	}
	if n := rep.SkippedTotal(); n > 0 {
		_, _ = fmt.Fprintf(w, "  skipped bad records: %d (%s)\n", n, rep.SkippedSummary())
	} else {
		_, _ = fmt.Fprintln(w, "  skipped bad records: 0")
	}
}

// isTerminal reports whether w is a terminal, where a progress line can be rewritten in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
