package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// The benchmarks mirror bot/store's (same names, same corpus, same sizes), so that a run of both gives the
// PostgreSQL/SQLite ratios. The corpus generator below is a copy of bot/store's: keep the two in step, and bump
// benchCorpusVersion in both when it changes.
//
// The 1M-paper corpus takes minutes to build, so it is built once into the schema benchSchema() names, in the
// database of PAPERBOY_TEST_DATABASE_URL, and kept for later runs (drop it with DROP SCHEMA ... CASCADE). The
// ingest benchmark adds papers to it and deletes them afterwards.
const (
	benchCorpusVersion = 2
	benchCorpusSize    = 1_000_000
	benchBatch         = 2000
	benchSeed          = 0x9a9e7b0
	benchVocab         = 50_000
	benchZipfS         = 1.1
)

// corpusStart and corpusSpan place the corpus' publication dates: five years, in order, like a feed's history.
var (
	corpusStart = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	corpusSpan  = 5 * 365 * 24 * time.Hour
)

// benchSize is benchCorpusSize, or PAPERBOY_BENCH_PAPERS for a quick run on a smaller corpus.
func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("PAPERBOY_BENCH_PAPERS")); err == nil && n > 0 {
		return n
	}
	return benchCorpusSize
}

// baseWords are real ML and neuroscience abstract words, most frequent first; vocabulary() extends them with a
// long tail of generated technical words so that the Zipf distribution has realistic rare terms.
const baseWords = `the of and a to in we for is that on with by this as are our an from be model which
learning neural data network can these results show method using models based approach performance training
propose networks brain deep task both two new such between however neurons information has more than
representation activity also different used into its not through while each time dataset framework methods
it their across provide state large first been at or inference existing language tasks high features
proposed demonstrate paper temporal spatial cortex signals eeg fmri decoding encoding attention transformer
graph reinforcement policy reward agent generative diffusion latent variational bayesian stochastic gradient
optimization loss convergence benchmark accuracy robustness adversarial generalization supervised unsupervised
contrastive selfsupervised pretraining finetuning foundation multimodal vision speech audio video image
segmentation detection classification regression clustering embedding token sequence recurrent convolutional
spiking synaptic plasticity hippocampus prefrontal motor visual auditory sensory memory dynamics population
neuronal recordings electrophysiology calcium imaging connectivity oscillations cognitive behavior behavioral
stimulus response trial subjects participants human mouse monkey primate rodent clinical patients disease
diagnosis interpretability explainability causal counterfactual uncertainty calibration probabilistic sparse
efficient scalable compression quantization pruning distillation kernel manifold geometry topology invariant
equivariant symmetry physics simulation control robotics planning navigation exploration offline online
federated privacy fairness alignment safety evaluation retrieval reasoning chain prompt instruction agents
scaling law emergent capabilities mixture experts routing memoryaugmented hierarchical modular compositional
continual lifelong catastrophic forgetting meta fewshot zeroshot transfer domain adaptation shift outofdistribution
anomaly timeseries forecasting physiological ecg emg bci neuroprosthetic decoder encoder autoencoder schrodinger
noether hebbian dopamine serotonin thalamus striatum cerebellum amygdala entorhinal grid place cells
`

