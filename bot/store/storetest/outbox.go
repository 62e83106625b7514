package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

var routingCases = []testCase{
	{"rows are written with the papers", testRoutingRows},
	{"the router sees announced papers with their first-seen time", testRoutingCalls},
	{"once per channel and paper", testRoutingOnce},
	{"a failed ingest saves nothing", testRoutingFailure},
}

func testRoutingRows(t *testing.T, s Store) {
	papers := []paper.Paper{
		arxiv("2609.00001", t0.Add(-time.Hour), paper.AnnounceNew, "One", "a", "cs.LG"),
		arxiv("2609.00002", t0, paper.AnnounceNew, "Two", "b", "q-bio.NC", "cs.LG"),
	}
	r := &recorder{to: func(p *paper.Paper) []channel.Ref {
		if p.Categories[0] == "q-bio.NC" {
			return []channel.Ref{slackA, discordC}
		}
		return []channel.Ref{slackA}
	}}
	res := mustRoute(t, s, "arxiv", papers, at(1), r.route)
	if res.Routed != 3 || len(res.New) != 2 {
		t.Fatalf("IngestAndRoute = %+v, want 2 new and 3 rows", res)
	}
	items := pending(t, s, slackA)
	if got, want := itemKeys(items), keysOf(papers); !slices.Equal(got, want) {
		t.Fatalf("pending rows of %s = %v, want %v", slackA, got, want)
	}
	for i, it := range items {
		want := papers[i]
		want.Sources = []string{"arxiv"}
		if jsonOf(t, it.Paper) != jsonOf(t, want) {
			t.Errorf("row paper:\n got %s\nwant %s", jsonOf(t, it.Paper), jsonOf(t, want))
		}
		if it.Channel != slackA || it.Kind != channel.KindMatch || it.State != channel.StatePending ||
			it.Attempts != 0 || !it.CreatedAt.Equal(at(1)) || !slices.Equal(it.Matched, want.Categories[:1]) {
			t.Errorf("row %+v: want channel %s, kind match, pending, no attempts, created %s, matched %v", it, slackA,
				at(1), want.Categories[:1])
		}
	}
	if ids := itemIDs(items); ids[0] == ids[1] {
		t.Errorf("rows share id %d", ids[0])
	}
	if got := itemKeys(pending(t, s, discordC)); !slices.Equal(got, []string{papers[1].Key}) {
		t.Errorf("pending rows of %s = %v", discordC, got)
	}
	w := work(t, s)
	if len(w) != 2 || w[slackA].Pending != 2 || w[discordC].Pending != 1 {
		t.Errorf("Work = %+v, want 2 rows for %s and 1 for %s", w, slackA, discordC)
	}
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 3 {
		t.Errorf("OutboxDepth = %d, %v; want 3", n, err)
	}
	// Ingest does not route.
	if res := mustIngest(t, s, "arxiv", []paper.Paper{simple("2609.00003", t0)}, nil, at(2)); res.Routed != 0 {
		t.Errorf("Ingest routed %d rows", res.Routed)
	}
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 3 {
		t.Errorf("OutboxDepth after Ingest = %d, %v; want 3", n, err)
	}
}

func testRoutingCalls(t *testing.T, s Store) {
	r := routeAll(slackA)
	p := arxiv("2609.00001", t0, paper.AnnounceNew, "Title", "Abstract.", "cs.LG")
	steps := []struct {
		name  string
		paper paper.Paper
		calls []string // keys offered to the router
	}{
		{"new paper", p, []string{p.Key}},
		{"the same again", p, nil},
		{"a cross-list adds a category", arxiv("2609.00001", t0, paper.AnnounceCross, "Title", "Abstract.", "stat.ML"), []string{p.Key}},
		{"a replacement", func() paper.Paper {
			v2 := arxiv("2609.00001", t0, paper.AnnounceReplace, "Title v2", "Abstract.", "cs.LG")
			v2.Version = 2
			return v2
		}(), nil},
		{"upvotes", paper.Paper{ArxivID: "2609.00001", HasHF: true, Upvotes: 5}, []string{p.Key}},
		{"a replacement of an unknown paper", arxiv("2609.00009", t0, paper.AnnounceReplace, "Other", "x"), nil},
	}
	for i, st := range steps {
		mustRoute(t, s, "src", []paper.Paper{st.paper}, at(i), r.route)
		calls := r.take()
		if got := callKeys(calls); !slices.Equal(got, st.calls) {
			t.Errorf("%s: router offered %v, want %v", st.name, got, st.calls)
			continue
		}
		for _, c := range calls {
			if !c.firstSeen.Equal(at(0)) {
				t.Errorf("%s: router saw first-seen %s, want the first poll's %s", st.name, c.firstSeen, at(0))
			}
		}
		if st.name == "a cross-list adds a category" && len(calls) == 1 {
			if got := calls[0].paper.Categories; !slices.Equal(got, []string{"cs.LG", "stat.ML"}) {
				t.Errorf("router saw categories %v, want the merged paper's", got)
			}
		}
	}
}

