package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/sources"
)

// memStore is an in-memory Store for one instant channel's pending rows; failAttempt makes RecordAttempt fail.
type memStore struct {
	mu          sync.Mutex
	items       []channel.OutboxItem
	sent        map[int64]string
	attempts    map[int64]int
	lease       string
	failAttempt error
}

func (m *memStore) Work(context.Context) ([]channel.Work, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.items) == len(m.sent) {
		return nil, nil
	}
	ch := m.items[0].Channel
	return []channel.Work{{Channel: channel.Channel{Ref: ch, Mode: channel.ModeInstant}, Pending: len(m.items) - len(m.sent)}}, nil
}

func (m *memStore) Claim(_ context.Context, _ channel.Ref, owner string, _ time.Time, _ time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lease != "" && m.lease != owner {
		return false, nil
	}
	m.lease = owner
	return true, nil
}

func (m *memStore) Release(_ context.Context, _ channel.Ref, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lease == owner {
		m.lease = ""
	}
	return nil
}

func (m *memStore) Unsent(_ context.Context, _ channel.Ref, kind string, states []string, limit int) ([]channel.OutboxItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []channel.OutboxItem
	for _, it := range m.items {
		if _, done := m.sent[it.ID]; !done && it.Kind == kind && states[0] == channel.StatePending && len(states) == 1 {
			out = append(out, it)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memStore) MarkSent(_ context.Context, ids []int64, msgID string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		m.sent[id] = msgID
	}
	return nil
}

func (m *memStore) RecordAttempt(_ context.Context, ids []int64, _ error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		m.attempts[id]++
	}
	return m.failAttempt
}

func (m *memStore) MarkFailed(context.Context, []int64, error, time.Time) error   { return nil }
func (m *memStore) MarkRejected(context.Context, []int64, error, time.Time) error { return nil }
func (m *memStore) Retries(context.Context, channel.Ref, time.Time, int) ([]channel.OutboxItem, error) {
	return nil, nil
}
func (m *memStore) MarkOverflow(context.Context, []int64) error                        { return nil }
func (m *memStore) MessagesSince(context.Context, channel.Ref, time.Time) (int, error) { return 0, nil }
func (m *memStore) SetLastDigest(context.Context, channel.Ref, time.Time) error        { return nil }
func (m *memStore) BlockChannel(context.Context, channel.Ref, string, time.Time) error { return nil }
func (m *memStore) OutboxDepth(context.Context) (int, error)                           { return 0, nil }

// memStore holds one instant channel, which never has digest batches.
func (m *memStore) OpenBatch(context.Context, channel.Ref, string, string, []int64, time.Time) (int64, error) {
	return 0, errors.New("memStore: no digests")
}
func (m *memStore) OpenBatches(context.Context, channel.Ref) ([]channel.Batch, error) {
	return nil, nil
}

func (m *memStore) MarkSending(_ context.Context, ids []int64, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.items {
		if slices.Contains(ids, m.items[i].ID) {
			m.items[i].SendingAt = at
		}
	}
	return nil
}

var _ Store = (*memStore)(nil)

// flakyPlatform fails its first failures sends with a retryable error.
type flakyPlatform struct {
	failures int
	calls    int
}

func (p *flakyPlatform) Name() string { return "slack" }

func (p *flakyPlatform) Send(context.Context, bot.Message) (string, error) {
	p.calls++
	if p.calls <= p.failures {
		return "", errors.New("503 service unavailable")
	}
	return "m1", nil
}

