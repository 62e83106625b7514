package postgres

import (
	"testing"

	"github.com/paperboy-bot/paperboy/bot/store/storetest"
)

// BenchmarkSyncConfigChannels is the start-up cost of a large [[channels]] table (storetest.SyncSizes), each
// store in a fresh schema of PAPERBOY_TEST_DATABASE_URL:
//
//	go test -run '^$' -bench SyncConfigChannels -benchtime 3x ./bot/store/postgres/
func BenchmarkSyncConfigChannels(b *testing.B) {
	storetest.BenchSyncConfigChannels(b, func(b *testing.B) storetest.Store {
		s, _ := openTest(b)
		return s
	})
}
