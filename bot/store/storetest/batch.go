package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

var batchCases = []testCase{
	{"a batch holds the rows it was opened with", testBatchRows},
	{"stale rows open no batch", testBatchStale},
	{"rows move to a new batch when a digest is split", testBatchSplit},
	{"a digest interrupted before its record is sent again as it was", testBatchResend},
	{"rows in flight are marked and cleared", testInFlight},
	{"a re-queued set-aside row leaves its digest batch", testBatchRequeue},
	{"a resent daily digest is the day's digest", testBatchResendDaily},
}

func openBatch(t *testing.T, s Store, ch channel.Ref, kind, title string, items []channel.OutboxItem, at time.Time) int64 {
	t.Helper()
	id, err := s.OpenBatch(t.Context(), ch, kind, title, itemIDs(items), at)
	if err != nil {
		t.Fatalf("OpenBatch(%s, %v): %v", ch, itemKeys(items), err)
	}
	return id
}

func openBatches(t *testing.T, s Store, ch channel.Ref) []channel.Batch {
	t.Helper()
	bs, err := s.OpenBatches(t.Context(), ch)
	if err != nil {
		t.Fatalf("OpenBatches(%s): %v", ch, err)
	}
	return bs
}

// batchSummary is a batch without its rows' papers, for comparisons.
func batchSummary(b channel.Batch) string {
	return fmt.Sprintf("%d %s %s %q %v", b.ID, b.Channel, b.Kind, b.Title, itemKeys(b.Items))
}

func testBatchRows(t *testing.T, s Store) {
	papers := []paper.Paper{simple("2609.00001", t0.Add(-time.Hour)), simple("2609.00002", t0.Add(-3*time.Hour)),
		simple("2609.00003", t0.Add(-2*time.Hour))}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(slackA, slackB).route)
	if bs := openBatches(t, s, slackA); len(bs) != 0 {
		t.Fatalf("batches before any was opened: %v", bs)
	}
	items := pending(t, s, slackA)
	id := openBatch(t, s, slackA, channel.BatchDaily, "Daily digest: 3 new matching papers", items, at(1))
	other := openBatch(t, s, slackB, channel.BatchOverflow, "overflow", pending(t, s, slackB)[:1], at(1))
	if other == id {
		t.Errorf("two batches share id %d", id)
	}
	// A paper arriving after the batch was opened waits for the next one.
	late := simple("2609.00004", t0.Add(-4*time.Hour))
	mustRoute(t, s, "arxiv", []paper.Paper{late}, at(2), routeAll(slackA).route)
	want := channel.Batch{ID: id, Channel: slackA, Kind: channel.BatchDaily, Title: "Daily digest: 3 new matching papers", Items: items}
	bs := openBatches(t, s, slackA)
	if len(bs) != 1 || batchSummary(bs[0]) != batchSummary(want) {
		t.Fatalf("OpenBatches = %v, want [%s]", bs, batchSummary(want))
	}
	for i, it := range bs[0].Items {
		if jsonOf(t, it) != jsonOf(t, items[i]) {
			t.Errorf("batched row:\n got %s\nwant %s", jsonOf(t, it), jsonOf(t, items[i]))
		}
	}
	// The batch's rows are still unsent rows of the channel (Work and depth count them), next to the late one.
	if got := itemKeys(pending(t, s, slackA)); !slices.Equal(got, []string{late.Key, papers[1].Key, papers[2].Key, papers[0].Key}) {
		t.Errorf("pending rows = %v", got)
	}
	// A batch stays open while any of its rows is unsent.
	check(t, s.MarkSent(t.Context(), itemIDs(items[:1]), "m1", at(3)), "MarkSent")
	if bs := openBatches(t, s, slackA); len(bs) != 1 || !slices.Equal(itemKeys(bs[0].Items), itemKeys(items[1:])) {
		t.Errorf("after one row was sent: %v, want the other two rows", bs)
	}
	check(t, s.MarkFailed(t.Context(), itemIDs(items[1:2]), errors.New("invalid_blocks"), at(3)), "MarkFailed")
	check(t, s.MarkSent(t.Context(), itemIDs(items[2:]), "m2", at(3)), "MarkSent")
	if bs := openBatches(t, s, slackA); len(bs) != 0 {
		t.Errorf("a batch without unsent rows is still open: %v", bs)
	}
	if bs := openBatches(t, s, slackB); len(bs) != 1 || bs[0].ID != other || bs[0].Kind != channel.BatchOverflow || len(bs[0].Items) != 1 {
		t.Errorf("the other channel's batch = %v", bs)
	}
}

