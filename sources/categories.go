package sources

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

// taxonomyText is arXiv's category taxonomy as data (source named in the file's header).
//
//go:embed arxiv_categories.txt
var taxonomyText string

// taxonomy is the parsed arxiv_categories.txt: current categories and archives by id, retired archives with the
// category that replaced them.
type taxonomy struct {
	names  map[string]string // id → name
	legacy map[string]string // retired archive → its successor
	// lower maps a lower-cased id to the id, for "did you mean cs.LG".
	lower map[string]string
}

// arxivTaxonomy parses the embedded list once; it never changes afterwards.
var arxivTaxonomy = sync.OnceValue(func() taxonomy {
	t := taxonomy{names: map[string]string{}, legacy: map[string]string{}, lower: map[string]string{}}
	for line := range strings.SplitSeq(taxonomyText, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case f[0] == "legacy" && len(f) >= 3:
			t.legacy[f[1]] = f[2]
		default:
			t.names[f[0]] = strings.Join(f[1:], " ")
			t.lower[strings.ToLower(f[0])] = f[0]
		}
	}
	return t
})

// ArxivCategoryName returns the name of a current arXiv category or archive ("Machine Learning" for cs.LG), and
// whether c is one.
func ArxivCategoryName(c string) (string, bool) {
	n, ok := arxivTaxonomy().names[c]
	return n, ok
}

// CheckArxivCategory returns nil when c is a current arXiv category (cs.LG) or archive (hep-th), as arXiv's
// feeds and API name them; otherwise an error saying what to write instead.
func CheckArxivCategory(c string) error {
	t := arxivTaxonomy()
	if _, ok := t.names[c]; ok {
		return nil
	}
	if to, ok := t.legacy[c]; ok {
		return fmt.Errorf("%q is a retired arXiv archive, merged into %s: use %q", c, to, to)
	}
	if id, ok := t.lower[strings.ToLower(c)]; ok {
		return fmt.Errorf("%q is not an arXiv category: did you mean %q? (case matters)", c, id)
	}
	if !arxivCategoryRe.MatchString(c) {
		return fmt.Errorf("%q is not an arXiv category (want e.g. cs.LG, q-bio.NC, hep-ex; see https://arxiv.org/category_taxonomy)", c)
	}
	archive, _, _ := strings.Cut(c, ".")
	if _, ok := t.names[archive]; ok {
		return fmt.Errorf("%q is not an arXiv category: %s has no such subject class (see https://arxiv.org/category_taxonomy)", c, archive)
	}
	return fmt.Errorf("%q is not an arXiv category: no archive %q (see https://arxiv.org/category_taxonomy)", c, archive)
}
