package command

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/bibtex"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// feedbackPapers: two SSVEP papers and a motor imagery paper the channel will find relevant, three surveys it
// will not, and the newest paper, an EEG survey nobody voted on.
func feedbackPapers() []paper.Paper {
	return []paper.Paper{
		testkit.Paper(testNow, "2611.10000", "EEG survey of the year", "A survey of EEG.", 0),
		testkit.Paper(testNow, "2611.10001", "SSVEP speller decoding", "Steady-state ssvep with EEG.", 1),
		testkit.Paper(testNow, "2611.10002", "SSVEP classification", "EEG ssvep.", 2),
		testkit.Paper(testNow, "2611.10003", "EEG survey of decoding", "A survey.", 3),
		testkit.Paper(testNow, "2611.10004", "Survey of EEG foundation models", "A survey.", 4),
		testkit.Paper(testNow, "2611.10005", "EEG artifact survey", "A survey.", 5),
		testkit.Paper(testNow, "2611.10006", "Motor imagery EEG", "Imagined movement in EEG.", 6),
		testkit.Paper(testNow, "2611.10007", "SSVEP in the wild", "Headsets and EEG.", 7),
	}
}

func newFeedbackCommander(t *testing.T, ps []paper.Paper) (*Commander, *store.Store) {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Ingest(t.Context(), "arxiv", ps, nil, testNow); err != nil {
		t.Fatal(err)
	}
	return &Commander{Store: st, Now: func() time.Time { return testNow }}, st
}

