package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// listener runs s.Listen in the background for one test and collects the topics it delivers.
type listener struct {
	s      *Store
	topics chan string
	cancel context.CancelFunc
	done   chan error
	marks  int
}

func startListening(t *testing.T, s *Store) *listener {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	l := &listener{s: s, topics: make(chan string, 1000), cancel: cancel, done: make(chan error, 1)}
	go func() { l.done <- s.Listen(ctx, func(topic string) { l.topics <- topic }) }()
	t.Cleanup(func() { l.stop(t) })
	l.waitListening(t)
	return l
}

// waitListening returns once a notification sent now reaches the listener: until Listen has issued LISTEN,
// notifications are not queued for it, so this sends one repeatedly.
func (l *listener) waitListening(t *testing.T) {
	t.Helper()
	for {
		l.notify(t, "probe")
		select {
		case topic := <-l.topics:
			if topic == "probe" {
				l.collect(t) // the other probes
				return
			}
		case <-time.After(20 * time.Millisecond):
		case <-t.Context().Done():
			t.Fatal("Listen never received a notification")
		}
	}
}

func (l *listener) notify(t *testing.T, payload string) {
	t.Helper()
	if _, err := l.s.pool.Exec(t.Context(), `SELECT pg_notify($1, $2)`, l.s.channel, payload); err != nil {
		t.Fatal(err)
	}
}

// collect returns the topics delivered before a mark sent now: notifications come in commit order, so these are
// exactly those of the transactions committed before this call (probes excepted).
func (l *listener) collect(t *testing.T) []string {
	t.Helper()
	l.marks++
	mark := fmt.Sprintf("mark-%d", l.marks)
	l.notify(t, mark)
	var got []string
	for {
		select {
		case topic := <-l.topics:
			if topic == mark {
				return got
			}
			if topic != "probe" && !strings.HasPrefix(topic, "mark-") {
				got = append(got, topic)
			}
		case <-t.Context().Done():
			t.Fatalf("mark %s never came through", mark)
		}
	}
}

func (l *listener) stop(t *testing.T) {
	t.Helper()
	l.cancel()
	if err := <-l.done; err != nil {
		t.Errorf("Listen returned %v at the end of its context, want nil", err)
	}
}

// TestNotifications checks which changes wake the other instances: every change of the outbox, of the
// subscriptions, or of a channel's mode or block, made by any instance, reaches every listener once per
// transaction; leases, digest times, sends and ingests without routes wake nobody.
func TestNotifications(t *testing.T) {
	t.Parallel()
	s, u := openTest(t)
	other := openURL(t, u) // the instance making the changes
	l := startListening(t, s)
	ctx := t.Context()
	p1 := arxiv("2609.00001", t0, paper.AnnounceNew, "EEG one", "a")
	p2 := arxiv("2609.00002", t0, paper.AnnounceNew, "EEG two", "b")
	var sub channel.Subscription
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"ingest without routes", func() error {
			_, err := other.Ingest(ctx, "arxiv", []paper.Paper{p1}, nil, t0)
			return err
		}, nil},
		{"ingest routing two papers to two channels", func() error {
			_, err := other.IngestAndRoute(ctx, "arxiv", []paper.Paper{p2}, nil, t0, routeTo(map[string]channel.Ref{"EEG": slackA, "two": slackB}))
			return err
		}, []string{TopicOutbox}},
		{"ingest routing only pairs that have rows", func() error {
			_, err := other.IngestAndRoute(ctx, "arxiv2", []paper.Paper{p2}, nil, t0, routeTo(map[string]channel.Ref{"EEG": slackA}))
			return err
		}, nil},
		{"backfill", func() error {
			_, err := other.Enqueue(ctx, slackB, channel.KindBackfill, map[string][]string{p1.Key: nil}, t0)
			return err
		}, []string{TopicOutbox}},
		{"subscribe", func() (err error) {
			sub, err = other.AddSubscription(ctx, channel.Subscription{Channel: slackA, Query: "eeg", Canonical: "eeg", AddedAt: t0})
			return err
		}, []string{TopicSubscriptions}},
		{"duplicate subscription", func() error {
			_, err := other.AddSubscription(ctx, channel.Subscription{Channel: slackA, Query: "eeg", Canonical: "eeg", AddedAt: t0})
			if !errors.Is(err, channel.ErrDuplicate) {
				return fmt.Errorf("err = %w, want ErrDuplicate", err)
			}
			return nil
		}, nil},
		{"unsubscribe", func() error { return other.RemoveSubscription(ctx, slackA, sub.ID) }, []string{TopicSubscriptions}},
		{"configured channels", func() error {
			return other.SyncConfigChannels(ctx, []channel.ConfigChannel{{Ref: discordC, Subscriptions: []channel.Subscription{{Query: "snn", Canonical: "snn"}}}}, t0)
		}, []string{TopicSubscriptions}},
		{"same configuration again", func() error {
			return other.SyncConfigChannels(ctx, []channel.ConfigChannel{{Ref: discordC, Subscriptions: []channel.Subscription{{Query: "snn", Canonical: "snn"}}}}, t0)
		}, nil},
		{"digest mode", func() error {
			return other.SetChannelMode(ctx, channel.Channel{Ref: slackA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "UTC"}, t0)
		}, []string{TopicChannels}},
		{"digest mode of a new channel", func() error {
			return other.SetChannelMode(ctx, channel.Channel{Ref: channel.Ref{Platform: "slack", ID: "NEW"}, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "UTC"}, t0)
		}, []string{TopicChannels}},
		{"same mode again", func() error {
			return other.SetChannelMode(ctx, channel.Channel{Ref: slackA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "UTC"}, t0)
		}, nil},
		{"block", func() error { return other.BlockChannel(ctx, slackB, "missing access", t0) }, []string{TopicChannels}},
		{"unblock", func() error { return other.BlockChannel(ctx, slackB, "", t0) }, []string{TopicChannels}},
		{"claim and release", func() error {
			if _, err := other.Claim(ctx, slackA, "me", t0, time.Minute); err != nil {
				return err
			}
			if _, err := other.ClaimSource(ctx, "arxiv", "me", t0, time.Minute); err != nil {
				return err
			}
			return other.Release(ctx, slackA, "me")
		}, nil},
		{"digest sent and rows marked", func() error {
			items, err := other.Unsent(ctx, slackA, channel.KindMatch, []string{channel.StatePending}, 0)
			if err != nil || len(items) == 0 {
				return fmt.Errorf("Unsent = %v, %w", items, err)
			}
			if err := other.MarkSent(ctx, []int64{items[0].ID}, "m1", t0); err != nil {
				return err
			}
			return other.SetLastDigest(ctx, slackA, t0)
		}, nil},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := l.collect(t); !slices.Equal(got, st.want) {
			t.Errorf("%s: notified %q, want %q", st.name, got, st.want)
		}
	}
}

