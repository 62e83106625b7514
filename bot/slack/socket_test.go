package slack

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// fakeSocket stands in for slack-go's Socket Mode client: script plays what the connection would deliver.
type fakeSocket struct {
	events chan socketmode.Event
	acks   chan string
	script func(ctx context.Context, emit func(socketmode.Event) bool) error

	mu       sync.Mutex
	payloads map[string]any // ack payloads by envelope id
}

func newFakeSocket(script func(ctx context.Context, emit func(socketmode.Event) bool) error) *fakeSocket {
	return &fakeSocket{events: make(chan socketmode.Event), acks: make(chan string, 100), script: script}
}

func (f *fakeSocket) RunContext(ctx context.Context) error {
	return f.script(ctx, func(e socketmode.Event) bool {
		select {
		case f.events <- e:
			return true
		case <-ctx.Done():
			return false
		}
	})
}

func (f *fakeSocket) Events() <-chan socketmode.Event { return f.events }

func (f *fakeSocket) AckCtx(_ context.Context, envelopeID string, payload any) error {
	if payload != nil {
		f.mu.Lock()
		if f.payloads == nil {
			f.payloads = map[string]any{}
		}
		f.payloads[envelopeID] = payload
		f.mu.Unlock()
	}
	f.acks <- envelopeID
	return nil
}

func (f *fakeSocket) payload(id string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.payloads[id]
}

func (f *fakeSocket) waitAck(t *testing.T) string {
	t.Helper()
	select {
	case id := <-f.acks:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("no ack")
		return ""
	}
}

// untilDone is the tail of a script: the connection stays up until Run's context ends.
func untilDone(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func slashEvent(envelope, user, text, responseURL string) socketmode.Event {
	return socketmode.Event{
		Type:    socketmode.EventTypeSlashCommand,
		Data:    slack.SlashCommand{ChannelID: "C1", UserID: user, Command: "/papers", Text: text, ResponseURL: responseURL},
		Request: &socketmode.Request{Type: socketmode.RequestTypeSlashCommands, EnvelopeID: envelope},
	}
}

func runSlack(t *testing.T, s *Slack) (cancel func() error) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() error {
		stop()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context ended")
			return nil
		}
	}
}

