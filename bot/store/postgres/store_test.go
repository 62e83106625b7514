package postgres

import (
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

func TestSearch(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	papers := []paper.Paper{
		arxiv("2609.00001", t0.Add(-3*time.Hour), paper.AnnounceNew, "The Schrödinger bridge for diffusion", "We study bridges."),
		arxiv("2609.00002", t0.Add(-2*time.Hour), paper.AnnounceNew, "EEG-based decoding of speech", "Foundation models for EEG."),
		arxiv("2609.00003", t0.Add(-1*time.Hour), paper.AnnounceNew, "PEEG: a dataset", "Not the same word."),
		arxiv("2609.00004", t0, paper.AnnounceNew, "Spiking networks and EEG", "A foundation model OR two: NEAR( * - \"quoted\"."),
		// Decomposed ö (o + U+0308), as some authoring tools write it.
		arxiv("2609.00005", t0.Add(-4*time.Hour), paper.AnnounceNew, "Schro\u0308dinger equations", "Quantum."),
	}
	papers[4].Authors = []string{"Émile Noether"}
	mustIngest(t, s, "arxiv", papers, nil, t0)
	k := func(i ...int) []string {
		out := []string{}
		for _, j := range i {
			out = append(out, papers[j].Key)
		}
		return out
	}
	tests := []struct {
		name  string
		words []string
		limit int
		want  []string
	}{
		{"diacritics folded", []string{"schrodinger"}, 0, k(0, 4)},
		{"query with diacritics", []string{"Schrödinger"}, 0, k(0, 4)},
		{"whole word only, hyphen splits", []string{"eeg"}, 0, k(3, 1)},
		{"case folded", []string{"PEEG"}, 0, k(2)},
		{"every word required", []string{"eeg", "foundation"}, 0, k(3, 1)},
		{"multi-token word is a phrase", []string{"EEG-based"}, 0, k(1)},
		{"limit keeps the newest", []string{"eeg"}, 1, k(3)},
		{"authors are searched", []string{"emile"}, 0, k(4)},
		{"no match", []string{"eeg", "quantum"}, 0, k()},
		{"prefix is not implied", []string{"found"}, 0, k()},
		{"quote", []string{`"`}, 0, nil},
		{"quote inside word", []string{`"quoted"`}, 0, k(3)},
		{"star", []string{"*"}, 0, nil},
		{"star suffix is not a prefix query", []string{"schro*"}, 0, k()},
		{"NEAR(", []string{"NEAR("}, 0, k(3)},
		{"OR is a word", []string{"foundation", "OR", "spiking"}, 0, k(3)},
		{"lone OR", []string{"OR"}, 0, k(3)},
		{"minus", []string{"-", "eeg"}, 0, k(3, 1)},
		{"negation is not implied", []string{"-speech"}, 0, k(1)},
		{"column filter is not implied", []string{"title:eeg"}, 0, k()},
		{"caret and braces", []string{"^eeg", "{title}"}, 0, k()},
		{"no words", nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := searchWords(t.Context(), s, tt.words, tt.limit)
			if err != nil {
				t.Fatalf("Search(%q): %v", tt.words, err)
			}
			if tt.want == nil {
				if len(got) != 0 {
					t.Errorf("Search(%q) = %v, want nothing", tt.words, keysOf(got))
				}
				return
			}
			if !slices.Equal(keysOf(got), tt.want) {
				t.Errorf("Search(%q) = %v, want %v", tt.words, keysOf(got), tt.want)
			}
		})
	}
}

// checkIntegrity checks that every paper's full-text document is the one its stored text makes, so that no write
// path forgot to rebuild it, and that its sort second is the one its date makes.
func checkIntegrity(t *testing.T, s *Store) {
	t.Helper()
	rows, err := s.pool.Query(t.Context(), `SELECT key, title, abstract, data, fts::text, unindexed, sort_sec, first_seen FROM papers`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, title, abstract, fts string
		var data []byte
		var sec, firstSeen int64
		var unindexed bool
		if err := rows.Scan(&key, &title, &abstract, &data, &fts, &unindexed, &sec, &firstSeen); err != nil {
			t.Fatal(err)
		}
		p, err := decodePaper(key, title, abstract, data)
		if err != nil {
			t.Fatal(err)
		}
		doc, ok := tsvectorOf(&p)
		if !ok {
			doc = emptyDoc()
		}
		var want string
		if err := s.pool.QueryRow(t.Context(), `SELECT ($1::tsvector[])[1]::text`, tsDocs{doc}).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if unindexed == ok {
			t.Errorf("paper %s: unindexed %v, want %v", key, unindexed, !ok)
		}
		if fts != want {
			t.Errorf("paper %s: stored document\n %s\nwant\n %s", key, fts, want)
		}
		if want := paper.SortSecond(p, firstSeen); sec != want {
			t.Errorf("paper %s: sort second %d, want %d", key, sec, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
