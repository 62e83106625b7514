package store

import (
	"context"
	"fmt"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// paperByKey returns the stored paper with the given key, and whether there is one. Production code never needs
// a paper by key (look-ups search, the outbox joins), so this lives with the tests.
func paperByKey(ctx context.Context, s *Store, key string) (paper.Paper, bool, error) {
	ps, err := s.papers(ctx, s.r, `SELECT key, title, abstract, data FROM papers WHERE key = ?`, key)
	if err != nil {
		return paper.Paper{}, false, fmt.Errorf("paper %s: %w", key, err)
	}
	if len(ps) == 0 {
		return paper.Paper{}, false, nil
	}
	return ps[0], true, nil
}

// countPapers returns the number of stored papers.
func countPapers(ctx context.Context, s *Store) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM papers`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count papers: %w", err)
	}
	return n, nil
}
