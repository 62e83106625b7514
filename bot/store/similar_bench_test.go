package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/relevance"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// similarBenchDB is benchDB, except that a corpus cached under an older schema is copied and migrated rather than
// built again (twenty minutes at a million papers): migrations only add, so the copy holds the same papers. Its
// cache has a name of its own, so that a branch whose schema has as many steps but different ones never takes it
// for its own.
func similarBenchDB(b *testing.B) string {
	b.Helper()
	n := testkit.CorpusSize()
	name := func(steps int) string {
		return filepath.Join(os.TempDir(), fmt.Sprintf("paperboy-store-bench-v%d-s%d-n%d.db", testkit.CorpusVersion, steps, n))
	}
	path := strings.TrimSuffix(name(len(migrations())), ".db") + "-similar.db"
	if _, err := os.Stat(path); err == nil {
		return path
	}
	for steps := len(migrations()) - 1; steps > 0; steps-- {
		old := name(steps)
		if _, err := os.Stat(old); err != nil {
			continue
		}
		b.Logf("copying the corpus of schema %d at %s and migrating it", steps, old)
		tmp := path + ".migrating"
		if err := testkit.CopyFile(tmp, old); err != nil {
			b.Fatal(err)
		}
		s, err := Open(b.Context(), tmp)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		return path
	}
	b.Logf("building the %d-paper corpus at %s (cached for later runs)", n, path)
	if err := buildCorpus(b.Context(), path, n); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkSimilar measures "more like this" (/papers like, the card button) on the corpus
// (PAPERBOY_BENCH_PAPERS, default testkit's size) for random stored papers, with latency percentiles; the baseline,
// interleaved in the same run, is the look-up /papers <word> for the paper's first term, newest first.
func BenchmarkSimilar(b *testing.B) {
	s, err := Open(b.Context(), similarBenchDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := &command.Commander{Store: s}
	n := testkit.CorpusSize()
	g := testkit.NewCorpus(n)
	r := rand.New(rand.NewPCG(testkit.CorpusSeed, 11))
	var lat, base []time.Duration
	found := 0
	for i := 0; b.Loop(); i++ {
		p := g.Paper(r.IntN(n))
		similar := func() {
			start := time.Now()
			terms, ps, err := s.SimilarExplained(b.Context(), p.Key, command.LikeResults)
			lat = append(lat, time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
			if len(terms) > 0 && len(ps) == 0 {
				b.Fatalf("%s: terms %v found no similar paper", p.Key, terms)
			}
			found += len(ps)
		}
		baseline := func() {
			words := relevance.Terms(p.Title)
			if len(words) == 0 {
				return
			}
			start := time.Now()
			if _, err := c.Search(b.Context(), strings.Join(words[:1], " "), command.SearchResults); err != nil {
				b.Fatal(err)
			}
			base = append(base, time.Since(start))
		}
		if i%2 == 0 {
			similar()
			baseline()
		} else {
			baseline()
			similar()
		}
	}
	testkit.ReportLatency(b, lat)
	b.ReportMetric(float64(found)/float64(len(lat)), "similar/op")
	if len(base) > 0 {
		slices.Sort(base)
		b.ReportMetric(float64(base[len(base)/2])/float64(time.Millisecond), "lookup-p50-ms")
		b.ReportMetric(float64(base[min(len(base)-1, len(base)*99/100)])/float64(time.Millisecond), "lookup-p99-ms")
	}
}
