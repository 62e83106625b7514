package command

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/bibtex"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/relevance"
	"github.com/paperboy-bot/paperboy/filters"
)

// FeedbackStore is what /papers feedback, like, saved, unsave, export and forget-me and the ranked look-ups need
// from the store. Both stores implement it; Commander.Feedback defaults to the Store when it does.
type FeedbackStore interface {
	// Saved returns up to limit papers of user's reading list (in user's workspace) from offset on, newest
	// first, and how many it holds.
	Saved(ctx context.Context, user channel.User, offset, limit int) ([]channel.SavedPaper, int, error)
	// Unsave takes paperKey off user's reading list; false when it was not on it.
	Unsave(ctx context.Context, user channel.User, paperKey string) (bool, error)
	// Forget deletes user's votes and reading list in user's workspace and says how many of each went.
	Forget(ctx context.Context, user channel.User) (votes, saved int, err error)
	// ChannelVotes returns the votes cast in ch at or after since, with their papers, newest first.
	ChannelVotes(ctx context.Context, ch channel.Ref, since time.Time) ([]channel.Vote, error)
	// PaperByKey returns a stored paper; channel.ErrNotFound when there is none.
	PaperByKey(ctx context.Context, key string) (paper.Paper, error)
	// SimilarExplained returns the n papers most like paperKey's, best first, and the terms it looked for.
	SimilarExplained(ctx context.Context, paperKey string, n int) (terms []string, similar []paper.Paper, err error)
	// RankedCandidates returns up to limit papers that may satisfy pre, best full-text match first, with scores.
	RankedCandidates(ctx context.Context, pre *filters.Prefilter, limit int) ([]paper.Paper, []float64, error)
}

// Limits of the feedback commands.
const (
	// FeedbackWindow is how far back /papers feedback looks.
	FeedbackWindow = 30 * 24 * time.Hour
	// RankingWindow is how far back the votes go that rank papers for a channel: longer than FeedbackWindow, so
	// that a quiet month does not forget what a channel likes.
	RankingWindow = 365 * 24 * time.Hour
	// FeedbackPapers bounds the voted papers /papers feedback lists.
	FeedbackPapers = 10
	// LikeResults is how many similar papers /papers like shows.
	LikeResults = 5
	// SavedPage is how many saved papers one page of /papers saved shows.
	SavedPage = 10
	// MaxExport bounds the entries of one export.
	MaxExport = 500
	// CodeBlockRunes bounds one code block of a reply: under Discord's 2,000-character message content and
	// Slack's 3,000-character section, with room for the fences.
	CodeBlockRunes = 1900
	// MaxCodeBlocks bounds the code blocks of one chat reply (Discord's 6,000 characters of embeds in one
	// message); `paperboy cmd` prints a whole export (Commander.WholeExports).
	MaxCodeBlocks = 3
	// rankedCandidates is how many best full-text matches a sort:relevant look-up ranks.
	rankedCandidates = 500
)

// feedback returns the store's feedback side, nil when it has none.
func (c *Commander) feedback() FeedbackStore {
	if c.Feedback != nil {
		return c.Feedback
	}
	f, _ := c.Store.(FeedbackStore)
	return f
}

func unavailable() bot.Reply {
	return failed("This paperboy's store keeps no votes or reading lists.")
}

