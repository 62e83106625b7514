package command

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

func TestClickTokens(t *testing.T) {
	for _, a := range FeedbackActions {
		tok, ok := ClickToken(a, "arxiv:2611.00001")
		if !ok || tok != "pb1:"+a+":arxiv:2611.00001" {
			t.Fatalf("ClickToken(%s) = %q, %v", a, tok, ok)
		}
		gotA, gotK, err := ParseClickToken(tok)
		if err != nil || gotA != a || gotK != "arxiv:2611.00001" {
			t.Errorf("ParseClickToken(%q) = %q, %q, %v", tok, gotA, gotK, err)
		}
	}
	if tok, ok := ClickToken(ActionRelevant, "doi:"+strings.Repeat("x", 100)); ok {
		t.Errorf("a token of %d characters was accepted: custom_id takes %d", len(tok), MaxTokenLen)
	}
	for _, bad := range []string{
		"", "pb1:", "pb1:up", "pb1:up:", "pb2:up:arxiv:1", "up:arxiv:1", "pb1:delete:arxiv:1", "PB1:up:arxiv:1",
		"pb1:up:arxiv:1\n", "pb1:up:" + strings.Repeat("k", MaxTokenLen), "abstract-0", "https://arxiv.org/abs/1",
	} {
		if a, k, err := ParseClickToken(bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("ParseClickToken(%q) = %q, %q, %v; want ErrBadToken", bad, a, k, err)
		}
	}
}

// FuzzParseClickToken: whatever a click carries, a token is accepted only when paperboy could have made it.
func FuzzParseClickToken(f *testing.F) {
	for _, s := range []string{"pb1:up:arxiv:2611.00001", "pb1:more:doi:10.1/x", "pb1:save:link:0123456789abcdef", "pb1::", "pb1:up:\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, k, err := ParseClickToken(s)
		if err != nil {
			return
		}
		if tok, ok := ClickToken(a, k); !ok || tok != s {
			t.Errorf("ParseClickToken(%q) = %q, %q, but ClickToken gives %q, %v", s, a, k, tok, ok)
		}
	})
}

