package sources

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

func TestParseFeedGolden(t *testing.T) {
	runGolden(t, "feed", "xml", ParseFeed)
	runGolden(t, "feed", "json", ParseFeed)
}

func TestParseFeedBioRxiv(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "feed", "biorxiv_neuroscience_handwritten.xml"))
	if err != nil {
		t.Fatal(err)
	}
	papers, err := ParseFeed(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(papers) != 3 {
		t.Fatalf("got %d papers, want 3", len(papers))
	}
	p := papers[0]
	if p.Key != "doi:10.1101/2026.05.11.650123" || p.DOI != "10.1101/2026.05.11.650123" || p.ArxivID != "" {
		t.Errorf("identity: key %q doi %q arxiv %q", p.Key, p.DOI, p.ArxivID)
	}
	if want := []string{"Okafor, C.", "Lee, J.-H.", "Brandt, M. A.", "Nakamura, Y."}; !slices.Equal(p.Authors, want) {
		t.Errorf("authors %q, want %q", p.Authors, want)
	}
	if !p.Published.Equal(time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("published %v, want dc:date 2026-05-14", p.Published)
	}
	if p.URL != "http://biorxiv.org/cgi/content/short/2026.05.11.650123v1?rss=1" {
		t.Errorf("url %q", p.URL)
	}
	if got := papers[1].Title; got != "A connectome-constrained model of Drosophila visual motion detection" {
		t.Errorf("title with markup: %q", got)
	}
}

func TestParseFeedIdentity(t *testing.T) {
	tests := []struct {
		name string
		item string
		key  string
	}{
		{"arxiv link", `<item><title>T</title><link>https://arxiv.org/abs/2401.01234v2</link></item>`, "arxiv:2401.01234"},
		{"arxiv oai guid", `<item><title>T</title><guid isPermaLink="false">oai:arXiv.org:hep-th/9901001v1</guid></item>`,
			"arxiv:hep-th/9901001"},
		{"dc identifier", `<item><title>T</title><link>https://example.org/a</link>` +
			`<dc:identifier>doi:10.1101/2024.01.02.573456</dc:identifier></item>`, "doi:10.1101/2024.01.02.573456"},
		{"prism doi", `<item><title>T</title><link>https://example.org/a</link><prism:doi>10.1038/S41586-024-0001-X</prism:doi></item>`,
			"doi:10.1038/s41586-024-0001-x"},
		{"doi.org link", `<item><title>T</title><link>https://doi.org/10.1162/NECO_a_01234</link></item>`,
			"doi:10.1162/neco_a_01234"},
		{"publisher /doi/ link", `<item><title>T</title><link>https://onlinelibrary.wiley.com/doi/abs/10.1002/hbm.26000?af=R</link></item>`,
			"doi:10.1002/hbm.26000"},
		{"doi guid", `<item><title>T</title><link>https://example.org/a</link><guid>doi:10.5555/abc</guid></item>`, "doi:10.5555/abc"},
		{"numbers in unrelated link are not arxiv ids", `<item><title>T</title><link>https://example.org/2401.01234</link></item>`,
			paper.KeyOf(paper.Paper{URL: "https://example.org/2401.01234"})},
		{"link key ignores tracking and www", `<item><title>T</title><link>https://www.example.org/post/?utm_source=rss</link></item>`,
			paper.KeyOf(paper.Paper{URL: "https://example.org/post"})},
		{"isbn identifier is not a doi", `<item><title>T</title><link>https://example.org/b</link>` +
			`<dc:identifier>isbn:978-3-16-148410-0</dc:identifier></item>`, paper.KeyOf(paper.Paper{URL: "https://example.org/b"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" ` +
				`xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/"><channel><title>x</title>` + tt.item +
				`</channel></rss>`
			papers, err := ParseFeed([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if len(papers) != 1 || papers[0].Key != tt.key {
				t.Errorf("got %+v, want one paper with key %q", papers, tt.key)
			}
		})
	}
}

func TestParseFeedMalformed(t *testing.T) {
	tests := []struct {
		name string
		data string
		is   error
	}{
		{"empty", "", nil},
		{"html", "<!DOCTYPE html><html><body><h1>Not Found</h1></body></html>", nil},
		{"truncated", `<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>T</tit`, nil},
		{"json without feed version", `{"items":[]}`, nil},
		{"json array", `[1,2]`, nil},
		{"items without titles", `<rss version="2.0"><channel><title>x</title><item><link>https://e.org/a</link></item></channel></rss>`,
			ErrNoItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			papers, err := ParseFeed([]byte(tt.data))
			if err == nil {
				t.Fatalf("got %d papers and no error, want an error", len(papers))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want errors.Is %v", err, tt.is)
			}
		})
	}
	t.Run("valid empty atom", func(t *testing.T) {
		papers, err := ParseFeed([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>`))
		if err != nil || papers == nil || len(papers) != 0 {
			t.Errorf("got %v, %v; want an empty non-nil slice and no error", papers, err)
		}
	})
}

func FuzzParseFeed(f *testing.F) {
	addSeeds(f, "feed/*.xml", "feed/*.json", "arxiv-rss/*.xml", "repair/*.xml", "repair/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		papers, err := ParseFeed(data)
		checkPapers(t, papers, err)
	})
}