func TestFeedbackAndRanking(t *testing.T) {
	ps := feedbackPapers()
	c, st := newFeedbackCommander(t, ps)
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	do := func(user, text string) bot.Reply {
		t.Helper()
		r, err := c.Handle(t.Context(), bot.Request{Channel: ch, User: user, Workspace: "T1", Text: text})
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		return r
	}
	keys := func(r bot.Reply) []string {
		var out []string
		for _, card := range r.Cards {
			out = append(out, card.Paper.ArxivID)
		}
		return out
	}

	if r := do("U1", "feedback"); !r.Private || !strings.Contains(r.Text[0], "Nobody voted") {
		t.Errorf("feedback without votes = %q", r.Text)
	}
	before := do("U1", "eeg sort:relevant")
	if len(before.Cards) != SearchResults {
		t.Fatalf("eeg sort:relevant before votes: %d cards, want %d", len(before.Cards), SearchResults)
	}
	for _, card := range before.Cards {
		if card.Why != "" {
			t.Errorf("card %s says %q before any vote", card.Paper.ArxivID, card.Why)
		}
	}

	votes := []struct {
		user, id string
		vote     int
	}{
		{"U1", "2611.10001", 1}, {"U1", "2611.10002", 1}, {"U1", "2611.10006", 1},
		{"U2", "2611.10003", -1}, {"U2", "2611.10004", -1}, {"U2", "2611.10005", -1},
		{"U3", "2611.10001", 1},
	}
	for i, v := range votes {
		if _, _, err := st.Vote(t.Context(), ch, "arxiv:"+v.id, channel.User{Platform: ch.Platform, Workspace: "T1", ID: v.user}, v.vote, testNow.Add(-time.Duration(len(votes)-i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// An old vote is outside the 30 days of /papers feedback.
	if _, _, err := st.Vote(t.Context(), ch, "arxiv:2611.10007", channel.User{Platform: ch.Platform, Workspace: "T1", ID: "U4"}, -1, testNow.Add(-31*24*time.Hour)); err != nil {
		t.Fatal(err)
	}

	t.Run("feedback counts and suggests by hand", func(t *testing.T) {
		r := do("U9", "feedback")
		text := strings.Join(r.Text, "\n")
		// R = 3 (10001, 10002, 10006), N = 3; survey is in the 3 not relevant, none relevant:
		// ln(1/4) - ln(4/1) = -2.77. eeg is in all six: weight 0, no suggestion. The ranking's weights count the
		// 31-day-old vote too (N = 4): ssvep ln(3/2) - ln(2/4) = ln 3.
		for _, want := range []string{
			"Votes in this channel over the last 30 days: 4 relevant, 3 not relevant, on 6 papers, by 3 people. Latest first:",
			"+2 −0  SSVEP speller decoding  arxiv:2611.10001",
			"• 3 of 3 papers marked not relevant match `survey` (0 of 3 marked relevant; log-odds 2.77): `/papers subscribe ... -survey`?",
			"Words that rank papers higher here, from the votes of the last year (sort:relevant, and digests from 10 votes on): ssvep (+1.10: 2 of 3 relevant, 1 of 4 not).",
		} {
			if !slices.Contains(r.Text, want) {
				t.Errorf("feedback lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "10007") {
			t.Errorf("feedback shows a vote older than 30 days:\n%s", text)
		}
		if strings.Count(text, "• ") != 1 {
			t.Errorf("want exactly one suggestion:\n%s", text)
		}
	})
	t.Run("votes change the relevant order", func(t *testing.T) {
		after := do("U1", "eeg sort:relevant")
		got := keys(after)
		// With the year's votes (R = 3, N = 4): Motor imagery EEG has motor, imagery, imagined, movement, each
		// ln(2/3) - ln(1/5) = 1.20, eeg ln(4/1) - ln(5/1) = -0.22: 4.59 learned, ahead of the SSVEP papers, whose
		// best word is speller (1.20, over ssvep's ln 3 = 1.10); survey weighs ln(1/4) - ln(4/2) = -2.08.
		if len(got) < 3 || !slices.Equal(got[:3], []string{"2611.10006", "2611.10001", "2611.10002"}) {
			t.Fatalf("after votes, eeg sort:relevant = %v, want the three papers marked relevant first", got)
		}
		for _, id := range got[:3] {
			if strings.Contains(strings.ToLower(ps[slices.IndexFunc(ps, func(p paper.Paper) bool { return p.ArxivID == id })].Title), "survey") {
				t.Errorf("a survey ranks in the top 3 after the channel marked surveys not relevant: %v", got)
			}
		}
		if after.Cards[0].Why != "you marked 1 paper on `motor` relevant" || after.Cards[1].Why != "you marked 1 paper on `speller` relevant" {
			t.Errorf("whys = %q, %q", after.Cards[0].Why, after.Cards[1].Why)
		}
		if !strings.Contains(after.Text[0], "this channel's votes on 7 papers") {
			t.Errorf("head = %q", after.Text[0])
		}
		// Another channel has no votes: its order is the unvoted one.
		r, err := c.Handle(t.Context(), bot.Request{Channel: channel.Ref{Platform: "slack", ID: "C2"}, User: "U1", Text: "eeg sort:relevant"})
		if err != nil || !slices.Equal(keys(r), keys(before)) {
			t.Errorf("another channel's order = %v, %v; want the order without votes %v", keys(r), err, keys(before))
		}
	})
	t.Run("sort:newest and bad sorts", func(t *testing.T) {
		if got, want := keys(do("U1", "eeg sort:newest")), keys(do("U1", "eeg")); !slices.Equal(got, want) {
			t.Errorf("sort:newest = %v, want the default %v", got, want)
		}
		r := do("U1", "eeg sort:oldest")
		if !r.Error || !strings.Contains(r.Text[0], "sort:newest or sort:relevant") {
			t.Errorf("sort:oldest = %+v", r)
		}
	})
	t.Run("like shows shared terms", func(t *testing.T) {
		r := do("U1", "like https://arxiv.org/abs/2611.10002v1")
		got := keys(r)
		if len(got) == 0 || slices.Contains(got, "2611.10002") {
			t.Fatalf("like 2611.10002 = %v", got)
		}
		if !slices.Contains(r.Cards[0].Matched, "ssvep") || !strings.Contains(r.Cards[0].Paper.Title, "SSVEP") {
			t.Errorf("first similar paper %q shares %v, want an SSVEP paper sharing ssvep", r.Cards[0].Paper.Title, r.Cards[0].Matched)
		}
		if r := do("U1", "like 2401.99999"); !r.Error || !strings.Contains(r.Text[0], "not stored arxiv:2401.99999") {
			t.Errorf("like of an unknown paper = %+v", r)
		}
		if r := do("U1", "like nonsense"); !r.Error {
			t.Errorf("like nonsense = %+v", r)
		}
	})
	t.Run("forget-me", func(t *testing.T) {
		if _, err := st.Save(t.Context(), channel.User{Platform: ch.Platform, Workspace: "T1", ID: "U1"}, "arxiv:2611.10001", testNow); err != nil {
			t.Fatal(err)
		}
		r := do("U1", "forget-me")
		if !r.Private || !strings.HasPrefix(r.Text[0], "Deleted your 3 votes and the 1 paper of your reading list in this Slack workspace; what you keep in other workspaces stays.") {
			t.Errorf("forget-me = %q", r.Text)
		}
		if r := do("U1", "forget-me"); !strings.HasPrefix(r.Text[0], "Deleted your 0 votes and the 0 papers") {
			t.Errorf("forget-me again = %q", r.Text)
		}
		left, _ := st.ChannelVotes(t.Context(), ch, time.Time{})
		for _, v := range left {
			if v.User == "U1" {
				t.Errorf("U1's vote on %s survived", v.Paper.Key)
			}
		}
	})
}

func TestReadingList(t *testing.T) {
	var ps []paper.Paper
	for i := range 25 {
		ps = append(ps, testkit.Paper(testNow, fmt.Sprintf("2611.2%04d", i), fmt.Sprintf("Paper %d on 100%% & $x_%d$ {EEG}", i, i), "Abstract.", 1))
	}
	c, st := newFeedbackCommander(t, ps)
	ch := channel.Ref{Platform: "discord", ID: "42"}
	do := func(text string) bot.Reply {
		t.Helper()
		r, err := c.Handle(t.Context(), bot.Request{Channel: ch, User: "U1", Workspace: "G1", Text: text})
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		return r
	}
	if r := do("saved"); !strings.Contains(r.Text[0], "empty") {
		t.Errorf("saved of an empty list = %q", r.Text)
	}
	for i, p := range ps {
		if _, err := st.Save(t.Context(), channel.User{Platform: ch.Platform, Workspace: "G1", ID: "U1"}, p.Key, testNow.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("paged newest first", func(t *testing.T) {
		r := do("saved")
		if !r.Private || r.Text[0] != "Your reading list, newest first (25 papers, page 1 of 3; only you see it):" {
			t.Errorf("head = %q", r.Text[0])
		}
		if !strings.HasPrefix(r.Text[1], "1. Paper 24 on") || !slices.Contains(r.Text, "More: /papers saved 2") {
			t.Errorf("page 1 = %q", r.Text)
		}
		r = do("saved 3")
		if !strings.HasPrefix(r.Text[1], "21. Paper 4 on") || len(r.Text) != 1+5+1 {
			t.Errorf("page 3 = %q", r.Text)
		}
		if r := do("saved 4"); !r.Error || !strings.Contains(r.Text[0], "no page 4") {
			t.Errorf("saved 4 = %q", r.Text)
		}
	})
	t.Run("unsave", func(t *testing.T) {
		r := do("unsave 2")
		if !strings.Contains(r.Text[0], "Paper 23 on") {
			t.Errorf("unsave 2 = %q", r.Text)
		}
		if r := do("saved"); !strings.HasPrefix(r.Text[2], "2. Paper 22 on") {
			t.Errorf("after unsave 2, number 2 = %q", r.Text[2])
		}
		if r := do("unsave 99"); !r.Error || !strings.Contains(r.Text[0], "no number 99; it holds 24 papers") {
			t.Errorf("unsave 99 = %q", r.Text)
		}
		if r := do("unsave two"); !r.Error {
			t.Errorf("unsave two = %q", r.Text)
		}
	})
	t.Run("export bibtex", func(t *testing.T) {
		r := do("export bibtex")
		if len(r.Code) != MaxCodeBlocks || r.Document == nil || len(r.Document.Shortfall) != 1 || !strings.Contains(r.Document.Shortfall[0], "A message holds") {
			t.Fatalf("export of 24 long entries: %d blocks, document %+v; want %d blocks and a note", len(r.Code), r.Document, MaxCodeBlocks)
		}
		// The file is the whole export, every entry, newest saved first, as bibtex.Write makes it.
		var list []paper.Paper
		for i := len(ps) - 1; i >= 0; i-- {
			if ps[i].ArxivID != "2611.20023" { // unsaved above
				list = append(list, ps[i])
			}
		}
		doc := r.Document
		if want := bibtex.Write(list); string(doc.File.Data) != want || doc.File.Name != "papers.bib" || doc.Summary != "papers.bib (24 entries)" {
			t.Errorf("document %s %q: %d bytes, want %d bytes of bibtex.Write", doc.File.Name, doc.Summary, len(doc.File.Data), len(want))
		}
		if r.Text[0] != "BibTeX of your reading list: 24 entries." || !r.Private {
			t.Errorf("text %q", r.Text)
		}
		for _, b := range r.Code {
			if n := len([]rune(b)); n > CodeBlockRunes {
				t.Errorf("a block of %d runes, over %d", n, CodeBlockRunes)
			}
			if !strings.HasPrefix(b, "@misc{") || !strings.Contains(b, "doi           = {10.48550/arXiv.2611.2") || !strings.Contains(b, `100\% \& $x_`) {
				t.Errorf("block does not hold whole escaped entries:\n%s", b)
			}
		}
		c.WholeExports = true
		r = do("export bibtex saved")
		c.WholeExports = false
		if got := strings.Count(strings.Join(r.Code, "\n"), "@misc{"); got != 24 {
			t.Errorf("whole export: %d entries, want 24", got)
		}
		r = do("export bibtex title:\"paper 7\"")
		if got := strings.Count(strings.Join(r.Code, ""), "@misc{"); got != 1 || !strings.Contains(r.Code[0], "eprint        = {2611.20007}") || r.Document != nil {
			t.Errorf("export of a query = %q, document %v; want one code block and no file", r.Code, r.Document)
		}
		if r := do("export csv"); !r.Error {
			t.Errorf("export csv = %q", r.Text)
		}
	})
}

func FuzzSplitSort(f *testing.F) {
	for _, s := range []string{"eeg sort:relevant", "sort:newest eeg", "sort: x", "SORT:Relevant a sort:newest", "title:sort"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, sort, err := splitSort(s)
		if err != nil {
			return
		}
		if sort != "" && sort != SortNewest && sort != SortRelevant {
			t.Errorf("splitSort(%q) sort = %q", s, sort)
		}
		for _, w := range strings.Fields(q) {
			if name, _, ok := strings.Cut(w, ":"); ok && strings.EqualFold(name, "sort") {
				t.Errorf("splitSort(%q) left %q in the query", s, w)
			}
		}
	})
}