// newClicks returns Clicks over a fake feedback store and a real store for the channels, where slack C1 follows
// a query and slack COTHER (a channel of another workspace) follows nothing.
func newClicks(t *testing.T, papers ...paper.Paper) (*Clicks, *testkit.MemFeedback) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddSubscription(ctx, channel.Subscription{Channel: slackC1, Query: "eeg", Canonical: "eeg", AddedBy: "U0", AddedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	fb := testkit.NewMemFeedback(papers...)
	return &Clicks{Feedback: fb, Similar: fb, Channels: st, Now: func() time.Time { return testNow }}, fb
}

var slackC1 = channel.Ref{Platform: "slack", ID: "C1"}

func tok(action, key string) string {
	t, _ := ClickToken(action, key)
	return t
}

func TestClicks(t *testing.T) {
	ctx := context.Background()
	papers := testkit.SamplePapers(testNow)
	c, fb := newClicks(t, papers...)
	key := paper.KeyOf(papers[0])
	type want struct {
		voted    bool
		up, down int
		text     string // in the private reply
		refusal  bool
		cards    int
	}
	for _, tc := range []struct {
		name  string
		click Click
		want  want
	}{
		{"relevant", Click{slackC1, "U1", "T1", tok(ActionRelevant, key)}, want{voted: true, up: 1}},
		{"another user, not relevant", Click{slackC1, "U2", "T1", tok(ActionNotRelevant, key)}, want{voted: true, up: 1, down: 1}},
		{"the first user changes their mind", Click{slackC1, "U1", "T1", tok(ActionNotRelevant, key)}, want{voted: true, down: 2}},
		{"the same vote again counts once", Click{slackC1, "U1", "T1", tok(ActionNotRelevant, key)}, want{voted: true, down: 2}},
		{"save", Click{slackC1, "U1", "T1", tok(ActionSave, key)}, want{text: "Saved to your reading list"}},
		{"save twice", Click{slackC1, "U1", "T1", tok(ActionSave, key)}, want{text: "Already in your reading list"}},
		{"more like this", Click{slackC1, "U1", "T1", tok(ActionMore, key)}, want{text: "most like this one", cards: len(papers) - 1}},
		{"unknown paper", Click{slackC1, "U1", "T1", tok(ActionRelevant, "arxiv:9999.99999")}, want{refusal: true, text: "no longer know that paper"}},
		{"unknown paper, save", Click{slackC1, "U1", "T1", tok(ActionSave, "arxiv:9999.99999")}, want{refusal: true, text: "no longer know that paper"}},
		{"another workspace's channel", Click{channel.Ref{Platform: "slack", ID: "COTHER"}, "U1", "T1", tok(ActionRelevant, key)}, want{refusal: true, text: "does not serve here"}},
		{"a forged token", Click{slackC1, "U1", "T1", "pb1:delete:" + key}, want{refusal: true, text: "do not recognise that button"}},
		{"a token of a later version", Click{slackC1, "U1", "T1", "pb9:up:" + key}, want{refusal: true, text: "do not recognise that button"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Click(ctx, tc.click)
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			if res.Voted != w.voted || res.Up != w.up || res.Down != w.down {
				t.Errorf("voted %v up %d down %d, want %v %d %d", res.Voted, res.Up, res.Down, w.voted, w.up, w.down)
			}
			if w.voted {
				if res.PaperKey != key || len(res.Reply.Text) != 0 {
					t.Errorf("vote result %+v", res)
				}
				return
			}
			if !res.Reply.Private || res.Reply.Error != w.refusal || !strings.Contains(strings.Join(res.Reply.Text, " "), w.text) {
				t.Errorf("reply %+v, want private, error %v, saying %q", res.Reply, w.refusal, w.text)
			}
			if len(res.Reply.Cards) != w.cards {
				t.Errorf("%d cards, want %d", len(res.Reply.Cards), w.cards)
			}
		})
	}
	if !fb.Saved(channel.User{Platform: "slack", Workspace: "T1", ID: "U1"}, key) {
		t.Error("the paper is not in U1's reading list")
	}

	t.Run("store down", func(t *testing.T) {
		fb.Err = errors.New("database is locked")
		defer func() { fb.Err = nil }()
		if _, err := c.Click(ctx, Click{slackC1, "U1", "T1", tok(ActionRelevant, key)}); err == nil || !strings.Contains(err.Error(), "database is locked") {
			t.Errorf("err = %v, want the store's error", err)
		}
	})
}

// TestClickFlood: one user clicking as fast as a script can gets the burst recorded and polite refusals after it,
// without the store being asked; another user is not affected.
func TestClickFlood(t *testing.T) {
	ctx := context.Background()
	papers := testkit.SamplePapers(testNow)
	c, fb := newClicks(t, papers...)
	c.Limiter = NewUserLimiter(DefaultClickRate, DefaultClickBurst, 0, func() time.Time { return testNow })
	key := paper.KeyOf(papers[0])
	refused := 0
	for i := range 100 {
		action := ActionRelevant
		if i%2 == 1 {
			action = ActionNotRelevant
		}
		res, err := c.Click(ctx, Click{slackC1, "UFLOOD", "T1", tok(action, key)})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Voted {
			refused++
			if !res.Reply.Error || !strings.Contains(res.Reply.Text[0], "clicking faster") {
				t.Fatalf("refusal %+v", res.Reply)
			}
		}
	}
	if refused != 100-DefaultClickBurst {
		t.Errorf("%d of 100 clicks refused, want %d", refused, 100-DefaultClickBurst)
	}
	if n := fb.Calls(); n != DefaultClickBurst {
		t.Errorf("the store was asked %d times, want %d", n, DefaultClickBurst)
	}
	res, err := c.Click(ctx, Click{slackC1, "UCALM", "T1", tok(ActionRelevant, key)})
	if err != nil || !res.Voted {
		t.Errorf("another user's click: %+v, %v", res, err)
	}
}

func TestReplayGuard(t *testing.T) {
	g := NewReplayGuard(10*time.Minute, 3)
	if !g.First("a", testNow) || g.First("a", testNow.Add(time.Minute)) {
		t.Fatal("a second delivery of a was not caught")
	}
	if !g.First("a", testNow.Add(11*time.Minute)) {
		t.Error("a was still refused after the window")
	}
	for range 2 {
		if !g.First("", testNow) {
			t.Error("an empty id was refused")
		}
	}
	for _, id := range []string{"b", "c", "d", "e"} {
		if !g.First(id, testNow.Add(12*time.Minute)) {
			t.Errorf("%s refused", id)
		}
	}
	if g.First("e", testNow.Add(12*time.Minute)) {
		t.Error("the newest id was forgotten")
	}
	g.mu.Lock()
	n := len(g.seen)
	g.mu.Unlock()
	if n > 3 {
		t.Errorf("remembers %d ids, max 3", n)
	}
}
