package sources

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the parsers' output")

// goldenResult is what a golden file holds: the papers, or the error text for fixtures that must fail.
type goldenResult struct {
	Papers []paper.Paper `json:"papers"`
	Error  string        `json:"error,omitempty"`
}

// runGolden parses every testdata/<dir>/*.<ext> fixture with parse, one subtest each, and compares the result with
// NAME.golden.json beside it.
func runGolden(t *testing.T, dir, ext string, parse func([]byte) ([]paper.Paper, error)) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*."+ext))
	if err != nil {
		t.Fatal(err)
	}
	var fixtures []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.json") {
			fixtures = append(fixtures, f)
		}
	}
	if len(fixtures) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	for _, f := range fixtures {
		name := strings.TrimSuffix(filepath.Base(f), "."+ext)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			papers, err := parse(data)
			got := goldenResult{Papers: papers}
			if err != nil {
				got.Error = err.Error()
			}
			// Unescaped HTML keeps "<" readable in the goldens, which are reviewed by eye.
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			gotJSON := buf.Bytes()
			golden := strings.TrimSuffix(f, "."+ext) + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(gotJSON, want) {
				t.Errorf("result differs from %s (-update rewrites it): %s", golden, firstDiff(gotJSON, want))
			}
			for i, p := range papers {
				if p.Key == "" || p.Title == "" || p.Key != paper.KeyOf(p) {
					t.Errorf("paper %d: key %q title %q: want non-empty title and key == paper.KeyOf", i, p.Key, p.Title)
				}
			}
		})
	}
}

func TestParseArxivFeedGolden(t *testing.T) {
	runGolden(t, "arxiv-rss", "xml", ParseArxivFeed)
}

