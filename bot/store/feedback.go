package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/relevance"
	"github.com/paperboy-bot/paperboy/filters"
)

// feedbackMigration adds votes on cards and reading lists, a reading list then belonging to a user of a platform
// (workspaceMigration makes it a user of a workspace). A vote is one per channel, paper and user; 0 withdraws it
// (the row goes).
const feedbackMigration = `
CREATE TABLE votes (
	platform   TEXT    NOT NULL,
	channel_id TEXT    NOT NULL,
	paper_key  TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	vote       INTEGER NOT NULL CHECK (vote IN (-1, 1)),
	at         INTEGER NOT NULL,
	PRIMARY KEY (platform, channel_id, paper_key, user_id)
) WITHOUT ROWID;
CREATE INDEX votes_user ON votes(platform, user_id);
CREATE INDEX votes_at ON votes(platform, channel_id, at);
CREATE TABLE saved (
	platform  TEXT    NOT NULL,
	user_id   TEXT    NOT NULL,
	paper_key TEXT    NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (platform, user_id, paper_key)
) WITHOUT ROWID;
CREATE INDEX saved_at ON saved(platform, user_id, at);
`

// workspaceMigration records the workspace (Slack team, Discord server) of each vote and reading-list entry, so
// that a reading list and /papers forget-me are per workspace: the same Discord account in two servers keeps two
// lists, and forgetting it in one leaves the other. A reading list's key gains the workspace.
//
// Rows written before it have no known workspace: they get channel.AnyWorkspace ('*'), and stay what they were, the user's on
// the whole platform. Such an entry of a reading list shows in, and is removed from, every workspace of that user
// id (saving it again in a workspace finds it saved); forget-me in any workspace deletes the user's such votes and
// entries, erring on forgetting. A vote cast again takes the workspace of the new click.
const workspaceMigration = `
ALTER TABLE votes ADD COLUMN workspace TEXT NOT NULL DEFAULT '*';
DROP INDEX votes_user;
CREATE INDEX votes_user ON votes(platform, user_id, workspace);
CREATE TABLE saved_ws (
	platform  TEXT    NOT NULL,
	workspace TEXT    NOT NULL,
	user_id   TEXT    NOT NULL,
	paper_key TEXT    NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (platform, workspace, user_id, paper_key)
) WITHOUT ROWID;
INSERT INTO saved_ws (platform, workspace, user_id, paper_key, at) SELECT platform, '*', user_id, paper_key, at FROM saved;
DROP TABLE saved;
ALTER TABLE saved_ws RENAME TO saved;
CREATE INDEX saved_at ON saved(platform, user_id, at);
`

// Vote records user's vote (+1 relevant, -1 not relevant, 0 withdrawn) on paperKey in ch, replacing an earlier
// one, and returns the card's counts after it. user is on ch's platform; the vote records user's workspace, for
// Forget. A paper the store does not know is channel.ErrNotFound.
func (s *Store) Vote(ctx context.Context, ch channel.Ref, paperKey string, user channel.User, vote int, at time.Time) (up, down int, err error) {
	if vote < -1 || vote > 1 {
		return 0, 0, fmt.Errorf("vote %d on %s: want -1, 0 or 1", vote, paperKey)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := paperKnown(ctx, tx, paperKey); err != nil {
			return err
		}
		if vote == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM votes WHERE platform = ? AND channel_id = ? AND paper_key = ? AND user_id = ?`,
				ch.Platform, ch.ID, paperKey, user.ID)
			if err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, `INSERT INTO votes (platform, channel_id, paper_key, user_id, vote, at, workspace)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET vote = excluded.vote, at = excluded.at, workspace = excluded.workspace`,
			ch.Platform, ch.ID, paperKey, user.ID, vote, at.UnixNano(), user.Workspace); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE vote > 0), count(*) FILTER (WHERE vote < 0)
			FROM votes WHERE platform = ? AND channel_id = ? AND paper_key = ?`, ch.Platform, ch.ID, paperKey).Scan(&up, &down)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("vote on %s in %s: %w", paperKey, ch, err)
	}
	return up, down, nil
}

