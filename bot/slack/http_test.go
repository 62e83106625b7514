package slack

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/command"
)

// docsVector is Slack's documented signing example, copied into testdata.
type docsVector struct {
	Secret  string            `json:"signing_secret"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"-"`
	TS      int64             `json:"-"`
}

func loadDocsVector(t *testing.T) docsVector {
	t.Helper()
	raw, err := os.ReadFile("testdata/slack_signing_vector_docs_example.json")
	if err != nil {
		t.Fatal(err)
	}
	var v docsVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("testdata/slack_slash_command_body_docs_example.txt")
	if err != nil {
		t.Fatal(err)
	}
	v.Body = strings.TrimRight(string(body), "\n")
	v.TS, _ = strconv.ParseInt(v.Headers["X-Slack-Request-Timestamp"], 10, 64)
	return v
}

func TestSignature(t *testing.T) {
	v := loadDocsVector(t)
	at := time.Unix(v.TS, 0)
	flipped := []byte(v.Body)
	flipped[10] ^= 0x01
	for _, tc := range []struct {
		name   string
		now    time.Time
		body   string
		header func(h http.Header)
		want   int
	}{
		{"docs example", at, v.Body, nil, http.StatusOK},
		{"docs example, 4m59s later", at.Add(4*time.Minute + 59*time.Second), v.Body, nil, http.StatusOK},
		{"flipped body byte", at, string(flipped), nil, http.StatusUnauthorized},
		{"missing signature", at, v.Body, func(h http.Header) { h.Del("X-Slack-Signature") }, http.StatusUnauthorized},
		{"missing timestamp", at, v.Body, func(h http.Header) { h.Del("X-Slack-Request-Timestamp") }, http.StatusUnauthorized},
		{"stale timestamp", at.Add(5*time.Minute + time.Second), v.Body, nil, http.StatusUnauthorized},
		{"future timestamp", at.Add(-5*time.Minute - time.Second), v.Body, nil, http.StatusUnauthorized},
		{"timestamp changed", at, v.Body, func(h http.Header) { h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(v.TS+1, 10)) }, http.StatusUnauthorized},
		{"wrong version", at, v.Body, func(h http.Header) {
			h.Set("X-Slack-Signature", strings.Replace(h.Get("X-Slack-Signature"), "v0=", "v1=", 1))
		}, http.StatusUnauthorized},
		{"not hex", at, v.Body, func(h http.Header) { h.Set("X-Slack-Signature", "v0=zz") }, http.StatusUnauthorized},
		{"oversized body", at, v.Body + "&text=" + strings.Repeat("a", maxBodyBytes), nil, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{reply: bot.Reply{Private: true, Text: []string{"pong"}}}
			s, err := New(Options{BotToken: testBotToken, SigningSecret: v.Secret, Mode: ModeHTTP, Commands: rec,
				Logger: testLogger(t), Now: func() time.Time { return tc.now }})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, CommandsPath, strings.NewReader(tc.body))
			for k, val := range v.Headers {
				req.Header.Set(k, val)
			}
			if tc.header != nil {
				tc.header(req.Header)
			}
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, req)
			s.runner.Drain()
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			calls := rec.calls()
			if tc.want != http.StatusOK {
				if len(calls) != 0 {
					t.Errorf("command ran for a rejected request: %v", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].Channel.ID != "G8PSS9T3V" || calls[0].User != "U2CERLKJA" || !calls[0].CanManage {
				t.Errorf("requests %+v", calls)
			}
			var resp map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp["response_type"] != "ephemeral" {
				t.Errorf("response %s", w.Body)
			}
		})
	}
}

// TestSignatureAgreesWithSlackGo checks our verifier against slack-go's on fresh requests (slack-go's reads the
// wall clock, so only those can be compared).
func TestSignatureAgreesWithSlackGo(t *testing.T) {
	body := commandBody("C1", "U1", "eeg & <stuff>", "https://hooks.slack.com/commands/1")
	now := time.Now()
	for _, tc := range []struct {
		name   string
		secret string
		body   string
		ts     int64
	}{
		{"valid", testSecret, body, now.Unix()},
		{"other secret", "not-the-secret", body, now.Unix()},
		{"other body", testSecret, body + "x", now.Unix()},
		{"old", testSecret, body, now.Add(-6 * time.Minute).Unix()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := sign(tc.secret, tc.ts, tc.body)
			var theirs error
			sv, err := slack.NewSecretsVerifier(h, testSecret)
			if err == nil {
				_, _ = sv.Write([]byte(body))
				err = sv.Ensure()
			}
			theirs = err
			s := &Slack{signingSecret: testSecret, now: func() time.Time { return now }}
			ours := s.verify(h, []byte(body))
			if (ours == nil) != (theirs == nil) {
				t.Errorf("ours %v, slack-go %v", ours, theirs)
			}
		})
	}
}

