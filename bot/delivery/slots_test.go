package delivery

import "testing"

// TestSlotsLowPriority: work with only edits never takes a platform's last free worker, which stays for new cards;
// other platforms are not affected.
func TestSlotsLowPriority(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		low     int // low-priority takes that succeed on an idle platform
	}{
		{"one worker", 1, 1},
		{"two workers", 2, 1},
		{"four workers", 4, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSlots(tt.workers)
			got := 0
			for s.takeLow("slack") {
				got++
			}
			if got != tt.low {
				t.Errorf("low-priority work took %d of %d workers, want %d", got, tt.workers, tt.low)
			}
			if tt.workers > 1 && !s.take("slack") {
				t.Error("a channel with new cards found no worker left")
			}
			if !s.takeLow("discord") {
				t.Error("another platform's workers were taken")
			}
			if !s.put("slack") {
				t.Error("a finished worker does not report that low-priority work waited")
			}
		})
	}
}
