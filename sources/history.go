package sources

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Limits of the arXiv API on one query (its user manual, "Paging"): slices of at most MaxMaxResults, at most
// APIMaxTotal results in all. It recommends slices of about a thousand.
const (
	APIMaxTotal            = 30000
	DefaultHistoryPageSize = 1000
)

// HistoryWindow is a submission-date window, minute precision as the API's submittedDate filter has.
type HistoryWindow struct {
	From  time.Time `json:"from"`
	Until time.Time `json:"until"`
}

// HistoryCheckpoint is where a source's history fetch stands, saved with every page it stores.
type HistoryCheckpoint struct {
	// Query is the source's search_query, without the date filter.
	Query string `json:"query"`
	// From and Until are the whole window asked for.
	From  time.Time `json:"from"`
	Until time.Time `json:"until"`
	// Pending are the windows still to fetch, the first one in progress; a window whose results exceed the API's
	// total limit is split in two.
	Pending []HistoryWindow `json:"pending,omitempty"`
	// Start is the offset of the next page within the first pending window.
	Start int `json:"start"`
	// Pages and Papers count what was stored.
	Pages  int  `json:"pages"`
	Papers int  `json:"papers"`
	Done   bool `json:"done"`
}

// NewHistoryCheckpoint starts fetching the papers matching query submitted between from and until.
func NewHistoryCheckpoint(query string, from, until time.Time) HistoryCheckpoint {
	from, until = from.UTC().Truncate(time.Minute), until.UTC().Truncate(time.Minute)
	return HistoryCheckpoint{Query: query, From: from, Until: until, Pending: []HistoryWindow{{From: from, Until: until}},
		Done: !until.After(from)}
}

// HistoryQuery is the arXiv API search_query of a source's history: its query for arxiv-api, its categories ORed
// for arxiv and arxiv-api. Other kinds, and an arxiv source given only a URL, have none.
func (c Config) HistoryQuery() (string, error) {
	if c.Kind != KindArxiv && c.Kind != KindArxivAPI {
		return "", fmt.Errorf("history is only for %s and %s sources", KindArxiv, KindArxivAPI)
	}
	if c.Kind == KindArxivAPI {
		if q := strings.TrimSpace(c.Query); q != "" {
			return q, nil
		}
	}
	if len(c.Categories) == 0 {
		return "", errors.New("history needs the source's categories (or, for arxiv-api, its query)")
	}
	if err := checkCategories(c.Categories); err != nil {
		return "", err
	}
	terms := make([]string, len(c.Categories))
	for i, cat := range c.Categories {
		terms[i] = "cat:" + cat
	}
	return strings.Join(terms, " OR "), nil
}

// HistoryFetcher pages through the arXiv API for the papers submitted in a window, through the shared fetcher (which
// keeps export.arxiv.org's politeness gap and honours Retry-After).
type HistoryFetcher struct {
	Get Getter
	// BaseURL is the API's query URL; DefaultArxivAPIBase when empty.
	BaseURL string
	// PageSize is max_results per request: DefaultHistoryPageSize when 0, at most MaxMaxResults.
	PageSize int
	// MaxTotal is the most results one query may page through: APIMaxTotal when 0.
	MaxTotal int
	// Sleep, Backoff and MaxRetries handle 503s and network errors as OAIHarvester does.
	Sleep      func(ctx context.Context, d time.Duration) error
	Backoff    Backoff
	MaxRetries int
	Logger     *slog.Logger
}

