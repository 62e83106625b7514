package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/testkit"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/paperboy-bot/paperboy/bot"
)

func slackChannel(id string) channel.Ref { return channel.Ref{Platform: "slack", ID: id} }

func hfPaper() paper.Paper {
	p := testkit.Paper(testNow, "2611.01234", `Spiking $\alpha$-Transformers for EEG`, "We propose a spiking transformer. It works.", 1)
	p.Authors = []string{"A. One", "B. Two", "C. Three", "D. Four"}
	p.Categories = []string{"cs.LG", "q-bio.NC"}
	p.HasHF, p.Upvotes = true, 42
	p.HFURL = "https://huggingface.co/papers/2611.01234"
	p.GitHubRepo = "https://github.com/example/spiking"
	p.Thumbnail = "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2611.01234.png"
	return p
}

// blocksOfType returns the blocks of one type, in order.
func blocksOfType(blocks []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, b := range blocks {
		if b["type"] == typ {
			out = append(out, b)
		}
	}
	return out
}

func textOf(b map[string]any) string {
	m, _ := b["text"].(map[string]any)
	s, _ := m["text"].(string)
	return s
}

func TestSendCard(t *testing.T) {
	f := newFakeSlack(t)
	s := newTestSlack(t, f, ModeSocket, nil)
	msg := bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: hfPaper(), Matched: []string{"eeg", "spiking"}}}}
	ts, err := s.Send(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	_, posts := f.snapshot()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	p := posts[0]
	if ts != p.TS || p.Channel != "C1" {
		t.Errorf("ts %q channel %q, want %q C1", ts, p.Channel, p.TS)
	}
	checkMessage(t, p.Text, p.Blocks)
	if !strings.Contains(p.Text, "Spiking α-Transformers for EEG") {
		t.Errorf("fallback text %q lacks the title", p.Text)
	}

	t.Run("header", func(t *testing.T) {
		h := blocksOfType(p.Blocks, "header")
		if len(h) != 1 || textOf(h[0]) != "Spiking α-Transformers for EEG" {
			t.Errorf("header %v", h)
		}
	})
	t.Run("meta and abstract", func(t *testing.T) {
		secs := blocksOfType(p.Blocks, "section")
		if len(secs) != 2 {
			t.Fatalf("%d sections, want 2", len(secs))
		}
		meta := textOf(secs[0])
		for _, want := range []string{"A. One, B. Two, C. Three et al.", "2026-11-26", "cs.LG q-bio.NC", "▲ 25+ upvotes", "matched: eeg, spiking"} {
			if !strings.Contains(meta, want) {
				t.Errorf("meta %q lacks %q", meta, want)
			}
		}
		if got := textOf(secs[1]); got != "We propose a spiking transformer. It works." {
			t.Errorf("abstract %q", got)
		}
		acc, _ := secs[1]["accessory"].(map[string]any)
		if acc == nil || acc["type"] != "image" || acc["image_url"] != hfPaper().Thumbnail {
			t.Errorf("thumbnail accessory %v", acc)
		}
	})
	t.Run("buttons", func(t *testing.T) {
		acts := blocksOfType(p.Blocks, "actions")
		if len(acts) != 2 {
			t.Fatalf("%d actions blocks, want links and feedback", len(acts))
		}
		var fb []string
		for _, e := range acts[1]["elements"].([]any) {
			el := e.(map[string]any)
			fb = append(fb, textOf(el)+"="+el["value"].(string))
		}
		wantFB := []string{"👍 Relevant=pb1:up:arxiv:2611.01234", "👎 Not relevant=pb1:down:arxiv:2611.01234",
			"🔖 Save=pb1:save:arxiv:2611.01234", "More like this=pb1:more:arxiv:2611.01234"}
		if strings.Join(fb, " ") != strings.Join(wantFB, " ") {
			t.Errorf("feedback buttons\n got %v\nwant %v", fb, wantFB)
		}
		var got []string
		for _, e := range acts[0]["elements"].([]any) {
			el := e.(map[string]any)
			got = append(got, textOf(el)+"="+el["url"].(string))
		}
		want := []string{
			"Abstract=https://arxiv.org/abs/2611.01234", "PDF=https://arxiv.org/pdf/2611.01234",
			"Hugging Face=https://huggingface.co/papers/2611.01234", "Code=https://github.com/example/spiking",
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("buttons\n got %v\nwant %v", got, want)
		}
	})
}

