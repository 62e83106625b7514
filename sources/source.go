package sources

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Getter fetches one URL with conditional-GET validators. *Fetcher implements it; tests use fakes. Its errors
// name the URL, so sources add only their own name.
type Getter interface {
	Get(ctx context.Context, url string, prev paper.Validators) (*Response, error)
}

var _ Getter = (*Fetcher)(nil)

// The source kinds New accepts.
const (
	KindArxiv    = "arxiv"
	KindArxivAPI = "arxiv-api"
	KindHFDaily  = "hf-daily"
	KindRSS      = "rss"
)

// kind declares one source kind: its name and how a configuration of that kind sets up a feedSource (URLs and
// parser), validating it on the way.
type kind struct {
	name string
	// keys are the configuration keys of [[sources]] this kind reads besides name, kind and interval; the others
	// are refused for it.
	keys      []string
	configure func(s *feedSource, cfg Config) error
}

// kinds is the registry of source kinds, in the order messages list them: adding a kind is one line here plus
// its configure function and parser.
func kinds() []kind {
	return []kind{
		{KindArxiv, []string{"url", "categories", "history"}, (*feedSource).configArxiv},
		{KindArxivAPI, []string{"url", "categories", "query", "max_results", "history"}, (*feedSource).configArxivAPI},
		{KindHFDaily, []string{"url", "min_upvotes", "days"}, (*feedSource).configHFDaily},
		{KindRSS, []string{"url"}, (*feedSource).configRSS},
	}
}

// KindKeys returns the [[sources]] keys a kind reads besides name, kind and interval (nil for an unknown kind),
// so that a key of another kind (query on arxiv) is refused rather than silently ignored.
func KindKeys(kind string) []string {
	for _, k := range kinds() {
		if k.name == kind {
			return k.keys
		}
	}
	return nil
}

// Kinds returns the names of the registered source kinds.
func Kinds() []string {
	ks := kinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.name
	}
	return names
}

