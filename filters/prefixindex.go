package filters

// prefixIndex maps byte strings (prefix keys) to term ids and finds, for a given word, every stored key that is a
// prefix of it. A word's prefixes are hashed in one pass (FNV-1a extends byte by byte), a small filter of the
// keys' hashes rules out almost every length, and only the lengths it lets through are looked up. A byte trie
// did the same in a walk bounded by the longest key, but its nodes near the root fill up with many keys and the
// walk's linear label scans and scattered nodes made matching grow with the number of subscriptions.
type prefixIndex struct {
	vals   map[string][]int32
	filter keyFilter
	maxLen int // of the keys since the last rebuild (removed ones included): bounds the hashing
}

// empty reports whether the index holds no key.
func (x *prefixIndex) empty() bool { return len(x.vals) == 0 }

// add stores val under key.
func (x *prefixIndex) add(key string, val int32) {
	if x.vals == nil {
		x.vals = map[string][]int32{}
	}
	l, had := x.vals[key]
	x.vals[key] = append(l, val)
	if had {
		return
	}
	x.maxLen = max(x.maxLen, len(key))
	if !x.filter.add(hashKey(key)) {
		x.maxLen = 0
		x.filter.rebuild(len(x.vals), func(set func(h uint64)) {
			for k := range x.vals {
				set(hashKey(k))
				x.maxLen = max(x.maxLen, len(k))
			}
		})
	}
}

// remove deletes val from key; a key left without values is dropped (its filter bit stays until the next
// rebuild: a false positive, never a miss).
func (x *prefixIndex) remove(key string, val int32) {
	updateList(x.vals, key, val, false)
}

// walk calls fn with the values of every key that is a prefix of w, shortest first (the empty key is never
// stored).
func (x *prefixIndex) walk(w []byte, fn func(vals []int32)) {
	if len(x.vals) == 0 {
		return
	}
	h := uint64(fnvOffset)
	for i := range min(len(w), x.maxLen) {
		h = hashStep(h, w[i])
		if !x.filter.has(h) {
			continue
		}
		if vals := x.vals[string(w[:i+1])]; len(vals) > 0 {
			fn(vals)
		}
	}
}
