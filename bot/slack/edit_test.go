package slack

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
)

// TestEditCard edits a posted card through slack-go's chat.update against the fake Slack API: the new card shows
// the version, the upvote milestone, the code and project links and the DOI, keeps its thumbnail, and cannot
// mention anyone whatever the paper's text; a deleted message, a 429 and a lost channel are classified.
func TestEditCard(t *testing.T) {
	ctx := context.Background()
	f := newFakeSlack(t)
	s := newTestSlack(t, f, ModeSocket, nil)
	p := hfPaper()
	ts, err := s.Send(ctx, bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: p, Matched: []string{"eeg"}}}})
	if err != nil {
		t.Fatal(err)
	}

	upd := p
	upd.Version, upd.Upvotes = 2, 57
	upd.Title = "Spiking Transformers for EEG <!channel> <@U123>"
	upd.ProjectPage = "https://example.org/spiking"
	upd.DOI, upd.JournalRef = "10.1000/xyz", "J. Neural Eng. 23 (2026) 1"
	upd.Categories = append(upd.Categories, "eess.SP")
	msg := bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: upd, Matched: []string{"eeg"}}}}
	if err := s.Edit(ctx, msg, ts); err != nil {
		t.Fatalf("edit: %v", err)
	}
	edits := f.edits()
	if len(edits) != 1 || edits[0].TS != ts || edits[0].Channel != "C1" {
		t.Fatalf("chat.update calls %+v, want one of message %s in C1", edits, ts)
	}
	raw := edits[0].RawJSON
	for _, want := range []string{"v2", "▲ 50+ upvotes", "eess.SP", "https://example.org/spiking", "https://doi.org/10.1000/xyz", "J. Neural Eng. 23 (2026) 1", "matched: eeg"} {
		if !strings.Contains(raw, want) {
			t.Errorf("edited card lacks %q: %s", want, raw)
		}
	}
	if !strings.Contains(raw, p.Thumbnail) {
		t.Errorf("the edit lost the thumbnail: %s", raw)
	}
	for _, bad := range []string{"<!channel>", "<@U123>"} {
		if strings.Contains(raw, bad) || strings.Contains(edits[0].Text, bad) {
			t.Errorf("edited card holds %q: %s | %s", bad, edits[0].Text, raw)
		}
	}
	if _, posts := f.snapshot(); len(posts) != 1 {
		t.Errorf("%d posts, want the 1 card: an edit must not post", len(posts))
	}

	tests := []struct {
		name  string
		setup func()
		ts    string
		check func(t *testing.T, err error)
	}{
		{"deleted message", func() { f.updateErr[ts] = "message_not_found" }, ts, func(t *testing.T, err error) {
			if !errors.Is(err, bot.ErrMessageGone) {
				t.Errorf("err = %v, want ErrMessageGone", err)
			}
		}},
		{"unknown message", func() {}, "1764244800.999999", func(t *testing.T, err error) {
			if !errors.Is(err, bot.ErrMessageGone) {
				t.Errorf("err = %v, want ErrMessageGone", err)
			}
		}},
		{"rate limited", func() { f.rateUpdates = 1 }, ts, func(t *testing.T, err error) {
			var rl *bot.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
				t.Errorf("err = %v, want a RateLimitError of 7s", err)
			}
		}},
		{"channel lost", func() { f.errCode["C1"] = "not_in_channel" }, ts, func(t *testing.T, err error) {
			if !errors.Is(err, bot.ErrPermanent) || errors.Is(err, bot.ErrMessageGone) {
				t.Errorf("err = %v, want ErrPermanent", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			tt.setup()
			f.mu.Unlock()
			tt.check(t, s.Edit(ctx, msg, tt.ts))
		})
	}
	if n := len(f.edits()); n != 1 {
		t.Errorf("%d edits recorded, want still 1", n)
	}

	// Slack cannot fetch the thumbnail: the card is edited without it rather than not at all.
	f.mu.Lock()
	f.errCode["C1"], f.updateErr[ts], f.noImages = "", "", true
	f.mu.Unlock()
	if err := s.Edit(ctx, msg, ts); err != nil {
		t.Fatalf("edit with an unfetchable thumbnail: %v", err)
	}
	if edits := f.edits(); len(edits) != 2 || strings.Contains(edits[1].RawJSON, "image_url") || !strings.Contains(edits[1].RawJSON, "v2") {
		t.Errorf("edits %d, want a second one without the image", len(edits))
	}
}
