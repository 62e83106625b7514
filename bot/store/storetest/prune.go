package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

var pruneCases = []testCase{
	{"pruned sent rows are never announced again", testPruneOnceEver},
	{"pruning keeps unsent, failed and recent rows", testPruneKeeps},
}

// testPruneOnceEver: after its row is pruned, a paper that routes again (a cross-list adding a category, a
// backfill) gets no new row in the channel it was posted to, while another channel still gets it.
func testPruneOnceEver(t *testing.T, s Store) {
	ctx := t.Context()
	pub := t0.Add(-3 * time.Hour)
	p1, p2 := simple("2609.00001", pub), simple("2609.00002", pub.Add(time.Hour))
	mustRoute(t, s, "arxiv", []paper.Paper{p1, p2}, at(0), routeAll(slackA).route)
	items := pending(t, s, slackA)
	if len(items) != 2 {
		t.Fatalf("pending = %v, want both papers", itemKeys(items))
	}
	check(t, s.MarkSent(ctx, itemIDs(items[:1]), "m1", at(1)), "MarkSent")
	check(t, s.MarkSent(ctx, itemIDs(items[1:]), "m2", at(5)), "MarkSent")
	if id, ok, err := s.PostedMessage(ctx, slackA, p1.Key); err != nil || !ok || id != "m1" {
		t.Errorf("PostedMessage before pruning = %q, %v, %v; want m1", id, ok, err)
	}

	n, err := s.PruneSent(ctx, at(3))
	check(t, err, "PruneSent")
	if n != 1 {
		t.Errorf("PruneSent pruned %d rows, want 1 (the row sent before the cut-off)", n)
	}
	if _, ok, err := s.PostedMessage(ctx, slackA, p1.Key); err != nil || ok {
		t.Errorf("PostedMessage of a pruned row: ok %v, err %v; want not found", ok, err)
	}
	if id, ok, err := s.PostedMessage(ctx, slackA, p2.Key); err != nil || !ok || id != "m2" {
		t.Errorf("PostedMessage of a kept row = %q, %v, %v; want m2", id, ok, err)
	}

	// A cross-list adds a category: the paper routes again, to A (which had it) and B (which did not).
	cross := arxiv("2609.00001", pub, paper.AnnounceCross, p1.Title, p1.Abstract, "cs.LG", "cs.AI")
	res := mustRoute(t, s, "arxiv", []paper.Paper{cross}, at(6), routeAll(slackA, slackB).route)
	if res.Routed != 1 {
		t.Errorf("routed %d rows after pruning, want 1 (channel B only)", res.Routed)
	}
	if got := pending(t, s, slackA); len(got) != 0 {
		t.Errorf("channel A has %v pending: a pruned paper was announced again", itemKeys(got))
	}
	if got := itemKeys(pending(t, s, slackB)); !slices.Equal(got, []string{p1.Key}) {
		t.Errorf("channel B pending = %v, want %s", got, p1.Key)
	}
	added, err := s.Enqueue(ctx, slackA, channel.KindBackfill, map[string][]string{p1.Key: nil, p2.Key: nil}, at(7))
	check(t, err, "Enqueue")
	if added != 0 {
		t.Errorf("a backfill queued %d rows of papers channel A already got", added)
	}
	// Pruning again finds nothing new, and leaves the posted record.
	n, err = s.PruneSent(ctx, at(3))
	check(t, err, "PruneSent")
	if n != 0 {
		t.Errorf("second PruneSent pruned %d rows, want 0", n)
	}
}

// testPruneKeeps: only sent rows older than the cut-off go; pending and set-aside rows stay whatever their age.
func testPruneKeeps(t *testing.T, s Store) {
	ctx := t.Context()
	ps := []paper.Paper{simple("2609.00011", t0.Add(-3*time.Hour)), simple("2609.00012", t0.Add(-2*time.Hour)), simple("2609.00013", t0.Add(-time.Hour))}
	mustRoute(t, s, "arxiv", ps, at(0), routeAll(slackA).route)
	items := pending(t, s, slackA)
	check(t, s.MarkFailed(ctx, itemIDs(items[:1]), errors.New("invalid_blocks"), at(1)), "MarkFailed")
	check(t, s.MarkSent(ctx, itemIDs(items[1:2]), "m", at(1)), "MarkSent")
	n, err := s.PruneSent(ctx, at(100))
	check(t, err, "PruneSent")
	if n != 1 {
		t.Errorf("PruneSent pruned %d rows, want 1", n)
	}
	if got := itemKeys(pending(t, s, slackA)); !slices.Equal(got, []string{ps[2].Key}) {
		t.Errorf("pending after pruning = %v, want %s", got, ps[2].Key)
	}
	if got := itemKeys(unsent(t, s, slackA, channel.KindMatch, channel.StateFailed)); !slices.Equal(got, []string{ps[0].Key}) {
		t.Errorf("set-aside rows after pruning = %v, want %s", got, ps[0].Key)
	}
	if d, err := s.OutboxDepth(ctx); err != nil || d != 1 {
		t.Errorf("OutboxDepth = %d, %v; want 1", d, err)
	}
}
