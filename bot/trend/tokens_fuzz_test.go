package trend

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzTokens: any title or abstract splits into lower-case terms of at least three characters, each holding a
// letter, none a stop word, and the rising terms of any two texts are ranked without a panic.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{
		"Mamba state-space encoders for EEG", "We propose $\\alpha$-nets in \\cite{x}", "ViT-22B --- self-supervised",
		"\xff\xfe invalid UTF-8", "İstanbul ΣΊΣΥΦΟΣ", "",
	} {
		f.Add(s, "earlier text about sleep EEG")
	}
	f.Fuzz(func(t *testing.T, recent, earlier string) {
		for _, tok := range Tokens(recent) {
			if tok != strings.ToLower(tok) || len([]rune(tok)) < 3 || stopWords[tok] || !strings.ContainsFunc(tok, unicode.IsLetter) {
				t.Errorf("Tokens(%q) gave %q", recent, tok)
			}
		}
		count := func(s string) map[string]int {
			m := map[string]int{}
			for _, tok := range Tokens(s) {
				m[tok]++
			}
			return m
		}
		for _, term := range Rising(count(recent+" "+recent+" "+recent), count(earlier), RisingTerms) {
			if term.Z <= 0 || term.Recent < minRecent {
				t.Errorf("rising term %+v", term)
			}
		}
	})
}