func TestHTTPMethodAndPath(t *testing.T) {
	f := newFakeSlack(t)
	s := newTestSlack(t, f, ModeHTTP, nil)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, CommandsPath, http.StatusMethodNotAllowed},
		{http.MethodPost, "/slack/other", http.StatusNotFound},
		{http.MethodPost, CommandsPath, http.StatusUnauthorized},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, strings.NewReader("a=b"))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// postCommand sends a signed slash command to srv and returns the HTTP answer.
func postCommand(t *testing.T, srv *httptest.Server, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+CommandsPath, strings.NewReader(body))
	req.Header = sign(testSecret, testNow.Unix(), body)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
	return m
}

// TestSlashCommandOverHTTP runs /papers end to end (signed request, command core, real store) with a quick store
// (answered in the HTTP response) and a slow one (acknowledged at once, answered through response_url).
func TestSlashCommandOverHTTP(t *testing.T) {
	steps := []struct {
		name     string
		user     string
		text     string
		wantType string
		want     []string
	}{
		{"subscribe", "UMANAGER", "subscribe eeg -survey", "in_channel", []string{"This channel now follows", "EEG-based foundation models"}},
		{"list", "UOTHER", "list", "ephemeral", []string{"1. eeg -survey"}},
		{"search", "UOTHER", "eeg", "ephemeral", []string{"matching eeg", "A survey of EEG decoding"}},
		{"refused for a non-manager", "UOTHER", "unsubscribe 1", "ephemeral", []string{"Only people who can manage this channel"}},
		{"invalid query", "UMANAGER", `subscribe "eeg`, "ephemeral", []string{"That query is not valid"}},
		{"unsubscribe", "UMANAGER", "unsubscribe 1", "in_channel", []string{"no longer follows eeg -survey"}},
	}
	for _, slow := range []bool{false, true} {
		name := "quick store"
		if slow {
			name = "slow store"
		}
		t.Run(name, func(t *testing.T) {
			f := newFakeSlack(t)
			st := newTestStore(t)
			for i, step := range steps {
				t.Run(step.name, func(t *testing.T) {
					var cmds command.Store = st
					var ss *slowStore
					if slow {
						ss = newSlowStore(st)
						defer ss.release()
						cmds = ss
					}
					s := newTestSlack(t, f, ModeHTTP, &command.Commander{Store: cmds, Now: func() time.Time { return testNow }}, "UMANAGER")
					// The budget decides which way the answer goes: a quick store answers well within an hour, and a
					// held one cannot answer within a millisecond, so neither case depends on the machine's speed.
					// The default budget is tested below.
					s.runner = newRunner(time.Hour)
					if slow {
						s.runner = newRunner(time.Millisecond)
					}
					srv := httptest.NewServer(s.Handler())
					defer srv.Close()

					body := commandBody("C1", step.user, step.text, f.responseURL(strconv.Itoa(i)))
					answer := postCommand(t, srv, body)
					if slow {
						// The store is still held, so this answer can only be the acknowledgement.
						if answer["response_type"] != "ephemeral" || !strings.Contains(answer["text"].(string), "Working on it") {
							t.Errorf("acknowledgement %v", answer)
						}
						ss.release()
						answer = f.waitResponse(t)
					}
					s.runner.Drain()
					if answer["response_type"] != step.wantType {
						t.Errorf("response_type %v, want %s", answer["response_type"], step.wantType)
					}
					blocks := blocksOf(t, answer)
					text, _ := answer["text"].(string)
					checkMessage(t, text, blocks)
					all := allText(blocks)
					for _, w := range step.want {
						if !strings.Contains(all, w) {
							t.Errorf("answer lacks %q:\n%s", w, all)
						}
					}
				})
			}
		})
	}
}