func testBatchStale(t *testing.T, s Store) {
	papers := []paper.Paper{simple("2609.00001", t0.Add(-2*time.Hour)), simple("2609.00002", t0.Add(-time.Hour))}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(slackA, slackB).route)
	a, b := pending(t, s, slackA), pending(t, s, slackB)
	check(t, s.MarkSent(t.Context(), itemIDs(a[:1]), "m1", at(1)), "MarkSent")
	cases := []struct {
		name  string
		items []channel.OutboxItem
	}{
		{"a sent row", a},
		{"another channel's row", append(slices.Clone(a[1:]), b[0])},
		{"an unknown row", append(slices.Clone(a[1:]), channel.OutboxItem{ID: a[1].ID + b[1].ID + 1000})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.OpenBatch(t.Context(), slackA, channel.BatchBackfill, "Backfill", itemIDs(c.items), at(2))
			if !errors.Is(err, channel.ErrBatchStale) {
				t.Errorf("OpenBatch = %v, want ErrBatchStale", err)
			}
			if bs := openBatches(t, s, slackA); len(bs) != 0 {
				t.Errorf("a refused batch was stored: %v", bs)
			}
		})
	}
}

func testBatchSplit(t *testing.T, s Store) {
	var papers []paper.Paper
	for i := range 4 {
		papers = append(papers, simple(fmt.Sprintf("2609.0000%d", i+1), t0.Add(time.Duration(i)*time.Minute)))
	}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(discordC).route)
	items := pending(t, s, discordC)
	first := openBatch(t, s, discordC, channel.BatchBackfill, "Backfill: 4 matching papers", items, at(1))
	second := openBatch(t, s, discordC, channel.BatchBackfill, "Backfill: 4 matching papers", items[:2], at(1))
	if second == first {
		t.Fatalf("the split batch has the first one's id %d", first)
	}
	bs := openBatches(t, s, discordC)
	if len(bs) != 2 || bs[0].ID != min(first, second) || bs[1].ID != max(first, second) {
		t.Fatalf("OpenBatches = %v, want batches %d and %d, oldest first", bs, first, second)
	}
	got := map[int64][]string{bs[0].ID: itemKeys(bs[0].Items), bs[1].ID: itemKeys(bs[1].Items)}
	if !slices.Equal(got[first], itemKeys(items[2:])) || !slices.Equal(got[second], itemKeys(items[:2])) {
		t.Errorf("rows by batch = %v, want %d: %v and %d: %v", got, first, itemKeys(items[2:]), second, itemKeys(items[:2]))
	}
}

// crashingStore fails MarkSent while crashed is set: the digest reached the platform, and the process died before
// recording it.
type crashingStore struct {
	Store
	crashed bool
}

var errCrashed = errors.New("the process died here")

func (c *crashingStore) MarkSent(ctx context.Context, ids []int64, msgID string, at time.Time) error {
	if c.crashed {
		return errCrashed
	}
	return c.Store.MarkSent(ctx, ids, msgID, at)
}

// noncePlatform records the messages it gets, and like Discord with enforce_nonce posts a message whose nonce it
// has seen only once.
type noncePlatform struct {
	mu     sync.Mutex
	got    []bot.Message
	posted map[string]string // nonce -> message id
}

func (p *noncePlatform) Name() string { return discordC.Platform }

func (p *noncePlatform) Send(_ context.Context, msg bot.Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, msg)
	if id, ok := p.posted[msg.Nonce]; ok {
		return id, nil
	}
	id := fmt.Sprintf("m%d", len(p.posted)+1)
	p.posted[msg.Nonce] = id
	return id, nil
}

func cardKeys(m bot.Message) []string {
	var out []string
	for _, c := range m.Cards {
		out = append(out, c.Paper.Key)
	}
	slices.Sort(out)
	return out
}

