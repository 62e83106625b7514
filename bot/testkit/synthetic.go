package testkit

import (
	"fmt"
	"html"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Word lists for SyntheticArxivFeed. They mix ML and neuroscience vocabulary so that benchmarks of the matcher see
// realistic hit rates for terms like "eeg", "transformer" or "spiking".
var (
	synthAdjectives = []string{"Scalable", "Robust", "Efficient", "Interpretable", "Self-Supervised", "Sparse",
		"Contrastive", "Bayesian", "Causal", "Multimodal", "Hierarchical", "Federated", "Differentiable", "Spiking",
		"Graph-Based", "Energy-Efficient", "Few-Shot", "Continual", "Equivariant", "Probabilistic"}
	synthNouns = []string{"Transformers", "Diffusion Models", "Foundation Models", "Neural Decoders", "Language Models",
		"Spiking Neural Networks", "Variational Autoencoders", "State Space Models", "Graph Neural Networks",
		"Reinforcement Learning Agents", "Brain-Computer Interfaces", "Recurrent Networks", "Mixture-of-Experts Models",
		"Vision Encoders", "Neural Fields"}
	synthTasks = []string{"EEG Decoding", "Motor Imagery Classification", "Protein Structure Prediction",
		"Long-Context Reasoning", "Sleep Staging", "Speech Recognition", "Calcium Imaging Analysis", "Object Detection",
		"fMRI Encoding", "Time-Series Forecasting", "Code Generation", "Seizure Detection", "Neural Population Dynamics",
		"Retrieval-Augmented Generation", "Visual Question Answering"}
	synthMethods = []string{"Masked Pretraining", "Low-Rank Adaptation", "Optimal Transport", "Knowledge Distillation",
		"Attention Pruning", "Predictive Coding", "Curriculum Learning", "Test-Time Scaling", "Synthetic Data",
		"Spectral Normalization", "Dendritic Computation", "Meta-Learning"}
	synthWords = []string{"model", "models", "neural", "network", "networks", "data", "dataset", "benchmark",
		"training", "learning", "representation", "representations", "performance", "accuracy", "latency", "cortex",
		"cortical", "neurons", "spiking", "EEG", "MEG", "fMRI", "electrodes", "signals", "decoding", "encoder", "decoder",
		"attention", "transformer", "diffusion", "gradient", "optimization", "loss", "regularization", "generalization",
		"robustness", "uncertainty", "inference", "latent", "embedding", "embeddings", "task", "tasks", "subjects",
		"recordings", "hippocampal", "plasticity", "synaptic", "reinforcement", "policy", "reward", "agents", "language",
		"tokens", "context", "retrieval", "scaling", "parameters", "compute", "efficient", "sparse", "dynamics",
		"temporal", "spatial", "multimodal", "visual", "auditory", "motor", "imagery", "classification", "regression",
		"foundation", "pretraining", "fine-tuning", "zero-shot", "few-shot", "baseline", "baselines", "state-of-the-art",
		"improves", "outperforms", "reduces", "achieves", "demonstrates", "propose", "introduce", "evaluate", "analyze",
		"across", "with", "without", "under", "between", "while", "and", "the", "a", "of", "in", "on", "for", "to",
		"we", "our", "this", "that", "which", "by", "from", "than", "both"}
	synthFirst = []string{"Ada", "Ben", "Chen", "Dana", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kavya",
		"Lena", "Mateo", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tomoko", "Uma", "Viktor", "Wei", "Yara"}
	synthLast = []string{"Okafor", "Lee", "Brandt", "Nakamura", "Varga", "Fischer", "Dubois", "Rossi", "Kowalski",
		"Haddad", "Silva", "Novak", "Ivanova", "Tanaka", "Moreau", "Jensen", "Khan", "Garcia", "Schmidt", "Zhang"}
	synthCategories = []string{"cs.LG", "cs.AI", "cs.CL", "cs.CV", "cs.NE", "stat.ML", "q-bio.NC", "eess.SP",
		"eess.IV", "cs.RO", "physics.bio-ph", "math.OC"}
)

// SyntheticArxivFeed returns a realistic rss.arxiv.org RSS 2.0 feed with n items, the same for the same seed, for
// benchmarks of the parser, the matcher and the store, and for crash tests. TestSyntheticArxivFeed (in sources,
// which can parse it) checks the promises below. Items have distinct ids, titles built from ML and
// neuroscience vocabulary, abstracts of 150-250 words, 1-8 authors, 1-3 categories and a mix of announce types
// (about 70% new, 15% cross, 10% replace, 5% replace-cross).
func SyntheticArxivFeed(n int, seed int64) []byte {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	pick := func(list []string) string { return list[r.IntN(len(list))] }
	day := time.Date(2026, 9, 24, 0, 0, 0, 0, time.FixedZone("EDT", -4*3600)).Format(time.RFC1123Z)

	var b strings.Builder
	b.Grow(n * 2200)
	b.WriteString(`<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">
  <channel>
    <title>cs.LG, q-bio.NC updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/cs.LG+q-bio.NC</link>
    <description>cs.LG, q-bio.NC updates on the arXiv.org e-print archive.</description>
    <language>en-us</language>
`)
	fmt.Fprintf(&b, "    <pubDate>%s</pubDate>\n", day)
	for i := range n {
		// Distinct ids: 90,000 five-digit numbers per month, months counted back from 2609.
		month := 2609 - (i/90000)%12
		id := fmt.Sprintf("%04d.%05d", month, 10000+i%90000)
		typ, version := paper.AnnounceNew, 1
		switch x := r.IntN(100); {
		case x >= 95:
			typ, version = paper.AnnounceReplaceCross, 2+r.IntN(3)
		case x >= 85:
			typ, version = paper.AnnounceReplace, 2+r.IntN(3)
		case x >= 70:
			typ = paper.AnnounceCross
		}
		title := fmt.Sprintf("%s %s for %s via %s", pick(synthAdjectives), pick(synthNouns), pick(synthTasks),
			pick(synthMethods))
		authors := make([]string, 1+r.IntN(8))
		for j := range authors {
			authors[j] = pick(synthFirst) + " " + pick(synthLast)
		}
		var cats []string
		for len(cats) < 1+r.IntN(3) {
			if c := pick(synthCategories); !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}

		b.WriteString("    <item>\n")
		fmt.Fprintf(&b, "      <title>%s</title>\n", html.EscapeString(title))
		fmt.Fprintf(&b, "      <link>https://arxiv.org/abs/%s</link>\n", id)
		fmt.Fprintf(&b, "      <description>arXiv:%sv%d Announce Type: %s \nAbstract: ", id, version, typ)
		synthAbstract(&b, r, 150+r.IntN(101))
		b.WriteString("</description>\n")
		fmt.Fprintf(&b, "      <guid isPermaLink=\"false\">oai:arXiv.org:%sv%d</guid>\n", id, version)
		for _, c := range cats {
			fmt.Fprintf(&b, "      <category>%s</category>\n", c)
		}
		fmt.Fprintf(&b, "      <pubDate>%s</pubDate>\n", day)
		fmt.Fprintf(&b, "      <arxiv:announce_type>%s</arxiv:announce_type>\n", typ)
		b.WriteString("      <dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>\n")
		fmt.Fprintf(&b, "      <dc:creator>%s</dc:creator>\n", html.EscapeString(strings.Join(authors, ", ")))
		b.WriteString("    </item>\n")
	}
	b.WriteString("  </channel>\n</rss>\n")
	return []byte(b.String())
}

// synthAbstract writes words random words as sentences of 8-24 words.
func synthAbstract(b *strings.Builder, r *rand.Rand, words int) {
	for written := 0; written < words; {
		n := min(words-written, 8+r.IntN(17))
		for j := range n {
			w := synthWords[r.IntN(len(synthWords))]
			if j == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
				if written > 0 {
					b.WriteByte(' ')
				}
			} else {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		b.WriteByte('.')
		written += n
	}
}
