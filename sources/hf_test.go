package sources

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParseHFDailyGolden(t *testing.T) {
	runGolden(t, "hf", "json", ParseHFDaily)
}

func TestParseHFDailyFields(t *testing.T) {
	tests := []struct {
		file      string
		idx       int
		id        string
		upvotes   int
		comments  int
		repo      string
		thumbnail string
		nAuthors  int
		keyword   string
	}{
		{"daily_papers_trimmed_2items.json", 0, "2605.15320", 1, 0, "",
			"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2605.15320.png", 6, "Multi-View Query-Former"},
		{"daily_papers_trimmed_2items.json", 1, "2605.15963", 2, 1, "https://github.com/OpenRaiser/Pager",
			"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2605.15963.png", 11, "GUI agents"},
		{"paper_2605.13301.json", 0, "2605.13301", 140, 0, "https://github.com/Simplified-Reasoning/SU-01", "", 28,
			"test-time scaling"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "hf", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			papers, err := ParseHFDaily(data)
			if err != nil {
				t.Fatal(err)
			}
			p := papers[tt.idx]
			if p.Key != "arxiv:"+tt.id || !p.HasHF || p.HFURL != "https://huggingface.co/papers/"+tt.id ||
				p.URL != "https://arxiv.org/abs/"+tt.id || p.PDFURL != "https://arxiv.org/pdf/"+tt.id {
				t.Errorf("identity/links wrong: %+v", p)
			}
			if p.Upvotes != tt.upvotes || p.NumComments != tt.comments || p.GitHubRepo != tt.repo || p.Thumbnail != tt.thumbnail {
				t.Errorf("upvotes/comments/repo/thumb = %d/%d/%q/%q, want %d/%d/%q/%q", p.Upvotes, p.NumComments,
					p.GitHubRepo, p.Thumbnail, tt.upvotes, tt.comments, tt.repo, tt.thumbnail)
			}
			if len(p.Authors) != tt.nAuthors || !slices.Contains(p.Keywords, tt.keyword) || p.Published.IsZero() {
				t.Errorf("authors %d (want %d), keywords %q (want %q), published %v", len(p.Authors), tt.nAuthors,
					p.Keywords, tt.keyword, p.Published)
			}
		})
	}
}

func TestParseHFDailyMalformed(t *testing.T) {
	tests := []struct {
		name string
		data string
		is   error
	}{
		{"empty", "", nil},
		{"null", "null", nil},
		{"truncated", `[{"paper":{"id":"2605.15320","authors":[{"name":"A`, nil},
		{"html", "<!doctype html><html><body>502 Bad Gateway</body></html>", nil},
		{"api error object", `{"error":"Invalid date"}`, nil},
		{"unrelated object", `{"foo":1}`, nil},
		{"number", `42`, nil},
		{"wrong field type", `[{"paper":{"id":2605.15320,"title":"x"}}]`, nil},
		{"items without paper", `[{"title":"x"},{"title":"y"}]`, ErrNoItems},
		{"non-arxiv ids", `[{"paper":{"id":"not-an-id","title":"x"}}]`, ErrNoItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			papers, err := ParseHFDaily([]byte(tt.data))
			if err == nil {
				t.Fatalf("got %d papers and no error, want an error", len(papers))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want errors.Is %v", err, tt.is)
			}
		})
	}
	t.Run("empty list", func(t *testing.T) {
		papers, err := ParseHFDaily([]byte(" [] "))
		if err != nil || papers == nil || len(papers) != 0 {
			t.Errorf("got %v, %v; want an empty non-nil slice and no error", papers, err)
		}
	})
}

func FuzzParseHFDaily(f *testing.F) {
	addSeeds(f, "hf/*.json", "key/hf_daily.json")
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"error":"Invalid date"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		papers, err := ParseHFDaily(data)
		checkPapers(t, papers, err)
		for _, p := range papers {
			if !p.HasHF || p.ArxivID == "" || p.Upvotes < 0 || p.NumComments < 0 {
				t.Errorf("hf paper %+v", p)
			}
		}
	})
}
