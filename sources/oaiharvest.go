package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// OAICheckpoint is where an OAI-PMH harvest stands: enough to continue it after a crash without fetching a finished
// page again. It is saved (as JSON) together with each page's papers, in one transaction, so that the two can never
// disagree.
type OAICheckpoint struct {
	// Sets are the setSpecs to harvest, one after the other; empty harvests the whole archive.
	Sets []string `json:"sets,omitempty"`
	// From and Until bound the datestamps (YYYY-MM-DD, inclusive); "" leaves that side open.
	From  string `json:"from,omitempty"`
	Until string `json:"until,omitempty"`
	// Set is the index in Sets of the set being harvested.
	Set int `json:"set"`
	// SetFrom, when set, replaces From for the current set: the harvest restarted there after its resumption
	// token expired.
	SetFrom string `json:"set_from,omitempty"`
	// Token is the resumption token of the next page of the current set; "" means its first page.
	Token string `json:"token,omitempty"`
	// SetPage counts the pages of the current set already stored; Cursor and Total are the repository's position
	// and list size after them (Total -1 when unknown).
	SetPage int `json:"set_page"`
	Cursor  int `json:"cursor"`
	Total   int `json:"total"`
	// LastDatestamp is the latest record datestamp seen in the current set, where an expired token restarts.
	LastDatestamp string `json:"last_datestamp,omitempty"`
	// Pages, Papers and Skipped count the whole harvest: pages stored, papers stored, bad records skipped.
	Pages   int `json:"pages"`
	Papers  int `json:"papers"`
	Skipped int `json:"skipped"`
	// Failed lists the sets given up on (a page that stayed malformed, a repository error), with where.
	Failed []string `json:"failed,omitempty"`
	// Done is true once every set is harvested (or given up on).
	Done bool `json:"done"`
}

// CurrentSet is the setSpec being harvested, "" for the whole archive.
func (c OAICheckpoint) CurrentSet() string {
	if c.Set < len(c.Sets) {
		return c.Sets[c.Set]
	}
	return ""
}

// setCount is how many list requests the harvest makes from scratch: one per set, one when harvesting everything.
func (c OAICheckpoint) setCount() int {
	return max(1, len(c.Sets))
}

// nextSet moves on to the following set (or finishes).
func (c *OAICheckpoint) nextSet() {
	c.Set++
	c.SetFrom, c.Token, c.LastDatestamp = "", "", ""
	c.SetPage, c.Cursor, c.Total = 0, 0, -1
	if c.Set >= c.setCount() {
		c.Done = true
	}
}

// NewOAICheckpoint starts a harvest of sets (setSpecs; none for the whole archive) between from and until.
func NewOAICheckpoint(sets []string, from, until string) OAICheckpoint {
	return OAICheckpoint{Sets: sets, From: from, Until: until, Total: -1}
}

// OAIPageResult is one harvested page, handed to the caller with the checkpoint that follows it.
type OAIPageResult struct {
	// Set is the page's setSpec ("" for the whole archive) and Page its 1-based number within the set.
	Set  string
	Page int
	OAIPage
}

// NoticeKind classifies what the harvester tells its caller besides pages.
type NoticeKind int

// The kinds of OAINotice.
const (
	// NoticeRetry: a request failed in a way worth retrying (503 with Retry-After, a network error); the harvester
	// waits and asks again.
	NoticeRetry NoticeKind = iota
	// NoticeBadRecord: a record was skipped (its page is still stored).
	NoticeBadRecord
	// NoticeNoRecords: the repository has no records for a set in the window (noRecordsMatch).
	NoticeNoRecords
	// NoticeTokenExpired: the repository refused a resumption token (badResumptionToken); the set restarts from
	// the last datestamp seen, so some records of that day are fetched again (and merged, not stored twice).
	NoticeTokenExpired
	// NoticeMalformedPage: a page stayed unreadable after a retry; the rest of its set is given up.
	NoticeMalformedPage
	// NoticeSetFailed: the repository answered a set with an error other than the ones above.
	NoticeSetFailed
)

// OAINotice is one thing worth telling the person running the harvest.
type OAINotice struct {
	Kind NoticeKind
	// Set and Page locate it (Page is the 1-based page number within the set).
	Set     string
	Page    int
	Message string
	// Wait is how long the harvester pauses before retrying (NoticeRetry).
	Wait time.Duration
}