func (c *Commander) feedbackCmd(ctx context.Context, req bot.Request, _ Args) (bot.Reply, error) {
	f := c.feedback()
	if f == nil {
		return unavailable(), nil
	}
	votes, err := f.ChannelVotes(ctx, req.Channel, c.now().Add(-FeedbackWindow))
	if err != nil {
		return bot.Reply{}, fmt.Errorf("feedback: %w", err)
	}
	if len(votes) == 0 {
		return private("Nobody voted on a paper in this channel in the last 30 days. The Relevant and Not relevant buttons on each card teach the bot what this channel wants."), nil
	}
	type count struct {
		p        paper.Paper
		up, down int
		last     time.Time
	}
	byKey := map[string]*count{}
	var order []*count
	users := map[string]bool{}
	up, down := 0, 0
	for _, v := range votes {
		users[v.User] = true
		cn := byKey[v.Paper.Key]
		if cn == nil {
			cn = &count{p: v.Paper, last: v.At}
			byKey[v.Paper.Key] = cn
			order = append(order, cn)
		}
		if v.Vote > 0 {
			cn.up++
			up++
		} else {
			cn.down++
			down++
		}
	}
	lines := []string{fmt.Sprintf("Votes in this channel over the last 30 days: %d relevant, %d not relevant, on %d paper%s, by %d %s. Latest first:",
		up, down, len(order), plural(len(order)), len(users), map[bool]string{true: "person", false: "people"}[len(users) == 1])}
	for _, cn := range order[:min(FeedbackPapers, len(order))] {
		title := strings.Join(strings.Fields(bot.CleanLaTeX(cn.p.Title)), " ")
		lines = append(lines, fmt.Sprintf("+%d −%d  %s  %s", cn.up, cn.down, bot.Truncate(title, 100), cn.p.Key))
	}
	if more := len(order) - FeedbackPapers; more > 0 {
		lines = append(lines, fmt.Sprintf("…and %d more.", more))
	}
	m := relevance.Learn(votes)
	if sugg := m.Suggest(); len(sugg) > 0 {
		lines = append(lines, "Suggestions (a channel manager may apply one with the usual commands; nothing changes by itself):")
		for _, s := range sugg {
			lines = append(lines, "• "+s.String())
		}
	} else {
		lines = append(lines, fmt.Sprintf("No suggestion yet: a word must be in at least %d papers marked not relevant, more often than in those marked relevant.", relevance.MinSuggestionCount))
	}
	// The ranking learns from a longer window than the suggestions.
	all, err := f.ChannelVotes(ctx, req.Channel, c.now().Add(-RankingWindow))
	if err != nil {
		return bot.Reply{}, fmt.Errorf("feedback: %w", err)
	}
	if liked := topWeights(relevance.Learn(all), 5); len(liked) > 0 {
		lines = append(lines, "Words that rank papers higher here, from the votes of the last year (sort:relevant, and digests from 10 votes on): "+strings.Join(liked, ", ")+".")
	}
	return private(lines...), nil
}

// topWeights are the n terms with the highest positive weight, with their numbers.
func topWeights(m relevance.Model, n int) []string {
	var ts []relevance.Tally
	for _, tl := range m.Terms {
		if tl.Weight > 0 && tl.Relevant >= 2 {
			ts = append(ts, tl)
		}
	}
	slices.SortFunc(ts, func(a, b relevance.Tally) int {
		return cmp.Or(cmp.Compare(b.Weight, a.Weight), cmp.Compare(a.Term, b.Term))
	})
	var out []string
	for _, tl := range ts[:min(n, len(ts))] {
		out = append(out, fmt.Sprintf("%s (+%.2f: %d of %d relevant, %d of %d not)", tl.Term, tl.Weight, tl.Relevant, tl.TotalRelevant, tl.NotRelevant, tl.TotalNotRelevant))
	}
	return out
}

// paperKeyOf reads a paper reference as typed: an arXiv id or URL (any spelling paper.ParseArxivID knows), or a
// stored key (arxiv:..., doi:..., link:...).
func paperKeyOf(s string) (string, bool) {
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "<>"))
	for _, prefix := range []string{"doi:", "link:"} {
		if strings.HasPrefix(strings.ToLower(s), prefix) {
			return strings.ToLower(prefix) + s[len(prefix):], true
		}
	}
	if id, _, ok := paper.ParseArxivID(s); ok {
		return "arxiv:" + id, true
	}
	if d := paper.NormalizeDOI(s); d != "" {
		return "doi:" + d, true
	}
	return "", false
}

func (c *Commander) like(ctx context.Context, _ bot.Request, args Args) (bot.Reply, error) {
	f := c.feedback()
	if f == nil {
		return unavailable(), nil
	}
	key, ok := paperKeyOf(args.String("paper"))
	if !ok {
		return failed("Like which paper? Give its arXiv id or link, e.g. /papers like 2401.01234 or /papers like https://arxiv.org/abs/2401.01234"), nil
	}
	lctx, cancel := context.WithTimeout(ctx, c.lookupTimeout()-c.lookupTimeout()/10)
	defer cancel()
	terms, similar, err := f.SimilarExplained(lctx, key, LikeResults)
	if errors.Is(err, channel.ErrNotFound) {
		return failed(fmt.Sprintf("This bot has not stored %s, so it cannot compare it; only papers from its feeds can be.", key)), nil
	}
	if err != nil {
		if errors.Is(timedOut(lctx, err), ErrLookupTimeout) {
			return failed(fmt.Sprintf("Looking up papers like %s took too long (over %s), so I stopped it.", key, c.lookupTimeout())), nil
		}
		return bot.Reply{}, fmt.Errorf("like %s: %w", key, err)
	}
	if len(similar) == 0 {
		return private(fmt.Sprintf("No stored paper shares the distinctive words of %s.", key)), nil
	}
	r := private(fmt.Sprintf("%d stored papers most like %s (best BM25 match of its most distinctive words: %s):", len(similar), key, strings.Join(terms, ", ")))
	for _, p := range similar {
		r.Cards = append(r.Cards, bot.Card{Paper: p, Matched: SharedTerms(terms, p)})
	}
	return r, nil
}

