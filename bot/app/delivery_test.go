package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/config"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/ingest"
	"github.com/paperboy-bot/paperboy/bot/store/postgres"
	"github.com/paperboy-bot/paperboy/bot/testkit"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

// fakePlatform records what it is asked to send; fail, if set, decides the outcome of each call.
type fakePlatform struct {
	mu    sync.Mutex
	calls int
	sent  []bot.Message
	fail  func(call int, msg bot.Message) error
}

func (f *fakePlatform) Name() string { return "slack" }

func (f *fakePlatform) Send(_ context.Context, msg bot.Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		if err := f.fail(f.calls, msg); err != nil {
			return "", err
		}
	}
	f.sent = append(f.sent, msg)
	return fmt.Sprintf("m%d", len(f.sent)), nil
}

// keys returns the paper keys sent to ch, in order, a digest's cards included.
func (f *fakePlatform) keys(ch channel.Ref) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.sent {
		if m.Channel == ch {
			for _, c := range m.Cards {
				out = append(out, c.Paper.Key)
			}
		}
	}
	return out
}

func (f *fakePlatform) messages() []bot.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

type engineFixture struct {
	t *testing.T
	// open opens another handle on the fixture's store (a restart, or another process).
	openStore func() Store
	st        Store
	router    *ingest.Router
	ing       *ingest.Ingester
	eng       *delivery.Sender
	plat      *fakePlatform
	clock     *testkit.Clock
}

// fixtureFunc builds a fixture on a fresh store of one backend.
type fixtureFunc func(t *testing.T) *engineFixture

// onEachStore runs test on the SQLite store and, when PAPERBOY_TEST_DATABASE_URL is set, on PostgreSQL: the
// delivery behaviour is the same on both.
func onEachStore(t *testing.T, test func(t *testing.T, newEngineFixture fixtureFunc)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, func(t *testing.T) *engineFixture {
			path := filepath.Join(t.TempDir(), "paperboy.db")
			return newFixture(t, func() Store {
				st, err := store.Open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				return st
			})
		})
	})
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv("PAPERBOY_TEST_DATABASE_URL")
		if base == "" {
			t.Skip("set PAPERBOY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run on PostgreSQL too")
		}
		test(t, func(t *testing.T) *engineFixture {
			u := pgSchema(t, base)
			return newFixture(t, func() Store {
				st, err := postgres.Open(context.Background(), u)
				if err != nil {
					t.Fatal(err)
				}
				return st
			})
		})
	})
}

