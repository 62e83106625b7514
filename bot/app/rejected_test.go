package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/discord"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/slack"
)

// chatAPI is a local stand-in for Slack's Web API (chat.postMessage) and Discord's REST API (channel messages),
// speaking their wire formats to the real adapters. refuse decides, per post (numbered from 1), whether the
// platform rejects the payload as malformed: Discord with 400 Invalid Form Body, Slack with ok=false and
// invalid_arguments.
type chatAPI struct {
	srv    *httptest.Server
	mu     sync.Mutex
	posts  []chatPost
	refuse func(n int) bool
}

// chatPost is one post the fake received, with whether it refused it.
type chatPost struct {
	Body    string
	Refused bool
}

func newChatAPI(t *testing.T, refuse func(n int) bool) *chatAPI {
	t.Helper()
	f := &chatAPI{refuse: refuse}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /discord/api/v10/channels/{id}/messages", func(w http.ResponseWriter, r *http.Request) {
		refused, n := f.record(t, r)
		w.Header().Set("Content-Type", "application/json")
		if refused {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"message": "Invalid Form Body", "code": 50035, "errors": {"embeds": {"0": {"thumbnail": {"url": {"_errors": [{"code": "URL_TYPE_INVALID_URL", "message": "Not a well formed URL."}]}}}}}}`)
			return
		}
		fmt.Fprintf(w, `{"id": "11000000000000%04d", "channel_id": %q, "type": 0, "content": ""}`, n, r.PathValue("id"))
	})
	mux.HandleFunc("POST /slack/api/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
		refused, n := f.record(t, r)
		w.Header().Set("Content-Type", "application/json")
		if refused {
			io.WriteString(w, `{"ok": false, "error": "invalid_arguments", "response_metadata": {"messages": ["[ERROR] invalid url [json-pointer:/blocks/2/accessory/image_url]"]}}`)
			return
		}
		fmt.Fprintf(w, `{"ok": true, "channel": %q, "ts": "1774612800.%06d", "message": {"type": "message", "text": ""}}`, r.FormValue("channel"), n)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *chatAPI) record(t *testing.T, r *http.Request) (refused bool, n int) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read post: %v", err)
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Errorf("slack post: %v", err)
		}
		r.Form = form
		body = []byte(form.Get("blocks"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n = len(f.posts) + 1
	refused = f.refuse(n)
	f.posts = append(f.posts, chatPost{Body: string(body), Refused: refused})
	return refused, n
}

func (f *chatAPI) sent() []chatPost {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chatPost(nil), f.posts...)
}

func (f *chatAPI) setRefuse(refuse func(n int) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse = refuse
}

// adapter builds the real adapter of platform pointed at the fake.
func (f *chatAPI) adapter(t *testing.T, platform string) bot.Platform {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	var (
		p   bot.Platform
		err error
	)
	switch platform {
	case "discord":
		p, err = discord.New(discord.Options{Token: "test-token", APIURL: f.srv.URL + "/discord/api/v10/", Logger: log})
	case "slack":
		p, err = slack.New(slack.Options{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: f.srv.URL + "/slack/api/",
			Commands: &command.Commander{}, Logger: log})
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rejectionFixture is an engine fixture whose sender posts to the real adapter of platform, through the fake.
func rejectionFixture(t *testing.T, newEngineFixture fixtureFunc, platform string, refuse func(n int) bool) (*engineFixture, *chatAPI, channel.Ref) {
	f := newEngineFixture(t)
	api := newChatAPI(t, refuse)
	f.newSender(func(o *delivery.Options) {
		o.Platforms = map[string]bot.Platform{platform: api.adapter(t, platform)}
		o.Limits = map[string]delivery.Limits{platform: o.Limits["slack"]}
	})
	ch := channel.Ref{Platform: platform, ID: "C0REJECT"}
	if platform == "discord" {
		ch.ID = "1300000000000000001"
	}
	f.subscribe(ch, "eeg")
	p := arxivPaper("2603.80001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG foundation models")
	p.Thumbnail = "https://cdn.example.org/thumb.png"
	p.PDFURL = "https://arxiv.org/pdf/2603.80001"
	f.ingest("arxiv", p)
	return f, api, ch
}

// testTransientRejectionIsRetried: a payload the platform rejects once (Discord's 400, Slack's invalid_arguments)
// is not set aside for good: it is sent again after the first retry delay, in full, and delivered.
func testTransientRejectionIsRetried(t *testing.T, newEngineFixture fixtureFunc) {
	for _, platform := range []string{"discord", "slack"} {
		t.Run(platform, func(t *testing.T) {
			ctx := context.Background()
			f, api, ch := rejectionFixture(t, newEngineFixture, platform, func(n int) bool { return n == 1 })
			f.deliver()
			if got := api.sent(); len(got) != 1 || !got[0].Refused {
				t.Fatalf("posts after the first delivery = %+v, want one, refused", got)
			}
			if depth, _ := f.st.OutboxDepth(ctx); depth != 1 {
				t.Errorf("outbox depth after the rejection = %d, want 1: the paper waits for a retry", depth)
			}
			if n, _ := f.st.CountFailed(ctx, ch); n != 0 {
				t.Errorf("%d papers set aside after one rejection", n)
			}
			// Not before its retry time.
			f.clock.Add(delivery.RejectRetryDelays[0] - time.Second)
			f.deliver()
			if got := api.sent(); len(got) != 1 {
				t.Fatalf("%d posts before the retry time, want 1", len(got))
			}
			f.clock.Add(time.Second)
			f.deliver()
			got := api.sent()
			if len(got) != 2 || got[1].Refused {
				t.Fatalf("posts = %+v, want the retry accepted", got)
			}
			if got[1].Body != got[0].Body {
				t.Errorf("the first retry differs from the rejected post; it should be the full card again:\n%s\n%s", got[0].Body, got[1].Body)
			}
			if depth, _ := f.st.OutboxDepth(ctx); depth != 0 {
				t.Errorf("outbox depth after the retry = %d, want 0", depth)
			}
			if w, _ := f.st.Work(ctx); len(w) != 0 {
				t.Errorf("work left after delivery: %+v", w)
			}
			f.clock.Add(time.Hour)
			f.deliver()
			if n := len(api.sent()); n != 2 {
				t.Errorf("%d posts after the paper was delivered, want 2", n)
			}
		})
	}
}

// testPermanentRejectionIsSetAside: a payload the platform always rejects is sent in full len(RejectRetryDelays)
// times, then once reduced (no thumbnail, no buttons), then set aside; /papers sources counts it, /papers failed
// lists it (managers only), and /papers retry queues it again, delivered once the platform accepts.
func testPermanentRejectionIsSetAside(t *testing.T, newEngineFixture fixtureFunc) {
	for _, platform := range []string{"discord", "slack"} {
		t.Run(platform, func(t *testing.T) {
			ctx := context.Background()
			f, api, ch := rejectionFixture(t, newEngineFixture, platform, func(int) bool { return true })
			f.deliver()
			for _, d := range delivery.RejectRetryDelays {
				f.clock.Add(d)
				f.deliver()
			}
			posts := api.sent()
			if len(posts) != len(delivery.RejectRetryDelays)+1 {
				t.Fatalf("%d posts, want %d: in full %d times, then reduced once", len(posts), len(delivery.RejectRetryDelays)+1, len(delivery.RejectRetryDelays))
			}
			full, reduced := posts[0].Body, posts[len(posts)-1].Body
			for i, p := range posts[:len(posts)-1] {
				if p.Body != full {
					t.Errorf("post %d is not the full card", i+1)
				}
			}
			for _, element := range []string{"thumb.png", "arxiv.org/pdf"} {
				if !strings.Contains(full, element) {
					t.Errorf("the full card lacks %q: %s", element, full)
				}
				if strings.Contains(reduced, element) {
					t.Errorf("the reduced card still has %q: %s", element, reduced)
				}
			}
			if !strings.Contains(reduced, "EEG foundation models") || !strings.Contains(reduced, "arxiv.org/abs/2603.80001") {
				t.Errorf("the reduced card lacks the title or link: %s", reduced)
			}
			if depth, _ := f.st.OutboxDepth(ctx); depth != 0 {
				t.Errorf("outbox depth = %d, want 0: the paper is set aside", depth)
			}
			f.clock.Add(24 * time.Hour)
			f.deliver()
			if n := len(api.sent()); n != len(posts) {
				t.Errorf("a set-aside paper was sent again (%d posts)", n)
			}

			c := &command.Commander{Store: f.st, Now: f.clock.Now}
			run := func(text string, manager bool) string {
				t.Helper()
				r, err := c.Handle(ctx, bot.Request{Channel: ch, User: "U1", CanManage: manager, Text: text})
				if err != nil {
					t.Fatalf("/papers %s: %v", text, err)
				}
				return strings.Join(r.Text, "\n")
			}
			if out := run("sources", false); !strings.Contains(out, "1 paper could not be posted in this channel") {
				t.Errorf("/papers sources does not count the set-aside paper:\n%s", out)
			}
			other := channel.Ref{Platform: ch.Platform, ID: ch.ID + "9"}
			if r, _ := c.Handle(ctx, bot.Request{Channel: other, Text: "sources"}); strings.Contains(strings.Join(r.Text, "\n"), "could not be posted") {
				t.Errorf("/papers sources in another channel counts this one's set-aside papers: %q", r.Text)
			}
			if out := run("failed", false); !strings.Contains(out, "Only people who can manage this channel") {
				t.Errorf("/papers failed answered a non-manager:\n%s", out)
			}
			out := run("failed", true)
			for _, want := range []string{"1 paper could not be posted here", "arxiv:2603.80001", "EEG foundation models", "set aside 24h ago"} {
				if !strings.Contains(out, want) {
					t.Errorf("/papers failed lacks %q:\n%s", want, out)
				}
			}
			wantErr := map[string]string{"discord": "Invalid Form Body", "slack": "invalid_arguments"}[platform]
			if !strings.Contains(out, wantErr) {
				t.Errorf("/papers failed does not show the platform's error %q:\n%s", wantErr, out)
			}
			if out := run("retry", false); !strings.Contains(out, "Only people who can manage this channel") {
				t.Errorf("/papers retry answered a non-manager:\n%s", out)
			}
			api.setRefuse(func(int) bool { return false })
			if out := run("retry", true); !strings.Contains(out, "1 set-aside paper queued again") {
				t.Errorf("/papers retry = %q", out)
			}
			f.deliver()
			after := api.sent()
			if len(after) != len(posts)+1 || after[len(after)-1].Refused || after[len(after)-1].Body != full {
				t.Fatalf("after /papers retry: %d posts, want one more, the full card, accepted", len(after))
			}
			if n, _ := f.st.CountFailed(ctx, ch); n != 0 {
				t.Errorf("%d papers still set aside after the retry was delivered", n)
			}
			if out := run("failed", true); !strings.Contains(out, "No paper is set aside") {
				t.Errorf("/papers failed after the retry = %q", out)
			}
			if out := run("retry", true); !strings.Contains(out, "nothing to retry") {
				t.Errorf("/papers retry with nothing set aside = %q", out)
			}
		})
	}
}

func TestTransientRejectionIsRetried(t *testing.T) { onEachStore(t, testTransientRejectionIsRetried) }

func TestPermanentRejectionIsSetAside(t *testing.T) { onEachStore(t, testPermanentRejectionIsSetAside) }
