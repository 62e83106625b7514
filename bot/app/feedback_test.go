package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/relevance"
)

func TestDigestFollowsVotes(t *testing.T) { onEachStore(t, testDigestFollowsVotes) }

// testDigestFollowsVotes: a digest is ranked by the channel's votes from the 10th vote on, and says why; with 9
// it keeps its usual order (newest first among equals).
func testDigestFollowsVotes(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	f.newSender(func(o *delivery.Options) { o.Ranker = relevance.DigestRanker{Votes: f.st, Now: f.clock.Now} })
	voter, ok := f.st.(interface {
		Vote(ctx context.Context, ch channel.Ref, paperKey, user string, vote int, at time.Time) (up, down int, err error)
	})
	if !ok {
		t.Fatal("the store has no Vote")
	}
	var voted []paper.Paper
	for i := range 5 {
		voted = append(voted, arxivPaper(fmt.Sprintf("2603.4000%d", i), 1, paper.AnnounceNew, []string{"cs.LG"}, fmt.Sprintf("SSVEP study %d", i)))
		voted = append(voted, arxivPaper(fmt.Sprintf("2603.4100%d", i), 1, paper.AnnounceNew, []string{"cs.LG"}, fmt.Sprintf("Survey number %d", i)))
	}
	speller := arxivPaper("2603.42001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG ssvep speller")
	survey := arxivPaper("2603.42002", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG survey")
	speller.Published = time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)
	survey.Published = time.Date(2026, 3, 26, 0, 0, 0, 0, time.UTC)
	f.ingest("arxiv", append(voted, speller, survey)...)
	ctx := context.Background()
	for i, p := range voted {
		v := 1
		if strings.HasPrefix(p.Title, "Survey") {
			v = -1
		}
		if _, _, err := voter.Vote(ctx, chA, p.Key, "U1", v, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if i < 9 {
			if _, _, err := voter.Vote(ctx, chB, p.Key, "U1", v, f.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := &command.Commander{Store: f.st, Now: f.clock.Now}
	for _, ch := range []channel.Ref{chA, chB} {
		f.subscribe(ch, "eeg")
		if r, err := c.Handle(ctx, bot.Request{Channel: ch, CanManage: true, Text: "backfill 7"}); err != nil || !strings.Contains(strings.Join(r.Text, " "), "2 matching papers") {
			t.Fatalf("backfill in %s: %q %v", ch, r.Text, err)
		}
	}
	f.deliver()
	got := map[channel.Ref]bot.Message{}
	for _, m := range f.plat.messages() {
		got[m.Channel] = m
	}
	// chA, 10 votes (R = 5 SSVEP, N = 5 surveys): ssvep weighs ln(6/1) - ln(1/6) = 3.58, survey -3.58, the
	// shared abstract's words 0; the older speller paper leads. chB, 9 votes: the usual order, newest first.
	for _, tt := range []struct {
		ch    channel.Ref
		order []string
		why   string
	}{
		{chA, []string{speller.Key, survey.Key}, "you marked 5 papers on `ssvep` relevant"},
		{chB, []string{survey.Key, speller.Key}, ""},
	} {
		m := got[tt.ch]
		if !m.Digest || len(m.Cards) != 2 {
			t.Fatalf("%s got %+v, want one digest of 2 cards", tt.ch, m)
		}
		if m.Cards[0].Paper.Key != tt.order[0] || m.Cards[1].Paper.Key != tt.order[1] || m.Cards[0].Why != tt.why {
			t.Errorf("%s digest: %s (%q), %s; want %v, first saying %q", tt.ch, m.Cards[0].Paper.Key, m.Cards[0].Why, m.Cards[1].Paper.Key, tt.order, tt.why)
		}
	}
}
