package paper

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseArxivID(t *testing.T) {
	tests := []struct {
		in      string
		id      string
		version int
		ok      bool
	}{
		{"2401.01234", "2401.01234", 0, true},
		{"2401.01234v2", "2401.01234", 2, true},
		{" 2401.01234v12 ", "2401.01234", 12, true},
		{"oai:arXiv.org:2401.01234v2", "2401.01234", 2, true},
		{"arXiv:2401.01234", "2401.01234", 0, true},
		{"arxiv:2401.01234v3", "2401.01234", 3, true},
		{"https://arxiv.org/abs/2401.01234v1", "2401.01234", 1, true},
		{"http://export.arxiv.org/abs/2401.01234", "2401.01234", 0, true},
		{"https://arxiv.org/pdf/2401.01234v2.pdf", "2401.01234", 2, true},
		{"0704.0001", "0704.0001", 0, true}, // the first new-style id (4-digit number)
		{"http://arxiv.org/pdf/hep-ex/0601001v2", "hep-ex/0601001", 2, true},
		{"hep-ex/0601001", "hep-ex/0601001", 0, true},
		{"oai:arXiv.org:hep-th/9901001v1", "hep-th/9901001", 1, true},
		{"arXiv:HEP-EX/0601001V2", "hep-ex/0601001", 2, true},
		{"math/0601001v3", "math/0601001", 3, true},
		{"math.AG/0601001", "math/0601001", 0, true}, // subject class is not part of the id
		{"arXiv:cond-mat.str-el/0601001v2", "cond-mat/0601001", 2, true},
		{"http://arxiv.org/abs/cond-mat/0512345", "cond-mat/0512345", 0, true},
		{"", "", 0, false},
		{"not an id", "", 0, false},
		{"12345.6789", "", 0, false},
		{"2401.012345", "", 0, false},
		{"hep-ex/060100", "", 0, false},
		{"10.1101/2024.01.02.573456", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, v, ok := ParseArxivID(tt.in)
			if id != tt.id || v != tt.version || ok != tt.ok {
				t.Errorf("ParseArxivID(%q) = %q, %d, %v; want %q, %d, %v", tt.in, id, v, ok, tt.id, tt.version, tt.ok)
			}
			if ok {
				if id2, v2, ok2 := ParseArxivID(id); id2 != id || v2 != 0 || !ok2 {
					t.Errorf("re-parse of %q = %q, %d, %v", id, id2, v2, ok2)
				}
			}
		})
	}
}