func testRoutingOnce(t *testing.T, s Store) {
	toB := false
	r := &recorder{to: func(*paper.Paper) []channel.Ref {
		if toB {
			return []channel.Ref{slackA, slackB}
		}
		return []channel.Ref{slackA}
	}}
	p := arxiv("2609.00001", t0, paper.AnnounceNew, "Title", "Abstract.", "cs.LG")
	q := simple("2609.00002", t0)
	if res := mustRoute(t, s, "arxiv-nc", []paper.Paper{p, q}, at(0), r.route); res.Routed != 2 {
		t.Fatalf("first poll routed %d rows, want 2", res.Routed)
	}
	toB = true
	steps := []struct {
		name   string
		source string
		paper  paper.Paper
		routed int
	}{
		{"a cross-list from another source", "arxiv-lg", arxiv("2609.00001", t0, paper.AnnounceCross, "Title", "Abstract.", "stat.ML"), 1},
		{"upvotes from Hugging Face", "hf", paper.Paper{ArxivID: "2609.00001", HasHF: true, Upvotes: 5}, 0},
		{"a new version", "arxiv-nc", func() paper.Paper {
			v2 := arxiv("2609.00001", t0, paper.AnnounceNew, "Title", "Abstract v2.", "cs.LG")
			v2.Version = 2
			return v2
		}(), 0},
	}
	for i, st := range steps {
		if res := mustRoute(t, s, st.source, []paper.Paper{st.paper}, at(i+1), r.route); res.Routed != st.routed {
			t.Errorf("%s: Routed = %d, want %d", st.name, res.Routed, st.routed)
		}
	}
	if got := itemKeys(pending(t, s, slackA)); !slices.Equal(got, []string{p.Key, q.Key}) {
		t.Errorf("rows of %s = %v, want one per paper", slackA, got)
	}
	if got := itemKeys(pending(t, s, slackB)); !slices.Equal(got, []string{p.Key}) {
		t.Errorf("rows of %s = %v, want one", slackB, got)
	}
	// A sent row still counts: the channel saw the paper.
	check(t, s.MarkSent(t.Context(), itemIDs(pending(t, s, slackA)), "m1", at(5)), "MarkSent")
	if res := mustRoute(t, s, "hf", []paper.Paper{{ArxivID: "2609.00001", HasHF: true, Upvotes: 50}}, at(6), r.route); res.Routed != 0 {
		t.Errorf("after sending: Routed = %d, want 0", res.Routed)
	}
	if n, err := s.Enqueue(t.Context(), slackA, channel.KindBackfill, map[string][]string{p.Key: {"x"}, q.Key: nil}, at(7)); err != nil || n != 0 {
		t.Errorf("backfill of papers the channel had = %d, %v; want 0", n, err)
	}
	if n, err := s.Enqueue(t.Context(), discordC, channel.KindBackfill, map[string][]string{p.Key: {"x"}}, at(7)); err != nil || n != 1 {
		t.Errorf("backfill to a new channel = %d, %v; want 1", n, err)
	}
	if res := mustRoute(t, s, "hf", []paper.Paper{{ArxivID: "2609.00001", HasHF: true, Upvotes: 60}}, at(8),
		routeAll(discordC).route); res.Routed != 0 {
		t.Errorf("routing a paper its channel has as backfill: Routed = %d, want 0", res.Routed)
	}
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 2 {
		t.Errorf("OutboxDepth = %d, %v; want 2 (%s's row and %s's backfill)", n, err, slackB, discordC)
	}
}

