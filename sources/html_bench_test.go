package sources

import (
	"html"
	"os"
	"regexp"
	"testing"
)

// BenchmarkCleanHTML measures cleanHTML on the descriptions of the captured legacy arXiv feed (HTML, escaped
// math), as the XML decoder hands them over, against the regular expression it replaced (kept here only as the
// baseline): go test ./sources -run X -bench CleanHTML.
func BenchmarkCleanHTML(b *testing.B) {
	raw, err := os.ReadFile("testdata/arxiv-rss/rss1_legacy_hep-ex_2018.xml")
	if err != nil {
		b.Fatal(err)
	}
	var descs []string
	n := 0
	for _, m := range regexp.MustCompile(`(?s)<description[^>]*>(.*?)</description>`).FindAllSubmatch(raw, -1) {
		d := html.UnescapeString(string(m[1])) // what the XML decoder yields
		descs = append(descs, d)
		n += len(d)
	}
	if len(descs) == 0 {
		b.Fatal("no descriptions in the fixture")
	}
	for _, bc := range []struct {
		name string
		fn   func(string) string
	}{{"tokenizer", cleanHTML}, {"regexp-baseline", regexpCleanHTML}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				for _, d := range descs {
					bc.fn(d)
				}
			}
		})
	}
}

var baseTagRe = regexp.MustCompile(`<(?:[a-zA-Z/!][^<>]*)>`)

// regexpCleanHTML is the clean-up cleanHTML replaced, as it was, for the benchmark's baseline.
func regexpCleanHTML(s string) string {
	s = truncateUTF8(s, MaxRawTextBytes)
	s = baseTagRe.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	return collapseSpace(s)
}
