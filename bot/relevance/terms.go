// Package relevance learns, in the open, what a channel finds relevant from its members' votes: per-term weights
// (log-odds of a word in papers marked relevant against papers marked not relevant, with a prior), suggestions
// for a channel's subscriptions ("12 of 15 papers marked not relevant match survey"), and a ranking score whose
// parts can be told to people ("you marked 4 papers on ssvep relevant"). It is pure computation: the votes come
// from the store, the replies are the command core's.
package relevance

import (
	"strings"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/filters"
)

// stopwords are words too common in paper titles and abstracts to say anything about a topic; they never become
// terms. English function words plus the boilerplate of abstracts.
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above across after again against all almost also although always am among
an and another any are as at be because been before being below between both but by can could did do does doing
done down during each either else et etc even ever every few for from further had has have having he her here
hers him his how however i if in into is it its itself just least less like many may me might more most much must
my neither no nor not now of off often on once one only or other others our ours out over own per rather same
she should since so some such than that the their them then there these they this those though through thus to
too two under until up upon us use used uses using very via was we well were what when where whether which while
who whom whose why will with within without would yet you your
paper papers propose proposed proposes present presents show shows shown result results method methods approach
approaches based new novel study studies work works first however existing different various several furthermore
moreover recent recently demonstrate demonstrates achieve achieves achieved provide provides problem problems
model models data task tasks performance experiments experimental state art significantly significant`) {
		m[w] = true
	}
	return m
}()

// minTermRunes is the shortest word that becomes a term: "eeg" yes, "of" never.
const minTermRunes = 3

// Terms returns the distinct terms of text in first-seen order: its words folded as the query language folds
// them (filters.FoldText, so a term is also a valid query word), without stop words, numbers and words shorter
// than three letters.
func Terms(text string) []string {
	folded := filters.FoldText(text)
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.Fields(folded) {
		if seen[w] || stopwords[w] || utf8.RuneCountInString(w) < minTermRunes || isNumber(w) {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// IsStopword reports whether w (folded) is too common to be a term.
func IsStopword(w string) bool { return stopwords[w] }

func isNumber(w string) bool {
	for _, r := range w {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}