func testRoutingFailure(t *testing.T, s Store) {
	v1 := map[string]paper.Validators{"https://feed/1": {ETag: `"1"`}}
	a := simple("2609.00001", t0)
	if _, err := s.IngestAndRoute(t.Context(), "arxiv", []paper.Paper{a}, v1, at(1), routeAll(slackA).route); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The router runs inside the ingest; cancelling the context there fails the ingest half way.
	failing := func(p *paper.Paper, firstSeen time.Time) []channel.Route {
		cancel()
		return []channel.Route{{Channel: slackA}, {Channel: slackB}}
	}
	b := simple("2609.00002", t0)
	a2 := a
	a2.Categories = []string{"cs.LG", "cs.AI"}
	v2 := map[string]paper.Validators{"https://feed/1": {ETag: `"2"`}, "https://feed/2": {ETag: `"x"`}}
	_, err := s.IngestAndRoute(ctx, "arxiv", []paper.Paper{b, a2}, v2, at(2), failing)
	if err == nil {
		t.Fatal("IngestAndRoute succeeded with its context cancelled")
	}
	all, err := s.Recent(t.Context(), time.Time{}, 0)
	check(t, err, "Recent")
	if got := keysOf(all); !slices.Equal(got, []string{a.Key}) {
		t.Errorf("papers after the failed ingest = %v, want only %s", got, a.Key)
	}
	if got := storedPaper(t, s, a.Key).Categories; !slices.Equal(got, []string{"cs.LG"}) {
		t.Errorf("categories after the failed ingest = %v, want the first poll's", got)
	}
	if got, err := s.Validators(t.Context(), "arxiv"); err != nil || jsonOf(t, got) != jsonOf(t, v1) {
		t.Errorf("validators after the failed ingest = %v, %v; want %v", got, err, v1)
	}
	if got := itemKeys(pending(t, s, slackA)); !slices.Equal(got, []string{a.Key}) {
		t.Errorf("rows of %s = %v, want only the first poll's", slackA, got)
	}
	if got := pending(t, s, slackB); len(got) != 0 {
		t.Errorf("rows of %s = %v, want none", slackB, itemKeys(got))
	}
	states, err := s.SourceStates(t.Context())
	check(t, err, "SourceStates")
	if len(states) != 1 || states[0].Polls != 1 || states[0].Papers != 1 || !states[0].LastSuccess.Equal(at(1)) {
		t.Errorf("source state after the failed ingest = %+v, want the first poll's", states)
	}
}

var claimCases = []testCase{
	{"a live lease keeps others out until it expires", testClaimExpiry},
	{"the holder extends its lease", testClaimExtend},
	{"release", testClaimRelease},
	{"leases are per channel and keep channel settings", testClaimPerChannel},
	{"source leases", testSourceLeases},
	{"heartbeats count the live senders", testHeartbeats},
}

func testHeartbeats(t *testing.T, s Store) {
	beat := func(owner string, at time.Time, want int) {
		t.Helper()
		got, err := s.Heartbeat(t.Context(), owner, at, 20*time.Second)
		if err != nil || got != want {
			t.Errorf("Heartbeat(%s, %s) = %d, %v; want %d", owner, at.Format(time.TimeOnly), got, err, want)
		}
	}
	beat("a", t0, 1)
	beat("b", t0.Add(5*time.Second), 2)
	beat("a", t0.Add(10*time.Second), 2) // a beat again: still two instances
	beat("a", t0.Add(30*time.Second), 1) // b is silent for 25 s: gone
	beat("b", t0.Add(31*time.Second), 2) // and back
	check(t, s.Leave(t.Context(), "b"), "Leave")
	beat("a", t0.Add(32*time.Second), 1) // b left cleanly: counted out at once
}

