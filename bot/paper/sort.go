package paper

import "time"

// MaxSortSecond is the largest second a paper sorts by: 42 bits, so that a store may pack the second and a
// 20-bit counter into one 62-bit key (the SQLite store's ids do). Both stores clamp to it, so they sort alike.
const MaxSortSecond = 1<<42 - 1

// SortSecond is the second a paper sorts by in "newest first": its publication, or when it was first seen
// (firstSeenMilli, Unix milliseconds) if the source gave no date, clamped to 0..MaxSortSecond.
func SortSecond(p Paper, firstSeenMilli int64) int64 {
	sec := firstSeenMilli / 1000
	if !p.Published.IsZero() {
		sec = p.Published.Unix()
	}
	return min(max(sec, 0), MaxSortSecond)
}

// SinceSecond is the smallest sort second of a paper sorting at or after t (0 for the zero time).
func SinceSecond(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return min(max(t.Unix(), 0), MaxSortSecond)
}
