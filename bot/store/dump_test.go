package store_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/store/dump"
	"github.com/paperboy-bot/paperboy/bot/store/storetest"
)

func openTemp(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestCopyRoundTrip copies a store holding every kind of record into a new one and back into a third: each copy
// answers like the original and delivers what was waiting exactly once.
func TestCopyRoundTrip(t *testing.T) {
	t.Parallel()
	src, mid, dst := openTemp(t), openTemp(t), openTemp(t)
	now := storetest.FillCopyFixture(t, src)
	first, err := dump.Copy(t.Context(), src, mid)
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	second, err := dump.Copy(t.Context(), mid, dst)
	if err != nil {
		t.Fatalf("Copy back: %v", err)
	}
	want := dump.Counts{Papers: 8, Validators: 3, Sources: 3, Channels: 4, Subscriptions: 4, Batches: 2, Imports: 2, Votes: 2, Saved: 3, Outbox: 25, Unsent: 20}
	if first != want || second != want {
		t.Errorf("counts %+v then %+v, want %+v", first, second, want)
	}
	storetest.CheckCopy(t, src, dst, now)
}

// TestCopyRefusesNonEmptyTarget leaves a store in use untouched.
func TestCopyRefusesNonEmptyTarget(t *testing.T) {
	t.Parallel()
	src, dst := openTemp(t), openTemp(t)
	storetest.FillCopyFixture(t, src)
	storetest.FillCopyFixture(t, dst)
	before, err := dst.OutboxDepth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dump.Copy(t.Context(), src, dst); !errors.Is(err, dump.ErrNotEmpty) {
		t.Fatalf("Copy into a filled store: %v, want ErrNotEmpty", err)
	}
	if after, err := dst.OutboxDepth(t.Context()); err != nil || after != before {
		t.Errorf("outbox depth %d (%v) after the refused copy, want %d", after, err, before)
	}
}
