//go:build race

package sources

const (
	raceEnabled = true
	// peakMemoryLimitMB is TestParsePeakMemory's bound under the race detector, whose shadow memory multiplies a
	// process's RSS: the 16 MB-abstract parse peaks near 130 MB under it, 46 MB without (887 MB before the limits).
	peakMemoryLimitMB = 250
)
