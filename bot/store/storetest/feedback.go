package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

// Feedback is what both stores keep of votes on cards and reading lists (bot/command's FeedbackStore).
type Feedback interface {
	Vote(ctx context.Context, ch channel.Ref, paperKey string, user channel.User, vote int, at time.Time) (up, down int, err error)
	Save(ctx context.Context, user channel.User, paperKey string, at time.Time) (added bool, err error)
	Unsave(ctx context.Context, user channel.User, paperKey string) (bool, error)
	Saved(ctx context.Context, user channel.User, offset, limit int) ([]channel.SavedPaper, int, error)
	Forget(ctx context.Context, user channel.User) (votes, saved int, err error)
	ChannelVotes(ctx context.Context, ch channel.Ref, since time.Time) ([]channel.Vote, error)
	PaperByKey(ctx context.Context, key string) (paper.Paper, error)
	Similar(ctx context.Context, paperKey string, n int) ([]paper.Paper, error)
	SimilarExplained(ctx context.Context, paperKey string, n int) (terms []string, similar []paper.Paper, err error)
	RankedCandidates(ctx context.Context, pre *filters.Prefilter, limit int) ([]paper.Paper, []float64, error)
}

var feedbackCases = []testCase{
	{"VotesAreOnePerUserAndChangeable", testVotes},
	{"VoteOnUnknownPaper", testVoteUnknown},
	{"ReadingList", testReadingList},
	{"Forget", testForget},
	{"WorkspacesKeepApart", testWorkspaces},
	{"Similar", testSimilar},
	{"Ranked", testRanked},
}

// Users of the feedback cases: U1 of Slack workspace T1 votes and saves in slackA and slackB (both of T1).
var (
	slackU1   = channel.User{Platform: "slack", Workspace: "T1", ID: "U1"}
	slackU2   = channel.User{Platform: "slack", Workspace: "T1", ID: "U2"}
	discordU1 = channel.User{Platform: "discord", Workspace: "G1", ID: "U1"}
)

func feedbackPapers() []paper.Paper {
	return []paper.Paper{
		arxiv("2609.10001", at(-5), paper.AnnounceNew, "SSVEP decoding with transformers", "We decode steady-state visual evoked potentials (ssvep) from EEG.", "cs.LG"),
		arxiv("2609.10002", at(-4), paper.AnnounceNew, "A survey of EEG foundation models", "This survey reviews EEG foundation models.", "cs.LG"),
		arxiv("2609.10003", at(-3), paper.AnnounceNew, "Spiking networks for SSVEP spellers", "A spiking network decodes ssvep spellers from EEG recordings.", "cs.NE"),
		arxiv("2609.10004", at(-2), paper.AnnounceNew, "Folding at scale", "Folding proteins with diffusion.", "q-bio.BM"),
		arxiv("2609.10005", at(-1), paper.AnnounceNew, "Diffusion for protein design", "Protein design with diffusion models and folding.", "q-bio.BM"),
	}
}

func testVotes(t *testing.T, s Store) {
	f := s.(Feedback)
	ps := feedbackPapers()
	mustIngest(t, s, "arxiv", ps, nil, at(0))
	key := ps[0].Key
	steps := []struct {
		ch       channel.Ref
		user     channel.User
		vote     int
		up, down int
	}{
		{slackA, slackU1, 1, 1, 0},
		{slackA, slackU2, 1, 2, 0},
		{slackA, slackU1, -1, 1, 1}, // changed, not added
		{slackA, slackU1, -1, 1, 1}, // the same again changes nothing
		{slackB, slackU1, 1, 1, 0},  // another channel counts apart
		{slackA, slackU2, 0, 0, 1},  // withdrawn
	}
	for i, st := range steps {
		up, down, err := f.Vote(t.Context(), st.ch, key, st.user, st.vote, at(i))
		check(t, err, "Vote")
		if up != st.up || down != st.down {
			t.Errorf("step %d: %s votes %d in %s: counts %d/%d, want %d/%d", i, st.user, st.vote, st.ch, up, down, st.up, st.down)
		}
	}
	votes, err := f.ChannelVotes(t.Context(), slackA, at(0))
	check(t, err, "ChannelVotes")
	if len(votes) != 1 || votes[0].User != "U1" || votes[0].Vote != -1 || votes[0].Paper.Key != key || !votes[0].At.Equal(at(3)) || votes[0].Paper.Title != ps[0].Title {
		t.Errorf("ChannelVotes(slackA) = %+v, want U1's one not-relevant vote of step 3 with its paper", votes)
	}
	if votes, _ := f.ChannelVotes(t.Context(), slackA, at(4)); len(votes) != 0 {
		t.Errorf("ChannelVotes since after the last vote = %d votes, want 0", len(votes))
	}
	if _, _, err := f.Vote(t.Context(), slackA, key, slackU1, 2, at(9)); err == nil {
		t.Error("a vote of 2 was accepted")
	}
}

