package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store/dump"
)

// CopyStore is a store that takes part in `paperboy store copy`: the bot's store, able to export its records.
type CopyStore interface {
	Store
	dump.Exporter
}

// prunedChan is the fixture's channel whose one posted paper was pruned.
var prunedChan = channel.Ref{Platform: "slack", ID: "CPRUNED"}

// FillCopyFixture gives an empty store everything a copy must carry over: papers (two in the same second, one
// without a date), validators, a failing source and one polled under a lease, an instant channel with a command
// subscription and a configured one, a digest channel with a past digest, a blocked channel, and outbox rows in
// every state (sent singly and as a digest, failed, overflow, pending with a failed attempt, backfill), a sent
// digest batch and one whose send was in flight when the bot stopped, and two import checkpoints. It returns
// a time at which every unblocked channel's waiting rows are due (the digest included), for CheckCopy.
func FillCopyFixture(t *testing.T, s Store) time.Time {
	t.Helper()
	ctx := t.Context()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("fixture: %s: %v", what, err)
		}
	}
	digestC := channel.Channel{Ref: discordC, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "Europe/Berlin"}
	must("set digest mode", s.SetChannelMode(ctx, digestC, at(0)))
	must("sync configured channels", s.SyncConfigChannels(ctx, []channel.ConfigChannel{{Ref: slackA,
		Subscriptions: []channel.Subscription{{Query: "eeg", Canonical: "eeg"}}}}, at(0)))
	for _, sub := range []channel.Subscription{
		{Channel: slackA, Query: "Transformer OR attention", Canonical: "transformer OR attention", AddedBy: "U1", AddedAt: at(0)},
		{Channel: discordC, Query: "cs.LG", Canonical: "cat:cs.LG", AddedBy: "U2", AddedAt: at(0)},
		{Channel: slackB, Query: "anything", Canonical: "anything", AddedBy: "U3", AddedAt: at(0)},
	} {
		_, err := s.AddSubscription(ctx, sub)
		must("add subscription", err)
	}

	papers := []paper.Paper{
		simple("2609.00001", t0.Add(-72*time.Hour)),
		simple("2609.00002", t0.Add(-48*time.Hour)),
		simple("2609.00003", t0.Add(-48*time.Hour)), // same second as the one before: order within it must hold
		simple("2609.00004", t0.Add(-24*time.Hour)),
		simple("2609.00005", t0.Add(-2*time.Hour)),
		simple("2609.00006", t0.Add(-time.Hour)),
		simple("2609.00008", t0.Add(-30*time.Minute)),
	}
	undated := paper.Paper{Title: "An undated blog post", URL: "https://example.org/post"}
	undated.Key = paper.KeyOf(undated)
	papers = append(papers, undated)
	backfillOnly := papers[6].Key // not routed to slackA: its row there is a backfill
	route := func(p *paper.Paper, _ time.Time) []channel.Route {
		var out []channel.Route
		for _, ch := range []channel.Ref{slackA, discordC, slackB} {
			if ch == slackA && p.Key == backfillOnly {
				continue
			}
			out = append(out, channel.Route{Channel: ch, Matched: []string{"term " + p.Key}})
		}
		return out
	}
	validators := map[string]paper.Validators{
		"https://rss.arxiv.org/rss/cs.LG": {ETag: `"abc"`, LastModified: "Mon, 28 Sep 2026 19:00:00 GMT"},
		"https://rss.arxiv.org/rss/cs.AI": {ETag: `"def"`},
	}
	_, err := s.IngestAndRoute(ctx, "arxiv", papers[:4], validators, at(0), route)
	must("ingest", err)
	_, err = s.IngestAndRoute(ctx, "blog", papers[4:], map[string]paper.Validators{"https://example.org/feed": {LastModified: "yesterday"}}, at(0), route)
	must("ingest", err)
	must("record poll error", s.RecordPollError(ctx, "hf", errors.New("hf: 503 Service Unavailable"), at(0)))
	must("record not modified", s.RecordNotModified(ctx, "arxiv", at(1)))
	_, err = s.ClaimSource(ctx, "blog", "instance-1", at(0), time.Minute)
	must("claim source", err)
	must("release source", s.ReleaseSource(ctx, "blog", "instance-1"))
	_, err = s.Enqueue(ctx, slackA, channel.KindBackfill, map[string][]string{backfillOnly: {"backfilled"}}, at(1))
	must("enqueue backfill", err)

	ids := func(ch channel.Ref) map[string]int64 {
		t.Helper()
		items, err := s.Unsent(ctx, ch, channel.KindMatch, []string{channel.StatePending}, 0)
		must("unsent", err)
		out := map[string]int64{}
		for _, it := range items {
			out[it.Paper.Key] = it.ID
		}
		return out
	}
	a := ids(slackA)
	must("mark sent", s.MarkSent(ctx, []int64{a[papers[0].Key]}, "slack-msg-1", at(1)))
	must("mark failed", s.MarkFailed(ctx, []int64{a[papers[1].Key]}, errors.New("invalid_blocks"), at(1)))
	must("mark overflow", s.MarkOverflow(ctx, []int64{a[papers[2].Key]}))
	must("record attempt", s.RecordAttempt(ctx, []int64{a[papers[3].Key]}, errors.New("503 from slack")))
	must("mark rejected", s.MarkRejected(ctx, []int64{a[papers[4].Key]}, errors.New("invalid_arguments"), at(3)))
	c := ids(discordC)
	_, err = s.OpenBatch(ctx, discordC, channel.BatchDaily, "Papers of yesterday", []int64{c[papers[0].Key], c[papers[1].Key]}, at(1))
	must("open batch", err)
	must("mark digest sent", s.MarkSent(ctx, []int64{c[papers[0].Key], c[papers[1].Key]}, "discord-digest-1", at(1)))
	must("set last digest", s.SetLastDigest(ctx, discordC, at(1)))
	must("block channel", s.BlockChannel(ctx, slackB, "channel_not_found", at(2)))
	// A digest opened and in flight when the bot stopped: the copy must send it again as the same batch (the
	// same rows, and the same id, from which Discord's nonce is derived).
	var inBatch []int64
	for _, p := range papers[2:] {
		inBatch = append(inBatch, c[p.Key])
	}
	_, err = s.OpenBatch(ctx, discordC, channel.BatchDaily, "Papers of the day", inBatch, at(2))
	must("open batch", err)
	must("mark sending", s.MarkSending(ctx, inBatch, at(2)))
	// A paper posted long ago whose row was pruned: the copy must not announce it there again.
	_, err = s.Enqueue(ctx, prunedChan, channel.KindMatch, map[string][]string{papers[0].Key: {"old"}}, at(-100))
	must("enqueue", err)
	must("mark sent", s.MarkSent(ctx, []int64{ids(prunedChan)[papers[0].Key]}, "slack-msg-old", at(-100)))
	pruned, err := s.PruneSent(ctx, at(-50))
	must("prune", err)
	if pruned != 1 {
		t.Fatalf("PruneSent pruned %d rows, want 1", pruned)
	}
	_, err = s.ImportBatch(ctx, "arxiv-oai", nil, []byte(`{"token":"page-7","pages":7}`), at(1))
	must("import checkpoint", err)
	_, err = s.ImportBatch(ctx, "snapshot", nil, []byte{0, 1, 2, 0xff}, at(2))
	must("import checkpoint", err)
	if f, ok := s.(Feedback); ok {
		_, _, err = f.Vote(ctx, slackA, papers[0].Key, slackU1, channel.VoteRelevant, at(1))
		must("vote", err)
		_, _, err = f.Vote(ctx, discordC, papers[1].Key, discordU1, channel.VoteNotRelevant, at(2))
		must("vote", err)
		_, err = f.Save(ctx, slackU1, papers[0].Key, at(1))
		must("save", err)
		_, err = f.Save(ctx, slackU1, papers[2].Key, at(3))
		must("save", err)
		// The same paper on the same user id's lists in two workspaces: a copy dropping the workspace would
		// merge them, or fail.
		_, err = f.Save(ctx, channel.User{Platform: "slack", Workspace: "T2", ID: "U1"}, papers[0].Key, at(4))
		must("save", err)
	}
	// The digest's next 09:00 Berlin after at(1) is 07:00 UTC the next day; at(14) is 10:00 UTC.
	return at(14)
}

