// Package oaiimport imports arXiv's metadata as history by harvesting its OAI-PMH interface (paperboy import arxiv):
// page by page through the shared fetcher, each page stored with the checkpoint that follows it in one transaction,
// so that an interrupted import continues where it stopped without fetching a finished page again.
package oaiimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/progress"

	"github.com/paperboy-bot/paperboy/sources"
)

// Store is what the import needs of a store (both stores implement it).
type Store interface {
	// ImportState returns the saved checkpoint of the named import (nil, false when none).
	ImportState(ctx context.Context, name string) (state []byte, ok bool, err error)
	// ImportBatch stores papers as history and saves state as the named import's checkpoint, in one transaction.
	ImportBatch(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error)
}

// Name is the import's name in the store: its checkpoint's, and the source its papers list.
const Name = "arxiv-oai"

// ErrNoCheckpoint is returned by a resume when no harvest was ever started.
var ErrNoCheckpoint = errors.New("no arXiv import to resume")

// ErrMismatch is returned by a resume given categories or dates other than the saved harvest's.
var ErrMismatch = errors.New("the saved arXiv import is of other categories or dates")

// Options configure Run.
type Options struct {
	// Harvester fetches the pages (its Get and BaseURL set by the caller); Run sets its Notify.
	Harvester *sources.OAIHarvester
	// Categories are arXiv categories, archives, groups or OAI setSpecs (cs.LG, hep-th, math, cs:cs:AI); none
	// harvests the whole archive.
	Categories []string
	// From and Until bound the OAI datestamps (YYYY-MM-DD, inclusive); "" leaves that side open.
	From, Until string
	// Resume continues the saved harvest instead of starting one.
	Resume bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Progress receives a progress line per page: rewritten in place (\r) when Terminal, else one line per page.
	Progress io.Writer
	Terminal bool
	// Messages receives what went wrong or was worth saying (skipped records, expired tokens, retries), one line
	// each; skipped records beyond MaxBadReports (20 when 0) are only counted.
	Messages      io.Writer
	MaxBadReports int
}

// Report says what an import did.
type Report struct {
	// Checkpoint is where the harvest stands (its counts cover earlier runs of a resumed harvest).
	Checkpoint sources.OAICheckpoint
	// Resumed says the run continued a saved harvest; AlreadyDone that it found it finished.
	Resumed, AlreadyDone bool
	// Pages and Papers count this run's pages and papers; New, Updated and Unchanged what the store made of them.
	Pages, Papers           int
	New, Updated, Unchanged int
	// Withdrawn counts this run's papers marked withdrawn by their comment (imported all the same).
	Withdrawn int
	// NoRecords lists the sets the repository had nothing for; Expired counts restarts after an expired token;
	// Retries the requests asked again.
	NoRecords []string
	Expired   int
	Retries   int
	Took      time.Duration
}

// Skipped is the number of bad records skipped over the whole harvest.
func (r Report) Skipped() int { return r.Checkpoint.Skipped }

// Clean says nothing was skipped or given up.
func (r Report) Clean() bool { return r.Checkpoint.Skipped == 0 && len(r.Checkpoint.Failed) == 0 }

// Plan turns the command's arguments into a fresh checkpoint: categories into setSpecs (deduplicated, in order) and
// dates checked.
func Plan(categories []string, from, until string) (sources.OAICheckpoint, error) {
	var sets []string
	for _, c := range categories {
		if strings.TrimSpace(c) == "" {
			continue
		}
		s, err := sources.OAISet(c)
		if err != nil {
			return sources.OAICheckpoint{}, err
		}
		if !slices.Contains(sets, s) {
			sets = append(sets, s)
		}
	}
	var f, u time.Time
	for _, d := range []struct {
		name, v string
		t       *time.Time
	}{{"--from", from, &f}, {"--until", until, &u}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			return sources.OAICheckpoint{}, fmt.Errorf("%s %q: want a date as YYYY-MM-DD", d.name, d.v)
		}
		*d.t = t
	}
	if !f.IsZero() && !u.IsZero() && u.Before(f) {
		return sources.OAICheckpoint{}, fmt.Errorf("--until %s is before --from %s", until, from)
	}
	return sources.NewOAICheckpoint(sets, from, until), nil
}

