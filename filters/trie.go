package filters

import "slices"

// trie maps byte strings to term ids and finds, for a given word, every stored key that is a prefix of it, in one
// walk whose length is bounded by the longest key, not by the number of keys.
type trie struct {
	nodes []trieNode
	free  []int32
}

// trieNode is one trie node. Children are few per node, so a linear scan over labels beats a map.
type trieNode struct {
	labels []byte
	kids   []int32
	vals   []int32
}

// empty reports whether the trie holds no key.
func (t *trie) empty() bool {
	return len(t.nodes) == 0 || len(t.nodes[0].kids) == 0 && len(t.nodes[0].vals) == 0
}

// child returns the child of node n with the given label, or -1.
func (t *trie) child(n int32, b byte) int32 {
	nd := &t.nodes[n]
	for i, l := range nd.labels {
		if l == b {
			return nd.kids[i]
		}
	}
	return -1
}

// add stores val under key.
func (t *trie) add(key string, val int32) {
	if len(t.nodes) == 0 {
		t.nodes = append(t.nodes, trieNode{})
	}
	n := int32(0)
	for i := 0; i < len(key); i++ {
		c := t.child(n, key[i])
		if c < 0 {
			if k := len(t.free); k > 0 {
				c = t.free[k-1]
				t.free = t.free[:k-1]
			} else {
				c = int32(len(t.nodes))
				t.nodes = append(t.nodes, trieNode{})
			}
			t.nodes[n].labels = append(t.nodes[n].labels, key[i])
			t.nodes[n].kids = append(t.nodes[n].kids, c)
		}
		n = c
	}
	t.nodes[n].vals = append(t.nodes[n].vals, val)
}

// remove deletes val from key and prunes the nodes left empty, so that churn does not grow the trie.
func (t *trie) remove(key string, val int32) {
	if len(t.nodes) == 0 {
		return
	}
	path := make([]int32, 1, len(key)+1)
	n := int32(0)
	for i := 0; i < len(key); i++ {
		if n = t.child(n, key[i]); n < 0 {
			return
		}
		path = append(path, n)
	}
	nd := &t.nodes[n]
	if i := slices.Index(nd.vals, val); i >= 0 {
		nd.vals = slices.Delete(nd.vals, i, i+1)
	}
	for d := len(path) - 1; d > 0; d-- {
		nd := &t.nodes[path[d]]
		if len(nd.vals) > 0 || len(nd.kids) > 0 {
			return
		}
		*nd = trieNode{}
		t.free = append(t.free, path[d])
		parent := &t.nodes[path[d-1]]
		i := slices.Index(parent.kids, path[d])
		parent.kids = slices.Delete(parent.kids, i, i+1)
		parent.labels = slices.Delete(parent.labels, i, i+1)
	}
}

// walk calls fn with the values of every key that is a prefix of w (the empty key is never stored).
func (t *trie) walk(w []byte, fn func(vals []int32)) {
	if len(t.nodes) == 0 {
		return
	}
	n := int32(0)
	for _, b := range w {
		if n = t.child(n, b); n < 0 {
			return
		}
		if vals := t.nodes[n].vals; len(vals) > 0 {
			fn(vals)
		}
	}
}
