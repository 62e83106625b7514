package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

func retries(t *testing.T, s Store, ch channel.Ref, now time.Time) []channel.OutboxItem {
	t.Helper()
	items, err := s.Retries(t.Context(), ch, now, 0)
	check(t, err, "Retries")
	return items
}

func listFailed(t *testing.T, s Store, ch channel.Ref, limit int) []channel.OutboxItem {
	t.Helper()
	items, err := s.ListFailed(t.Context(), ch, limit)
	check(t, err, "ListFailed")
	return items
}

func countFailed(t *testing.T, s Store, ch channel.Ref) int {
	t.Helper()
	n, err := s.CountFailed(t.Context(), ch)
	check(t, err, "CountFailed")
	return n
}

func testOutboxRejected(t *testing.T, s Store) {
	papers := []paper.Paper{simple("2609.00001", t0.Add(-3*time.Hour)), simple("2609.00002", t0.Add(-2*time.Hour)),
		simple("2609.00003", t0.Add(-time.Hour))}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(slackA).route)
	items := pending(t, s, slackA)
	check(t, s.MarkRejected(t.Context(), itemIDs(items[:1]), errors.New("invalid_arguments"), at(2)), "MarkRejected")

	// Until it is due the row is in no list the sender reads, and Work counts it apart.
	if got := itemKeys(pending(t, s, slackA)); !slices.Equal(got, keysOf(papers[1:])) {
		t.Errorf("pending rows after a rejection = %v, want %v (the rejected one waits for its retry)", got, keysOf(papers[1:]))
	}
	w := work(t, s)[slackA]
	if w.Pending != 2 || w.Retry != 1 || !w.NextRetry.Equal(at(2)) {
		t.Errorf("Work = %+v, want 2 pending and 1 retry due at %s", w, at(2))
	}
	if got := retries(t, s, slackA, at(2).Add(-time.Second)); len(got) != 0 {
		t.Errorf("Retries before the retry time = %v, want none", itemKeys(got))
	}
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 3 {
		t.Errorf("OutboxDepth = %d, %v; want 3: a row waiting for a retry is unsent", n, err)
	}
	due := retries(t, s, slackA, at(2))
	if len(due) != 1 || due[0].Paper.Key != papers[0].Key || due[0].Rejections != 1 || due[0].Attempts != 1 ||
		!due[0].RetryAt.Equal(at(2)) || due[0].LastError != "invalid_arguments" || due[0].State != channel.StatePending {
		t.Fatalf("Retries at the retry time = %+v, want %s pending with 1 rejection, retry at %s", due, papers[0].Key, at(2))
	}
	if got := retries(t, s, slackB, at(5)); len(got) != 0 {
		t.Errorf("Retries of another channel = %v", itemKeys(got))
	}

	// A second rejection counts, and moves the retry time.
	check(t, s.MarkRejected(t.Context(), itemIDs(due), errors.New("invalid_blocks"), at(4)), "MarkRejected")
	if got := retries(t, s, slackA, at(3)); len(got) != 0 {
		t.Errorf("Retries before the second retry time = %v", itemKeys(got))
	}
	if got := retries(t, s, slackA, at(4)); len(got) != 1 || got[0].Rejections != 2 || got[0].LastError != "invalid_blocks" {
		t.Errorf("Retries after a second rejection = %+v, want one row with 2 rejections", got)
	}
	// Accepted at last: sent, and waiting for nothing.
	check(t, s.MarkSent(t.Context(), itemIDs(due), "m1", at(4)), "MarkSent")
	if got := retries(t, s, slackA, at(9)); len(got) != 0 {
		t.Errorf("Retries after the row was sent = %v", itemKeys(got))
	}
	if w := work(t, s)[slackA]; w.Retry != 0 || w.Pending != 2 {
		t.Errorf("Work after the retried row was sent = %+v, want 2 pending, no retry", w)
	}
	// MarkRejected leaves a row that is no longer unsent alone.
	check(t, s.MarkRejected(t.Context(), itemIDs(due), errors.New("late"), at(5)), "MarkRejected")
	if got := retries(t, s, slackA, at(9)); len(got) != 0 {
		t.Errorf("a sent row was made to wait for a retry: %v", itemKeys(got))
	}
}

