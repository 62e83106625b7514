package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// The benchmarks mirror bot/store's (same names, same corpus, same sizes), so that a run of both gives the
// PostgreSQL/SQLite ratios. The corpus is testkit's (NewCorpus, Vocabulary).
//
// The 1M-paper corpus takes minutes to build, so it is built once into the schema benchSchema() names, in the
// database of PAPERBOY_TEST_DATABASE_URL, and kept for later runs (drop it with DROP SCHEMA ... CASCADE). The
// ingest benchmark adds papers to it and deletes them afterwards.
const benchBatch = 2000

// benchSchema names the schema of the cached corpus: its generator version, a checksum of the migrations (a
// changed schema builds a new corpus; drop the old one by hand) and its size.
func benchSchema(n int) string {
	sum := crc32.ChecksumIEEE([]byte(strings.Join(migrations(), "\x00")))
	return fmt.Sprintf("paperboy_bench_v%d_s%08x_n%d", testkit.CorpusVersion, sum, n)
}

// benchStore opens the cached corpus, building it first if it is missing. A build interrupted half-way is
// detected (the schema exists but is not marked complete) and started over.
func benchStore(b *testing.B) *Store {
	b.Helper()
	base := testURL(b)
	n := testkit.CorpusSize()
	schema := benchSchema(n)
	ctx := b.Context()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	var complete bool
	err = conn.QueryRow(ctx, `SELECT obj_description(oid, 'pg_namespace') = 'complete' FROM pg_namespace WHERE nspname = $1`, schema).Scan(&complete)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		b.Fatal(err)
	}
	u := withParam(b, base, "search_path", schema)
	if !complete {
		b.Logf("building the %d-paper corpus in schema %s (kept for later runs)", n, schema)
		ident := pgx.Identifier{schema}.Sanitize()
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE; CREATE SCHEMA "+ident); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := buildCorpus(ctx, u, n); err != nil {
			b.Fatalf("build corpus: %v", err)
		}
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+ident+".papers"); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "COMMENT ON SCHEMA "+ident+" IS 'complete'"); err != nil {
			b.Fatal(err)
		}
		b.Logf("built the corpus in %s", time.Since(start).Round(time.Second))
	}
	s, err := Open(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// buildCorpus ingests a corpus of n papers into the store at rawURL, in batches, as a feed's history would arrive.
func buildCorpus(ctx context.Context, rawURL string, n int) error {
	s, err := Open(ctx, rawURL)
	if err != nil {
		return err
	}
	defer s.Close()
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
	return nil
}

// BenchmarkIngest ingests batches of benchBatch new papers into the full corpus store.
func BenchmarkIngest(b *testing.B) {
	s := benchStore(b)
	n := testkit.CorpusSize()
	// The papers past the corpus are the benchmark's own: remove them now (a run that was interrupted) and after.
	end := testkit.NewCorpus(n).Paper(n).Published.Unix()
	cleanup := func() {
		if _, err := s.pool.Exec(context.Background(), `DELETE FROM papers WHERE sort_sec >= $1`, end); err != nil {
			b.Fatal(err)
		}
	}
	cleanup()
	b.Cleanup(cleanup)
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
	s := benchStore(b)
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

// BenchmarkIngestDeferred compares, poll by poll (alternating), ingest with the full-text index's entries merged
// inside the poll's transaction (the baseline: the index's default 4 MB pending list, which a 2,000-paper poll
// overflows, and no merge after) and with them left in the pending list and merged right after the commit (the
// store now). It reports the baseline's rate (inline-papers/s), the poll transaction's rate (papers/s: its papers
// are searchable at its commit, the pending list being part of the index), the rate including the merge
// (total-papers/s) and the merge's time per poll (merge-ms/poll).
func BenchmarkIngestDeferred(b *testing.B) {
	s := benchStore(b)
	n := testkit.CorpusSize()
	end := testkit.NewCorpus(n).Paper(n).Published.Unix()
	setLimit := func(sql string) {
		if _, err := s.pool.Exec(context.Background(), `ALTER INDEX papers_fts `+sql); err != nil {
			b.Fatal(err)
		}
	}
	cleanup := func() {
		if _, err := s.pool.Exec(context.Background(), `DELETE FROM papers WHERE sort_sec >= $1`, end); err != nil {
			b.Fatal(err)
		}
		setLimit(ginPendingSetting)
	}
	cleanup()
	b.Cleanup(cleanup)
	g := testkit.NewCorpus(n)
	next := n
	var inline, commit, merge time.Duration
	papers := 0
	for i := 0; b.Loop(); i++ {
		for _, deferred := range []bool{i%2 == 0, i%2 != 0} {
			batch := make([]paper.Paper, benchBatch)
			for j := range batch {
				batch[j] = g.Paper(next)
				next++
			}
			if deferred {
				setLimit(ginPendingSetting)
			} else {
				setLimit("RESET (gin_pending_list_limit)")
			}
			start := time.Now()
			if _, err := s.ingest(b.Context(), "bench", paper.Batch("bench", batch), nil, batch[0].Published, nil); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			if !deferred {
				inline += d
				continue
			}
			commit += d
			start = time.Now()
			if err := s.mergePending(b.Context()); err != nil {
				b.Fatal(err)
			}
			merge += time.Since(start)
		}
		papers += benchBatch
	}
	b.ReportMetric(float64(papers)/inline.Seconds(), "inline-papers/s")
	b.ReportMetric(float64(papers)/commit.Seconds(), "papers/s")
	b.ReportMetric(float64(papers)/(commit+merge).Seconds(), "total-papers/s")
	b.ReportMetric(float64(merge.Milliseconds())/float64(papers/benchBatch), "merge-ms/poll")
}