// OAIHarvester harvests arXiv's OAI-PMH ListRecords, page by page, through the shared fetcher (which keeps the host's
// politeness gap and honours Retry-After).
type OAIHarvester struct {
	// Get fetches a URL; the shared *Fetcher in production.
	Get Getter
	// BaseURL is the repository's base URL; DefaultOAIBase when empty.
	BaseURL string
	// Notify receives notices (retries, skipped records, expired tokens...); nil drops them.
	Notify func(OAINotice)
	// Sleep waits between retries, returning ctx's error if ctx ends first; a timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// Backoff spaces out retries the server gave no Retry-After for.
	Backoff Backoff
	// MaxRetries bounds consecutive failed attempts at one page before the harvest stops with the error (its
	// checkpoint still says where to resume); DefaultOAIMaxRetries when 0.
	MaxRetries int
	Logger     *slog.Logger
}

// DefaultOAIMaxRetries is OAIHarvester.MaxRetries when unset. arXiv answers a busy moment with 503 and a Retry-After
// of a few seconds, several times in a row at worst.
const DefaultOAIMaxRetries = 10

// Harvest continues the harvest cp describes until it is done, ctx ends, or a page cannot be fetched. For every
// page it calls fn with the page and the checkpoint that follows it; fn stores both (in one transaction), and an
// error from fn stops the harvest. It returns the last checkpoint fn accepted.
func (h *OAIHarvester) Harvest(ctx context.Context, cp OAICheckpoint, fn func(ctx context.Context, page OAIPageResult, next OAICheckpoint) error) (OAICheckpoint, error) {
	if h.Get == nil {
		return cp, errors.New("oai harvest: nil getter")
	}
	for !cp.Done {
		if err := ctx.Err(); err != nil {
			return cp, err
		}
		set, pageNo := cp.CurrentSet(), cp.SetPage+1
		u := h.listURL(cp)
		page, err := h.fetchPage(ctx, u, set, pageNo)
		var oerr *OAIError
		switch {
		case errors.As(err, &oerr) && oerr.Code == OAINoRecordsMatch:
			h.notify(OAINotice{Kind: NoticeNoRecords, Set: set, Page: pageNo,
				Message: fmt.Sprintf("%s page %d: no records match (%s)", setName(set), pageNo, window(cp))})
			next := cp
			next.nextSet()
			if err := fn(ctx, OAIPageResult{Set: set, Page: pageNo}, next); err != nil {
				return cp, err
			}
			cp = next
			continue
		case errors.As(err, &oerr) && oerr.Code == OAIBadResumptionToken && cp.Token != "" &&
			(cp.SetFrom == "" || cp.LastDatestamp > cp.SetFrom):
			// Restarting is only worth it when the harvest got past the day it last restarted from; otherwise
			// a repository that keeps expiring tokens would be asked for the same day forever.
			from := cp.LastDatestamp
			if from == "" {
				from = cp.From
			}
			h.notify(OAINotice{Kind: NoticeTokenExpired, Set: set, Page: pageNo,
				Message: fmt.Sprintf("%s page %d: the resumption token expired (%s); restarting the set from %s, the last datestamp seen",
					setName(set), pageNo, oerr.Message, orOpen(from))})
			cp.Token, cp.SetFrom = "", from
			cp.Cursor, cp.Total = 0, -1
			continue
		case errors.As(err, &oerr), errors.Is(err, ErrMalformedPage):
			kind, what := NoticeSetFailed, "the repository answered "+err.Error()
			if errors.Is(err, ErrMalformedPage) {
				kind, what = NoticeMalformedPage, "the page stayed malformed after a retry: "+err.Error()
			}
			h.notify(OAINotice{Kind: kind, Set: set, Page: pageNo,
				Message: fmt.Sprintf("%s page %d: %s; giving up the rest of this set", setName(set), pageNo, what)})
			next := cp
			next.Failed = append(next.Failed, fmt.Sprintf("%s from page %d (%s)", setName(set), pageNo, window(cp)))
			next.nextSet()
			if err := fn(ctx, OAIPageResult{Set: set, Page: pageNo}, next); err != nil {
				return cp, err
			}
			cp = next
			continue
		case err != nil:
			return cp, fmt.Errorf("oai harvest %s page %d: %w", setName(set), pageNo, err)
		}
		for _, b := range page.Bad {
			h.notify(OAINotice{Kind: NoticeBadRecord, Set: set, Page: pageNo,
				Message: fmt.Sprintf("%s page %d: skipped %s", setName(set), pageNo, b)})
		}
		next := cp
		next.Token = page.Token
		next.SetPage++
		next.Pages++
		next.Papers += len(page.Papers)
		next.Skipped += len(page.Bad)
		if page.Cursor >= 0 {
			next.Cursor = page.Cursor + page.Records
		} else {
			next.Cursor += page.Records
		}
		if page.Total >= 0 {
			next.Total = page.Total
		}
		if page.LastDatestamp > next.LastDatestamp {
			next.LastDatestamp = page.LastDatestamp
		}
		if page.Token == "" {
			next.nextSet()
		}
		if err := fn(ctx, OAIPageResult{Set: set, Page: pageNo, OAIPage: page}, next); err != nil {
			return cp, err
		}
		cp = next
	}
	return cp, nil
}

