//go:build !unix

package testkit

import "time"

// peakRSS reports that this platform has no getrusage: the caller leaves the metric out.
func peakRSS() (int64, bool, error) { return 0, false, nil }

// ProcessCPU reports that this platform's CPU time is not read here.
func ProcessCPU() (time.Duration, bool) { return 0, false }