func testSourceLeases(t *testing.T, s Store) {
	claim := func(source, owner string, at time.Time, want bool) {
		t.Helper()
		got, err := s.ClaimSource(t.Context(), source, owner, at, time.Minute)
		if err != nil || got != want {
			t.Errorf("ClaimSource(%s, %s, %s) = %v, %v; want %v", source, owner, at.Format(time.TimeOnly), got, err, want)
		}
	}
	claim("arxiv", "one", t0, true)
	claim("hf", "two", t0, true) // per source
	claim("arxiv", "two", t0.Add(30*time.Second), false)
	claim("arxiv", "one", t0.Add(50*time.Second), true) // renewal
	claim("arxiv", "two", t0.Add(70*time.Second), false)
	claim("arxiv", "two", t0.Add(111*time.Second), true) // expired: taken over
	check(t, s.ReleaseSource(t.Context(), "arxiv", "one"), "ReleaseSource by a former holder")
	claim("arxiv", "one", t0.Add(112*time.Second), false)
	check(t, s.ReleaseSource(t.Context(), "arxiv", "two"), "ReleaseSource")
	claim("arxiv", "one", t0.Add(113*time.Second), true)
	// /papers sources names the instance that polled a source last, even after it let go.
	check(t, s.RecordNotModified(t.Context(), "arxiv", t0.Add(114*time.Second)), "RecordNotModified")
	check(t, s.ReleaseSource(t.Context(), "arxiv", "one"), "ReleaseSource")
	states, err := s.SourceStates(t.Context())
	check(t, err, "SourceStates")
	if len(states) != 1 || states[0].PolledBy != "one" {
		t.Errorf("SourceStates = %+v, want arxiv polled by one", states)
	}
}

func mustClaim(t *testing.T, s Store, ch channel.Ref, owner string, at time.Time, ttl time.Duration, want bool) {
	t.Helper()
	got, err := s.Claim(t.Context(), ch, owner, at, ttl)
	if err != nil {
		t.Fatalf("Claim(%s, %s): %v", ch, owner, err)
	}
	if got != want {
		t.Errorf("Claim(%s, %s, %s) = %v, want %v", ch, owner, at.Format(time.TimeOnly), got, want)
	}
}

func testClaimExpiry(t *testing.T, s Store) {
	mustClaim(t, s, slackA, "one", t0, time.Minute, true)
	mustClaim(t, s, slackA, "two", t0.Add(30*time.Second), time.Minute, false)
	mustClaim(t, s, slackA, "two", t0.Add(59*time.Second), time.Minute, false)
	mustClaim(t, s, slackA, "two", t0.Add(61*time.Second), time.Minute, true)
	mustClaim(t, s, slackA, "one", t0.Add(62*time.Second), time.Minute, false)
}

func testClaimExtend(t *testing.T, s Store) {
	mustClaim(t, s, slackA, "one", t0, time.Minute, true)
	mustClaim(t, s, slackA, "one", t0.Add(50*time.Second), time.Minute, true)
	mustClaim(t, s, slackA, "two", t0.Add(70*time.Second), time.Minute, false) // past the first lease, not the second
	mustClaim(t, s, slackA, "two", t0.Add(111*time.Second), time.Minute, true)
}

func testClaimRelease(t *testing.T, s Store) {
	check(t, s.Release(t.Context(), slackA, "one"), "Release without a lease")
	mustClaim(t, s, slackA, "one", t0, time.Minute, true)
	check(t, s.Release(t.Context(), slackA, "two"), "Release by another owner")
	mustClaim(t, s, slackA, "two", t0.Add(time.Second), time.Minute, false)
	check(t, s.Release(t.Context(), slackA, "one"), "Release")
	mustClaim(t, s, slackA, "two", t0.Add(2*time.Second), time.Minute, true)
	mustClaim(t, s, slackA, "one", t0.Add(3*time.Second), time.Minute, false)
}

func testClaimPerChannel(t *testing.T, s Store) {
	digest := channel.Channel{Ref: slackA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "Europe/Berlin"}
	check(t, s.SetChannelMode(t.Context(), digest, t0), "SetChannelMode")
	mustClaim(t, s, slackA, "one", t0, time.Minute, true)
	mustClaim(t, s, slackB, "two", t0, time.Minute, true)
	mustClaim(t, s, discordC, "one", t0, time.Minute, true)
	mustClaim(t, s, slackB, "one", t0, time.Minute, false)
	got, err := s.Channel(t.Context(), slackA)
	check(t, err, "Channel")
	if got.Mode != channel.ModeDigest || got.DigestAt != "09:00" || got.DigestTZ != "Europe/Berlin" {
		t.Errorf("Channel after Claim = %+v, want its digest settings", got)
	}
	// Settings written under a lease leave the lease alone.
	check(t, s.SetChannelMode(t.Context(), channel.Channel{Ref: slackA, Mode: channel.ModeInstant}, t0), "SetChannelMode")
	check(t, s.BlockChannel(t.Context(), slackA, "", t0), "BlockChannel")
	check(t, s.SetLastDigest(t.Context(), slackA, t0), "SetLastDigest")
	mustClaim(t, s, slackA, "two", t0.Add(time.Second), time.Minute, false)
}

