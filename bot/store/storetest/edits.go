package storetest

import (
	"context"
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

var editCases = []testCase{
	{"one edit for three changes", testEditCoalesced},
	{"a deleted message is forgotten", testEditDeletedMessage},
	{"crash between the edit and its record", testEditCrash},
	{"a 429 on an edit lets new cards go first", testEditRateLimited},
	{"digests and edits off queue nothing", testEditNotQueued},
	{"votes queue one edit per window, with the last counts", testVoteEdits},
	{"vote edits never go before new cards", testVoteEditsAfterCards},
}

// editPlatform is a platform that records posts and edits, and can say that a message is gone or answer an edit
// with a 429.
type editPlatform struct {
	mu        sync.Mutex
	posts     []bot.Message
	edits     []editCall
	gone      map[string]bool // message id -> deleted
	rateLimit int             // answer this many upcoming edits with a 429 of 30s
	events    []string        // "post KEY" and "edit KEY", in order
}

type editCall struct {
	msgID string
	msg   bot.Message
	text  string // the card as the console renders it: what a person sees
}

func (p *editPlatform) Name() string { return slackA.Platform }

func (p *editPlatform) Send(_ context.Context, msg bot.Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts = append(p.posts, msg)
	for _, c := range msg.Cards {
		p.events = append(p.events, "post "+c.Paper.Key)
	}
	return fmt.Sprintf("m%d", len(p.posts)), nil
}

func (p *editPlatform) Edit(_ context.Context, msg bot.Message, msgID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone[msgID] {
		return fmt.Errorf("edit %s: %w", msgID, bot.ErrMessageGone)
	}
	if p.rateLimit > 0 {
		p.rateLimit--
		return &bot.RateLimitError{RetryAfter: 30 * time.Second}
	}
	p.edits = append(p.edits, editCall{msgID: msgID, msg: msg, text: bot.CardText(msg.Cards[0])})
	p.events = append(p.events, "edit "+msg.Cards[0].Paper.Key)
	return nil
}

func (p *editPlatform) snapshot() (posts []bot.Message, edits []editCall, events []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.posts), slices.Clone(p.edits), slices.Clone(p.events)
}

// editFixture is a store queueing edits, a sender editing cards on an editPlatform, and a clock.
type editFixture struct {
	t    *testing.T
	s    Store
	plat *editPlatform
	now  time.Time
}

func newEditFixture(t *testing.T, s Store) *editFixture {
	s.SetCardEdits(true)
	return &editFixture{t: t, s: s, plat: &editPlatform{gone: map[string]bool{}}, now: at(1)}
}

// deliver runs one dispatch pass of a new sender on st (a restart, as far as in-memory state goes).
func (f *editFixture) deliver(st delivery.Store) {
	f.t.Helper()
	e := f.sender(st)
	if err := e.DeliverDue(f.t.Context()); err != nil {
		f.t.Fatalf("DeliverDue: %v", err)
	}
}

