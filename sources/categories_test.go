package sources

import (
	"strings"
	"testing"
)

// TestTaxonomyFile keeps arxiv_categories.txt well-formed: every group of arXiv's taxonomy present, no id twice,
// every retired archive pointing at a current category.
func TestTaxonomyFile(t *testing.T) {
	tx := arxivTaxonomy()
	seen := map[string]bool{}
	for line := range strings.SplitSeq(taxonomyText, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		id := f[0]
		if id == "legacy" {
			if len(f) < 4 {
				t.Errorf("legacy line %q: want legacy ID NEW Name", line)
				continue
			}
			id = f[1]
			if _, ok := tx.names[f[2]]; !ok {
				t.Errorf("retired %s points at %s, which is not a current category", f[1], f[2])
			}
		} else if len(f) < 2 || !arxivCategoryRe.MatchString(id) {
			t.Errorf("line %q: want an arXiv id and its name", line)
		}
		if seen[id] {
			t.Errorf("%s is listed twice", id)
		}
		seen[id] = true
	}
	perArchive := map[string]int{}
	for id := range tx.names {
		if a, _, ok := strings.Cut(id, "."); ok {
			perArchive[a]++
		}
	}
	// The subject classes per archive in arXiv's taxonomy.
	want := map[string]int{"cs": 40, "econ": 3, "eess": 4, "math": 32, "astro-ph": 6, "cond-mat": 9, "nlin": 5,
		"physics": 22, "q-bio": 10, "q-fin": 9, "stat": 6}
	for a, n := range want {
		if perArchive[a] != n {
			t.Errorf("%s has %d subject classes in the file, arXiv's taxonomy has %d", a, perArchive[a], n)
		}
	}
	for _, a := range []string{"gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nucl-ex", "nucl-th", "quant-ph"} {
		if _, ok := tx.names[a]; !ok {
			t.Errorf("archive %s missing", a)
		}
	}
}

func TestCheckArxivCategory(t *testing.T) {
	tests := []struct {
		cat, want string // want "" for accepted
	}{
		{"cs.LG", ""}, {"q-bio.NC", ""}, {"cond-mat.str-el", ""}, {"hep-th", ""}, {"math", ""}, {"physics.optics", ""},
		{"econ.EM", ""}, {"eess.IV", ""}, {"q-fin.TR", ""}, {"stat.ML", ""}, {"astro-ph.HE", ""}, {"nlin.SI", ""},
		{"cs.lg", `"cs.lg" is not an arXiv category: did you mean "cs.LG"? (case matters)`},
		{"CS.LG", `"CS.LG" is not an arXiv category: did you mean "cs.LG"? (case matters)`},
		{"cs.ZZ", `"cs.ZZ" is not an arXiv category: cs has no such subject class (see https://arxiv.org/category_taxonomy)`},
		{"solv-int", `"solv-int" is a retired arXiv archive, merged into nlin.SI: use "nlin.SI"`},
		{"bio", `"bio" is not an arXiv category: no archive "bio" (see https://arxiv.org/category_taxonomy)`},
		{"cs.LG+cs.AI", `"cs.LG+cs.AI" is not an arXiv category (want e.g. cs.LG, q-bio.NC, hep-ex; see https://arxiv.org/category_taxonomy)`},
		{"https://evil/", `"https://evil/" is not an arXiv category (want e.g. cs.LG, q-bio.NC, hep-ex; see https://arxiv.org/category_taxonomy)`},
	}
	for _, tt := range tests {
		t.Run(tt.cat, func(t *testing.T) {
			err := CheckArxivCategory(tt.cat)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("CheckArxivCategory(%q) = %q, want %q", tt.cat, got, tt.want)
			}
		})
	}
	if n, ok := ArxivCategoryName("cs.LG"); !ok || n != "Machine Learning" {
		t.Errorf("name of cs.LG = %q, %v", n, ok)
	}
}

func TestKindKeys(t *testing.T) {
	for _, k := range Kinds() {
		if len(KindKeys(k)) == 0 || KindKeys(k)[0] != "url" {
			t.Errorf("kind %s reads %v; every kind reads url", k, KindKeys(k))
		}
	}
	if KindKeys("atom") != nil {
		t.Error("an unknown kind has keys")
	}
}
