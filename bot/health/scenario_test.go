package health_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/health"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
)

var newYork = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return loc
}()

func et(s string) time.Time {
	v, err := time.ParseInLocation("Mon 2006-01-02 15:04", s, newYork)
	if err != nil {
		panic(err)
	}
	return v
}

// feed is a fake arXiv listing: it serves the batch of each announcement feedLag after it, unless stuck, and fails
// while broken.
type feed struct {
	sched   *health.Schedule
	lag     time.Duration
	stuck   []span // serves the previous batch during these
	broken  []span // every poll fails during these
	batches int
}

type span struct{ from, to time.Time }

func in(spans []span, t time.Time) bool {
	return slices.ContainsFunc(spans, func(s span) bool { return !t.Before(s.from) && t.Before(s.to) })
}

// batchAt is the announcement whose batch the feed serves at t: while stuck, the one it served when it got stuck.
func (f *feed) batchAt(t time.Time) time.Time {
	for _, s := range f.stuck {
		if !t.Before(s.from) && t.Before(s.to) {
			t = s.from
		}
	}
	return f.sched.Previous(t.Add(-f.lag))
}

// rig is a store, a feed poller and the instances' monitors, all on one fake clock.
type rig struct {
	t        *testing.T
	st       *store.Store
	feed     *feed
	now      time.Time
	served   time.Time // the batch the last successful poll saw
	mu       sync.Mutex
	notices  []string
	monitors []*health.Monitor
}

const source = "arxiv-cs"

func newRig(t *testing.T, f *feed, start time.Time) *rig {
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &rig{t: t, st: st, feed: f, now: start}
}

// monitor starts one more instance's monitor on the shared store (a restart is a new one).
func (r *rig) monitor() *health.Monitor {
	m := &health.Monitor{
		Store:       r.st,
		Sources:     []health.Source{{Name: source, Listing: true}},
		Policy:      health.Policy{Schedule: r.feed.sched, LateAfter: health.DefaultLateAfter},
		NotifyAfter: health.DefaultNotifyAfter,
		Now:         func() time.Time { return r.now },
		Notify: func(_ context.Context, text, _ string) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.notices = append(r.notices, health.FormatTime(r.now, newYork)+" "+text)
			return nil
		},
	}
	r.monitors = append(r.monitors, m)
	return m
}

// poll polls the feed at r.now as the app does: the store's poll state, then the monitor's observation.
func (r *rig) poll(m *health.Monitor) {
	ctx := r.t.Context()
	if in(r.feed.broken, r.now) {
		if err := r.st.RecordPollError(ctx, source, errors.New("HTTP 503 Service Unavailable"), r.now); err != nil {
			r.t.Fatal(err)
		}
		m.Observe(ctx, source, health.Observation{At: r.now, Failed: true})
		return
	}
	b := r.feed.batchAt(r.now)
	if b.Equal(r.served) {
		if err := r.st.RecordNotModified(ctx, source, r.now); err != nil {
			r.t.Fatal(err)
		}
		m.Observe(ctx, source, health.Observation{At: r.now})
		return
	}
	r.served = b
	r.feed.batches++
	id := fmt.Sprintf("2611.%05d", r.feed.batches)
	p := paper.Paper{ArxivID: id, Version: 1, Title: "Paper " + id, Abstract: "An abstract.", Authors: []string{"Ada Lovelace"},
		AnnounceType: paper.AnnounceNew, Published: b}
	p.Key = paper.KeyOf(p)
	res, err := r.st.Ingest(ctx, source, []paper.Paper{p}, nil, r.now)
	if err != nil {
		r.t.Fatal(err)
	}
	m.Observe(ctx, source, health.Observation{At: r.now, New: len(res.New), Updated: len(res.Updated)})
}

func (r *rig) state(m *health.Monitor) health.Report {
	reps, err := m.Reports(r.t.Context())
	if err != nil || len(reps) != 1 {
		r.t.Fatalf("Reports = %v, %v", reps, err)
	}
	return reps[0]
}