func (f *editFixture) sender(st delivery.Store) *delivery.Sender {
	f.t.Helper()
	e, err := delivery.NewSender(delivery.Options{Store: st, Owner: "edits-check", Edits: true,
		Platforms: map[string]bot.Platform{slackA.Platform: f.plat},
		Limits:    map[string]delivery.Limits{slackA.Platform: {PerChannel: rate.Inf, ChannelBurst: 1, Global: rate.Inf, GlobalBurst: 1}},
		Now:       func() time.Time { return f.now }})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// poll ingests ps from source at the fixture's clock, routing every paper to slackA.
func (f *editFixture) poll(source string, ps ...paper.Paper) paper.IngestResult {
	f.t.Helper()
	f.now = f.now.Add(time.Minute)
	return mustRoute(f.t, f.s, source, ps, f.now, routeAll(slackA).route)
}

// hf returns the Hugging Face daily item of p with upvotes and a code link.
func hf(p paper.Paper, upvotes int, code string) paper.Paper {
	h := paper.Paper{ArxivID: p.ArxivID, Title: p.Title, Abstract: p.Abstract, URL: p.URL, HasHF: true, Upvotes: upvotes,
		GitHubRepo: code, HFURL: "https://huggingface.co/papers/" + p.ArxivID, Published: p.Published}
	h.Key = paper.KeyOf(h)
	return h
}

// replaced returns the arXiv replacement of p as version v, with a new title.
func replaced(p paper.Paper, v int, title string) paper.Paper {
	r := p
	r.Version, r.Title, r.AnnounceType = v, title, paper.AnnounceReplace
	return r
}

// testEditCoalesced is the scripted scenario: a card is posted, then before the next delivery the paper's v2,
// an upvote rise across 10 and then 50, and a code link arrive: exactly one edit, showing all three, of the card's
// own message; no post. One more vote later edits nothing.
func testEditCoalesced(t *testing.T, s Store) {
	f := newEditFixture(t, s)
	p := simple("2609.00001", t0)
	f.poll("arxiv", p)
	f.poll("hf", hf(p, 3, ""))
	f.deliver(s)
	posts, edits, _ := f.plat.snapshot()
	if len(posts) != 1 || len(edits) != 0 {
		t.Fatalf("%d posts and %d edits, want the card posted once", len(posts), len(edits))
	}

	total := 0
	for _, poll := range []struct {
		source string
		p      paper.Paper
	}{
		{"arxiv", replaced(p, 2, "Paper 2609.00001, revised")},
		{"hf", hf(p, 12, "")},
		{"hf", hf(p, 55, "https://github.com/ada/engine")},
	} {
		res := f.poll(poll.source, poll.p)
		if res.Edits != 1 {
			t.Errorf("poll of %s queued %d edits, want 1 (a new one or folded into the pending one)", poll.source, res.Edits)
		}
		total += res.Edits
	}
	f.deliver(s)
	f.deliver(s)
	posts, edits, _ = f.plat.snapshot()
	if len(posts) != 1 {
		t.Errorf("%d posts, want still 1: an update is never a new message", len(posts))
	}
	if len(edits) != 1 {
		t.Fatalf("%d edits, want exactly 1 for the three changes", len(edits))
	}
	e := edits[0]
	if e.msgID != "m1" || e.msg.Channel != slackA || e.msg.Digest {
		t.Errorf("edit of %s in %s (digest %v), want the card m1 in %s", e.msgID, e.msg.Channel, e.msg.Digest, slackA)
	}
	for _, want := range []string{"Paper 2609.00001, revised (v2)", "50+ upvotes", "code https://github.com/ada/engine", "matched: cs.LG"} {
		if !strings.Contains(e.text, want) {
			t.Errorf("edited card lacks %q:\n%s", want, e.text)
		}
	}

	if res := f.poll("hf", hf(p, 56, "https://github.com/ada/engine")); res.Edits != 0 || len(res.Updated) != 1 {
		t.Errorf("one more vote: %d edits (updated %v), want none", res.Edits, res.Updated)
	}
	f.deliver(s)
	if _, edits, _ = f.plat.snapshot(); len(edits) != 1 {
		t.Errorf("%d edits after one more vote, want still 1", len(edits))
	}
}

// testEditDeletedMessage: an edit of a message a person deleted is dropped, the card forgotten: later changes
// queue no edit, and the paper is never posted again.
func testEditDeletedMessage(t *testing.T, s Store) {
	f := newEditFixture(t, s)
	p := simple("2609.00001", t0)
	f.poll("arxiv", p)
	f.deliver(s)
	f.plat.mu.Lock()
	f.plat.gone["m1"] = true
	f.plat.mu.Unlock()
	if res := f.poll("hf", hf(p, 30, "")); res.Edits != 1 {
		t.Fatalf("queued %d edits, want 1", res.Edits)
	}
	f.deliver(s)
	if w, err := s.EditWork(t.Context(), f.now); err != nil || len(w) != 0 {
		t.Errorf("EditWork after the message was found deleted = %v, %v; want nothing", w, err)
	}
	f.plat.mu.Lock()
	delete(f.plat.gone, "m1") // even were it back, the card is forgotten
	f.plat.mu.Unlock()
	if res := f.poll("arxiv", replaced(p, 2, "New title")); res.Edits != 0 {
		t.Errorf("a change of a forgotten card queued %d edits", res.Edits)
	}
	f.poll("arxiv", simple("2609.00001", t0)) // announced again: still once per channel, ever
	f.deliver(s)
	f.deliver(s)
	posts, edits, _ := f.plat.snapshot()
	if len(posts) != 1 || len(edits) != 0 {
		t.Errorf("%d posts and %d edits, want the 1 original post and no edit", len(posts), len(edits))
	}
}

// editCrashStore is a store whose first EditDone fails as if the process died between the platform taking the
// edit and its record.
type editCrashStore struct {
	Store
	crashed bool
}

func (c *editCrashStore) EditDone(ctx context.Context, ch channel.Ref, key string, rev int64) error {
	if !c.crashed {
		c.crashed = true
		return errCrashed
	}
	return c.Store.EditDone(ctx, ch, key, rev)
}

// testEditCrash: the process dies after the platform made the edit and before the store recorded it. After the
// restart the edit is sent once more, identical (it renders the paper as stored), and then never again.
func testEditCrash(t *testing.T, s Store) {
	f := newEditFixture(t, s)
	p := simple("2609.00001", t0)
	f.poll("arxiv", p)
	f.deliver(s)
	f.poll("hf", hf(p, 10, "https://github.com/ada/engine"))
	f.deliver(&editCrashStore{Store: s})
	if _, edits, _ := f.plat.snapshot(); len(edits) != 1 {
		t.Fatalf("%d edits before the crash, want 1", len(edits))
	}
	f.now = f.now.Add(time.Minute)
	f.deliver(s) // the restarted process
	f.deliver(s)
	_, edits, _ := f.plat.snapshot()
	if len(edits) != 2 {
		t.Fatalf("%d edits in all, want 2: the one the crash interrupted and one after the restart", len(edits))
	}
	if edits[0].msgID != edits[1].msgID || edits[0].text != edits[1].text {
		t.Errorf("the edit after the restart differs from the interrupted one:\n%s %s\n%s %s", edits[0].msgID, edits[0].text, edits[1].msgID, edits[1].text)
	}
	if w, err := s.EditWork(t.Context(), f.now); err != nil || len(w) != 0 {
		t.Errorf("EditWork = %v, %v; want the edit recorded", w, err)
	}
}

// testEditRateLimited: a 429 on an edit holds the edit for its Retry-After; a card arriving meanwhile is posted
// at once, and the edit goes out after it, once the wait is over.
func testEditRateLimited(t *testing.T, s Store) {
	f := newEditFixture(t, s)
	a, b := simple("2609.00001", t0), simple("2609.00002", t0.Add(time.Minute))
	f.poll("arxiv", a)
	f.deliver(s)
	f.poll("hf", hf(a, 25, ""))
	f.plat.mu.Lock()
	f.plat.rateLimit = 1
	f.plat.mu.Unlock()
	e := f.sender(s) // one process throughout: the wait is also in memory
	if err := e.DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	limited := f.now
	mustRoute(t, s, "arxiv", []paper.Paper{b}, limited.Add(5*time.Second), routeAll(slackA).route)
	f.now = limited.Add(10 * time.Second)
	if err := e.DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, edits, events := f.plat.snapshot()
	if len(edits) != 0 || !slices.Equal(events, []string{"post " + a.Key, "post " + b.Key}) {
		t.Fatalf("within the Retry-After: events %v, edits %d; want the new card posted and no edit", events, len(edits))
	}
	f.now = limited.Add(30 * time.Second)
	if err := e.DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, edits, events = f.plat.snapshot()
	if want := []string{"post " + a.Key, "post " + b.Key, "edit " + a.Key}; !slices.Equal(events, want) {
		t.Errorf("events %v, want %v", events, want)
	}
	if len(edits) != 1 || !strings.Contains(edits[0].text, "25+ upvotes") {
		t.Errorf("edits %+v, want one showing 25+ upvotes", edits)
	}
}

// testEditNotQueued: a paper sent in a digest is never edited, and with edits off no edit is queued.
func testEditNotQueued(t *testing.T, s Store) {
	f := newEditFixture(t, s)
	p := simple("2609.00001", t0)
	digest := channel.Channel{Ref: slackA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "UTC"}
	check(t, s.SetChannelMode(t.Context(), digest, at(0)), "SetChannelMode")
	f.poll("arxiv", p)
	f.now = at(24)
	f.deliver(s)
	posts, _, _ := f.plat.snapshot()
	if len(posts) != 1 || !posts[0].Digest {
		t.Fatalf("posts %+v, want one digest", posts)
	}
	if res := f.poll("hf", hf(p, 100, "https://github.com/ada/engine")); res.Edits != 0 {
		t.Errorf("a change of a paper sent in a digest queued %d edits", res.Edits)
	}

	q := simple("2609.00002", t0)
	instant := channel.Channel{Ref: slackB, Mode: channel.ModeInstant}
	check(t, s.SetChannelMode(t.Context(), instant, at(0)), "SetChannelMode")
	mustRoute(t, s, "arxiv", []paper.Paper{q}, f.now, routeAll(slackB).route)
	f.deliver(s)
	s.SetCardEdits(false)
	f.now = f.now.Add(time.Minute)
	if res := mustRoute(t, s, "hf", []paper.Paper{hf(q, 100, "https://github.com/ada/engine")}, f.now, routeAll(slackB).route); res.Edits != 0 {
		t.Errorf("with edits off a change queued %d edits", res.Edits)
	}
	f.deliver(s)
	if _, edits, _ := f.plat.snapshot(); len(edits) != 0 {
		t.Errorf("%d edits, want none", len(edits))
	}
	if w, err := s.EditWork(t.Context(), f.now); err != nil || len(w) != 0 {
		t.Errorf("EditWork = %v, %v; want none", w, err)
	}
}

// voter is the votes part of the stores' feedback (command.Feedback).
type voter interface {
	Vote(ctx context.Context, ch channel.Ref, paperKey string, user channel.User, vote int, at time.Time) (up, down int, err error)
}

// testVoteEdits: a vote queues an edit of the posted card due at the end of its window; the votes of the window
// fold into it, and the edit shows the counts as they are when it is sent. A paper's own change keeps the counts
// on the card. Nothing is queued for a card that was not posted on its own or whose message is gone.
func testVoteEdits(t *testing.T, s Store) {
	ctx := t.Context()
	f := newEditFixture(t, s)
	v := s.(voter)
	p := simple("2609.00001", t0)
	f.poll("arxiv", p)
	f.deliver(s)
	queue := func(key string) bool {
		t.Helper()
		ok, err := s.QueueCardEdit(ctx, slackA, key, f.now, f.now.Add(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for i, vote := range []int{1, 1, -1, 1} {
		if _, _, err := v.Vote(ctx, slackA, p.Key, channel.User{Platform: "slack", Workspace: "T1", ID: fmt.Sprintf("U%d", i)}, vote, f.now); err != nil {
			t.Fatal(err)
		}
		if !queue(p.Key) {
			t.Fatalf("vote %d queued no edit of a posted card", i)
		}
		f.now = f.now.Add(400 * time.Millisecond) // all four within the first vote's window
	}
	if w, err := s.EditWork(ctx, f.now); err != nil || len(w) != 0 {
		t.Errorf("EditWork within the window = %v, %v; want nothing due yet", w, err)
	}
	if _, _, err := v.Vote(ctx, slackA, p.Key, channel.User{Platform: "slack", Workspace: "T1", ID: "U9"}, -1, f.now); err != nil { // after the last queue, before the send
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Second)
	f.deliver(s)
	f.deliver(s)
	_, edits, _ := f.plat.snapshot()
	if len(edits) != 1 || edits[0].msgID != "m1" {
		t.Fatalf("edits %+v, want exactly one, of m1", edits)
	}
	if c := edits[0].msg.Cards[0]; c.Up != 3 || c.Down != 2 {
		t.Errorf("the edit shows 👍 %d 👎 %d, want the counts when it was sent: 3 and 2", c.Up, c.Down)
	}

	// A paper's own change (an upvote milestone) edits the card with its counts, not without them.
	f.poll("hf", hf(p, 12, ""))
	f.deliver(s)
	if _, edits, _ = f.plat.snapshot(); len(edits) != 2 || edits[1].msg.Cards[0].Up != 3 || edits[1].msg.Cards[0].Down != 2 {
		t.Errorf("edits %+v, want a second one keeping 👍 3 👎 2", edits)
	}

	// A paper that was never posted here, or only to another channel, has no card to edit.
	q := simple("2609.00002", t0)
	mustRoute(t, s, "arxiv", []paper.Paper{q}, f.now, routeAll(slackB).route)
	if queue(q.Key) || queue("arxiv:2609.99999") {
		t.Error("an edit was queued for a card not posted in the channel")
	}

	// The message is gone: the edit forgets the card, and later votes queue nothing.
	f.plat.mu.Lock()
	f.plat.gone["m1"] = true
	f.plat.mu.Unlock()
	if !queue(p.Key) {
		t.Fatal("no edit queued")
	}
	f.now = f.now.Add(3 * time.Second)
	f.deliver(s)
	if queue(p.Key) {
		t.Error("a vote on a gone card queued an edit")
	}
	if w, err := s.EditWork(ctx, f.now.Add(time.Hour)); err != nil || len(w) != 0 {
		t.Errorf("EditWork = %v, %v; want nothing", w, err)
	}
}

// testVoteEditsAfterCards: with vote edits due on more cards than one turn edits, a new card arriving is posted
// before any of them: votes never delay a delivery.
func testVoteEditsAfterCards(t *testing.T, s Store) {
	ctx := t.Context()
	f := newEditFixture(t, s)
	var ps []paper.Paper
	for i := range 15 {
		ps = append(ps, simple(fmt.Sprintf("2609.%05d", i+1), t0.Add(time.Duration(i)*time.Minute)))
	}
	f.poll("arxiv", ps...)
	f.deliver(s)
	if posts, _, _ := f.plat.snapshot(); len(posts) != len(ps) {
		t.Fatalf("%d posts, want %d", len(posts), len(ps))
	}
	for _, p := range ps {
		if _, _, err := s.(voter).Vote(ctx, slackA, p.Key, channel.User{Platform: "slack", Workspace: "T1", ID: "U1"}, 1, f.now); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.QueueCardEdit(ctx, slackA, p.Key, f.now, f.now); err != nil || !ok {
			t.Fatalf("QueueCardEdit = %v, %v", ok, err)
		}
	}
	fresh := simple("2609.00099", t0.Add(time.Hour))
	f.poll("arxiv", fresh)
	f.deliver(s)
	_, edits, events := f.plat.snapshot()
	if i := slices.Index(events, "post "+fresh.Key); i != len(ps) {
		t.Errorf("events %v: the new card is event %d, want %d, before any edit", events, i, len(ps))
	}
	if len(edits) == 0 || len(edits) > 10 {
		t.Errorf("%d edits in the pass, want some, at most a turn's 10", len(edits))
	}
	f.deliver(s)
	if _, edits, _ = f.plat.snapshot(); len(edits) != len(ps) {
		t.Errorf("%d edits after two passes, want %d", len(edits), len(ps))
	}
}
