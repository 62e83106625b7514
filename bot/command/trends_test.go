package command

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/bot/trend"
)

func TestTrends(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// Three weeks of EEG papers on sleep, then a last week where Mamba takes over; one spiking paper a week; an
	// unrelated paper that no subscription matches.
	var ps []paper.Paper
	n := 0
	add := func(daysAgo int, title, abstract string) {
		n++
		ps = append(ps, testkit.Paper(testNow, fmt.Sprintf("2611.%05d", n), title, abstract, daysAgo))
	}
	for w := 1; w <= 3; w++ {
		add(7*w+1, "EEG sleep staging with convolutions", "Sleep staging from EEG recordings.")
		add(7*w+2, "EEG seizure detection", "Seizure detection in EEG recordings.")
		add(7*w+3, "Spiking neural networks for vision", "SNN training.")
	}
	add(1, "Mamba for EEG", "A Mamba encoder for EEG recordings: Mamba scales.")
	add(2, "EEG Mamba foundation", "Mamba blocks for EEG foundation encoders.")
	add(3, "Mamba sleep EEG", "Sleep EEG with Mamba encoders.")
	add(4, "Gravitational waves", "Nothing about brains.")
	if _, err := st.Ingest(ctx, "arxiv", ps, nil, testNow); err != nil {
		t.Fatal(err)
	}
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	c := &Commander{Store: st, Now: func() time.Time { return testNow }}
	do := func(text string) bot.Reply {
		t.Helper()
		r, err := c.Handle(ctx, bot.Request{Channel: ch, User: "U1", CanManage: true, Text: text})
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		return r
	}
	if r := do("trends"); !r.Private || len(r.Files) != 0 || !strings.Contains(strings.Join(r.Text, " "), "follows nothing") {
		t.Fatalf("trends without subscriptions: %+v", r)
	}
	do("subscribe eeg")
	do("subscribe snn")

	tests := []struct {
		text      string
		wantWeeks int
		wantText  []string
	}{
		{"trends", trend.DefaultWeeks, []string{"2 subscriptions over the last 8 weeks", "12 papers, 3 in the last week", "Rising in the last week: mamba"}},
		{"trends 4", 4, []string{"over the last 4 weeks", "12 papers, 3 in the last week"}},
		{"trends 52", 52, []string{"over the last 52 weeks"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r := do(tt.text)
			if r.Private || r.Error {
				t.Fatalf("reply %+v, want a public chart", r)
			}
			text := strings.Join(r.Text, "\n")
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("reply %q lacks %q", text, w)
				}
			}
			if len(r.Files) != 1 || r.Files[0].Name != "trends.png" || !strings.Contains(r.Files[0].AltText, "eeg: 3 in the last week, 9 in all") {
				t.Fatalf("files %+v", r.Files)
			}
			img, err := png.Decode(bytes.NewReader(r.Files[0].Data))
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds().Dx() != trend.WidthPx || img.Bounds().Dy() != trend.HeightPx {
				t.Errorf("chart is %v", img.Bounds())
			}
		})
	}
	for _, bad := range []string{"trends 1", "trends 53", "trends many"} {
		t.Run(bad, func(t *testing.T) {
			if r := do(bad); !r.Error || len(r.Files) != 0 || !strings.Contains(r.Text[0], "Usage: /papers trends [weeks]") {
				t.Errorf("reply %+v, want the usage", r)
			}
		})
	}
}
