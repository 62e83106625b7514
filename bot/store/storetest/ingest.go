package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

var ingestCases = []testCase{
	{"new papers round-trip", testIngestNew},
	{"one key across HF, two arXiv categories and the API", testIngestOneKey},
	{"a replacement is never new", testIngestReplacement},
	{"a cross-list is new only when unknown", testIngestCross},
	{"duplicate keys in one batch", testIngestDuplicates},
	{"text is stored NFC", testIngestNFC},
	{"an earlier date moves the paper", testIngestEarlierDate},
	{"an empty source name is refused", testIngestEmptySource},
}

func testIngestNew(t *testing.T, s Store) {
	in := []paper.Paper{
		arxiv("2609.00001", t0.Add(-2*time.Hour), paper.AnnounceNew, "Older", "first abstract", "cs.LG"),
		arxiv("2609.00002", t0, paper.AnnounceNew, "Newest", "second abstract", "q-bio.NC"),
		arxiv("2609.00003", t0.Add(-time.Hour), paper.AnnounceCross, "Middle", "third abstract", "cs.CV"),
	}
	in[1].Comment, in[1].Updated = "10 pages", t0.Add(time.Minute)
	in[2].DOI, in[2].JournalRef = "10.1000/xyz", "J. Tests 1 (2026)"
	res := mustIngest(t, s, "arxiv-lg", in, nil, t0)
	if want := keysOf(in); !slices.Equal(res.New, want) || len(res.Updated) != 0 || res.Unchanged != 0 || res.Routed != 0 {
		t.Fatalf("Ingest = %+v, want New %v in batch order", res, want)
	}
	for _, p := range in {
		want := p
		want.Sources = []string{"arxiv-lg"}
		if got := storedPaper(t, s, p.Key); jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("stored %s:\n got %s\nwant %s", p.Key, jsonOf(t, got), jsonOf(t, want))
		}
	}
	res = mustIngest(t, s, "arxiv-lg", in, nil, t0.Add(time.Hour))
	if len(res.New)+len(res.Updated) != 0 || res.Unchanged != 3 {
		t.Errorf("the same poll again = %+v, want 3 unchanged", res)
	}
	if res := mustIngest(t, s, "arxiv-lg", nil, nil, t0.Add(2*time.Hour)); len(res.New)+len(res.Updated)+res.Unchanged != 0 {
		t.Errorf("an empty poll = %+v", res)
	}
}