// snapshot is a store's records as an export gives them, with store-chosen ids cleared.
type snapshot struct {
	Papers        []dump.Paper
	Validators    []dump.Validators
	SourceStates  []dump.SourceState
	Channels      []dump.Channel
	Subscriptions []dump.Subscription
	Batches       []dump.Batch
	Outbox        []dump.Outbox
	Imports       []dump.Import
	Votes         []dump.Vote
	Saved         []dump.Saved
}

// dumpRecorder is a dump.Writer that keeps everything (tests only: a fixture is small).
type dumpRecorder struct{ s snapshot }

func (r *dumpRecorder) Papers(_ context.Context, b []dump.Paper) error {
	r.s.Papers = append(r.s.Papers, b...)
	return nil
}

func (r *dumpRecorder) Validators(_ context.Context, b []dump.Validators) error {
	r.s.Validators = append(r.s.Validators, b...)
	return nil
}

func (r *dumpRecorder) SourceStates(_ context.Context, b []dump.SourceState) error {
	r.s.SourceStates = append(r.s.SourceStates, b...)
	return nil
}

func (r *dumpRecorder) Channels(_ context.Context, b []dump.Channel) error {
	r.s.Channels = append(r.s.Channels, b...)
	return nil
}

func (r *dumpRecorder) Subscriptions(_ context.Context, b []dump.Subscription) error {
	for _, sub := range b {
		sub.ID = 0
		r.s.Subscriptions = append(r.s.Subscriptions, sub)
	}
	return nil
}

