package channel

import (
	"testing"
	"time"
)

func TestParseDigestSchedule(t *testing.T) {
	tests := []struct {
		name, at, tz   string
		wantAt, wantTZ string
		wantErr        bool
	}{
		{name: "berlin", at: "09:00", tz: "Europe/Berlin", wantAt: "09:00", wantTZ: "Europe/Berlin"},
		{name: "empty zone is UTC", at: "23:59", tz: "", wantAt: "23:59", wantTZ: "UTC"},
		{name: "midnight", at: "00:00", tz: "Asia/Kolkata", wantAt: "00:00", wantTZ: "Asia/Kolkata"},
		{name: "one-digit hour normalized", at: "9:05", tz: "UTC", wantAt: "09:05", wantTZ: "UTC"},
		{name: "24:00", at: "24:00", tz: "UTC", wantErr: true},
		{name: "minute 60", at: "09:60", tz: "UTC", wantErr: true},
		{name: "seconds", at: "09:00:00", tz: "UTC", wantErr: true},
		{name: "am/pm", at: "9am", tz: "UTC", wantErr: true},
		{name: "empty time", at: "", tz: "UTC", wantErr: true},
		{name: "unknown zone", at: "09:00", tz: "Mars/Olympus", wantErr: true},
		{name: "Local refused", at: "09:00", tz: "Local", wantErr: true},
		{name: "weekly", at: "monday 09:00", tz: "Europe/Berlin", wantAt: "Mon 09:00", wantTZ: "Europe/Berlin"},
		{name: "weekly as stored", at: "Mon 09:00", tz: "Europe/Berlin", wantAt: "Mon 09:00", wantTZ: "Europe/Berlin"},
		{name: "weekly short name in any case", at: "SUN 9:05", tz: "", wantAt: "Sun 09:05", wantTZ: "UTC"},
		{name: "weekly unknown day", at: "someday 09:00", tz: "UTC", wantErr: true},
		{name: "weekly two letters", at: "mo 09:00", tz: "UTC", wantErr: true},
		{name: "day without a time", at: "monday", tz: "UTC", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDigestSchedule(tt.at, tt.tz)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseDigestSchedule(%q, %q) = %+v, want error", tt.at, tt.tz, d)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDigestSchedule(%q, %q): %v", tt.at, tt.tz, err)
			}
			if d.At != tt.wantAt || d.TZ != tt.wantTZ {
				t.Errorf("got At=%q TZ=%q, want %q %q", d.At, d.TZ, tt.wantAt, tt.wantTZ)
			}
			if got, want := d.String(), tt.wantAt+" "+tt.wantTZ; got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
		})
	}
}

func mustSchedule(t *testing.T, at, tz string) DigestSchedule {
	t.Helper()
	d, err := ParseDigestSchedule(at, tz)
	if err != nil {
		t.Fatalf("ParseDigestSchedule(%q, %q): %v", at, tz, err)
	}
	return d
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return ts
}

