//go:build !unix

package testkit

// peakRSS reports that this platform has no getrusage: the caller leaves the metric out.
func peakRSS() (int64, bool, error) { return 0, false, nil }