// hostile is a paper whose every field tries to break out of the card.
func hostile() paper.Paper {
	p := testkit.Paper(testNow, "2611.06666", "<!channel> *Attention* <https://evil.example|arxiv.org>", "", 0)
	var abs strings.Builder
	for abs.Len() < 20000 {
		abs.WriteString("a & b <@U0BOSS> <!here> <https://evil.example|click> 𝔸𝕓𝕤 ")
	}
	p.Abstract = abs.String()[:20000]
	p.Authors = []string{"<@U0CEO>", "Eve <!everyone>", "Mallory & Co", "Trent"}
	p.Categories = []string{"<#C0GENERAL>", "cs.CR"}
	p.PDFURL = "javascript:alert(1)"
	p.HFURL = "https://evil.example/a|b"
	p.GitHubRepo = "owner/repo"
	p.Thumbnail = "data:image/png;base64,AAAA"
	p.HasHF = true
	return p
}

func TestSendHostilePaper(t *testing.T) {
	long := hostile()
	long.Title = strings.Repeat("<!channel> & ", 100) // escaping would triple its length
	for _, tc := range []struct {
		name string
		msg  bot.Message
	}{
		{"card", bot.Message{Cards: []bot.Card{{Paper: hostile(), Matched: []string{"<!here>", "eeg"}}}}},
		{"long title card", bot.Message{Cards: []bot.Card{{Paper: long}}}},
		{"digest", bot.Message{Digest: true, Title: "<!channel> digest", Cards: []bot.Card{
			{Paper: hostile(), Matched: []string{"<!here>"}}, {Paper: long}, {Paper: hfPaper()}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSlack(t)
			s := newTestSlack(t, f, ModeSocket, nil)
			tc.msg.Channel = slackChannel("C1")
			if _, err := s.Send(context.Background(), tc.msg); err != nil {
				t.Fatal(err)
			}
			_, posts := f.snapshot()
			if len(posts) != 1 {
				t.Fatalf("%d posts", len(posts))
			}
			checkMessage(t, posts[0].Text, posts[0].Blocks)
			raw := posts[0].RawJSON
			for _, bad := range []string{"javascript:", "data:image", "evil.example/a|b"} {
				if strings.Contains(raw, bad) {
					t.Errorf("message contains %q", bad)
				}
			}
			if tc.name == "card" {
				h := blocksOfType(posts[0].Blocks, "header")
				if got := textOf(h[0]); got != "<!channel> *Attention* <https://evil.example|arxiv.org>" {
					t.Errorf("header %q: the title must be shown as typed, in plain_text", got)
				}
				secs := blocksOfType(posts[0].Blocks, "section")
				if len(secs) != 2 || !strings.HasPrefix(textOf(secs[1]), "a &amp; b &lt;@U0BOSS&gt; &lt;!here&gt; &lt;https://evil.example|click&gt;") ||
					!strings.HasSuffix(textOf(secs[1]), "…") {
					t.Errorf("abstract snippet missing or not escaped: %v", secs)
				}
				if !strings.Contains(raw, "https://github.com/owner/repo") {
					t.Error("owner/repo code link missing")
				}
			}
		})
	}
}

func TestSendDigest(t *testing.T) {
	for _, n := range []int{1, 12, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFakeSlack(t)
			s := newTestSlack(t, f, ModeSocket, nil)
			msg := bot.Message{Channel: slackChannel("C1"), Digest: true, Title: fmt.Sprintf("%d new papers since Tuesday", n+3), Overflow: 3}
			for i := range n {
				p := testkit.Paper(testNow, fmt.Sprintf("2611.%05d", i), fmt.Sprintf("Paper %d: %s", i, strings.Repeat("long title words ", 12)), "abstract", 1)
				msg.Cards = append(msg.Cards, bot.Card{Paper: p, Matched: []string{"eeg"}})
			}
			if _, err := s.Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			_, posts := f.snapshot()
			if len(posts) != 1 {
				t.Fatalf("%d posts, want one message", len(posts))
			}
			p := posts[0]
			checkMessage(t, p.Text, p.Blocks)
			if h := blocksOfType(p.Blocks, "header"); len(h) != 1 || textOf(h[0]) != msg.Title {
				t.Errorf("header %v", h)
			}
			shown := 0
			for _, sec := range blocksOfType(p.Blocks, "section") {
				shown += strings.Count(textOf(sec), "• <https://arxiv.org/abs/")
			}
			if shown == 0 {
				t.Fatal("no paper listed")
			}
			more := 0
			if ctx := blocksOfType(p.Blocks, "context"); len(ctx) == 1 {
				els := ctx[0]["elements"].([]any)
				text := els[0].(map[string]any)["text"].(string)
				if _, err := fmt.Sscanf(text, "and %d more", &more); err != nil {
					t.Fatalf("context block %q: %v", text, err)
				}
			}
			if shown+more != n+msg.Overflow {
				t.Errorf("%d shown + %d more, want %d in all", shown, more, n+msg.Overflow)
			}
			// Menus go on the best papers, as many as fit without costing a paper its place in the list.
			menus := 0
			for i, sec := range blocksOfType(p.Blocks, "section") {
				if acc, ok := sec["accessory"].(map[string]any); ok && acc["type"] == "overflow" {
					if menus != i {
						t.Errorf("section %d has a menu after a section without one: menus go on the best papers", i)
					}
					menus++
				}
			}
			_, plainShown := digestWithMenus(msg, 0)
			if shown != plainShown {
				t.Errorf("%d papers shown with menus, %d without: menus must not cost a paper its place", shown, plainShown)
			}
			if n <= 12 && menus != n {
				t.Errorf("%d of %d papers have a menu, want all", menus, n)
			}
			if _, more := digestWithMenus(msg, menus+1); menus < n && more == shown {
				t.Errorf("%d papers have a menu, but %d would fit as well", menus, menus+1)
			}
		})
	}
}

