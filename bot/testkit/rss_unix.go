//go:build unix

package testkit

import (
	"fmt"
	"runtime"
	"syscall"
	"time"
)

// peakRSS returns this process' peak resident set size in bytes.
func peakRSS() (int64, bool, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false, fmt.Errorf("getrusage: %w", err)
	}
	// Darwin and iOS report ru_maxrss in bytes, the other unixes in kilobytes.
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss), true, nil
	}
	return int64(ru.Maxrss) * 1024, true, nil
}

// ProcessCPU returns the CPU time (user and system) this process has used so far, and false where it cannot be
// read. On a shared machine a benchmark's CPU time varies far less than its wall time.
func ProcessCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