// KindList names the source kinds for messages: "arxiv, arxiv-api, hf-daily or rss".
func KindList() string {
	names := Kinds()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Defaults and limits of the source kinds.
const (
	DefaultArxivRSSBase = "https://rss.arxiv.org/rss/"
	DefaultArxivAPIBase = "http://export.arxiv.org/api/query"
	DefaultHFDailyBase  = "https://huggingface.co/api/daily_papers"
	// DefaultMaxResults is the arxiv-api page size when none is configured.
	DefaultMaxResults = 100
	// MaxMaxResults is the largest page the arXiv API serves in one request.
	MaxMaxResults = 2000
	// DefaultHFDays covers today and yesterday (UTC): HF keeps adding papers to a day after it started.
	DefaultHFDays = 2
	// MaxHFDays bounds the requests one poll makes to the anonymous HF API.
	MaxHFDays = 14
)

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("invalid source config")

// An arXiv category: archive ("hep-ex", "q-bio", "math") with an optional subject class ("cs.LG", "cond-mat.str-el").
var arxivCategoryRe = regexp.MustCompile(`^[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]+(?:-[a-z]+)*)?$`)

// Config describes one configured source.
type Config struct {
	// Name is the unique source name, recorded in Paper.Sources.
	Name string
	// Kind is one of KindArxiv, KindArxivAPI, KindHFDaily, KindRSS.
	Kind string
	// URL is the whole feed URL for arxiv and rss; for arxiv-api and hf-daily it replaces the API base URL (a mirror,
	// or a test server).
	URL string
	// Categories are arXiv categories: joined with "+" into the arxiv feed URL; for arxiv-api without Query they
	// become "cat:A OR cat:B".
	Categories []string
	// Query is the arxiv-api search_query ("cat:q-bio.NC AND abs:EEG").
	Query string
	// MaxResults is the arxiv-api page size (default DefaultMaxResults, at most MaxMaxResults).
	MaxResults int
	// MinUpvotes drops hf-daily papers with fewer upvotes.
	MinUpvotes int
	// Days is how many recent UTC days hf-daily fetches (default DefaultHFDays, at most MaxHFDays).
	Days int
}

// New validates cfg and returns its Source. g is the shared fetcher; now is the clock (time.Now when nil), which
// decides the hf-daily dates and turns max-age into PollResult.NextPoll.
func New(cfg Config, g Getter, now func() time.Time) (Source, error) {
	if strings.TrimSpace(cfg.Name) == "" {
		return nil, fmt.Errorf("source of kind %q: empty name: %w", cfg.Kind, ErrConfig)
	}
	if g == nil {
		return nil, fmt.Errorf("source %q: nil getter: %w", cfg.Name, ErrConfig)
	}
	if now == nil {
		now = time.Now
	}
	s := &feedSource{name: cfg.Name, kind: cfg.Kind, get: g, now: now}
	err := fmt.Errorf("unknown kind %q (want %s)", cfg.Kind, KindList())
	for _, k := range kinds() {
		if k.name == cfg.Kind {
			err = k.configure(s, cfg)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("source %q: %w: %w", cfg.Name, ErrConfig, err)
	}
	return s, nil
}

// feedSource is every kind of source: they differ only in the URLs they fetch and the parser they use.
type feedSource struct {
	name, kind string
	get        Getter
	now        func() time.Time
	// urls lists the URLs to fetch at time now, in order.
	urls       func(now time.Time) []string
	parse      func([]byte) ([]paper.Paper, parseStats, error)
	minUpvotes int
}

func (s *feedSource) configArxiv(cfg Config) error {
	s.parse = parseArxivFeed
	if cfg.URL != "" {
		if err := checkURL(cfg.URL); err != nil {
			return err
		}
		s.urls = fixedURL(cfg.URL)
		return nil
	}
	if len(cfg.Categories) == 0 {
		return errors.New("arxiv needs categories or a url")
	}
	if err := checkCategories(cfg.Categories); err != nil {
		return err
	}
	s.urls = fixedURL(DefaultArxivRSSBase + strings.Join(cfg.Categories, "+"))
	return nil
}

func (s *feedSource) configArxivAPI(cfg Config) error {
	s.parse = parseArxivAPI
	base, err := apiBase(cfg.URL, DefaultArxivAPIBase)
	if err != nil {
		return err
	}
	query := strings.TrimSpace(cfg.Query)
	if query == "" {
		if len(cfg.Categories) == 0 {
			return errors.New("arxiv-api needs a query or categories")
		}
		if err := checkCategories(cfg.Categories); err != nil {
			return err
		}
		terms := make([]string, len(cfg.Categories))
		for i, c := range cfg.Categories {
			terms[i] = "cat:" + c
		}
		query = strings.Join(terms, " OR ")
	}
	n := cfg.MaxResults
	switch {
	case n == 0:
		n = DefaultMaxResults
	case n < 0 || n > MaxMaxResults:
		return fmt.Errorf("max_results %d out of range 1..%d", n, MaxMaxResults)
	}
	// Built by hand to keep the documented parameter order; QueryEscape turns spaces into "+", as arXiv expects.
	u := base + "?search_query=" + url.QueryEscape(query) + "&sortBy=submittedDate&sortOrder=descending&max_results=" +
		strconv.Itoa(n)
	s.urls = fixedURL(u)
	return nil
}

func (s *feedSource) configHFDaily(cfg Config) error {
	s.parse = parseHFDaily
	base, err := apiBase(cfg.URL, DefaultHFDailyBase)
	if err != nil {
		return err
	}
	days := cfg.Days
	switch {
	case days == 0:
		days = DefaultHFDays
	case days < 0 || days > MaxHFDays:
		return fmt.Errorf("days %d out of range 1..%d", days, MaxHFDays)
	}
	if cfg.MinUpvotes < 0 {
		return fmt.Errorf("min_upvotes %d is negative", cfg.MinUpvotes)
	}
	s.minUpvotes = cfg.MinUpvotes
	s.urls = func(now time.Time) []string {
		day := now.UTC()
		urls := make([]string, days)
		// Oldest first, so that papers come out in the order they were listed.
		for i := range days {
			urls[days-1-i] = base + "?date=" + day.AddDate(0, 0, -i).Format(time.DateOnly)
		}
		return urls
	}
	return nil
}

func (s *feedSource) configRSS(cfg Config) error {
	s.parse = parseFeed
	if cfg.URL == "" {
		return errors.New("rss needs a url")
	}
	if err := checkURL(cfg.URL); err != nil {
		return err
	}
	s.urls = fixedURL(cfg.URL)
	return nil
}

// fixedURL is the URL list of a source that always fetches one URL.
func fixedURL(u string) func(time.Time) []string {
	return func(time.Time) []string { return []string{u} }
}

// apiBase returns the configured base URL, or def; a base may not carry its own query, which would be mangled.
func apiBase(configured, def string) (string, error) {
	if configured == "" {
		return def, nil
	}
	if err := checkURL(configured); err != nil {
		return "", err
	}
	if strings.ContainsAny(configured, "?#") {
		return "", fmt.Errorf("base url %s must not have a query or fragment", RedactURL(configured))
	}
	return configured, nil
}

// checkURL accepts absolute http(s) URLs only: a typo should fail at start, not at every poll. Its errors name the
// URL redacted: a feed URL may carry credentials.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("bad url %s", RedactURL(s))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %s is not an absolute http(s) url", RedactURL(s))
	}
	return nil
}