// TestArxivWeek runs a week of arXiv's calendar, Thanksgiving 2026 included: a feed stuck on
// Sunday's batch after Monday's announcement, a failure of seven hours and one of one hour, the holiday
// and the weekend. Two instances share the store and check every minute; one restarts in the middle.
func TestArxivWeek(t *testing.T) {
	sched, err := health.ArxivSchedule()
	if err != nil {
		t.Fatal(err)
	}
	f := &feed{sched: sched, lag: 10 * time.Minute,
		stuck: []span{{et("Mon 2026-11-23 20:00"), et("Tue 2026-11-24 10:00")}},
		broken: []span{
			{et("Tue 2026-11-24 14:00"), et("Tue 2026-11-24 15:00")}, // shorter than notify_after: no notice
			{et("Wed 2026-11-25 12:00"), et("Wed 2026-11-25 19:00")},
		},
	}
	r := newRig(t, f, et("Sun 2026-11-22 12:00"))
	a, b := r.monitor(), r.monitor()

	// The state expected at given minutes (checked before that minute's poll and checks).
	want := map[string]health.State{
		"Sun 2026-11-22 19:59": health.Quiet, // the start saw Thursday's batch, and Friday had none
		"Sun 2026-11-22 20:15": health.OK,    // due, within late_after
		"Mon 2026-11-23 12:00": health.OK,
		"Mon 2026-11-23 21:59": health.OK,   // stuck, but not yet late_after past 20:00
		"Mon 2026-11-23 22:00": health.Late, // the minute: 20:00 ET + 2h
		"Tue 2026-11-24 09:59": health.Late,
		"Tue 2026-11-24 10:01": health.OK,
		"Tue 2026-11-24 14:31": health.Failing,
		"Tue 2026-11-24 15:01": health.OK,
		"Wed 2026-11-25 12:01": health.Failing,
		"Wed 2026-11-25 19:01": health.OK,
		"Wed 2026-11-25 22:30": health.OK,
		"Thu 2026-11-26 19:59": health.OK,
		"Thu 2026-11-26 20:00": health.Quiet, // Thanksgiving: no announcement, nothing is late
		"Thu 2026-11-26 23:00": health.Quiet,
		"Fri 2026-11-27 21:00": health.Quiet,
		"Sat 2026-11-28 23:59": health.Quiet,
		"Sun 2026-11-29 20:05": health.OK, // Sunday's announcement is due: waiting, not quiet
		"Sun 2026-11-29 20:45": health.OK,
	}
	// The clock visits every ten minutes (every poll at :00 and :30, every notice due on the hour) plus each minute
	// the table names: every state change the table pins down is seen at the minute it happens, at a tenth of the
	// cost of visiting every minute of the week.
	end := et("Sun 2026-11-29 21:00")
	var visits []time.Time
	for v := r.now; v.Before(end); v = v.Add(10 * time.Minute) {
		visits = append(visits, v)
	}
	for k := range want {
		visits = append(visits, et(k))
	}
	slices.SortFunc(visits, time.Time.Compare)
	visits = slices.CompactFunc(visits, time.Time.Equal)
	for _, v := range visits {
		r.now = v
		key := r.now.In(newYork).Format("Mon 2006-01-02 15:04")
		if w, ok := want[key]; ok {
			if got := r.state(a); got.State != w {
				t.Errorf("%s: state %s (%s), want %s", key, got.State, got.Why, w)
			}
			delete(want, key)
		}
		if r.now.Minute()%30 == 0 {
			r.poll(a)
		}
		if key == "Tue 2026-11-24 06:00" {
			a = r.monitor() // a restart of instance a during the open late notice
		}
		for _, m := range []*health.Monitor{a, b} {
			if _, err := m.Check(t.Context()); err != nil {
				t.Fatalf("%s: Check: %v", key, err)
			}
		}
	}
	for k := range want {
		t.Errorf("state at %s never checked", k)
	}
	wantNotices := []string{
		"Tue 24 Nov 04:00 EST ⚠️ Source arxiv-cs is late: arXiv announced at Mon 23 Nov 20:00 EST and the feed still serves the previous batch.",
		"Tue 24 Nov 10:00 EST ✅ Source arxiv-cs has recovered (it was late; notice of Tue 24 Nov 04:00 EST); now ok.",
		"Wed 25 Nov 18:00 EST ⚠️ Source arxiv-cs is failing since Wed 25 Nov 12:00 EST: HTTP 503 Service Unavailable",
		"Wed 25 Nov 19:00 EST ✅ Source arxiv-cs has recovered (it was failing; notice of Wed 25 Nov 18:00 EST); now ok.",
	}
	if !slices.Equal(r.notices, wantNotices) {
		t.Errorf("notices:\n%s\nwant:\n%s", strings.Join(r.notices, "\n"), strings.Join(wantNotices, "\n"))
	}
}
