package store

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/filters"
)

// worstQueries are the dearest queries the parser accepts over the benchmark corpus, one per way of spending
// the limits: the most frequent three-letter prefixes and words, as alternatives, as required terms, as phrases.
func worstQueries(b *testing.B) map[string]string {
	b.Helper()
	vocab := testkit.Vocabulary()
	// Prefixes: the three-letter starts shared by the most vocabulary words, the commonest words first in the
	// count (a frequent word makes its prefix's index entries long).
	weight := map[string]float64{}
	for rank, w := range vocab {
		if len([]rune(w)) >= filters.MinPrefixLen {
			weight[string([]rune(w)[:filters.MinPrefixLen])] += 1 / float64(rank+1)
		}
	}
	prefixes := make([]string, 0, len(weight))
	for p := range weight {
		prefixes = append(prefixes, p)
	}
	slices.SortFunc(prefixes, func(x, y string) int { return cmp.Or(cmp.Compare(weight[y], weight[x]), strings.Compare(x, y)) })
	prefixes = prefixes[:filters.MaxPrefixes]
	stars := make([]string, len(prefixes))
	for i, p := range prefixes {
		stars[i] = p + "*"
	}
	common := vocab[:filters.MaxTerms] // most frequent first
	words := common[:filters.MaxTerms-filters.MaxPrefixes]

	var groups []string
	for i := 0; i < len(stars); i += 2 {
		groups = append(groups, "("+stars[i]+" OR "+stars[i+1]+")")
	}
	wordGroups := filters.MaxGroups - len(groups)
	per := len(words) / wordGroups
	for i := range wordGroups {
		end := (i + 1) * per
		if i == wordGroups-1 {
			end = len(words)
		}
		groups = append(groups, "("+strings.Join(words[i*per:end], " OR ")+")")
	}
	var phrases []string
	for i := 0; i+5 <= len(common); i += 5 {
		phrases = append(phrases, `"`+strings.Join(common[i:i+5], " ")+`"`)
	}
	qs := map[string]string{
		"all-alternatives":   strings.Join(append(slices.Clone(stars), words...), " OR "),
		"groups-of-prefixes": strings.Join(groups, " "),
		"all-required":       strings.Join(append(slices.Clone(stars), words...), " "),
		"phrases-or":         strings.Join(phrases, " OR "),
		"negated-common":     common[0] + " -" + strings.Join(common[1:filters.MaxTerms], " -"),
	}
	for name, q := range qs {
		if _, err := filters.Parse(q); err != nil {
			b.Fatalf("%s: the parser refuses %q: %v", name, q, err)
		}
	}
	return qs
}

// lookupOutcome runs one /papers search of q through the command core and says how it ended: answered, refused
// as too slow (its budget ran out), or empty.
func lookupOutcome(ctx context.Context, b *testing.B, c *command.Commander, user, q string) string {
	r, err := c.Handle(ctx, bot.Request{Channel: channel.Ref{Platform: "bench", ID: "C"}, User: user, Text: "search " + q})
	if err != nil {
		if ctx.Err() != nil {
			return "stopped"
		}
		b.Fatalf("search %q: %v", q, err)
	}
	t := strings.Join(r.Text, "\n")
	switch {
	case strings.Contains(t, "took too long"):
		return "too-slow"
	case strings.Contains(t, "not valid"):
		b.Fatalf("search %q refused: %s", q, t)
	}
	return "answered"
}

// BenchmarkWorstLookup measures the dearest queries the parser accepts (worstQueries) on the full corpus, through
// the command core with the default look-up budget, as a user's /papers search runs: each answers, or is refused
// as too slow, within the budget plus the time to stop. Target: max-ms under 1000 at 1M papers.
func BenchmarkWorstLookup(b *testing.B) {
	s, err := Open(b.Context(), benchDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := &command.Commander{Store: s}
	qs := worstQueries(b)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range qs {
			if !yield(n) {
				return
			}
		}
	})
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			slow := 0
			for b.Loop() {
				start := time.Now()
				if lookupOutcome(b.Context(), b, c, "U", qs[name]) == "too-slow" {
					slow++
				}
				lat = append(lat, time.Since(start))
			}
			testkit.ReportLatency(b, lat)
			b.ReportMetric(float64(slices.Max(lat))/float64(time.Millisecond), "max-ms")
			b.ReportMetric(float64(slow)/float64(len(lat)), "too-slow/op")
		})
	}
}

