package filters

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/paperboy-bot/paperboy/sources"
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
}

func newBenchGen(seed uint64) *benchGen {
	r := rand.New(rand.NewPCG(seed, seed+1))
	return &benchGen{r: r, zipf: rand.NewZipf(r, 1.05, 8, uint64(len(benchVocab)-1))}
}

// word draws a subscription or topic word: a common one from the vocabulary, or one of a long tail of specific
// terms (gene, model and method names), which is what most real subscriptions are about.
func (g *benchGen) word() string {
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
	return fmt.Sprintf("au:%s upvotes:>=%d", []string{"hinton", "lecun", "bengio", "smith"}[g.r.IntN(4)], g.r.IntN(30))
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
func (g *benchGen) paper() *sources.Paper {
	topic := make([]string, 6+g.r.IntN(6))
	for i := range topic {
		topic[i] = g.word()
	}
	return &sources.Paper{
		Title:      g.text(8+g.r.IntN(8), topic),
		Abstract:   g.text(150+g.r.IntN(101), topic),
		Authors:    []string{"Ada Smith", "Geoffrey Hinton", "Jürgen Schmidhuber"}[:1+g.r.IntN(3)],
		Categories: []string{"cs.LG", "cs.AI", "q-bio.NC"}[:1+g.r.IntN(3)],
		Sources:    []string{"arxiv"},
		HasHF:      g.r.IntN(5) == 0,
		Upvotes:    g.r.IntN(40),
	}
}

func benchQueries(b *testing.B, n int) []*Query {
	return benchQueriesGen(b, newBenchGen(42), n)
}

func benchQueriesGen(b *testing.B, g *benchGen, n int) []*Query {
	qs := make([]*Query, n)
	for i := range qs {
		q, err := Parse(g.query())
		if err != nil {
			b.Fatal(err)
		}
		qs[i] = q
	}
	return qs
}

func benchPapers() []*sources.Paper {
	g := newBenchGen(7)
	ps := make([]*sources.Paper, 64)
	for i := range ps {
		ps[i] = g.paper()
	}
	return ps
}

// BenchmarkMatch compares the compiled Matcher with evaluating every query on its own; one op is one paper.
func BenchmarkMatch(b *testing.B) {
	papers := benchPapers()
	for _, n := range []int{100, 1000, 10000, 100000} {
		qs := benchQueries(b, n)
		b.Run(fmt.Sprintf("compiled/subs=%d", n), func(b *testing.B) {
			m := NewMatcher()
			for i, q := range qs {
				m.Add(int64(i), q)
			}
			b.ReportAllocs()
			matches := 0
			b.ResetTimer()
			for i := range b.N {
				matches += len(m.Match(papers[i%len(papers)]))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/paper")
			b.ReportMetric(float64(matches)/float64(b.N), "matches/paper")
		})
		tg := newBenchGen(43)
		tg.tailOnly = true
		specific := benchQueriesGen(b, tg, n)
		b.Run(fmt.Sprintf("compiled-specific/subs=%d", n), func(b *testing.B) {
			m := NewMatcher()
			for i, q := range specific {
				m.Add(int64(i), q)
			}
			b.ReportAllocs()
			matches := 0
			b.ResetTimer()
			for i := range b.N {
				matches += len(m.Match(papers[i%len(papers)]))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/paper")
			b.ReportMetric(float64(matches)/float64(b.N), "matches/paper")
		})
		b.Run(fmt.Sprintf("naive/subs=%d", n), func(b *testing.B) {
			matches := 0
			for i := range b.N {
				p := papers[i%len(papers)]
				for _, q := range qs {
					if _, ok := q.Match(p); ok {
						matches++
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/paper")
			b.ReportMetric(float64(matches)/float64(b.N), "matches/paper")
		})
	}
}

// BenchmarkCompile100k measures adding 100,000 parsed subscriptions to an empty Matcher, and the heap the
// compiled Matcher keeps.
func BenchmarkCompile100k(b *testing.B) {
	qs := benchQueries(b, 100000)
	var m *Matcher
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m = NewMatcher()
		for i, q := range qs {
			m.Add(int64(i), q)
		}
	}
	b.StopTimer()
	m = nil
	b.ReportMetric(compiledHeapMB(qs), "heapMB")
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