func testOutboxSetAside(t *testing.T, s Store) {
	papers := []paper.Paper{simple("2609.00001", t0.Add(-3*time.Hour)), simple("2609.00002", t0.Add(-2*time.Hour)),
		simple("2609.00003", t0.Add(-time.Hour))}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(slackA, slackB).route)
	items := pending(t, s, slackA)
	check(t, s.MarkRejected(t.Context(), itemIDs(items[1:2]), errors.New("invalid_blocks"), at(1)), "MarkRejected")
	check(t, s.MarkFailed(t.Context(), itemIDs(items[:1]), errors.New("400 Invalid Form Body"), at(1)), "MarkFailed")
	check(t, s.MarkFailed(t.Context(), itemIDs(items[1:2]), errors.New("msg_too_long"), at(2)), "MarkFailed")

	if n := countFailed(t, s, slackA); n != 2 {
		t.Errorf("CountFailed(%s) = %d, want 2", slackA, n)
	}
	if n := countFailed(t, s, slackB); n != 0 {
		t.Errorf("CountFailed(%s) = %d, want 0", slackB, n)
	}
	failed := listFailed(t, s, slackA, 0)
	if got := itemKeys(failed); !slices.Equal(got, []string{papers[1].Key, papers[0].Key}) {
		t.Fatalf("ListFailed = %v, want the latest set aside first", got)
	}
	if f := failed[0]; f.State != channel.StateFailed || f.LastError != "msg_too_long" || !f.FailedAt.Equal(at(2)) ||
		f.Rejections != 2 || f.Attempts != 2 || !f.RetryAt.IsZero() || f.Paper.Title != papers[1].Title {
		t.Errorf("set-aside row = %+v, want failed at %s with its error, 2 rejections, no retry time", f, at(2))
	}
	if f := failed[1]; f.LastError != "400 Invalid Form Body" || !f.FailedAt.Equal(at(1)) || f.Rejections != 1 {
		t.Errorf("set-aside row = %+v, want failed at %s, 1 rejection", f, at(1))
	}
	if got := itemKeys(listFailed(t, s, slackA, 1)); !slices.Equal(got, []string{papers[1].Key}) {
		t.Errorf("ListFailed limit 1 = %v", got)
	}
	if got := retries(t, s, slackA, at(9)); len(got) != 0 {
		t.Errorf("a set-aside row is due for a retry: %v", itemKeys(got))
	}
	if w := work(t, s)[slackA]; w.Pending != 1 || w.Retry != 0 {
		t.Errorf("Work = %+v, want 1 pending row", w)
	}

	n, err := s.RequeueFailed(t.Context(), slackA)
	if err != nil || n != 2 {
		t.Fatalf("RequeueFailed = %d, %v; want 2", n, err)
	}
	again := pending(t, s, slackA)
	if got := itemKeys(again); !slices.Equal(got, keysOf(papers)) {
		t.Errorf("pending rows after RequeueFailed = %v, want %v", got, keysOf(papers))
	}
	for _, it := range again {
		if it.Attempts != 0 || it.Rejections != 0 || it.LastError != "" || !it.FailedAt.IsZero() || !it.RetryAt.IsZero() ||
			it.Kind != channel.KindMatch || !it.CreatedAt.Equal(at(0)) {
			t.Errorf("re-queued row %+v: want pending as new, attempts reset, its kind and creation time kept", it)
		}
	}
	if n := countFailed(t, s, slackA); n != 0 {
		t.Errorf("CountFailed after RequeueFailed = %d", n)
	}
	if n, err := s.RequeueFailed(t.Context(), slackA); err != nil || n != 0 {
		t.Errorf("RequeueFailed with nothing set aside = %d, %v; want 0", n, err)
	}
	if got := pending(t, s, slackB); len(got) != 3 {
		t.Errorf("another channel's rows changed: %v", itemKeys(got))
	}
}

func testOutboxBackfillSetAside(t *testing.T, s Store) {
	papers := []paper.Paper{simple("2609.00001", t0.Add(-3*time.Hour)), simple("2609.00002", t0.Add(-2*time.Hour))}
	mustRoute(t, s, "arxiv", papers, at(0), routeAll(slackA).route)
	fresh := simple("2609.00003", t0.Add(-time.Hour))
	mustIngest(t, s, "arxiv", []paper.Paper{fresh}, nil, at(0))
	items := pending(t, s, slackA)
	check(t, s.MarkFailed(t.Context(), itemIDs(items[:1]), errors.New("invalid_blocks"), at(1)), "MarkFailed")
	check(t, s.MarkSent(t.Context(), itemIDs(items[1:]), "m1", at(1)), "MarkSent")

	n, err := s.Enqueue(t.Context(), slackA, channel.KindBackfill,
		map[string][]string{papers[0].Key: {"eeg"}, papers[1].Key: {"eeg"}, fresh.Key: {"eeg"}}, at(2))
	if err != nil || n != 2 {
		t.Fatalf("Enqueue = %d, %v; want 2: the set-aside paper and the new one, not the posted one", n, err)
	}
	bf := unsent(t, s, slackA, channel.KindBackfill, channel.StatePending)
	if got := itemKeys(bf); !slices.Equal(got, []string{papers[0].Key, fresh.Key}) {
		t.Fatalf("backfill rows = %v, want %s and %s", got, papers[0].Key, fresh.Key)
	}
	if it := bf[0]; it.Attempts != 0 || it.Rejections != 0 || it.LastError != "" || !it.FailedAt.IsZero() || !it.CreatedAt.Equal(at(2)) {
		t.Errorf("re-queued set-aside row = %+v, want a fresh backfill row", it)
	}
	if n := countFailed(t, s, slackA); n != 0 {
		t.Errorf("CountFailed after the backfill = %d, want 0", n)
	}
	if n, err := s.Enqueue(t.Context(), slackA, channel.KindBackfill, map[string][]string{papers[0].Key: nil}, at(3)); err != nil || n != 0 {
		t.Errorf("Enqueue of a queued paper = %d, %v; want 0", n, err)
	}
}
