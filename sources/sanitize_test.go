package sources

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestBadItemKeepsGoodOnes is issue 12's "one invalid UTF-8 byte, NUL or malformed JSON Feed item rejects the
// whole feed": the broken item is repaired (XML) or skipped (JSON), the others kept, and the repair counted.
func TestBadItemKeepsGoodOnes(t *testing.T) {
	tests := []struct {
		file       string
		parse      func([]byte) ([]paper.Paper, parseStats, error)
		wantTitles []string
		want       parseStats
	}{
		{"rss_bad_bytes.xml", parseFeed,
			[]string{"Good first paper", "Broken \uFFFD byte and a NUL here", "Good third paper"},
			parseStats{Repaired: 3}},
		{"atom_bad_bytes.xml", parseFeed,
			[]string{"Atom good one", "Atom \uFFFD( invalid and NUL", "Atom good three"},
			parseStats{Repaired: 4}}, // \xc3, NUL, and the two bytes of a cut sequence
		{"arxiv_rss_bad_bytes.xml", parseArxivFeed,
			[]string{"First arXiv paper", "Second arXiv paper \uFFFD", "Third arXiv paper"},
			parseStats{Repaired: 3}},
		{"jsonfeed_bad_items.json", parseFeed,
			[]string{"JSON good one", "JSON good five \uFFFD"},
			parseStats{Skipped: 3, Repaired: 1}},
		// Declared Latin-1: its bytes are characters, not broken UTF-8; only the NUL goes.
		{"rss_latin1.xml", parseFeed, []string{"Résumé d'une étude"}, parseStats{Repaired: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "repair", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			papers, st, err := tt.parse(data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			var titles []string
			for _, p := range papers {
				titles = append(titles, p.Title)
			}
			if !slices.Equal(titles, tt.wantTitles) {
				t.Errorf("titles %q, want %q", titles, tt.wantTitles)
			}
			if st != tt.want {
				t.Errorf("stats %+v, want %+v", st, tt.want)
			}
		})
	}
}

func TestSanitizeXMLKeepsMarkup(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"untouched", `<a x="1>2"><b>t &amp; u</b><!-- c --><![CDATA[<p>x</p>]]></a>`, `<a x="1>2"><b>t &amp; u</b><!-- c --><![CDATA[<p>x</p>]]></a>`},
		{"doctype subset", `<!DOCTYPE rss [<!ENTITY e "x">]><rss>&e;</rss>`, `<!DOCTYPE rss [<!ENTITY e "x">]><rss>&e;</rss>`},
		{"controls removed", "<a>x\x00y\x01z\tw\r\n</a>", "<a>xyz\tw\r\n</a>"},
		{"invalid utf-8 replaced", "<a>\xff\xc3</a>", "<a>\uFFFD\uFFFD</a>"},
		{"noncharacters removed", "<a>x\uFFFEy\uFFFFz</a>", "<a>xyz</a>"},
		{"utf-16 untouched", "\xff\xfe<\x00a\x00", "\xff\xfe<\x00a\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := sanitizeXML([]byte(tt.in), MaxFeedItems)
			if string(got) != tt.want {
				t.Errorf("sanitizeXML(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestParseLimits: the caps documented in sanitize.go hold whatever a feed sends, and each cut is counted.
func TestParseLimits(t *testing.T) {
	long := strings.Repeat("word ", 40000) // 200 KB
	t.Run("fields", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`<rss version="2.0"><channel><title>x</title><item><title>` + long + `</title>`)
		b.WriteString(`<link>https://example.org/p</link><description><![CDATA[<p>` + long + `</p>]]></description>`)
		for i := range MaxAuthors + 10 {
			fmt.Fprintf(&b, "<dc:creator xmlns:dc=\"http://purl.org/dc/elements/1.1/\">Author %d %s</dc:creator>", i,
				strings.Repeat("x", i%2*MaxAuthorBytes))
		}
		for i := range MaxCategories + 10 {
			fmt.Fprintf(&b, "<category>cat%d%s</category>", i, strings.Repeat("y", i%2*MaxCategoryBytes))
		}
		b.WriteString(`</item></channel></rss>`)
		papers, st, err := parseFeed([]byte(b.String()))
		if err != nil || len(papers) != 1 {
			t.Fatalf("%d papers, %v", len(papers), err)
		}
		p := papers[0]
		if len(p.Title) > MaxTitleBytes || len(p.Title) < MaxTitleBytes-8 || len(p.Abstract) > MaxAbstractBytes ||
			len(p.Abstract) < MaxAbstractBytes-8 {
			t.Errorf("title %d bytes, abstract %d bytes; want just under %d and %d", len(p.Title), len(p.Abstract),
				MaxTitleBytes, MaxAbstractBytes)
		}
		if len(p.Authors) != MaxAuthors || len(p.Categories) != MaxCategories {
			t.Errorf("%d authors, %d categories; want %d and %d", len(p.Authors), len(p.Categories), MaxAuthors, MaxCategories)
		}
		for _, a := range slices.Concat(p.Authors, p.Categories) {
			if len(a) > max(MaxAuthorBytes, MaxCategoryBytes) || !utf8.ValidString(a) {
				t.Fatalf("author or category of %d bytes", len(a))
			}
		}
		if st.Truncated < 4 {
			t.Errorf("stats %+v, want the cuts counted", st)
		}
	})
	t.Run("items", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString(`<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>`)
		for i := range MaxFeedItems + 7 {
			fmt.Fprintf(&b, `<entry><title>T%d</title><link href="https://example.org/%d"/><author><name>A</name></author></entry>`, i, i)
		}
		b.WriteString(`</feed>`)
		papers, st, err := parseFeed(b.Bytes())
		if err != nil || len(papers) != MaxFeedItems || st.Skipped != 7 {
			t.Fatalf("%d papers, stats %+v, %v; want %d papers and 7 skipped", len(papers), st, err, MaxFeedItems)
		}
		if last := papers[len(papers)-1].Title; last != fmt.Sprintf("T%d", MaxFeedItems-1) {
			t.Errorf("last paper %q, want the first %d kept", last, MaxFeedItems)
		}
	})
	t.Run("hf", func(t *testing.T) {
		data := fmt.Sprintf(`[{"paper":{"id":"2605.00001","title":%q,"summary":%q}},{"paper":{"id":5}},{"paper":{"id":"2605.00003","title":"ok"}}]`,
			long, long)
		papers, st, err := parseHFDaily([]byte(data))
		if err != nil || len(papers) != 2 || st.Skipped != 1 || len(papers[0].Title) > MaxTitleBytes ||
			len(papers[0].Abstract) > MaxAbstractBytes {
			t.Fatalf("%d papers, stats %+v, %v", len(papers), st, err)
		}
	})
}

// TestPollCountsRepairs: what the parser mended reaches the poll's result, for the poll report and its metric.
func TestPollCountsRepairs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "repair", "jsonfeed_bad_items.json"))
	if err != nil {
		t.Fatal(err)
	}
	g := getterFunc(func(string) (*Response, error) { return &Response{StatusCode: 200, Body: data}, nil })
	src, err := New(Config{Name: "blog", Kind: KindRSS, URL: "https://json.example.org/feed.json"}, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := src.Poll(t.Context(), nil)
	if err != nil || len(res.Papers) != 2 || res.Skipped != 3 || res.Repaired != 1 {
		t.Fatalf("Poll = %d papers, %d skipped, %v; want 2 and 3", len(res.Papers), res.Skipped, err)
	}
}

// getterFunc answers every Get with f(url).
type getterFunc func(url string) (*Response, error)

func (f getterFunc) Get(_ context.Context, url string, _ paper.Validators) (*Response, error) {
	return f(url)
}