// TestListenReconnects cuts Listen's connection from the server side: it reconnects, replays every topic (the
// notifications sent while it was away are lost), and delivers again.
func TestListenReconnects(t *testing.T) {
	t.Parallel()
	app := fmt.Sprintf("paperboy-test-%d", rand.Uint64())
	u := withParam(t, newSchema(t), "application_name", app)
	logs := &logSink{}
	s, err := Open(t.Context(), u, WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	l := startListening(t, s)
	for round := range 2 {
		var killed int
		if err := s.pool.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
			app+" (listen)").Scan(&killed); err != nil || killed != 1 {
			t.Fatalf("round %d: terminated %d listening backends, %v", round, killed, err)
		}
		var replayed []string
		for len(replayed) < 3 {
			select {
			case topic := <-l.topics:
				replayed = append(replayed, topic)
			case <-t.Context().Done():
				t.Fatalf("round %d: no replay after the reconnection, got %q", round, replayed)
			}
		}
		if want := []string{TopicOutbox, TopicSubscriptions, TopicChannels}; !slices.Equal(replayed, want) {
			t.Errorf("round %d: replayed %q, want %q", round, replayed, want)
		}
		l.notify(t, TopicOutbox)
		if got := l.collect(t); !slices.Equal(got, []string{TopicOutbox}) {
			t.Errorf("round %d: after the reconnection got %q", round, got)
		}
	}
	if !logs.has("notification connection lost") {
		t.Error("the lost connection was not logged")
	}
}

// TestListenUntilCancelled points Listen at a server that refuses connections: it keeps retrying, logging each
// failure, and returns nil when its context ends.
func TestListenUntilCancelled(t *testing.T) {
	t.Parallel()
	logs := &logSink{warned: make(chan struct{}, 100)}
	s, _ := openTest(t)
	s.logger = slog.New(logs)
	s.listenConfig = s.listenConfig.Copy()
	s.listenConfig.Host, s.listenConfig.Port, s.listenConfig.Fallbacks = "127.0.0.1", 1, nil
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Listen(ctx, func(string) { t.Error("a notification without a connection") }) }()
	for range 2 {
		<-logs.warned
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Listen = %v, want nil", err)
	}
	if !logs.has("connection refused") {
		t.Errorf("the failure was not logged with its cause")
	}
}

// logSink is an slog handler that keeps messages and their err attribute.
type logSink struct {
	mu     sync.Mutex
	lines  []string
	warned chan struct{}
}

func (h *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (h *logSink) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logSink) WithGroup(string) slog.Handler            { return h }
func (h *logSink) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.Key + "=" + a.Value.String()
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, line)
	h.mu.Unlock()
	if r.Level == slog.LevelWarn && h.warned != nil {
		h.warned <- struct{}{}
	}
	return nil
}

func (h *logSink) has(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.lines, func(l string) bool { return strings.Contains(l, s) })
}
