package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/app"
	"github.com/paperboy-bot/paperboy/bot/oaiimport"
)

// importArxiv runs "paperboy import arxiv": an OAI-PMH harvest of arXiv's metadata into the store as history. Its
// exit status is 0 when nothing was skipped (or --skip-bad accepts skipped records and sets given up), 1 when
// something was skipped or the harvest stopped, 2 on a usage error.
func importArxiv(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("import arxiv", "import arxiv [--categories LIST] [--from DATE] [--until DATE] [--resume] [--skip-bad] [--config FILE]",
		"Harvest arXiv's metadata through its OAI-PMH interface ([import] oai_url) as history.", stdout, stderr)
	configPath := fs.configFlag()
	cats := fs.String("categories", "", "harvest only these categories, archives or groups, comma-separated (cs.LG,hep-th,math); default all of arXiv")
	from := fs.String("from", "", "harvest records with an OAI datestamp on or after this date (YYYY-MM-DD)")
	until := fs.String("until", "", "harvest records with an OAI datestamp on or before this date (YYYY-MM-DD)")
	resume := fs.Bool("resume", false, "continue the interrupted harvest after its last stored page")
	skipBad := fs.Bool("skip-bad", false, "exit 0 even if some records or sets could not be imported")
	if _, code, stop := fs.parse(args, false, false); stop {
		return code
	}
	var categories []string
	for c := range strings.SplitSeq(*cats, ",") {
		if c = strings.TrimSpace(c); c != "" {
			categories = append(categories, c)
		}
	}
	// Arguments are checked before the store is opened, so that a typo costs nothing.
	if _, err := oaiimport.Plan(categories, *from, *until); err != nil {
		fmt.Fprintf(stderr, "paperboy import arxiv: %v\n", err)
		return 2
	}
	cfg, ok := loadConfig(fs, *configPath)
	if !ok {
		return 1
	}
	logger := app.NewLogger(cfg.Log, stderr)
	a, err := app.New(ctx, cfg, logger, app.Options{Stdout: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "paperboy: %v\n", err)
		return 1
	}
	defer func() { _ = a.Close() }()

	rep, err := oaiimport.Run(ctx, a.Store, oaiimport.Options{
		Harvester: a.ArxivHarvester(), Categories: categories, From: *from, Until: *until, Resume: *resume,
		Progress: stdout, Terminal: isTerminal(stdout), Messages: stderr,
	})
	switch {
	case errors.Is(err, oaiimport.ErrNoCheckpoint):
		fmt.Fprintf(stderr, "paperboy import arxiv: %v; run it without --resume\n", err)
		return 1
	case errors.Is(err, oaiimport.ErrMismatch):
		fmt.Fprintf(stderr, "paperboy import arxiv: %v\n", err)
		return 2
	case err != nil && ctx.Err() != nil:
		fmt.Fprintf(stderr, "paperboy import arxiv: interrupted after %d pages (%d papers) of %s. Continue with: paperboy import arxiv --resume\n",
			rep.Checkpoint.Pages, rep.Checkpoint.Papers, oaiimport.Describe(rep.Checkpoint))
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "paperboy import arxiv: %v\n", err)
		if rep.Checkpoint.Pages > 0 || rep.Resumed {
			fmt.Fprintf(stderr, "%d pages are stored; continue with: paperboy import arxiv --resume\n", rep.Checkpoint.Pages)
		}
		return 1
	}
	if rep.AlreadyDone {
		fmt.Fprintf(stdout, "the arXiv import of %s is already finished (%d papers); nothing to resume\n",
			oaiimport.Describe(rep.Checkpoint), rep.Checkpoint.Papers)
		return 0
	}
	printArxivReport(stdout, rep)
	if !rep.Clean() && !*skipBad {
		return 1
	}
	return 0
}

func printArxivReport(w io.Writer, rep oaiimport.Report) {
	cp := rep.Checkpoint
	resumed := ""
	if rep.Resumed {
		resumed = " (resumed)"
	}
	fmt.Fprintf(w, "imported %s%s: %d papers from %d pages in all; this run %d pages in %s\n",
		oaiimport.Describe(cp), resumed, cp.Papers, cp.Pages, rep.Pages, rep.Took.Round(time.Second))
	fmt.Fprintf(w, "  this run: %d new, %d updated, %d unchanged\n", rep.New, rep.Updated, rep.Unchanged)
	fmt.Fprintf(w, "  withdrawn (imported, marked by their comment): %d\n", rep.Withdrawn)
	if len(rep.NoRecords) > 0 {
		fmt.Fprintf(w, "  no records in the window: %s\n", strings.Join(rep.NoRecords, ", "))
	}
	if rep.Expired > 0 {
		fmt.Fprintf(w, "  expired resumption tokens (set restarted from its last datestamp): %d\n", rep.Expired)
	}
	fmt.Fprintf(w, "  skipped bad records: %d\n", cp.Skipped)
	for _, f := range cp.Failed {
		fmt.Fprintf(w, "  given up: %s\n", f)
	}
}
