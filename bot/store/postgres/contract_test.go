package postgres

import (
	"testing"

	"github.com/paperboy-bot/paperboy/bot/store/storetest"
)

// TestContract runs the storage contract every store passes (bot/store/storetest) on PostgreSQL stores, each in
// a schema of its own.
func TestContract(t *testing.T) {
	t.Parallel()
	testURL(t) // skip once, here, rather than in every case
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, _ := openTest(t)
		return s
	})
}
