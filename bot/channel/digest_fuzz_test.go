package channel

import (
	"testing"
	"time"
)

// FuzzParseDigestSchedule: whatever is typed after /papers digest, parsing never panics, a schedule it accepts
// reads back as itself from the stored form (DigestAt, DigestTZ), and its next fire is after the given instant, at
// the schedule's time on its day.
func FuzzParseDigestSchedule(f *testing.F) {
	for _, s := range [][2]string{
		{"09:00", "Europe/Berlin"}, {"monday 09:00", "UTC"}, {"Sun 02:30", "Europe/Berlin"}, {"fri 21:00", "America/New_York"},
		{"mo 09:00", ""}, {"monday", ""}, {"  tuesday   7:05 ", "Asia/Kolkata"}, {"9am", "Local"},
	} {
		f.Add(s[0], s[1], int64(1774800000))
	}
	f.Fuzz(func(t *testing.T, at, tz string, unix int64) {
		d, err := ParseDigestSchedule(at, tz)
		if err != nil {
			return
		}
		again, err := ParseDigestSchedule(d.At, d.TZ)
		if err != nil || again.At != d.At || again.TZ != d.TZ || again.Weekly != d.Weekly || again.Day != d.Day {
			t.Fatalf("stored form %q %q reads back as %+v, %v; want %+v", d.At, d.TZ, again, err, d)
		}
		after := time.Unix(unix%(1<<34), 0) // years 1970 to 2514
		next := d.Next(after)
		if next.IsZero() {
			return // a zone that skips the day, in theory
		}
		local := next.In(d.loc)
		// It reads At, or At fell in a daylight-saving gap and it is the instant the gap ends.
		reads := local.Hour() == d.hour && local.Minute() == d.minute
		if start, _ := next.ZoneBounds(); !next.After(after) || !reads && !start.Equal(next) {
			t.Errorf("Next(%s) = %s for %s", after, local, d)
		}
		if d.Weekly && local.Weekday() != d.Day {
			t.Errorf("Next(%s) = %s, a %s, for %s", after, local, local.Weekday(), d)
		}
		if next.Sub(after) > 15*24*time.Hour {
			t.Errorf("Next(%s) = %s, over two weeks later", after, local)
		}
	})
}
