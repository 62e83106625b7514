package postgres

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestQueryPlans guards the plans that keep look-ups and ingest fast on a large store, without timing anything:
// on a store of a few thousand papers with fresh statistics, a rare word's few matches are found first and
// sorted (on a large store, through the full-text index), a common word is looked up by walking the newest-first
// order until enough match, recent papers come from that order, and ingest finds a batch's stored papers
// through the key index.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	const n = 3000
	papers := make([]paper.Paper, n)
	for i := range papers {
		abstract := "common words in every abstract"
		if i%1000 == 0 {
			abstract += " rareword"
		}
		papers[i] = arxiv(fmt.Sprintf("2609.%05d", i), t0.Add(time.Duration(i)*time.Minute), paper.AnnounceNew, fmt.Sprintf("Paper %d", i), abstract)
	}
	mustIngest(t, s, "arxiv", papers, nil, t0)
	if _, err := s.pool.Exec(t.Context(), `ANALYZE papers`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query string
		args        []any
		want, not   string
	}{
		{"rare word: its matches sorted", candidatesSQL, []any{"'rareword'", 0, 10}, "Sort", "papers_order"},
		{"common word in newest-first order", candidatesSQL, []any{"'common'", 0, 10}, "Index Scan using papers_order", "Sort"},
		{"recent in newest-first order", recentSQL, []any{0, 10}, "Index Scan using papers_order", "Sort"},
		{"batch lock through the key index", lockPapersSQL, []any{[]string{"arxiv:2609.00001", "arxiv:2609.00002"}}, "papers_pkey", "Seq Scan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.pool.Query(t.Context(), "EXPLAIN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			all := strings.Join(plan, "\n")
			if !strings.Contains(all, tt.want) || strings.Contains(all, tt.not) {
				t.Errorf("plan:\n%s\nwant %q and no %q", all, tt.want, tt.not)
			}
		})
	}
}
