package store

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// The tests of this file each guard a bug of an earlier version of the store.

// TestSubscriptionsVersionAfterRemovingNewest: the version used to be count:sum:max of the subscription ids, and
// SQLite gives a new row the highest id plus one, so removing the newest subscription and adding another brought
// back the same id and the same version ("2:3:2" both times): a running bot missed the change.
func TestSubscriptionsVersionAfterRemovingNewest(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	ctx := t.Context()
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	add := func(q string) channel.Subscription {
		t.Helper()
		sub, err := s.AddSubscription(ctx, channel.Subscription{Channel: ch, Query: q, Canonical: q, AddedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}
	version := func() int64 {
		t.Helper()
		v, err := s.SubscriptionsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	add("eeg")
	newest := add("snn")
	v1 := version()
	if err := s.RemoveSubscription(ctx, ch, newest.ID); err != nil {
		t.Fatal(err)
	}
	if again := add("transformer"); again.ID != newest.ID {
		// The bug needs SQLite to reuse the id; if it stops doing so, this test no longer covers it.
		t.Fatalf("new subscription got id %d, not the removed %d", again.ID, newest.ID)
	}
	if v2 := version(); v2 == v1 {
		t.Errorf("SubscriptionsVersion = %d before and after removing the newest subscription and adding another", v1)
	}
}

// TestOutboxErrorTextCutOnCharacter: MarkFailed and RecordAttempt used to cut a long error at 1000 bytes, which
// could split a character and store invalid UTF-8 (shown later by status commands).
func TestOutboxErrorTextCutOnCharacter(t *testing.T) {
	t.Parallel()
	// "x" then two-byte characters: byte maxErrorLen falls inside one.
	long := errors.New("x" + strings.Repeat("é", maxErrorLen))
	marks := []struct {
		name string
		mark func(s *Store, ids []int64) error
	}{
		{"MarkFailed", func(s *Store, ids []int64) error { return s.MarkFailed(t.Context(), ids, long, time.Now()) }},
		{"RecordAttempt", func(s *Store, ids []int64) error { return s.RecordAttempt(t.Context(), ids, long) }},
	}
	for _, m := range marks {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openTest(t)
			ctx := t.Context()
			p := arxiv("2609.00001", t0, paper.AnnounceNew, "T", "A")
			mustIngest(t, s, "arxiv", []paper.Paper{p}, nil, t0)
			ch := channel.Ref{Platform: "slack", ID: "C1"}
			if _, err := s.Enqueue(ctx, ch, channel.KindBackfill, map[string][]string{p.Key: nil}, t0); err != nil {
				t.Fatal(err)
			}
			items, err := s.Unsent(ctx, ch, channel.KindBackfill, []string{channel.StatePending}, 0)
			if err != nil || len(items) != 1 {
				t.Fatalf("Unsent = %v, %v", items, err)
			}
			if err := m.mark(s, []int64{items[0].ID}); err != nil {
				t.Fatal(err)
			}
			var stored string
			if err := s.r.QueryRowContext(ctx, `SELECT last_error FROM outbox WHERE id = ?`, items[0].ID).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if !utf8.ValidString(stored) {
				t.Errorf("stored error is not valid UTF-8: ...%q", stored[len(stored)-8:])
			}
			cut := strings.TrimSuffix(stored, "…")
			if len(cut) > maxErrorLen || len(cut) < maxErrorLen-utf8.UTFMax || !strings.HasPrefix(long.Error(), cut) {
				t.Errorf("stored error of %d bytes is not a prefix of about %d bytes", len(stored), maxErrorLen)
			}
		})
	}
}

// TestChannelCreatedAtFromCaller: SetChannelMode and SyncConfigChannels used to read time.Now() for a new
// channel where everything else takes the caller's clock.
func TestChannelCreatedAtFromCaller(t *testing.T) {
	t.Parallel()
	at := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC) // far from any real clock
	createdAt := func(t *testing.T, s *Store, ch channel.Ref) time.Time {
		t.Helper()
		var ns int64
		if err := s.r.QueryRowContext(t.Context(), `SELECT created_at FROM channels WHERE platform = ? AND id = ?`,
			ch.Platform, ch.ID).Scan(&ns); err != nil {
			t.Fatal(err)
		}
		return time.Unix(0, ns).UTC()
	}
	t.Run("SetChannelMode", func(t *testing.T) {
		t.Parallel()
		s, _ := openTest(t)
		ch := channel.Ref{Platform: "discord", ID: "42"}
		c := channel.Channel{Ref: ch, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "UTC"}
		if err := s.SetChannelMode(t.Context(), c, at); err != nil {
			t.Fatal(err)
		}
		if got := createdAt(t, s, ch); !got.Equal(at) {
			t.Errorf("created_at = %s, want %s", got, at)
		}
	})
	t.Run("SyncConfigChannels", func(t *testing.T) {
		t.Parallel()
		s, _ := openTest(t)
		ch := channel.Ref{Platform: "slack", ID: "C9"}
		cfg := []channel.ConfigChannel{{Ref: ch, Subscriptions: []channel.Subscription{{Query: "eeg", Canonical: "eeg"}}}}
		if err := s.SyncConfigChannels(t.Context(), cfg, at); err != nil {
			t.Fatal(err)
		}
		if got := createdAt(t, s, ch); !got.Equal(at) {
			t.Errorf("created_at = %s, want %s", got, at)
		}
		subs, err := s.Subscriptions(t.Context(), ch)
		if err != nil || len(subs) != 1 || !subs[0].AddedAt.Equal(at) {
			t.Errorf("Subscriptions = %+v, %v; want one added at %s", subs, err, at)
		}
	})
}
