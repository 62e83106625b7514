package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// The benchmark corpus is testkit's (NewCorpus, Vocabulary), the same as bot/store/postgres' benchmarks use;
// benchDB caches it under testkit.CorpusVersion.
const benchBatch = 2000

// buildCorpus writes a corpus of n papers to path through Ingest, in batches, as a feed's history would arrive.
// It builds under a temporary name and renames at the end, so an interrupted build never leaves a cache behind.
func buildCorpus(ctx context.Context, path string, n int) error {
	tmp := path + ".building"
	for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	s, err := Open(ctx, tmp)
	if err != nil {
		return err
	}
	g := testkit.NewCorpus(n)
	batch := make([]paper.Paper, 0, benchBatch)
	start := time.Now()
	for i := range n {
		batch = append(batch, g.Paper(i))
		if len(batch) == benchBatch || i == n-1 {
			if _, err := s.Ingest(ctx, "bench", batch, nil, batch[len(batch)-1].Published); err != nil {
				return err
			}
			batch = batch[:0]
			if (i+1)%100_000 == 0 {
				fmt.Fprintf(os.Stderr, "built %d papers in %s\n", i+1, time.Since(start).Round(time.Second))
			}
		}
	}
	if err := s.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// benchDB returns the path of the cached corpus database, building it in a child process if missing. The child
// keeps the build's memory out of this process' peak RSS, which the benchmarks report.
func benchDB(b *testing.B) string {
	b.Helper()
	n := testkit.CorpusSize()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("paperboy-store-bench-v%d-s%d-n%d.db", testkit.CorpusVersion, len(migrations()), n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	b.Logf("building the %d-paper corpus at %s (cached for later runs)", n, path)
	start := time.Now()
	cmd := exec.CommandContext(b.Context(), os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=build:"+path, "PAPERBOY_BENCH_PAPERS="+strconv.Itoa(n))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("build corpus: %v", err)
	}
	fi, _ := os.Stat(path)
	b.Logf("built the corpus in %s (%d MB)", time.Since(start).Round(time.Second), fi.Size()>>20)
	return path
}

// BenchmarkIngest ingests batches of benchBatch new papers into a copy of the full corpus store.
func BenchmarkIngest(b *testing.B) {
	src := benchDB(b)
	path := filepath.Join(b.TempDir(), "ingest.db")
	if err := testkit.CopyFile(path, src); err != nil {
		b.Fatal(err)
	}
	s, err := Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n := testkit.CorpusSize()
	g := testkit.NewCorpus(n)
	next := n
	var papers int
	var elapsed time.Duration
	for b.Loop() {
		batch := make([]paper.Paper, benchBatch)
		for i := range batch {
			batch[i] = g.Paper(next)
			next++
		}
		start := time.Now()
		res, err := s.Ingest(b.Context(), "bench", batch, map[string]paper.Validators{"https://rss.arxiv.org/rss/cs": {ETag: strconv.Itoa(next)}}, batch[0].Published)
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.New) != benchBatch {
			b.Fatalf("ingested %d new papers, want %d", len(res.New), benchBatch)
		}
		papers += benchBatch
	}
	b.ReportMetric(float64(papers)/elapsed.Seconds(), "papers/s")
	testkit.ReportPeakRSS(b)
}

// BenchmarkSearch measures look-ups on the full corpus with many different queries per kind, reporting latency
// percentiles: the mean alone would hide the slow queries.
func BenchmarkSearch(b *testing.B) {
	s, err := Open(b.Context(), benchDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, k := range testkit.SearchKinds(testkit.Vocabulary()) {
		b.Run(k.Name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(testkit.CorpusSeed, 7))
			var lat []time.Duration
			results := 0
			for b.Loop() {
				q := k.Words(r)
				start := time.Now()
				ps, err := searchWords(b.Context(), s, q, 20)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				results += len(ps)
			}
			testkit.ReportLatency(b, lat)
			b.ReportMetric(float64(results)/float64(len(lat)), "results/op")
			testkit.ReportPeakRSS(b)
		})
	}
}

// BenchmarkQuickCheck measures the integrity check `paperboy run` does at start on the full corpus (it reads
// every page), with a cold-ish page cache per iteration: a new store each time.
func BenchmarkQuickCheck(b *testing.B) {
	path := benchDB(b)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := Open(b.Context(), path)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.QuickCheck(b.Context()); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(fi.Size()>>20), "file-MB")
	testkit.ReportPeakRSS(b)
}

// BenchmarkIngestDeferred compares, batch by batch on two copies of the full corpus store, a poll's ingest with
// its full-text indexing inside the poll's transaction (the baseline: inlineIndex, as Ingest did before deferred
// indexing) and with it deferred to a second transaction right after the commit (Ingest now). It reports the
// baseline's rate (inline-papers/s), the papers table's rate with deferral (papers/s: the poll's transaction
// alone), the time from the poll's commit to its papers being searchable (index-p50-ms, index-max-ms), the
// deferred ingest's rate including that indexing (total-papers/s), and papers/s over inline-papers/s.
func BenchmarkIngestDeferred(b *testing.B) {
	src := benchDB(b)
	open := func(name string) *Store {
		path := filepath.Join(b.TempDir(), name)
		if err := testkit.CopyFile(path, src); err != nil {
			b.Fatal(err)
		}
		s, err := Open(b.Context(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	inline, deferred := open("inline.db"), open("deferred.db")
	inline.inlineIndex = true
	n := testkit.CorpusSize()
	g := testkit.NewCorpus(n)
	next := n
	var papers int
	var tInline, tCommit, tTotal time.Duration
	var index []time.Duration
	for b.Loop() {
		batch := make([]paper.Paper, benchBatch)
		for i := range batch {
			batch[i] = g.Paper(next)
			next++
		}
		at := batch[0].Published
		start := time.Now()
		if _, err := inline.Ingest(b.Context(), "bench", batch, nil, at); err != nil {
			b.Fatal(err)
		}
		tInline += time.Since(start)

		start = time.Now()
		res, err := deferred.ingest(b.Context(), "bench", batch, nil, at, nil)
		if err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		if err := deferred.IndexPending(b.Context()); err != nil {
			b.Fatal(err)
		}
		done := time.Now()
		tCommit += committed.Sub(start)
		tTotal += done.Sub(start)
		index = append(index, done.Sub(committed))
		if len(res.New) != benchBatch {
			b.Fatalf("ingested %d new papers, want %d", len(res.New), benchBatch)
		}
		papers += benchBatch
	}
	rate := func(d time.Duration) float64 { return float64(papers) / d.Seconds() }
	b.ReportMetric(rate(tInline), "inline-papers/s")
	b.ReportMetric(rate(tCommit), "papers/s")
	b.ReportMetric(rate(tTotal), "total-papers/s")
	b.ReportMetric(rate(tCommit)/rate(tInline), "x-inline")
	slices.Sort(index)
	b.ReportMetric(float64(index[len(index)/2])/float64(time.Millisecond), "index-p50-ms")
	b.ReportMetric(float64(index[len(index)-1])/float64(time.Millisecond), "index-max-ms")
}
