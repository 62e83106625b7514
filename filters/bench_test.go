package filters

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// benchVocab is an ML and neuroscience vocabulary, roughly most popular first: the Zipf draws below make the first
// words common in both subscriptions and papers, as "learning" and "model" are on arXiv.
var benchVocab = strings.Fields(`learning model neural network deep data training language transformer attention
	large diffusion graph reinforcement generation image vision agent policy representation benchmark dataset
	reasoning retrieval inference optimization robust adversarial federated privacy causal contrastive
	multimodal video speech audio segmentation detection classification regression embedding token sparse
	quantization pruning distillation alignment preference reward finetuning instruction prompt chain thought
	eeg meg fmri brain neuron spiking cortex hippocampus synaptic plasticity dendritic neuromorphic decoding
	encoding connectome calcium imaging electrophysiology spike sorting interface bci motor visual auditory
	memory consolidation sleep oscillation gamma theta dopamine reward prediction error bayesian variational
	autoencoder gan flow score matching sampling mcmc kernel gaussian process uncertainty calibration
	conformal active bandit exploration offline online continual meta few shot zero transfer domain adaptation
	generalization overfitting regularization dropout normalization batch layer residual convolutional
	recurrent lstm gru mamba state space hyperbolic geometric equivariant symmetry manifold topology persistent
	homology molecule protein folding drug discovery chemistry materials physics pde solver operator fourier
	wavelet signal time series forecasting anomaly tabular recommendation ranking search query document
	summarization translation dialogue question answering code program synthesis theorem proving math
	planning robot manipulation navigation locomotion simulation sim2real world model tokenizer vocabulary
	multilingual low resource bias fairness interpretability explainability saliency probing circuit
	mechanistic feature superposition scaling law emergent capability evaluation leaderboard hallucination
	factuality safety jailbreak watermark unlearning membership attack defense certified verification`)

// benchFiller are function words that fill half of a realistic abstract and never appear in subscriptions.
var benchFiller = strings.Fields(`the of and a in to for we that is on with this by as are our from an be which
	show propose results method approach using these can it at has have new two paper its their than also based`)

type benchGen struct {
	r    *rand.Rand
	zipf *rand.Zipf
	// tailOnly draws subscription words from the long tail only: specific subscriptions whose matches per paper
	// stay nearly constant as their number grows, isolating the index's own cost from the output's.
	tailOnly bool
	// vocabOnly draws words from the common vocabulary only, generic words excepted (the realistic model's popular
	// queries).
	vocabOnly bool
	// tailFirst makes the next word drawn a long-tail one (the subject of a realistic long-tail query); it resets
	// itself.
	tailFirst bool
}

func newBenchGen(seed uint64) *benchGen {
	r := rand.New(rand.NewPCG(seed, seed+1))
	return &benchGen{r: r, zipf: rand.NewZipf(r, 1.05, 8, uint64(len(benchVocab)-1))}
}

// word draws a subscription or topic word: a common one from the vocabulary, or one of a long tail of specific
// terms (gene, model and method names), which is what most real subscriptions are about.
func (g *benchGen) word() string {
	if g.tailFirst {
		g.tailFirst = false
		return benchTail[g.r.IntN(len(benchTail))]
	}
	if g.vocabOnly {
		// A Zipf draw conditioned on not being one of the generic words that open the vocabulary.
		for {
			if i := g.zipf.Uint64(); i >= benchGeneric {
				return benchVocab[i]
			}
		}
	}
	if g.tailOnly || g.r.IntN(2) == 0 {
		return benchTail[g.r.IntN(len(benchTail))]
	}
	return benchVocab[g.zipf.Uint64()]
}

// benchTail is the long tail of specific terms.
var benchTail = func() []string {
	t := make([]string, 20000)
	for i := range t {
		t[i] = fmt.Sprintf("%c%cx%d", 'a'+i%26, 'a'+i/26%26, i)
	}
	return t
}()

// query returns a subscription in the proportions a real deployment might see.
func (g *benchGen) query() string {
	switch n := g.r.IntN(100); {
	case n < 35: // a single word
		return g.word()
	case n < 55: // two or three words ANDed
		s := g.word() + " " + g.word()
		if g.r.IntN(2) == 0 {
			s += " " + g.word()
		}
		return s
	case n < 70: // a phrase, sometimes with a word
		s := `"` + g.word() + " " + g.word() + `"`
		if g.r.IntN(3) == 0 {
			s += " " + g.word()
		}
		return s
	case n < 80: // alternatives
		return "(" + g.word() + " OR " + g.word() + " OR " + g.word() + ") " + g.word()
	case n < 90: // a negation
		return g.word() + " " + g.word() + " -" + g.word()
	case n < 94: // a prefix
		w := g.word()
		return w[:min(len(w), 5)] + "* " + g.word()
	case n < 97: // a field
		return "title:" + g.word() + " " + []string{"cat:cs.LG", "cat:q-bio.*", "abs:" + g.word()}[g.r.IntN(3)]
	}
	author := []string{"hinton", "lecun", "bengio", "smith"}[g.r.IntN(4)]
	if g.tailFirst || g.tailOnly {
		// A specific subscription follows one of many authors, not one of the four the papers are written by.
		g.tailFirst = false
		author = benchTail[g.r.IntN(len(benchTail))]
	}
	return fmt.Sprintf("au:%s upvotes:>=%d", author, g.r.IntN(30))
}