// paperKnown is nil when the store holds paperKey, channel.ErrNotFound when it does not.
func paperKnown(ctx context.Context, tx *sql.Tx, key string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM papers WHERE key = ?`, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("paper %s: %w", key, channel.ErrNotFound)
	}
	return err
}

// Save adds paperKey to user's reading list (in user's workspace); false when it was already on it. A paper the
// store does not know is channel.ErrNotFound.
func (s *Store) Save(ctx context.Context, user channel.User, paperKey string, at time.Time) (added bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := paperKnown(ctx, tx, paperKey); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO saved (platform, workspace, user_id, paper_key, at)
			SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM saved
				WHERE platform = ?1 AND workspace IN (?2, ?6) AND user_id = ?3 AND paper_key = ?4)`,
			user.Platform, user.Workspace, user.ID, paperKey, at.UnixNano(), channel.AnyWorkspace)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		added = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("save %s for %s: %w", paperKey, user, err)
	}
	return added, nil
}

// Unsave takes paperKey off user's reading list; false when it was not on it.
func (s *Store) Unsave(ctx context.Context, user channel.User, paperKey string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM saved WHERE platform = ? AND workspace IN (?, ?) AND user_id = ? AND paper_key = ?`,
		user.Platform, user.Workspace, channel.AnyWorkspace, user.ID, paperKey)
	if err != nil {
		return false, fmt.Errorf("unsave %s for %s: %w", paperKey, user, err)
	}
	n, err := res.RowsAffected()
	return n >= 1, err
}

// Saved returns up to limit papers (all when limit <= 0) of user's reading list from offset on, newest first,
// and how many the list holds.
func (s *Store) Saved(ctx context.Context, user channel.User, offset, limit int) ([]channel.SavedPaper, int, error) {
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM saved WHERE platform = ? AND user_id = ? AND workspace IN (?, ?)`,
		user.Platform, user.ID, user.Workspace, channel.AnyWorkspace).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("saved papers of %s: %w", user, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT s.at, p.key, p.title, p.abstract, p.data FROM saved s JOIN papers p ON p.key = s.paper_key
		WHERE s.platform = ? AND s.user_id = ? AND s.workspace IN (?, ?) ORDER BY s.at DESC, s.paper_key LIMIT ? OFFSET ?`,
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

// Forget deletes user's votes and reading list in user's workspace (and those recorded before workspaces were;
// see workspaceMigration) and returns how many of each went.
func (s *Store) Forget(ctx context.Context, user channel.User) (votes, saved int, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM votes WHERE platform = ? AND user_id = ? AND workspace IN (?, ?)`,
			user.Platform, user.ID, user.Workspace, channel.AnyWorkspace)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		votes = int(n)
		res, err = tx.ExecContext(ctx, `DELETE FROM saved WHERE platform = ? AND user_id = ? AND workspace IN (?, ?)`,
			user.Platform, user.ID, user.Workspace, channel.AnyWorkspace)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		saved = int(n)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("forget %s: %w", user, err)
	}
	return votes, saved, nil
}

