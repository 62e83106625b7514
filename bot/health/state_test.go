package health

import (
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// TestLateAcrossDST: a feed stuck on Thursday's batch turns late at 22:00 local on the Sundays daylight saving
// time starts and ends, whatever the UTC offset did that morning.
func TestLateAcrossDST(t *testing.T) {
	s := arxivSchedule(t)
	p := Policy{Schedule: s, LateAfter: DefaultLateAfter}
	tests := []struct {
		name, batch, lateUTC string
	}{
		{"DST starts", "2026-03-05 20:30", "2026-03-09T02:00:00Z"}, // 22:00 EDT, UTC-4
		{"DST ends", "2026-10-29 20:30", "2026-11-02T03:00:00Z"},   // 22:00 EST, UTC-5
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			late, err := time.Parse(time.RFC3339, tt.lateUTC)
			if err != nil {
				t.Fatal(err)
			}
			rec := Record{Source: "arxiv", LastBatch: et(t, tt.batch)}
			st := paper.SourceState{Source: "arxiv", LastSuccess: late}
			if r := Evaluate(late.Add(-time.Minute), true, st, rec, p); r.State != OK {
				t.Errorf("a minute before: %s (%s), want ok", r.State, r.Why)
			}
			r := Evaluate(late, true, st, rec, p)
			if r.State != Late || !r.Since.Equal(late) {
				t.Errorf("at %s: %s since %s, want late since then", tt.lateUTC, r.State, r.Since)
			}
		})
	}
}

// TestFeedQuiet: feeds without a schedule are quiet when silent for longer than any recent gap of theirs.
func TestFeedQuiet(t *testing.T) {
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	daily := []time.Time{base, base.Add(24 * time.Hour), base.Add(48 * time.Hour), base.Add(96 * time.Hour)} // longest gap 48h
	last := daily[len(daily)-1]
	tests := []struct {
		name     string
		arrivals []time.Time
		at       time.Time
		failures int
		want     State
	}{
		{"within the usual gap", daily, last.Add(47 * time.Hour), 0, OK},
		{"exactly the usual gap", daily, last.Add(48 * time.Hour), 0, OK},
		{"longer than usual", daily, last.Add(49 * time.Hour), 0, Quiet},
		{"too little history", daily[:MinArrivals-1], last.Add(30 * 24 * time.Hour), 0, OK},
		{"failing wins", daily, last.Add(49 * time.Hour), 2, Failing},
		{"busy feed, short silence", []time.Time{base, base.Add(time.Minute), base.Add(2 * time.Minute), base.Add(3 * time.Minute)},
			base.Add(30 * time.Minute), 0, OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := paper.SourceState{Source: "hf", ConsecutiveFailures: tt.failures, LastError: "HTTP 500", LastErrorAt: tt.at}
			r := Evaluate(tt.at, false, st, Record{Source: "hf", Arrivals: tt.arrivals}, Policy{})
			if r.State != tt.want {
				t.Errorf("state = %s (%s), want %s", r.State, r.Why, tt.want)
			}
			if !r.NextBatch.IsZero() {
				t.Errorf("a feed without a schedule has a next batch: %s", r.NextBatch)
			}
		})
	}
}

func TestApplyObservation(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	r := Record{}.Apply(Observation{At: t0, Failed: true}).Apply(Observation{At: t0.Add(time.Hour), Failed: true})
	if !r.FailingSince.Equal(t0) {
		t.Errorf("failing since %s, want the first failure %s", r.FailingSince, t0)
	}
	r = r.Apply(Observation{At: t0.Add(2 * time.Hour), Updated: 1})
	if !r.FailingSince.IsZero() || !r.LastBatch.Equal(t0.Add(2*time.Hour)) || len(r.Arrivals) != 0 {
		t.Errorf("after a poll with a replacement: %+v", r)
	}
	ts, err := DecodeArrivals(EncodeArrivals([]time.Time{t0, t0.Add(time.Second)}))
	if err != nil || len(ts) != 2 || !ts[1].Equal(t0.Add(time.Second)) {
		t.Errorf("arrivals round trip = %v, %v", ts, err)
	}
	if _, err := DecodeArrivals("12 x"); err == nil {
		t.Error("DecodeArrivals accepted garbage")
	}
}