// SharedTerms are those of terms that p's title or abstract holds, in terms' order: what "more like this" shows as
// the reason for each paper.
func SharedTerms(terms []string, p paper.Paper) []string {
	has := map[string]bool{}
	for _, t := range relevance.Terms(p.Title + "\n" + p.Abstract) {
		has[t] = true
	}
	var out []string
	for _, t := range terms {
		if has[t] {
			out = append(out, t)
		}
	}
	return out
}

func (c *Commander) saved(ctx context.Context, req bot.Request, args Args) (bot.Reply, error) {
	f := c.feedback()
	if f == nil {
		return unavailable(), nil
	}
	page := int64(1)
	if n, ok := args.Int("page"); ok {
		page = n
	}
	list, total, err := f.Saved(ctx, req.Member(), int(page-1)*SavedPage, SavedPage)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("saved: %w", err)
	}
	if total == 0 {
		return private("Your reading list is empty. The Save button on a card adds the paper to it."), nil
	}
	pages := (total + SavedPage - 1) / SavedPage
	if len(list) == 0 {
		return failed(fmt.Sprintf("Your reading list has %d page%s; there is no page %d.", pages, plural(pages), page)), nil
	}
	now := c.now()
	lines := []string{fmt.Sprintf("Your reading list, newest first (%d paper%s, page %d of %d; only you see it):", total, plural(total), page, pages)}
	for i, sp := range list {
		title := strings.Join(strings.Fields(bot.CleanLaTeX(sp.Paper.Title)), " ")
		lines = append(lines, fmt.Sprintf("%d. %s  %s  (saved %s)", int(page-1)*SavedPage+i+1, bot.Truncate(title, 120), sp.Paper.URL, ago(now, sp.SavedAt)))
	}
	if int(page) < pages {
		lines = append(lines, fmt.Sprintf("More: /papers saved %d", page+1))
	}
	return private(append(lines, "/papers unsave N removes one; /papers export bibtex saved exports them.")...), nil
}

func (c *Commander) unsave(ctx context.Context, req bot.Request, args Args) (bot.Reply, error) {
	f := c.feedback()
	if f == nil {
		return unavailable(), nil
	}
	n, ok := args.Int("number")
	if !ok {
		sub, _ := Lookup("unsave")
		return sub.badArgs(), nil
	}
	list, total, err := f.Saved(ctx, req.Member(), int(n-1), 1)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("unsave: %w", err)
	}
	if len(list) == 0 {
		return failed(fmt.Sprintf("Your reading list has no number %d; it holds %d paper%s (/papers saved).", n, total, plural(total))), nil
	}
	p := list[0].Paper
	if _, err := f.Unsave(ctx, req.Member(), p.Key); err != nil {
		return bot.Reply{}, fmt.Errorf("unsave: %w", err)
	}
	title := strings.Join(strings.Fields(bot.CleanLaTeX(p.Title)), " ")
	return private(fmt.Sprintf("Removed %s (%s) from your reading list; the numbers after it moved up by one.", bot.Truncate(title, 120), p.Key)), nil
}

