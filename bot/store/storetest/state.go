package storetest

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

var sourceStateCases = []testCase{
	{"validators are saved with the poll", testValidators},
	{"health of a source", testSourceHealth},
	{"sources are listed by name", testSourceOrder},
	{"poll errors are capped, nil refused", testPollErrorText},
}

func testValidators(t *testing.T, s Store) {
	validators := func(source string) map[string]paper.Validators {
		t.Helper()
		v, err := s.Validators(t.Context(), source)
		check(t, err, "Validators")
		return v
	}
	if got := validators("arxiv"); len(got) != 0 {
		t.Errorf("Validators of a new store = %v", got)
	}
	v1 := map[string]paper.Validators{
		"https://rss.arxiv.org/rss/cs.LG":    {ETag: `"a1"`, LastModified: "Mon, 28 Sep 2026 04:00:00 GMT"},
		"https://rss.arxiv.org/rss/q-bio.NC": {ETag: `"b1"`},
	}
	mustIngest(t, s, "arxiv", []paper.Paper{simple("2609.00001", t0)}, v1, at(1))
	if got := validators("arxiv"); jsonOf(t, got) != jsonOf(t, v1) {
		t.Errorf("Validators = %v, want %v", got, v1)
	}
	if got := validators("other"); len(got) != 0 {
		t.Errorf("Validators of another source = %v", got)
	}
	// A failed poll and a 304 leave them as they are.
	check(t, s.RecordPollError(t.Context(), "arxiv", errors.New("HTTP 503"), at(2)), "RecordPollError")
	check(t, s.RecordNotModified(t.Context(), "arxiv", at(3)), "RecordNotModified")
	if got := validators("arxiv"); jsonOf(t, got) != jsonOf(t, v1) {
		t.Errorf("Validators after an error and a 304 = %v, want %v", got, v1)
	}
	// A later poll updates only the URLs it fetched.
	mustIngest(t, s, "arxiv", nil, map[string]paper.Validators{"https://rss.arxiv.org/rss/cs.LG": {ETag: `"a3"`}}, at(4))
	want := map[string]paper.Validators{"https://rss.arxiv.org/rss/cs.LG": {ETag: `"a3"`}, "https://rss.arxiv.org/rss/q-bio.NC": {ETag: `"b1"`}}
	if got := validators("arxiv"); jsonOf(t, got) != jsonOf(t, want) {
		t.Errorf("Validators = %v, want %v", got, want)
	}
}

func testSourceHealth(t *testing.T, s Store) {
	p := simple("2609.00001", t0)
	q := simple("2609.00002", t0)
	steps := []struct {
		name string
		do   func() error
		want paper.SourceState
	}{
		{"first poll brings a new paper", func() error {
			_, err := s.Ingest(t.Context(), "src", []paper.Paper{p}, nil, at(1))
			return err
		}, paper.SourceState{Source: "src", LastPoll: at(1), LastSuccess: at(1), LastNewPaper: at(1), Papers: 1, Polls: 1}},
		{"not modified", func() error { return s.RecordNotModified(t.Context(), "src", at(2)) },
			paper.SourceState{Source: "src", LastPoll: at(2), LastSuccess: at(2), LastNewPaper: at(1), Papers: 1, Polls: 2}},
		{"error", func() error { return s.RecordPollError(t.Context(), "src", errors.New("HTTP 503"), at(3)) },
			paper.SourceState{Source: "src", LastPoll: at(3), LastSuccess: at(2), LastNewPaper: at(1), LastErrorAt: at(3),
				LastError: "HTTP 503", Papers: 1, Polls: 3, Failures: 1, ConsecutiveFailures: 1}},
		{"second error", func() error { return s.RecordPollError(t.Context(), "src", errors.New("timeout"), at(4)) },
			paper.SourceState{Source: "src", LastPoll: at(4), LastSuccess: at(2), LastNewPaper: at(1), LastErrorAt: at(4),
				LastError: "timeout", Papers: 1, Polls: 4, Failures: 2, ConsecutiveFailures: 2}},
		{"success without new papers keeps the last error as history", func() error {
			_, err := s.Ingest(t.Context(), "src", []paper.Paper{p}, nil, at(5))
			return err
		}, paper.SourceState{Source: "src", LastPoll: at(5), LastSuccess: at(5), LastNewPaper: at(1), LastErrorAt: at(4),
			LastError: "timeout", Papers: 1, Polls: 5, Failures: 2}},
		{"a replacement of an unknown paper counts, but is not new", func() error {
			r := q
			r.AnnounceType = paper.AnnounceReplace
			_, err := s.Ingest(t.Context(), "src", []paper.Paper{r}, nil, at(6))
			return err
		}, paper.SourceState{Source: "src", LastPoll: at(6), LastSuccess: at(6), LastNewPaper: at(1), LastErrorAt: at(4),
			LastError: "timeout", Papers: 2, Polls: 6, Failures: 2}},
	}
	for _, st := range steps {
		check(t, st.do(), st.name)
		got, err := s.SourceStates(t.Context())
		check(t, err, "SourceStates")
		if want := []paper.SourceState{st.want}; len(got) != 1 || !sameState(got[0], st.want) {
			t.Errorf("%s: SourceStates =\n %+v\nwant\n %+v", st.name, got, want)
		}
	}
}

// sameState compares source states with times as instants.
func sameState(a, b paper.SourceState) bool {
	return a.Source == b.Source && a.LastPoll.Equal(b.LastPoll) && a.LastSuccess.Equal(b.LastSuccess) &&
		a.LastNewPaper.Equal(b.LastNewPaper) && a.LastErrorAt.Equal(b.LastErrorAt) && a.LastError == b.LastError &&
		a.Papers == b.Papers && a.Polls == b.Polls && a.Failures == b.Failures && a.ConsecutiveFailures == b.ConsecutiveFailures
}

func testSourceOrder(t *testing.T, s Store) {
	check(t, s.RecordNotModified(t.Context(), "rss-b", at(1)), "RecordNotModified")
	check(t, s.RecordPollError(t.Context(), "arxiv", errors.New("x"), at(1)), "RecordPollError")
	mustIngest(t, s, "hf", nil, nil, at(1))
	states, err := s.SourceStates(t.Context())
	check(t, err, "SourceStates")
	var names []string
	for _, st := range states {
		names = append(names, st.Source)
	}
	if got := strings.Join(names, " "); got != "arxiv hf rss-b" {
		t.Errorf("sources = %q, want them by name", got)
	}
}

func testPollErrorText(t *testing.T, s Store) {
	long := "x" + strings.Repeat("é", 5000)
	check(t, s.RecordPollError(t.Context(), "long", errors.New(long), at(1)), "RecordPollError")
	states, err := s.SourceStates(t.Context())
	check(t, err, "SourceStates")
	if len(states) != 1 {
		t.Fatalf("SourceStates = %+v", states)
	}
	got := strings.TrimSuffix(states[0].LastError, "…")
	if !utf8.ValidString(got) || len(got) < 100 || len(got) > 2000 || !strings.HasPrefix(long, got) {
		t.Errorf("stored error of %d bytes (valid UTF-8: %v): want a prefix of the %d-byte error, cut on a character",
			len(got), utf8.ValidString(got), len(long))
	}
	if err := s.RecordPollError(t.Context(), "long", nil, at(2)); err == nil {
		t.Error("RecordPollError(nil) succeeded")
	}
}