var outboxCases = []testCase{
	{"unsent rows come oldest paper first, by kind and state, with limits", testOutboxUnsent},
	{"sent rows and messages", testOutboxSent},
	{"failed rows", testOutboxFailed},
	{"attempts", testOutboxAttempts},
	{"overflow", testOutboxOverflow},
	{"empty id lists", testOutboxEmptyIDs},
	{"rejected rows wait for their retry time", testOutboxRejected},
	{"set-aside rows are counted, listed and re-queued", testOutboxSetAside},
	{"a backfill queues set-aside rows again", testOutboxBackfillSetAside},
}

func testOutboxUnsent(t *testing.T, s Store) {
	// Batch order is not published order.
	batch := []paper.Paper{
		simple("2609.00001", t0.Add(-1*time.Hour)), simple("2609.00002", t0.Add(-3*time.Hour)),
		simple("2609.00003", t0.Add(-2*time.Hour)), simple("2609.00004", t0),
	}
	mustRoute(t, s, "arxiv", batch, at(1), routeAll(slackA, slackB).route)
	// A later poll brings an older paper: it sorts first, whatever the row order.
	older := simple("2609.00005", t0.Add(-5*time.Hour))
	mustRoute(t, s, "arxiv", []paper.Paper{older}, at(2), routeAll(slackA).route)
	bf := simple("2609.00006", t0.Add(-4*time.Hour))
	mustIngest(t, s, "arxiv", []paper.Paper{bf}, nil, at(2))
	if n, err := s.Enqueue(t.Context(), slackA, channel.KindBackfill, map[string][]string{bf.Key: {"eeg"}}, at(3)); err != nil || n != 1 {
		t.Fatalf("Enqueue = %d, %v; want 1", n, err)
	}
	want := []string{older.Key, batch[1].Key, batch[2].Key, batch[0].Key, batch[3].Key}
	if got := itemKeys(pending(t, s, slackA)); !slices.Equal(got, want) {
		t.Errorf("pending match rows of %s = %v, want %v (oldest paper first)", slackA, got, want)
	}
	for _, limit := range []int{1, 2, 5, 6} {
		items, err := s.Unsent(t.Context(), slackA, channel.KindMatch, []string{channel.StatePending}, limit)
		check(t, err, "Unsent")
		if got := itemKeys(items); !slices.Equal(got, want[:min(limit, len(want))]) {
			t.Errorf("Unsent limit %d = %v, want %v", limit, got, want[:min(limit, len(want))])
		}
	}
	backfill := unsent(t, s, slackA, channel.KindBackfill, channel.StatePending)
	if len(backfill) != 1 || backfill[0].Paper.Key != bf.Key || backfill[0].Kind != channel.KindBackfill ||
		!slices.Equal(backfill[0].Matched, []string{"eeg"}) || !backfill[0].CreatedAt.Equal(at(3)) {
		t.Errorf("backfill rows = %+v, want %s with its matched terms", backfill, bf.Key)
	}
	if got := itemKeys(pending(t, s, slackB)); !slices.Equal(got, []string{batch[1].Key, batch[2].Key, batch[0].Key, batch[3].Key}) {
		t.Errorf("pending rows of %s = %v", slackB, got)
	}
	if got := unsent(t, s, slackA, channel.KindMatch, channel.StateOverflow); len(got) != 0 {
		t.Errorf("overflow rows = %v, want none", itemKeys(got))
	}
	if got := pending(t, s, discordC); len(got) != 0 {
		t.Errorf("rows of a channel without any = %v", itemKeys(got))
	}
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 10 {
		t.Errorf("OutboxDepth = %d, %v; want 10", n, err)
	}
}