func TestNormalizeDOI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.1093/bioinformatics/btac431", "10.1093/bioinformatics/btac431"},
		{"doi:10.1101/2024.01.02.573456", "10.1101/2024.01.02.573456"},
		{"https://doi.org/10.1162/NECO_a_01234", "10.1162/neco_a_01234"},
		{"http://dx.doi.org/10.1000/XYZ.", "10.1000/xyz"},
		{"(see 10.5802/jep.257)", "10.5802/jep.257"},
		{"https%3A%2F%2Fdoi.org%2F10.1000%2Fabc", "10.1000/abc"},
		{"", ""},
		{"isbn:978-3-16-148410-0", ""},
		{"10.12/too-short-prefix", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := NormalizeDOI(tt.in); got != tt.want {
				t.Errorf("NormalizeDOI(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeLink(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTP://WWW.Example.org/a/?b=2&a=1&utm_source=x&UTM_medium=y#frag", "https://example.org/a?a=1&b=2"},
		{"https://example.org/post", "https://example.org/post"},
		{"http://example.org/post/", "https://example.org/post"},
		{"https://example.org/Case/Kept", "https://example.org/Case/Kept"},
		{"  https://example.org/x  ", "https://example.org/x"},
		{"not a url", "not a url"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := NormalizeLink(tt.in); got != tt.want {
				t.Errorf("NormalizeLink(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestKeyOf(t *testing.T) {
	linkKey := KeyOf(Paper{URL: "https://example.org/post"})
	tests := []struct {
		name string
		p    Paper
		want string
	}{
		{"arxiv wins over doi", Paper{ArxivID: "2401.01234", DOI: "10.1/x", URL: "https://e.org"}, "arxiv:2401.01234"},
		{"old-style arxiv", Paper{ArxivID: "hep-ex/0601001"}, "arxiv:hep-ex/0601001"},
		{"doi wins over link", Paper{DOI: "10.1000/xyz", URL: "https://e.org"}, "doi:10.1000/xyz"},
		{"link hash", Paper{URL: "https://example.org/post"}, linkKey},
		{"same link spelled differently", Paper{URL: "http://www.example.org/post/?utm_source=rss#c"}, linkKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KeyOf(tt.p); got != tt.want {
				t.Errorf("KeyOf = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("link key shape", func(t *testing.T) {
		if !strings.HasPrefix(linkKey, "link:") || len(linkKey) != len("link:")+16 {
			t.Errorf("link key %q, want link:<16 hex digits>", linkKey)
		}
	})
	t.Run("title fallback differs by title, ignores case and spacing", func(t *testing.T) {
		a, b, c := KeyOf(Paper{Title: "A  Title"}), KeyOf(Paper{Title: "a title"}), KeyOf(Paper{Title: "Other"})
		if a != b || a == c {
			t.Errorf("keys %q %q %q", a, b, c)
		}
	})
}

func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC)
	rssNew := Paper{Key: "arxiv:2605.15963", ArxivID: "2605.15963", Version: 1, Title: "Old title", Abstract: "v1",
		Authors: []string{"A"}, Categories: []string{"cs.CV"}, AnnounceType: AnnounceNew, Published: t0.Add(24 * time.Hour),
		Sources: []string{"arxiv-cv"}}
	hf := Paper{Key: "arxiv:2605.15963", ArxivID: "2605.15963", Title: "HF title", HasHF: true, Upvotes: 5,
		GitHubRepo: "https://github.com/x/y", Thumbnail: "https://t/x.png", HFURL: "https://huggingface.co/papers/2605.15963",
		Keywords: []string{"GUI agents"}, Published: t0, Sources: []string{"hf"}}
	replace := Paper{Key: "arxiv:2605.15963", ArxivID: "2605.15963", Version: 2, Title: "New title", Abstract: "v2",
		Authors: []string{"A", "B"}, Categories: []string{"cs.AI", "cs.CV"}, AnnounceType: AnnounceReplace,
		Published: t0.Add(72 * time.Hour), Updated: t0.Add(72 * time.Hour), Sources: []string{"arxiv-ai"}}

	m := Merge(Merge(rssNew, hf), replace)
	checks := []struct {
		name string
		ok   bool
	}{
		{"key kept", m.Key == "arxiv:2605.15963"},
		{"newest version's title", m.Title == "New title" && m.Abstract == "v2" && m.Version == 2},
		{"newest authors", slices.Equal(m.Authors, []string{"A", "B"})},
		{"first announce type kept", m.AnnounceType == AnnounceNew},
		{"earliest published", m.Published.Equal(t0)},
		{"latest updated", m.Updated.Equal(t0.Add(72 * time.Hour))},
		{"categories unioned in order", slices.Equal(m.Categories, []string{"cs.CV", "cs.AI"})},
		{"sources unioned", slices.Equal(m.Sources, []string{"arxiv-cv", "hf", "arxiv-ai"})},
		{"hf fields kept", m.HasHF && m.Upvotes == 5 && m.GitHubRepo != "" && m.Thumbnail != "" && m.HFURL != ""},
		{"keywords kept", slices.Equal(m.Keywords, []string{"GUI agents"})},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("merged: %+v", m)
			}
		})
	}
	t.Run("upvotes never go down", func(t *testing.T) {
		later := Merge(m, Paper{Key: m.Key, HasHF: true, Upvotes: 3, NumComments: 2})
		if later.Upvotes != 5 || later.NumComments != 2 {
			t.Errorf("upvotes %d comments %d", later.Upvotes, later.NumComments)
		}
	})
	t.Run("older version does not overwrite", func(t *testing.T) {
		back := Merge(m, rssNew)
		if back.Title != "New title" || back.Version != 2 {
			t.Errorf("title %q version %d", back.Title, back.Version)
		}
	})
	t.Run("inputs not aliased", func(t *testing.T) {
		authors := []string{"X", "Y"}
		out := Merge(Paper{Key: "k"}, Paper{Key: "k", Version: 1, Authors: authors})
		out.Authors[0] = "changed"
		if authors[0] != "X" {
			t.Error("Merge result shares the update's author slice")
		}
	})
}

func FuzzParseArxivID(f *testing.F) {
	for _, s := range []string{"2401.01234v2", "oai:arXiv.org:2401.01234v2", "arXiv:2401.01234",
		"https://arxiv.org/abs/2401.01234v1", "http://arxiv.org/pdf/hep-ex/0601001v2", "hep-ex/0601001",
		"math.AG/0601001", "0704.0001", "arXiv:HEP-EX/0601001V2", "q-bio/0601001v10", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, v, ok := ParseArxivID(s)
		if !ok {
			if id != "" || v != 0 {
				t.Errorf("ParseArxivID(%q) = %q, %d, false", s, id, v)
			}
			return
		}
		if id == "" || v < 0 {
			t.Fatalf("ParseArxivID(%q) = %q, %d, true", s, id, v)
		}
		if id2, v2, ok2 := ParseArxivID(id); id2 != id || v2 != 0 || !ok2 {
			t.Errorf("ParseArxivID(%q) = %q; re-parse gives %q, %d, %v", s, id, id2, v2, ok2)
		}
		if id2, v2, ok2 := ParseArxivID(fmt.Sprintf("%sv7", id)); id2 != id || v2 != 7 || !ok2 {
			t.Errorf("ParseArxivID(%q) = %q; with v7 re-parses as %q, %d, %v", s, id, id2, v2, ok2)
		}
	})
}
