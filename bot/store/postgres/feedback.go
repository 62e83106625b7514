package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/relevance"
	"github.com/paperboy-bot/paperboy/filters"
)

// feedbackV10 adds votes on cards and reading lists, as the SQLite store's feedbackMigration: a reading list then
// belongs to a user of a platform (workspaceV11 makes it a user of a workspace).
const feedbackV10 = `
CREATE TABLE votes (
	platform   text   COLLATE "C" NOT NULL,
	channel_id text   COLLATE "C" NOT NULL,
	paper_key  text   COLLATE "C" NOT NULL REFERENCES papers (key) ON DELETE CASCADE,
	user_id    text   COLLATE "C" NOT NULL,
	vote       smallint NOT NULL CHECK (vote IN (-1, 1)),
	at         bigint NOT NULL,
	PRIMARY KEY (platform, channel_id, paper_key, user_id)
);
CREATE INDEX votes_user ON votes (platform, user_id);
CREATE INDEX votes_at ON votes (platform, channel_id, at);
CREATE TABLE saved (
	platform  text   COLLATE "C" NOT NULL,
	user_id   text   COLLATE "C" NOT NULL,
	paper_key text   COLLATE "C" NOT NULL REFERENCES papers (key) ON DELETE CASCADE,
	at        bigint NOT NULL,
	PRIMARY KEY (platform, user_id, paper_key)
);
CREATE INDEX saved_at ON saved (platform, user_id, at);
`

// workspaceV11 records the workspace (Slack team, Discord server) of each vote and reading-list entry, as the
// SQLite store's workspaceMigration, whose comment says what becomes of the rows written before it (channel.AnyWorkspace).
const workspaceV11 = `
ALTER TABLE votes ADD COLUMN workspace text COLLATE "C" NOT NULL DEFAULT '*';
DROP INDEX votes_user;
CREATE INDEX votes_user ON votes (platform, user_id, workspace);
ALTER TABLE saved ADD COLUMN workspace text COLLATE "C" NOT NULL DEFAULT '*';
ALTER TABLE saved DROP CONSTRAINT saved_pkey;
ALTER TABLE saved ADD PRIMARY KEY (platform, workspace, user_id, paper_key);
ALTER TABLE votes ALTER COLUMN workspace DROP DEFAULT;
ALTER TABLE saved ALTER COLUMN workspace DROP DEFAULT;
`

// Vote records user's vote (+1 relevant, -1 not relevant, 0 withdrawn) on paperKey in ch, replacing an earlier
// one, and returns the card's counts after it. user is on ch's platform; the vote records user's workspace, for
// Forget. A paper the store does not know is channel.ErrNotFound.
func (s *Store) Vote(ctx context.Context, ch channel.Ref, paperKey string, user channel.User, vote int, at time.Time) (up, down int, err error) {
	if vote < -1 || vote > 1 {
		return 0, 0, fmt.Errorf("vote %d on %s: want -1, 0 or 1", vote, paperKey)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := paperKnown(ctx, tx, paperKey); err != nil {
			return err
		}
		if vote == 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM votes WHERE platform = $1 AND channel_id = $2 AND paper_key = $3 AND user_id = $4`,
				ch.Platform, ch.ID, paperKey, user.ID); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `INSERT INTO votes (platform, channel_id, paper_key, user_id, vote, at, workspace)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (platform, channel_id, paper_key, user_id)
			DO UPDATE SET vote = excluded.vote, at = excluded.at, workspace = excluded.workspace`,
			ch.Platform, ch.ID, paperKey, user.ID, vote, at.UnixNano(), user.Workspace); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE vote > 0), count(*) FILTER (WHERE vote < 0)
			FROM votes WHERE platform = $1 AND channel_id = $2 AND paper_key = $3`, ch.Platform, ch.ID, paperKey).Scan(&up, &down)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("vote on %s in %s: %w", paperKey, ch, err)
	}
	return up, down, nil
}

// paperKnown is nil when the store holds key, channel.ErrNotFound when it does not. FOR KEY SHARE keeps the paper
// until the vote or save referring to it commits.
func paperKnown(ctx context.Context, tx pgx.Tx, key string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM papers WHERE key = $1 FOR KEY SHARE`, key).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("paper %s: %w", key, channel.ErrNotFound)
	}
	return err
}

// Save adds paperKey to user's reading list (in user's workspace); false when it was already on it. A paper the
// store does not know is channel.ErrNotFound.
func (s *Store) Save(ctx context.Context, user channel.User, paperKey string, at time.Time) (added bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := paperKnown(ctx, tx, paperKey); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO saved (platform, workspace, user_id, paper_key, at)
			SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM saved
				WHERE platform = $1 AND workspace IN ($2, $6) AND user_id = $3 AND paper_key = $4)
			ON CONFLICT DO NOTHING`,
			user.Platform, user.Workspace, user.ID, paperKey, at.UnixNano(), channel.AnyWorkspace)
		added = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("save %s for %s: %w", paperKey, user, err)
	}
	return added, nil
}

