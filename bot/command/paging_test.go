package command

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/filters"
)

// readCounter is a real store that counts the candidates a look-up read.
type readCounter struct {
	Store
	read int
}

func (s *readCounter) ScanCandidates(ctx context.Context, pre *filters.Prefilter, since time.Time, limit int, yield func(paper.Paper) bool) error {
	return s.Store.ScanCandidates(ctx, pre, since, limit, func(p paper.Paper) bool {
		s.read++
		return yield(p)
	})
}

// TestLookupStopsEarly: a search stops reading candidates once it has its cards and knows more match, and shows
// the same cards a full read would (the newest matches, as the matcher decides, a NOT included); when everything
// that matches fits, it still says how many; the subscribe preview still counts every match of the window.
func TestLookupStopsEarly(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ps []paper.Paper
	for i := range 400 {
		title := fmt.Sprintf("Paper %d on spiking networks", i)
		if i%4 == 0 {
			title += ", a survey" // excluded by -survey: the index cannot tell, the matcher does
		}
		if i == 7 {
			title = "A lone axolotl"
		}
		p := paper.Paper{ArxivID: fmt.Sprintf("2609.%05d", i+1), Version: 1, Title: title, Abstract: "Results.",
			Published: testNow.Add(-time.Duration(400-i) * time.Minute), Categories: []string{"cs.NE"}}
		p.Key = paper.KeyOf(p)
		ps = append(ps, p)
	}
	if _, err := st.Ingest(ctx, "arxiv", ps, nil, testNow); err != nil {
		t.Fatal(err)
	}
	rc := &readCounter{Store: st}
	c := &Commander{Store: rc, Now: func() time.Time { return testNow }}
	do := func(text string) bot.Reply {
		t.Helper()
		rc.read = 0
		r, err := c.Handle(ctx, bot.Request{Channel: channel.Ref{Platform: "slack", ID: "C1"}, User: "U1", CanManage: true, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// The newest papers that are not surveys, newest first: what reading every candidate would show.
	var want []string
	for i := len(ps) - 1; i >= 0 && len(want) < SearchResults; i-- {
		if i%4 != 0 && i != 7 {
			want = append(want, ps[i].Key)
		}
	}
	tests := []struct {
		query, head string
		cards       []string
		maxRead     int
	}{
		{"spiking -survey", "The 5 newest of the papers matching spiking -survey:", want, 10},
		{"axolotl", "1 of 1 papers matching axolotl, newest first:", []string{ps[7].Key}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := do(tt.query)
			if got := text(r); got != tt.head {
				t.Errorf("reply %q, want %q", got, tt.head)
			}
			var keys []string
			for _, card := range r.Cards {
				keys = append(keys, card.Paper.Key)
			}
			if !slices.Equal(keys, tt.cards) {
				t.Errorf("cards %v, want %v", keys, tt.cards)
			}
			if rc.read > tt.maxRead {
				t.Errorf("read %d candidates, want at most %d", rc.read, tt.maxRead)
			}
		})
	}
	r := do("subscribe spiking -survey")
	if got := text(r); !strings.Contains(got, "would have matched 299 papers") {
		t.Errorf("subscribe preview: %q, want every match counted (299)", got)
	}
}