// testIngestOneKey follows DESIGN section 2: the Hugging Face listing, the RSS of two categories and the API all
// describe one paper; they merge into one stored paper, new exactly once.
func testIngestOneKey(t *testing.T, s Store) {
	const key = "arxiv:2609.26811"
	pub := t0.Add(-24 * time.Hour)
	hf := paper.Paper{
		ArxivID: "2609.26811", Title: "Spiking foundation models for EEG", Abstract: "An abstract.",
		URL: "https://huggingface.co/papers/2609.26811", Published: pub, HasHF: true, Upvotes: 12, NumComments: 3,
		GitHubRepo: "https://github.com/x/y", HFURL: "https://huggingface.co/papers/2609.26811",
		Thumbnail: "https://cdn.example/t.png", Keywords: []string{"eeg"},
	}
	newA := arxiv("2609.26811", pub, paper.AnnounceNew, "Spiking foundation models for EEG", "An abstract.", "q-bio.NC")
	crossB := arxiv("2609.26811", pub, paper.AnnounceCross, "Spiking foundation models for EEG", "An abstract.", "q-bio.NC", "cs.LG", "eess.SP")
	api := arxiv("2609.26811", pub, "", "Spiking foundation models for EEG", "An abstract.", "q-bio.NC", "stat.ML")
	api.DOI = "10.1000/eeg"
	hf2 := hf
	hf2.Upvotes, hf2.Keywords = 40, []string{"eeg", "snn"}
	repl := arxiv("2609.26811", pub.Add(48*time.Hour), paper.AnnounceReplace, "Spiking foundation models for EEG (v2)", "A better abstract.", "q-bio.NC", "cs.LG")
	repl.Version, repl.Comment = 2, "camera ready"

	steps := []struct {
		name, source string
		paper        paper.Paper
		new, updated bool
	}{
		{"hugging face first", "hf", hf, true, false},
		{"rss new from category A", "arxiv-nc", newA, false, true},
		{"rss cross from category B", "arxiv-lg", crossB, false, true},
		{"the API", "arxiv-api", api, false, true},
		{"upvotes grow", "hf", hf2, false, true},
		{"replace with v2", "arxiv-nc", repl, false, true},
		{"the same replace again", "arxiv-nc", repl, false, false},
	}
	for i, st := range steps {
		res := mustIngest(t, s, st.source, []paper.Paper{st.paper}, nil, at(i))
		if got := slices.Contains(res.New, key); got != st.new {
			t.Errorf("%s: New = %v, want new %v", st.name, res.New, st.new)
		}
		if got := slices.Contains(res.Updated, key); got != st.updated {
			t.Errorf("%s: Updated = %v, want updated %v", st.name, res.Updated, st.updated)
		}
		if !st.new && !st.updated && res.Unchanged != 1 {
			t.Errorf("%s: Unchanged = %d, want 1", st.name, res.Unchanged)
		}
	}
	got := storedPaper(t, s, key)
	checks := []struct {
		what      string
		got, want any
	}{
		{"version", got.Version, 2},
		{"title", got.Title, "Spiking foundation models for EEG (v2)"},
		{"abstract", got.Abstract, "A better abstract."},
		{"comment", got.Comment, "camera ready"},
		{"doi", got.DOI, "10.1000/eeg"},
		{"categories", got.Categories, []string{"q-bio.NC", "cs.LG", "eess.SP", "stat.ML"}},
		{"sources", got.Sources, []string{"hf", "arxiv-nc", "arxiv-lg", "arxiv-api"}},
		{"upvotes", got.Upvotes, 40},
		{"comments", got.NumComments, 3},
		{"has hf", got.HasHF, true},
		{"github", got.GitHubRepo, "https://github.com/x/y"},
		{"thumbnail", got.Thumbnail, "https://cdn.example/t.png"},
		{"keywords", got.Keywords, []string{"eeg", "snn"}},
		{"url stays the first one", got.URL, "https://huggingface.co/papers/2609.26811"},
		{"announce type is the first one known", got.AnnounceType, paper.AnnounceNew},
		{"published stays the first date", got.Published.Equal(pub), true},
	}
	for _, c := range checks {
		if jsonOf(t, c.got) != jsonOf(t, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	all, err := s.Recent(t.Context(), time.Time{}, 0)
	check(t, err, "Recent")
	if len(all) != 1 {
		t.Errorf("%d papers stored, want 1", len(all))
	}
	states, err := s.SourceStates(t.Context())
	check(t, err, "SourceStates")
	papersBy := map[string]int{}
	for _, st := range states {
		papersBy[st.Source] = st.Papers
	}
	if want := map[string]int{"hf": 1, "arxiv-nc": 1, "arxiv-lg": 1, "arxiv-api": 1}; jsonOf(t, papersBy) != jsonOf(t, want) {
		t.Errorf("papers per source = %v, want %v: each source counts the paper once", papersBy, want)
	}
}

func testIngestReplacement(t *testing.T, s Store) {
	for i, typ := range []paper.AnnounceType{paper.AnnounceReplace, paper.AnnounceReplaceCross} {
		p := arxiv("2609.1111"+string(rune('0'+i)), t0, typ, "Old paper, new version", "abstract")
		p.Version = 3
		res := mustIngest(t, s, "arxiv", []paper.Paper{p}, nil, at(i))
		if len(res.New) != 0 || !slices.Equal(res.Updated, []string{p.Key}) {
			t.Fatalf("%s of an unknown paper = %+v, want Updated only", typ, res)
		}
		if got := storedPaper(t, s, p.Key); got.Version != 3 {
			t.Errorf("stored version = %d, want 3", got.Version)
		}
		// A later cross-list of it is not new either: a channel may have seen its first version.
		cross := arxiv(p.ArxivID, t0, paper.AnnounceCross, "Old paper, new version", "abstract", "cs.AI")
		if res := mustIngest(t, s, "arxiv2", []paper.Paper{cross}, nil, at(i)); len(res.New) != 0 {
			t.Errorf("cross after %s = %+v, want not New", typ, res)
		}
	}
	known := simple("2609.22222", t0)
	mustIngest(t, s, "arxiv", []paper.Paper{known}, nil, t0)
	v2 := known
	v2.Version, v2.AnnounceType, v2.Abstract = 2, paper.AnnounceReplace, "Revised."
	if res := mustIngest(t, s, "arxiv", []paper.Paper{v2}, nil, at(1)); len(res.New) != 0 || !slices.Equal(res.Updated, []string{known.Key}) {
		t.Errorf("replace of a known paper = %+v, want Updated", res)
	}
	if got := storedPaper(t, s, known.Key); got.Abstract != "Revised." || got.AnnounceType != paper.AnnounceNew {
		t.Errorf("after replace: abstract %q, announce type %q; want the new text and the first type", got.Abstract, got.AnnounceType)
	}
}

func testIngestCross(t *testing.T, s Store) {
	unknown := arxiv("2609.33333", t0, paper.AnnounceCross, "Cross-listed", "abstract", "cs.LG")
	if res := mustIngest(t, s, "arxiv-lg", []paper.Paper{unknown}, nil, t0); !slices.Equal(res.New, []string{unknown.Key}) {
		t.Errorf("cross of an unknown paper = %+v, want New", res)
	}
	known := simple("2609.44444", t0)
	mustIngest(t, s, "arxiv-lg", []paper.Paper{known}, nil, t0)
	cross := arxiv("2609.44444", t0, paper.AnnounceCross, known.Title, known.Abstract, "stat.ML")
	if res := mustIngest(t, s, "arxiv-ml", []paper.Paper{cross}, nil, at(1)); len(res.New) != 0 || !slices.Equal(res.Updated, []string{known.Key}) {
		t.Errorf("cross of a known paper = %+v, want Updated", res)
	}
}

func testIngestDuplicates(t *testing.T, s Store) {
	a := arxiv("2609.22222", t0, paper.AnnounceNew, "Title", "abstract", "cs.LG")
	aCross := arxiv("2609.22222", t0, paper.AnnounceCross, "Title", "abstract", "stat.ML")
	b := arxiv("2609.55555", t0, paper.AnnounceReplace, "Title B", "abstract", "cs.AI")
	blog := paper.Paper{Title: "A blog post", URL: "https://www.example.org/post/?utm_source=x", Published: t0}
	blog2 := paper.Paper{Title: "A blog post", URL: "https://example.org/post", Abstract: "more text", Published: t0}
	res := mustIngest(t, s, "mixed", []paper.Paper{b, a, blog, aCross, b, blog2}, nil, t0)
	blogKey := paper.KeyOf(blog)
	if !slices.Equal(res.New, []string{a.Key, blogKey}) || !slices.Equal(res.Updated, []string{b.Key}) {
		t.Errorf("Ingest = %+v, want New [%s %s] and Updated [%s]", res, a.Key, blogKey, b.Key)
	}
	if got := storedPaper(t, s, a.Key).Categories; !slices.Equal(got, []string{"cs.LG", "stat.ML"}) {
		t.Errorf("categories = %v", got)
	}
	if got := storedPaper(t, s, blogKey); got.Abstract != "more text" || got.Key != blogKey {
		t.Errorf("keyless paper stored as %+v", got)
	}
}

func testIngestNFC(t *testing.T, s Store) {
	p := arxiv("2609.00005", t0, paper.AnnounceNew, "Schro\u0308dinger equations", "E\u0301tude.")
	p.Authors = []string{"E\u0301mile Noether"}
	mustIngest(t, s, "arxiv", []paper.Paper{p}, nil, t0)
	got := storedPaper(t, s, p.Key)
	if got.Title != "Schrödinger equations" || got.Abstract != "Étude." || !slices.Equal(got.Authors, []string{"Émile Noether"}) {
		t.Errorf("stored %q %q %q, want NFC text", got.Title, got.Abstract, got.Authors)
	}
	// The same paper in NFC teaches nothing.
	if res := mustIngest(t, s, "arxiv", []paper.Paper{got}, nil, at(1)); res.Unchanged != 1 {
		t.Errorf("the same text in NFC = %+v, want Unchanged", res)
	}
}

func testIngestEarlierDate(t *testing.T, s Store) {
	a := simple("2609.00001", t0)
	b := simple("2609.00002", t0.Add(-time.Hour))
	mustIngest(t, s, "x", []paper.Paper{a, b}, nil, t0)
	earlier := a
	earlier.Published = t0.Add(-2 * time.Hour)
	if res := mustIngest(t, s, "y", []paper.Paper{earlier}, nil, t0); !slices.Equal(res.Updated, []string{a.Key}) {
		t.Fatalf("Ingest = %+v, want Updated", res)
	}
	all, err := s.Recent(t.Context(), time.Time{}, 0)
	check(t, err, "Recent")
	if want := []string{b.Key, a.Key}; !slices.Equal(keysOf(all), want) {
		t.Errorf("Recent = %v, want %v", keysOf(all), want)
	}
	since, err := s.Recent(t.Context(), t0.Add(-90*time.Minute), 0)
	check(t, err, "Recent")
	if want := []string{b.Key}; !slices.Equal(keysOf(since), want) {
		t.Errorf("Recent since = %v, want %v", keysOf(since), want)
	}
}

func testIngestEmptySource(t *testing.T, s Store) {
	if _, err := s.Ingest(t.Context(), "", []paper.Paper{simple("2609.00001", t0)}, nil, t0); err == nil {
		t.Error("Ingest with an empty source name succeeded")
	}
}