// Unsave takes paperKey off user's reading list; false when it was not on it.
func (s *Store) Unsave(ctx context.Context, user channel.User, paperKey string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM saved WHERE platform = $1 AND workspace IN ($2, $3) AND user_id = $4 AND paper_key = $5`,
		user.Platform, user.Workspace, channel.AnyWorkspace, user.ID, paperKey)
	if err != nil {
		return false, fmt.Errorf("unsave %s for %s: %w", paperKey, user, err)
	}
	return tag.RowsAffected() >= 1, nil
}

// Saved returns up to limit papers (all when limit <= 0) of user's reading list from offset on, newest first,
// and how many the list holds.
func (s *Store) Saved(ctx context.Context, user channel.User, offset, limit int) ([]channel.SavedPaper, int, error) {
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM saved WHERE platform = $1 AND user_id = $2 AND workspace IN ($3, $4)`,
		user.Platform, user.ID, user.Workspace, channel.AnyWorkspace).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("saved papers of %s: %w", user, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT s.at, p.key, p.title, p.abstract, p.data FROM saved s JOIN papers p ON p.key = s.paper_key
		WHERE s.platform = $1 AND s.user_id = $2 AND s.workspace IN ($3, $4) ORDER BY s.at DESC, s.paper_key LIMIT $5 OFFSET $6`,
		user.Platform, user.ID, user.Workspace, channel.AnyWorkspace, sqlLimit(limit), max(0, offset))
	if err != nil {
		return nil, 0, fmt.Errorf("saved papers of %s: %w", user, err)
	}
	defer rows.Close()
	var out []channel.SavedPaper
	for rows.Next() {
		var at int64
		var key, title, abstract string
		var data []byte
		if err := rows.Scan(&at, &key, &title, &abstract, &data); err != nil {
			return nil, 0, fmt.Errorf("saved papers of %s: %w", user, err)
		}
		p, err := decodePaper(key, title, abstract, data)
		if err != nil {
			return nil, 0, fmt.Errorf("saved papers of %s: %w", user, err)
		}
		out = append(out, channel.SavedPaper{Paper: p, SavedAt: time.Unix(0, at).UTC()})
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("saved papers of %s: %w", user, err)
	}
	return out, total, nil
}

// Forget deletes user's votes and reading list in user's workspace (and those recorded before workspaces were)
// and returns how many of each went.
func (s *Store) Forget(ctx context.Context, user channel.User) (votes, saved int, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM votes WHERE platform = $1 AND user_id = $2 AND workspace IN ($3, $4)`,
			user.Platform, user.ID, user.Workspace, channel.AnyWorkspace)
		if err != nil {
			return err
		}
		votes = int(tag.RowsAffected())
		tag, err = tx.Exec(ctx, `DELETE FROM saved WHERE platform = $1 AND user_id = $2 AND workspace IN ($3, $4)`,
			user.Platform, user.ID, user.Workspace, channel.AnyWorkspace)
		saved = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("forget %s: %w", user, err)
	}
	return votes, saved, nil
}

// ChannelVotes returns the votes cast in ch at or after since, with their papers, newest first.
func (s *Store) ChannelVotes(ctx context.Context, ch channel.Ref, since time.Time) ([]channel.Vote, error) {
	rows, err := s.pool.Query(ctx, `SELECT v.user_id, v.vote, v.at, p.key, p.title, p.abstract, p.data
		FROM votes v JOIN papers p ON p.key = v.paper_key
		WHERE v.platform = $1 AND v.channel_id = $2 AND v.at >= $3 ORDER BY v.at DESC, v.paper_key, v.user_id`,
		ch.Platform, ch.ID, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("votes in %s: %w", ch, err)
	}
	defer rows.Close()
	var out []channel.Vote
	for rows.Next() {
		var v channel.Vote
		var vote int16
		var at int64
		var key, title, abstract string
		var data []byte
		if err := rows.Scan(&v.User, &vote, &at, &key, &title, &abstract, &data); err != nil {
			return nil, fmt.Errorf("votes in %s: %w", ch, err)
		}
		if v.Paper, err = decodePaper(key, title, abstract, data); err != nil {
			return nil, fmt.Errorf("votes in %s: %w", ch, err)
		}
		v.Vote, v.At = int(vote), time.Unix(0, at).UTC()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("votes in %s: %w", ch, err)
	}
	return out, nil
}

