package filters

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestPrefixIndexAgreesWithScan adds and removes keys through several filter rebuilds and checks, after each
// round, that walk reports exactly the keys a plain scan finds to prefix each word, and that the word dictionary's
// filter never rejects a key: the filters may pass words that are no key, never drop one that is.
func TestPrefixIndexAgreesWithScan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	word := func() string {
		var b strings.Builder
		for range 1 + r.IntN(7) {
			b.WriteByte("abcdex"[r.IntN(6)])
		}
		return b.String()
	}
	var x prefixIndex
	var words keyFilter
	live := map[string][]int32{}
	for round := range 6 {
		for i := range 300 * (round + 1) {
			k, v := word(), int32(round*10000+i)
			x.add(k, v)
			live[k] = append(live[k], v)
			if len(live[k]) == 1 && !words.add(hashKey(k)) {
				words.rebuild(len(live), func(set func(h uint64)) {
					for k := range live {
						set(hashKey(k))
					}
				})
			}
		}
		for k, vs := range live {
			if r.IntN(3) == 0 {
				x.remove(k, vs[0])
				if live[k] = vs[1:]; len(live[k]) == 0 {
					delete(live, k)
				}
			}
		}
		for range 500 {
			w := word() + word()
			var got, want []string
			x.walk([]byte(w), func(vals []int32) { got = append(got, fmt.Sprint(vals)) })
			for n := 1; n <= len(w); n++ {
				if vs := live[w[:n]]; len(vs) > 0 {
					want = append(want, fmt.Sprint(vs))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: walk(%q) = %v, want %v", round, w, got, want)
			}
		}
		for k := range live {
			if !words.has(hashKey(k)) {
				t.Fatalf("round %d: the filter rejects the key %q", round, k)
			}
		}
	}
}