// Run harvests (or resumes harvesting) until done, ctx ends or a page cannot be fetched; the checkpoint in the
// store then says where a resume continues. Records that could not be used, sets without records and sets given
// up are counted in the report and told to Messages as they happen.
func Run(ctx context.Context, st Store, o Options) (Report, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	var rep Report
	fresh, err := Plan(o.Categories, o.From, o.Until)
	if err != nil {
		return rep, err
	}
	saved, ok, err := st.ImportState(ctx, Name)
	if err != nil {
		return rep, fmt.Errorf("read the import's checkpoint: %w", err)
	}
	var prev sources.OAICheckpoint
	if ok {
		if err := json.Unmarshal(saved, &prev); err != nil {
			return rep, fmt.Errorf("read the import's checkpoint: %w", err)
		}
	}
	cp := fresh
	switch {
	case o.Resume && !ok:
		return rep, ErrNoCheckpoint
	case o.Resume:
		if (len(o.Categories) > 0 && !slices.Equal(fresh.Sets, prev.Sets)) || (o.From != "" && o.From != prev.From) ||
			(o.Until != "" && o.Until != prev.Until) {
			return rep, fmt.Errorf("%w (%s); resume without --categories/--from/--until, or start a new import without --resume",
				ErrMismatch, describe(prev))
		}
		cp, rep.Resumed = prev, true
		if prev.Done {
			rep.Checkpoint, rep.AlreadyDone = prev, true
			return rep, nil
		}
	case ok && !prev.Done:
		say(o, nil, fmt.Sprintf("replacing the unfinished import of %s (page %d of %s); --resume would have continued it",
			describe(prev), prev.SetPage+1, setLabel(prev.CurrentSet())))
	}

	prog := &pageProgress{line: progress.New(o.Progress, o.Terminal, 0, now), start: now(), now: now, papers0: cp.Papers}
	// Whatever ends the harvest, the drawn line ends first, so that a message or error starts on a line of its own.
	defer prog.line.Finish()
	h := *o.Harvester
	maxBad := o.MaxBadReports
	if maxBad <= 0 {
		maxBad = 20
	}
	bad := 0
	h.Notify = func(n sources.OAINotice) {
		switch n.Kind {
		case sources.NoticeBadRecord:
			bad++
			if bad > maxBad {
				return
			}
			if bad == maxBad {
				say(o, prog, n.Message+" (further skipped records are only counted)")
				return
			}
		case sources.NoticeNoRecords:
			rep.NoRecords = append(rep.NoRecords, setLabel(n.Set))
		case sources.NoticeTokenExpired:
			rep.Expired++
		case sources.NoticeRetry:
			rep.Retries++
		}
		say(o, prog, n.Message)
	}
	store := func(ctx context.Context, page sources.OAIPageResult, next sources.OAICheckpoint) error {
		state, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("encode checkpoint: %w", err)
		}
		res, err := st.ImportBatch(ctx, Name, page.Papers, state, now())
		if err != nil {
			return fmt.Errorf("store %s page %d: %w", setLabel(page.Set), page.Page, err)
		}
		if page.Records > 0 {
			rep.Pages++
		}
		rep.Papers += len(page.Papers)
		rep.New += len(res.New)
		rep.Updated += len(res.Updated)
		rep.Unchanged += res.Unchanged
		for _, p := range page.Papers {
			if sources.Withdrawn(p.Comment) {
				rep.Withdrawn++
			}
		}
		prog.records += page.Records
		prog.update(page, next)
		return nil
	}
	cp, err = h.Harvest(ctx, cp, store)
	rep.Checkpoint = cp
	rep.Took = now().Sub(start)
	return rep, err
}

// describe names a harvest in messages: its sets and window.
func describe(cp sources.OAICheckpoint) string {
	sets := "all of arXiv"
	if len(cp.Sets) > 0 {
		sets = "sets " + strings.Join(cp.Sets, ", ")
	}
	from, until := cp.From, cp.Until
	if from == "" {
		from = "the start"
	}
	if until == "" {
		until = "now"
	}
	return sets + " from " + from + " until " + until
}

// Describe names the harvest a checkpoint belongs to, for the command's messages.
func Describe(cp sources.OAICheckpoint) string { return describe(cp) }

func setLabel(set string) string {
	if set == "" {
		return "all of arXiv"
	}
	return "set " + set
}

// say writes one message line; on a terminal it first clears the progress line, which the next page redraws.
func say(o Options, prog *pageProgress, msg string) {
	if o.Messages == nil {
		return
	}
	if prog != nil {
		prog.line.Clear()
	}
	// A message that cannot be written has nowhere else to go; the report at the end still counts it.
	_, _ = fmt.Fprintln(o.Messages, msg)
}

// pageProgress shows a progress line per page: pages and papers in all, the rate of this run, and the time left,
// estimated from the repository's completeListSize and the records per second of this run.
type pageProgress struct {
	line    *progress.Line
	now     func() time.Time
	start   time.Time
	records int
	papers0 int // papers of the pages before this run (a resume)
}

func (p *pageProgress) update(page sources.OAIPageResult, next sources.OAICheckpoint) {
	elapsed := p.now().Sub(p.start)
	var left time.Duration
	total := ""
	if page.Total > 0 {
		done := page.Records
		if page.Cursor >= 0 {
			done += page.Cursor
		}
		total = fmt.Sprintf(" (%d of %d records in the set)", done, page.Total)
		left = progress.Left(int64(page.Total-done), int64(p.records), elapsed)
	}
	line := fmt.Sprintf("arxiv: %s (%d/%d) page %d: %d pages%s, ", setLabel(page.Set), min(next.Set+1, max(1, len(next.Sets))),
		max(1, len(next.Sets)), page.Page, next.Pages, total) +
		progress.Stats(int64(next.Papers), progress.Rate(int64(next.Papers-p.papers0), elapsed), left)
	if next.Skipped > 0 {
		line += fmt.Sprintf(", %d skipped", next.Skipped)
	}
	p.line.Show(line, false)
}