// listURL is the request for the checkpoint's next page: the resumption token alone (it is an exclusive argument),
// or the first request of the current set.
func (h *OAIHarvester) listURL(cp OAICheckpoint) string {
	base := h.BaseURL
	if base == "" {
		base = DefaultOAIBase
	}
	q := url.Values{"verb": {"ListRecords"}}
	if cp.Token != "" {
		q.Set("resumptionToken", cp.Token)
		return base + "?" + q.Encode()
	}
	q.Set("metadataPrefix", OAIPrefix)
	if s := cp.CurrentSet(); s != "" {
		q.Set("set", s)
	}
	from := cp.From
	if cp.SetFrom != "" {
		from = cp.SetFrom
	}
	if from != "" {
		q.Set("from", from)
	}
	if cp.Until != "" {
		q.Set("until", cp.Until)
	}
	return base + "?" + q.Encode()
}

// fetchPage fetches and parses one page. A 503/429 (with or without Retry-After), another 5xx or a network error
// is retried after the server's Retry-After or a backoff; a malformed page is fetched once more, since a truncated
// transfer looks the same. OAI-PMH error answers are returned as *OAIError, without retrying.
func (h *OAIHarvester) fetchPage(ctx context.Context, u, set string, pageNo int) (OAIPage, error) {
	maxRetries := h.MaxRetries
	if maxRetries <= 0 {
		maxRetries = DefaultOAIMaxRetries
	}
	malformed := 0
	for attempt := 1; ; attempt++ {
		var (
			page OAIPage
			err  error
			wait time.Duration
		)
		resp, gerr := h.Get.Get(ctx, u, paper.Validators{})
		switch {
		case gerr == nil && resp == nil:
			err = fmt.Errorf("fetch %s: no response", u)
		case gerr == nil:
			page, err = ParseOAIPage(resp.Body)
			if errors.Is(err, ErrMalformedPage) && malformed == 0 {
				malformed++
				h.notify(OAINotice{Kind: NoticeRetry, Set: set, Page: pageNo,
					Message: fmt.Sprintf("%s page %d: malformed response, asking again: %v", setName(set), pageNo, err)})
				continue
			}
			return page, err
		default:
			err = gerr
			var ok bool
			if wait, ok = retryable(err); !ok {
				return OAIPage{}, err
			}
		}
		if ctx.Err() != nil {
			return OAIPage{}, err
		}
		if attempt > maxRetries {
			return OAIPage{}, fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		if wait <= 0 {
			wait = h.Backoff.Delay(attempt)
		}
		h.notify(OAINotice{Kind: NoticeRetry, Set: set, Page: pageNo, Wait: wait,
			Message: fmt.Sprintf("%s page %d: %v; retrying in %s", setName(set), pageNo, err, wait.Round(time.Second))})
		if err := h.sleep(ctx, wait); err != nil {
			return OAIPage{}, fmt.Errorf("waiting to retry %s: %w", u, err)
		}
	}
}

// retryable says whether a fetch error is worth another attempt, and how long the server asked to wait (0: use
// the backoff).
func retryable(err error) (time.Duration, bool) {
	var blocked *HostBlockedError
	if errors.As(err, &blocked) {
		return blocked.Wait, true
	}
	var herr *HTTPError
	if errors.As(err, &herr) {
		switch {
		case herr.StatusCode == http.StatusServiceUnavailable, herr.StatusCode == http.StatusTooManyRequests:
			return herr.RetryAfter, true
		case herr.StatusCode >= 500:
			return 0, true
		}
		return 0, false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrForbiddenAddress) ||
		errors.Is(err, ErrTooManyRedirects) {
		return 0, false
	}
	// Network errors and our own request timeout: the connection may come back.
	return 0, true
}

func (h *OAIHarvester) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	return sleepCtx(ctx, d)
}

func (h *OAIHarvester) notify(n OAINotice) {
	if h.Notify != nil {
		h.Notify(n)
	}
	if h.Logger != nil {
		h.Logger.Debug("oai harvest", "set", n.Set, "page", n.Page, "msg", n.Message)
	}
}

// setName names a set in messages.
func setName(set string) string {
	if set == "" {
		return "all of arXiv"
	}
	return "set " + set
}

// window describes a harvest's date window in messages.
func window(cp OAICheckpoint) string {
	from := cp.From
	if cp.SetFrom != "" {
		from = cp.SetFrom
	}
	until := cp.Until
	if until == "" {
		until = "now"
	}
	return "from " + orOpen(from) + " until " + until
}

func orOpen(d string) string {
	if d == "" {
		return "the start"
	}
	return d
}
