package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

var importCases = []testCase{
	{"imported papers are history", testImportHistory},
	{"the checkpoint commits with the papers", testImportCheckpoint},
	{"a listing of an imported paper is not new", testImportThenListing},
	{"an import merges into stored papers", testImportMerges},
	{"an empty import name is refused", testImportEmptyName},
}

// imported is a paper as a bulk import delivers it: no announce type, published long before the import.
func imported(id string, published time.Time, title string, cats ...string) paper.Paper {
	p := arxiv(id, published, "", title, "Abstract of "+title+".", cats...)
	p.Updated = published.Add(24 * time.Hour)
	return p
}

func mustImport(t *testing.T, s Store, name string, ps []paper.Paper, state string, at time.Time) paper.IngestResult {
	t.Helper()
	res, err := s.ImportBatch(t.Context(), name, ps, []byte(state), at)
	if err != nil {
		t.Fatalf("ImportBatch(%s): %v", name, err)
	}
	return res
}

func importState(t *testing.T, s Store, name string) (string, bool) {
	t.Helper()
	st, ok, err := s.ImportState(t.Context(), name)
	if err != nil {
		t.Fatalf("ImportState(%s): %v", name, err)
	}
	return string(st), ok
}

// testImportHistory: imported papers are stored and found by look-ups, sort by their publication (a 2019 paper is
// not "recent" because it was imported today), and create no outbox row even for a channel subscribed to them.
func testImportHistory(t *testing.T, s Store) {
	addSub(t, s, slackA, "eeg", at(-100000))
	old := imported("1905.00001", time.Date(2019, 5, 1, 12, 0, 0, 0, time.UTC), "EEG decoding in 2019", "eess.SP")
	recent := imported("2609.00001", t0.Add(-48*time.Hour), "EEG decoding this week", "eess.SP")
	res := mustImport(t, s, "snapshot", []paper.Paper{old, recent}, "offset 100", t0)
	if want := keysOf([]paper.Paper{old, recent}); !slices.Equal(res.New, want) || len(res.Updated) != 0 || res.Routed != 0 {
		t.Fatalf("ImportBatch = %+v, want New %v", res, want)
	}
	for _, p := range []paper.Paper{old, recent} {
		want := p
		want.Sources = []string{"snapshot"}
		if got := storedPaper(t, s, p.Key); jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("stored %s:\n got %s\nwant %s", p.Key, jsonOf(t, got), jsonOf(t, want))
		}
	}
	week, err := s.Recent(t.Context(), t0.Add(-7*24*time.Hour), 0)
	check(t, err, "Recent")
	if got := keysOf(week); !slices.Equal(got, []string{recent.Key}) {
		t.Errorf("papers of the last 7 days = %v, want only %s", got, recent.Key)
	}
	q, err := filters.Parse("eeg")
	check(t, err, "Parse")
	if got := keysOf(candidates(t, s, q, time.Time{}, 0)); !slices.Equal(got, []string{recent.Key, old.Key}) {
		t.Errorf("look-up eeg = %v, want both imported papers, newest first", got)
	}
	if got := keysOf(candidates(t, s, q, t0.Add(-7*24*time.Hour), 0)); !slices.Equal(got, []string{recent.Key}) {
		t.Errorf("look-up eeg in the last 7 days = %v, want %s", got, recent.Key)
	}
	if w := work(t, s); len(w) != 0 {
		t.Errorf("Work after an import = %+v, want none: imports never route", w)
	}
	if n, err := s.OutboxDepth(t.Context()); err != nil || n != 0 {
		t.Errorf("OutboxDepth = %d, %v; want 0", n, err)
	}
	states, err := s.SourceStates(t.Context())
	check(t, err, "SourceStates")
	if len(states) != 0 {
		t.Errorf("an import changed source health: %+v", states)
	}
}

// testImportCheckpoint: the checkpoint is saved with its batch and only with it, per import name.
func testImportCheckpoint(t *testing.T, s Store) {
	if st, ok := importState(t, s, "snapshot"); ok || st != "" {
		t.Fatalf("ImportState of a new store = %q, %v; want none", st, ok)
	}
	a := imported("2001.00001", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), "A", "cs.LG")
	b := imported("2001.00002", time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC), "B", "cs.LG")
	mustImport(t, s, "snapshot", []paper.Paper{a}, "line 1", at(1))
	mustImport(t, s, "oai", nil, "token xyz", at(1))
	mustImport(t, s, "snapshot", []paper.Paper{b}, "line 2", at(2))
	if st, ok := importState(t, s, "snapshot"); !ok || st != "line 2" {
		t.Errorf("ImportState(snapshot) = %q, %v; want the last batch's", st, ok)
	}
	if st, ok := importState(t, s, "oai"); !ok || st != "token xyz" {
		t.Errorf("ImportState(oai) = %q, %v; want its own", st, ok)
	}

	// A batch that fails (here: its context ends) stores neither its papers nor its checkpoint.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c := imported("2001.00003", time.Date(2020, 1, 3, 0, 0, 0, 0, time.UTC), "C", "cs.LG")
	if _, err := s.ImportBatch(ctx, "snapshot", []paper.Paper{c}, []byte("line 3"), at(3)); err == nil {
		t.Fatal("ImportBatch with an ended context succeeded")
	}
	if st, _ := importState(t, s, "snapshot"); st != "line 2" {
		t.Errorf("after a failed batch ImportState = %q, want line 2", st)
	}
	all, err := s.Recent(t.Context(), time.Time{}, 0)
	check(t, err, "Recent")
	if got := keysOf(all); !slices.Equal(got, keysOf([]paper.Paper{b, a})) {
		t.Errorf("stored = %v, want a and b only", got)
	}

	// Resuming re-sends the batch after the checkpoint; sending an already stored batch again stores nothing twice.
	res := mustImport(t, s, "snapshot", []paper.Paper{b, c}, "line 3", at(4))
	if !slices.Equal(res.New, []string{c.Key}) || res.Unchanged != 1 || len(res.Updated) != 0 {
		t.Errorf("re-sent batch = %+v, want c new and b unchanged", res)
	}
	all, err = s.Recent(t.Context(), time.Time{}, 0)
	check(t, err, "Recent")
	if len(all) != 3 {
		t.Errorf("stored %d papers, want 3", len(all))
	}
}