// text returns n words about the given topic words: half filler, most of the rest from the topic, a few from
// anywhere in the vocabulary, with realistic punctuation, capitals and plurals.
func (g *benchGen) text(n int, topic []string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			if g.r.IntN(12) == 0 {
				b.WriteString(", ")
			} else {
				b.WriteByte(' ')
			}
		}
		var w string
		switch k := g.r.IntN(10); {
		case k < 5:
			w = benchFiller[g.r.IntN(len(benchFiller))]
		case k < 9:
			w = topic[g.r.IntN(len(topic))]
		default:
			w = benchVocab[g.r.IntN(len(benchVocab))]
		}
		if g.r.IntN(10) == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		if g.r.IntN(8) == 0 {
			w += "s"
		}
		b.WriteString(w)
	}
	return b.String()
}

// paper returns a paper about a handful of topic words, popular ones more often, as real papers are.
func (g *benchGen) paper() *paper.Paper {
	topic := make([]string, 6+g.r.IntN(6))
	for i := range topic {
		topic[i] = g.word()
	}
	return &paper.Paper{
		Title:      g.text(8+g.r.IntN(8), topic),
		Abstract:   g.text(150+g.r.IntN(101), topic),
		Authors:    []string{"Ada Smith", "Geoffrey Hinton", "Jürgen Schmidhuber"}[:1+g.r.IntN(3)],
		Categories: []string{"cs.LG", "cs.AI", "q-bio.NC"}[:1+g.r.IntN(3)],
		Sources:    []string{"arxiv"},
		HasHF:      g.r.IntN(5) == 0,
		Upvotes:    g.r.IntN(40),
	}
}

// The realistic subscription population. A deployment with 100,000 subscriptions is about 10,000 channels of
// labs and communities with ~10 subscriptions each, and what they follow is mostly specific. The model:
//
//   - 30% of subscriptions are copies of the benchPopular most popular queries ("large language model", "eeg
//     decoding", ...), chosen with a Zipf law (s = 1.1) so that the top few are followed by hundreds of channels.
//     Popular queries are topics built from the common vocabulary, without its benchGeneric first words: nobody
//     subscribes to "learning" or "model network", which would post most of arXiv. They are a single word (10%),
//     two words ANDed (45%), a two-word phrase (35%) or a phrase and a word (10%).
//   - 70% are long-tail queries about one specific subject: the same shapes and proportions as the broad
//     generator's query (words, ANDs, phrases, alternatives, negations, prefixes, fields), except that the
//     first word is always a long-tail term (a method, gene or dataset name) and an author is a long-tail name.
//
// The papers are the same for every generator, so the figures differ only by the subscriptions.
const (
	benchPopular      = 500
	benchPopularShare = 30 // percent
	benchGeneric      = 20 // "learning model neural network deep data training language ..."
)

// realisticQueries returns n subscriptions drawn from the model above.
func realisticQueries(b *testing.B, n int) []*Query {
	pg := newBenchGen(99)
	pg.vocabOnly = true
	popular := make([]string, benchPopular)
	for i := range popular {
		popular[i] = pg.popularQuery()
	}
	g := newBenchGen(44)
	rank := rand.NewZipf(g.r, 1.1, 1, benchPopular-1)
	src := make([]string, n)
	for i := range src {
		if g.r.IntN(100) < benchPopularShare {
			src[i] = popular[rank.Uint64()]
		} else {
			g.tailFirst = true
			src[i] = g.query()
		}
	}
	return parseAll(b, src)
}

// popularQuery returns one of the popular queries of the realistic model.
func (g *benchGen) popularQuery() string {
	switch n := g.r.IntN(100); {
	case n < 10:
		return g.word()
	case n < 55:
		return g.word() + " " + g.word()
	case n < 90:
		return `"` + g.word() + " " + g.word() + `"`
	}
	return `"` + g.word() + " " + g.word() + `" ` + g.word()
}

// broadQueries returns n subscriptions from the original generator, where half of all words, including single-word
// subscriptions, come from the common vocabulary: about 2.7% of subscriptions match each paper, so it measures
// the cost of producing thousands of results per paper more than the cost of finding them.
func broadQueries(b *testing.B, n int) []*Query {
	g := newBenchGen(42)
	src := make([]string, n)
	for i := range src {
		src[i] = g.query()
	}
	return parseAll(b, src)
}

