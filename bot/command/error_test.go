package command

import (
	"context"
	"testing"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

// TestReplyMarksErrors: a reply that refuses or cannot do what was asked is marked Error (paperboy cmd exits 1
// on it); an answer, even an empty one, is not.
func TestReplyMarksErrors(t *testing.T) {
	ctx := context.Background()
	c, _ := newTestCommander(t)
	ch := channel.Ref{Platform: "console", ID: "errs"}
	steps := []struct {
		manager bool
		text    string
		isError bool
	}{
		{false, "help", false},
		{false, "eeg", false},
		{false, "search zzzunmatched", false},
		{false, "list", false},
		{false, "subscribe eeg", true},                 // not a manager
		{true, "subscribe \"eeg", true},                // invalid query
		{true, "subscribe", true},                      // subscribe to what
		{true, "subscribe eeg", false},                 //
		{true, "subscribe eeg", false},                 // already followed: nothing to do, not an error
		{true, "unsubscribe 7", true},                  // no such number
		{true, "unsubscribe meg", true},                // not followed
		{true, "digest weekly at noon on mars", true},  // not a schedule
		{true, "unsubscribe 1", false},                 //
		{true, "backfill 3", false},                    // follows nothing: nothing to backfill, not an error
		{false, "sources", false},                      //
		{true, "search", true},                         // look for what
		{true, "digest", true},                         // bad arguments
		{false, "retry", true},                         // not a manager
		{true, "retry", false},                         // nothing set aside
		{true, "unsubscribe", true},                    // unsubscribe from what
		{false, "unsubscribe 1", true},                 // not a manager
		{true, "subscribe title:(eeg OR meg", true},    // invalid query
		{true, "subscribe a* OR b* OR c* OR d*", true}, // too expensive a query
	}
	for _, st := range steps {
		r, err := c.Handle(ctx, bot.Request{Channel: ch, User: "U1", CanManage: st.manager, Text: st.text})
		if err != nil {
			t.Fatalf("%q: %v", st.text, err)
		}
		if r.Error != st.isError {
			t.Errorf("%q (manager %v): Error = %v, want %v; reply %q", st.text, st.manager, r.Error, st.isError, r.Text)
		}
	}
}
