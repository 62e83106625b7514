package postgres

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

func TestIngestNewPapers(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	in := []paper.Paper{
		arxiv("2609.00001", t0.Add(-2*time.Hour), paper.AnnounceNew, "Older", "first abstract", "cs.LG"),
		arxiv("2609.00002", t0, paper.AnnounceNew, "Newest", "second abstract", "q-bio.NC"),
		arxiv("2609.00003", t0.Add(-time.Hour), paper.AnnounceCross, "Middle", "third abstract", "cs.CV"),
	}
	in[1].Comment = "10 pages"
	in[1].Updated = t0.Add(time.Minute)
	res := mustIngest(t, s, "arxiv-lg", in, nil, t0)
	if want := keysOf(in); !slices.Equal(res.New, want) || len(res.Updated) != 0 || res.Unchanged != 0 {
		t.Fatalf("Ingest = %+v, want New %v", res, want)
	}
	for _, p := range in {
		want := p
		want.Sources = []string{"arxiv-lg"}
		if got := mustPaper(t, s, p.Key); jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("Paper(%s) round trip:\n got %s\nwant %s", p.Key, jsonOf(t, got), jsonOf(t, want))
		}
	}
	if n, err := s.count(t.Context()); err != nil || n != 3 {
		t.Errorf("Count = %d, %v", n, err)
	}
	recent, err := s.Recent(t.Context(), time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(recent), []string{in[1].Key, in[2].Key, in[0].Key}; !slices.Equal(got, want) {
		t.Errorf("Recent order = %v, want %v", got, want)
	}
	recent, err = s.Recent(t.Context(), t0.Add(-time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(recent), []string{in[1].Key}; !slices.Equal(got, want) {
		t.Errorf("Recent(limit 1) = %v, want %v", got, want)
	}
	if _, ok, err := s.paperOf(t.Context(), "arxiv:0000.00000"); ok || err != nil {
		t.Errorf("Paper(unknown) = %v, %v", ok, err)
	}
	// Ingesting the same items again teaches nothing.
	res = mustIngest(t, s, "arxiv-lg", in, nil, t0.Add(time.Hour))
	if len(res.New)+len(res.Updated) != 0 || res.Unchanged != 3 {
		t.Errorf("re-ingest = %+v, want 3 unchanged", res)
	}
	checkIntegrity(t, s)
}

func TestMergeAcrossSources(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	const key = "arxiv:2609.26811"
	pub := t0.Add(-24 * time.Hour)
	hf := paper.Paper{
		ArxivID: "2609.26811", Title: "Spiking foundation models for EEG", Abstract: "An abstract.",
		URL: "https://huggingface.co/papers/2609.26811", Published: pub,
		HasHF: true, Upvotes: 12, NumComments: 3, GitHubRepo: "https://github.com/x/y", HFURL: "https://huggingface.co/papers/2609.26811",
	}
	newA := arxiv("2609.26811", pub, paper.AnnounceNew, "Spiking foundation models for EEG", "An abstract.", "q-bio.NC")
	crossB := arxiv("2609.26811", pub, paper.AnnounceCross, "Spiking foundation models for EEG", "An abstract.", "q-bio.NC", "cs.LG", "eess.SP")
	hf2 := hf
	hf2.Upvotes = 40
	repl := arxiv("2609.26811", pub.Add(48*time.Hour), paper.AnnounceReplace, "Spiking foundation models for EEG (v2)", "A better abstract.", "q-bio.NC", "cs.LG")
	repl.Version = 2
	repl.Comment = "camera ready"

	steps := []struct {
		name, source string
		paper        paper.Paper
		new, updated bool
	}{
		{"hugging face first", "hf", hf, true, false},
		{"rss new from A", "arxiv-nc", newA, false, true},
		{"rss cross from B", "arxiv-lg", crossB, false, true},
		{"upvotes grow", "hf", hf2, false, true},
		{"replace with v2", "arxiv-nc", repl, false, true},
		{"same replace again", "arxiv-nc", repl, false, false},
	}
	newCount := 0
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res := mustIngest(t, s, st.source, []paper.Paper{st.paper}, nil, t0.Add(time.Duration(i)*time.Hour))
			newCount += len(res.New)
			if got := slices.Contains(res.New, key); got != st.new {
				t.Errorf("New = %v, want new %v", res.New, st.new)
			}
			if got := slices.Contains(res.Updated, key); got != st.updated {
				t.Errorf("Updated = %v, want updated %v", res.Updated, st.updated)
			}
			if !st.new && !st.updated && res.Unchanged != 1 {
				t.Errorf("Unchanged = %d, want 1", res.Unchanged)
			}
		})
	}
	if newCount != 1 {
		t.Errorf("counted New %d times, want once", newCount)
	}
	got := mustPaper(t, s, key)
	checks := []struct {
		what      string
		got, want any
	}{
		{"version", got.Version, 2},
		{"title", got.Title, "Spiking foundation models for EEG (v2)"},
		{"abstract", got.Abstract, "A better abstract."},
		{"comment", got.Comment, "camera ready"},
		{"categories", got.Categories, []string{"q-bio.NC", "cs.LG", "eess.SP"}},
		{"sources", got.Sources, []string{"hf", "arxiv-nc", "arxiv-lg"}},
		{"upvotes", got.Upvotes, 40},
		{"has hf", got.HasHF, true},
		{"github", got.GitHubRepo, "https://github.com/x/y"},
		{"announce type", got.AnnounceType, paper.AnnounceNew},
		{"published stays the first date", got.Published.Equal(pub), true},
	}
	for _, c := range checks {
		if jsonOf(t, c.got) != jsonOf(t, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if n, _ := s.count(t.Context()); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
	// The index follows the replacement: the v2 abstract is searchable, the v1 one is gone.
	for word, want := range map[string]int{"better": 1, "v2": 1} {
		if ps, err := searchWords(t.Context(), s, []string{word}, 10); err != nil || len(ps) != want {
			t.Errorf("Search(%q) = %d papers, %v; want %d", word, len(ps), err, want)
		}
	}
	states, err := s.SourceStates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	papersBy := map[string]int{}
	for _, st := range states {
		papersBy[st.Source] = st.Papers
	}
	if want := map[string]int{"hf": 1, "arxiv-nc": 1, "arxiv-lg": 1}; jsonOf(t, papersBy) != jsonOf(t, want) {
		t.Errorf("papers per source = %v, want %v", papersBy, want)
	}
	checkIntegrity(t, s)
}

func TestReplacementOfUnknownPaper(t *testing.T) {
	t.Parallel()
	for _, at := range []paper.AnnounceType{paper.AnnounceReplace, paper.AnnounceReplaceCross} {
		t.Run(string(at), func(t *testing.T) {
			t.Parallel()
			s, _ := openTest(t)
			p := arxiv("2609.11111", t0, at, "Old paper, new version", "abstract")
			p.Version = 3
			res := mustIngest(t, s, "arxiv", []paper.Paper{p}, nil, t0)
			if len(res.New) != 0 || !slices.Equal(res.Updated, []string{p.Key}) {
				t.Fatalf("Ingest = %+v, want Updated only", res)
			}
			if got := mustPaper(t, s, p.Key); got.Version != 3 {
				t.Errorf("stored version = %d", got.Version)
			}
			// A later cross-list of it is not new either: the channel may already have seen it.
			cross := arxiv("2609.11111", t0, paper.AnnounceCross, "Old paper, new version", "abstract", "cs.AI")
			if res := mustIngest(t, s, "arxiv2", []paper.Paper{cross}, nil, t0); len(res.New) != 0 {
				t.Errorf("cross after replace counted New: %+v", res)
			}
		})
	}
}

func TestDuplicateKeysInOneBatch(t *testing.T) {
	t.Parallel()
	a := arxiv("2609.22222", t0, paper.AnnounceNew, "Title", "abstract", "cs.LG")
	aCross := arxiv("2609.22222", t0, paper.AnnounceCross, "Title", "abstract", "stat.ML")
	aRepl := arxiv("2609.22222", t0, paper.AnnounceReplace, "Title", "abstract", "cs.AI")
	noKey := paper.Paper{Title: "A blog post", URL: "https://www.example.org/post/?utm_source=x"}
	noKey2 := paper.Paper{Title: "A blog post", URL: "https://example.org/post", Abstract: "more text"}
	tests := []struct {
		name       string
		batch      []paper.Paper
		new        bool
		categories []string
	}{
		{"new and cross", []paper.Paper{a, aCross}, true, []string{"cs.LG", "stat.ML"}},
		{"replace then new", []paper.Paper{aRepl, a}, true, []string{"cs.AI", "cs.LG"}},
		{"replace twice", []paper.Paper{aRepl, aRepl}, false, []string{"cs.AI"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openTest(t)
			res := mustIngest(t, s, "arxiv", tt.batch, nil, t0)
			if got := len(res.New) == 1; got != tt.new || len(res.New)+len(res.Updated) != 1 {
				t.Errorf("Ingest = %+v, want exactly one key, new %v", res, tt.new)
			}
			if got := mustPaper(t, s, a.Key).Categories; !slices.Equal(got, tt.categories) {
				t.Errorf("categories = %v, want %v", got, tt.categories)
			}
		})
	}
	t.Run("keyless papers get KeyOf", func(t *testing.T) {
		t.Parallel()
		s, _ := openTest(t)
		res := mustIngest(t, s, "blog", []paper.Paper{noKey, noKey2}, nil, t0)
		key := paper.KeyOf(noKey)
		if !slices.Equal(res.New, []string{key}) {
			t.Fatalf("New = %v, want [%s]", res.New, key)
		}
		if got := mustPaper(t, s, key); got.Abstract != "more text" {
			t.Errorf("merged abstract = %q", got.Abstract)
		}
	})
}

func TestValidatorsSavedWithPapers(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	ctx := t.Context()
	v1 := map[string]paper.Validators{
		"https://rss.arxiv.org/rss/cs.LG":    {ETag: `"a1"`, LastModified: "Mon, 28 Sep 2026 04:00:00 GMT"},
		"https://rss.arxiv.org/rss/q-bio.NC": {ETag: `"b1"`},
	}
	mustIngest(t, s, "arxiv", []paper.Paper{arxiv("2609.00001", t0, paper.AnnounceNew, "T", "A")}, v1, t0)
	got, err := s.Validators(ctx, "arxiv")
	if err != nil || jsonOf(t, got) != jsonOf(t, v1) {
		t.Fatalf("Validators = %v, %v; want %v", got, err, v1)
	}

	t.Run("a failing ingest saves nothing", func(t *testing.T) {
		boom := errors.New("boom")
		s.beforeCommit = func(context.Context, pgx.Tx) error { return boom }
		defer func() { s.beforeCommit = nil }()
		v2 := map[string]paper.Validators{"https://rss.arxiv.org/rss/cs.LG": {ETag: `"a2"`}, "https://new.example/feed": {ETag: `"n"`}}
		_, err := s.Ingest(ctx, "arxiv", []paper.Paper{arxiv("2609.00002", t0, paper.AnnounceNew, "T2", "A2")}, v2, t0.Add(time.Hour))
		if !errors.Is(err, boom) {
			t.Fatalf("Ingest err = %v, want boom", err)
		}
		if got, err := s.Validators(ctx, "arxiv"); err != nil || jsonOf(t, got) != jsonOf(t, v1) {
			t.Errorf("Validators after failed ingest = %v, %v; want %v", got, err, v1)
		}
		if _, ok, _ := s.paperOf(ctx, "arxiv:2609.00002"); ok {
			t.Error("paper of the failed ingest was stored")
		}
		states, _ := s.SourceStates(ctx)
		if len(states) != 1 || !states[0].LastSuccess.Equal(t0) || states[0].Polls != 1 {
			t.Errorf("source state after failed ingest = %+v", states)
		}
	})

	t.Run("later polls update only their URLs", func(t *testing.T) {
		mustIngest(t, s, "arxiv", nil, map[string]paper.Validators{"https://rss.arxiv.org/rss/cs.LG": {ETag: `"a3"`}}, t0.Add(2*time.Hour))
		want := map[string]paper.Validators{
			"https://rss.arxiv.org/rss/cs.LG":    {ETag: `"a3"`},
			"https://rss.arxiv.org/rss/q-bio.NC": {ETag: `"b1"`},
		}
		if got, err := s.Validators(ctx, "arxiv"); err != nil || jsonOf(t, got) != jsonOf(t, want) {
			t.Errorf("Validators = %v, %v; want %v", got, err, want)
		}
		if got, err := s.Validators(ctx, "other"); err != nil || len(got) != 0 {
			t.Errorf("Validators(other) = %v, %v", got, err)
		}
	})
}

func TestSourceState(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	ctx := t.Context()
	p := arxiv("2609.00001", t0, paper.AnnounceNew, "T", "A")
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	steps := []struct {
		name string
		do   func() error
		want paper.SourceState
	}{
		{"first poll brings a new paper", func() error {
			_, err := s.Ingest(ctx, "src", []paper.Paper{p}, nil, at(1))
			return err
		}, paper.SourceState{Source: "src", LastPoll: at(1), LastSuccess: at(1), LastNewPaper: at(1), Papers: 1, Polls: 1}},
		{"not modified", func() error { return s.RecordNotModified(ctx, "src", at(2)) },
			paper.SourceState{Source: "src", LastPoll: at(2), LastSuccess: at(2), LastNewPaper: at(1), Papers: 1, Polls: 2}},
		{"error", func() error { return s.RecordPollError(ctx, "src", errors.New("HTTP 503"), at(3)) },
			paper.SourceState{Source: "src", LastPoll: at(3), LastSuccess: at(2), LastNewPaper: at(1), LastErrorAt: at(3), LastError: "HTTP 503", Papers: 1, Polls: 3, Failures: 1, ConsecutiveFailures: 1}},
		{"second error", func() error { return s.RecordPollError(ctx, "src", errors.New("timeout"), at(4)) },
			paper.SourceState{Source: "src", LastPoll: at(4), LastSuccess: at(2), LastNewPaper: at(1), LastErrorAt: at(4), LastError: "timeout", Papers: 1, Polls: 4, Failures: 2, ConsecutiveFailures: 2}},
		{"success without new papers keeps the last error as history", func() error {
			_, err := s.Ingest(ctx, "src", []paper.Paper{p}, nil, at(5))
			return err
		}, paper.SourceState{Source: "src", LastPoll: at(5), LastSuccess: at(5), LastNewPaper: at(1), LastErrorAt: at(4), LastError: "timeout", Papers: 1, Polls: 5, Failures: 2}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			got, err := s.SourceStates(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := []paper.SourceState{st.want}; jsonOf(t, got) != jsonOf(t, want) {
				t.Errorf("SourceStates =\n %+v\nwant\n %+v", got, want)
			}
		})
	}
	t.Run("errors are capped and nil is refused", func(t *testing.T) {
		long := string(make([]byte, 5000))
		if err := s.RecordPollError(ctx, "long", errors.New("é"+long), at(6)); err != nil {
			t.Fatal(err)
		}
		states, _ := s.SourceStates(ctx)
		if len(states[0].LastError) > maxErrorLen+len("…") {
			t.Errorf("stored error of %d bytes", len(states[0].LastError))
		}
		if err := s.RecordPollError(ctx, "src", nil, at(6)); err == nil {
			t.Error("RecordPollError(nil) succeeded")
		}
	})
}

func TestSearch(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	papers := []paper.Paper{
		arxiv("2609.00001", t0.Add(-3*time.Hour), paper.AnnounceNew, "The Schrödinger bridge for diffusion", "We study bridges."),
		arxiv("2609.00002", t0.Add(-2*time.Hour), paper.AnnounceNew, "EEG-based decoding of speech", "Foundation models for EEG."),
		arxiv("2609.00003", t0.Add(-1*time.Hour), paper.AnnounceNew, "PEEG: a dataset", "Not the same word."),
		arxiv("2609.00004", t0, paper.AnnounceNew, "Spiking networks and EEG", "A foundation model OR two: NEAR( * - \"quoted\"."),
		// Decomposed ö (o + U+0308), as some authoring tools write it.
		arxiv("2609.00005", t0.Add(-4*time.Hour), paper.AnnounceNew, "Schro\u0308dinger equations", "Quantum."),
	}
	papers[4].Authors = []string{"Émile Noether"}
	mustIngest(t, s, "arxiv", papers, nil, t0)
	k := func(i ...int) []string {
		out := []string{}
		for _, j := range i {
			out = append(out, papers[j].Key)
		}
		return out
	}
	tests := []struct {
		name  string
		words []string
		limit int
		want  []string
	}{
		{"diacritics folded", []string{"schrodinger"}, 0, k(0, 4)},
		{"query with diacritics", []string{"Schrödinger"}, 0, k(0, 4)},
		{"whole word only, hyphen splits", []string{"eeg"}, 0, k(3, 1)},
		{"case folded", []string{"PEEG"}, 0, k(2)},
		{"every word required", []string{"eeg", "foundation"}, 0, k(3, 1)},
		{"multi-token word is a phrase", []string{"EEG-based"}, 0, k(1)},
		{"limit keeps the newest", []string{"eeg"}, 1, k(3)},
		{"authors are searched", []string{"emile"}, 0, k(4)},
		{"no match", []string{"eeg", "quantum"}, 0, k()},
		{"prefix is not implied", []string{"found"}, 0, k()},
		{"quote", []string{`"`}, 0, nil},
		{"quote inside word", []string{`"quoted"`}, 0, k(3)},
		{"star", []string{"*"}, 0, nil},
		{"star suffix is not a prefix query", []string{"schro*"}, 0, k()},
		{"NEAR(", []string{"NEAR("}, 0, k(3)},
		{"OR is a word", []string{"foundation", "OR", "spiking"}, 0, k(3)},
		{"lone OR", []string{"OR"}, 0, k(3)},
		{"minus", []string{"-", "eeg"}, 0, k(3, 1)},
		{"negation is not implied", []string{"-speech"}, 0, k(1)},
		{"column filter is not implied", []string{"title:eeg"}, 0, k()},
		{"caret and braces", []string{"^eeg", "{title}"}, 0, k()},
		{"no words", nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := searchWords(t.Context(), s, tt.words, tt.limit)
			if err != nil {
				t.Fatalf("Search(%q): %v", tt.words, err)
			}
			if tt.want == nil {
				if len(got) != 0 {
					t.Errorf("Search(%q) = %v, want nothing", tt.words, keysOf(got))
				}
				return
			}
			if !slices.Equal(keysOf(got), tt.want) {
				t.Errorf("Search(%q) = %v, want %v", tt.words, keysOf(got), tt.want)
			}
		})
	}
}