func testBatchResend(t *testing.T, s Store) {
	var papers []paper.Paper
	for i := range 5 {
		papers = append(papers, simple(fmt.Sprintf("2609.0000%d", i+1), t0.Add(time.Duration(i)*time.Minute)))
	}
	mustIngest(t, s, "arxiv", papers, nil, at(0))
	backfill := func(ps ...paper.Paper) {
		m := map[string][]string{}
		for _, p := range ps {
			m[p.Key] = []string{"cs.LG"}
		}
		if _, err := s.Enqueue(t.Context(), discordC, channel.KindBackfill, m, at(1)); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	plat := &noncePlatform{posted: map[string]string{}}
	cs := &crashingStore{Store: s, crashed: true}
	newSender := func(st delivery.Store) *delivery.Sender {
		e, err := delivery.NewSender(delivery.Options{Store: st, Owner: "batch-check",
			Platforms: map[string]bot.Platform{discordC.Platform: plat},
			Limits:    map[string]delivery.Limits{discordC.Platform: {PerChannel: rate.Inf, ChannelBurst: 1, Global: rate.Inf, GlobalBurst: 1}},
			Now:       func() time.Time { return at(2) }, DigestCards: 100})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	backfill(papers[:3]...)
	if err := newSender(cs).DeliverDue(t.Context()); err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	if len(plat.got) != 1 || !slices.Equal(cardKeys(plat.got[0]), keysOf(papers[:3])) {
		t.Fatalf("before the crash the platform got %d messages, want the digest of %v", len(plat.got), keysOf(papers[:3]))
	}
	// The process died after the platform took the digest. More papers join the outbox; a new process sends the
	// interrupted digest again as it was (same papers, same nonce, so deduplicated), then the new papers.
	backfill(papers...)
	e := newSender(s)
	for range 3 {
		if err := e.DeliverDue(t.Context()); err != nil {
			t.Fatalf("DeliverDue: %v", err)
		}
	}
	if len(plat.got) != 3 {
		t.Fatalf("the platform got %d messages, want 3 (the digest, its resend, the new papers)", len(plat.got))
	}
	first, resend, next := plat.got[0], plat.got[1], plat.got[2]
	if resend.Nonce != first.Nonce || resend.Title != first.Title || !slices.Equal(cardKeys(resend), cardKeys(first)) {
		t.Errorf("resend = %q %q %v, want the interrupted digest %q %q %v", resend.Nonce, resend.Title, cardKeys(resend),
			first.Nonce, first.Title, cardKeys(first))
	}
	if next.Nonce == first.Nonce || !slices.Equal(cardKeys(next), keysOf(papers[3:])) {
		t.Errorf("next digest = %q %v, want a new nonce and only %v", next.Nonce, cardKeys(next), keysOf(papers[3:]))
	}
	if len(plat.posted) != 2 {
		t.Errorf("%d messages posted, want 2", len(plat.posted))
	}
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 0 {
		t.Errorf("OutboxDepth = %d, %v; want everything sent", n, err)
	}
}

func testInFlight(t *testing.T, s Store) {
	papers := []paper.Paper{simple("2609.00001", t0.Add(-2*time.Hour)), simple("2609.00002", t0.Add(-time.Hour))}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(slackA).route)
	items := pending(t, s, slackA)
	for _, it := range items {
		if !it.SendingAt.IsZero() {
			t.Fatalf("a new row is in flight since %v", it.SendingAt)
		}
	}
	check(t, s.MarkSending(t.Context(), itemIDs(items[1:]), at(1)), "MarkSending")
	openBatch(t, s, slackA, channel.BatchOverflow, "overflow", items, at(1))
	inFlight := func(items []channel.OutboxItem) []time.Time {
		out := []time.Time{}
		for _, it := range items {
			out = append(out, it.SendingAt.UTC())
		}
		return out
	}
	want := []time.Time{{}, at(1)}
	if got := inFlight(pending(t, s, slackA)); !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("Unsent in flight since %v, want %v", got, want)
	}
	if bs := openBatches(t, s, slackA); len(bs) != 1 || !slices.EqualFunc(inFlight(bs[0].Items), want, time.Time.Equal) {
		t.Errorf("OpenBatches = %v, want rows in flight since %v", bs, want)
	}
	check(t, s.MarkSending(t.Context(), itemIDs(items), time.Time{}), "MarkSending zero")
	if got := inFlight(pending(t, s, slackA)); !slices.EqualFunc(got, []time.Time{{}, {}}, time.Time.Equal) {
		t.Errorf("after clearing: in flight since %v, want never", got)
	}
	check(t, s.MarkSending(t.Context(), nil, at(2)), "MarkSending no rows")
}

