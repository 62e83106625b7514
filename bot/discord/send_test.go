package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/channel"

	"github.com/paperboy-bot/paperboy/bot"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got (JSON) with testdata/name, indented.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("indent: %v\n%s", err, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, buf.Bytes(), want)
	}
}

func ch(id string) channel.Ref { return channel.Ref{Platform: "discord", ID: id} }

func TestSendPayloads(t *testing.T) {
	hostileDigest := bot.Message{Channel: ch("C9"), Digest: true, Title: "@here 12 new papers <@&1>", Overflow: 2, Nonce: "pbd-1-12"}
	for i := range 12 {
		hostileDigest.Cards = append(hostileDigest.Cards, bot.Card{Paper: hostilePaper(i), Matched: []string{"@everyone", strings.Repeat("m", 2000)}})
	}
	tests := []struct {
		name   string
		msg    bot.Message
		golden string
		check  func(t *testing.T, body map[string]any)
	}{
		{
			name:   "instant card",
			msg:    bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: samplePaper(), Matched: []string{"eeg", "foundation model"}}}, Nonce: "pb-17"},
			golden: "send_card.golden.json",
		},
		{
			name: "digest",
			msg: bot.Message{Channel: ch("C1"), Digest: true, Title: "3 new papers since Tuesday", Overflow: 1, Nonce: "pbd-17-3",
				Cards: []bot.Card{{Paper: samplePaper(), Matched: []string{"eeg"}}, {Paper: hostilePaper(1)}}},
			golden: "send_digest.golden.json",
		},
		{
			name: "reduced card: linked title and a short text, nothing else",
			msg: bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: samplePaper(), Matched: []string{"eeg"}}}, Nonce: "pb-17",
				Reduced: true},
			golden: "send_reduced.golden.json",
			check: func(t *testing.T, body map[string]any) {
				if _, ok := body["components"]; ok {
					t.Error("a reduced card has buttons")
				}
				e := body["embeds"].([]any)[0].(map[string]any)
				for _, k := range []string{"thumbnail", "fields", "footer", "image"} {
					if _, ok := e[k]; ok {
						t.Errorf("a reduced card has %s", k)
					}
				}
				if d := e["description"].(string); utf8.RuneCountInString(d) > reducedRunes || d == "" {
					t.Errorf("description of %d characters, want 1 to %d", utf8.RuneCountInString(d), reducedRunes)
				}
			},
		},
		{
			name: "hostile card pings no one and respects every limit",
			msg:  bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: hostilePaper(0), Matched: []string{"<@&1>"}}}, Nonce: "pb-18"},
			check: func(t *testing.T, body map[string]any) {
				e := body["embeds"].([]any)[0].(map[string]any)
				if title := e["title"].(string); !strings.HasPrefix(title, `\@everyone \<\@&123\> \*\*Attention\*\*`) {
					t.Errorf("title not escaped: %q", title)
				}
				if _, ok := e["thumbnail"]; ok {
					t.Error("a javascript: thumbnail was sent")
				}
			},
		},
		{
			name: "hostile digest of 12 cards fits one message",
			msg:  hostileDigest,
			check: func(t *testing.T, body map[string]any) {
				if n := len(body["embeds"].([]any)); n != limitEmbeds {
					t.Errorf("%d embeds, want %d", n, limitEmbeds)
				}
				if c := body["content"].(string); !strings.Contains(c, "and 4 more") || !strings.HasPrefix(c, `**\@here`) {
					t.Errorf("content = %q, want the escaped title and the 2 + 2 left out", c)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord(t)
			d := newTestDiscord(t, f, nil)
			id, err := d.Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id == "" {
				t.Error("no message id")
			}
			reqs := f.requestsTo("/api/v10/channels/")
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if want := "/api/v10/channels/" + tt.msg.Channel.ID + "/messages"; reqs[0].Path != want {
				t.Errorf("path %s, want %s", reqs[0].Path, want)
			}
			if got := reqs[0].Header.Get("Authorization"); got != "Bot test-token" {
				t.Errorf("Authorization = %q", got)
			}
			var body map[string]any
			if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if body["nonce"] != tt.msg.Nonce || body["enforce_nonce"] != true {
				t.Errorf("nonce = %v, enforce_nonce = %v", body["nonce"], body["enforce_nonce"])
			}
			if tt.golden != "" {
				golden(t, tt.golden, reqs[0].Body)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	rateLimited := func(retryAfter string, global bool) cannedResponse {
		h := map[string]string{"Retry-After": "1", "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
			"X-RateLimit-Reset-After": retryAfter, "X-RateLimit-Bucket": "abcd", "X-RateLimit-Scope": "user"}
		if global {
			h["X-RateLimit-Global"] = "true"
			h["X-RateLimit-Scope"] = "global"
		}
		return cannedResponse{status: 429, header: h,
			body: `{"message": "You are being rate limited.", "retry_after": ` + retryAfter + `, "global": ` + map[bool]string{true: "true", false: "false"}[global] + `}`}
	}
	tests := []struct {
		name      string
		script    []cannedResponse
		wantCalls int
		check     func(t *testing.T, id string, err error)
	}{
		{
			name: "429 is waited out and retried with the same nonce", script: []cannedResponse{rateLimited("0.05", false)}, wantCalls: 2,
			check: func(t *testing.T, id string, err error) {
				if err != nil || id == "" {
					t.Fatalf("Send = %q, %v; want a message id", id, err)
				}
			},
		},
		{
			name: "long 429 goes back to the engine", script: []cannedResponse{rateLimited("60", true)}, wantCalls: 1,
			check: func(t *testing.T, _ string, err error) {
				var rl *bot.RateLimitError
				if !errors.As(err, &rl) || rl.RetryAfter != time.Minute || !rl.Global {
					t.Fatalf("err = %v, want a global *bot.RateLimitError of 1m", err)
				}
			},
		},
		{
			name: "403 missing access is permanent", wantCalls: 1,
			script: []cannedResponse{{status: 403, body: `{"message": "Missing Access", "code": 50001}`}},
			check: func(t *testing.T, _ string, err error) {
				var pe *bot.PermanentError
				if !errors.Is(err, bot.ErrPermanent) || !errors.As(err, &pe) || !strings.Contains(pe.Reason, "Missing Access") {
					t.Fatalf("err = %v, want a permanent Missing Access", err)
				}
			},
		},
		{
			name: "404 unknown channel is permanent", wantCalls: 1,
			script: []cannedResponse{{status: 404, body: `{"message": "Unknown Channel", "code": 10003}`}},
			check: func(t *testing.T, _ string, err error) {
				if !errors.Is(err, bot.ErrPermanent) {
					t.Fatalf("err = %v, want permanent", err)
				}
			},
		},
		{
			name: "400 invalid form body rejects the message, not the channel", wantCalls: 1,
			script: []cannedResponse{{status: 400, body: `{"message": "Invalid Form Body", "code": 50035}`}},
			check: func(t *testing.T, _ string, err error) {
				if !errors.Is(err, bot.ErrRejected) || errors.Is(err, bot.ErrPermanent) {
					t.Fatalf("err = %v, want ErrRejected and not permanent", err)
				}
			},
		},
		{
			name: "500 is temporary", wantCalls: 1,
			script: []cannedResponse{{status: 500, body: `{"message": "oops", "code": 0}`}},
			check: func(t *testing.T, _ string, err error) {
				var rl *bot.RateLimitError
				if err == nil || errors.Is(err, bot.ErrPermanent) || errors.Is(err, bot.ErrRejected) || errors.As(err, &rl) {
					t.Fatalf("err = %v, want a temporary error", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDiscord(t)
			f.enqueue("C1", tt.script...)
			d := newTestDiscord(t, f, nil)
			msg := bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: samplePaper()}}, Nonce: "pb-99"}
			id, err := d.Send(context.Background(), msg)
			tt.check(t, id, err)
			reqs := f.requestsTo("/api/v10/channels/C1/messages")
			if len(reqs) != tt.wantCalls {
				t.Fatalf("%d requests, want %d", len(reqs), tt.wantCalls)
			}
			for _, r := range reqs {
				if !bytes.Equal(r.Body, reqs[0].Body) || !bytes.Contains(r.Body, []byte(`"nonce":"pb-99","enforce_nonce":true`)) {
					t.Errorf("retry body differs or lacks the nonce:\n%s\n%s", reqs[0].Body, r.Body)
				}
			}
		})
	}
}

// TestSendRetryKeepsNonce is the engine's retry after a failed send: the second Send of the same message carries the
// same nonce, so Discord deduplicates a post whose response was lost.
func TestSendRetryKeepsNonce(t *testing.T) {
	f := newFakeDiscord(t)
	f.enqueue("C1", cannedResponse{status: 500, body: `{"message": "lost"}`})
	d := newTestDiscord(t, f, nil)
	long := "outbox-rows-1,2,3,4,5,6,7,8,9,10,11,12"
	msg := bot.Message{Channel: ch("G1/C1"), Cards: []bot.Card{{Paper: samplePaper()}}, Nonce: long}
	if _, err := d.Send(context.Background(), msg); err == nil {
		t.Fatal("first send should fail")
	}
	if _, err := d.Send(context.Background(), msg); err != nil {
		t.Fatalf("retry: %v", err)
	}
	reqs := f.requestsTo("/api/v10/channels/C1/messages")
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	var a, b struct {
		Nonce        string `json:"nonce"`
		EnforceNonce bool   `json:"enforce_nonce"`
	}
	if err := json.Unmarshal(reqs[0].Body, &a); err != nil {
		t.Fatalf("first request: %v", err)
	}
	if err := json.Unmarshal(reqs[1].Body, &b); err != nil {
		t.Fatalf("second request: %v", err)
	}
	if a.Nonce == "" || a != b || !a.EnforceNonce || len(a.Nonce) > limitNonce {
		t.Errorf("nonces %+v and %+v, want the same enforced nonce of at most 25 characters", a, b)
	}
}

func TestSendCancelledWhileRateLimited(t *testing.T) {
	f := newFakeDiscord(t)
	f.enqueue("C1", cannedResponse{status: 429, body: `{"message": "slow down", "retry_after": 3, "global": false}`})
	d := newTestDiscord(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the 429 has been received: the Send is then waiting.
		for len(f.requestsTo("/api/v10/channels/C1/messages")) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := d.Send(ctx, bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: samplePaper()}}, Nonce: "pb-1"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRenderRejectsEmptyMessage(t *testing.T) {
	if _, err := renderMessage(bot.Message{Channel: ch("C1")}); err == nil {
		t.Error("an empty instant message was rendered")
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"@everyone <@&123> **Attention**", `\@everyone \<\@&123\> \*\*Attention\*\*`},
		{"code at https://github.com/a_b/c_d now_", `code at https://github.com/a_b/c_d now\_`},
		{"[click](https://evil) `x` ||spoiler|| ~~s~~ # h > q", `\[click\](https://evil) \` + "`x\\`" + ` \|\|spoiler\|\| \~\~s\~\~ \# h \> q`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := escape(tt.in); got != tt.want {
				t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSendHandsBackA429ItCannotWaitOut: a Retry-After longer than the time left before the caller's deadline is
// returned as a *bot.RateLimitError (the engine waits it out) rather than ending as a timeout.
func TestSendHandsBackA429ItCannotWaitOut(t *testing.T) {
	f := newFakeDiscord(t)
	f.enqueue("C1", cannedResponse{status: 429, body: `{"message": "slow down", "retry_after": 3, "global": false}`})
	d := newTestDiscord(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := d.Send(ctx, bot.Message{Channel: ch("C1"), Cards: []bot.Card{{Paper: samplePaper()}}, Nonce: "pb-1"})
	var rl *bot.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
		t.Fatalf("err = %v, want a *bot.RateLimitError of 3s", err)
	}
}