// TestPublishedMovesEarlier checks that when a merge learns an earlier publication date, the paper moves in the
// newest-first order and the index follows.
func TestPublishedMovesEarlier(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	a := arxiv("2609.00001", t0, paper.AnnounceNew, "Alpha paper", "text")
	b := arxiv("2609.00002", t0.Add(-time.Hour), paper.AnnounceNew, "Beta paper", "text")
	mustIngest(t, s, "x", []paper.Paper{a, b}, nil, t0)
	earlier := a
	earlier.Published = t0.Add(-2 * time.Hour)
	if res := mustIngest(t, s, "y", []paper.Paper{earlier}, nil, t0); !slices.Equal(res.Updated, []string{a.Key}) {
		t.Fatalf("Ingest = %+v", res)
	}
	got, err := searchWords(t.Context(), s, []string{"paper"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{b.Key, a.Key}; !slices.Equal(keysOf(got), want) {
		t.Errorf("Search order = %v, want %v", keysOf(got), want)
	}
	if recent, _ := s.Recent(t.Context(), t0.Add(-90*time.Minute), 0); !slices.Equal(keysOf(recent), []string{b.Key}) {
		t.Errorf("Recent = %v, want only %s", keysOf(recent), b.Key)
	}
	checkIntegrity(t, s)
}

// checkIntegrity checks that every paper's full-text document is the one its stored text makes, so that no write
// path forgot to rebuild it, and that its sort second is the one its date makes.
func checkIntegrity(t *testing.T, s *Store) {
	t.Helper()
	rows, err := s.pool.Query(t.Context(), `SELECT key, title, abstract, data, fts::text, unindexed, sort_sec, first_seen FROM papers`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, title, abstract, fts string
		var data []byte
		var sec, firstSeen int64
		var unindexed bool
		if err := rows.Scan(&key, &title, &abstract, &data, &fts, &unindexed, &sec, &firstSeen); err != nil {
			t.Fatal(err)
		}
		p, err := decodePaper(key, title, abstract, data)
		if err != nil {
			t.Fatal(err)
		}
		doc, ok := tsvectorOf(&p)
		if !ok {
			doc = emptyDoc()
		}
		var want string
		if err := s.pool.QueryRow(t.Context(), `SELECT ($1::tsvector[])[1]::text`, tsDocs{doc}).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if unindexed == ok {
			t.Errorf("paper %s: unindexed %v, want %v", key, unindexed, !ok)
		}
		if fts != want {
			t.Errorf("paper %s: stored document\n %s\nwant\n %s", key, fts, want)
		}
		if want := sortSec(p, firstSeen); sec != want {
			t.Errorf("paper %s: sort second %d, want %d", key, sec, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