func (c *Commander) export(ctx context.Context, req bot.Request, args Args) (bot.Reply, error) {
	what := args.String("what")
	var papers []paper.Paper
	var source string
	if what == "" || strings.EqualFold(what, "saved") {
		f := c.feedback()
		if f == nil {
			return unavailable(), nil
		}
		list, _, err := f.Saved(ctx, req.Member(), 0, MaxExport)
		if err != nil {
			return bot.Reply{}, fmt.Errorf("export: %w", err)
		}
		for _, sp := range list {
			papers = append(papers, sp.Paper)
		}
		source = "your reading list"
		if len(papers) == 0 {
			return private("Your reading list is empty, so there is nothing to export. Try /papers export bibtex QUERY."), nil
		}
	} else {
		q, bad := parseQuery(what)
		if bad != nil {
			return *bad, nil
		}
		cards, _, err := c.matching(ctx, q, time.Time{}, MaxExport, false)
		if errors.Is(err, ErrLookupTimeout) {
			return c.tooSlow(q), nil
		}
		if err != nil {
			return bot.Reply{}, fmt.Errorf("export %q: %w", what, err)
		}
		for _, card := range cards {
			papers = append(papers, card.Paper)
		}
		source = "the papers matching " + q.String() + ", newest first"
		if len(papers) == 0 {
			return private(fmt.Sprintf("No stored paper matches %s.", q)), nil
		}
	}
	blocks := codeBlocks(papers)
	if c.WholeExports || len(blocks) == 1 {
		r := private(fmt.Sprintf("BibTeX of %s: %s.", source, entries(len(papers))))
		for _, b := range blocks {
			r.Code = append(r.Code, b.text)
		}
		return r, nil
	}
	// Longer than one code block: a file, with what a message holds of it for an adapter that cannot send it.
	whole := bibtex.Write(papers)
	r := private(fmt.Sprintf("BibTeX of %s: %s.", source, entries(len(papers))))
	r.Document = &bot.Document{
		File:    bot.File{Name: ExportFile, Data: []byte(whole), Title: fmt.Sprintf("BibTeX of %s (%s)", source, entries(len(papers)))},
		Summary: fmt.Sprintf("%s (%s)", ExportFile, entries(len(papers))),
	}
	shown := 0
	for _, b := range blocks[:min(MaxCodeBlocks, len(blocks))] {
		r.Code = append(r.Code, b.text)
		shown += b.entries
	}
	if shown < len(papers) {
		r.Document.Shortfall = []string{fmt.Sprintf("A message holds %d of the %d entries; export a narrower query, or run paperboy cmd on the bot's machine for all of them.", shown, len(papers))}
	}
	return r, nil
}

// ExportFile is the name of the file a long BibTeX export is delivered as.
const ExportFile = "papers.bib"

// entries is "1 entry", "37 entries".
func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

// codeBlock is a run of whole BibTeX entries that fits in one code block.
type codeBlock struct {
	text    string
	entries int
}

