package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/sources"
)

// edgePapers are papers whose text tokenizes differently in PostgreSQL's parser and in the query language: the
// documents built in Go must find them all the same.
func edgePapers() []paper.Paper {
	ps := []paper.Paper{
		arxiv("2609.90001", t0.Add(-time.Hour), paper.AnnounceNew, "The Schrödinger bridge", "See foo.com and v1.2 of the code, 3.5 times faster; mail x@y.org, path /usr/bin."),
		arxiv("2609.90002", t0.Add(-2*time.Hour), paper.AnnounceNew, "Schro\u0308dinger equations, EEG-based", "Foundation Models for EEGs."),
		arxiv("2609.90003", t0.Add(-3*time.Hour), paper.AnnounceNew, "Spiking networks", "needle in the haystack"),
		arxiv("2609.90004", t0.Add(-4*time.Hour), paper.AnnounceNew, "Classes of models", "A class of neural classes; the decoder decodes."),
		arxiv("2609.90005", t0.Add(-5*time.Hour), paper.AnnounceNew, "Title ending in foundation", "model begins the abstract."),
	}
	ps[1].Authors = []string{"Émile Noether", "Ada Lovelace"}
	ps[4].Authors = []string{"Alan Turing", "Grace Hopper"}
	return ps
}

// TestSameAnswersAsSQLite ingests the same papers into the SQLite store and this one and compares what the
// command core answers from each, for hand-picked queries and random ones: the same query over the same papers
// gives the same papers, in the same order, with the same matched terms.
func TestSameAnswersAsSQLite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pg, _ := openTest(t)
	lite, err := store.Open(ctx, filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lite.Close() })

	feed, err := sources.ParseArxivFeed(testkit.SyntheticArxivFeed(300, 3))
	if err != nil {
		t.Fatal(err)
	}
	batches := [][]paper.Paper{feed[:100], feed[100:200], edgePapers(), feed[200:]}
	for i, batch := range batches {
		at := t0.Add(time.Duration(i) * time.Minute)
		for name, s := range map[string]interface {
			Ingest(ctx context.Context, source string, papers []paper.Paper, v map[string]paper.Validators, at time.Time) (paper.IngestResult, error)
		}{"sqlite": lite, "postgres": pg} {
			if _, err := s.Ingest(ctx, "arxiv", batch, nil, at); err != nil {
				t.Fatalf("%s: ingest batch %d: %v", name, i, err)
			}
		}
	}

	queries := []string{
		"eeg", "EEGs", "eeg-based", "schrodinger", "Schrödinger", "foo", "com", "v1", "2", "3", "5", "org", "usr",
		"needle", `"needle in the haystack"`, "haystack filler", "class", "classes", "decod*", "decoder",
		`"foundation model"`, `"foundation models"`, "title:foundation", `"ending in foundation model"`,
		"author:noether", "au:emile", `au:"ada lovelace"`, `au:"noether ada"`, "author:turing -hopper",
		"neur*", "spik* OR transform*", "title:(spiking OR transformers) -diffusion", `"sleep staging" cat:cs.LG`,
		"cat:cs.* eeg", "upvotes:>=1", "cat:q-bio.NC", "motor imagery", `"motor imagery"`, "abs:cortex -title:cortex",
		"(eeg | meg) decoding", "-eeg", "model*", "the", "a", "zero-shot", "state-of-the-art", "fmri encoding",
		"title:self-supervised", `"neural fields" OR "neural decoders"`, "source:arxiv eeg",
	}
	r := rand.New(rand.NewPCG(11, 12))
	words := strings.Fields("eeg meg fmri cortex spiking transformer diffusion models neural decoding encoder latent sleep staging motor imagery foundation retrieval agents reward policy dynamics")
	for range 80 {
		q := words[r.IntN(len(words))]
		switch r.IntN(5) {
		case 0:
			q = `"` + q + " " + words[r.IntN(len(words))] + `"`
		case 1:
			q += " OR title:" + words[r.IntN(len(words))]
		case 2:
			q = q[:min(len(q), 1+r.IntN(4))] + "*"
		case 3:
			q += " -" + words[r.IntN(len(words))]
		}
		queries = append(queries, q)
	}
	answer := func(c command.Commander, q string) string {
		cards, err := c.Search(ctx, q, 20)
		if err != nil {
			return "error: " + err.Error()
		}
		var b strings.Builder
		for _, card := range cards {
			fmt.Fprintf(&b, "%s %v\n", card.Paper.Key, card.Matched)
		}
		return b.String()
	}
	nonEmpty := 0
	for _, q := range slices.Compact(queries) {
		// The test compares answers, not speed: a budget generous enough for -race on a busy machine.
		want := answer(command.Commander{Store: lite, LookupTimeout: time.Minute}, q)
		got := answer(command.Commander{Store: pg, LookupTimeout: time.Minute}, q)
		if got != want {
			t.Errorf("query %q:\npostgres:\n%s\nsqlite:\n%s", q, got, want)
		}
		if want != "" && !strings.HasPrefix(want, "error") {
			nonEmpty++
		}
	}
	if nonEmpty < len(queries)/2 {
		t.Errorf("only %d of %d queries found anything: the comparison shows little", nonEmpty, len(queries))
	}
}

// TestCompatibilityCharacters: a ligature folds to its letters (the query language's folding, NFKD), so "fine"
// finds "ﬁne". SQLite's FTS5 index does not fold ligatures, so the SQLite store misses such papers; this one
// indexes the query language's own words and does not.
func TestCompatibilityCharacters(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	p := arxiv("2609.00001", t0, paper.AnnounceNew, "A ﬁne result", "Eﬃcient ﬂows.")
	mustIngest(t, s, "arxiv", []paper.Paper{p}, nil, t0)
	for _, q := range []string{"fine", "ﬁne", "efficient", "title:ﬁn*", "flows"} {
		c := command.Commander{Store: s}
		cards, err := c.Search(t.Context(), q, 5)
		if err != nil || len(cards) != 1 {
			t.Errorf("Search(%q) = %d cards, %v; want the paper", q, len(cards), err)
		}
	}
}

// TestUnindexedPaperIsFound: a paper whose text does not fit in a tsvector is a candidate of every look-up, so the
// query language still finds a word past the document's last position.
func TestUnindexedPaperIsFound(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	long := strings.Repeat("filler ", maxPosition) + "needle in the haystack"
	mustIngest(t, s, "arxiv", []paper.Paper{
		arxiv("2609.00001", t0, paper.AnnounceNew, "Long", long),
		arxiv("2609.00002", t0, paper.AnnounceNew, "Short", "no such word"),
	}, nil, t0)
	for q, want := range map[string]int{`"needle in the haystack"`: 1, "abs:haystack": 1, "title:long": 1, "nothing": 0} {
		c := command.Commander{Store: s}
		cards, err := c.Search(t.Context(), q, 5)
		if err != nil || len(cards) != want {
			t.Errorf("Search(%q) = %d cards, %v; want %d", q, len(cards), err, want)
		}
	}
}
