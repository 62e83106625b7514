package health

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func arxivSchedule(t testing.TB) *Schedule {
	t.Helper()
	s, err := ArxivSchedule()
	if err != nil {
		t.Fatalf("ArxivSchedule: %v", err)
	}
	return s
}

// et is a wall-clock time in New York.
func et(t testing.TB, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestShippedCalendar(t *testing.T) {
	s := arxivSchedule(t)
	if s.Location.String() != "America/New_York" || s.Hour != 20 || s.Minute != 0 || len(s.Days) != 5 {
		t.Errorf("schedule = %s %02d:%02d %v, want America/New_York 20:00 Sunday to Thursday", s.Location, s.Hour, s.Minute, s.Days)
	}
	years := map[string]int{}
	for _, h := range s.Holidays() {
		if !strings.Contains(h.Source, "https://info.arxiv.org/help/availability.html") {
			t.Errorf("holiday %s names no arXiv source: %q", h.Date, h.Source)
		}
		years[h.Date[:4]]++
	}
	for _, y := range []string{"2025", "2026", "2027"} {
		if years[y] == 0 {
			t.Errorf("no holiday for %s", y)
		}
	}
}

func TestExpected(t *testing.T) {
	s := arxivSchedule(t)
	tests := []struct {
		at      string
		want    bool
		wantWhy string
	}{
		{"2026-11-22 08:00", true, ""}, // Sunday
		{"2026-11-25 23:59", true, ""}, // Wednesday, late evening
		{"2026-11-26 20:00", false, "Thanksgiving Day (US)"},
		{"2026-11-26 00:30", false, "Thanksgiving Day (US)"},
		{"2026-11-27 20:00", false, "Friday"},
		{"2026-11-28 20:00", false, "Saturday"},
		{"2027-11-25 20:00", false, "Thanksgiving Day (US)"},
		{"2026-01-01 20:00", false, "New Year's Day"},
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			ok, why := s.Expected(et(t, tt.at))
			if ok != tt.want || why != tt.wantWhy {
				t.Errorf("Expected = %v %q, want %v %q", ok, why, tt.want, tt.wantWhy)
			}
		})
	}
}

func TestNextAndPrevious(t *testing.T) {
	s := arxivSchedule(t)
	tests := []struct {
		name, at, next, prev string
	}{
		{"before the evening", "2026-11-24 19:59", "2026-11-24 20:00", "2026-11-23 20:00"},
		{"at the announcement", "2026-11-24 20:00", "2026-11-25 20:00", "2026-11-24 20:00"},
		// A holiday gives "no announcement expected": Wednesday's is followed by Sunday's.
		{"holiday week", "2026-11-25 21:00", "2026-11-29 20:00", "2026-11-25 20:00"},
		{"on the holiday", "2026-11-26 21:00", "2026-11-29 20:00", "2026-11-25 20:00"},
		{"Friday", "2026-11-20 12:00", "2026-11-22 20:00", "2026-11-19 20:00"},
		{"Saturday night", "2026-11-21 23:00", "2026-11-22 20:00", "2026-11-19 20:00"},
		// Daylight saving time ends on 1 Nov 2026 at 02:00: 20:00 is 00:00 UTC before, 01:00 UTC after.
		{"DST ends", "2026-10-29 21:00", "2026-11-01 20:00", "2026-10-29 20:00"},
		// And starts on 8 Mar 2026 at 02:00.
		{"DST starts", "2026-03-08 01:30", "2026-03-08 20:00", "2026-03-05 20:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := et(t, tt.at)
			if got, want := s.Next(at), et(t, tt.next); !got.Equal(want) {
				t.Errorf("Next(%s) = %s, want %s", tt.at, got, want)
			}
			if got, want := s.Previous(at), et(t, tt.prev); !got.Equal(want) {
				t.Errorf("Previous(%s) = %s, want %s", tt.at, got, want)
			}
		})
	}
	// The UTC instants, to be sure the zone's rules were applied and not a fixed offset.
	for _, c := range []struct{ at, wantUTC string }{
		{"2026-10-29 21:00", "2026-10-30T00:00:00Z"}, // Thursday, still EDT (UTC-4): Previous
		{"2026-11-01 21:00", "2026-11-02T01:00:00Z"}, // Sunday, EST (UTC-5)
		{"2026-03-08 21:00", "2026-03-09T00:00:00Z"}, // Sunday, EDT again
	} {
		if got := s.Previous(et(t, c.at)).UTC().Format(time.RFC3339); got != c.wantUTC {
			t.Errorf("Previous(%s) = %s UTC, want %s", c.at, got, c.wantUTC)
		}
	}
}

func TestParseCalendarErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no timezone", "announce sun 20:00\n", "no timezone line"},
		{"no announce", "timezone UTC\n", "no announce line"},
		{"bad zone", "timezone Mars/Olympus\n", "line 1: timezone \"Mars/Olympus\""},
		{"bad time", "timezone UTC\nannounce sun 25:00\n", "line 2: announce time \"25:00\""},
		{"bad day", "timezone UTC\nannounce sunday 20:00\n", "line 2: announce day \"sunday\""},
		{"bad date", "timezone UTC\nannounce sun 20:00\nholiday 2026-02-30 | x | y\n", "line 3: holiday date \"2026-02-30\""},
		{"no source", "timezone UTC\nannounce sun 20:00\nholiday 2026-02-03 | x |\n", "line 3: holiday 2026-02-03: name and source are required"},
		{"twice", "timezone UTC\nannounce sun 20:00\nholiday 2026-02-03 | x | y\nholiday 2026-02-03 | x | y\n", "line 4: holiday 2026-02-03 listed twice"},
		{"unknown", "timezone UTC\nclosed 2026-02-03\n", "line 2: unknown entry \"closed\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCalendar([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCalendar error = %v, want %q", err, tt.want)
			}
		})
	}
}

// FuzzParseCalendar checks that no input panics and that whatever parses answers Next and Previous consistently.
// Seeds live in testdata/fuzz/FuzzParseCalendar; the shipped calendar is one.
func FuzzParseCalendar(f *testing.F) {
	f.Add(arxivCalendar)
	seeds, _ := filepath.Glob("testdata/calendar_*.txt")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseCalendar(data)
		if err != nil {
			return
		}
		if n := s.Next(at); !n.IsZero() && !n.After(at) {
			t.Errorf("Next(%s) = %s, not after", at, n)
		}
		if p := s.Previous(at); !p.IsZero() && p.After(at) {
			t.Errorf("Previous(%s) = %s, after", at, p)
		}
	})
}
