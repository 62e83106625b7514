package command

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/health"
)

type fakeHealth struct {
	reps []health.Report
	err  error
}

func (f fakeHealth) Reports(context.Context) ([]health.Report, error) { return f.reps, f.err }

func TestSourcesShowHealth(t *testing.T) {
	ctx := context.Background()
	c, st := newTestCommander(t)
	if err := st.RecordPollError(ctx, "hf", errors.New("HTTP 503"), testNow.Add(-3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	next := time.Date(2026, 11, 29, 20, 0, 0, 0, ny)
	c.Health = fakeHealth{reps: []health.Report{
		{Source: "arxiv", State: health.Quiet, Why: "no announcement on Thanksgiving Day (US) evening",
			LastBatch: testNow.Add(-14 * time.Hour), NextBatch: next},
		{Source: "hf", State: health.Failing, Since: testNow.Add(-3 * time.Hour), LastError: "HTTP 503"},
	}}
	r, err := c.Handle(ctx, bot.Request{Channel: channel.Ref{Platform: "slack", ID: "C1"}, Text: "sources"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(r.Text, "\n") + "\n"
	for _, want := range []string{
		"arxiv: quiet (no announcement on Thanksgiving Day (US) evening); last batch 14h ago, next expected Sun 29 Nov 20:00 EST (in 2d); last poll",
		"hf: failing for 3h (since Fri 27 Nov 09:00 UTC): HTTP 503; last batch never; last poll 3h ago, last success never, last new paper never, 0 papers\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("/papers sources lacks %q:\n%s", want, got)
		}
	}
	c.Health = fakeHealth{err: errors.New("database is locked")}
	if _, err := c.Handle(ctx, bot.Request{Channel: channel.Ref{Platform: "slack", ID: "C1"}, Text: "sources"}); err == nil {
		t.Error("a health error was not reported")
	}
}
