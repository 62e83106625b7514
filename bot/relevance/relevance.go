package relevance

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Prior is the pseudo-count added to each side of a term's counts: a term seen in one relevant paper and no other
// gets a modest weight, not an infinite one.
const Prior = 1.0

// MinSuggestionCount is how many papers marked not relevant must match a term before it is suggested.
const MinSuggestionCount = 3

// MaxSuggestions is how many suggestions /papers feedback shows.
const MaxSuggestions = 3

// Distinctive returns up to k of words (a paper's terms, in their order) with the highest inverse document
// frequency: fewest papers holding them, by df, ties in words' order. Words at most one paper holds (the paper
// itself) find nothing similar and are left out, as are words the index does not know and common words (in
// maxDF papers or more), whose long posting lists would make the similarity query slow and say little. The
// chosen words' document frequencies add up to at most budget (the papers the query then scores), save the
// first word.
func Distinctive(words []string, df map[string]int, k, maxDF, budget int) []string {
	var cands []string
	for _, w := range words {
		if df[w] >= 2 && df[w] < maxDF {
			cands = append(cands, w)
		}
	}
	slices.SortStableFunc(cands, func(a, b string) int { return cmp.Compare(df[a], df[b]) })
	var out []string
	total := 0
	for _, w := range cands {
		if len(out) == k || (len(out) > 0 && total+df[w] > budget) {
			break
		}
		out = append(out, w)
		total += df[w]
	}
	return out
}

// Tally is what a channel's votes say about one term.
type Tally struct {
	Term string
	// Relevant and NotRelevant count the papers marked so that hold the term; of TotalRelevant and
	// TotalNotRelevant.
	Relevant, NotRelevant           int
	TotalRelevant, TotalNotRelevant int
	// Weight is the log-odds of the term in relevant against not-relevant papers, with Prior:
	// ln((r+1)/(R-r+1)) - ln((n+1)/(N-n+1)). Positive: the channel likes papers with it.
	Weight float64
}

// Model is a channel's learned term weighting.
type Model struct {
	// Votes is how many papers the weighting was learned from (one net vote per paper).
	Votes int
	Terms map[string]Tally
}

// paperVote is the net opinion of a channel on one paper: relevant when its relevant votes outnumber the others.
type paperVote struct {
	p    paper.Paper
	vote int
}

// net folds several users' votes on one paper into one: the sign of their sum; papers with a tie say nothing.
func net(votes []channel.Vote) []paperVote {
	sum := map[string]int{}
	var order []string
	byKey := map[string]paper.Paper{}
	for _, v := range votes {
		if _, ok := byKey[v.Paper.Key]; !ok {
			order = append(order, v.Paper.Key)
			byKey[v.Paper.Key] = v.Paper
		}
		sum[v.Paper.Key] += v.Vote
	}
	var out []paperVote
	for _, k := range order {
		switch s := sum[k]; {
		case s > 0:
			out = append(out, paperVote{byKey[k], channel.VoteRelevant})
		case s < 0:
			out = append(out, paperVote{byKey[k], channel.VoteNotRelevant})
		}
	}
	return out
}

// Learn computes a channel's term weights from its votes. Each paper counts once, as its net vote.
func Learn(votes []channel.Vote) Model {
	pvs := net(votes)
	m := Model{Votes: len(pvs), Terms: map[string]Tally{}}
	var R, N int
	for _, pv := range pvs {
		if pv.vote > 0 {
			R++
		} else {
			N++
		}
		for _, t := range Terms(pv.p.Title + "\n" + pv.p.Abstract) {
			tl := m.Terms[t]
			tl.Term = t
			if pv.vote > 0 {
				tl.Relevant++
			} else {
				tl.NotRelevant++
			}
			m.Terms[t] = tl
		}
	}
	for t, tl := range m.Terms {
		tl.TotalRelevant, tl.TotalNotRelevant = R, N
		tl.Weight = logOdds(tl.Relevant, R) - logOdds(tl.NotRelevant, N)
		m.Terms[t] = tl
	}
	return m
}

// logOdds is the smoothed log-odds that a paper of a group of total holds a term k of them hold.
func logOdds(k, total int) float64 {
	return math.Log((float64(k) + Prior) / (float64(total-k) + Prior))
}

// Suggestion proposes excluding a term from the channel's subscriptions.
type Suggestion struct {
	Tally
}