func newTestSender(t *testing.T, st Store, plat bot.Platform, clock *testkit.Clock, log *slog.Logger) *Sender {
	t.Helper()
	s, err := NewSender(Options{Store: st, Owner: "me", Platforms: map[string]bot.Platform{"slack": plat}, Logger: log,
		Limits: map[string]Limits{"slack": {PerChannel: rate.Inf, Global: rate.Inf}}, Now: clock.Now,
		Backoff: sources.Backoff{Base: time.Minute, Max: time.Hour, Rand: func() float64 { return 1 }}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRecordAttemptFailureIsLogged: a failed send whose attempt cannot be recorded still backs off and retries,
// and the store error is logged instead of dropped.
func TestRecordAttemptFailureIsLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	st := &memStore{sent: map[int64]string{}, attempts: map[int64]int{}, failAttempt: errors.New("disk I/O error"),
		items: []channel.OutboxItem{{ID: 1, Channel: ch, Kind: channel.KindMatch, Paper: paper.Paper{Key: "arxiv:2601.00001", Title: "T"}}}}
	var logs bytes.Buffer
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	plat := &flakyPlatform{failures: 1}
	s := newTestSender(t, st, plat, clock, slog.New(slog.NewTextHandler(&logs, nil)))

	if err := s.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "record failed attempt") || !strings.Contains(logs.String(), "disk I/O error") {
		t.Errorf("the RecordAttempt error was not logged:\n%s", logs.String())
	}
	if len(st.sent) != 0 {
		t.Fatal("sent despite the failure")
	}
	// Within the backoff nothing is retried; after it, the paper goes out once and the lease is given back.
	if err := s.DeliverDue(ctx); err != nil || plat.calls != 1 {
		t.Fatalf("retried within the backoff: %d calls, %v", plat.calls, err)
	}
	clock.Add(2 * time.Minute)
	if err := s.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if st.sent[1] != "m1" || plat.calls != 2 || st.lease != "" {
		t.Errorf("after the backoff: sent %v, %d calls, lease %q; want sent once as m1 and the lease released", st.sent, plat.calls, st.lease)
	}
}

// authPlatform refuses the bot's token on its first failures sends.
type authPlatform struct {
	failures int
	calls    int
}

func (p *authPlatform) Name() string { return "slack" }

func (p *authPlatform) Send(context.Context, bot.Message) (string, error) {
	p.calls++
	if p.calls <= p.failures {
		return "", fmt.Errorf("%w (invalid_auth); fix SLACK_BOT_TOKEN", bot.ErrAuth)
	}
	return "m1", nil
}

// TestRefusedTokenIsAnError: a token the platform refuses is an outage an operator must fix: logged at ERROR (not
// WARN like a transient failure), and still retried with backoff, so that a fixed token resumes delivery.
func TestRefusedTokenIsAnError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	st := &memStore{sent: map[int64]string{}, attempts: map[int64]int{},
		items: []channel.OutboxItem{{ID: 1, Channel: ch, Kind: channel.KindMatch, Paper: paper.Paper{Key: "arxiv:2601.00001", Title: "T"}}}}
	var logs bytes.Buffer
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	plat := &authPlatform{failures: 1}
	s := newTestSender(t, st, plat, clock, slog.New(slog.NewTextHandler(&logs, nil)))

	if err := s.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	line := ""
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "invalid_auth") {
			line = l
		}
	}
	if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "SLACK_BOT_TOKEN") {
		t.Errorf("the refused token was not logged at ERROR with the variable to fix:\n%s", logs.String())
	}
	if len(st.sent) != 0 || st.attempts[1] != 1 {
		t.Fatalf("sent %v, %d attempts recorded; want none sent and one attempt", st.sent, st.attempts[1])
	}
	clock.Add(2 * time.Minute)
	if err := s.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if st.sent[1] != "m1" || plat.calls != 2 {
		t.Errorf("after the backoff: sent %v, %d calls; want it sent on the retry", st.sent, plat.calls)
	}
}

// TestLeaseHeldElsewhere: a channel another sender holds is left alone until its lease is released.
func TestLeaseHeldElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	st := &memStore{sent: map[int64]string{}, attempts: map[int64]int{}, lease: "someone-else",
		items: []channel.OutboxItem{{ID: 1, Channel: ch, Kind: channel.KindMatch, Paper: paper.Paper{Key: "arxiv:2601.00001", Title: "T"}}}}
	plat := &flakyPlatform{}
	s := newTestSender(t, st, plat, testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), nil)
	if err := s.DeliverDue(ctx); err != nil || plat.calls != 0 {
		t.Fatalf("sent to a channel leased elsewhere: %d calls, %v", plat.calls, err)
	}
	st.lease = ""
	if err := s.DeliverDue(ctx); err != nil || plat.calls != 1 || st.sent[1] == "" {
		t.Fatalf("after the release: %d calls, sent %v, %v", plat.calls, st.sent, err)
	}
}