func (r *dumpRecorder) Batches(_ context.Context, b []dump.Batch) error {
	r.s.Batches = append(r.s.Batches, b...)
	return nil
}

func (r *dumpRecorder) Imports(_ context.Context, b []dump.Import) error {
	r.s.Imports = append(r.s.Imports, b...)
	return nil
}

func (r *dumpRecorder) Votes(_ context.Context, b []dump.Vote) error {
	r.s.Votes = append(r.s.Votes, b...)
	return nil
}

func (r *dumpRecorder) Saved(_ context.Context, b []dump.Saved) error {
	r.s.Saved = append(r.s.Saved, b...)
	return nil
}

func (r *dumpRecorder) Outbox(_ context.Context, b []dump.Outbox) error {
	r.s.Outbox = append(r.s.Outbox, b...)
	return nil
}

func export(t *testing.T, s dump.Exporter) snapshot {
	t.Helper()
	var r dumpRecorder
	if err := s.Export(t.Context(), &r); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return r.s
}

// CheckCopy checks that dst is a faithful copy of src: the same records (but for store-chosen ids; digest batches
// keep theirs), the same answers from every public read (papers newest first, subscriptions in order, channels,
// the outbox's work and rows in every state, open digest batches with their rows in flight, message counts,
// source health, validators, import checkpoints), and, at now, a delivery run on dst posts every waiting row
// exactly once, exactly as one on src does (digests under the same nonces), and never a row that was sent. It delivers on
// both stores, so it is the last thing a test does with them.
func CheckCopy(t *testing.T, src, dst CopyStore, now time.Time) {
	t.Helper()
	ctx := t.Context()
	a, b := export(t, src), export(t, dst)
	if len(a.Papers) == 0 || len(a.Outbox) == 0 || len(a.Votes) == 0 || len(a.Saved) == 0 {
		t.Fatalf("source store holds %d papers, %d outbox rows, %d votes, %d saved: nothing to compare", len(a.Papers), len(a.Outbox), len(a.Votes), len(a.Saved))
	}
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"papers", a.Papers, b.Papers}, {"validators", a.Validators, b.Validators},
		{"source states", a.SourceStates, b.SourceStates}, {"channels", a.Channels, b.Channels},
		{"subscriptions", a.Subscriptions, b.Subscriptions}, {"outbox", a.Outbox, b.Outbox},
		{"digest batches", a.Batches, b.Batches}, {"import checkpoints", a.Imports, b.Imports},
		{"votes", a.Votes, b.Votes}, {"reading lists", a.Saved, b.Saved},
	} {
		if !reflect.DeepEqual(f.a, f.b) {
			t.Errorf("exported %s differ:\nsource: %+v\ncopy:   %+v", f.name, f.a, f.b)
		}
	}

	// The same through the reads the bot uses.
	same := func(what string, get func(s CopyStore) (any, error)) {
		t.Helper()
		x, err := get(src)
		if err != nil {
			t.Fatalf("%s on the source: %v", what, err)
		}
		y, err := get(dst)
		if err != nil {
			t.Fatalf("%s on the copy: %v", what, err)
		}
		if !reflect.DeepEqual(x, y) {
			t.Errorf("%s differ:\nsource: %+v\ncopy:   %+v", what, x, y)
		}
	}
	for _, s := range []CopyStore{src, dst} {
		for _, o := range a.Outbox {
			if o.Channel != prunedChan {
				continue
			}
			if n, err := s.Enqueue(ctx, prunedChan, channel.KindBackfill, map[string][]string{o.PaperKey: nil}, now); err != nil || n != 0 {
				t.Errorf("Enqueue of %s, posted and pruned, queued %d rows (%v): announced twice", o.PaperKey, n, err)
			}
		}
	}
	same("Recent", func(s CopyStore) (any, error) { return s.Recent(ctx, time.Time{}, 0) })
	same("SourceStates", func(s CopyStore) (any, error) { return s.SourceStates(ctx) })
	same("BlockedChannels", func(s CopyStore) (any, error) { return s.BlockedChannels(ctx) })
	same("OutboxDepth", func(s CopyStore) (any, error) { return s.OutboxDepth(ctx) })
	same("AllSubscriptions", func(s CopyStore) (any, error) { return subsWithoutIDs(s.AllSubscriptions(ctx)) })
	same("Work", func(s CopyStore) (any, error) {
		w, err := s.Work(ctx)
		slices.SortFunc(w, func(x, y channel.Work) int { return cmp.Compare(x.Ref.String(), y.Ref.String()) })
		return w, err
	})
	for _, im := range a.Imports {
		same("ImportState of "+im.Name, func(s CopyStore) (any, error) {
			state, ok, err := s.ImportState(ctx, im.Name)
			return fmt.Sprintf("%t %x", ok, state), err
		})
	}
	for _, st := range a.SourceStates {
		same("Validators of "+st.Source, func(s CopyStore) (any, error) { return s.Validators(ctx, st.Source) })
	}
	for _, c := range a.Channels {
		ch := c.Ref
		same("Channel "+ch.String(), func(s CopyStore) (any, error) { return s.Channel(ctx, ch) })
		same("Subscriptions of "+ch.String(), func(s CopyStore) (any, error) { return subsWithoutIDs(s.Subscriptions(ctx, ch)) })
		same("Retries of "+ch.String(), func(s CopyStore) (any, error) {
			items, err := s.Retries(ctx, ch, now, 0)
			for i := range items {
				items[i].ID = 0
			}
			return items, err
		})
		same("OpenBatches of "+ch.String(), func(s CopyStore) (any, error) {
			bs, err := s.OpenBatches(ctx, ch)
			if len(bs) == 0 {
				bs = nil // the stores differ in how they say none
			}
			for i := range bs {
				for j := range bs[i].Items {
					bs[i].Items[j].ID = 0
				}
			}
			return bs, err
		})
		same("ListFailed of "+ch.String(), func(s CopyStore) (any, error) {
			items, err := s.ListFailed(ctx, ch, 0)
			for i := range items {
				items[i].ID = 0
			}
			return items, err
		})
		for _, kind := range []string{channel.KindMatch, channel.KindBackfill} {
			for _, state := range []string{channel.StatePending, channel.StateOverflow, channel.StateSent, channel.StateFailed} {
				same(fmt.Sprintf("Unsent %s %s rows of %s", state, kind, ch), func(s CopyStore) (any, error) {
					items, err := s.Unsent(ctx, ch, kind, []string{state}, 0)
					for i := range items {
						items[i].ID = 0
					}
					return items, err
				})
			}
		}
		for _, o := range a.Outbox {
			if o.Channel == ch && !o.SentAt.IsZero() {
				same(fmt.Sprintf("MessagesSince(%s, %s)", ch, o.SentAt), func(s CopyStore) (any, error) { return s.MessagesSince(ctx, ch, o.SentAt) })
			}
		}
	}

	// What was waiting on the copy's unblocked channels is what a delivery run must post, once.
	blocked := map[channel.Ref]bool{}
	for _, c := range b.Channels {
		if c.Blocked != "" {
			blocked[c.Ref] = true
		}
	}
	want := map[post]bool{}
	for _, o := range b.Outbox {
		if (o.State == channel.StatePending || o.State == channel.StateOverflow) && !blocked[o.Channel] {
			want[post{ch: o.Channel, key: o.PaperKey}] = true
		}
	}
	fromSrc, fromDst := deliverAll(t, src, now), deliverAll(t, dst, now)
	if !reflect.DeepEqual(fromSrc, fromDst) {
		t.Errorf("delivery on the copy posted differently from delivery on the source:\nsource: %v\ncopy:   %v", fromSrc, fromDst)
	}
	got := map[post]int{}
	for _, p := range fromDst {
		p.nonce = ""
		got[p]++
	}
	for p, n := range got {
		if n != 1 || !want[p] {
			t.Errorf("delivery on the copy posted %s to %s %d times; it was waiting: %t", p.key, p.ch, n, want[p])
		}
	}
	for p := range want {
		if got[p] == 0 {
			t.Errorf("delivery on the copy never posted %s to %s, which was waiting", p.key, p.ch)
		}
	}
	if again := deliverAll(t, dst, now.Add(time.Minute)); len(again) != 0 {
		t.Errorf("a second delivery run on the copy posted again: %v", again)
	}
}