// The expected instants below are written with the offset the zone has at that instant, so each line can be
// checked against a time zone table by eye. 2025 transitions: Europe/Berlin Mar 30 02:00->03:00 and Oct 26
// 03:00->02:00; America/New_York Mar 9 02:00->03:00 and Nov 2 02:00->01:00; Australia/Lord_Howe Apr 6
// 02:00->01:30 and Oct 5 02:00->02:30.
func TestDigestScheduleNext(t *testing.T) {
	tests := []struct {
		name, at, tz string
		after, want  string
	}{
		{"berlin before spring forward", "09:00", "Europe/Berlin", "2025-03-29T12:00:00+01:00", "2025-03-30T09:00:00+02:00"},
		{"berlin same day later", "09:00", "Europe/Berlin", "2025-03-30T08:59:59+02:00", "2025-03-30T09:00:00+02:00"},
		{"berlin exactly at fire is not returned", "09:00", "Europe/Berlin", "2025-03-30T09:00:00+02:00", "2025-03-31T09:00:00+02:00"},
		{"berlin one nanosecond before", "09:00", "Europe/Berlin", "2025-03-30T08:59:59.999999999+02:00", "2025-03-30T09:00:00+02:00"},
		{"berlin in the gap fires when it ends", "02:30", "Europe/Berlin", "2025-03-29T12:00:00+01:00", "2025-03-30T03:00:00+02:00"},
		{"berlin gap start fires when it ends", "02:00", "Europe/Berlin", "2025-03-30T00:00:00+01:00", "2025-03-30T03:00:00+02:00"},
		{"berlin day after the gap is normal", "02:30", "Europe/Berlin", "2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"},
		{"berlin end of gap exists", "03:00", "Europe/Berlin", "2025-03-30T00:00:00+01:00", "2025-03-30T03:00:00+02:00"},
		{"berlin repeated hour fires at the first", "02:30", "Europe/Berlin", "2025-10-25T12:00:00+02:00", "2025-10-26T02:30:00+02:00"},
		{"berlin repeated hour fires once", "02:30", "Europe/Berlin", "2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"},
		{"berlin between the two occurrences", "02:30", "Europe/Berlin", "2025-10-26T02:10:00+01:00", "2025-10-27T02:30:00+01:00"},
		{"berlin repeated start", "02:00", "Europe/Berlin", "2025-10-26T00:00:00+02:00", "2025-10-26T02:00:00+02:00"},
		{"berlin after fall back", "09:00", "Europe/Berlin", "2025-10-26T00:00:00+02:00", "2025-10-26T09:00:00+01:00"},
		{"new york in the gap", "02:15", "America/New_York", "2025-03-08T12:00:00-05:00", "2025-03-09T03:00:00-04:00"},
		{"new york before gap", "01:59", "America/New_York", "2025-03-09T00:00:00-05:00", "2025-03-09T01:59:00-05:00"},
		{"new york repeated hour", "01:30", "America/New_York", "2025-11-01T12:00:00-04:00", "2025-11-02T01:30:00-04:00"},
		{"new york repeated hour once", "01:30", "America/New_York", "2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"},
		{"new york after given in UTC", "09:00", "America/New_York", "2025-11-02T13:59:00Z", "2025-11-02T09:00:00-05:00"},
		{"new york UTC date ahead of local", "21:00", "America/New_York", "2025-07-04T00:30:00Z", "2025-07-03T21:00:00-04:00"},
		{"kolkata half hour offset", "09:00", "Asia/Kolkata", "2025-06-01T03:29:59Z", "2025-06-01T09:00:00+05:30"},
		{"kolkata exactly at fire", "09:00", "Asia/Kolkata", "2025-06-01T03:30:00Z", "2025-06-02T09:00:00+05:30"},
		{"kolkata midnight", "00:00", "Asia/Kolkata", "2025-12-31T18:30:00Z", "2026-01-02T00:00:00+05:30"},
		{"utc leap day", "00:00", "UTC", "2024-02-28T23:59:59Z", "2024-02-29T00:00:00Z"},
		{"utc new year", "23:59", "UTC", "2024-12-31T23:59:00Z", "2025-01-01T23:59:00Z"},
		{"lord howe 30-minute gap", "02:15", "Australia/Lord_Howe", "2025-10-04T12:00:00+10:30", "2025-10-05T02:30:00+11:00"},
		{"lord howe 30-minute repeat", "01:45", "Australia/Lord_Howe", "2025-04-05T12:00:00+11:00", "2025-04-06T01:45:00+11:00"},
		{"lord howe repeat once", "01:45", "Australia/Lord_Howe", "2025-04-06T01:45:00+11:00", "2025-04-07T01:45:00+10:30"},
		// Samoa moved across the date line: 2011-12-29 23:59:59 -10:00 was followed by 2011-12-31 00:00 +14:00.
		{"apia skipped day has no digest", "09:00", "Pacific/Apia", "2011-12-29T12:00:00-10:00", "2011-12-31T09:00:00+14:00"},
		// Weekly: 2025-03-29 is a Saturday, 2025-03-30 the Sunday of Berlin's spring forward.
		{"weekly next monday", "Mon 09:00", "Europe/Berlin", "2025-03-29T12:00:00+01:00", "2025-03-31T09:00:00+02:00"},
		{"weekly exactly at fire waits a week", "Mon 09:00", "Europe/Berlin", "2025-03-31T09:00:00+02:00", "2025-04-07T09:00:00+02:00"},
		{"weekly same day later", "Mon 09:00", "Europe/Berlin", "2025-03-31T08:00:00+02:00", "2025-03-31T09:00:00+02:00"},
		{"weekly in the gap fires when it ends", "Sun 02:30", "Europe/Berlin", "2025-03-24T00:00:00+01:00", "2025-03-30T03:00:00+02:00"},
		{"weekly by the local weekday, not UTC's", "Fri 21:00", "America/New_York", "2025-07-05T00:30:00Z", "2025-07-04T21:00:00-04:00"},
		{"weekly on a skipped day waits a week", "Fri 09:00", "Pacific/Apia", "2011-12-29T12:00:00-10:00", "2012-01-06T09:00:00+14:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustSchedule(t, tt.at, tt.tz)
			after, want := mustTime(t, tt.after), mustTime(t, tt.want)
			got := d.Next(after)
			if !got.Equal(want) {
				t.Errorf("Next(%s) = %s, want %s", after, got.In(d.loc), want)
			}
		})
	}
}

