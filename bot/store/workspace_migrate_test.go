package store

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestWorkspaceMigration: votes and reading-list entries written before the stores kept workspaces survive the
// migration as the user's in every workspace (channel.AnyWorkspace): listed and removable from each, never saved
// twice, and deleted by forget-me from any of them, which leaves the entries recorded in other workspaces.
func TestWorkspaceMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	steps := migrations()
	old, err := open(ctx, path, steps[:13])
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var ps []paper.Paper
	for _, id := range []string{"2609.00001", "2609.00002", "2609.00003"} {
		ps = append(ps, paper.Paper{Key: "arxiv:" + id, ArxivID: id, Title: "P" + id, Published: t0})
	}
	if _, err := old.Ingest(ctx, "arxiv", ps, nil, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := old.w.ExecContext(ctx, `
INSERT INTO votes (platform, channel_id, paper_key, user_id, vote, at) VALUES
	('discord', '9001', 'arxiv:2609.00001', '42', 1, 1), ('discord', '9001', 'arxiv:2609.00001', '43', -1, 1);
INSERT INTO saved (platform, user_id, paper_key, at) VALUES ('discord', '42', 'arxiv:2609.00001', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g1 := channel.User{Platform: "discord", Workspace: "G1", ID: "42"}
	g2 := channel.User{Platform: "discord", Workspace: "G2", ID: "42"}
	keys := func(u channel.User) []string {
		t.Helper()
		list, _, err := s.Saved(ctx, u, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, sp := range list {
			out = append(out, sp.Paper.Key)
		}
		return out
	}
	for _, u := range []channel.User{g1, g2} {
		if got := keys(u); !slices.Equal(got, []string{"arxiv:2609.00001"}) {
			t.Errorf("Saved(%s) = %v, want the entry saved before the migration", u, got)
		}
	}
	if added, err := s.Save(ctx, g2, "arxiv:2609.00001", t0); err != nil || added {
		t.Errorf("saving the old entry again in G2 = %v, %v; want false (already saved)", added, err)
	}
	if _, err := s.Save(ctx, g2, "arxiv:2609.00002", t0); err != nil {
		t.Fatal(err)
	}
	votes, saved, err := s.Forget(ctx, g1)
	if err != nil || votes != 1 || saved != 1 {
		t.Errorf("Forget(G1) = %d, %d, %v; want the old vote and entry of 42", votes, saved, err)
	}
	if got := keys(g2); !slices.Equal(got, []string{"arxiv:2609.00002"}) {
		t.Errorf("Saved(G2) after Forget(G1) = %v, want G2's own entry", got)
	}
	left, err := s.ChannelVotes(ctx, channel.Ref{Platform: "discord", ID: "9001"}, time.Time{})
	if err != nil || len(left) != 1 || left[0].User != "43" {
		t.Errorf("votes left = %+v, %v; want 43's", left, err)
	}
}