// TestSlowCommandDefaultBudget checks the real acknowledgement budget: it leaves the answer time to reach Slack
// within its 3 s deadline, and with the store stuck the HTTP answer is the acknowledgement (the store is still
// held when it arrives) and the reply follows through response_url. How long the acknowledgement takes on this
// machine is not asserted: under -race on a loaded machine it says nothing about production.
func TestSlowCommandDefaultBudget(t *testing.T) {
	if slackDeadline != 3*time.Second || slackDeadline-defaultAckBudget < 500*time.Millisecond {
		t.Fatalf("budget %v leaves less than 500 ms of Slack's %v deadline", defaultAckBudget, slackDeadline)
	}
	f := newFakeSlack(t)
	ss := newSlowStore(newTestStore(t))
	defer ss.release()
	s := newTestSlack(t, f, ModeHTTP, &command.Commander{Store: ss, Now: func() time.Time { return testNow }})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ack := postCommand(t, srv, commandBody("C1", "U1", "list", f.responseURL("1")))
	if ack["response_type"] != "ephemeral" || !strings.Contains(ack["text"].(string), "Working on it") {
		t.Errorf("ack %v, want the acknowledgement", ack)
	}
	select {
	case m := <-f.responses:
		t.Fatalf("answered through response_url before the store answered: %v", m)
	default:
	}
	ss.release()
	if m := f.waitResponse(t); !strings.Contains(allText(blocksOf(t, m)), "follows nothing yet") {
		t.Errorf("reply %v", m)
	}
	s.runner.Drain()
}

func TestCommandStoreFailure(t *testing.T) {
	f := newFakeSlack(t)
	st := newTestStore(t)
	st.Close() // every query now fails
	s := newTestSlack(t, f, ModeHTTP, &command.Commander{Store: st, Now: func() time.Time { return testNow }})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	answer := postCommand(t, srv, commandBody("C1", "U1", "list", f.responseURL("1")))
	s.runner.Drain()
	if answer["response_type"] != "ephemeral" || !strings.Contains(allText(blocksOf(t, answer)), "something went wrong") {
		t.Errorf("answer %v", answer)
	}
}

func TestRunHTTP(t *testing.T) {
	f := newFakeSlack(t)
	rec := &recorder{reply: bot.Reply{Text: []string{"hello <!channel>"}}}
	s := newTestSlack(t, f, ModeHTTP, rec)
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.listen = ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	body := commandBody("C1", "U1", "hi", f.responseURL("1"))
	var answer map[string]any
	for range 100 { // until the server listens
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+s.listen+CommandsPath, strings.NewReader(body))
		req.Header = sign(testSecret, testNow.Unix(), body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		_ = json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		break
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if answer["response_type"] != "in_channel" || !strings.Contains(allText(blocksOf(t, answer)), "hello <!channel>") {
		t.Errorf("answer %v", answer)
	}
	if blocksOf(t, answer)[0]["text"].(map[string]any)["type"] != "plain_text" {
		t.Error("reply text must be plain_text: it quotes what users typed")
	}

	t.Run("address in use", func(t *testing.T) {
		busy, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		s.listen = busy.Addr().String()
		if err := s.Run(context.Background()); err == nil {
			t.Error("Run on a busy address succeeded")
		}
	})
}

// TestSlowSubcommandAcknowledgedAtOnce: a subcommand the command table marks slow (backfill) is acknowledged
// without waiting for the budget, however quick the answer, which then follows through response_url.
func TestSlowSubcommandAcknowledgedAtOnce(t *testing.T) {
	f := newFakeSlack(t)
	rec := &recorder{reply: bot.Reply{Text: []string{"Backfill: queued"}}}
	s := newTestSlack(t, f, ModeHTTP, rec)
	s.runner = newRunner(time.Hour) // a quick answer would certainly come within the budget
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ack := postCommand(t, srv, commandBody("C1", "U1", "backfill 7", f.responseURL("1")))
	if ack["response_type"] != "ephemeral" || !strings.Contains(ack["text"].(string), "Working on it") {
		t.Errorf("ack %v, want the acknowledgement", ack)
	}
	if m := f.waitResponse(t); !strings.Contains(allText(blocksOf(t, m)), "Backfill: queued") {
		t.Errorf("reply %v", m)
	}
	s.runner.Drain()
	if calls := rec.calls(); len(calls) != 1 || calls[0].Text != "backfill 7" {
		t.Errorf("requests %+v", calls)
	}
}