// testBatchRequeue: a row of a split digest that was set aside, then re-queued (/papers retry, or a backfill of
// it), is a new pending row, not the rest of its old batch: otherwise the sender would resume that batch as an
// interrupted digest (its old title and nonce, at once rather than at the channel's digest time).
func testBatchRequeue(t *testing.T, s Store) {
	papers := []paper.Paper{simple("2609.00001", t0.Add(-2*time.Hour)), simple("2609.00002", t0.Add(-time.Hour))}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(slackA).route)
	items := pending(t, s, slackA)
	openBatch(t, s, slackA, channel.BatchDaily, "Daily digest: 2 new matching papers", items[:1], at(1))
	check(t, s.MarkFailed(t.Context(), itemIDs(items[:1]), errors.New("invalid_blocks"), at(1)), "MarkFailed")
	if bs := openBatches(t, s, slackA); len(bs) != 0 {
		t.Fatalf("OpenBatches with the row set aside = %v, want none", bs)
	}
	n, err := s.RequeueFailed(t.Context(), slackA)
	if err != nil || n != 1 {
		t.Fatalf("RequeueFailed = %d, %v; want 1", n, err)
	}
	if bs := openBatches(t, s, slackA); len(bs) != 0 {
		t.Errorf("OpenBatches after the re-queue = %v, want none: the row is pending on its own", bs)
	}
	if got := pending(t, s, slackA); len(got) != 2 {
		t.Errorf("pending after the re-queue: %v, want both rows", itemKeys(got))
	}
}

// testBatchResendDaily: a daily digest interrupted by a crash is resent after the restart as that day's digest;
// papers that arrived after it was opened wait for the next day's, as they would have without the crash (a
// second digest the same morning is what the stable batch identity is there to prevent).
func testBatchResendDaily(t *testing.T, s Store) {
	ctx := t.Context()
	check(t, s.SetChannelMode(ctx, channel.Channel{Ref: discordC, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "UTC"}, at(0)), "SetChannelMode")
	papers := []paper.Paper{simple("2609.00001", t0.Add(-2*time.Hour)), simple("2609.00002", t0.Add(-time.Hour)),
		simple("2609.00003", t0.Add(12*time.Hour))}
	mustRoute(t, s, "arxiv", papers[:2], at(0), routeAll(discordC).route)
	plat := &noncePlatform{posted: map[string]string{}}
	deliver := func(st delivery.Store, now time.Time) {
		t.Helper()
		e, err := delivery.NewSender(delivery.Options{Store: st, Owner: "batch-check",
			Platforms: map[string]bot.Platform{discordC.Platform: plat},
			Limits:    map[string]delivery.Limits{discordC.Platform: {PerChannel: rate.Inf, ChannelBurst: 1, Global: rate.Inf, GlobalBurst: 1}},
			Now:       func() time.Time { return now }, DigestCards: 100})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := e.DeliverDue(ctx); err != nil {
				t.Fatalf("DeliverDue: %v", err)
			}
		}
	}
	// at(13) is 09:00 UTC the next day: the digest is due; the process dies before recording it.
	deliver(&crashingStore{Store: s, crashed: true}, at(13))
	if len(plat.got) == 0 {
		t.Fatal("no digest at 09:00")
	}
	mustRoute(t, s, "arxiv", papers[2:], at(13).Add(time.Minute), routeAll(discordC).route)
	deliver(s, at(13).Add(5*time.Minute))
	var nonces []string
	for _, m := range plat.got {
		nonces = append(nonces, m.Nonce+" "+strings.Join(cardKeys(m), ","))
	}
	if len(plat.posted) != 1 || !slices.Equal(cardKeys(plat.got[len(plat.got)-1]), keysOf(papers[:2])) {
		t.Errorf("after the restart at 09:05 the platform got %v; want only the interrupted digest again", nonces)
	}
	// The next morning the paper of 09:01 gets its digest.
	deliver(s, at(37))
	if last := plat.got[len(plat.got)-1]; len(plat.posted) != 2 || !slices.Equal(cardKeys(last), keysOf(papers[2:])) {
		t.Errorf("the next morning the platform got %v, want the digest of %v", cardKeys(last), keysOf(papers[2:]))
	}
}