// TestDigestGolden pins a digest's blocks: a header, one section per paper with its overflow menu of the four
// feedback actions (values are click tokens), hostile text escaped, and the overflow note.
func TestDigestGolden(t *testing.T) {
	msg := bot.Message{Channel: slackChannel("C1"), Digest: true, Title: "3 new papers since Tuesday <!channel>", Overflow: 2,
		Cards: []bot.Card{{Paper: hfPaper(), Matched: []string{"eeg"}}, {Paper: hostile(), Matched: []string{"<!here>"}},
			{Paper: testkit.Paper(testNow, "2611.00009", "A third paper", "abstract", 1)}}}
	r := renderMessage(msg, true)
	raw, err := json.Marshal(map[string]any{"text": r.text, "blocks": r.blocks})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "digest.golden.json", raw)
}

// deliver does what the delivery engine does with a *bot.RateLimitError: wait it out (through sleep), then
// send again.
func deliver(ctx context.Context, s *Slack, msg bot.Message, sleep func(time.Duration)) (string, error) {
	for attempt := 0; ; attempt++ {
		ts, err := s.Send(ctx, msg)
		var rl *bot.RateLimitError
		if attempt < 3 && errors.As(err, &rl) {
			sleep(rl.RetryAfter)
			continue
		}
		return ts, err
	}
}

