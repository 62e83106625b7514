// Package health tells a quiet feed from a stale one: it knows arXiv's announcement calendar (Sunday to Thursday at
// 20:00 US Eastern, none on Friday and Saturday evenings or on arXiv's holidays), gives every source one state
// (ok, quiet, late, failing) for /papers sources, /healthz and the metrics, and posts a notice when a source has
// been late or failing for too long, and another when it recovers.
package health

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	// The schedule's time zone must load in a scratch image without /usr/share/zoneinfo.
	_ "time/tzdata"
)

//go:embed arxiv_calendar.txt
var arxivCalendar []byte

// Holiday is a date on which arXiv makes no announcement.
type Holiday struct {
	// Date is the US Eastern date of the evening whose announcement does not take place, as "2006-01-02".
	Date string
	// Name says what the holiday is; Source where the date comes from.
	Name, Source string
}

// Schedule is a fixed weekly announcement time in one time zone, minus holidays.
type Schedule struct {
	// Location is the announcement's time zone (America/New_York for arXiv).
	Location *time.Location
	// Days are the weekdays on which an announcement is made, at Hour:Minute local time.
	Days         []time.Weekday
	Hour, Minute int
	holidays     map[string]Holiday
}

// ArxivSchedule is arXiv's announcement calendar as shipped in arxiv_calendar.txt.
func ArxivSchedule() (*Schedule, error) {
	s, err := ParseCalendar(arxivCalendar)
	if err != nil {
		return nil, fmt.Errorf("arxiv_calendar.txt: %w", err)
	}
	return s, nil
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseCalendar reads a calendar in arxiv_calendar.txt's format. Errors name the line.
func ParseCalendar(data []byte) (*Schedule, error) {
	s := &Schedule{holidays: map[string]Holiday{}, Hour: -1}
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		bad := func(format string, args ...any) error {
			return fmt.Errorf("line %d: %s", n, fmt.Sprintf(format, args...))
		}
		switch word {
		case "timezone":
			if s.Location != nil {
				return nil, bad("timezone given twice")
			}
			if rest == "" || rest == "Local" {
				return nil, bad("timezone needs an IANA zone name such as America/New_York")
			}
			loc, err := time.LoadLocation(rest)
			if err != nil {
				return nil, bad("timezone %q: %v", rest, err)
			}
			s.Location = loc
		case "announce":
			if s.Hour >= 0 {
				return nil, bad("announce given twice")
			}
			f := strings.Fields(rest)
			if len(f) < 2 {
				return nil, bad("announce needs days and a time, e.g. \"announce sun mon 20:00\"")
			}
			hh, mm, ok := strings.Cut(f[len(f)-1], ":")
			h, herr := strconv.Atoi(hh)
			m, merr := strconv.Atoi(mm)
			if !ok || herr != nil || merr != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(mm) != 2 {
				return nil, bad("announce time %q: want HH:MM", f[len(f)-1])
			}
			s.Hour, s.Minute = h, m
			for _, d := range f[:len(f)-1] {
				wd, ok := weekdays[strings.ToLower(d)]
				if !ok {
					return nil, bad("announce day %q: want sun, mon, tue, wed, thu, fri or sat", d)
				}
				if slices.Contains(s.Days, wd) {
					return nil, bad("announce day %q given twice", d)
				}
				s.Days = append(s.Days, wd)
			}
		case "holiday":
			parts := strings.Split(rest, "|")
			if len(parts) != 3 {
				return nil, bad("holiday: want \"holiday YYYY-MM-DD | what | source\"")
			}
			date, name, source := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1]), strings.TrimSpace(parts[2])
			d, err := time.Parse(time.DateOnly, date)
			if err != nil || d.Format(time.DateOnly) != date {
				return nil, bad("holiday date %q: want YYYY-MM-DD", date)
			}
			if name == "" || source == "" {
				return nil, bad("holiday %s: name and source are required", date)
			}
			if _, dup := s.holidays[date]; dup {
				return nil, bad("holiday %s listed twice", date)
			}
			s.holidays[date] = Holiday{Date: date, Name: name, Source: source}
		default:
			return nil, bad("unknown entry %q (want timezone, announce or holiday)", word)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if s.Location == nil {
		return nil, fmt.Errorf("no timezone line")
	}
	if s.Hour < 0 || len(s.Days) == 0 {
		return nil, fmt.Errorf("no announce line")
	}
	return s, nil
}

// Holidays returns the holidays, by date.
func (s *Schedule) Holidays() []Holiday {
	out := make([]Holiday, 0, len(s.holidays))
	for _, h := range s.holidays {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Holiday) int { return strings.Compare(a.Date, b.Date) })
	return out
}

// Expected says whether an announcement takes place on the evening of the local date of t, and if not, why
// ("Friday", "Saturday", or the holiday's name).
func (s *Schedule) Expected(t time.Time) (bool, string) {
	l := t.In(s.Location)
	if h, ok := s.holidays[l.Format(time.DateOnly)]; ok {
		return false, h.Name
	}
	if !slices.Contains(s.Days, l.Weekday()) {
		return false, l.Weekday().String()
	}
	return true, ""
}

// slot is the announcement time on the local date of t, whether or not one takes place then. time.Date resolves
// the wall clock in the zone's rules for that date, so daylight saving time moves it in UTC.
func (s *Schedule) slot(t time.Time) time.Time {
	l := t.In(s.Location)
	return time.Date(l.Year(), l.Month(), l.Day(), s.Hour, s.Minute, 0, 0, s.Location)
}

// searchDays bounds the search for an announcement: a calendar with no announcement for this long is broken.
const searchDays = 60

// Previous returns the last announcement at or before t; zero if there is none within searchDays.
func (s *Schedule) Previous(t time.Time) time.Time {
	l := t.In(s.Location)
	for i := range searchDays {
		day := time.Date(l.Year(), l.Month(), l.Day()-i, 12, 0, 0, 0, s.Location)
		at := s.slot(day)
		if at.After(t) {
			continue
		}
		if ok, _ := s.Expected(day); ok {
			return at
		}
	}
	return time.Time{}
}

// Next returns the first announcement after t; zero if there is none within searchDays.
func (s *Schedule) Next(t time.Time) time.Time {
	l := t.In(s.Location)
	for i := range searchDays {
		day := time.Date(l.Year(), l.Month(), l.Day()+i, 12, 0, 0, 0, s.Location)
		at := s.slot(day)
		if !at.After(t) {
			continue
		}
		if ok, _ := s.Expected(day); ok {
			return at
		}
	}
	return time.Time{}
}

// SkippedSince returns the first evening after from and at or before to on which no announcement took place
// (its slot time), and why; zero when every evening in between had one.
func (s *Schedule) SkippedSince(from, to time.Time) (time.Time, string) {
	l := from.In(s.Location)
	for i := range searchDays {
		day := time.Date(l.Year(), l.Month(), l.Day()+i, 12, 0, 0, 0, s.Location)
		at := s.slot(day)
		if at.After(to) {
			break
		}
		if !at.After(from) {
			continue
		}
		if ok, why := s.Expected(day); !ok {
			return at, why
		}
	}
	return time.Time{}, ""
}