// ChannelVotes returns the votes cast in ch at or after since, with their papers, newest first.
func (s *Store) ChannelVotes(ctx context.Context, ch channel.Ref, since time.Time) ([]channel.Vote, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT v.user_id, v.vote, v.at, p.key, p.title, p.abstract, p.data
		FROM votes v JOIN papers p ON p.key = v.paper_key
		WHERE v.platform = ? AND v.channel_id = ? AND v.at >= ? ORDER BY v.at DESC, v.paper_key, v.user_id`,
		ch.Platform, ch.ID, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("votes in %s: %w", ch, err)
	}
	defer rows.Close()
	var out []channel.Vote
	for rows.Next() {
		var v channel.Vote
		var at int64
		var key, title, abstract string
		var data []byte
		if err := rows.Scan(&v.User, &v.Vote, &at, &key, &title, &abstract, &data); err != nil {
			return nil, fmt.Errorf("votes in %s: %w", ch, err)
		}
		if v.Paper, err = decodePaper(key, title, abstract, data); err != nil {
			return nil, fmt.Errorf("votes in %s: %w", ch, err)
		}
		v.At = time.Unix(0, at).UTC()
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
	err := s.r.QueryRowContext(ctx, `SELECT title, abstract, data FROM papers WHERE key = ?`, key).Scan(&title, &abstract, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return paper.Paper{}, fmt.Errorf("paper %s: %w", key, channel.ErrNotFound)
	}
	if err != nil {
		return paper.Paper{}, fmt.Errorf("paper %s: %w", key, err)
	}
	return decodePaper(key, title, abstract, data)
}

// Similarity limits: how many of a paper's words are looked up in the index, how many of its most distinctive
// ones make the query, and the count past which a word is common (counting stops there).
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
// for: the paper's SimilarTerms most distinctive words of title and abstract (highest inverse document frequency
// among the words at least one other paper has), OR-ed in one full-text query ranked by BM25 (title words weigh
// twice). A paper the store does not know is channel.ErrNotFound.
func (s *Store) SimilarExplained(ctx context.Context, paperKey string, n int) (terms []string, similar []paper.Paper, err error) {
	var id int64
	var title, abstract string
	err = s.look.QueryRowContext(ctx, `SELECT id, title, abstract FROM papers WHERE key = ?`, paperKey).Scan(&id, &title, &abstract)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("papers like %s: %w", paperKey, channel.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("papers like %s: %w", paperKey, err)
	}
	words := relevance.Terms(title + "\n" + abstract)
	if len(words) > similarCandidates {
		// The title's words come first; the abstract's later words are the least likely to be about the topic.
		words = words[:similarCandidates]
	}
	if len(words) == 0 {
		return nil, nil, nil
	}
	df, err := s.docFreqs(ctx, words)
	if err != nil {
		return nil, nil, fmt.Errorf("papers like %s: %w", paperKey, err)
	}
	terms = relevance.Distinctive(words, df, SimilarTerms, dfCap, postingBudget)
	if len(terms) == 0 {
		return nil, nil, nil
	}
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = ftsQuote(t)
	}
	expr := "{title abstract} : (" + strings.Join(quoted, " OR ") + ")"
	similar, err = s.papers(ctx, s.look, `SELECT p.key, p.title, p.abstract, p.data
FROM papers_fts f JOIN papers p ON p.id = f.rowid
WHERE papers_fts MATCH ?1 AND f.rowid <> ?2
ORDER BY bm25(papers_fts, 2.0, 1.0, 0.0), f.rowid DESC LIMIT ?3`, expr, id, n)
	if err != nil {
		return nil, nil, fmt.Errorf("papers like %s: %w", paperKey, err)
	}
	return terms, similar, nil
}

// docFreqs returns how many papers hold each of words in their indexed text, counted up to dfCap: counting a
// common word's whole posting list (fts5vocab does) costs a tenth of a second at a million papers, and past
// dfCap a word is too common to tell papers apart anyway.
func (s *Store) docFreqs(ctx context.Context, words []string) (map[string]int, error) {
	conn, err := s.look.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	stmt, err := conn.PrepareContext(ctx, `SELECT count(*) FROM (SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?1 LIMIT ?2)`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = stmt.Close() }()
	df := make(map[string]int, len(words))
	for _, w := range words {
		var n int
		if err := stmt.QueryRowContext(ctx, "{title abstract} : "+ftsQuote(w), dfCap).Scan(&n); err != nil {
			return nil, err
		}
		df[w] = n
	}
	return df, nil
}

// RankedCandidates returns up to limit papers that satisfy pre (a superset, as Candidates), ordered by BM25
// relevance to it (title weighing twice the abstract), each with its text score (higher is better). pre must not
// be nil.
func (s *Store) RankedCandidates(ctx context.Context, pre *filters.Prefilter, limit int) ([]paper.Paper, []float64, error) {
	expr := ftsMatch(pre)
	rows, err := s.look.QueryContext(ctx, `SELECT p.key, p.title, p.abstract, p.data, -bm25(papers_fts, 2.0, 1.0, 0.5)
FROM papers_fts f JOIN papers p ON p.id = f.rowid
WHERE papers_fts MATCH ?1
ORDER BY bm25(papers_fts, 2.0, 1.0, 0.5), f.rowid DESC LIMIT ?2`, expr, sqlLimit(limit))
	if err != nil {
		return nil, nil, fmt.Errorf("ranked search %q: %w", expr, err)
	}
	defer rows.Close()
	var ps []paper.Paper
	var scores []float64
	for rows.Next() {
		var key, title, abstract string
		var data []byte
		var score float64
		if err := rows.Scan(&key, &title, &abstract, &data, &score); err != nil {
			return nil, nil, fmt.Errorf("ranked search %q: %w", expr, err)
		}
		p, err := decodePaper(key, title, abstract, data)
		if err != nil {
			return nil, nil, fmt.Errorf("ranked search %q: %w", expr, err)
		}
		ps = append(ps, p)
		scores = append(scores, score)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("ranked search %q: %w", expr, err)
	}
	return ps, scores, nil
}
