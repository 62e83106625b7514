package store_test

import (
	"path/filepath"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/store/storetest"
)

// BenchmarkSyncConfigChannels is the start-up cost of a large [[channels]] table (storetest.SyncSizes):
//
//	go test -run '^$' -bench SyncConfigChannels -benchtime 3x ./bot/store/
func BenchmarkSyncConfigChannels(b *testing.B) {
	storetest.BenchSyncConfigChannels(b, func(b *testing.B) storetest.Store {
		s, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "paperboy.db"))
		if err != nil {
			b.Fatalf("Open: %v", err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}
