package paper

import (
	"slices"
	"testing"
)

func TestCardChanges(t *testing.T) {
	base := Paper{Key: "arxiv:2609.00001", ArxivID: "2609.00001", Version: 1, Title: "T", Abstract: "A",
		Categories: []string{"cs.LG"}, HasHF: true, Upvotes: 7}
	tests := []struct {
		name string
		edit func(p *Paper)
		want []string
	}{
		{"nothing", func(*Paper) {}, nil},
		{"one more vote below a milestone", func(p *Paper) { p.Upvotes = 9 }, nil},
		{"votes within a milestone band", func(p *Paper) { p.Upvotes = 24 }, []string{ChangeUpvotes}},
		{"new source and comment", func(p *Paper) { p.Sources = []string{"x"}; p.Comment = "12 pages" }, nil},
		{"v2 with new text", func(p *Paper) { p.Version, p.Title = 2, "T2" }, []string{ChangeVersion}},
		{"v2 same text", func(p *Paper) { p.Version = 2 }, []string{ChangeVersion}},
		{"text without a new version", func(p *Paper) { p.Title = "t" }, nil},
		{"code link appears", func(p *Paper) { p.GitHubRepo = "o/r" }, []string{ChangeCode}},
		{"project page appears", func(p *Paper) { p.ProjectPage = "https://x.example" }, []string{ChangeProject}},
		{"journal ref and doi", func(p *Paper) { p.JournalRef, p.DOI = "J. 1 (2026)", "10.1/x" }, []string{ChangeJournal, ChangeDOI}},
		{"cross-list", func(p *Paper) { p.Categories = []string{"cs.LG", "stat.ML"} }, []string{ChangeCategories}},
		{"all at once", func(p *Paper) { p.Version, p.Upvotes, p.GitHubRepo = 2, 55, "o/r" },
			[]string{ChangeVersion, ChangeUpvotes, ChangeCode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upd := base
			upd.Categories = slices.Clone(base.Categories)
			tt.edit(&upd)
			if got := CardChanges(&base, &upd); !slices.Equal(got, tt.want) {
				t.Errorf("CardChanges = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUpvoteMilestone(t *testing.T) {
	for n, want := range map[int]int{0: 0, 9: 0, 10: 10, 24: 10, 25: 25, 49: 25, 50: 50, 99: 50, 100: 100, 249: 100, 250: 250, 10000: 250} {
		if got := UpvoteMilestone(n); got != want {
			t.Errorf("UpvoteMilestone(%d) = %d, want %d", n, got, want)
		}
	}
}
