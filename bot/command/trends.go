package command

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/trend"
	"github.com/paperboy-bot/paperboy/filters"
)

// trendBudget is how many look-up budgets a trend's matching shares: it reads up to a year of papers for every
// subscription of the channel, and is answered later (Slow), so it may take longer than one look-up.
const trendBudget = 10

// trendCandidates bounds the candidates read per subscription, newest first: a subscription matching more papers
// than that in the span has its oldest weeks undercounted, and the chart says so.
const trendCandidates = 50_000

// Trend is a channel's computed trend and what it could not count.
type Trend struct {
	trend.Result
	// Slow lists the subscriptions whose matching ran out of time: their lines stop short (counted as far back as
	// the look-up got).
	Slow []string
	// Capped lists the subscriptions that hit trendCandidates: their oldest weeks are undercounted.
	Capped []string
}

// Trend computes ch's subscriptions' papers per week over the weeks before now, by the papers' published date,
// matched by the same matchers as its subscriptions, and the terms that rose in the last week.
func (c *Commander) Trend(ctx context.Context, ch channel.Ref, weeks int) (Trend, error) {
	subs, err := c.Store.Subscriptions(ctx, ch)
	if err != nil {
		return Trend{}, fmt.Errorf("trend of %s: %w", ch, err)
	}
	end := c.now()
	since := trend.Since(end, weeks)
	in := trend.Input{End: end, Weeks: weeks}
	var t Trend
	byKey := map[string]int{}
	lctx, cancel := context.WithTimeout(ctx, trendBudget*c.lookupTimeout())
	defer cancel()
	for i, s := range subs {
		in.Subscriptions = append(in.Subscriptions, s.Canonical)
		q, err := filters.ParseStored(s.Query)
		if err != nil {
			continue // a stored query the parser no longer takes matches nothing in delivery either
		}
		seen := 0
		var stopped error
		err = c.Store.ScanCandidates(lctx, q.Prefilter(), since, trendCandidates, func(p paper.Paper) bool {
			if seen++; seen%256 == 0 && lctx.Err() != nil {
				stopped = lctx.Err()
				return false
			}
			if _, ok := q.Match(&p); !ok {
				return true
			}
			if d, ok := byKey[p.Key]; ok {
				in.Docs[d].Subs = append(in.Docs[d].Subs, i)
				return true
			}
			byKey[p.Key] = len(in.Docs)
			in.Docs = append(in.Docs, trend.Doc{Published: p.Published, Text: bot.CleanLaTeX(p.Title) + "\n" + bot.CleanLaTeX(p.Abstract), Subs: []int{i}})
			return true
		})
		if err == nil {
			err = stopped
		}
		switch {
		case err != nil && errors.Is(lctx.Err(), context.DeadlineExceeded):
			t.Slow = append(t.Slow, s.Canonical)
		case err != nil:
			return Trend{}, fmt.Errorf("trend of %s: %q: %w", ch, s.Canonical, err)
		case seen >= trendCandidates:
			t.Capped = append(t.Capped, s.Canonical)
		}
	}
	t.Result = trend.Compute(in)
	return t, nil
}

// Chart renders t as the PNG to post, with its alt text.
func (t Trend) Chart(title string) (bot.File, error) {
	png, err := trend.Render(t.Result, title)
	if err != nil {
		return bot.File{}, fmt.Errorf("render trend chart: %w", err)
	}
	return bot.File{Name: "trends.png", Data: png, Title: title, AltText: t.AltText()}, nil
}

// AltText describes the chart in words: the weeks, each subscription's papers in the last week and in all, the
// rising terms.
func (t Trend) AltText() string {
	n := len(t.Starts)
	var b strings.Builder
	fmt.Fprintf(&b, "Line chart of papers per week, %d weeks from %s to %s. ", n, t.WeekLabel(0), t.WeekLabel(n-1))
	for i, s := range t.Subscriptions {
		sum := 0
		for _, v := range t.Counts[i] {
			sum += v
		}
		fmt.Fprintf(&b, "%s: %d in the last week, %d in all. ", s, t.Counts[i][n-1], sum)
	}
	if len(t.Rising) > 0 {
		b.WriteString("Rising terms: " + t.risingList() + ".")
	}
	return bot.Truncate(strings.TrimSpace(b.String()), 1000)
}

func (t Trend) risingList() string {
	var words []string
	for _, r := range t.Rising {
		words = append(words, r.Word)
	}
	return strings.Join(words, ", ")
}

// Summary is the text posted with the chart: the span, what was counted, the rising terms with the sentence that
// explains them, and what could not be counted.
func (t Trend) Summary() []string {
	n := len(t.Starts)
	total := 0
	for _, p := range t.Papers {
		total += p
	}
	lines := []string{fmt.Sprintf("Papers per week matching this channel's %d subscription%s over the last %d weeks (%s to %s, by published date): %d papers, %d in the last week.",
		len(t.Subscriptions), plural(len(t.Subscriptions)), n, t.WeekLabel(0), t.End.UTC().Format("Jan 2"), total, t.Papers[n-1])}
	if len(t.Rising) > 0 {
		lines = append(lines, "Rising in the last week: "+t.risingList()+". "+trend.Explanation)
	} else if t.Comparable() {
		lines = append(lines, "No term rose markedly in the last week against the weeks before.")
	} else {
		lines = append(lines, "Too few papers in the last week, or before it, to tell which terms are rising.")
	}
	if len(t.Slow) > 0 {
		lines = append(lines, "Counting "+strings.Join(t.Slow, ", ")+" took too long and was stopped, so its older weeks are undercounted.")
	}
	if len(t.Capped) > 0 {
		lines = append(lines, fmt.Sprintf("%s matched more than %d papers; only the newest were counted.", strings.Join(t.Capped, ", "), trendCandidates))
	}
	return lines
}

func (c *Commander) trends(ctx context.Context, req bot.Request, args Args) (bot.Reply, error) {
	weeks := trend.DefaultWeeks
	if n, ok := args.Int("weeks"); ok {
		weeks = int(n)
	}
	subs, err := c.Store.Subscriptions(ctx, req.Channel)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("trends: %w", err)
	}
	if len(subs) == 0 {
		return private("This channel follows nothing yet, so there is no trend to draw. Try /papers subscribe eeg"), nil
	}
	t, err := c.Trend(ctx, req.Channel, weeks)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("trends: %w", err)
	}
	f, err := t.Chart(fmt.Sprintf("Papers per week, last %d weeks", weeks))
	if err != nil {
		return bot.Reply{}, fmt.Errorf("trends: %w", err)
	}
	return bot.Reply{Text: t.Summary(), Files: []bot.File{f}}, nil
}

// WeeklyChart is the chart a weekly digest starts with: the /papers trends chart of ch over DefaultWeeks, and its
// summary (delivery.Charts).
func (c *Commander) WeeklyChart(ctx context.Context, ch channel.Ref) (string, bot.File, error) {
	t, err := c.Trend(ctx, ch, trend.DefaultWeeks)
	if err != nil {
		return "", bot.File{}, err
	}
	f, err := t.Chart(fmt.Sprintf("Papers per week, last %d weeks", trend.DefaultWeeks))
	if err != nil {
		return "", bot.File{}, err
	}
	return strings.Join(t.Summary(), "\n\n"), f, nil
}