func testVoteUnknown(t *testing.T, s Store) {
	f := s.(Feedback)
	if _, _, err := f.Vote(t.Context(), slackA, "arxiv:2609.99999", slackU1, 1, at(0)); !errors.Is(err, channel.ErrNotFound) {
		t.Errorf("Vote on an unknown paper: %v, want channel.ErrNotFound", err)
	}
	if _, err := f.Save(t.Context(), slackU1, "arxiv:2609.99999", at(0)); !errors.Is(err, channel.ErrNotFound) {
		t.Errorf("Save of an unknown paper: %v, want channel.ErrNotFound", err)
	}
	if _, err := f.PaperByKey(t.Context(), "arxiv:2609.99999"); !errors.Is(err, channel.ErrNotFound) {
		t.Errorf("PaperByKey of an unknown paper: %v, want channel.ErrNotFound", err)
	}
	if _, err := f.Similar(t.Context(), "arxiv:2609.99999", 5); !errors.Is(err, channel.ErrNotFound) {
		t.Errorf("Similar to an unknown paper: %v, want channel.ErrNotFound", err)
	}
}

func savedKeys(t *testing.T, f Feedback, user channel.User, offset, limit int) ([]string, int) {
	t.Helper()
	list, total, err := f.Saved(t.Context(), user, offset, limit)
	check(t, err, "Saved")
	var keys []string
	for _, sp := range list {
		keys = append(keys, sp.Paper.Key)
	}
	return keys, total
}

func testReadingList(t *testing.T, s Store) {
	f := s.(Feedback)
	ps := feedbackPapers()
	mustIngest(t, s, "arxiv", ps, nil, at(0))
	for i, p := range ps[:3] {
		added, err := f.Save(t.Context(), slackU1, p.Key, at(i))
		check(t, err, "Save")
		if !added {
			t.Errorf("Save(%s) = false, want true the first time", p.Key)
		}
	}
	if added, _ := f.Save(t.Context(), slackU1, ps[0].Key, at(9)); added {
		t.Error("saving a paper again added it twice")
	}
	if added, _ := f.Save(t.Context(), channel.User{Platform: "discord", Workspace: "T1", ID: "U1"}, ps[0].Key, at(9)); !added {
		t.Error("the same user and workspace ids on another platform share the reading list")
	}
	keys, total := savedKeys(t, f, slackU1, 0, 0)
	if want := []string{ps[2].Key, ps[1].Key, ps[0].Key}; !slices.Equal(keys, want) || total != 3 {
		t.Errorf("Saved = %v (%d), want newest first %v (3)", keys, total, want)
	}
	if keys, total := savedKeys(t, f, slackU1, 1, 1); !slices.Equal(keys, []string{ps[1].Key}) || total != 3 {
		t.Errorf("Saved page 2 of 1 = %v (%d), want [%s] (3)", keys, total, ps[1].Key)
	}
	ok, err := f.Unsave(t.Context(), slackU1, ps[1].Key)
	check(t, err, "Unsave")
	if again, _ := f.Unsave(t.Context(), slackU1, ps[1].Key); !ok || again {
		t.Errorf("Unsave = %v then %v, want true then false", ok, again)
	}
	if keys, _ := savedKeys(t, f, slackU1, 0, 0); !slices.Equal(keys, []string{ps[2].Key, ps[0].Key}) {
		t.Errorf("Saved after Unsave = %v", keys)
	}
	if keys, total := savedKeys(t, f, slackU2, 0, 0); len(keys) != 0 || total != 0 {
		t.Errorf("another user's list = %v (%d), want empty", keys, total)
	}
}

