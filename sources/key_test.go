package sources

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestSameArxivPaperOneKey is the identity promise of DESIGN.md section 2: the HF listing, an RSS new item, an RSS
// cross item and an API entry of one paper all get one key, and merge into one paper.
func TestSameArxivPaperOneKey(t *testing.T) {
	tests := []struct {
		file    string
		parse   func([]byte) ([]paper.Paper, error)
		version int
		typ     paper.AnnounceType
	}{
		{"hf_daily.json", ParseHFDaily, 0, ""},
		{"rss_new.xml", ParseArxivFeed, 1, paper.AnnounceNew},
		{"rss_cross.xml", ParseArxivFeed, 1, paper.AnnounceCross},
		{"rss_new.xml", ParseFeed, 1, paper.AnnounceNew},
		{"api.xml", ParseArxivAPI, 2, ""},
	}
	var merged paper.Paper
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "key", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			papers, err := tt.parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(papers) != 1 {
				t.Fatalf("got %d papers, want 1", len(papers))
			}
			p := papers[0]
			if p.Key != "arxiv:2605.15963" || p.Version != tt.version || p.AnnounceType != tt.typ {
				t.Errorf("key %q version %d type %q; want arxiv:2605.15963, %d, %q", p.Key, p.Version, p.AnnounceType,
					tt.version, tt.typ)
			}
			merged = paper.Merge(merged, p)
		})
	}
	if merged.Key != "arxiv:2605.15963" || !merged.HasHF || merged.Version != 2 || merged.AnnounceType != paper.AnnounceNew || !slices.Equal(merged.Categories, []string{"cs.CV", "cs.AI"}) {
		t.Errorf("merged paper: %+v", merged)
	}
}
