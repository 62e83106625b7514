// Package trend computes what /papers trends shows: how many papers matched each of a channel's subscriptions in
// each week, and which terms rose most in the last week's matches against the weeks before (log-odds with an
// informative Dirichlet prior, Monroe, Colaresi and Quinn 2008, "Fightin' Words"). It is pure computation: the
// caller reads the papers from the store and matches them; Render draws the result.
package trend

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Week is the length of one bucket.
const Week = 7 * 24 * time.Hour

// Limits of a chart's span, in weeks.
const (
	DefaultWeeks = 8
	MaxWeeks     = 52
)

// RisingTerms is how many rising terms a trend reports.
const RisingTerms = 5

// Doc is one matched paper: when it was published, its text, and which subscriptions (indices into
// Input.Subscriptions) matched it.
type Doc struct {
	Published time.Time
	Text      string
	Subs      []int
}

// Input is what a trend is computed from.
type Input struct {
	// Subscriptions are the names shown in the legend, in the channel's order.
	Subscriptions []string
	// End closes the last week; Weeks windows of seven days end there, so the last week is always a full one.
	End   time.Time
	Weeks int
	Docs  []Doc
}

// Term is one term whose frequency rose in the last week.
type Term struct {
	Word string
	// Z is the z-score of the log-odds ratio of the term in the last week against the weeks before.
	Z float64
	// Recent and Earlier are the term's occurrences in the last week's matches and in the earlier weeks'.
	Recent, Earlier int
}

// Result is a computed trend.
type Result struct {
	// Starts are the weeks' first instants, oldest first; week i is [Starts[i], Starts[i]+Week).
	Starts        []time.Time
	End           time.Time
	Subscriptions []string
	// Counts[s][w] is how many papers matching subscription s were published in week w.
	Counts [][]int
	// Papers[w] is how many distinct papers matched any subscription in week w.
	Papers []int
	// Rising are up to RisingTerms terms, the most risen first, each with a positive z-score.
	Rising []Term
}

// Comparable reports whether the last week and the weeks before it both have matches, so that rising terms can
// be looked for at all: an empty Rising then means no term rose markedly.
func (r Result) Comparable() bool {
	n := len(r.Papers)
	if n < 2 || r.Papers[n-1] == 0 {
		return false
	}
	for _, p := range r.Papers[:n-1] {
		if p > 0 {
			return true
		}
	}
	return false
}

// Since is the first instant a trend over weeks ending at end covers: the store is read from there.
func Since(end time.Time, weeks int) time.Time {
	return end.Add(-time.Duration(weeks) * Week)
}

// Compute buckets the docs by the week they were published in (docs outside the span are ignored) and finds the
// rising terms.
func Compute(in Input) Result {
	weeks := max(in.Weeks, 1)
	r := Result{End: in.End, Subscriptions: in.Subscriptions, Papers: make([]int, weeks)}
	start := Since(in.End, weeks)
	for w := range weeks {
		r.Starts = append(r.Starts, start.Add(time.Duration(w)*Week))
	}
	r.Counts = make([][]int, len(in.Subscriptions))
	for s := range r.Counts {
		r.Counts[s] = make([]int, weeks)
	}
	recent, earlier := map[string]int{}, map[string]int{}
	for _, d := range in.Docs {
		if d.Published.Before(start) || !d.Published.Before(in.End) {
			continue
		}
		w := int(d.Published.Sub(start) / Week)
		counted := false
		for _, s := range d.Subs {
			if s < 0 || s >= len(r.Counts) {
				continue
			}
			r.Counts[s][w]++
			counted = true
		}
		if !counted {
			continue
		}
		r.Papers[w]++
		into := earlier
		if w == weeks-1 {
			into = recent
		}
		for _, t := range Tokens(d.Text) {
			into[t]++
		}
	}
	r.Rising = Rising(recent, earlier, RisingTerms)
	return r
}

// minRecent is how often a term must occur in the last week to be reported: one paper repeating a rare word is
// not a trend.
const minRecent = 3

// Rising returns up to n terms whose frequency in recent rose most against earlier, by the z-score of their
// log-odds ratio with an informative Dirichlet prior (Monroe et al. 2008, eq. 16 to 22). The prior is the pooled
// counts of both periods: a term's pseudo-count alpha_w is its overall count, alpha_0 the overall total, which
// shrinks the estimates of rare terms towards no change. Ties go to the more frequent, then alphabetical term,
// so the result is deterministic.
func Rising(recent, earlier map[string]int, n int) []Term {
	nr, ne := total(recent), total(earlier)
	if nr == 0 || ne == 0 {
		return nil
	}
	a0 := float64(nr + ne)
	var out []Term
	for w, yr := range recent {
		if yr < minRecent {
			continue
		}
		ye := earlier[w]
		aw := float64(yr + ye)
		fr, fe := float64(yr)+aw, float64(ye)+aw
		delta := math.Log(fr/(float64(nr)+a0-fr)) - math.Log(fe/(float64(ne)+a0-fe))
		z := delta / math.Sqrt(1/fr+1/fe)
		if z <= 0 {
			continue
		}
		out = append(out, Term{Word: w, Z: z, Recent: yr, Earlier: ye})
	}
	slices.SortFunc(out, func(a, b Term) int {
		if a.Z != b.Z {
			return cmp.Compare(b.Z, a.Z)
		}
		if a.Recent != b.Recent {
			return cmp.Compare(b.Recent, a.Recent)
		}
		return strings.Compare(a.Word, b.Word)
	})
	return out[:min(n, len(out))]
}

func total(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// Tokens splits text into the lower-case words that can be terms: letters and digits (with inner hyphens), at
// least three characters, not a number, not a stop word. LaTeX commands and math are dropped with their
// backslashes and dollars.
func Tokens(text string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '\\'
	}) {
		if strings.HasPrefix(f, "\\") {
			continue
		}
		f = strings.Trim(f, "-\\")
		if len([]rune(f)) < 3 || stopWords[f] || !strings.ContainsFunc(f, unicode.IsLetter) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// stopWords are English function words and the boilerplate of abstracts, which rise and fall with the number of
// papers, not with what they are about.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
a about above across after again against all almost along also although always among an and another any are
around as at be because been before being below between both but by can cannot could did do does doing done down
during each either else enough even ever every few for from further had has have having he her here hers him his
how however if in into is it its itself just least less like made make makes many may might more most much must
near neither no nor not now of off often on once one only onto or other others otherwise our ours out over own per
perhaps rather same several she should since so some such than that the their theirs them themselves then there
therefore these they this those though through thus to together too toward towards two under until up upon us use
used uses using very via was we well were what whatever when where whether which while who whom whose why will
with within without would yet you your three four five first second third new based show shows shown propose
proposed proposes present presents introduce introduces approach approaches method methods paper papers result
results study studies work works demonstrate demonstrates achieve achieves achieved existing various different
provide provides significantly significant furthermore moreover novel effective effectively however while across
including include includes compared comparison experiments experimental extensive state-of-the-art outperforms
performance task tasks framework frameworks model models data dataset datasets learning analysis problem problems
large high low key set sets well-known recent recently available code github https http www com org arxiv doi
`) {
		m[w] = true
	}
	return m
}()