func testOutboxSent(t *testing.T, s Store) {
	papers := []paper.Paper{simple("2609.00001", t0.Add(-3*time.Hour)), simple("2609.00002", t0.Add(-2*time.Hour)),
		simple("2609.00003", t0.Add(-time.Hour))}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(slackA, slackB).route)
	items := pending(t, s, slackA)
	// A digest: two rows, one message.
	check(t, s.MarkSent(t.Context(), itemIDs(items[:2]), "m1", at(1)), "MarkSent")
	if got := itemKeys(pending(t, s, slackA)); !slices.Equal(got, []string{papers[2].Key}) {
		t.Errorf("pending after MarkSent = %v, want %s", got, papers[2].Key)
	}
	check(t, s.MarkSent(t.Context(), itemIDs(items[2:]), "m2", at(2)), "MarkSent")
	messages := []struct {
		ch    channel.Ref
		since time.Time
		want  int
	}{
		{slackA, at(0), 2}, {slackA, at(1), 2}, {slackA, at(1).Add(time.Second), 1}, {slackA, at(2), 1},
		{slackA, at(2).Add(time.Second), 0}, {slackB, at(0), 0}, {discordC, at(0), 0},
	}
	for _, m := range messages {
		if n, err := s.MessagesSince(t.Context(), m.ch, m.since); err != nil || n != m.want {
			t.Errorf("MessagesSince(%s, %s) = %d, %v; want %d", m.ch, m.since.Format(time.TimeOnly), n, err, m.want)
		}
	}
	w := work(t, s)
	if _, ok := w[slackA]; ok || w[slackB].Pending != 3 {
		t.Errorf("Work = %+v, want only %s with 3 rows", w, slackB)
	}
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 3 {
		t.Errorf("OutboxDepth = %d, %v; want 3", n, err)
	}
	if got := unsent(t, s, slackA, channel.KindMatch, channel.StatePending, channel.StateOverflow, channel.StateFailed); len(got) != 0 {
		t.Errorf("sent rows listed as unsent: %v", itemKeys(got))
	}
}

func testOutboxFailed(t *testing.T, s Store) {
	papers := []paper.Paper{simple("2609.00001", t0.Add(-2*time.Hour)), simple("2609.00002", t0.Add(-time.Hour))}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(slackA).route)
	items := pending(t, s, slackA)
	check(t, s.MarkFailed(t.Context(), itemIDs(items[:1]), errors.New("invalid_blocks"), at(1)), "MarkFailed")
	if got := itemKeys(pending(t, s, slackA)); !slices.Equal(got, []string{papers[1].Key}) {
		t.Errorf("pending after MarkFailed = %v", got)
	}
	failed := unsent(t, s, slackA, channel.KindMatch, channel.StateFailed)
	if len(failed) != 1 || failed[0].Paper.Key != papers[0].Key || failed[0].State != channel.StateFailed || failed[0].Attempts != 1 {
		t.Errorf("failed rows = %+v, want %s with one attempt", failed, papers[0].Key)
	}
	if w := work(t, s); w[slackA].Pending != 1 {
		t.Errorf("Work = %+v, want one pending row", w)
	}
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 1 {
		t.Errorf("OutboxDepth = %d, %v; want 1: a failed row is set aside", n, err)
	}
}

func testOutboxAttempts(t *testing.T, s Store) {
	mustRoute(t, s, "arxiv", []paper.Paper{simple("2609.00001", t0)}, at(0), routeAll(slackA).route)
	ids := itemIDs(pending(t, s, slackA))
	for want := 1; want <= 2; want++ {
		check(t, s.RecordAttempt(t.Context(), ids, errors.New("503 service unavailable")), "RecordAttempt")
		items := pending(t, s, slackA)
		if len(items) != 1 || items[0].Attempts != want || items[0].State != channel.StatePending {
			t.Errorf("after %d attempts: %+v, want a pending row with %d attempts", want, items, want)
		}
	}
	check(t, s.MarkFailed(t.Context(), ids, errors.New("rejected"), at(1)), "MarkFailed")
	if failed := unsent(t, s, slackA, channel.KindMatch, channel.StateFailed); len(failed) != 1 || failed[0].Attempts != 3 {
		t.Errorf("failed rows = %+v, want one with 3 attempts", failed)
	}
}

