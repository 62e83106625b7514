package testkit

import "math/rand/v2"

// Vocabulary of SyntheticArxivFeed, for realistic subscriptions: its title parts (adjectives, models, tasks,
// methods), some of its abstract words and its categories. Read-only.
var (
	benchAdjectives = []string{"scalable", "robust", "efficient", "interpretable", "sparse", "contrastive", "bayesian",
		"causal", "multimodal", "hierarchical", "federated", "differentiable", "spiking", "equivariant", "probabilistic"}
	benchModels = []string{`"diffusion models"`, `"foundation models"`, `"neural decoders"`, `"language models"`,
		`"spiking neural networks"`, `"state space models"`, `"graph neural networks"`, `"brain-computer interfaces"`,
		`"vision encoders"`, `"neural fields"`, "title:transformers", `"mixture-of-experts"`}
	benchTasks = []string{`"eeg decoding"`, `"motor imagery"`, `"protein structure prediction"`, `"sleep staging"`,
		`"speech recognition"`, `"calcium imaging"`, `"object detection"`, `"fmri encoding"`, `"time-series forecasting"`,
		`"code generation"`, `"seizure detection"`, `"neural population dynamics"`, `"retrieval-augmented generation"`,
		`"visual question answering"`, `"long-context reasoning"`}
	benchMethods = []string{`"masked pretraining"`, `"low-rank adaptation"`, `"optimal transport"`,
		`"knowledge distillation"`, `"attention pruning"`, `"predictive coding"`, `"curriculum learning"`,
		`"test-time scaling"`, `"synthetic data"`, `"spectral normalization"`, `"dendritic computation"`, "meta-learning"}
	benchAbstractWords = []string{"eeg", "meg", "fmri", "cortex", "hippocampal", "plasticity", "synaptic", "electrodes",
		"reinforcement", "retrieval", "diffusion", "transformer", "spiking", "uncertainty", "auditory", "imagery"}
	benchPrefixes   = []string{"neur*", "spik*", "transform*", "diffus*", "cortic*", "decod*", "brain*"}
	benchCategories = []string{"cs.LG", "cs.AI", "cs.CL", "cs.CV", "cs.NE", "stat.ML", "q-bio.NC", "eess.SP", "cs.RO"}
)

// BenchQuery draws one subscription query (filters syntax) over SyntheticArxivFeed's vocabulary, from a mix like
// the queries labs write: mostly specific (two topics ANDed, a topic within a category, a topic with an
// exclusion), some single terms (a title word, a phrase, a prefix). The feed's vocabulary is small, so a single
// term matches about 7% of a day's papers and dominates the fan-out; they are kept rare. The routing benchmarks of
// both stores draw their subscriptions from it, so the same r gives the same subscriptions.
func BenchQuery(r *rand.Rand) string {
	pick := func(l []string) string { return l[r.IntN(len(l))] }
	phrase := func() string {
		switch r.IntN(3) {
		case 0:
			return pick(benchModels)
		case 1:
			return pick(benchTasks)
		default:
			return pick(benchMethods)
		}
	}
	switch x := r.IntN(100); {
	case x < 3: // single word, title only (in abstracts these words are everywhere)
		return "title:" + pick(benchAdjectives)
	case x < 6: // single phrase
		return phrase()
	case x < 8: // prefix, within a category
		return "title:" + pick(benchPrefixes) + " cat:" + pick(benchCategories)
	case x < 48: // two topics
		return pick(benchModels) + " " + pick(benchTasks)
	case x < 60: // title word AND topic
		return "title:" + pick(benchAdjectives) + " " + phrase()
	case x < 75: // topic, abstract word and category
		return phrase() + " " + pick(benchAbstractWords) + " cat:" + pick(benchCategories)
	case x < 85: // alternatives within a topic
		return "(" + pick(benchTasks) + " OR " + pick(benchTasks) + ") " + pick(benchMethods)
	default: // negations
		return phrase() + " " + pick(benchAbstractWords) + " -" + pick(benchAbstractWords) + " -title:" + pick(benchAdjectives)
	}
}
