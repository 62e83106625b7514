//go:build unix

package testkit

import (
	"syscall"
	"time"
)

// CPUTime returns the CPU time (user and system) this process has used so far; ok is false where it cannot be
// measured. On a shared machine a benchmark's CPU time per operation varies far less than its wall time.
func CPUTime() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
