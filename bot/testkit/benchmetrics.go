package testkit

import (
	"slices"
	"testing"
	"time"
)

// ReportPeakRSS reports this process' peak resident set size so far as peak-RSS-MB (a database server's memory is
// not in it).
func ReportPeakRSS(b *testing.B) {
	b.Helper()
	rss, ok, err := peakRSS()
	if err != nil {
		b.Fatal(err)
	}
	if !ok {
		// No portable peak-RSS counter here (Windows): the other metrics still count, so the benchmark runs on.
		b.Log("peak-RSS-MB: not measurable on this platform")
		return
	}
	b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
}

// ReportLatency sorts lat and reports its median and 99th percentile as p50-ms and p99-ms: the mean alone would
// hide the slow operations.
func ReportLatency(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// CPUMeter adds up the CPU time of a benchmark's timed sections, for ReportCPU.
type CPUMeter struct {
	start, total time.Duration
	ok           bool
}

// Start begins a timed section.
func (m *CPUMeter) Start() { m.start, m.ok = CPUTime() }

// Stop ends the section begun by Start.
func (m *CPUMeter) Stop() {
	if now, ok := CPUTime(); ok && m.ok {
		m.total += now - m.start
	}
}

// PerOp returns the measured CPU time per operation, for b.N operations; false when none was measured.
func (m *CPUMeter) PerOp(b *testing.B) (time.Duration, bool) {
	if !m.ok || b.N == 0 {
		return 0, false
	}
	return m.total / time.Duration(b.N), true
}

// ReportCPU reports the measured CPU time per operation as cpu-ms/op (the process' CPU, garbage collection
// included): on a shared machine it varies far less than ns/op.
func (m *CPUMeter) ReportCPU(b *testing.B) {
	b.Helper()
	if d, ok := m.PerOp(b); ok {
		b.ReportMetric(float64(d)/float64(time.Millisecond), "cpu-ms/op")
	}
}