func testOutboxOverflow(t *testing.T, s Store) {
	papers := []paper.Paper{simple("2609.00001", t0.Add(-3*time.Hour)), simple("2609.00002", t0.Add(-2*time.Hour)),
		simple("2609.00003", t0.Add(-time.Hour))}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(slackA).route)
	items := pending(t, s, slackA)
	check(t, s.MarkSent(t.Context(), itemIDs(items[:1]), "m1", at(1)), "MarkSent")
	// The sent row stays sent; the pending one overflows.
	check(t, s.MarkOverflow(t.Context(), itemIDs(items[:2])), "MarkOverflow")
	over := unsent(t, s, slackA, channel.KindMatch, channel.StateOverflow)
	if got := itemKeys(over); !slices.Equal(got, []string{papers[1].Key}) || over[0].State != channel.StateOverflow {
		t.Errorf("overflow rows = %+v, want %s", over, papers[1].Key)
	}
	if got := itemKeys(pending(t, s, slackA)); !slices.Equal(got, []string{papers[2].Key}) {
		t.Errorf("pending rows = %v, want %s", got, papers[2].Key)
	}
	both := unsent(t, s, slackA, channel.KindMatch, channel.StatePending, channel.StateOverflow)
	if got := itemKeys(both); !slices.Equal(got, []string{papers[1].Key, papers[2].Key}) {
		t.Errorf("pending and overflow rows = %v, oldest paper first", got)
	}
	if n, err := s.MessagesSince(t.Context(), slackA, at(0)); err != nil || n != 1 {
		t.Errorf("MessagesSince = %d, %v; want 1", n, err)
	}
	if w := work(t, s)[slackA]; w.Pending != 1 || w.Overflow != 1 {
		t.Errorf("Work = %+v, want 1 pending and 1 overflow", w)
	}
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 2 {
		t.Errorf("OutboxDepth = %d, %v; want 2", n, err)
	}
	// An overflow row is sent with the next digest.
	check(t, s.MarkSent(t.Context(), itemIDs(both), "digest", at(2)), "MarkSent")
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 0 {
		t.Errorf("OutboxDepth after the digest = %d, %v; want 0", n, err)
	}
}

func testOutboxEmptyIDs(t *testing.T, s Store) {
	ctx := t.Context()
	mustRoute(t, s, "arxiv", []paper.Paper{simple("2609.00001", t0)}, at(0), routeAll(slackA).route)
	for name, err := range map[string]error{
		"MarkSent":      s.MarkSent(ctx, nil, "m", at(1)),
		"MarkFailed":    s.MarkFailed(ctx, nil, errors.New("x"), at(1)),
		"MarkOverflow":  s.MarkOverflow(ctx, []int64{}),
		"RecordAttempt": s.RecordAttempt(ctx, nil, errors.New("x")),
		"MarkRejected":  s.MarkRejected(ctx, nil, errors.New("x"), at(1)),
	} {
		if err != nil {
			t.Errorf("%s with no ids: %v", name, err)
		}
	}
	if items := pending(t, s, slackA); len(items) != 1 || items[0].Attempts != 0 {
		t.Errorf("rows after no-op marks = %+v", items)
	}
}

var digestCases = []testCase{
	{"work describes each channel with unsent rows", testDigestWork},
	{"the last digest time", testDigestLast},
	{"a mode change restarts the digest clock", testDigestModeChange},
}