func TestDigestScheduleNextZeroValue(t *testing.T) {
	var d DigestSchedule
	if got := d.Next(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)); !got.IsZero() {
		t.Errorf("zero schedule Next = %s, want zero Time", got)
	}
}

// TestDigestScheduleYear fires a schedule through a whole year: exactly one fire per local day, each after the
// previous, reading At except on a spring-forward day where At does not exist.
func TestDigestScheduleYear(t *testing.T) {
	zones := []string{"Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Australia/Lord_Howe", "America/Santiago"}
	ats := []string{"00:00", "00:30", "01:30", "02:00", "02:30", "03:00", "09:00", "23:59"}
	for _, year := range []int{2024, 2025} {
		wantFires := 365
		if year == 2024 {
			wantFires = 366
		}
		for _, tz := range zones {
			for _, at := range ats {
				t.Run(tz+"/"+at+"/"+time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006"), func(t *testing.T) {
					d := mustSchedule(t, at, tz)
					start := time.Date(year, 1, 1, 0, 0, 0, 0, d.loc).Add(-time.Nanosecond)
					end := time.Date(year+1, 1, 1, 0, 0, 0, 0, d.loc)
					fires := 0
					prev := start
					prevDay := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
					for at := d.Next(start); at.Before(end); at = d.Next(at) {
						if !at.After(prev) {
							t.Fatalf("Next(%s) = %s, not after it", prev, at)
						}
						local := at.In(d.loc)
						day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
						if want := prevDay.AddDate(0, 0, 1); !day.Equal(want) {
							t.Fatalf("fire %s is on local day %s, want %s (one per day)", local, day.Format(time.DateOnly), want.Format(time.DateOnly))
						}
						if got := local.Format("15:04"); got != d.At {
							// Only allowed when At does not exist that day: then the fire is the end of the gap,
							// the first instant of the new offset, later than At.
							startZone, _ := at.ZoneBounds()
							if !startZone.Equal(at) || got < d.At {
								t.Fatalf("fire %s reads %s, want %s", local, got, d.At)
							}
						}
						prev, prevDay = at, day
						fires++
					}
					if fires != wantFires {
						t.Errorf("%d fires in %d, want %d", fires, year, wantFires)
					}
				})
			}
		}
	}
}

// TestDigestScheduleNextEveryMinute checks, around each 2025 Berlin transition, that Next from every minute
// returns the first fire strictly after it: no fire is skipped and none repeats.
func TestDigestScheduleNextEveryMinute(t *testing.T) {
	tests := []struct {
		name, at string
		fires    []string
	}{
		{"spring gap", "02:30", []string{"2025-03-29T02:30:00+01:00", "2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"}},
		{"fall repeat", "02:30", []string{"2025-10-25T02:30:00+02:00", "2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustSchedule(t, tt.at, "Europe/Berlin")
			var fires []time.Time
			for _, f := range tt.fires {
				fires = append(fires, mustTime(t, f))
			}
			for at := fires[0]; at.Before(fires[len(fires)-1]); at = at.Add(time.Minute) {
				var want time.Time
				for _, f := range fires {
					if f.After(at) {
						want = f
						break
					}
				}
				if got := d.Next(at); !got.Equal(want) {
					t.Fatalf("Next(%s) = %s, want %s", at, got, want)
				}
			}
		})
	}
}
