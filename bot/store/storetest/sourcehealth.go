package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/health"
)

var sourceHealthCases = []testCase{
	{"polls build the health record", testHealthRecord},
	{"one open notice per source", testHealthNotice},
	{"of racing instances one opens the notice", testHealthNoticeRace},
}

func healthRecords(t *testing.T, s Store) map[string]health.Record {
	t.Helper()
	recs, err := s.HealthRecords(t.Context())
	check(t, err, "HealthRecords")
	out := map[string]health.Record{}
	var names []string
	for _, r := range recs {
		out[r.Source] = r
		names = append(names, r.Source)
	}
	if !slices.IsSorted(names) {
		t.Errorf("HealthRecords not by name: %v", names)
	}
	return out
}

func testHealthRecord(t *testing.T, s Store) {
	ctx := t.Context()
	if got := healthRecords(t, s); len(got) != 0 {
		t.Fatalf("HealthRecords of a new store = %v", got)
	}
	observe := func(source string, o health.Observation) {
		t.Helper()
		check(t, s.RecordHealth(ctx, source, o), "RecordHealth")
	}
	observe("arxiv", health.Observation{At: at(1), New: 3})
	observe("arxiv", health.Observation{At: at(2)})             // nothing new: batch and arrivals unchanged
	observe("arxiv", health.Observation{At: at(3), Updated: 1}) // a replacement is a batch, not an arrival
	observe("arxiv", health.Observation{At: at(4), Failed: true})
	observe("arxiv", health.Observation{At: at(5), Failed: true})
	observe("hf", health.Observation{At: at(1), New: 1})
	got := healthRecords(t, s)
	a := got["arxiv"]
	if !a.FailingSince.Equal(at(4)) || !a.LastBatch.Equal(at(3)) || !slices.EqualFunc(a.Arrivals, []time.Time{at(1)}, time.Time.Equal) {
		t.Errorf("arxiv after failures = failing since %v, batch %v, arrivals %v; want %v, %v, [%v]",
			a.FailingSince, a.LastBatch, a.Arrivals, at(4), at(3), at(1))
	}
	if a.Notice != "" {
		t.Errorf("notice = %q without SetNotice", a.Notice)
	}
	observe("arxiv", health.Observation{At: at(6)})
	if a := healthRecords(t, s)["arxiv"]; !a.FailingSince.IsZero() {
		t.Errorf("failing since %v after a success", a.FailingSince)
	}
	// Only the latest ArrivalHistory new-paper times are kept, oldest first.
	for h := 10; h < 10+health.ArrivalHistory+3; h++ {
		observe("arxiv", health.Observation{At: at(h), New: 1})
	}
	arr := healthRecords(t, s)["arxiv"].Arrivals
	if len(arr) != health.ArrivalHistory || !arr[0].Equal(at(13)) || !arr[len(arr)-1].Equal(at(12+health.ArrivalHistory)) {
		t.Errorf("arrivals = %v, want the %d from %v", arr, health.ArrivalHistory, at(13))
	}
	if h := got["hf"]; !h.LastBatch.Equal(at(1)) || len(h.Arrivals) != 1 {
		t.Errorf("hf = %+v", h)
	}
}

func testHealthNotice(t *testing.T, s Store) {
	ctx := t.Context()
	set := func(source string, from, to health.State, h int) bool {
		t.Helper()
		ok, err := s.SetNotice(ctx, source, from, to, at(h))
		check(t, err, "SetNotice")
		return ok
	}
	check(t, s.RecordHealth(ctx, "arxiv", health.Observation{At: at(0), Failed: true}), "RecordHealth")
	steps := []struct {
		name     string
		from, to health.State
		want     bool
	}{
		{"open", "", health.Late, true},
		{"a second open is refused", "", health.Failing, false},
		{"closing the wrong state is refused", health.Failing, "", false},
		{"close", health.Late, "", true},
		{"a second close is refused", health.Late, "", false},
		{"reopen", "", health.Failing, true},
	}
	for i, st := range steps {
		if got := set("arxiv", st.from, st.to, i+1); got != st.want {
			t.Errorf("%s: SetNotice(%q -> %q) = %v, want %v", st.name, st.from, st.to, got, st.want)
		}
	}
	rec := healthRecords(t, s)["arxiv"]
	if rec.Notice != health.Failing || !rec.NoticeAt.Equal(at(len(steps))) || !rec.FailingSince.Equal(at(0)) {
		t.Errorf("record = %+v, want a failing notice opened at %v, failing since %v kept", rec, at(len(steps)), at(0))
	}
	// A notice for a source with no record yet creates one; closing one that does not exist does nothing.
	if !set("new", "", health.Failing, 1) || set("other", health.Late, "", 1) {
		t.Error("SetNotice on sources without a record")
	}
	if _, ok := healthRecords(t, s)["other"]; ok {
		t.Error("closing a notice of an unknown source created a record")
	}
	// Polls leave the notice alone.
	check(t, s.RecordHealth(ctx, "new", health.Observation{At: at(2), New: 1}), "RecordHealth")
	if rec := healthRecords(t, s)["new"]; rec.Notice != health.Failing {
		t.Errorf("notice after a poll = %q", rec.Notice)
	}
}

func testHealthNoticeRace(t *testing.T, s Store) {
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan bool, n)
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			ok, err := s.SetNotice(t.Context(), "arxiv", "", health.Late, at(1))
			if err != nil {
				errs <- err
			}
			wins <- ok
		})
	}
	wg.Wait()
	close(wins)
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	check(t, errors.Join(all...), "SetNotice")
	won := 0
	for ok := range wins {
		if ok {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d of %d racing SetNotice calls opened the notice, want exactly 1", won, n)
	}
}
