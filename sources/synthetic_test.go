package sources

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

func TestSyntheticArxivFeed(t *testing.T) {
	tests := []struct {
		n    int
		seed int64
	}{{0, 1}, {1, 1}, {500, 7}, {2000, 42}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d", tt.n), func(t *testing.T) {
			data := testkit.SyntheticArxivFeed(tt.n, tt.seed)
			if !bytes.Equal(data, testkit.SyntheticArxivFeed(tt.n, tt.seed)) {
				t.Fatal("same seed gave different feeds")
			}
			papers, err := ParseArxivFeed(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(papers) != tt.n {
				t.Fatalf("%d papers, want %d", len(papers), tt.n)
			}
			keys := make(map[string]bool)
			types := make(map[paper.AnnounceType]int)
			for _, p := range papers {
				keys[p.Key] = true
				types[p.AnnounceType]++
				words := len(strings.Fields(p.Abstract))
				if words < 150 || words > 250 || len(p.Authors) < 1 || len(p.Authors) > 8 ||
					len(p.Categories) < 1 || len(p.Categories) > 3 || p.Title == "" || p.Version < 1 {
					t.Fatalf("paper out of spec: %d words, %d authors, %d categories, version %d: %+v", words,
						len(p.Authors), len(p.Categories), p.Version, p)
				}
			}
			if len(keys) != tt.n {
				t.Errorf("%d distinct keys, want %d", len(keys), tt.n)
			}
			if tt.n >= 500 && (types[paper.AnnounceNew] == 0 || types[paper.AnnounceCross] == 0 || types[paper.AnnounceReplace] == 0 ||
				types[paper.AnnounceReplaceCross] == 0) {
				t.Errorf("announce types %v, want all four", types)
			}
		})
	}
	if bytes.Equal(testkit.SyntheticArxivFeed(10, 1), testkit.SyntheticArxivFeed(10, 2)) {
		t.Error("different seeds gave the same feed")
	}
}