// Fetch continues cp until it is done, calling fn with every page's papers and the checkpoint after it.
func (h *HistoryFetcher) Fetch(ctx context.Context, cp HistoryCheckpoint, fn func(ctx context.Context, papers []paper.Paper, next HistoryCheckpoint) error) (HistoryCheckpoint, error) {
	if h.Get == nil {
		return cp, errors.New("history fetch: nil getter")
	}
	size := h.PageSize
	if size <= 0 {
		size = DefaultHistoryPageSize
	}
	size = min(size, MaxMaxResults)
	maxTotal := h.MaxTotal
	if maxTotal <= 0 {
		maxTotal = APIMaxTotal
	}
	empties := 0
	for !cp.Done {
		if len(cp.Pending) == 0 {
			cp.Done = true
			if err := fn(ctx, nil, cp); err != nil {
				return cp, err
			}
			break
		}
		w := cp.Pending[0]
		body, err := h.get(ctx, h.pageURL(cp.Query, w, cp.Start, size))
		if err != nil {
			return cp, err
		}
		total, papers, err := parseAPIPage(body)
		if err != nil {
			return cp, fmt.Errorf("history %s: %w", h.describe(cp.Query, w), err)
		}
		next := cp
		next.Pending = append([]HistoryWindow(nil), cp.Pending...)
		switch {
		case total > maxTotal && w.Until.Sub(w.From) > time.Minute:
			// The API would stop serving this window part way: fetch it as two halves instead.
			mid := w.From.Add(w.Until.Sub(w.From) / 2).Truncate(time.Minute)
			next.Pending = append([]HistoryWindow{{From: w.From, Until: mid}, {From: mid, Until: w.Until}}, next.Pending[1:]...)
			next.Start = 0
			cp = next
			continue
		case len(papers) == 0 && cp.Start < min(total, maxTotal) && empties < 2:
			// The API sometimes answers a page with no entries under load; asking again usually fills it.
			empties++
			continue
		}
		empties = 0
		next.Start += len(papers)
		next.Papers += len(papers)
		next.Pages++
		if len(papers) == 0 || next.Start >= min(total, maxTotal) {
			next.Pending = next.Pending[1:]
			next.Start = 0
		}
		next.Done = len(next.Pending) == 0
		if err := fn(ctx, papers, next); err != nil {
			return cp, err
		}
		cp = next
	}
	return cp, nil
}

// pageURL builds one API request: the query limited to the window by submittedDate, oldest first so that paging is
// stable while new papers arrive.
func (h *HistoryFetcher) pageURL(query string, w HistoryWindow, start, size int) string {
	base := h.BaseURL
	if base == "" {
		base = DefaultArxivAPIBase
	}
	const layout = "200601021504"
	q := "(" + query + ") AND submittedDate:[" + w.From.UTC().Format(layout) + " TO " + w.Until.UTC().Format(layout) + "]"
	return base + "?search_query=" + url.QueryEscape(q) + "&sortBy=submittedDate&sortOrder=ascending&start=" +
		strconv.Itoa(start) + "&max_results=" + strconv.Itoa(size)
}

func (h *HistoryFetcher) describe(query string, w HistoryWindow) string {
	return fmt.Sprintf("%q %s..%s", query, w.From.Format(time.RFC3339), w.Until.Format(time.RFC3339))
}

// get fetches with the retry policy of the OAI harvester.
func (h *HistoryFetcher) get(ctx context.Context, u string) ([]byte, error) {
	maxRetries := h.MaxRetries
	if maxRetries <= 0 {
		maxRetries = DefaultOAIMaxRetries
	}
	for attempt := 1; ; attempt++ {
		resp, err := h.Get.Get(ctx, u, paper.Validators{})
		if err == nil && resp != nil {
			return resp.Body, nil
		}
		if err == nil {
			err = fmt.Errorf("fetch %s: no response", u)
		}
		wait, ok := retryable(err)
		if !ok || ctx.Err() != nil || attempt > maxRetries {
			return nil, err
		}
		if wait <= 0 {
			wait = h.Backoff.Delay(attempt)
		}
		if h.Logger != nil {
			h.Logger.Warn("history fetch failed, retrying", "err", err, "retry_in", wait)
		}
		sleep := h.Sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("waiting to retry %s: %w", u, err)
		}
	}
}

// parseAPIPage reads an API response's papers and its opensearch:totalResults.
func parseAPIPage(data []byte) (int, []paper.Paper, error) {
	papers, err := ParseArxivAPI(data)
	if err != nil {
		return 0, nil, err
	}
	var head struct {
		Total string `xml:"totalResults"`
	}
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&head); err != nil {
		return 0, nil, fmt.Errorf("parse arxiv api response: %w", err)
	}
	total, err := strconv.Atoi(strings.TrimSpace(head.Total))
	if err != nil {
		return 0, nil, fmt.Errorf("parse arxiv api response: opensearch:totalResults %q: %w", head.Total, err)
	}
	return total, papers, nil
}