// vocabulary returns benchVocab distinct single-token words, base words first.
func vocabulary() []string {
	words := strings.Fields(baseWords)
	seen := make(map[string]bool, benchVocab)
	out := make([]string, 0, benchVocab)
	for _, w := range words {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	pre := strings.Fields("neuro cyto synap cortico thalamo hippo electro magneto photo opto chemo hyper hypo meta para proto poly mono multi inter intra trans micro macro nano bio geo")
	mid := strings.Fields("morph plast genic tropic dyn graph scop metr log path phys spect vers form struct sens lex")
	suf := strings.Fields("ic al ism ation ity ology ometry ogenesis ite oid ase ine ene ance ency ive ous")
	r := rand.New(rand.NewPCG(benchSeed, 1))
	for len(out) < benchVocab {
		w := pre[r.IntN(len(pre))] + mid[r.IntN(len(mid))] + suf[r.IntN(len(suf))]
		if r.IntN(2) == 0 {
			w += strconv.Itoa(r.IntN(1000))
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// corpusGen generates paper i of the synthetic corpus deterministically, from i alone.
type corpusGen struct {
	vocab             []string
	first, last, cats []string
	size              int
}

func newCorpusGen(size int) *corpusGen {
	return &corpusGen{
		vocab: vocabulary(),
		first: strings.Fields("Ada Alan Grace Yann Geoffrey Yoshua Fei Andrew Daphne Demis Terrence Karl Eve Maria Jürgen Zoë Chen Wei Priya Olusegun Ana José Sofía Hiroshi Min-jun Björn Amélie"),
		last:  strings.Fields("Lovelace Turing Hopper LeCun Hinton Bengio Li Ng Koller Hassabis Sejnowski Friston Marder Ramón Schmidhuber Müller Wang Zhang Patel Adeyemi García Ñúñez Tanaka Kim Öberg Dubois Østergaard"),
		cats:  strings.Fields("cs.LG cs.AI cs.CV cs.CL q-bio.NC stat.ML eess.SP cs.NE physics.bio-ph"),
		size:  size,
	}
}

func (g *corpusGen) words(r *rand.Rand, z *rand.Zipf, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(g.vocab[z.Uint64()])
	}
	return b.String()
}

// paper returns corpus paper i. Indexes at or past size continue the timeline: they are the "new" papers the
// ingest benchmark adds to a full store.
func (g *corpusGen) paper(i int) paper.Paper {
	r := rand.New(rand.NewPCG(benchSeed, uint64(i)+2))
	z := rand.NewZipf(r, benchZipfS, 1, uint64(len(g.vocab)-1))
	pub := corpusStart.Add(time.Duration(int64(corpusSpan) / int64(g.size) * int64(i))).Truncate(time.Second)
	authors := make([]string, 1+r.IntN(8))
	for j := range authors {
		authors[j] = g.first[r.IntN(len(g.first))] + " " + g.last[r.IntN(len(g.last))]
	}
	id := fmt.Sprintf("%s.%06d", pub.Format("0601"), i%1_000_000)
	if i >= 1_000_000 {
		id = fmt.Sprintf("%s.%07d", pub.Format("0601"), i)
	}
	cats := []string{g.cats[r.IntN(len(g.cats))]}
	if c := g.cats[r.IntN(len(g.cats))]; r.IntN(2) == 0 && c != cats[0] {
		cats = append(cats, c)
	}
	return paper.Paper{
		Key:          "arxiv:" + id,
		ArxivID:      id,
		Version:      1,
		Title:        g.words(r, z, 6+r.IntN(9)),
		Abstract:     g.words(r, z, 150+r.IntN(101)),
		Authors:      authors,
		Categories:   cats,
		AnnounceType: paper.AnnounceNew,
		URL:          "https://arxiv.org/abs/" + id,
		PDFURL:       "https://arxiv.org/pdf/" + id,
		Published:    pub,
	}
}

// benchSchema names the schema of the cached corpus: its generator version, a checksum of the migrations (a
// changed schema builds a new corpus; drop the old one by hand) and its size.
func benchSchema(n int) string {
	sum := crc32.ChecksumIEEE([]byte(strings.Join(migrations(), "\x00")))
	return fmt.Sprintf("paperboy_bench_v%d_s%08x_n%d", benchCorpusVersion, sum, n)
}

// benchStore opens the cached corpus, building it first if it is missing. A build interrupted half-way is
// detected (the schema exists but is not marked complete) and started over.
func benchStore(b *testing.B) *Store {
	b.Helper()
	base := testURL(b)
	n := benchSize()
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
	g := newCorpusGen(n)
	batch := make([]paper.Paper, 0, benchBatch)
	start := time.Now()
	for i := range n {
		batch = append(batch, g.paper(i))
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

// reportRSS reports this process' peak resident set size so far (the server's memory is not in it).
func reportRSS(b *testing.B) {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
}

// BenchmarkIngest ingests batches of benchBatch new papers into the full corpus store.
func BenchmarkIngest(b *testing.B) {
	s := benchStore(b)
	n := benchSize()
	// The papers past the corpus are the benchmark's own: remove them now (a run that was interrupted) and after.
	end := newCorpusGen(n).paper(n).Published.Unix()
	cleanup := func() {
		if _, err := s.pool.Exec(context.Background(), `DELETE FROM papers WHERE sort_sec >= $1`, end); err != nil {
			b.Fatal(err)
		}
	}
	cleanup()
	b.Cleanup(cleanup)
	g := newCorpusGen(n)
	next := n
	var papers int
	var elapsed time.Duration
	for b.Loop() {
		batch := make([]paper.Paper, benchBatch)
		for i := range batch {
			batch[i] = g.paper(next)
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
	reportRSS(b)
}

// BenchmarkSearch measures look-ups on the full corpus with many different queries per kind, reporting latency
// percentiles: the mean alone would hide the slow queries.
func BenchmarkSearch(b *testing.B) {
	s := benchStore(b)
	vocab := vocabulary()
	band := func(lo, hi int) []string { return vocab[lo:hi] }
	// With Zipf s=1.1 over 50k words and ~220 words a paper, ranks 20-200 appear in roughly 70% down to 9% of
	// papers, ranks 20k-50k in about 0.02-0.06% (200-600 papers of a million).
	kinds := []struct {
		name  string
		query func(r *rand.Rand) []string
	}{
		{"one-common-word", func(r *rand.Rand) []string { w := band(20, 200); return []string{w[r.IntN(len(w))]} }},
		{"one-rare-word", func(r *rand.Rand) []string { w := band(20_000, 50_000); return []string{w[r.IntN(len(w))]} }},
		{"two-common-words", func(r *rand.Rand) []string {
			w := band(50, 500)
			return []string{w[r.IntN(len(w))], w[r.IntN(len(w))]}
		}},
		{"common-and-rare-word", func(r *rand.Rand) []string {
			return []string{band(20, 200)[r.IntN(180)], band(20_000, 50_000)[r.IntN(30_000)]}
		}},
		{"two-mid-words", func(r *rand.Rand) []string {
			w := band(1000, 3000)
			return []string{w[r.IntN(len(w))], w[r.IntN(len(w))]}
		}},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(benchSeed, 7))
			var lat []time.Duration
			results := 0
			for b.Loop() {
				q := k.query(r)
				start := time.Now()
				ps, err := searchWords(b.Context(), s, q, 20)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				results += len(ps)
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(results)/float64(len(lat)), "results/op")
			reportRSS(b)
		})
	}
}
