package slack

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: Socket Mode loops, answers in flight and
// HTTP servers must all end with their context.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
