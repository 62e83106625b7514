package discord

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
)

// TestEdit edits a posted card with discordgo's ChannelMessageEditComplex against the fake REST API: one PATCH of
// /channels/{id}/messages/{id} carrying the new card with allowed_mentions {"parse": []}; a deleted message,
// a lost channel and a 429 are classified.
func TestEdit(t *testing.T) {
	ctx := context.Background()
	f := newFakeDiscord(t)
	d := newTestDiscord(t, f, nil)
	p := samplePaper()
	p.Version, p.Upvotes = 3, 260
	p.Title = "@everyone " + p.Title
	p.ProjectPage, p.DOI, p.JournalRef = "https://example.org/eegfm", "10.1000/xyz", "Nature 1 (2026) 2"
	msg := bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: p, Matched: []string{"eeg"}}}}
	if err := d.Edit(ctx, msg, "m7"); err != nil {
		t.Fatalf("Edit: %v", err)
	}
	reqs := f.requestsTo("/api/v10/channels/C1/messages/m7")
	if len(reqs) != 1 || reqs[0].Method != "PATCH" {
		t.Fatalf("requests %+v, want one PATCH of message m7", reqs)
	}
	var body struct {
		Embeds []struct {
			Title  string `json:"title"`
			Fields []struct{ Name, Value string }
		} `json:"embeds"`
		Components []struct {
			Components []struct{ Label, URL string } `json:"components"`
		} `json:"components"`
		AllowedMentions *struct{ Parse []string } `json:"allowed_mentions"`
		Nonce           string                    `json:"nonce"`
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.AllowedMentions == nil || body.AllowedMentions.Parse == nil || len(body.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions %+v, want parse: []", body.AllowedMentions)
	}
	if len(body.Embeds) != 1 || !strings.HasPrefix(body.Embeds[0].Title, `\@everyone`) {
		t.Fatalf("embeds %+v, want one card with an escaped title", body.Embeds)
	}
	fields := map[string]string{}
	for _, f := range body.Embeds[0].Fields {
		fields[f.Name] = f.Value
	}
	for name, want := range map[string]string{"Version": "v3", "Upvotes": "250+ upvotes", "Published in": "Nature 1 (2026) 2", "Matched": "eeg"} {
		if fields[name] != want {
			t.Errorf("field %s = %q, want %q", name, fields[name], want)
		}
	}
	var links []string
	for _, row := range body.Components {
		for _, b := range row.Components {
			links = append(links, b.Label+" "+b.URL)
		}
	}
	for _, want := range []string{"Project page https://example.org/eegfm", "DOI https://doi.org/10.1000/xyz", "Code https://github.com/example/eegfm"} {
		if !strings.Contains(strings.Join(links, "\n"), want) {
			t.Errorf("buttons %q lack %q", links, want)
		}
	}

	tests := []struct {
		name   string
		canned cannedResponse
		check  func(t *testing.T, err error)
	}{
		{"deleted message", cannedResponse{status: 404, body: `{"message": "Unknown Message", "code": 10008}`}, func(t *testing.T, err error) {
			if !errors.Is(err, bot.ErrMessageGone) || errors.Is(err, bot.ErrPermanent) {
				t.Errorf("err = %v, want ErrMessageGone", err)
			}
		}},
		{"channel lost", cannedResponse{status: 404, body: `{"message": "Unknown Channel", "code": 10003}`}, func(t *testing.T, err error) {
			if !errors.Is(err, bot.ErrPermanent) || errors.Is(err, bot.ErrMessageGone) {
				t.Errorf("err = %v, want ErrPermanent", err)
			}
		}},
		{"missing access", cannedResponse{status: 403, body: `{"message": "Missing Access", "code": 50001}`}, func(t *testing.T, err error) {
			if !errors.Is(err, bot.ErrPermanent) {
				t.Errorf("err = %v, want ErrPermanent", err)
			}
		}},
		// Last: discordgo's limiter remembers the bucket.
		{"rate limited", cannedResponse{status: 429, body: `{"message": "You are being rate limited.", "retry_after": 12.5, "global": false}`}, func(t *testing.T, err error) {
			var rl *bot.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != 12500*time.Millisecond {
				t.Errorf("err = %v, want a RateLimitError of 12.5s", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.enqueue("edit/m8", tt.canned)
			tt.check(t, d.Edit(ctx, msg, "m8"))
		})
	}
	if n := len(f.requestsTo("/api/v10/channels/C1/messages/m8")); n != len(tests) {
		t.Errorf("%d requests for m8, want %d (no retry of its own)", n, len(tests))
	}
	if n := len(f.requestsTo("/api/v10/channels/C1/messages")) - len(f.requestsTo("/api/v10/channels/C1/messages/")); n != 0 {
		t.Errorf("%d posts: an edit must never post", n)
	}
}
