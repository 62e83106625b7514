package snapshot

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// archives are arXiv's archives, the part of a category before the dot, current and retired (the snapshot keeps
// the retired ones of old papers: chao-dyn, cmp-lg, ...). A category is known when its archive is: arXiv adds
// subject classes now and then, and a stale list of those must not make an import drop real papers.
var archives = []string{
	"astro-ph", "cond-mat", "cs", "econ", "eess", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math",
	"math-ph", "nlin", "nucl-ex", "nucl-th", "physics", "q-bio", "q-fin", "quant-ph", "stat",
	// Retired archives, merged into the ones above; their papers keep them.
	"acc-phys", "adap-org", "alg-geom", "ao-sci", "atom-ph", "bayes-an", "chao-dyn", "chem-ph", "cmp-lg",
	"comp-gas", "dg-ga", "funct-an", "mtrl-th", "patt-sol", "plasm-ph", "q-alg", "solv-int", "supr-con",
}

// categoryRe is the shape of a category: an archive, optionally a dot and a subject class (cs.LG, cond-mat.str-el,
// math-ph, physics.bio-ph).
var categoryRe = regexp.MustCompile(`^([a-z][a-z-]*)(?:\.([A-Za-z][A-Za-z-]*))?$`)

// KnownCategory reports whether c is an arXiv category: the shape of one, in a known archive.
func KnownCategory(c string) bool {
	m := categoryRe.FindStringSubmatch(c)
	return m != nil && slices.Contains(archives, m[1])
}

// Filter keeps the papers of some categories (--categories): an entry with a dot is one category (cs.LG), an
// entry without one a whole archive (math: math.AG, math.CO, ... and the old math/ papers). The zero Filter keeps
// everything.
type Filter struct {
	cats, archives []string
}

// ParseFilter reads a comma-separated list of categories and archives; every entry must be a known one.
func ParseFilter(list string) (Filter, error) {
	var f Filter
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if !KnownCategory(e) {
			return Filter{}, fmt.Errorf("--categories: %q is not an arXiv category or archive", e)
		}
		if strings.Contains(e, ".") {
			f.cats = append(f.cats, e)
		} else {
			f.archives = append(f.archives, e)
		}
	}
	return f, nil
}

// Keeps reports whether a paper of categories cats passes the filter.
func (f Filter) Keeps(cats []string) bool {
	if len(f.cats) == 0 && len(f.archives) == 0 {
		return true
	}
	for _, c := range cats {
		if slices.Contains(f.cats, c) {
			return true
		}
		archive, _, _ := strings.Cut(c, ".")
		if slices.Contains(f.archives, archive) {
			return true
		}
	}
	return false
}