func testForget(t *testing.T, s Store) {
	f := s.(Feedback)
	ps := feedbackPapers()
	mustIngest(t, s, "arxiv", ps, nil, at(0))
	ctx := t.Context()
	for _, p := range ps[:2] {
		_, _, err := f.Vote(ctx, slackA, p.Key, slackU1, 1, at(1))
		check(t, err, "Vote")
		_, _, err = f.Vote(ctx, slackB, p.Key, slackU1, -1, at(1))
		check(t, err, "Vote")
		_, _, err = f.Vote(ctx, slackA, p.Key, slackU2, 1, at(1))
		check(t, err, "Vote")
		_, _, err = f.Vote(ctx, discordC, p.Key, discordU1, 1, at(1))
		check(t, err, "Vote")
		_, err = f.Save(ctx, slackU1, p.Key, at(1))
		check(t, err, "Save")
	}
	votes, saved, err := f.Forget(ctx, slackU1)
	check(t, err, "Forget")
	if votes != 4 || saved != 2 {
		t.Errorf("Forget = %d votes, %d saved; want 4 and 2", votes, saved)
	}
	if keys, _ := savedKeys(t, f, slackU1, 0, 0); len(keys) != 0 {
		t.Errorf("saved after Forget: %v", keys)
	}
	left, err := f.ChannelVotes(ctx, slackA, time.Time{})
	check(t, err, "ChannelVotes")
	for _, v := range left {
		if v.User == "U1" {
			t.Errorf("U1's vote on %s survived Forget", v.Paper.Key)
		}
	}
	if len(left) != 2 {
		t.Errorf("%d votes left in slackA, want U2's 2", len(left))
	}
	if d, _ := f.ChannelVotes(ctx, discordC, time.Time{}); len(d) != 2 {
		t.Errorf("Forget on Slack removed Discord votes: %d left, want 2", len(d))
	}
}

// testWorkspaces: the same user id in two workspaces of a platform (a Discord account in two servers) keeps two
// reading lists, and forget-me in one leaves the other's list and votes. The channel-wide counts include every
// voter whatever their workspace.
func testWorkspaces(t *testing.T, s Store) {
	f := s.(Feedback)
	ps := feedbackPapers()
	mustIngest(t, s, "arxiv", ps, nil, at(0))
	ctx := t.Context()
	inG1 := channel.User{Platform: "discord", Workspace: "G1", ID: "42"}
	inG2 := channel.User{Platform: "discord", Workspace: "G2", ID: "42"}
	inDM := channel.User{Platform: "discord", Workspace: "", ID: "42"}
	g1Chan, g2Chan := channel.Ref{Platform: "discord", ID: "9001"}, channel.Ref{Platform: "discord", ID: "9002"}
	for i, step := range []struct {
		user channel.User
		key  string
	}{{inG1, ps[0].Key}, {inG1, ps[1].Key}, {inG2, ps[1].Key}, {inG2, ps[2].Key}, {inDM, ps[3].Key}} {
		added, err := f.Save(ctx, step.user, step.key, at(i))
		check(t, err, "Save")
		if !added {
			t.Errorf("Save(%s, %s) = false, want true: another workspace's list does not hold it", step.user, step.key)
		}
	}
	for _, tc := range []struct {
		user channel.User
		want []string
	}{
		{inG1, []string{ps[1].Key, ps[0].Key}},
		{inG2, []string{ps[2].Key, ps[1].Key}},
		{inDM, []string{ps[3].Key}},
	} {
		if keys, total := savedKeys(t, f, tc.user, 0, 0); !slices.Equal(keys, tc.want) || total != len(tc.want) {
			t.Errorf("Saved(%s) = %v (%d), want %v", tc.user, keys, total, tc.want)
		}
	}
	if ok, _ := f.Unsave(ctx, inG1, ps[2].Key); ok {
		t.Error("Unsave in G1 removed a paper saved only in G2")
	}
	_, _, err := f.Vote(ctx, g1Chan, ps[0].Key, inG1, 1, at(1))
	check(t, err, "Vote")
	_, _, err = f.Vote(ctx, g2Chan, ps[0].Key, inG2, -1, at(1))
	check(t, err, "Vote")
	up, down, err := f.Vote(ctx, g1Chan, ps[0].Key, channel.User{Platform: "discord", Workspace: "G1", ID: "43"}, 1, at(2))
	check(t, err, "Vote")
	if up != 2 || down != 0 {
		t.Errorf("counts in the G1 channel = %d/%d, want 2/0", up, down)
	}
	votes, saved, err := f.Forget(ctx, inG1)
	check(t, err, "Forget")
	if votes != 1 || saved != 2 {
		t.Errorf("Forget(G1) = %d votes, %d saved; want 1 and 2", votes, saved)
	}
	if keys, _ := savedKeys(t, f, inG1, 0, 0); len(keys) != 0 {
		t.Errorf("G1's list after Forget(G1) = %v", keys)
	}
	if keys, _ := savedKeys(t, f, inG2, 0, 0); !slices.Equal(keys, []string{ps[2].Key, ps[1].Key}) {
		t.Errorf("G2's list after Forget(G1) = %v, want it whole", keys)
	}
	if keys, _ := savedKeys(t, f, inDM, 0, 0); !slices.Equal(keys, []string{ps[3].Key}) {
		t.Errorf("the DM list after Forget(G1) = %v, want it whole", keys)
	}
	if v, _ := f.ChannelVotes(ctx, g2Chan, time.Time{}); len(v) != 1 || v[0].User != "42" {
		t.Errorf("G2's votes after Forget(G1) = %+v, want 42's vote", v)
	}
	if v, _ := f.ChannelVotes(ctx, g1Chan, time.Time{}); len(v) != 1 || v[0].User != "43" {
		t.Errorf("G1's votes after Forget(G1) = %+v, want only 43's", v)
	}
}

