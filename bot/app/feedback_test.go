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
		Vote(ctx context.Context, ch channel.Ref, paperKey string, user channel.User, vote int, at time.Time) (up, down int, err error)
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
		if _, _, err := voter.Vote(ctx, chA, p.Key, channel.User{Platform: chA.Platform, ID: "U1"}, v, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if i < 9 {
			if _, _, err := voter.Vote(ctx, chB, p.Key, channel.User{Platform: chB.Platform, ID: "U1"}, v, f.clock.Now()); err != nil {
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

func TestClicksOnTheStore(t *testing.T) { onEachStore(t, testClicksOnTheStore) }

// testClicksOnTheStore: the cards' buttons, as the app wires them (clicksFor), on a real store: votes are one per
// person and changeable, counts come back for the card, "Save" fills the clicker's own reading list once,
// "More like this" finds the stored paper sharing the distinctive words, and clicks on unknown papers or from a
// channel the bot does not serve are refused politely.
func testClicksOnTheStore(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	speller := arxivPaper("2603.43001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG ssvep speller with wavelets")
	cousin := arxivPaper("2603.43002", 1, paper.AnnounceNew, []string{"cs.LG"}, "Wavelets for an ssvep speller")
	other := arxivPaper("2603.43003", 1, paper.AnnounceNew, []string{"cs.LG"}, "Protein folding kinetics")
	f.ingest("arxiv", speller, cousin, other)
	f.subscribe(chA, "eeg")
	clicks := clicksFor(f.st, f.clock.Now)
	ctx := context.Background()
	click := func(ch channel.Ref, user, action, key string) command.ClickResult {
		t.Helper()
		tok, ok := command.ClickToken(action, key)
		if !ok {
			t.Fatalf("no token for %s %s", action, key)
		}
		res, err := clicks.Click(ctx, command.Click{Channel: ch, User: user, Token: tok})
		if err != nil {
			t.Fatalf("%s clicks %s on %s: %v", user, action, key, err)
		}
		return res
	}
	counts := func(res command.ClickResult) string { return fmt.Sprintf("%v %d/%d", res.Voted, res.Up, res.Down) }
	for _, step := range []struct {
		user, action, want string
	}{
		{"U1", command.ActionRelevant, "true 1/0"},
		{"U2", command.ActionRelevant, "true 2/0"},
		{"U3", command.ActionNotRelevant, "true 2/1"},
		{"U1", command.ActionNotRelevant, "true 1/2"}, // changed, not added
		{"U1", command.ActionNotRelevant, "true 1/2"}, // the same vote again changes nothing
	} {
		if got := counts(click(chA, step.user, step.action, speller.Key)); got != step.want {
			t.Fatalf("%s %s: %s, want %s", step.user, step.action, got, step.want)
		}
	}
	if r := click(chA, "U1", command.ActionSave, speller.Key); !r.Reply.Private || !strings.Contains(strings.Join(r.Reply.Text, " "), "Saved to your reading list") {
		t.Errorf("save: %+v", r.Reply)
	}
	if r := click(chA, "U1", command.ActionSave, speller.Key); !strings.Contains(strings.Join(r.Reply.Text, " "), "Already in your reading list") {
		t.Errorf("second save: %+v", r.Reply)
	}
	c := &command.Commander{Store: f.st, Now: f.clock.Now}
	for user, want := range map[string]bool{"U1": true, "U2": false} {
		r, err := c.Handle(ctx, bot.Request{Channel: chA, User: user, Text: "saved"})
		if err != nil {
			t.Fatal(err)
		}
		if has := strings.Contains(strings.Join(r.Text, "\n"), speller.Title); !r.Private || has != want {
			t.Errorf("%s's /papers saved: private %v, lists the saved paper %v, want %v: %q", user, r.Private, has, want, r.Text)
		}
	}
	more := click(chA, "U2", command.ActionMore, speller.Key)
	if !more.Reply.Private || len(more.Reply.Cards) == 0 || more.Reply.Cards[0].Paper.Key != cousin.Key {
		t.Errorf("more like this: %+v, want the cousin paper first", more.Reply)
	}
	if r := click(chA, "U1", command.ActionRelevant, "arxiv:2699.99999"); !r.Reply.Error || !strings.Contains(strings.Join(r.Reply.Text, " "), "no longer know that paper") {
		t.Errorf("unknown paper: %+v", r)
	}
	if r := click(chB, "U1", command.ActionRelevant, speller.Key); r.Voted || !strings.Contains(strings.Join(r.Reply.Text, " "), "does not serve") {
		t.Errorf("click in a channel without subscriptions: %+v", r)
	}
}