// contentType is a response's media type for error messages, without parameters; "none" when absent.
func contentType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	switch {
	case h.Get("Content-Type") == "":
		return "none"
	case err != nil || len(mt) > 100:
		return "unparsable"
	}
	return mt
}

// checkCategories accepts arXiv's current categories and archives only (arxiv_categories.txt): a typo would be an
// empty feed forever, and nothing else can smuggle a URL in.
func checkCategories(cats []string) error {
	for _, c := range cats {
		if err := CheckArxivCategory(c); err != nil {
			return err
		}
	}
	return nil
}

// Name implements Source.
func (s *feedSource) Name() string { return s.name }

// Kind implements Source.
func (s *feedSource) Kind() string { return s.kind }

// Poll implements Source. Any failure fails the whole poll, so that the caller stores no validators and refetches
// everything next time; nothing is skipped.
func (s *feedSource) Poll(ctx context.Context, prev map[string]paper.Validators) (PollResult, error) {
	now := s.now()
	urls := s.urls(now)
	res := PollResult{NotModified: true, Validators: make(map[string]paper.Validators, len(urls))}
	index := make(map[string]int)
	for _, u := range urls {
		resp, err := s.get.Get(ctx, u, prev[u])
		if err != nil {
			// The fetcher's errors name the URL already.
			return PollResult{}, fmt.Errorf("source %q: %w", s.name, err)
		}
		if resp == nil {
			return PollResult{}, fmt.Errorf("source %q: fetch %s: no response", s.name, RedactURL(u))
		}
		v := resp.Validators
		if resp.NotModified && v == (paper.Validators{}) {
			v = prev[u]
		}
		res.Validators[u] = v
		if resp.MaxAge > 0 {
			if next := now.Add(resp.MaxAge); next.After(res.NextPoll) {
				res.NextPoll = next
			}
		}
		if resp.NotModified {
			continue
		}
		res.NotModified = false
		papers, st, err := s.parse(resp.Body)
		if err != nil {
			// The body is never quoted (it may be an internal service's answer): its type and size (in the parser's
			// error) say enough.
			return PollResult{}, fmt.Errorf("source %q: %s (content-type %s): %w", s.name, RedactURL(u),
				contentType(resp.Header), err)
		}
		res.Repaired += st.Repaired
		res.Truncated += st.Truncated
		res.Skipped += st.Skipped
		for _, p := range papers {
			if s.kind == KindHFDaily && p.Upvotes < s.minUpvotes {
				continue
			}
			p.Sources = []string{s.name}
			// One paper can be listed under two HF days or two feed pages: report it once.
			if i, ok := index[p.Key]; ok {
				res.Papers[i] = paper.Merge(res.Papers[i], p)
				continue
			}
			index[p.Key] = len(res.Papers)
			res.Papers = append(res.Papers, p)
		}
	}
	return res, nil
}

// Validate checks cfg exactly as New would, without a fetcher: for `paperboy check` and config loading.
func (c Config) Validate() error {
	_, err := New(c, validateOnly{}, nil)
	return err
}

// validateOnly is the Getter of Validate; it is never called.
type validateOnly struct{}

func (validateOnly) Get(context.Context, string, paper.Validators) (*Response, error) {
	return nil, errors.New("validate only: no fetcher")
}
