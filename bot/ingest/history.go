package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/paperboy-bot/paperboy/sources"
)

// HistoryStore keeps imported history: papers stored without routing, with the import's checkpoint in the same
// transaction.
type HistoryStore interface {
	ImportState(ctx context.Context, name string) (state []byte, ok bool, err error)
	ImportBatch(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error)
}

// HistorySpec is one source's [[sources]] history: what to fetch from the arXiv API and how far back.
type HistorySpec struct {
	// Query is the arXiv API search_query (the source's query, or its categories ORed).
	Query string
	// Window is how far back a first start fetches; Interval is the source's poll interval: a restart after a gap
	// longer than it fetches the gap (at most Window).
	Window, Interval time.Duration
	// BaseURL is the API's query URL ("" for arXiv's).
	BaseURL string
}

// History fills a source's recent past from the arXiv API into the store as history, so that a new install answers
// look-ups and subscribe previews over the last weeks at once. The papers are never routed. What was fetched is
// recorded under HistoryName(source), page by page, so that a restart neither redoes a finished window nor refetches
// a stored page of an interrupted one.
type History struct {
	Store HistoryStore
	// Get is the shared fetcher, which keeps export.arxiv.org's politeness gap.
	Get   sources.Getter
	Specs map[string]HistorySpec
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
	// Sleep and Backoff are the fetcher's retry waits (tests make them instant).
	Sleep   func(ctx context.Context, d time.Duration) error
	Backoff sources.Backoff
}

// HistoryName is the import name under which a source's history checkpoint is kept.
func HistoryName(source string) string { return "history:" + source }

// Fill fetches source's history if it is due: never fetched, interrupted, or last fetched longer ago than the
// source's poll interval. A source without a spec has nothing to do.
func (h *History) Fill(ctx context.Context, source string) error {
	spec, ok := h.Specs[source]
	if !ok || spec.Window <= 0 {
		return nil
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	t := now()
	name := HistoryName(source)
	saved, found, err := h.Store.ImportState(ctx, name)
	if err != nil {
		return fmt.Errorf("history of %s: read checkpoint: %w", source, err)
	}
	var cp sources.HistoryCheckpoint
	if found {
		if err := json.Unmarshal(saved, &cp); err != nil {
			return fmt.Errorf("history of %s: read checkpoint: %w", source, err)
		}
	}
	from := t.Add(-spec.Window)
	switch {
	case found && cp.Query == spec.Query && !cp.Done:
		// Interrupted: continue where it stopped.
	case found && cp.Query == spec.Query && t.Sub(cp.Until) <= spec.Interval:
		return nil
	default:
		if found && cp.Query == spec.Query && cp.Until.After(from) {
			from = cp.Until
		}
		cp = sources.NewHistoryCheckpoint(spec.Query, from, t)
	}
	log := h.logger().With("source", source)
	log.Info("fetching history", "from", cp.From, "until", cp.Until, "query", spec.Query)
	f := &sources.HistoryFetcher{Get: h.Get, BaseURL: spec.BaseURL, Sleep: h.Sleep, Backoff: h.Backoff, Logger: log}
	start := now()
	stored := 0
	cp, err = f.Fetch(ctx, cp, func(ctx context.Context, papers []paper.Paper, next sources.HistoryCheckpoint) error {
		state, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("encode checkpoint: %w", err)
		}
		res, err := h.Store.ImportBatch(ctx, name, papers, state, now())
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		stored += len(res.New)
		return nil
	})
	if err != nil {
		return fmt.Errorf("history of %s: %w", source, err)
	}
	log.Info("history fetched", "papers", cp.Papers, "new", stored, "pages", cp.Pages, "took", now().Sub(start).Round(time.Millisecond))
	return nil
}

func (h *History) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