// pgSchema creates an empty schema for one test, dropped when it ends, and returns base with it as search_path.
func pgSchema(t *testing.T, base string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := pgx.Identifier{"paperboy_app_" + hex.EncodeToString(b[:])}.Sanitize()
	exec := func(sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatalf("connect to %s: %v", config.RedactURL(base), err)
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE SCHEMA " + name)
	t.Cleanup(func() { exec("DROP SCHEMA " + name + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", strings.Trim(name, `"`))
	u.RawQuery = q.Encode()
	return u.String()
}

func newFixture(t *testing.T, open func() Store) *engineFixture {
	t.Helper()
	f := &engineFixture{t: t, openStore: open, plat: &fakePlatform{},
		clock: testkit.NewClock(time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC))}
	f.open()
	return f
}

// open (re)opens the store and builds a fresh engine on it, as a restart would.
func (f *engineFixture) open() {
	f.t.Helper()
	if f.st != nil {
		_ = f.st.Close()
	}
	st := f.openStore()
	f.t.Cleanup(func() { _ = st.Close() })
	f.st = st
	f.newSender()
	f.router = ingest.NewRouter(st, nil)
	f.ing = ingest.NewIngester(st, f.router, nil, f.eng.Enqueued)
	if err := f.router.Load(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// newSender builds the sender on the current store, with the fixture's options changed by tune.
func (f *engineFixture) newSender(tune ...func(o *delivery.Options)) {
	f.t.Helper()
	o := delivery.Options{Store: f.st, Owner: "test", Platforms: map[string]bot.Platform{"slack": f.plat},
		Now: f.clock.Now, Limits: map[string]delivery.Limits{"slack": {PerChannel: rate.Inf, Global: rate.Inf}},
		Backoff: sources.Backoff{Base: time.Minute, Max: time.Hour, Rand: func() float64 { return 1 }}}
	for _, fn := range tune {
		fn(&o)
	}
	var err error
	if f.eng, err = delivery.NewSender(o); err != nil {
		f.t.Fatal(err)
	}
	if f.router != nil {
		f.ing = ingest.NewIngester(f.st, f.router, nil, f.eng.Enqueued)
	}
}

func (f *engineFixture) subscribe(ch channel.Ref, query string) {
	f.t.Helper()
	q, err := filters.Parse(query)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.st.AddSubscription(context.Background(), channel.Subscription{Channel: ch, Query: query, Canonical: q.String(), AddedAt: f.clock.Now()}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.router.ReloadChannel(context.Background(), ch); err != nil {
		f.t.Fatal(err)
	}
}

func (f *engineFixture) ingest(source string, ps ...paper.Paper) paper.IngestResult {
	f.t.Helper()
	res, err := f.ing.Ingest(context.Background(), source, ps, nil, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *engineFixture) deliver() {
	f.t.Helper()
	if err := f.eng.DeliverDue(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

var (
	chA = channel.Ref{Platform: "slack", ID: "CA"}
	chB = channel.Ref{Platform: "slack", ID: "CB"}
)

// arxivPaper is one arXiv paper as a source of the given kind would deliver it.
func arxivPaper(id string, v int, at paper.AnnounceType, cats []string, title string) paper.Paper {
	p := paper.Paper{ArxivID: id, Version: v, AnnounceType: at, Categories: cats, Title: title,
		Abstract: "We study electroencephalography with transformers.", URL: "https://arxiv.org/abs/" + id,
		Published: time.Date(2026, 3, 26, 0, 0, 0, 0, time.UTC)}
	p.Key = paper.KeyOf(p)
	return p
}

// TestOncePerChannel follows one paper through Hugging Face, two arXiv category feeds (new and cross), a later
// replace and a restart: each matching channel gets exactly one card, and a channel whose two subscriptions both
// match gets one card listing both.
func testOncePerChannel(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	f.subscribe(chA, "eeg")
	f.subscribe(chA, "transformer")
	f.subscribe(chB, "cat:stat.ML")
	title := "EEG foundation models"

	hf := arxivPaper("2603.01234", 1, "", nil, title)
	hf.HasHF, hf.Upvotes = true, 3
	f.ingest("hf", hf)
	f.ingest("arxiv-cs", arxivPaper("2603.01234", 1, paper.AnnounceNew, []string{"cs.LG"}, title))
	// The cross-list into stat.ML is the first time chB's subscription matches: it is new for chB only.
	f.ingest("arxiv-stat", arxivPaper("2603.01234", 1, paper.AnnounceCross, []string{"stat.ML"}, title))
	f.deliver()
	f.ingest("arxiv-cs", arxivPaper("2603.01234", 2, paper.AnnounceReplace, []string{"cs.LG", "stat.ML"}, title+" (v2)"))
	f.open() // restart
	f.ingest("arxiv-cs", arxivPaper("2603.01234", 1, paper.AnnounceNew, []string{"cs.LG"}, title))
	f.ingest("arxiv-stat", arxivPaper("2603.01234", 2, paper.AnnounceReplaceCross, []string{"stat.ML"}, title))
	f.deliver()

	if got := f.plat.keys(chA); !slices.Equal(got, []string{"arxiv:2603.01234"}) {
		t.Errorf("channel A got %v, want the paper once", got)
	}
	if got := f.plat.keys(chB); !slices.Equal(got, []string{"arxiv:2603.01234"}) {
		t.Errorf("channel B got %v, want the paper once", got)
	}
	for _, m := range f.plat.messages() {
		if m.Channel == chA && !slices.Equal(m.Cards[0].Matched, []string{"eeg", "transformer"}) {
			t.Errorf("channel A's card says matched %v, want both subscriptions' terms", m.Cards[0].Matched)
		}
	}
}

// TestNewSubscriptionDoesNotFlood checks that a subscription applies to papers ingested after it: an older paper
// updated later (upvotes growing) is not announced to it, while a paper ingested afterwards is.
func testNewSubscriptionDoesNotFlood(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	old := arxivPaper("2603.00001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG decoding at scale")
	old.HasHF, old.Upvotes = true, 1
	f.ingest("hf", old)
	f.clock.Add(time.Hour)
	f.subscribe(chA, "eeg")
	f.clock.Add(time.Hour)
	old.Upvotes = 50
	f.ingest("hf", old)
	f.ingest("arxiv", arxivPaper("2603.00002", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG after the subscription"))
	f.deliver()
	if got := f.plat.keys(chA); !slices.Equal(got, []string{"arxiv:2603.00002"}) {
		t.Errorf("got %v, want only the paper ingested after subscribing", got)
	}
}

func testDeliveryOrderAndFaults(t *testing.T, newEngineFixture fixtureFunc) {
	newBatch := func(n int) []paper.Paper {
		var ps []paper.Paper
		for i := range n {
			p := arxivPaper(fmt.Sprintf("2603.%05d", i), 1, paper.AnnounceNew, []string{"cs.LG"}, fmt.Sprintf("EEG paper %d", i))
			p.Published = time.Date(2026, 3, 1+i, 0, 0, 0, 0, time.UTC)
			ps = append(ps, p)
		}
		slices.Reverse(ps) // the feed lists newest first; delivery must still go oldest first
		return ps
	}
	wantOrder := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("arxiv:2603.%05d", i))
		}
		return out
	}

	t.Run("429 is waited out, nothing sent before Retry-After, then everything once", func(t *testing.T) {
		f := newEngineFixture(t)
		var callTimes []time.Time
		f.plat.fail = func(call int, _ bot.Message) error {
			callTimes = append(callTimes, f.clock.Now())
			if call == 2 {
				return &bot.RateLimitError{RetryAfter: 30 * time.Second}
			}
			return nil
		}
		f.subscribe(chA, "eeg")
		f.ingest("arxiv", newBatch(3)...)
		start := f.clock.Now()
		f.deliver() // sends 1, is limited on 2
		f.clock.Add(29 * time.Second)
		f.deliver() // still inside the wait: no request
		if len(callTimes) != 2 {
			t.Fatalf("%d requests by %s, want 2 (none during the Retry-After wait)", len(callTimes), f.clock.Now().Sub(start))
		}
		f.clock.Add(2 * time.Second)
		f.deliver()
		if got := f.plat.keys(chA); !slices.Equal(got, wantOrder(3)) {
			t.Errorf("delivered %v, want %v", got, wantOrder(3))
		}
	})

	t.Run("platform down for a while gets everything in order when it returns", func(t *testing.T) {
		f := newEngineFixture(t)
		down := true
		f.plat.fail = func(int, bot.Message) error {
			if down {
				return errors.New("502 bad gateway")
			}
			return nil
		}
		f.subscribe(chA, "eeg")
		f.ingest("arxiv", newBatch(5)...)
		for range 10 {
			f.deliver()
			f.clock.Add(30 * time.Minute)
		}
		if n := len(f.plat.keys(chA)); n != 0 {
			t.Fatalf("sent %d while down", n)
		}
		calls := f.plat.calls
		if calls > 10 {
			t.Errorf("%d attempts in 10 passes: retries are not backing off", calls)
		}
		down = false
		f.clock.Add(2 * time.Hour)
		f.deliver()
		if got := f.plat.keys(chA); !slices.Equal(got, wantOrder(5)) {
			t.Errorf("after recovery delivered %v, want %v", got, wantOrder(5))
		}
	})

	t.Run("a channel the bot lost stops, keeps its papers, and resumes after a command", func(t *testing.T) {
		f := newEngineFixture(t)
		gone := true
		f.plat.fail = func(_ int, m bot.Message) error {
			if gone && m.Channel == chA {
				return &bot.PermanentError{Reason: "channel_not_found"}
			}
			return nil
		}
		f.subscribe(chA, "eeg")
		f.subscribe(chB, "eeg")
		f.ingest("arxiv", newBatch(2)...)
		f.deliver()
		f.clock.Add(time.Hour)
		f.deliver()
		if f.plat.calls != 3 {
			t.Errorf("%d sends, want 1 failed to A and 2 to B, then no retries to A", f.plat.calls)
		}
		if got := f.plat.keys(chB); !slices.Equal(got, wantOrder(2)) {
			t.Errorf("channel B got %v", got)
		}
		c := &command.Commander{Store: f.st, Now: f.clock.Now}
		r, err := c.Handle(context.Background(), bot.Request{Channel: channel.Ref{Platform: "slack", ID: "CB"}, Text: "sources"})
		if err != nil || !strings.Contains(strings.Join(r.Text, "\n"), "1 channel cannot receive posts") {
			t.Errorf("status does not say channel A is stopped: %q %v", r.Text, err)
		}
		gone = false
		if _, err := c.Handle(context.Background(), bot.Request{Channel: chA, Text: "help"}); err != nil {
			t.Fatal(err)
		}
		f.deliver()
		if got := f.plat.keys(chA); !slices.Equal(got, wantOrder(2)) {
			t.Errorf("after the bot is back, channel A got %v", got)
		}
	})
}

// TestRejectedMessageDoesNotBlockTheChannel: while a payload the platform refuses as malformed waits for its
// retries, the channel's next papers go out; it is neither retried forever (set aside after its last, reduced try)
// nor does it stop the channel.
func testRejectedMessageDoesNotBlockTheChannel(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	f.plat.fail = func(_ int, m bot.Message) error {
		if m.Cards[0].Paper.Key == "arxiv:2603.40001" {
			return fmt.Errorf("post: %w: invalid_blocks", bot.ErrRejected)
		}
		return nil
	}
	f.subscribe(chA, "eeg")
	bad := arxivPaper("2603.40001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG with a payload Slack refuses")
	bad.Published = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) // oldest: first in line
	good := arxivPaper("2603.40002", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG that posts fine")
	f.ingest("arxiv", bad, good)
	f.deliver()
	if got := f.plat.keys(chA); !slices.Equal(got, []string{"arxiv:2603.40002"}) {
		t.Errorf("delivered %v, want the good paper despite the rejected one before it", got)
	}
	for range 10 {
		f.clock.Add(time.Hour)
		f.deliver()
	}
	if want := 2 + len(delivery.RejectRetryDelays); f.plat.calls != want {
		t.Errorf("%d sends, want %d: the rejected message is retried a bounded number of times", f.plat.calls, want)
	}
	if depth, _ := f.st.OutboxDepth(context.Background()); depth != 0 {
		t.Errorf("outbox depth %d, want 0", depth)
	}
	if ch, _ := f.st.Channel(context.Background(), chA); ch.Blocked != "" {
		t.Errorf("channel blocked (%q) by a bad message", ch.Blocked)
	}
}

// TestRejectedDigestIsSplit: when the platform refuses a digest, the papers it can take still go out, and only the
// refused one waits: it is retried on its own, as a card, which the platform takes.
func testRejectedDigestIsSplit(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	f.plat.fail = func(_ int, m bot.Message) error {
		for _, c := range m.Cards {
			if c.Paper.Key == "arxiv:2603.70003" && m.Digest {
				return fmt.Errorf("post: %w: msg_too_long", bot.ErrRejected)
			}
		}
		return nil
	}
	f.subscribe(chA, "eeg")
	if err := f.st.SetChannelMode(context.Background(), channel.Channel{Ref: chA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "UTC"}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	var batch []paper.Paper
	for i := range 5 {
		batch = append(batch, arxivPaper(fmt.Sprintf("2603.7000%d", i), 1, paper.AnnounceNew, []string{"cs.LG"}, fmt.Sprintf("EEG %d", i)))
	}
	f.ingest("arxiv", batch...)
	f.clock.Add(24 * time.Hour)
	f.deliver()
	got := f.plat.keys(chA)
	slices.Sort(got)
	want := []string{"arxiv:2603.70000", "arxiv:2603.70001", "arxiv:2603.70002", "arxiv:2603.70004"}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v, want every paper but the refused one", got)
	}
	if depth, _ := f.st.OutboxDepth(context.Background()); depth != 1 {
		t.Errorf("outbox depth %d, want 1 (the refused paper waits for its retry)", depth)
	}
	f.clock.Add(delivery.RejectRetryDelays[0])
	f.deliver()
	msgs := f.plat.messages()
	if last := msgs[len(msgs)-1]; last.Digest || len(last.Cards) != 1 || last.Cards[0].Paper.Key != "arxiv:2603.70003" {
		t.Errorf("last message %+v, want the refused paper on its own", last)
	}
	if depth, _ := f.st.OutboxDepth(context.Background()); depth != 0 {
		t.Errorf("outbox depth %d after the retry, want 0", depth)
	}
}

func testDigest(t *testing.T, newEngineFixture fixtureFunc) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	f := newEngineFixture(t)
	// Friday 2026-03-27, the weekend before Europe's spring-forward (Sunday 2026-03-29, 02:00 -> 03:00).
	f.clock.Set(time.Date(2026, 3, 27, 10, 0, 0, 0, berlin))
	f.subscribe(chA, "eeg")
	f.subscribe(chA, "transformer")
	if err := f.st.SetChannelMode(context.Background(), channel.Channel{Ref: chA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "Europe/Berlin"}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.newSender(func(o *delivery.Options) { o.DigestCards = 2 })
	f.deliver() // starts the digest clock

	weak := arxivPaper("2603.10001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG only")
	weak.Abstract = "Nothing else."
	strong := arxivPaper("2603.10002", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG transformers")
	popular := arxivPaper("2603.10003", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG again")
	popular.Abstract, popular.HasHF, popular.Upvotes = "Nothing else.", true, 40
	f.ingest("arxiv", weak, strong, popular)

	f.clock.Set(time.Date(2026, 3, 28, 8, 59, 0, 0, berlin))
	f.deliver()
	if n := len(f.plat.messages()); n != 0 {
		t.Fatalf("%d messages before 09:00", n)
	}
	f.clock.Set(time.Date(2026, 3, 28, 9, 0, 30, 0, berlin))
	f.deliver()
	msgs := f.plat.messages()
	if len(msgs) != 1 || !msgs[0].Digest {
		t.Fatalf("messages at 09:00: %+v, want one digest", msgs)
	}
	got := []string{msgs[0].Cards[0].Paper.Key, msgs[0].Cards[1].Paper.Key}
	if !slices.Equal(got, []string{"arxiv:2603.10002", "arxiv:2603.10003"}) || msgs[0].Overflow != 1 {
		t.Errorf("digest cards %v overflow %d; want most terms first, then upvotes, and 1 more counted", got, msgs[0].Overflow)
	}
	f.deliver()
	if n := len(f.plat.messages()); n != 1 {
		t.Errorf("a second pass sent %d messages, want the one digest", n)
	}

	// Sunday: the clocks jump at 02:00. Nothing matched, so no message at all.
	f.clock.Set(time.Date(2026, 3, 29, 9, 0, 30, 0, berlin))
	f.deliver()
	if n := len(f.plat.messages()); n != 1 {
		t.Errorf("empty day sent a message")
	}
	// Monday, now in summer time: 09:00 local is 07:00 UTC, not 08:00.
	f.ingest("arxiv", arxivPaper("2603.10004", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG on Monday"))
	f.clock.Set(time.Date(2026, 3, 30, 7, 0, 30, 0, time.UTC))
	f.deliver()
	if n := len(f.plat.messages()); n != 2 {
		t.Errorf("Monday 09:00 CEST (07:00 UTC): %d messages, want the second digest", n)
	}
}

func testHourlyBudgetOverflowsIntoDigest(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	f.newSender(func(o *delivery.Options) { o.HourlyBudget, o.DigestCards = 3, 5 })
	f.subscribe(chA, "eeg")
	var batch []paper.Paper
	for i := range 10 {
		batch = append(batch, arxivPaper(fmt.Sprintf("2603.2%04d", i), 1, paper.AnnounceNew, []string{"cs.LG"}, fmt.Sprintf("EEG %d", i)))
	}
	f.ingest("arxiv", batch...)
	f.deliver()
	if n := len(f.plat.messages()); n != 3 {
		t.Fatalf("%d messages in the first hour, want the budget of 3", n)
	}
	f.clock.Add(30 * time.Minute)
	f.deliver()
	if n := len(f.plat.messages()); n != 3 {
		t.Fatalf("%d messages within the hour, want still 3", n)
	}
	f.clock.Add(31 * time.Minute)
	f.deliver()
	msgs := f.plat.messages()
	if len(msgs) != 4 || !msgs[3].Digest || len(msgs[3].Cards) != 5 || msgs[3].Overflow != 2 {
		t.Fatalf("after the hour: %d messages, last %+v; want one overflow digest of 5 cards and 2 more", len(msgs), msgs[len(msgs)-1])
	}
	depth, err := f.st.OutboxDepth(context.Background())
	if err != nil || depth != 0 {
		t.Errorf("outbox depth %d (%v), want every paper accounted for", depth, err)
	}
}

func testBackfill(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	f.ingest("arxiv",
		arxivPaper("2603.30001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG one"),
		arxivPaper("2603.30002", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG two"))
	f.subscribe(chA, "eeg")
	c := &command.Commander{Store: f.st, Now: f.clock.Now}
	req := bot.Request{Channel: chA, CanManage: true, Text: "backfill 7"}
	r, err := c.Handle(context.Background(), req)
	if err != nil || !strings.Contains(strings.Join(r.Text, " "), "2 matching papers") {
		t.Fatalf("backfill reply %q %v", r.Text, err)
	}
	f.deliver()
	msgs := f.plat.messages()
	if len(msgs) != 1 || !msgs[0].Digest || len(msgs[0].Cards) != 2 {
		t.Fatalf("backfill sent %+v, want one digest with both papers", msgs)
	}
	if r, _ := c.Handle(context.Background(), req); !strings.Contains(strings.Join(r.Text, " "), "already posted") {
		t.Errorf("second backfill: %q", r.Text)
	}
	if r, _ := c.Handle(context.Background(), bot.Request{Channel: chA, Text: "backfill 7"}); !strings.Contains(strings.Join(r.Text, " "), "manage") {
		t.Errorf("non-manager backfill: %q", r.Text)
	}
}

// TestDigestAfterQuietDays: a daily digest whose last run was days ago must not fire the moment a paper arrives;
// the paper waits for the next digest time.
func testDigestAfterQuietDays(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	f.clock.Set(time.Date(2026, 3, 24, 8, 0, 0, 0, time.UTC)) // Tuesday
	f.subscribe(chA, "eeg")
	if err := f.st.SetChannelMode(context.Background(), channel.Channel{Ref: chA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "UTC"}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.ingest("arxiv", arxivPaper("2603.50001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG on Tuesday"))
	f.clock.Set(time.Date(2026, 3, 24, 9, 0, 1, 0, time.UTC))
	f.deliver()
	if n := len(f.plat.messages()); n != 1 {
		t.Fatalf("Tuesday 09:00: %d messages, want the digest", n)
	}
	// Nothing on Wednesday; a paper on Thursday afternoon.
	f.clock.Set(time.Date(2026, 3, 26, 15, 0, 0, 0, time.UTC))
	f.ingest("arxiv", arxivPaper("2603.50002", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG on Thursday"))
	f.deliver()
	f.clock.Set(time.Date(2026, 3, 27, 8, 59, 0, 0, time.UTC))
	f.deliver()
	if n := len(f.plat.messages()); n != 1 {
		t.Fatalf("before Friday 09:00: %d messages, want still only Tuesday's digest", n)
	}
	f.clock.Set(time.Date(2026, 3, 27, 9, 0, 1, 0, time.UTC))
	f.deliver()
	if got := f.plat.keys(chA); !slices.Equal(got, []string{"arxiv:2603.50001", "arxiv:2603.50002"}) {
		t.Errorf("delivered %v, want Thursday's paper in Friday's digest", got)
	}
}

// TestSubscriptionFromAnotherProcess: a subscription added through another handle on the same database (what
// `paperboy cmd` does next to a running bot) applies to the running engine's next ingest.
func testSubscriptionFromAnotherProcess(t *testing.T, newEngineFixture fixtureFunc) {
	f := newEngineFixture(t)
	other, err := f.openStore(), error(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	q, _ := filters.Parse("eeg")
	if _, err := other.AddSubscription(context.Background(), channel.Subscription{Channel: chA, Query: "eeg", Canonical: q.String(), AddedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	if res := f.ingest("arxiv", arxivPaper("2603.60001", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG")); res.Routed != 1 {
		t.Fatalf("routed %d rows, want the new subscription applied", res.Routed)
	}
	subs, _ := other.Subscriptions(context.Background(), chA)
	if err := other.RemoveSubscription(context.Background(), chA, subs[0].ID); err != nil {
		t.Fatal(err)
	}
	if res := f.ingest("arxiv", arxivPaper("2603.60002", 1, paper.AnnounceNew, []string{"cs.LG"}, "EEG again")); res.Routed != 0 {
		t.Errorf("routed %d rows after the subscription was removed elsewhere, want 0", res.Routed)
	}
}

func TestOncePerChannel(t *testing.T) { onEachStore(t, testOncePerChannel) }

func TestNewSubscriptionDoesNotFlood(t *testing.T) { onEachStore(t, testNewSubscriptionDoesNotFlood) }

func TestDeliveryOrderAndFaults(t *testing.T) { onEachStore(t, testDeliveryOrderAndFaults) }

func TestRejectedMessageDoesNotBlockTheChannel(t *testing.T) {
	onEachStore(t, testRejectedMessageDoesNotBlockTheChannel)
}

func TestRejectedDigestIsSplit(t *testing.T) { onEachStore(t, testRejectedDigestIsSplit) }

func TestDigest(t *testing.T) { onEachStore(t, testDigest) }

func TestHourlyBudgetOverflowsIntoDigest(t *testing.T) {
	onEachStore(t, testHourlyBudgetOverflowsIntoDigest)
}

func TestBackfill(t *testing.T) { onEachStore(t, testBackfill) }

func TestDigestAfterQuietDays(t *testing.T) { onEachStore(t, testDigestAfterQuietDays) }

func TestSubscriptionFromAnotherProcess(t *testing.T) {
	onEachStore(t, testSubscriptionFromAnotherProcess)
}