// TestParseArxivFeedFacts pins the facts the golden files are checked for, so that a careless -update cannot turn a
// regression into the spec.
func TestParseArxivFeedFacts(t *testing.T) {
	tests := []struct {
		file       string
		idx        int
		id         string
		version    int
		typ        paper.AnnounceType
		title      string
		authors    []string
		categories []string
		doi        string
		absPrefix  string
	}{
		{"rss2_multi_category_captured.xml", 1, "2609.26820", 1, paper.AnnounceNew,
			"Signal2Symbol: Neuro-Symbolic Temporal Reasoning for Explainable Physiological Time-Series Anomaly Detection",
			[]string{"Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"}, []string{"cs.LG", "cs.AI"}, "",
			"Physiological time series such as"},
		{"rss2_multi_category_captured.xml", 2, "2205.06398", 2, paper.AnnounceCross,
			"Outlier Detection for Multi-Network Data",
			[]string{"Pritam Dey", "Zhengwu Zhang", "David B. Dunson"}, []string{"stat.ME", "stat.AP", "stat.ML"},
			"10.1093/bioinformatics/btac431", "It has become routine"},
		{"rss2_multi_category_captured.xml", 3, "2009.13987", 3, paper.AnnounceReplace, "Random Polytope Descriptors",
			[]string{"Michael Joswig", "Marek Kaluba", "Lukas Ruff"}, []string{"cs.LG", "math.MG", "stat.ML"}, "",
			"We introduce a class"},
		{"rss1_legacy_hep-ex_2018.xml", 0, "1805.08875", 1, paper.AnnounceNew, "Measurement of Transverse Single Spin Asymmetries",
			[]string{"Christopher Dilks (STAR Collaboration)"}, []string{"hep-ex"}, "", "In 2015 the first"},
		{"rss1_legacy_hep-ex_2018.xml", 1, "1805.09166", 1, paper.AnnounceCross, "Recent Top quark results from the Tevatron",
			[]string{"Boris Tuchming"}, []string{"hep-ex"}, "", "We present recent measurements"},
		{"rss1_legacy_hep-ex_2018.xml", 2, "1805.06430", 2, paper.AnnounceReplace, "New Perspective on Hybrid Mesons",
			[]string{"Shu-Sheng Xu", "Zhu-Fang Cui", "Lei Chang", "Joannis Papavassiliou", "Craig D. Roberts", "Hong-Shi Zong"},
			[]string{"nucl-th"}, "", "It is thought"},
		{"rss2_replace_cross_spec_example.xml", 0, "2203.01250", 3, paper.AnnounceReplaceCross,
			"Mass concentration in rescaled first order integral functionals",
			[]string{"Antonin Monteil", "Paul Pegon"}, []string{"math.AP", "math.OC"}, "10.5802/jep.257",
			"We consider first order"},
		{"atom_spec_example.xml", 0, "2203.01250", 3, paper.AnnounceReplaceCross,
			"Mass concentration in rescaled first order integral functionals",
			[]string{"Antonin Monteil", "Paul Pegon"}, []string{"math.AP", "math.OC"}, "10.5802/jep.257",
			"We consider first order"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.id, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "arxiv-rss", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			papers, err := ParseArxivFeed(data)
			if err != nil {
				t.Fatal(err)
			}
			if tt.idx >= len(papers) {
				t.Fatalf("got %d papers, want more than %d", len(papers), tt.idx)
			}
			p := papers[tt.idx]
			if p.ArxivID != tt.id || p.Version != tt.version || p.AnnounceType != tt.typ || p.Key != "arxiv:"+tt.id {
				t.Errorf("id/version/type/key = %q/%d/%q/%q, want %q/%d/%q/arxiv:%s",
					p.ArxivID, p.Version, p.AnnounceType, p.Key, tt.id, tt.version, tt.typ, tt.id)
			}
			if p.Title != tt.title {
				t.Errorf("title = %q, want %q", p.Title, tt.title)
			}
			if !slices.Equal(p.Authors, tt.authors) {
				t.Errorf("authors = %q, want %q", p.Authors, tt.authors)
			}
			if !slices.Equal(p.Categories, tt.categories) {
				t.Errorf("categories = %q, want %q", p.Categories, tt.categories)
			}
			if p.DOI != tt.doi {
				t.Errorf("doi = %q, want %q", p.DOI, tt.doi)
			}
			if !strings.HasPrefix(p.Abstract, tt.absPrefix) || strings.Contains(p.Abstract, "<p") || strings.Contains(p.Abstract, "\n") {
				t.Errorf("abstract = %.80q..., want prefix %q without markup or newlines", p.Abstract, tt.absPrefix)
			}
			if p.URL != "https://arxiv.org/abs/"+tt.id || p.PDFURL == "" || p.Published.IsZero() {
				t.Errorf("url %q pdf %q published %v", p.URL, p.PDFURL, p.Published)
			}
		})
	}
}

func TestParseArxivFeedMalformed(t *testing.T) {
	captured, err := os.ReadFile(filepath.Join("testdata", "arxiv-rss", "rss2_multi_category_captured.xml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
		is   error // nil: any error
	}{
		{"empty", "", nil},
		{"truncated", string(captured[:len(captured)/2]), nil},
		{"html error page", "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>busy</body></html>", nil},
		{"json", `{"error":"nope"}`, nil},
		{"items without arxiv ids", `<rss version="2.0"><channel><title>x</title>` +
			`<item><title>A blog post</title><link>https://example.org/a</link></item></channel></rss>`, ErrNoItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			papers, err := ParseArxivFeed([]byte(tt.data))
			if err == nil {
				t.Fatalf("got %d papers and no error, want an error", len(papers))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want errors.Is %v", err, tt.is)
			}
		})
	}
}

