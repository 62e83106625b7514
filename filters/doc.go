// Package filters implements paperboy's query language (DESIGN.md section 3): parsing with positioned errors, a
// canonical printer, an engine-neutral pre-filter (a necessary condition a store's full-text index can evaluate,
// see Prefilter), a reference evaluator that explains its matches, and a compiled Matcher that evaluates many
// subscriptions against a paper while scanning its text once.
//
// # Words
//
// Text is folded before anything is compared: Unicode NFKD, combining marks (category Mn) dropped, then simple
// Unicode case folding. So "Schrödinger" reads as "schrodinger" and "ﬁnding" as "finding". A word is a maximal run
// of letters, numbers and spacing marks; everything else (punctuation, hyphens, apostrophes, symbols) splits words,
// so "EEG-based" is the two words "eeg" and "based".
//
// # Plurals
//
// Two words are equal for matching when they are equal, or when one is the other plus "s" or "es", where:
//   - the shorter word (the base) has at least 2 letters ("is" is not the plural of "i");
//   - a word ending in "ss" keeps its final s: "class" is not the plural of "clas", but "classes" is the plural of
//     "class", "processes" of "process" and "buses" of "bus".
//
// The relation is applied symmetrically (the query may be singular or plural) and deliberately knows no other
// morphology: "decoding" never matches "decoder" (write decod*), and the side effect that "bus" also matches the
// non-word "bu" is accepted because it cannot cause a false announcement in practice.
//
// # Syntax
//
//	eeg                     whole word, title or abstract
//	"foundation model"      phrase: consecutive words of one field
//	neuro*                  any word starting with neuro (one word, * only at its end)
//	a b, a AND b            both
//	a OR b, a | b           either
//	-a, NOT a               not
//	( ... )                 grouping
//	title: abstract: abs:   restrict a term, phrase or group to one field
//	author: au:             words within one author's name (a phrase never spans two authors)
//	cat:cs.LG cat:cs.*      arXiv category, exact and case-insensitive, or a prefix; not split into words
//	source:name             configured source name, exact and case-insensitive (source:name* for a prefix)
//	upvotes:>=10            also >, <, <=, = and upvotes:10; papers without Hugging Face data never satisfy it
//
// Only upper-case AND, OR and NOT are operators; "or" is an ordinary word. Precedence, tightest first: NOT, AND,
// OR; so "a b OR c" is "(a b) OR c" and "-a b" is "(-a) b". A bare term with inner punctuation ("gpt-4") is the
// phrase of its words ("gpt 4"). Fields do not nest: "title:(a abs:b)" is an error. A query of only negations is an
// error because it would match nearly every paper.
package filters