func TestSendRateLimited(t *testing.T) {
	f := newFakeSlack(t)
	f.rateLimit = 1
	s := newTestSlack(t, f, ModeSocket, nil)
	msg := bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: hfPaper()}}}

	_, err := s.Send(context.Background(), msg)
	var rl *bot.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second || rl.Global {
		t.Fatalf("first send: %v, want a channel RateLimitError of 1s", err)
	}
	if errors.Is(err, bot.ErrPermanent) || !strings.Contains(err.Error(), `post to channel "C1"`) {
		t.Errorf("error %q", err)
	}

	f.mu.Lock()
	f.rateLimit = 1
	f.mu.Unlock()
	var slept []time.Duration
	ts, err := deliver(context.Background(), s, msg, func(d time.Duration) { slept = append(slept, d) })
	if err != nil {
		t.Fatal(err)
	}
	requests, posts := f.snapshot()
	if len(posts) != 1 || posts[0].TS != ts {
		t.Errorf("%d posts, want the card posted once", len(posts))
	}
	if requests != 3 || len(slept) != 1 || slept[0] != time.Second {
		t.Errorf("%d requests, slept %v; want 3 requests (429, 429, ok) and one 1s wait", requests, slept)
	}
}

func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		setup     func(f *fakeSlack)
		token     string
		permanent string // PermanentError reason, "" if retryable
		rejected  bool   // the message itself is bad (bot.ErrRejected)
	}{
		{"channel_not_found", func(f *fakeSlack) { f.errCode["C1"] = "channel_not_found" }, "", "channel_not_found", false},
		{"not_in_channel", func(f *fakeSlack) { f.errCode["C1"] = "not_in_channel" }, "", "not_in_channel", false},
		{"is_archived", func(f *fakeSlack) { f.errCode["C1"] = "is_archived" }, "", "is_archived", false},
		{"invalid_auth is about the token, not the channel: retried", func(*fakeSlack) {}, "xoxb-revoked", "", false},
		{"internal_error is retried by the engine", func(f *fakeSlack) { f.errCode["C1"] = "internal_error" }, "", "", false},
		{"500 is retried by the engine, not the client", func(f *fakeSlack) { f.status500 = 5 }, "", "", false},
		{"invalid_blocks without images is a rejected message", func(f *fakeSlack) { f.errCode["C1"] = "invalid_blocks" }, "", "", true},
		{"msg_too_long is a rejected message", func(f *fakeSlack) { f.errCode["C1"] = "msg_too_long" }, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSlack(t)
			tc.setup(f)
			token := testBotToken
			if tc.token != "" {
				token = tc.token
			}
			s, err := New(Options{BotToken: token, AppToken: testAppToken, APIURL: f.apiURL(), Commands: &recorder{}, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			p := testkit.Paper(testNow, "2611.00001", "A paper", "abstract", 1) // no thumbnail
			_, err = s.Send(context.Background(), bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: p}}})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), `post to channel "C1"`) {
				t.Errorf("error %q lacks the channel", err)
			}
			// Only the revoked token is about the bot's credentials (logged at ERROR by the sender).
			if errors.Is(err, bot.ErrAuth) != (tc.token != "") {
				t.Errorf("error %v: auth = %v, want %v", err, errors.Is(err, bot.ErrAuth), tc.token != "")
			}
			if errors.Is(err, bot.ErrRejected) != tc.rejected {
				t.Errorf("error %v: rejected = %v, want %v", err, errors.Is(err, bot.ErrRejected), tc.rejected)
			}
			var pe *bot.PermanentError
			switch {
			case tc.permanent != "":
				if !errors.Is(err, bot.ErrPermanent) || !errors.As(err, &pe) || pe.Reason != tc.permanent {
					t.Errorf("error %v, want permanent %s", err, tc.permanent)
				}
			case errors.Is(err, bot.ErrPermanent):
				t.Errorf("error %v is permanent, want retryable", err)
			}
			var rl *bot.RateLimitError
			if errors.As(err, &rl) {
				t.Errorf("error %v is a rate limit", err)
			}
			if requests, posts := f.snapshot(); requests != 1 || len(posts) != 0 {
				t.Errorf("%d requests, %d posts; want exactly one attempt (no client-side retry)", requests, len(posts))
			}
		})
	}
}

func TestSendTimeoutIsNotRetried(t *testing.T) {
	f := newFakeSlack(t)
	f.hang = make(chan struct{})
	s := newTestSlack(t, f, ModeSocket, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := s.Send(ctx, bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: hfPaper()}}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the deadline", err)
	}
	if requests, _ := f.snapshot(); requests != 1 {
		t.Errorf("%d requests, want 1: a retry after a timeout could post twice", requests)
	}
}

