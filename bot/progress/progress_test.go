package progress

import (
	"bytes"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		every    time.Duration
		want     string
	}{
		// On a terminal: redrawn in place, throttled, erased for a message, ended by Finish.
		{"terminal", true, 10 * time.Second, "\ra\x1b[K\r\x1b[K\rc\x1b[K\rd\x1b[K\n"},
		// Elsewhere: plain lines, throttled, nothing to erase or end.
		{"log", false, 10 * time.Second, "a\nc\nd\n"},
		{"every update", false, 0, "a\nb\nc\nd\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			var out bytes.Buffer
			l := New(&out, tc.terminal, tc.every, func() time.Time { return clock })
			l.Show("a", false)
			clock = clock.Add(time.Second)
			l.Show("b", false) // within every of a: dropped unless every is 0
			l.Clear()
			clock = clock.Add(10 * time.Second)
			l.Show("c", false)
			l.Show("d", true) // final: always shown
			l.Finish()
			l.Finish() // nothing drawn any more
			if got := out.String(); got != tc.want {
				t.Errorf("output %q, want %q", got, tc.want)
			}
		})
	}
	l := New(nil, true, 0, nil)
	l.Show("x", true)
	l.Clear()
	l.Finish()
	if l.Due() {
		t.Error("a Line without a writer is due")
	}
}

func TestStats(t *testing.T) {
	tests := []struct {
		papers int64
		rate   float64
		left   time.Duration
		want   string
	}{
		{120, 12.34, 0, "120 papers, 12.3 papers/s"},
		{120, 12.34, 90*time.Second + 400*time.Millisecond, "120 papers, 12.3 papers/s, about 1m30s left"},
		{5, 100, 300 * time.Millisecond, "5 papers, 100.0 papers/s, under 1s left"},
	}
	for _, tc := range tests {
		if got := Stats(tc.papers, tc.rate, tc.left); got != tc.want {
			t.Errorf("Stats(%d, %v, %v) = %q, want %q", tc.papers, tc.rate, tc.left, got, tc.want)
		}
	}
	if r := Rate(30, 2*time.Second); r != 15 {
		t.Errorf("Rate = %v", r)
	}
	if r := Rate(30, 0); r != 0 {
		t.Errorf("Rate over no time = %v", r)
	}
	if d := Left(300, 100, time.Minute); d != 3*time.Minute {
		t.Errorf("Left = %v", d)
	}
	if d := Left(300, 0, time.Minute); d != 0 {
		t.Errorf("Left with nothing done = %v", d)
	}
}