// PaperByKey returns the stored paper with key; channel.ErrNotFound when there is none.
func (s *Store) PaperByKey(ctx context.Context, key string) (paper.Paper, error) {
	var title, abstract string
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT title, abstract, data FROM papers WHERE key = $1`, key).Scan(&title, &abstract, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return paper.Paper{}, fmt.Errorf("paper %s: %w", key, channel.ErrNotFound)
	}
	if err != nil {
		return paper.Paper{}, fmt.Errorf("paper %s: %w", key, err)
	}
	return decodePaper(key, title, abstract, data)
}

// Similarity limits, as the SQLite store's: how many of a paper's words are counted in the index, how many of
// its most distinctive ones make the query, and the count past which a word is common (counting stops there).
const (
	similarCandidates = 64
	SimilarTerms      = 12
	dfCap             = 1000
	// postingBudget bounds the papers the similarity query scores: the chosen words' document frequencies.
	postingBudget = 6000
)

// Similar returns the n stored papers most similar to paperKey's.
func (s *Store) Similar(ctx context.Context, paperKey string, n int) ([]paper.Paper, error) {
	_, ps, err := s.SimilarExplained(ctx, paperKey, n)
	return ps, err
}

// SimilarExplained returns the n stored papers most similar to paperKey's, best first, and the terms it looked
// for: the paper's SimilarTerms most distinctive words (fewest papers holding them, counted up to dfCap), OR-ed in
// one full-text query ranked by ts_rank over title and abstract. A paper the store does not know is
// channel.ErrNotFound.
func (s *Store) SimilarExplained(ctx context.Context, paperKey string, n int) (terms []string, similar []paper.Paper, err error) {
	var title, abstract string
	err = s.lookups.QueryRow(ctx, `SELECT title, abstract FROM papers WHERE key = $1`, paperKey).Scan(&title, &abstract)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("papers like %s: %w", paperKey, channel.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("papers like %s: %w", paperKey, err)
	}
	words := relevance.Terms(title + "\n" + abstract)
	if len(words) > similarCandidates {
		words = words[:similarCandidates]
	}
	lexemes := make([]string, len(words))
	for i, w := range words {
		lexemes[i] = quoteLexeme(cutLexeme(w)) + ":AB"
	}
	df := make(map[string]int, len(words))
	if len(words) > 0 {
		rows, err := s.lookups.Query(ctx, `SELECT w, (SELECT count(*) FROM (SELECT 1 FROM papers WHERE fts @@ q::tsquery LIMIT $2) c)
			FROM unnest($1::text[], $3::text[]) AS t(q, w)`, lexemes, dfCap, words)
		if err != nil {
			return nil, nil, fmt.Errorf("papers like %s: %w", paperKey, err)
		}
		for rows.Next() {
			var w string
			var c int
			if err := rows.Scan(&w, &c); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("papers like %s: %w", paperKey, err)
			}
			df[w] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("papers like %s: %w", paperKey, err)
		}
	}
	terms = relevance.Distinctive(words, df, SimilarTerms, dfCap, postingBudget)
	if len(terms) == 0 {
		return nil, nil, nil
	}
	q := make([]string, len(terms))
	for i, t := range terms {
		q[i] = quoteLexeme(cutLexeme(t)) + ":AB"
	}
	similar, err = s.papers(ctx, `SELECT key, title, abstract, data FROM papers WHERE fts @@ $1::tsquery AND key <> $2
		ORDER BY ts_rank('{0.1, 0.2, 0.5, 1.0}', fts, $1::tsquery) DESC, sort_sec DESC, sort_seq DESC LIMIT $3`,
		pgx.QueryExecModeExec, strings.Join(q, " | "), paperKey, n)
	if err != nil {
		return nil, nil, fmt.Errorf("papers like %s: %w", paperKey, err)
	}
	return terms, similar, nil
}

// RankedCandidates returns up to limit papers that may satisfy pre (as Candidates), ordered by ts_rank relevance
// to it, each with its text score (higher is better). A pre the index cannot narrow with ranks the newest papers,
// all with score 0.
func (s *Store) RankedCandidates(ctx context.Context, pre *filters.Prefilter, limit int) ([]paper.Paper, []float64, error) {
	q := tsqueryOf(pre)
	if q == "" {
		ps, err := s.Recent(ctx, time.Time{}, limit)
		return ps, make([]float64, len(ps)), err
	}
	rows, err := s.lookups.Query(ctx, `SELECT key, title, abstract, data, ts_rank('{0.1, 0.2, 0.5, 1.0}', fts, $1::tsquery) AS r
		FROM papers WHERE fts @@ $1::tsquery OR unindexed ORDER BY r DESC, sort_sec DESC, sort_seq DESC LIMIT $2`,
		pgx.QueryExecModeExec, q, sqlLimit(limit))
	if err != nil {
		return nil, nil, fmt.Errorf("ranked look-up %s: %w", q, err)
	}
	defer rows.Close()
	var ps []paper.Paper
	var scores []float64
	for rows.Next() {
		var key, title, abstract string
		var data []byte
		var score float32
		if err := rows.Scan(&key, &title, &abstract, &data, &score); err != nil {
			return nil, nil, fmt.Errorf("ranked look-up %s: %w", q, err)
		}
		p, err := decodePaper(key, title, abstract, data)
		if err != nil {
			return nil, nil, fmt.Errorf("ranked look-up %s: %w", q, err)
		}
		ps = append(ps, p)
		scores = append(scores, float64(score))
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("ranked look-up %s: %w", q, err)
	}
	return ps, scores, nil
}