func TestSocketModeAcksBeforeAnswering(t *testing.T) {
	f := newFakeSlack(t)
	ss := newSlowStore(newTestStore(t))
	defer ss.release()
	s := newTestSlack(t, f, ModeSocket, &command.Commander{Store: ss, Now: func() time.Time { return testNow }})
	fs := newFakeSocket(func(ctx context.Context, emit func(socketmode.Event) bool) error {
		emit(socketmode.Event{Type: socketmode.EventTypeConnecting, Data: &slack.ConnectingEvent{Attempt: 1}})
		emit(socketmode.Event{Type: socketmode.EventTypeConnected, Data: &socketmode.ConnectedEvent{}})
		emit(slashEvent("env-1", "U1", "list", f.responseURL("1")))
		return untilDone(ctx)
	})
	s.newSocket = func() socketClient { return fs }
	stop := runSlack(t, s)

	if id := fs.waitAck(t); id != "env-1" {
		t.Errorf("ack %q", id)
	}
	<-ss.waiting // the answer is under way, held by the store, and the envelope is already acknowledged
	select {
	case m := <-f.responses:
		t.Fatalf("answered before the store answered: %v", m)
	default:
	}
	ss.release()
	m := f.waitResponse(t)
	if m["response_type"] != "ephemeral" || !strings.Contains(allText(blocksOf(t, m)), "follows nothing yet") {
		t.Errorf("reply %v", m)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestSocketModeBusy: with every command slot taken, the next command is acknowledged at once with a "busy"
// reply in the acknowledgement itself, so the event loop never waits on a post.
func TestSocketModeBusy(t *testing.T) {
	f := newFakeSlack(t)
	ss := newSlowStore(newTestStore(t))
	defer ss.release()
	s := newTestSlack(t, f, ModeSocket, &command.Commander{Store: ss, Now: func() time.Time { return testNow }})
	s.runner = command.NewRunner(command.RunnerOptions{Budget: defaultAckBudget, FollowUpWindow: commandTimeout, Limit: 1})
	fs := newFakeSocket(func(ctx context.Context, emit func(socketmode.Event) bool) error {
		emit(slashEvent("env-1", "U1", "list", f.responseURL("1")))
		<-ss.waiting // the first command holds the only slot
		emit(slashEvent("env-2", "U1", "list", f.responseURL("2")))
		return untilDone(ctx)
	})
	s.newSocket = func() socketClient { return fs }
	stop := runSlack(t, s)
	fs.waitAck(t)
	if id := fs.waitAck(t); id != "env-2" {
		t.Fatalf("second ack %q", id)
	}
	if fs.payload("env-1") != nil {
		t.Errorf("the first command's ack carried a payload")
	}
	busy, ok := fs.payload("env-2").(response)
	if !ok || busy.ResponseType != "ephemeral" || !strings.Contains(busy.Text, "busy") {
		t.Errorf("second ack payload %#v, want the ephemeral busy reply", fs.payload("env-2"))
	}
	ss.release()
	f.waitResponse(t)
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestSocketModeReconnects(t *testing.T) {
	f := newFakeSlack(t)
	rec := &recorder{reply: bot.Reply{Text: []string{"done"}}}
	s := newTestSlack(t, f, ModeSocket, rec, "UMANAGER")
	fs := newFakeSocket(func(ctx context.Context, emit func(socketmode.Event) bool) error {
		for _, e := range []socketmode.Event{
			{Type: socketmode.EventTypeConnecting, Data: &slack.ConnectingEvent{Attempt: 1}},
			{Type: socketmode.EventTypeConnected, Data: &socketmode.ConnectedEvent{ConnectionCount: 0}},
			{Type: socketmode.EventTypeHello, Request: &socketmode.Request{Type: socketmode.RequestTypeHello}},
			slashEvent("env-a", "UMANAGER", "subscribe eeg", f.responseURL("a")),
			// Slack asked us to reconnect; slack-go reconnects by itself, failing once on the way.
			{Type: socketmode.EventTypeConnecting, Data: &slack.ConnectingEvent{Attempt: 1, ConnectionCount: 1}},
			{Type: socketmode.EventTypeConnectionError, Data: &slack.ConnectionErrorEvent{Attempt: 1, ErrorObj: errors.New("connection reset")}},
			{Type: socketmode.EventTypeConnecting, Data: &slack.ConnectingEvent{Attempt: 2, ConnectionCount: 1}},
			{Type: socketmode.EventTypeConnected, Data: &socketmode.ConnectedEvent{ConnectionCount: 1}},
			{Type: socketmode.EventTypeInteractive, Data: slack.InteractionCallback{}, Request: &socketmode.Request{Type: socketmode.RequestTypeInteractive, EnvelopeID: "env-button"}},
			slashEvent("env-b", "UOTHER", "unsubscribe 1", f.responseURL("b")),
			{Type: socketmode.EventTypeEventsAPI, Request: &socketmode.Request{Type: socketmode.RequestTypeEventsAPI, EnvelopeID: "env-event"}},
		} {
			if !emit(e) {
				return ctx.Err()
			}
		}
		return untilDone(ctx)
	})
	s.newSocket = func() socketClient { return fs }
	stop := runSlack(t, s)

	var acks []string
	for range 4 {
		acks = append(acks, fs.waitAck(t))
	}
	if got, want := strings.Join(acks, " "), "env-a env-button env-b env-event"; got != want {
		t.Errorf("acks %q, want %q", got, want)
	}
	for range 2 {
		m := f.waitResponse(t)
		if m["response_type"] != "in_channel" || !strings.Contains(allText(blocksOf(t, m)), "done") {
			t.Errorf("reply %v", m)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	calls := rec.calls()
	if len(calls) != 2 {
		t.Fatalf("%d commands, want 2", len(calls))
	}
	for _, c := range calls {
		if c.Channel.Platform != "slack" || c.Channel.ID != "C1" || c.CanManage != (c.User == "UMANAGER") {
			t.Errorf("request %+v: only the configured manager may manage", c)
		}
	}
}

// readyStates collects a platform's readiness reports.
type readyStates chan [2]any

func (r readyStates) report(ready bool, reason string) { r <- [2]any{ready, reason} }

// waitFor returns the reason of the first report with readiness ready whose reason contains want.
func (r readyStates) waitFor(t *testing.T, ready bool, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case st := <-r:
			if st[0].(bool) == ready && strings.Contains(st[1].(string), want) {
				return
			}
		case <-deadline:
			t.Fatalf("no readiness report ready=%v naming %q", ready, want)
		}
	}
}

// TestSocketModeRefusedTokenIsRetried: an app token Slack refuses ends slack-go's client, but not Run (which
// would stop the whole bot): the platform is reported not ready naming SLACK_APP_TOKEN, a new client is started
// after authRetry, and once Slack accepts the token the platform is ready.
func TestSocketModeRefusedTokenIsRetried(t *testing.T) {
	f := newFakeSlack(t)
	s := newTestSlack(t, f, ModeSocket, nil)
	rec := make(readyStates, 100)
	s.ready = bot.NewReadiness(rec.report)
	s.authRetry = time.Millisecond
	var mu sync.Mutex
	starts := 0
	s.newSocket = func() socketClient {
		mu.Lock()
		defer mu.Unlock()
		starts++
		if starts <= 2 {
			return newFakeSocket(func(context.Context, func(socketmode.Event) bool) error {
				return slack.SlackErrorResponse{Err: "invalid_auth"}
			})
		}
		return newFakeSocket(func(ctx context.Context, emit func(socketmode.Event) bool) error {
			emit(socketmode.Event{Type: socketmode.EventTypeConnected, Data: &socketmode.ConnectedEvent{}})
			return untilDone(ctx)
		})
	}
	stop := runSlack(t, s)
	rec.waitFor(t, false, "SLACK_APP_TOKEN")
	rec.waitFor(t, true, "")
	if err := stop(); err != nil {
		t.Errorf("Run: %v, want nil", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if starts != 3 {
		t.Errorf("%d socket mode clients started, want 3", starts)
	}
}

// TestSocketModeRealClient runs slack-go's own Socket Mode client against the fake API, which refuses the app
// token: Run keeps trying (every authRetry) instead of giving up, sends the xapp- token (not the bot token) to
// apps.connections.open, and returns nil once ctx ends.
func TestSocketModeRealClient(t *testing.T) {
	f := newFakeSlack(t)
	s := newTestSlack(t, f, ModeSocket, nil)
	rec := make(readyStates, 100)
	s.ready = bot.NewReadiness(rec.report)
	s.authRetry = time.Millisecond
	stop := runSlack(t, s)
	rec.waitFor(t, false, "SLACK_APP_TOKEN")
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		n := len(f.openAuth)
		f.mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("apps.connections.open was not tried again")
		}
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v, want nil", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, auth := range f.openAuth {
		if auth != "Bearer "+testAppToken {
			t.Errorf("apps.connections.open called with the wrong token")
		}
	}
}

func TestSocketModeFinishesAnswersOnShutdown(t *testing.T) {
	f := newFakeSlack(t)
	ss := newSlowStore(newTestStore(t))
	defer ss.release()
	s := newTestSlack(t, f, ModeSocket, &command.Commander{Store: ss, Now: func() time.Time { return testNow }})
	fs := newFakeSocket(func(ctx context.Context, emit func(socketmode.Event) bool) error {
		emit(slashEvent("env-1", "U1", "list", f.responseURL("1")))
		return untilDone(ctx)
	})
	s.newSocket = func() socketClient { return fs }
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	fs.waitAck(t)
	<-ss.waiting
	stop()
	ss.release()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	select {
	case <-f.responses:
	default:
		t.Error("Run returned before the answer was posted")
	}
}

// TestRevokedTokenMakesSlackNotReady: posts refused for the bot token (token_revoked) report the platform not
// ready naming SLACK_BOT_TOKEN, so /healthz does not stay healthy while every delivery fails; a post accepted
// again makes it ready.
func TestRevokedTokenMakesSlackNotReady(t *testing.T) {
	f := newFakeSlack(t)
	s := newTestSlack(t, f, ModeHTTP, nil)
	rec := make(readyStates, 100)
	s.ready = bot.NewReadiness(rec.report)
	msg := bot.Message{Channel: slackChannel("C1"), Cards: []bot.Card{{Paper: testkit.Paper(testNow, "2611.00001", "A paper", "abstract", 1)}}}
	f.mu.Lock()
	f.errCode["C1"] = "token_revoked"
	f.mu.Unlock()
	if _, err := s.Send(t.Context(), msg); err == nil {
		t.Fatal("a post with a revoked token succeeded")
	}
	rec.waitFor(t, false, "SLACK_BOT_TOKEN")
	f.mu.Lock()
	delete(f.errCode, "C1")
	f.mu.Unlock()
	if _, err := s.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	if ok, reason := s.ready.Ready(); !ok {
		t.Errorf("not ready after an accepted post: %s", reason)
	}
}