func subsWithoutIDs(subs []channel.Subscription, err error) ([]channel.Subscription, error) {
	for i := range subs {
		subs[i].ID = 0
	}
	return subs, err
}

// post is one paper posted to one channel, with the nonce of the digest that carried it (rows' own nonces name
// their store-chosen ids, and are left out).
type post struct {
	ch    channel.Ref
	key   string
	nonce string
}

// recordingPlatform accepts every message and records its cards.
type recordingPlatform struct {
	name  string
	mu    *sync.Mutex
	posts *[]post
}

func (p recordingPlatform) Name() string { return p.name }

func (p recordingPlatform) Send(_ context.Context, msg bot.Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	nonce := ""
	if msg.Digest {
		nonce = msg.Nonce
	}
	for _, c := range msg.Cards {
		*p.posts = append(*p.posts, post{msg.Channel, c.Paper.Key, nonce})
	}
	return fmt.Sprintf("%s-%d", p.name, len(*p.posts)), nil
}

// deliverAll runs delivery passes at now on s, with no rate limits, until one posts nothing, and returns what was
// posted, sorted.
func deliverAll(t *testing.T, s Store, now time.Time) []post {
	t.Helper()
	var mu sync.Mutex
	var posts []post
	plats := map[string]bot.Platform{}
	limits := map[string]delivery.Limits{}
	for _, name := range []string{slackA.Platform, discordC.Platform} {
		plats[name] = recordingPlatform{name: name, mu: &mu, posts: &posts}
		limits[name] = delivery.Limits{PerChannel: rate.Inf, ChannelBurst: 1, Global: rate.Inf, GlobalBurst: 1}
	}
	sender, err := delivery.NewSender(delivery.Options{Store: s, Owner: "copy-check", Platforms: plats, Limits: limits,
		Now: func() time.Time { return now }, DigestCards: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for n := -1; n != len(posts); {
		n = len(posts)
		if err := sender.DeliverDue(t.Context()); err != nil {
			t.Fatalf("DeliverDue: %v", err)
		}
	}
	slices.SortFunc(posts, func(x, y post) int {
		return cmp.Or(cmp.Compare(x.ch.String(), y.ch.String()), cmp.Compare(x.key, y.key), cmp.Compare(x.nonce, y.nonce))
	})
	return posts
}
