package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// BenchmarkIngestEdits measures what queueing card edits adds to a poll, in its worst case: every paper of a
// 500-paper poll is a new version of a paper whose card was posted in 20 channels (10,000 cards to edit). The
// "off" run is the baseline: the same poll with [delivery] edits = false.
func BenchmarkIngestEdits(b *testing.B) {
	const papers, channels = 500, 20
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("edits=%v", on), func(b *testing.B) {
			s, err := Open(b.Context(), filepath.Join(b.TempDir(), "edits.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := make([]paper.Paper, papers)
			for i := range batch {
				batch[i] = testkit.Paper(now, fmt.Sprintf("2603.%05d", i), fmt.Sprintf("Paper %d", i), "An abstract.", 1)
				batch[i].Version = 1
			}
			route := func(*paper.Paper, time.Time) []channel.Route {
				out := make([]channel.Route, channels)
				for c := range out {
					out[c] = channel.Route{Channel: channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%02d", c)}}
				}
				return out
			}
			if _, err := s.IngestAndRoute(b.Context(), "arxiv", batch, nil, now, route); err != nil {
				b.Fatal(err)
			}
			// Post every card: the channels exist (the sender's leases live there) and the rows are sent.
			for c := range channels {
				if err := s.BlockChannel(b.Context(), channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%02d", c)}, "", now); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.w.ExecContext(b.Context(), `UPDATE outbox SET state = 'sent', message_id = 'm' || id, sent_at = 1`); err != nil {
				b.Fatal(err)
			}
			s.SetCardEdits(on)
			version := 1
			for b.Loop() {
				version++
				for i := range batch {
					batch[i].Version, batch[i].AnnounceType = version, paper.AnnounceReplace
				}
				res, err := s.IngestAndRoute(b.Context(), "arxiv", batch, nil, now.Add(time.Duration(version)*time.Minute), route)
				if err != nil {
					b.Fatal(err)
				}
				if want := map[bool]int{true: papers * channels}[on]; res.Edits != want {
					b.Fatalf("queued %d edits, want %d", res.Edits, want)
				}
			}
		})
	}
}
