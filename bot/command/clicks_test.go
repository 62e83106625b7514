package command

import (
	"context"
	"errors"
	"fmt"
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
				// Without an edit queue a vote is not Queued; its private confirmation says the counts.
				counts := fmt.Sprintf("👍 %d · 👎 %d", w.up, w.down)
				if res.PaperKey != key || res.Queued || !res.Reply.Private || !strings.Contains(strings.Join(res.Reply.Text, " "), counts) {
					t.Errorf("vote result %+v, want a private confirmation with %s", res, counts)
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

func TestPickedToken(t *testing.T) {
	key := "arxiv:2611.00001"
	for _, tc := range []struct {
		name   string
		menu   string
		values []string
		want   string
	}{
		{"relevant", PickID(ActionRelevant), []string{tok(ActionRelevant, key)}, tok(ActionRelevant, key)},
		{"save", PickID(ActionSave), []string{tok(ActionSave, key)}, tok(ActionSave, key)},
		{"a value of another menu", PickID(ActionRelevant), []string{tok(ActionNotRelevant, key)}, ""},
		{"two values", PickID(ActionRelevant), []string{tok(ActionRelevant, key), tok(ActionRelevant, "arxiv:2611.00002")}, ""},
		{"no value", PickID(ActionRelevant), nil, ""},
		{"a forged value", PickID(ActionRelevant), []string{"pb1:up:\x00"}, ""},
		{"a menu of no action", "pb1:pick:delete", []string{"pb1:delete:" + key}, ""},
		{"not a menu", tok(ActionRelevant, key), []string{tok(ActionRelevant, key)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PickedToken(tc.menu, tc.values)
			if tc.want == "" {
				if !errors.Is(err, ErrBadToken) {
					t.Errorf("PickedToken = %q, %v; want ErrBadToken", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("PickedToken = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// editQueue records the card edits votes queue; a card in posted is one it can edit.
type editQueue struct {
	posted map[string]bool
	err    error
	due    []time.Time
}

func (q *editQueue) QueueCardEdit(_ context.Context, _ channel.Ref, key string, _, due time.Time) (bool, error) {
	if q.err != nil {
		return false, q.err
	}
	q.due = append(q.due, due)
	return q.posted[key], nil
}

// TestVotesQueueCardEdits: with an edit queue, a vote on a posted card is Queued (due a window after the click,
// with the sender woken then) and nothing is rewritten in place; a vote on a card the queue cannot edit, or when
// queueing fails, is confirmed privately, naming the paper. Without a queue the transport updates the card itself.
func TestVotesQueueCardEdits(t *testing.T) {
	ctx := context.Background()
	papers := testkit.SamplePapers(testNow)
	c, fb := newClicks(t, papers...)
	c.Papers = fb
	posted, digest := paper.KeyOf(papers[0]), paper.KeyOf(papers[1])
	q := &editQueue{posted: map[string]bool{posted: true}}
	var woken []time.Duration
	c.Edits, c.EditWindow, c.WakeEdits = q, 3*time.Second, func(d time.Duration) { woken = append(woken, d) }

	res, err := c.Click(ctx, Click{slackC1, "U1", "T1", tok(ActionRelevant, posted)})
	if err != nil || !res.Voted || !res.Queued || res.InPlace || res.Up != 1 {
		t.Fatalf("vote on a posted card: %+v, %v; want Queued", res, err)
	}
	if len(q.due) != 1 || !q.due[0].Equal(testNow.Add(3*time.Second)) || len(woken) != 1 || woken[0] != 3*time.Second {
		t.Errorf("edit due %v, sender woken after %v; want due and woken at the end of the 3s window", q.due, woken)
	}

	res, err = c.Click(ctx, Click{slackC1, "U1", "T1", tok(ActionNotRelevant, digest)})
	want := "Marked not relevant: “" + papers[1].Title + "”. Votes in this channel: 👍 0 · 👎 1"
	if err != nil || !res.Voted || res.Queued || res.InPlace || !res.Reply.Private || strings.Join(res.Reply.Text, " ") != want {
		t.Errorf("vote on a digest's paper: %+v, %v; want not queued, confirmed privately: %q", res, err, want)
	}
	if len(woken) != 1 {
		t.Error("the sender was woken for an edit that was not queued")
	}

	q.err = errors.New("database is locked")
	res, err = c.Click(ctx, Click{slackC1, "U2", "T1", tok(ActionRelevant, posted)})
	if err != nil || !res.Voted || res.Queued || res.Up != 2 || !strings.Contains(strings.Join(res.Reply.Text, " "), "👍 2 · 👎 0") {
		t.Errorf("vote when the queue fails: %+v, %v; want the vote kept and confirmed privately", res, err)
	}

	c.Edits = nil
	if res, err = c.Click(ctx, Click{slackC1, "U3", "T1", tok(ActionRelevant, posted)}); err != nil || res.Queued || !res.InPlace {
		t.Errorf("vote without a queue: %+v, %v; want InPlace", res, err)
	}
}