// codeBlocks writes papers' entries (keys unique across all of them) and packs them, whole, into blocks of at
// most CodeBlockRunes; an entry longer than that alone is a block of its own.
func codeBlocks(papers []paper.Paper) []codeBlock {
	all := bibtex.Write(papers)
	entries := strings.SplitAfter(all, "}\n\n")
	var out []codeBlock
	var cur strings.Builder
	n := 0
	for _, e := range entries {
		e = strings.TrimRight(e, "\n") + "\n"
		if cur.Len() > 0 && utf8.RuneCountInString(cur.String())+1+utf8.RuneCountInString(e) > CodeBlockRunes {
			out = append(out, codeBlock{cur.String(), n})
			cur.Reset()
			n = 0
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(e)
		n++
	}
	if cur.Len() > 0 {
		out = append(out, codeBlock{cur.String(), n})
	}
	return out
}

func (c *Commander) forgetMe(ctx context.Context, req bot.Request, _ Args) (bot.Reply, error) {
	f := c.feedback()
	if f == nil {
		return unavailable(), nil
	}
	votes, saved, err := f.Forget(ctx, req.Member())
	if err != nil {
		return bot.Reply{}, fmt.Errorf("forget-me: %w", err)
	}
	here, elsewhere := workspaceWords(req)
	return private(fmt.Sprintf("Deleted your %d vote%s and the %d paper%s of your reading list in %s; what you keep in %s stays. Votes you cast from now on are kept again.",
		votes, plural(votes), saved, plural(saved), here, elsewhere)), nil
}

// workspaceWords name the workspace a request comes from and the others, as the platform calls them.
func workspaceWords(req bot.Request) (here, elsewhere string) {
	switch {
	case req.Channel.Platform == "slack":
		return "this Slack workspace", "other workspaces"
	case req.Channel.Platform == "discord" && req.Workspace == "":
		return "your direct messages with the bot", "servers"
	case req.Channel.Platform == "discord":
		return "this Discord server", "other servers"
	}
	return "this " + req.Channel.Platform + " workspace", "other workspaces"
}

// Sort orders of a look-up.
const (
	SortNewest   = "newest"
	SortRelevant = "relevant"
)

// splitSort takes a sort:newest or sort:relevant option out of a look-up's text; it is an option of the
// command, not a word of the query language. sort is "" when none is given.
func splitSort(text string) (query, sort string, err error) {
	var kept []string
	for _, w := range strings.Fields(text) {
		name, value, ok := strings.Cut(w, ":")
		if !ok || !strings.EqualFold(name, "sort") {
			kept = append(kept, w)
			continue
		}
		switch v := strings.ToLower(value); v {
		case SortNewest, SortRelevant:
			if sort != "" && sort != v {
				return "", "", fmt.Errorf("sort:%s and sort:%s: choose one", sort, v)
			}
			sort = v
		default:
			return "", "", fmt.Errorf("sort:%s: want sort:newest or sort:relevant", value)
		}
	}
	return strings.Join(kept, " "), sort, nil
}

// ranked returns up to limit papers matching q, best first for ch: the full-text score (BM25) of the
// rankedCandidates best matches, plus the channel's learned weights, matched terms, upvotes and recency
// (relevance.Model.Score), and how many papers the channel's weights were learned from. Each card says why it
// ranked high when the channel's votes helped it.
func (c *Commander) ranked(ctx context.Context, ch channel.Ref, q *filters.Query, limit int) ([]bot.Card, int, int, error) {
	f := c.feedback()
	if f == nil {
		return nil, 0, 0, errNoFeedback
	}
	lctx, cancel := context.WithTimeout(ctx, c.lookupTimeout()-c.lookupTimeout()/10)
	defer cancel()
	var ps []paper.Paper
	var scores []float64
	var err error
	if pre := q.Prefilter(); pre != nil {
		ps, scores, err = f.RankedCandidates(lctx, pre, rankedCandidates)
	} else {
		err = c.Store.ScanCandidates(lctx, nil, time.Time{}, rankedCandidates, func(p paper.Paper) bool {
			ps = append(ps, p)
			return true
		})
	}
	if err != nil {
		return nil, 0, 0, timedOut(lctx, err)
	}
	var model relevance.Model
	if ch.ID != "" {
		votes, err := f.ChannelVotes(lctx, ch, c.now().Add(-RankingWindow))
		if err != nil {
			return nil, 0, 0, timedOut(lctx, err)
		}
		model = relevance.Learn(votes)
	}
	var kept []paper.Paper
	var text []float64
	var matched []int
	var terms [][]string
	for i, p := range ps {
		exp, ok := q.Match(&p)
		if !ok {
			continue
		}
		kept = append(kept, p)
		if i < len(scores) {
			text = append(text, scores[i])
		} else {
			text = append(text, 0)
		}
		matched = append(matched, len(exp.Terms()))
		terms = append(terms, exp.Terms())
	}
	termsOf := map[string][]string{}
	for i, p := range kept {
		termsOf[p.Key] = terms[i]
	}
	var cards []bot.Card
	for _, r := range model.Rank(kept, text, matched, c.now())[:min(limit, len(kept))] {
		cards = append(cards, bot.Card{Paper: r.Paper, Matched: termsOf[r.Paper.Key], Why: r.Score.Why()})
	}
	return cards, len(kept), model.Votes, nil
}

// errNoFeedback means the store cannot rank (it keeps no votes).
var errNoFeedback = errors.New("the store keeps no votes")

// SearchSorted is Search with a sort order: SortNewest (Search) or SortRelevant (best full-text match, without
// a channel's votes), for `paperboy search --sort`.
func (c *Commander) SearchSorted(ctx context.Context, query, sort string, limit int) ([]bot.Card, error) {
	if sort != SortRelevant {
		return c.Search(ctx, query, limit)
	}
	q, err := filters.Parse(query)
	if err != nil {
		return nil, err
	}
	cards, _, _, err := c.ranked(ctx, channel.Ref{}, q, limit)
	return cards, err
}

// searchRanked answers a look-up with sort:relevant.
func (c *Commander) searchRanked(ctx context.Context, req bot.Request, q *filters.Query) (bot.Reply, error) {
	cards, total, votes, err := c.ranked(ctx, req.Channel, q, SearchResults)
	switch {
	case errors.Is(err, errNoFeedback):
		return unavailable(), nil
	case errors.Is(err, ErrLookupTimeout):
		return c.tooSlow(q), nil
	case err != nil:
		return bot.Reply{}, fmt.Errorf("search %s sort:relevant: %w", q, err)
	case total == 0:
		return private(fmt.Sprintf("No stored paper matches %s.", q)), nil
	}
	how := "best full-text match (BM25), matched terms, upvotes and recency"
	if votes > 0 {
		how += fmt.Sprintf(", and what this channel's votes on %d paper%s taught (/papers feedback shows it)", votes, plural(votes))
	}
	r := private(fmt.Sprintf("The %d most relevant of %d papers matching %s, by %s:", len(cards), total, q, how))
	r.Cards = cards
	return r, nil
}
