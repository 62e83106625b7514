package relevance

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func p(key, title, abstract string) paper.Paper {
	return paper.Paper{Key: key, Title: title, Abstract: abstract}
}

// fixtureVotes: 3 papers marked relevant, 5 not relevant, one with a tie (which says nothing).
func fixtureVotes() []channel.Vote {
	up := func(pp paper.Paper, user string) channel.Vote { return channel.Vote{Paper: pp, User: user, Vote: 1} }
	down := func(pp paper.Paper, user string) channel.Vote { return channel.Vote{Paper: pp, User: user, Vote: -1} }
	return []channel.Vote{
		up(p("k1", "SSVEP decoding", "EEG and ssvep."), "U1"),
		up(p("k2", "SSVEP speller", "With EEG."), "U1"),
		up(p("k3", "Motor imagery", "From EEG."), "U2"),
		down(p("k4", "EEG survey", "A survey of EEG."), "U1"),
		down(p("k5", "Survey of transformers", ""), "U1"),
		down(p("k6", "Vision survey", ""), "U2"),
		down(p("k7", "Vision transformers", ""), "U2"),
		down(p("k8", "EEG vision survey", ""), "U3"),
		up(p("k9", "Quantum things", ""), "U1"),
		down(p("k9", "Quantum things", ""), "U2"),
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// The weights, by hand: R = 3 relevant, N = 5 not relevant papers; w = ln((r+1)/(R-r+1)) - ln((n+1)/(N-n+1)).
func TestLearnWeightsByHand(t *testing.T) {
	m := Learn(fixtureVotes())
	if m.Votes != 8 {
		t.Errorf("Votes = %d, want 8 (the tied paper says nothing)", m.Votes)
	}
	tests := []struct {
		term string
		r, n int
		want float64
	}{
		{"eeg", 3, 2, math.Log(16.0 / 3)},         // ln(4/1) - ln(3/4)
		{"ssvep", 2, 0, math.Log(9)},              // ln(3/2) - ln(1/6)
		{"survey", 0, 4, math.Log(0.1)},           // ln(1/4) - ln(5/2)
		{"vision", 0, 3, math.Log(3.0 / 16)},      // ln(1/4) - ln(4/3)
		{"transformers", 0, 2, math.Log(1.0 / 3)}, // ln(1/4) - ln(3/4)
		{"motor", 1, 0, math.Log(4)},              // ln(2/3) - ln(1/6)
	}
	for _, tt := range tests {
		t.Run(tt.term, func(t *testing.T) {
			tl, ok := m.Terms[tt.term]
			if !ok || tl.Relevant != tt.r || tl.NotRelevant != tt.n || tl.TotalRelevant != 3 || tl.TotalNotRelevant != 5 || !near(tl.Weight, tt.want) {
				t.Errorf("%s = %+v, want %d/3 relevant, %d/5 not relevant, weight %.6f", tt.term, tl, tt.r, tt.n, tt.want)
			}
		})
	}
	if _, ok := m.Terms["quantum"]; ok {
		t.Error("a paper with as many relevant as not-relevant votes taught a weight")
	}
}

func TestSuggestByHand(t *testing.T) {
	got := Learn(fixtureVotes()).Suggest()
	want := []string{
		"4 of 5 papers marked not relevant match `survey` (0 of 3 marked relevant; log-odds 2.30): `/papers subscribe ... -survey`?",
		"3 of 5 papers marked not relevant match `vision` (0 of 3 marked relevant; log-odds 1.67): `/papers subscribe ... -vision`?",
	}
	var lines []string
	for _, s := range got {
		lines = append(lines, s.String())
	}
	// transformers (2 of 5) is under the minimum count; eeg is more often relevant.
	if !slices.Equal(lines, want) {
		t.Errorf("Suggest =\n%q\nwant\n%q", lines, want)
	}
	if got := Learn(nil).Suggest(); len(got) != 0 {
		t.Errorf("Suggest without votes = %v, want none", got)
	}
}

// Votes change the ranking exactly as computed by hand: without them the newer paper leads on recency; with them
// the SSVEP paper, which holds the channel's best term, does.
func TestVotesChangeRanking(t *testing.T) {
	a := p("a", "Vision survey of EEG", "")
	a.Published = now.Add(-24 * time.Hour)
	b := p("b", "SSVEP spellers", "")
	b.Published = now.Add(-72 * time.Hour)
	b.Upvotes = 3

	tests := []struct {
		name  string
		votes []channel.Vote
		a, b  float64
		first string
		bWhy  string
	}{
		// a: 0.5 matched - 0.1 age; b: 0.5 matched + 0.25*log2(4) upvotes - 0.3 age.
		{"no votes", nil, 0.4, 0.7, "b", ""},
		// a: -1.673976 (vision) - 2.302585 (survey) + 1.673976 (eeg) + 0.5 - 0.1; b: + ln 9 (ssvep).
		{"fixture votes", fixtureVotes(), math.Log(3.0/16) + math.Log(0.1) + math.Log(16.0/3) + 0.4, math.Log(9) + 0.7, "b",
			"you marked 2 papers on `ssvep` relevant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Learn(tt.votes)
			sa, sb := m.Score(a, 0, 1, now), m.Score(b, 0, 1, now)
			if !near(sa.Total(), tt.a) || !near(sb.Total(), tt.b) {
				t.Errorf("scores a=%.6f b=%.6f, want %.6f %.6f", sa.Total(), sb.Total(), tt.a, tt.b)
			}
			if sb.Why() != tt.bWhy {
				t.Errorf("b's why = %q, want %q", sb.Why(), tt.bWhy)
			}
			if want := map[bool]string{true: "you marked 3 papers on `eeg` relevant"}[tt.votes != nil]; sa.Why() != want {
				t.Errorf("a's why = %q, want %q", sa.Why(), want)
			}
		})
	}
}

func TestRankOrdersByScore(t *testing.T) {
	older := p("older", "SSVEP spellers", "")
	older.Published = now.Add(-5 * 24 * time.Hour)
	newer := p("newer", "EEG survey", "")
	newer.Published = now
	// Without votes the newer paper leads (0 vs -0.5); with the fixture's, the older one: ln 9 - 0.5 = 1.697 against
	// ln(16/3) + ln(0.1) = -0.629.
	for _, tt := range []struct {
		votes []channel.Vote
		want  []string
	}{
		{nil, []string{"newer", "older"}},
		{fixtureVotes(), []string{"older", "newer"}},
	} {
		m := Learn(tt.votes)
		got := m.Rank([]paper.Paper{older, newer}, nil, nil, now)
		var keys []string
		for _, r := range got {
			keys = append(keys, r.Paper.Key)
		}
		if !slices.Equal(keys, tt.want) {
			t.Errorf("Rank with %d votes = %v, want %v", len(tt.votes), keys, tt.want)
		}
	}
}

func TestDistinctive(t *testing.T) {
	words := []string{"ssvep", "decoding", "eeg", "unique", "transformers", "the"}
	df := map[string]int{"ssvep": 2, "decoding": 40, "eeg": 300, "unique": 1, "transformers": 40, "the": 1000}
	got := Distinctive(words, df, 3, 1000, 1000)
	if want := []string{"ssvep", "decoding", "transformers"}; !slices.Equal(got, want) {
		t.Errorf("Distinctive = %v, want %v (rarest first, ties in order, a word of one paper left out)", got, want)
	}
	if got := Distinctive(words, df, 10, 1000, 1000); !slices.Equal(got, []string{"ssvep", "decoding", "transformers", "eeg"}) {
		t.Errorf("Distinctive(k=10) = %v, want the common word (df at the cap) left out", got)
	}
	if got := Distinctive(words, df, 10, 1000, 82); !slices.Equal(got, []string{"ssvep", "decoding", "transformers"}) {
		t.Errorf("Distinctive(budget 82) = %v, want the words whose papers add up to 82", got)
	}
	if got := Distinctive(words, df, 10, 1000, 1); !slices.Equal(got, []string{"ssvep"}) {
		t.Errorf("Distinctive(budget 1) = %v, want the rarest word all the same", got)
	}
}

func TestTerms(t *testing.T) {
	got := Terms("The SSVEP-based Speller: a survey of 2024 EEG spellers, and EEG.")
	if want := []string{"ssvep", "speller", "survey", "eeg", "spellers"}; !slices.Equal(got, want) {
		t.Errorf("Terms = %v, want %v", got, want)
	}
}
