package bot

import (
	"regexp"
	"strings"
	"testing"
)

// BenchmarkCleanLaTeX measures CleanLaTeX on the golden inputs against the regular-expression clean-up it
// replaced (regexpCleanLaTeX, kept here only as the baseline): go test ./bot -run X -bench CleanLaTeX.
func BenchmarkCleanLaTeX(b *testing.B) {
	cases := readLatexGolden(b)
	for _, bc := range []struct {
		name string
		fn   func(string) string
	}{{"reader", CleanLaTeX}, {"regexp-baseline", regexpCleanLaTeX}} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for _, c := range cases {
				n += len(c.in)
			}
			b.SetBytes(int64(n))
			for b.Loop() {
				for _, c := range cases {
					bc.fn(c.in)
				}
			}
		})
	}
}

var (
	baseCmdRe    = regexp.MustCompile(`\\([A-Za-z]+)`)
	baseGrpRe    = regexp.MustCompile(`\\(?:mathrm|mathbf|mathit|mathcal|textbf|textit|emph|text|texttt|mathbb|operatorname)\s*\{([^{}]*)\}`)
	baseSpacesRe = regexp.MustCompile(`\s+`)
)

// regexpCleanLaTeX is the clean-up CleanLaTeX replaced, as it was, for the benchmark's baseline.
func regexpCleanLaTeX(s string) string {
	if !strings.ContainsAny(s, `$\{}`) {
		return s
	}
	for range 3 {
		s = baseGrpRe.ReplaceAllString(s, "$1")
	}
	s = baseCmdRe.ReplaceAllStringFunc(s, func(m string) string {
		if sym, ok := texSymbols[m[1:]]; ok {
			return sym
		}
		return m[1:]
	})
	s = strings.NewReplacer("$", "", `\`, "", "{", "", "}", "", "^", "", "~", " ").Replace(s)
	return strings.TrimSpace(baseSpacesRe.ReplaceAllString(s, " "))
}