func TestSendDropsUnfetchableThumbnail(t *testing.T) {
	f := newFakeSlack(t)
	f.noImages = true
	s := newTestSlack(t, f, ModeSocket, nil)
	if _, err := s.Send(context.Background(), bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: hfPaper()}}}); err != nil {
		t.Fatal(err)
	}
	requests, posts := f.snapshot()
	if requests != 2 || len(posts) != 1 || strings.Contains(posts[0].RawJSON, "image_url") {
		t.Errorf("%d requests, %d posts; want the card posted once, without its thumbnail", requests, len(posts))
	}
}

func TestNew(t *testing.T) {
	ok := Options{BotToken: testBotToken, AppToken: testAppToken, SigningSecret: testSecret, Commands: &recorder{}}
	for _, tc := range []struct {
		name string
		edit func(o *Options)
		want string // error substring, "" for success
	}{
		{"socket default", func(*Options) {}, ""},
		{"http", func(o *Options) { o.Mode, o.AppToken = ModeHTTP, "" }, ""},
		{"user token", func(o *Options) { o.BotToken = "xoxp-SECRETBOT" }, "xoxb-"},
		{"no app token", func(o *Options) { o.AppToken = "" }, "xapp-"},
		{"bot token as app token", func(o *Options) { o.AppToken = testBotToken }, "xapp-"},
		{"http without secret", func(o *Options) { o.Mode, o.SigningSecret = ModeHTTP, "" }, "SLACK_SIGNING_SECRET"},
		{"bad mode", func(o *Options) { o.Mode = "rtm" }, "mode"},
		{"no commands", func(o *Options) { o.Commands = nil }, "command"},
		{"bad api url", func(o *Options) { o.APIURL = "ftp://x" }, "api_url"},
		{"managers of blanks", func(o *Options) { o.Managers = []string{" ", ""} }, "managers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			s, err := New(o)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "SECRETBOT"):
				t.Errorf("error %q shows a secret", err)
			case err == nil && s.Name() != "slack":
				t.Errorf("name %q", s.Name())
			}
		})
	}
}

func TestAPIURLWithoutSlash(t *testing.T) {
	f := newFakeSlack(t)
	s, err := New(Options{BotToken: testBotToken, AppToken: testAppToken, APIURL: strings.TrimSuffix(f.apiURL(), "/"), Commands: &recorder{}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), bot.Message{Channel: slackChannel("C9"), Cards: []bot.Card{{Paper: hfPaper()}}}); err != nil {
		t.Fatal(err)
	}
}

// TestSendReduced: the last try of a paper Slack kept rejecting is one section with the linked title and a short
// abstract; no header, image, buttons or context, whichever of them was the trouble.
func TestSendReduced(t *testing.T) {
	f := newFakeSlack(t)
	s := newTestSlack(t, f, ModeSocket, nil)
	msg := bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: hfPaper(), Matched: []string{"eeg"}}}, Reduced: true}
	if _, err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	requests, posts := f.snapshot()
	if requests != 1 || len(posts) != 1 {
		t.Fatalf("%d requests, %d posts; want 1", requests, len(posts))
	}
	p := posts[0]
	checkMessage(t, p.Text, p.Blocks)
	if secs := blocksOfType(p.Blocks, "section"); len(p.Blocks) != 1 || len(secs) != 1 {
		t.Fatalf("blocks %s, want one section", p.RawJSON)
	}
	for _, unwanted := range []string{"image_url", `"actions"`, `"header"`, "accessory"} {
		if strings.Contains(p.RawJSON, unwanted) {
			t.Errorf("the reduced card has %s: %s", unwanted, p.RawJSON)
		}
	}
	text := textOf(blocksOfType(p.Blocks, "section")[0])
	if !strings.Contains(text, "Spiking α-Transformers for EEG") || !strings.Contains(text, "<"+hfPaper().URL+"|") {
		t.Errorf("the reduced card lacks the linked title: %q", text)
	}
	if units(text) > 2*reducedText+digestTitle {
		t.Errorf("the reduced card's text is %d units long", units(text))
	}
}
