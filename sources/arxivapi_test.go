package sources

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestParseArxivAPIGolden(t *testing.T) {
	runGolden(t, "arxiv-api", "xml", ParseArxivAPI)
}

func TestParseArxivAPIEntry(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "arxiv-api", "response_docs_example.xml"))
	if err != nil {
		t.Fatal(err)
	}
	papers, err := ParseArxivAPI(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(papers) != 1 {
		t.Fatalf("got %d papers, want 1", len(papers))
	}
	p := papers[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"key", p.Key, "arxiv:hep-ex/0307015"},
		{"id", p.ArxivID, "hep-ex/0307015"},
		{"version from links", p.Version, 1},
		{"title joined", p.Title, "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"},
		{"authors", p.Authors, []string{"H1 Collaboration"}},
		{"categories", p.Categories, []string{"hep-ex"}},
		{"comment", p.Comment, "23 pages, 8 figures and 4 tables"},
		{"journal ref", p.JournalRef, "Eur.Phys.J. C31 (2003) 17-29"},
		{"pdf", p.PDFURL, "https://arxiv.org/pdf/hep-ex/0307015v1"},
		{"published", p.Published, time.Date(2003, 7, 7, 17, 46, 39, 0, time.UTC)},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			switch w := c.want.(type) {
			case []string:
				if !slices.Equal(c.got.([]string), w) {
					t.Errorf("got %q, want %q", c.got, w)
				}
			case time.Time:
				if !c.got.(time.Time).Equal(w) {
					t.Errorf("got %v, want %v", c.got, w)
				}
			default:
				if c.got != c.want {
					t.Errorf("got %v, want %v", c.got, c.want)
				}
			}
		})
	}
}

func TestParseArxivAPIErrors(t *testing.T) {
	errFeed, err := os.ReadFile(filepath.Join("testdata", "arxiv-api", "error_docs_example.xml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseArxivAPI(errFeed)
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v, want *APIError", err)
	}
	if apiErr.Message != "incorrect id format for 1234.12345" {
		t.Errorf("message %q", apiErr.Message)
	}

	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"truncated", string(errFeed[:300])},
		{"rss instead of atom", `<rss version="2.0"><channel><title>x</title></channel></rss>`},
		{"html", "<html><body>Rate exceeded.</body></html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			papers, err := ParseArxivAPI([]byte(tt.data))
			if err == nil {
				t.Fatalf("got %d papers and no error", len(papers))
			}
			if errors.As(err, &apiErr) {
				t.Errorf("error %v is an *APIError, want a parse error", err)
			}
		})
	}

	t.Run("no results", func(t *testing.T) {
		empty := `<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">` +
			`<title>ArXiv Query</title><id>http://arxiv.org/api/x</id></feed>`
		papers, err := ParseArxivAPI([]byte(empty))
		if err != nil || papers == nil || len(papers) != 0 {
			t.Errorf("got %v, %v; want an empty non-nil slice and no error", papers, err)
		}
	})
}

func FuzzParseArxivAPI(f *testing.F) {
	addSeeds(f, "arxiv-api/*.xml", "key/api.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		papers, err := ParseArxivAPI(data)
		checkPapers(t, papers, err)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Error() == "" {
			t.Error("empty APIError text")
		}
	})
}
