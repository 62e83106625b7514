//go:build !race

package sources

const (
	raceEnabled = false
	// peakMemoryLimitMB is what parsing one hostile feed may take, as the whole process's peak RSS (the body itself
	// and the test binary included). Before the parse limits, the 16 MB abstract took 887 MB.
	peakMemoryLimitMB = 100
)