// tailOnlyQueries returns n subscriptions made of long-tail words only, whose matches per paper stay nearly
// constant as their number grows: it isolates the index's own cost from the output's.
func tailOnlyQueries(b *testing.B, n int) []*Query {
	g := newBenchGen(43)
	g.tailOnly = true
	src := make([]string, n)
	for i := range src {
		src[i] = g.query()
	}
	return parseAll(b, src)
}

func parseAll(b *testing.B, src []string) []*Query {
	qs := make([]*Query, len(src))
	for i, s := range src {
		q, err := Parse(s)
		if err != nil {
			b.Fatalf("generated query %q: %v", s, err)
		}
		qs[i] = q
	}
	return qs
}

func benchPapers() []*paper.Paper {
	g := newBenchGen(7)
	ps := make([]*paper.Paper, 64)
	for i := range ps {
		ps[i] = g.paper()
	}
	return ps
}

// BenchmarkMatch compares the compiled Matcher, through Match and through MatchFunc (the delivery engine's
// entry point), with evaluating every query on its own, for each subscription population; one op is one paper.
// The matches/paper metric says how much of the cost is output: it is a property of the population, not of the
// matcher.
func BenchmarkMatch(b *testing.B) {
	papers := benchPapers()
	populations := []struct {
		name string
		gen  func(*testing.B, int) []*Query
	}{
		{"realistic", realisticQueries},
		{"broad", broadQueries},
		{"tail-only", tailOnlyQueries},
	}
	for _, pop := range populations {
		for _, n := range []int{100, 1000, 10000, 100000} {
			qs := pop.gen(b, n)
			m := NewMatcher()
			for i, q := range qs {
				m.Add(int64(i), q)
			}
			b.Run(fmt.Sprintf("%s/compiled/subs=%d", pop.name, n), func(b *testing.B) {
				b.ReportAllocs()
				matches := 0
				var cpu testkit.CPUMeter
				cpu.Start()
				for i := range b.N {
					matches += len(m.Match(papers[i%len(papers)]))
				}
				cpu.Stop()
				reportPerPaper(b, matches)
				if d, ok := cpu.PerOp(b); ok {
					b.ReportMetric(float64(d.Nanoseconds()), "cpu-ns/paper")
				}
			})
			b.Run(fmt.Sprintf("%s/compiled-func/subs=%d", pop.name, n), func(b *testing.B) {
				b.ReportAllocs()
				matches := 0
				count := func(int64, *Explanation) { matches++ }
				var cpu testkit.CPUMeter
				cpu.Start()
				for i := range b.N {
					m.MatchFunc(papers[i%len(papers)], count)
				}
				cpu.Stop()
				reportPerPaper(b, matches)
				if d, ok := cpu.PerOp(b); ok {
					b.ReportMetric(float64(d.Nanoseconds()), "cpu-ns/paper")
				}
			})
			if pop.name == "tail-only" {
				continue // the naive baseline does not depend on the population's selectivity
			}
			b.Run(fmt.Sprintf("%s/naive/subs=%d", pop.name, n), func(b *testing.B) {
				matches := 0
				for i := range b.N {
					p := papers[i%len(papers)]
					for _, q := range qs {
						if _, ok := q.Match(p); ok {
							matches++
						}
					}
				}
				reportPerPaper(b, matches)
			})
		}
	}
}

func reportPerPaper(b *testing.B, matches int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/paper")
	b.ReportMetric(float64(matches)/float64(b.N), "matches/paper")
}

// BenchmarkCompile100k measures adding 100,000 parsed subscriptions to an empty Matcher, and the heap the
// compiled Matcher keeps, for the realistic and the broad populations.
func BenchmarkCompile100k(b *testing.B) {
	for _, pop := range []struct {
		name string
		gen  func(*testing.B, int) []*Query
	}{{"realistic", realisticQueries}, {"broad", broadQueries}} {
		qs := pop.gen(b, 100000)
		b.Run(pop.name, func(b *testing.B) {
			var m *Matcher
			b.ReportAllocs()
			for range b.N {
				m = NewMatcher()
				for i, q := range qs {
					m.Add(int64(i), q)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(len(m.progByKey)), "programs")
			m = nil
			b.ReportMetric(compiledHeapMB(qs), "heapMB")
		})
	}
}

// BenchmarkParse100k measures parsing the same 100,000 subscriptions, the other half of loading them at start.
func BenchmarkParse100k(b *testing.B) {
	g := newBenchGen(42)
	src := make([]string, 100000)
	for i := range src {
		src[i] = g.query()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, s := range src {
			if _, err := Parse(s); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// compiledHeapMB returns the live heap a Matcher holding qs adds, in MiB.
func compiledHeapMB(qs []*Query) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := NewMatcher()
	for i, q := range qs {
		m.Add(int64(i), q)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(m)
	runtime.KeepAlive(qs) // The parsed queries are not part of the Matcher; keep them out of the difference.
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
}
