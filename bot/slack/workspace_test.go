package slack

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// TestReadingListPerWorkspace: one user id clicking Save in channels of two workspaces (an Enterprise Grid user,
// whose id is the same in every workspace of the org) keeps two reading lists, each shown only in its workspace,
// and /papers forget-me in one leaves the other's list and votes. Clicks and commands go through the signed HTTP
// endpoints into a real store; the workspace is team.id of block_actions and team_id of the slash command.
func TestReadingListPerWorkspace(t *testing.T) {
	f := newFakeSlack(t)
	st := newTestStore(t)
	for _, ch := range []string{"C1", "C2"} {
		if _, err := st.AddSubscription(t.Context(), channel.Subscription{Channel: slackChannel(ch), Query: "eeg", Canonical: "eeg", AddedBy: "U0", AddedAt: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	now := func() time.Time { return testNow }
	s := newTestSlack(t, f, ModeHTTP, &command.Commander{Store: st, Now: now})
	s.clicks = &command.Clicks{Feedback: st, Channels: st, Now: now}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ps := testkit.SamplePapers(testNow)
	trig := 0
	click := func(team, ch, action string, i int) {
		t.Helper()
		trig++
		payload := clickFixture(t, ch, "UGRID", action, ps[i], f.responseURL("r"), "trigger-"+strings.Repeat("w", trig))
		payload["team"].(map[string]any)["id"] = team
		payload["user"].(map[string]any)["team_id"] = team
		if code := postInteraction(t, srv, testSecret, testNow, formBody(t, payload)); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		f.waitResponse(t)
	}
	saved := func(team, ch string) string {
		t.Helper()
		m := postCommand(t, srv, commandBodyIn(team, ch, "UGRID", "saved", f.responseURL("c")))
		return allText(blocksOf(t, m))
	}
	click("T1", "C1", command.ActionSave, 0)
	click("T1", "C1", command.ActionRelevant, 0)
	click("T2", "C2", command.ActionSave, 1)
	click("T2", "C2", command.ActionRelevant, 1)

	t1, t2 := saved("T1", "C1"), saved("T2", "C2")
	if !strings.Contains(t1, ps[0].URL) || strings.Contains(t1, ps[1].URL) || !strings.Contains(t1, "1 paper") {
		t.Errorf("T1's list:\n%s\nwant only %s", t1, ps[0].URL)
	}
	if !strings.Contains(t2, ps[1].URL) || strings.Contains(t2, ps[0].URL) {
		t.Errorf("T2's list:\n%s\nwant only %s", t2, ps[1].URL)
	}
	m := postCommand(t, srv, commandBodyIn("T1", "C1", "UGRID", "forget-me", f.responseURL("c")))
	if got := allText(blocksOf(t, m)); m["response_type"] != "ephemeral" || !strings.Contains(got, "Deleted your 1 vote and the 1 paper of your reading list in this Slack workspace") {
		t.Errorf("forget-me in T1: %v", m)
	}
	if got := saved("T1", "C1"); !strings.Contains(got, "empty") {
		t.Errorf("T1's list after forget-me:\n%s", got)
	}
	if got := saved("T2", "C2"); !strings.Contains(got, ps[1].URL) {
		t.Errorf("T2's list after forget-me in T1:\n%s", got)
	}
	if v, err := st.ChannelVotes(t.Context(), slackChannel("C2"), time.Time{}); err != nil || len(v) != 1 || v[0].User != "UGRID" {
		t.Errorf("votes in C2 after forget-me in T1: %+v, %v; want UGRID's", v, err)
	}
	if v, err := st.ChannelVotes(t.Context(), slackChannel("C1"), time.Time{}); err != nil || len(v) != 0 {
		t.Errorf("votes in C1 after forget-me in T1: %+v, %v; want none", v, err)
	}
}