// String is the suggestion as /papers feedback shows it, with its numbers.
func (s Suggestion) String() string {
	return fmt.Sprintf("%d of %d papers marked not relevant match `%s` (%d of %d marked relevant; log-odds %.2f): `/papers subscribe ... -%s`?",
		s.NotRelevant, s.TotalNotRelevant, s.Term, s.Relevant, s.TotalRelevant, -s.Weight, s.Term)
}

// Suggest returns up to MaxSuggestions terms that mark papers the channel finds not relevant: those matching at
// least MinSuggestionCount papers marked not relevant, with the highest log-odds of not-relevant against relevant
// (the negated weight, which must be positive), ties broken by more not-relevant matches, then by the term.
func (m Model) Suggest() []Suggestion {
	var out []Suggestion
	for _, tl := range m.Terms {
		if tl.NotRelevant >= MinSuggestionCount && tl.Weight < 0 {
			out = append(out, Suggestion{tl})
		}
	}
	slices.SortFunc(out, func(a, b Suggestion) int {
		return cmp.Or(cmp.Compare(a.Weight, b.Weight), cmp.Compare(b.NotRelevant, a.NotRelevant), cmp.Compare(a.Term, b.Term))
	})
	return out[:min(MaxSuggestions, len(out))]
}

// Ranking parameters: how much each matched query term, each doubling of upvotes and each day of age move a
// paper's score, next to the learned weights (log-odds, about -3 to 3 each) and the text score.
const (
	MatchedWeight  = 0.5
	UpvoteWeight   = 0.25
	AgePerDay      = 0.1
	MaxAgeDays     = 30
	MinDigestVotes = 10
)

// Score is a paper's rank in a channel, in parts that can be shown.
type Score struct {
	// Text is the full-text relevance to the query (BM25), 0 for a digest.
	Text float64
	// Learned sums the channel's weights of the paper's terms.
	Learned float64
	// Matched, Upvotes and Age are the query terms' part, the upvotes' and the recency's (negative).
	Matched, Upvotes, Age float64
	// Best is the term whose weight helped most (empty when none helped).
	Best Tally
}

// Total is the sum of the parts.
func (s Score) Total() float64 { return s.Text + s.Learned + s.Matched + s.Upvotes + s.Age }

// Why tells people why the paper ranked high: the term that helped most ("you marked 4 papers on `ssvep`
// relevant"), "" when the channel's votes did not help it.
func (s Score) Why() string {
	if s.Best.Term == "" || s.Best.Relevant == 0 {
		return ""
	}
	return fmt.Sprintf("you marked %d paper%s on `%s` relevant", s.Best.Relevant, plural(s.Best.Relevant), s.Best.Term)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Score ranks p for the channel the model was learned from: text is its full-text score (0 when none), matched
// the number of query terms it matched; its age is counted from now, at most MaxAgeDays.
func (m Model) Score(p paper.Paper, text float64, matched int, now time.Time) Score {
	s := Score{Text: text, Matched: MatchedWeight * float64(matched)}
	for _, t := range Terms(p.Title + "\n" + p.Abstract) {
		tl, ok := m.Terms[t]
		if !ok {
			continue
		}
		s.Learned += tl.Weight
		if tl.Weight > 0 && (tl.Weight > s.Best.Weight || s.Best.Term == "") {
			s.Best = tl
		}
	}
	if p.Upvotes > 0 {
		s.Upvotes = UpvoteWeight * math.Log2(1+float64(p.Upvotes))
	}
	if !p.Published.IsZero() {
		days := min(MaxAgeDays, max(0, now.Sub(p.Published).Hours()/24))
		s.Age = -AgePerDay * days
	}
	return s
}

// Ranked is a paper with its score.
type Ranked struct {
	Paper paper.Paper
	Score Score
}

// Rank orders papers by their score for the channel, best first, ties in the given order. text holds
// their full-text scores and matched their matched query terms' counts, by index; either may be nil.
func (m Model) Rank(papers []paper.Paper, text []float64, matched []int, now time.Time) []Ranked {
	out := make([]Ranked, len(papers))
	for i, p := range papers {
		var tx float64
		var mt int
		if i < len(text) {
			tx = text[i]
		}
		if i < len(matched) {
			mt = matched[i]
		}
		out[i] = Ranked{Paper: p, Score: m.Score(p, tx, mt, now)}
	}
	slices.SortStableFunc(out, func(a, b Ranked) int {
		return cmp.Compare(b.Score.Total(), a.Score.Total())
	})
	return out
}