// countPeers reports a fixed number of live senders.
type countPeers struct{ n int }

func (c countPeers) Heartbeat(context.Context, string, time.Time, time.Duration) (int, error) {
	return c.n, nil
}

func (c countPeers) Leave(context.Context, string) error { return nil }

// TestPeersSplitTheGlobalLimit: with three live instances each keeps to a third of a platform's global limit.
func TestPeersSplitTheGlobalLimit(t *testing.T) {
	t.Parallel()
	s, err := NewSender(Options{Store: &memStore{}, Owner: "me", Peers: countPeers{3},
		Limits: map[string]Limits{"discord": {PerChannel: 1, ChannelBurst: 5, Global: 42, GlobalBurst: 9}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.GlobalLimit("discord"); got != 42 {
		t.Fatalf("before any heartbeat: %v, want the whole 42/s", got)
	}
	ctx := context.Background()
	if err := s.waitLimits(ctx, channel.Ref{Platform: "discord", ID: "1"}); err != nil { // creates the limiter
		t.Fatal(err)
	}
	s.heartbeat(ctx)
	if got := s.GlobalLimit("discord"); got != 14 {
		t.Errorf("with 3 instances: %v/s, want 14", got)
	}
	s.mu.Lock()
	lim := s.platLim["discord"]
	s.mu.Unlock()
	if lim.Limit() != 14 || lim.Burst() != 3 {
		t.Errorf("limiter at %v/s burst %d, want 14/s burst 3", lim.Limit(), lim.Burst())
	}
}

// TestInFlightRows: a send is recorded as in flight before the platform is asked and cleared when it fails, and a
// row a dead process left in flight is sent again with a warning that the platform may show it twice.
func TestInFlightRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	crashed := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	st := &memStore{sent: map[int64]string{}, attempts: map[int64]int{}, items: []channel.OutboxItem{
		{ID: 1, Channel: ch, Kind: channel.KindMatch, Paper: paper.Paper{Key: "arxiv:2601.00001", Title: "T1"}},
		{ID: 2, Channel: ch, Kind: channel.KindMatch, Paper: paper.Paper{Key: "arxiv:2601.00002", Title: "T2"}, SendingAt: crashed},
	}}
	var logs bytes.Buffer
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	plat := &flakyPlatform{failures: 1}
	s := newTestSender(t, st, plat, clock, slog.New(slog.NewTextHandler(&logs, nil)))

	// Row 1's send fails: it was marked in flight, then cleared.
	if err := s.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if plat.calls != 1 || !st.items[0].SendingAt.IsZero() {
		t.Fatalf("after a failed send: %d calls, row 1 in flight since %v; want 1 call and the mark cleared", plat.calls, st.items[0].SendingAt)
	}
	if strings.Contains(logs.String(), "in flight when") {
		t.Fatalf("warned about a row no process left in flight:\n%s", logs.String())
	}
	clock.Add(2 * time.Minute)
	if err := s.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if st.sent[1] == "" || st.sent[2] == "" {
		t.Fatalf("sent %v, want both rows", st.sent)
	}
	if !st.items[1].SendingAt.Equal(clock.Now()) {
		t.Errorf("row 2 in flight since %v, want its last send's start %v", st.items[1].SendingAt, clock.Now())
	}
	out := logs.String()
	if n := strings.Count(out, "in flight when"); n != 1 || !strings.Contains(out, "paper=arxiv:2601.00002") {
		t.Errorf("want one warning, about row 2 (left in flight by a dead process); logs:\n%s", out)
	}
}