// testImportThenListing: an imported paper later seen in a listing is not New; the listing merges into it and
// follows the usual routing rule with the paper's first-seen time, its publication, so a subscription older than
// the paper gets it once and a subscription added after it does not.
func testImportThenListing(t *testing.T, s Store) {
	pub := t0.Add(-5 * time.Hour)
	p := imported("2609.00007", pub, "Spiking EEG", "q-bio.NC")
	mustImport(t, s, "snapshot", []paper.Paper{p}, "x", t0.Add(-time.Hour))

	listed := arxiv("2609.00007", pub, paper.AnnounceNew, "Spiking EEG", p.Abstract, "q-bio.NC")
	r := routeAll(slackA)
	res := mustRoute(t, s, "arxiv-nc", []paper.Paper{listed}, t0, r.route)
	if len(res.New) != 0 {
		t.Errorf("listing of an imported paper = %+v, want not new", res)
	}
	calls := r.take()
	if len(calls) != 1 {
		t.Errorf("router calls = %v, want the listed paper once", callKeys(calls))
	}
	for _, c := range calls {
		if !c.firstSeen.Equal(pub) {
			t.Errorf("router saw first-seen %s, want the publication %s", c.firstSeen, pub)
		}
	}

	cross := arxiv("2609.00007", pub, paper.AnnounceCross, "Spiking EEG", p.Abstract, "q-bio.NC", "cs.LG")
	res = mustRoute(t, s, "arxiv-lg", []paper.Paper{cross}, t0.Add(time.Hour), r.route)
	if len(res.New) != 0 || !slices.Equal(res.Updated, []string{p.Key}) {
		t.Errorf("cross-list of an imported paper = %+v, want updated, not new", res)
	}
	for _, c := range r.take() {
		if !c.firstSeen.Equal(pub) {
			t.Errorf("cross-list: router saw first-seen %s, want the publication %s", c.firstSeen, pub)
		}
	}
	if got := itemKeys(pending(t, s, slackA)); !slices.Equal(got, []string{p.Key}) {
		t.Errorf("pending rows of %s = %v, want the paper once", slackA, got)
	}
	if got := storedPaper(t, s, p.Key); !slices.Equal(got.Categories, []string{"q-bio.NC", "cs.LG"}) ||
		!slices.Equal(got.Sources, []string{"snapshot", "arxiv-nc", "arxiv-lg"}) {
		t.Errorf("merged paper: categories %v, sources %v", got.Categories, got.Sources)
	}
}

// testImportMerges: an import of a paper already stored merges into it (a newer version wins the text, an earlier
// publication moves it) and is Unchanged when it teaches nothing; it never makes the paper routable again.
func testImportMerges(t *testing.T, s Store) {
	r := routeAll(slackA)
	listed := arxiv("2609.00009", t0, paper.AnnounceNew, "Title v1", "Abstract v1.", "cs.LG")
	mustRoute(t, s, "arxiv-lg", []paper.Paper{listed}, t0, r.route)
	r.take()
	before := pending(t, s, slackA)

	v2 := imported("2609.00009", t0.Add(-24*time.Hour), "Title v2", "cs.LG", "stat.ML")
	v2.Version = 2
	res := mustImport(t, s, "snapshot", []paper.Paper{v2}, "a", at(1))
	if !slices.Equal(res.Updated, []string{listed.Key}) || len(res.New) != 0 {
		t.Fatalf("import of a stored paper = %+v, want updated", res)
	}
	got := storedPaper(t, s, listed.Key)
	if got.Title != "Title v2" || got.Version != 2 || !got.Published.Equal(v2.Published) ||
		!slices.Equal(got.Categories, []string{"cs.LG", "stat.ML"}) {
		t.Errorf("merged paper = %s", jsonOf(t, got))
	}
	week, err := s.Recent(t.Context(), t0.Add(-time.Hour), 0)
	check(t, err, "Recent")
	if len(week) != 0 {
		t.Errorf("papers since an hour ago = %v, want none: the import's earlier date moved the paper", keysOf(week))
	}
	if res := mustImport(t, s, "snapshot", []paper.Paper{v2}, "b", at(2)); res.Unchanged != 1 || len(res.Updated)+len(res.New) != 0 {
		t.Errorf("the same import again = %+v, want unchanged", res)
	}
	if len(r.take()) != 0 {
		t.Error("an import called a router")
	}
	if after := pending(t, s, slackA); !slices.Equal(itemIDs(after), itemIDs(before)) {
		t.Errorf("pending rows changed with an import: %v -> %v", itemIDs(before), itemIDs(after))
	}
}

func testImportEmptyName(t *testing.T, s Store) {
	if _, err := s.ImportBatch(t.Context(), "", []paper.Paper{simple("2609.00001", t0)}, nil, t0); err == nil {
		t.Error("ImportBatch with an empty name succeeded")
	}
	all, err := s.Recent(t.Context(), time.Time{}, 0)
	check(t, err, "Recent")
	if len(all) != 0 {
		t.Errorf("stored %v after a refused import", keysOf(all))
	}
}
