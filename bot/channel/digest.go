package channel

import (
	// The digest time zones must resolve on machines without a zoneinfo database (minimal containers).
	_ "time/tzdata"

	"errors"
	"fmt"
	"strings"
	"time"
)

// DigestSchedule is a channel's digest time: the local wall-clock time At ("09:00") in the IANA zone TZ, every day,
// or one day a week ("Mon 09:00"). Build one with ParseDigestSchedule; the zero value is not usable.
type DigestSchedule struct {
	// At is the local time of day, 24-hour "15:04", after the weekday's three-letter name for a weekly digest
	// ("Mon 09:00"). It is what the store keeps (Channel.DigestAt), so a weekly digest needs no other column.
	At string
	// TZ is an IANA zone name such as Europe/Berlin; ParseDigestSchedule turns "" into "UTC".
	TZ string
	// Weekly schedules fire on Day only.
	Weekly bool
	Day    time.Weekday

	loc          *time.Location
	hour, minute int
}

// ParseDigestSchedule validates a digest time and zone. at is a 24-hour "HH:MM", or "DAY HH:MM" for a weekly
// digest (DAY a weekday's English name or its first three letters, any case); tz an IANA zone name, "" meaning
// UTC. "Local" is refused: a digest time must not change meaning when the bot moves to another host.
func ParseDigestSchedule(at, tz string) (DigestSchedule, error) {
	var sched DigestSchedule
	if day, clock, ok := strings.Cut(strings.TrimSpace(at), " "); ok {
		wd, err := ParseWeekday(day)
		if err != nil {
			return DigestSchedule{}, err
		}
		sched.Weekly, sched.Day, at = true, wd, strings.TrimSpace(clock)
	}
	t, err := time.Parse("15:04", at)
	if err != nil {
		return DigestSchedule{}, fmt.Errorf("digest time %q: want 24-hour HH:MM", at)
	}
	if tz == "" {
		tz = "UTC"
	}
	if tz == "Local" {
		return DigestSchedule{}, errors.New(`digest time zone "Local": want an IANA name such as Europe/Berlin`)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return DigestSchedule{}, fmt.Errorf("digest time zone %q: %w", tz, err)
	}
	sched.At, sched.TZ, sched.loc, sched.hour, sched.minute = t.Format("15:04"), tz, loc, t.Hour(), t.Minute()
	if sched.Weekly {
		sched.At = sched.Day.String()[:3] + " " + sched.At
	}
	return sched, nil
}

// ParseWeekday reads a weekday's English name or its first three letters, in any case ("monday", "Mon").
func ParseWeekday(s string) (time.Weekday, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || (len(s) == 3 && s == name[:3]) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("digest day %q: want a weekday, e.g. monday", s)
}

// String is "09:00 Europe/Berlin" (or "Mon 09:00 Europe/Berlin"), as the commands show it.
func (d DigestSchedule) String() string { return d.At + " " + d.TZ }

// Next returns the first instant strictly after after at which the wall clock in TZ reads At: one fire per local
// calendar day. Daylight-saving changes follow what people expect of an alarm clock:
//
//   - When At does not exist that day (spring forward: 02:30 in Europe/Berlin on the last Sunday of March, when
//     clocks jump from 02:00 to 03:00), the digest fires at the first instant after the gap, which reads 03:00.
//     Firing late beats skipping a day's digest.
//   - When At occurs twice (fall back: 02:30 in Europe/Berlin on the last Sunday of October), it fires once, at the
//     first occurrence; the repeated hour must not post a second digest.
//   - A calendar day the zone skips entirely (Pacific/Apia on 2011-12-30) has no digest; the next day's carries
//     its papers.
//
// Next returns the zero Time for a schedule that did not come from ParseDigestSchedule.
func (d DigestSchedule) Next(after time.Time) time.Time {
	if d.loc == nil {
		return time.Time{}
	}
	y, m, day := after.In(d.loc).Date()
	// A week is far more than any zone needs: the fire on after's own local date may have passed, and a skipped
	// day may follow. A weekly digest looks two weeks ahead for the same reasons.
	days := 7
	if d.Weekly {
		days = 15
	}
	for i := range days {
		noon := time.Date(y, m, day+i, 12, 0, 0, 0, time.UTC)
		if d.Weekly && noon.Weekday() != d.Day {
			continue
		}
		yy, mm, dd := noon.Date()
		if t, ok := d.on(yy, mm, dd); ok && t.After(after) {
			return t
		}
	}
	return time.Time{} // unreachable for real zones; a zero Time is safer than a busy loop
}

// on returns the fire instant on the local date y-m-dd, and false when the zone skips that date.
func (d DigestSchedule) on(y int, m time.Month, dd int) (time.Time, bool) {
	// wall is the wanted reading as if it were UTC: subtracting a zone's offset from it gives the instant at which
	// that zone's clock shows it.
	wall := time.Date(y, m, dd, d.hour, d.minute, 0, 0, time.UTC)
	// time.Date picks one of the zones around a transition without saying which, so try the zone it picked and both
	// neighbours and keep every instant whose reading really is the wanted one.
	guess := time.Date(y, m, dd, d.hour, d.minute, 0, 0, d.loc)
	start, end := guess.ZoneBounds()
	probes := []time.Time{guess}
	if !start.IsZero() {
		probes = append(probes, start.Add(-time.Nanosecond))
	}
	if !end.IsZero() {
		probes = append(probes, end)
	}
	var first time.Time
	for _, p := range probes {
		_, off := p.Zone()
		t := wall.Add(-time.Duration(off) * time.Second)
		if d.reads(t, y, m, dd) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if !first.IsZero() {
		return first, true
	}
	// At falls in a gap: no instant reads it. The gap ends at the transition next to guess, on the side where the
	// clock is past At.
	gapEnd := end
	if local := guess.In(d.loc); wallOf(local).After(wall) {
		gapEnd = start
	}
	if gy, gm, gd := gapEnd.In(d.loc).Date(); gapEnd.IsZero() || gy != y || gm != m || gd != dd {
		return time.Time{}, false
	}
	return gapEnd, true
}

// reads reports whether t's wall clock in d's zone shows At on y-m-dd.
func (d DigestSchedule) reads(t time.Time, y int, m time.Month, dd int) bool {
	l := t.In(d.loc)
	ly, lm, ld := l.Date()
	return ly == y && lm == m && ld == dd && l.Hour() == d.hour && l.Minute() == d.minute && l.Second() == 0 &&
		l.Nanosecond() == 0
}

// wallOf returns t's wall-clock reading in its own zone, relabelled as UTC so that readings compare.
func wallOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