func TestSplitAuthors(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Fabien Polly", []string{"Fabien Polly"}},
		{"A. Smith, B. Jones", []string{"A. Smith", "B. Jones"}},
		{"Ann Lee, Bo Kim and Cy Dae", []string{"Ann Lee", "Bo Kim", "Cy Dae"}},
		{"Ann Lee, Bo Kim, and Cy Dae", []string{"Ann Lee", "Bo Kim", "Cy Dae"}},
		{"Ann Lee and Bo Kim", []string{"Ann Lee", "Bo Kim"}},
		{"X. Yu (MIT, Harvard), Z. Wu", []string{"X. Yu (MIT, Harvard)", "Z. Wu"}},
		{"Martin Luther King, Jr., Rosa Parks", []string{"Martin Luther King, Jr.", "Rosa Parks"}},
		{"Okafor, C., Lee, J.-H., Brandt, M. A.", []string{"Okafor, C.", "Lee, J.-H.", "Brandt, M. A."}},
		{"  Alice  Baker ,\n Carol Diaz ", []string{"Alice Baker", "Carol Diaz"}},
		{"ATLAS Collaboration", []string{"ATLAS Collaboration"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := splitAuthors(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("splitAuthors(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// firstDiff describes the first line where got and want differ, which is enough to find the change in a golden file.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return "equal lines, different bytes"
}

// addSeeds adds every fixture matching the globs (under testdata) to the fuzz corpus.
func addSeeds(f *testing.F, globs ...string) {
	f.Helper()
	n := 0
	for _, g := range globs {
		files, err := filepath.Glob(filepath.Join("testdata", g))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, ".golden.json") {
				continue
			}
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seed files for %q", globs)
	}
}

// checkPapers is the invariant every parser keeps on any input: an error, or papers that have a title and the key
// KeyOf gives them.
func checkPapers(t *testing.T, papers []paper.Paper, err error) {
	t.Helper()
	if err != nil {
		if papers != nil {
			t.Errorf("error %v with %d papers", err, len(papers))
		}
		return
	}
	if papers == nil {
		t.Error("nil slice without error; want an empty slice")
	}
	for i, p := range papers {
		if p.Key == "" || strings.TrimSpace(p.Title) == "" || p.Key != paper.KeyOf(p) {
			t.Errorf("paper %d: key %q (paper.KeyOf %q), title %q", i, p.Key, paper.KeyOf(p), p.Title)
		}
		// The parse limits of sanitize.go, and text that is valid UTF-8 whatever the bytes were.
		if len(p.Title) > MaxTitleBytes || len(p.Abstract) > MaxAbstractBytes || len(p.Authors) > MaxAuthors ||
			len(p.Categories) > MaxCategories || !utf8.ValidString(p.Title) || !utf8.ValidString(p.Abstract) {
			t.Errorf("paper %d over the limits or not UTF-8: title %d bytes, abstract %d, %d authors, %d categories",
				i, len(p.Title), len(p.Abstract), len(p.Authors), len(p.Categories))
		}
		for _, a := range slices.Concat(p.Authors, p.Categories) {
			if len(a) > max(MaxAuthorBytes, MaxCategoryBytes) || !utf8.ValidString(a) {
				t.Errorf("paper %d: author or category %q", i, a)
			}
		}
	}
	if len(papers) > MaxFeedItems {
		t.Errorf("%d papers, more than MaxFeedItems", len(papers))
	}
}

func FuzzParseArxivFeed(f *testing.F) {
	addSeeds(f, "arxiv-rss/*.xml", "key/rss_*.xml", "repair/arxiv_*.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		papers, err := ParseArxivFeed(data)
		checkPapers(t, papers, err)
		for _, p := range papers {
			if p.ArxivID == "" || p.URL != "https://arxiv.org/abs/"+p.ArxivID {
				t.Errorf("arxiv paper without id or with url %q", p.URL)
			}
		}
	})
}

func BenchmarkParseArxivFeed2000(b *testing.B) {
	data := testkit.SyntheticArxivFeed(2000, 1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		papers, err := ParseArxivFeed(data)
		if err != nil || len(papers) != 2000 {
			b.Fatalf("%d papers, %v", len(papers), err)
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "items/s")
}