func testSimilar(t *testing.T, s Store) {
	f := s.(Feedback)
	ps := feedbackPapers()
	mustIngest(t, s, "arxiv", ps, nil, at(0))
	terms, similar, err := f.SimilarExplained(t.Context(), ps[0].Key, 5)
	check(t, err, "SimilarExplained")
	var keys []string
	for _, p := range similar {
		keys = append(keys, p.Key)
		if p.Key == ps[0].Key {
			t.Error("a paper is listed as similar to itself")
		}
	}
	// ssvep is in 2 papers (the rarest word the paper shares), eeg in 3: the SSVEP speller paper ranks first.
	if len(keys) == 0 || keys[0] != ps[2].Key {
		t.Errorf("Similar(%s) = %v, want %s first", ps[0].Key, keys, ps[2].Key)
	}
	if slices.Contains(keys, ps[3].Key) {
		t.Errorf("Similar(%s) = %v lists the protein paper, which shares no word", ps[0].Key, keys)
	}
	if !slices.Contains(terms, "ssvep") || slices.Contains(terms, "transformers") {
		t.Errorf("terms = %v, want ssvep and not transformers (no other paper has it)", terms)
	}
}

func testRanked(t *testing.T, s Store) {
	f := s.(Feedback)
	ps := feedbackPapers()
	mustIngest(t, s, "arxiv", ps, nil, at(0))
	q, err := filters.Parse("protein")
	check(t, err, "Parse")
	pre := q.Prefilter()
	got, scores, err2 := f.RankedCandidates(t.Context(), pre, 10)
	check(t, err2, "RankedCandidates")
	var keys []string
	for _, p := range got {
		keys = append(keys, p.Key)
	}
	// The design paper has protein in its title and abstract, the folding one only "proteins" in its abstract.
	if len(keys) < 1 || keys[0] != ps[4].Key {
		t.Errorf("RankedCandidates(protein) = %v, want %s first (protein in title and abstract)", keys, ps[4].Key)
	}
	for i := 1; i < len(scores); i++ {
		if scores[i] > scores[i-1] {
			t.Errorf("scores %v not in descending order", scores)
		}
	}
}
