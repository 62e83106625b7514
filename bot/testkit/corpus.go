package testkit

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// The synthetic paper corpus of the store benchmarks (bot/store and bot/store/postgres run the same benchmarks on
// it, for the PostgreSQL/SQLite ratios). Bump CorpusVersion whenever the generator changes: the stores name their
// cached corpora after it, so that a corpus built by an older generator is not reused.
const (
	CorpusVersion = 2
	// CorpusSeed seeds the corpus and the benchmarks' query draws.
	CorpusSeed = 0x9a9e7b0
	// CorpusVocabSize is the number of distinct words of Vocabulary.
	CorpusVocabSize = 50_000
	// corpusSize is the full corpus, which PAPERBOY_BENCH_PAPERS overrides.
	corpusSize  = 1_000_000
	corpusZipfS = 1.1
	// corpusSpan spreads the publication dates over five years, in order, like a feed's history.
	corpusSpan = 5 * 365 * 24 * time.Hour
)

// CorpusSize is the number of papers of the benchmark corpus: a million, or PAPERBOY_BENCH_PAPERS for a quick run
// on a smaller corpus.
func CorpusSize() int {
	if n, err := strconv.Atoi(os.Getenv("PAPERBOY_BENCH_PAPERS")); err == nil && n > 0 {
		return n
	}
	return corpusSize
}

// baseWords are real ML and neuroscience abstract words, most frequent first; Vocabulary extends them with a long
// tail of generated technical words so that the Zipf distribution has realistic rare terms.
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

// Vocabulary returns the corpus' CorpusVocabSize distinct single-token words, most frequent (base words) first.
func Vocabulary() []string {
	words := strings.Fields(baseWords)
	seen := make(map[string]bool, CorpusVocabSize)
	out := make([]string, 0, CorpusVocabSize)
	for _, w := range words {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	pre := strings.Fields("neuro cyto synap cortico thalamo hippo electro magneto photo opto chemo hyper hypo meta para proto poly mono multi inter intra trans micro macro nano bio geo")
	mid := strings.Fields("morph plast genic tropic dyn graph scop metr log path phys spect vers form struct sens lex")
	suf := strings.Fields("ic al ism ation ity ology ometry ogenesis ite oid ase ine ene ance ency ive ous")
	r := rand.New(rand.NewPCG(CorpusSeed, 1))
	for len(out) < CorpusVocabSize {
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

// Corpus generates the papers of a synthetic corpus of a given size deterministically: paper i depends on i (and
// the size, which spreads the dates) alone, so a store can be built in any batches and extended later.
type Corpus struct {
	vocab             []string
	first, last, cats []string
	size              int
}

// NewCorpus returns the generator of a corpus of size papers.
func NewCorpus(size int) *Corpus {
	return &Corpus{
		vocab: Vocabulary(),
		first: strings.Fields("Ada Alan Grace Yann Geoffrey Yoshua Fei Andrew Daphne Demis Terrence Karl Eve Maria Jürgen Zoë Chen Wei Priya Olusegun Ana José Sofía Hiroshi Min-jun Björn Amélie"),
		last:  strings.Fields("Lovelace Turing Hopper LeCun Hinton Bengio Li Ng Koller Hassabis Sejnowski Friston Marder Ramón Schmidhuber Müller Wang Zhang Patel Adeyemi García Ñúñez Tanaka Kim Öberg Dubois Østergaard"),
		cats:  strings.Fields("cs.LG cs.AI cs.CV cs.CL q-bio.NC stat.ML eess.SP cs.NE physics.bio-ph"),
		size:  size,
	}
}

func (c *Corpus) words(r *rand.Rand, z *rand.Zipf, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.vocab[z.Uint64()])
	}
	return b.String()
}

// Paper returns corpus paper i. Indexes at or past the size continue the timeline: they are the "new" papers the
// ingest benchmarks add to a full store.
func (c *Corpus) Paper(i int) paper.Paper {
	r := rand.New(rand.NewPCG(CorpusSeed, uint64(i)+2))
	z := rand.NewZipf(r, corpusZipfS, 1, uint64(len(c.vocab)-1))
	// Evenly spread over five years, in order, with arXiv-like announcement seconds.
	start := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	pub := start.Add(time.Duration(int64(corpusSpan) / int64(c.size) * int64(i))).Truncate(time.Second)
	authors := make([]string, 1+r.IntN(8))
	for j := range authors {
		authors[j] = c.first[r.IntN(len(c.first))] + " " + c.last[r.IntN(len(c.last))]
	}
	id := fmt.Sprintf("%s.%06d", pub.Format("0601"), i%1_000_000)
	if i >= 1_000_000 {
		id = fmt.Sprintf("%s.%07d", pub.Format("0601"), i)
	}
	cats := []string{c.cats[r.IntN(len(c.cats))]}
	if cat := c.cats[r.IntN(len(c.cats))]; r.IntN(2) == 0 && cat != cats[0] {
		cats = append(cats, cat)
	}
	return paper.Paper{
		Key:          "arxiv:" + id,
		ArxivID:      id,
		Version:      1,
		Title:        c.words(r, z, 6+r.IntN(9)),
		Abstract:     c.words(r, z, 150+r.IntN(101)),
		Authors:      authors,
		Categories:   cats,
		AnnounceType: paper.AnnounceNew,
		URL:          "https://arxiv.org/abs/" + id,
		PDFURL:       "https://arxiv.org/pdf/" + id,
		Published:    pub,
	}
}

// SearchKind is one kind of word look-up the search benchmarks draw, by how common its words are in the corpus.
type SearchKind struct {
	Name string
	// Words draws the query's words from r.
	Words func(r *rand.Rand) []string
}

// SearchKinds returns the search benchmarks' query kinds over vocab (Vocabulary's words). With Zipf s=1.1 over 50k
// words and ~220 words a paper, ranks 20-200 appear in roughly 70% down to 9% of papers, ranks 20k-50k in about
// 0.02-0.06% (200-600 papers of a million).
func SearchKinds(vocab []string) []SearchKind {
	band := func(lo, hi int) []string { return vocab[lo:hi] }
	return []SearchKind{
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
}