// BenchmarkDeliveryUnderFlood measures a poll-and-delivery cycle (ingest a routed paper, then list the work,
// claim the channel, read its unsent rows and mark them sent) on a copy of the full corpus, without and then
// during a flood of look-ups: floodUsers users each searching the worst queries back to back. It reports both
// latencies and their ratio from the same run. Target: the flood adds under 1 s to a cycle (added-p99-ms).
//
// Look-ups have their own connection pool, so a cycle never waits for a connection behind them, but they share
// the process with the writer: modernc.org/libc's allocator has one process-wide mutex, and a look-up merging a
// prefix's index entries (which SQLite cannot interrupt) allocates and frees hard under it. This benchmark is
// where that shows.
func BenchmarkDeliveryUnderFlood(b *testing.B) {
	all := worstQueries(b)
	sets := map[string]func(q string) bool{
		"all-worst":        func(string) bool { return true },
		"without-prefixes": func(q string) bool { return !strings.Contains(q, "*") },
	}
	for _, name := range []string{"all-worst", "without-prefixes"} {
		b.Run(name, func(b *testing.B) {
			var qs []string
			for _, q := range all {
				if sets[name](q) {
					qs = append(qs, q)
				}
			}
			slices.Sort(qs)
			floodBench(b, qs)
		})
	}
}

// floodBench is BenchmarkDeliveryUnderFlood with the flood's queries qs.
func floodBench(b *testing.B, qs []string) {
	const (
		floodUsers = 16
		cycles     = 100
	)
	path := filepath.Join(b.TempDir(), "flood.db")
	if err := testkit.CopyFile(path, benchDB(b)); err != nil {
		b.Fatal(err)
	}
	s, err := Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := &command.Commander{Store: s}
	n := testkit.CorpusSize()
	g := testkit.NewCorpus(n)
	next := n + 1_000_000 // past anything BenchmarkIngest adds, and unlike the corpus' keys
	ch := channel.Ref{Platform: "bench", ID: "C-delivery"}
	route := func(*paper.Paper, time.Time) []channel.Route {
		return []channel.Route{{Channel: ch, Matched: []string{"x"}}}
	}
	cycle := func(ctx context.Context) time.Duration {
		p := g.Paper(next)
		next++
		at := p.Published
		start := time.Now()
		if _, err := s.IngestAndRoute(ctx, "bench", []paper.Paper{p}, nil, at, route); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Work(ctx); err != nil {
			b.Fatal(err)
		}
		if ok, err := s.Claim(ctx, ch, "bench", at, time.Minute); err != nil || !ok {
			b.Fatalf("claim: %v, %v", ok, err)
		}
		items, err := s.Unsent(ctx, ch, channel.KindMatch, []string{channel.StatePending}, 10)
		if err != nil || len(items) != 1 {
			b.Fatalf("unsent: %d items, %v", len(items), err)
		}
		if err := s.MarkSent(ctx, []int64{items[0].ID}, fmt.Sprint(next), at); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var base, flood []time.Duration
	var answered, tooSlow atomic.Int64
	for range 5 { // warm the caches: the first writes to a copied file are not what a running bot sees
		cycle(b.Context())
	}
	for b.Loop() {
		for range cycles {
			base = append(base, cycle(b.Context()))
			time.Sleep(20 * time.Millisecond) // spaced as during the flood
		}
		ctx, cancel := context.WithCancel(b.Context())
		var wg sync.WaitGroup
		var started sync.WaitGroup
		started.Add(floodUsers)
		for u := range floodUsers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				started.Done()
				for i := u; ctx.Err() == nil; i++ {
					switch lookupOutcome(ctx, b, c, fmt.Sprint("U", u), qs[i%len(qs)]) {
					case "answered":
						answered.Add(1)
					case "too-slow":
						tooSlow.Add(1)
					}
				}
			}()
		}
		started.Wait()
		time.Sleep(100 * time.Millisecond) // let the look-ups take their pool and queue behind it
		for range cycles {
			flood = append(flood, cycle(b.Context()))
			time.Sleep(20 * time.Millisecond) // a delivery every so often, as the sender does, not back to back
		}
		cancel()
		wg.Wait()
	}
	p99 := func(lat []time.Duration) float64 {
		s := slices.Sorted(slices.Values(lat))
		return float64(s[min(len(s)-1, len(s)*99/100)]) / float64(time.Millisecond)
	}
	p50 := func(lat []time.Duration) float64 {
		s := slices.Sorted(slices.Values(lat))
		return float64(s[len(s)/2]) / float64(time.Millisecond)
	}
	b.ReportMetric(p50(base), "base-p50-ms")
	b.ReportMetric(p99(base), "base-p99-ms")
	b.ReportMetric(p50(flood), "flood-p50-ms")
	b.ReportMetric(p99(flood), "flood-p99-ms")
	b.ReportMetric(p99(flood)/p99(base), "p99-ratio")
	b.ReportMetric(p99(flood)-p99(base), "added-p99-ms")
	b.ReportMetric(float64(answered.Load()), "lookups-answered")
	b.ReportMetric(float64(tooSlow.Load()), "lookups-too-slow")
}
