//go:build !unix

package testkit

import "time"

// CPUTime reports no measurement here: there is no portable process CPU counter outside unix.
func CPUTime() (time.Duration, bool) { return 0, false }
