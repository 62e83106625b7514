package filters

// keyFilter is a bitset over the hashes of a dictionary's keys (one bit per key): a clear bit proves a word is no
// key, so the scan of a paper skips the dictionary for most words. It exists because a dictionary of 100k
// subscriptions' words is megabytes, and probing it for every word of every paper costs a cache miss each, which
// made matching three times slower at 100k subscriptions than at 100 for the same number of matches; the filter
// is a few hundred KB at most and stays in cache. A set bit may be a false positive (another key's bit, or a
// removed key's: bits are never cleared, only dropped by a rebuild), so the dictionary still decides.
type keyFilter struct {
	bits  []uint64
	shift uint8 // 64 - log2 of the number of bits: the bit index is the top bits of a multiplicative hash
	adds  int   // keys set since the last rebuild, removed ones included
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashStep extends the FNV-1a hash h by one byte, so that the hashes of all prefixes of a word come in one pass.
func hashStep(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

// hashKey is the FNV-1a hash of s.
func hashKey[S string | []byte](s S) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h = hashStep(h, s[i])
	}
	return h
}

// index returns the bit of hash h.
func (f *keyFilter) index(h uint64) uint64 { return (h * 0x9E3779B97F4A7C15) >> f.shift }

// has reports whether a key with hash h may be present; false is certain.
func (f *keyFilter) has(h uint64) bool {
	if f.bits == nil {
		return false
	}
	i := f.index(h)
	return f.bits[i>>6]&(1<<(i&63)) != 0
}

func (f *keyFilter) set(h uint64) {
	i := f.index(h)
	f.bits[i>>6] |= 1 << (i & 63)
}

// add records a key with hash h. It reports false when the filter is due for a rebuild instead: the caller then
// calls reset with its number of keys and sets every key, this one included.
func (f *keyFilter) add(h uint64) bool {
	f.adds++
	// Past one key per 8 bits false positives pass one word in 8: grow.
	if f.bits == nil || f.adds*8 > len(f.bits)*64 {
		return false
	}
	f.set(h)
	return true
}

// reset empties the filter and sizes it for n keys, with room for as many again before the next rebuild (16 to 32
// bits per key), so that rebuilding costs O(1) per added key.
func (f *keyFilter) reset(n int) {
	logBits := uint8(10)
	for 1<<logBits < 16*n {
		logBits++
	}
	f.bits = make([]uint64, (1<<logBits)/64)
	f.shift = 64 - logBits
	f.adds = n
}

// rebuild sizes the filter for keys and sets them.
func (f *keyFilter) rebuild(n int, keys func(set func(h uint64))) {
	f.reset(n)
	keys(f.set)
}