func testDigestWork(t *testing.T, s Store) {
	digest := channel.Channel{Ref: slackA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "Europe/Berlin"}
	check(t, s.SetChannelMode(t.Context(), digest, t0), "SetChannelMode")
	bf := simple("2609.00009", t0.Add(-48*time.Hour))
	mustIngest(t, s, "arxiv", []paper.Paper{bf}, nil, t0)
	if _, err := s.Enqueue(t.Context(), slackA, channel.KindBackfill, map[string][]string{bf.Key: nil}, at(0)); err != nil {
		t.Fatal(err)
	}
	p1, p2, p3 := simple("2609.00001", t0.Add(-3*time.Hour)), simple("2609.00002", t0.Add(-2*time.Hour)), simple("2609.00003", t0)
	mustRoute(t, s, "arxiv", []paper.Paper{p1, p2}, at(1), routeAll(slackA, slackB).route)
	mustRoute(t, s, "arxiv", []paper.Paper{p3}, at(2), routeAll(slackA).route)
	check(t, s.MarkOverflow(t.Context(), itemIDs(pending(t, s, slackA)[:1])), "MarkOverflow")
	check(t, s.BlockChannel(t.Context(), slackB, "channel_not_found", at(3)), "BlockChannel")

	w := work(t, s)
	a := w[slackA]
	if a.Mode != channel.ModeDigest || a.DigestAt != "09:00" || a.DigestTZ != "Europe/Berlin" || a.Blocked != "" {
		t.Errorf("Work of %s = %+v, want its digest settings", slackA, a)
	}
	if a.Pending != 2 || a.Overflow != 1 || a.Backfill != 1 {
		t.Errorf("Work of %s: pending %d, overflow %d, backfill %d; want 2, 1, 1", slackA, a.Pending, a.Overflow, a.Backfill)
	}
	if !a.OldestUnsent.Equal(at(1)) || !a.LastDigestAt.IsZero() {
		t.Errorf("Work of %s: oldest unsent %s, last digest %s; want the first match row's %s and none", slackA,
			a.OldestUnsent, a.LastDigestAt, at(1))
	}
	b := w[slackB]
	if b.Mode != channel.ModeInstant || b.Pending != 2 || b.Blocked != "channel_not_found" || !b.OldestUnsent.Equal(at(1)) {
		t.Errorf("Work of %s = %+v, want instant, blocked, 2 pending", slackB, b)
	}
	if len(w) != 2 {
		t.Errorf("Work lists %d channels, want 2", len(w))
	}
}

func testDigestLast(t *testing.T, s Store) {
	// Before the channel has any row (the sender starts a digest clock when it first sees the channel).
	check(t, s.SetLastDigest(t.Context(), slackA, at(1)), "SetLastDigest")
	if w := work(t, s); len(w) != 0 {
		t.Errorf("Work = %+v, want none without rows", w)
	}
	mustRoute(t, s, "arxiv", []paper.Paper{simple("2609.00001", t0)}, at(2), routeAll(slackA).route)
	if got := work(t, s)[slackA].LastDigestAt; !got.Equal(at(1)) {
		t.Errorf("LastDigestAt = %s, want %s", got, at(1))
	}
	check(t, s.SetLastDigest(t.Context(), slackA, at(3)), "SetLastDigest")
	if got := work(t, s)[slackA].LastDigestAt; !got.Equal(at(3)) {
		t.Errorf("LastDigestAt = %s, want %s", got, at(3))
	}
}

func testDigestModeChange(t *testing.T, s Store) {
	set := func(mode, digestAt string) {
		t.Helper()
		c := channel.Channel{Ref: slackA, Mode: mode}
		if mode == channel.ModeDigest {
			c.DigestAt, c.DigestTZ = digestAt, "UTC"
		}
		check(t, s.SetChannelMode(t.Context(), c, t0), "SetChannelMode")
	}
	last := func() time.Time {
		t.Helper()
		return work(t, s)[slackA].LastDigestAt
	}
	set(channel.ModeDigest, "09:00")
	mustRoute(t, s, "arxiv", []paper.Paper{simple("2609.00001", t0)}, at(0), routeAll(slackA).route)
	check(t, s.SetLastDigest(t.Context(), slackA, at(1)), "SetLastDigest")
	set(channel.ModeDigest, "10:00")
	if got := last(); !got.Equal(at(1)) {
		t.Errorf("after a new digest time: last digest %s, want %s kept", got, at(1))
	}
	if got := work(t, s)[slackA].DigestAt; got != "10:00" {
		t.Errorf("digest time = %q, want 10:00", got)
	}
	set(channel.ModeInstant, "")
	if got := last(); !got.IsZero() {
		t.Errorf("after switching to instant: last digest %s, want none", got)
	}
	check(t, s.SetLastDigest(t.Context(), slackA, at(2)), "SetLastDigest")
	set(channel.ModeDigest, "09:00")
	if got := last(); !got.IsZero() {
		t.Errorf("after switching to digest: last digest %s, want none (the clock restarts)", got)
	}
}
