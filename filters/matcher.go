package filters

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Matcher evaluates many subscriptions against each paper at once.
//
// Design. Matching is whole-word over a tokenized paper, so the "automaton" of DESIGN.md section 3 is a hash map
// from every folded word form a subscription can accept (the word, its plurals, its possible singular) to the
// distinct terms that start with it: one lookup per paper token does what an Aho-Corasick pass would, without a
// rebuild when a subscription is added. Word prefixes (neuro*) and category and source prefixes (cs.*) live in
// prefix indexes probed once per token (prefixindex.go). Both kinds of dictionary sit behind a small bitset of
// their keys' hashes (keyfilter.go), so that the many paper words no subscription names cost a probe of a few
// hundred KB that stays in cache rather than a miss into a dictionary of megabytes: without it, matching the same
// number of hits cost three times as much at 100k subscriptions as at 100. Identical terms of different
// subscriptions are stored once.
//
// Each subscription is compiled to a small flat boolean program over term ids. Subscriptions whose programs are
// identical (the same canonical query followed by many channels, which is the common case for popular topics)
// share one program that lists their ids, so it is evaluated and explained once per paper however many channels
// follow it. A program is indexed under a set of anchor terms such that it cannot match unless one of them hits: a leaf anchors itself, an OR needs all its
// branches' anchors, an AND needs only the cheapest branch's (the term used by the fewest subscriptions, phrases
// before words before prefixes before categories), and a negation anchors nothing. Every valid query has anchors,
// because Parse rejects queries that require nothing. Per paper, the text is tokenized once, each token is looked
// up once, and only programs with an anchor hit run. Add and Remove touch only the subscription's own terms and
// program.
//
// Concurrency: Match may be called from many goroutines at once. Add and Remove may also run concurrently with
// Match; they take a write lock, so a Match sees each subscription either entirely or not at all.
type Matcher struct {
	mu sync.RWMutex

	terms     []cterm
	phrase    []bool // by term id: a phrase, whose later words scanText must check (kept apart from the large terms)
	freeTerms []int32
	termByKey map[string]int32

	words       map[string][]int32 // word form -> word terms whose first word accepts it
	wordFilter  keyFilter          // over words' keys: most of a paper's words are in no subscription
	wordPrefix  prefixIndex
	catExact    map[string][]int32
	catPrefix   prefixIndex
	srcExact    map[string][]int32
	srcPrefix   prefixIndex
	upvoteTerms []int32

	progs     []cprog
	freeProgs []int32
	progByKey map[string]int32 // program bytes -> its slot in progs
	slotByID  map[int64]int32  // subscription id -> its program's slot
	scratches sync.Pool
}

// Result is one subscription that matched a paper. Results of subscriptions with identical queries share one
// Explanation.Hits array (clipped, so appending to it copies); treat it as read-only.
type Result struct {
	ID          int64
	Explanation Explanation
}

// cterm is one distinct leaf across all subscriptions.
type cterm struct {
	kind    kind
	field   field // fCat or fSource for kExact; unused otherwise
	words   []string
	value   string
	prefix  bool
	op      cmpOp
	n       int
	key     string
	display string
	refs    int32  // leaf occurrences in live subscriptions; 0 means the id is free
	posting []post // programs anchored on this term
}

// instr is one node of a compiled subscription, in prefix order; size is the node's length in instrs, so that a
// short-circuit can skip a whole subtree.
type instr struct {
	op     kind
	fields uint8 // for leaves: the bits of the term's hit mask that satisfy it
	nkids  uint16
	size   uint16
	term   int32
}

// post is one program anchored on a term. need, unless -1, is another term the program cannot hold without (a
// leaf directly under its top-level AND), with the fields that satisfy it: checking it in the small, hot hit mask
// rejects most candidates of a popular anchor before their program, elsewhere in memory, is read.
type post struct {
	slot       int32
	need       int32
	needFields uint8
}

// cprog is one distinct compiled program and the subscriptions that share it.
type cprog struct {
	key     string // the program's bytes, its key in progByKey
	prog    []instr
	anchors []int32
	ids     []int64 // never empty while the slot is in use
}

// scratch is the per-Match working memory, pooled so that a paper that matches nothing costs no allocation.
type scratch struct {
	tok     tokenizer
	exact   []byte
	mask    []uint8 // by term id: where the term hit (bit* values)
	touched []int32
	seen    []bool // by program slot
	cands   []int32
	expl    Explanation // MatchFunc's reused explanation
}

// NewMatcher returns an empty Matcher.
func NewMatcher() *Matcher {
	return &Matcher{
		termByKey: map[string]int32{},
		words:     map[string][]int32{},
		catExact:  map[string][]int32{},
		srcExact:  map[string][]int32{},
		progByKey: map[string]int32{},
		slotByID:  map[int64]int32{},
	}
}

// Len returns the number of subscriptions.
func (m *Matcher) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.slotByID)
}

// Add compiles q and stores it under id, replacing any subscription with the same id. q must come from Parse; the
// Matcher keeps no reference to it.
func (m *Matcher) Add(id int64, q *Query) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remove(id)
	// Compiling interns the terms, taking one reference per leaf even when the program turns out to exist
	// already: remove releases them per subscription, so the counts stay balanced and keep measuring popularity.
	var prog []instr
	m.compile(q.root, &prog)
	key := progKey(prog)
	if slot, ok := m.progByKey[key]; ok {
		m.progs[slot].ids = append(m.progs[slot].ids, id)
		m.slotByID[id] = slot
		return
	}
	anchors := m.anchors(prog, 0)
	slices.Sort(anchors)
	anchors = slices.Compact(anchors)
	var slot int32
	if k := len(m.freeProgs); k > 0 {
		slot = m.freeProgs[k-1]
		m.freeProgs = m.freeProgs[:k-1]
	} else {
		slot = int32(len(m.progs))
		m.progs = append(m.progs, cprog{})
	}
	m.progs[slot] = cprog{key: key, prog: slices.Clip(prog), anchors: slices.Clip(anchors), ids: []int64{id}}
	m.progByKey[key] = slot
	m.slotByID[id] = slot
	for _, t := range anchors {
		m.terms[t].posting = append(m.terms[t].posting, m.post(prog, slot, t))
	}
}

// post returns the posting of the program prog, stored at slot, under its anchor term anchor: need is the rarest
// leaf of the top-level AND other than the anchor.
func (m *Matcher) post(prog []instr, slot, anchor int32) post {
	pe := post{slot: slot, need: -1}
	if prog[0].op != kAnd {
		return pe
	}
	best := 0
	for c, k := 1, 0; k < int(prog[0].nkids); k++ {
		in := prog[c]
		if in.op >= kWord && in.term != anchor {
			if cost := m.termCost(in.term); pe.need < 0 || cost < best {
				pe.need, pe.needFields, best = in.term, in.fields, cost
			}
		}
		c += int(in.size)
	}
	return pe
}

// progKey serializes a program. Term ids are interned, so two subscriptions get the same key exactly when their
// programs are the same, which is what sharing one evaluation needs (equal canonical queries always do).
func progKey(prog []instr) string {
	b := make([]byte, 0, len(prog)*10)
	for _, in := range prog {
		b = append(b, byte(in.op), in.fields, byte(in.nkids), byte(in.nkids>>8), byte(in.size), byte(in.size>>8),
			byte(in.term), byte(in.term>>8), byte(in.term>>16), byte(in.term>>24))
	}
	return string(b)
}

// Remove deletes the subscription with this id, if any.
func (m *Matcher) Remove(id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remove(id)
}

func (m *Matcher) remove(id int64) {
	slot, ok := m.slotByID[id]
	if !ok {
		return
	}
	delete(m.slotByID, id)
	c := &m.progs[slot]
	i := slices.Index(c.ids, id)
	c.ids[i] = c.ids[len(c.ids)-1]
	c.ids = c.ids[:len(c.ids)-1]
	last := len(c.ids) == 0
	// Unpost before releasing: releasing a term's last reference wipes the term, posting list included.
	if last {
		for _, t := range c.anchors {
			p := m.terms[t].posting
			i := slices.IndexFunc(p, func(pe post) bool { return pe.slot == slot })
			p[i] = p[len(p)-1]
			m.terms[t].posting = p[:len(p)-1]
		}
	}
	for _, in := range c.prog {
		if in.op >= kWord {
			m.release(in.term)
		}
	}
	if last {
		delete(m.progByKey, c.key)
		*c = cprog{}
		m.freeProgs = append(m.freeProgs, slot)
	}
}

// compile appends the program of n to prog.
func (m *Matcher) compile(n *node, prog *[]instr) {
	at := len(*prog)
	*prog = append(*prog, instr{op: n.kind, nkids: uint16(len(n.kids))})
	switch n.kind {
	case kAnd, kOr, kNot:
		for _, k := range n.kids {
			m.compile(k, prog)
		}
	default:
		(*prog)[at].term = m.intern(n)
		(*prog)[at].fields = n.field.mask()
	}
	(*prog)[at].size = uint16(len(*prog) - at)
}

// termKey identifies a leaf independently of its field for word leaves: the hit mask records where it occurred.
func termKey(n *node) string {
	switch n.kind {
	case kWord:
		k := "w" + strings.Join(n.words, "\x00")
		if n.prefix {
			k += "*"
		}
		return k
	case kExact:
		k := "e" + strconv.Itoa(int(n.field)) + n.value
		if n.prefix {
			k += "*"
		}
		return k
	}
	return "u" + strconv.Itoa(int(n.op)) + ":" + strconv.Itoa(n.n)
}

// intern returns the id of the leaf's term, creating and indexing it on first use.
func (m *Matcher) intern(n *node) int32 {
	key := termKey(n)
	if id, ok := m.termByKey[key]; ok {
		m.terms[id].refs++
		return id
	}
	var id int32
	if k := len(m.freeTerms); k > 0 {
		id = m.freeTerms[k-1]
		m.freeTerms = m.freeTerms[:k-1]
	} else {
		id = int32(len(m.terms))
		m.terms = append(m.terms, cterm{})
		m.phrase = append(m.phrase, false)
	}
	t := cterm{kind: n.kind, words: n.words, value: n.value, prefix: n.prefix, op: n.op, n: n.n, key: key,
		display: leafTerm(n), refs: 1}
	if n.kind == kExact {
		t.field = n.field
	}
	m.terms[id] = t
	m.phrase[id] = len(t.words) > 1
	m.termByKey[key] = id
	m.index(&m.terms[id], id, true)
	return id
}

// release drops one reference to a term, unindexing it when it was the last.
func (m *Matcher) release(id int32) {
	t := &m.terms[id]
	if t.refs--; t.refs > 0 {
		return
	}
	m.index(t, id, false)
	delete(m.termByKey, t.key)
	*t = cterm{}
	m.freeTerms = append(m.freeTerms, id)
}

// index adds (or removes) a term to (from) the dictionaries that detect it.
func (m *Matcher) index(t *cterm, id int32, add bool) {
	switch t.kind {
	case kWord:
		if t.prefix {
			if add {
				m.wordPrefix.add(t.words[0], id)
			} else {
				m.wordPrefix.remove(t.words[0], id)
			}
			return
		}
		for _, f := range wordForms(t.words[0]) {
			if !add {
				updateList(m.words, f, id, false)
				continue
			}
			l, had := m.words[f]
			m.words[f] = append(l, id)
			if !had && !m.wordFilter.add(hashKey(f)) {
				m.wordFilter.rebuild(len(m.words), func(set func(h uint64)) {
					for k := range m.words {
						set(hashKey(k))
					}
				})
			}
		}
	case kExact:
		exact, pre := m.catExact, &m.catPrefix
		if t.field == fSource {
			exact, pre = m.srcExact, &m.srcPrefix
		}
		switch {
		case !t.prefix:
			updateList(exact, t.value, id, add)
		case add:
			pre.add(t.value, id)
		default:
			pre.remove(t.value, id)
		}
	case kUpvotes:
		if add {
			m.upvoteTerms = append(m.upvoteTerms, id)
		} else {
			i := slices.Index(m.upvoteTerms, id)
			m.upvoteTerms = slices.Delete(m.upvoteTerms, i, i+1)
		}
	}
}

// updateList adds id to, or removes it from, the list under key.
func updateList(mp map[string][]int32, key string, id int32, add bool) {
	l := mp[key]
	if add {
		mp[key] = append(l, id)
		return
	}
	if i := slices.Index(l, id); i >= 0 {
		l = slices.Delete(l, i, i+1)
	}
	if len(l) == 0 {
		delete(mp, key)
	} else {
		mp[key] = l
	}
}

// termCost estimates how often a term hits, to pick the rarest anchor of an AND: terms shared by many
// subscriptions are popular topics, phrases are rarer than words, and categories and upvotes hit very often.
func (m *Matcher) termCost(id int32) int {
	t := &m.terms[id]
	w := 2
	switch {
	case t.kind == kWord && len(t.words) > 1:
		w = 1
	case t.kind == kWord && t.prefix:
		w = 4
	case t.kind == kExact:
		w = 64
	case t.kind == kUpvotes:
		w = 256
	}
	return (int(t.refs) + 1) * w
}

// anchors returns a set of terms one of which must hit for prog[pc:] to hold, or nil if there is none.
func (m *Matcher) anchors(prog []instr, pc int) []int32 {
	in := prog[pc]
	switch in.op {
	case kNot:
		return nil
	case kOr:
		var out []int32
		c := pc + 1
		for range in.nkids {
			a := m.anchors(prog, c)
			if a == nil {
				return nil
			}
			out = append(out, a...)
			c += int(prog[c].size)
		}
		return out
	case kAnd:
		var best []int32
		bestCost := 0
		c := pc + 1
		for range in.nkids {
			if a := m.anchors(prog, c); a != nil {
				cost := 0
				for _, t := range a {
					cost += m.termCost(t)
				}
				if best == nil || cost < bestCost {
					best, bestCost = a, cost
				}
			}
			c += int(prog[c].size)
		}
		return best
	}
	return []int32{in.term}
}

// getScratch returns working memory sized for the current terms and subscriptions.
func (m *Matcher) getScratch() *scratch {
	s, _ := m.scratches.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	if n := len(m.terms); len(s.mask) < n {
		s.mask = make([]uint8, n+n/4)
	}
	if n := len(m.progs); len(s.seen) < n {
		s.seen = make([]bool, n+n/4)
	}
	return s
}

// bstr views b as a string without copying; the string must not outlive b's current contents.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Match returns the subscriptions that match p, sorted by id, each with its explanation; nil if none.
// It allocates the result and one Hits array per distinct matching query; MatchFunc allocates nothing.
func (m *Matcher) Match(p *paper.Paper) []Result {
	var out []Result
	m.match(p, func(c *cprog, s *scratch) {
		var e Explanation
		m.explainProg(c.prog, 0, s.mask, &e)
		e.Hits = slices.Clip(e.Hits)
		for _, id := range c.ids {
			out = append(out, Result{ID: id, Explanation: e})
		}
	})
	slices.SortFunc(out, func(a, b Result) int {
		return cmpInt64(a.ID, b.ID)
	})
	return out
}

// MatchFunc calls fn once for each subscription that matches p, in no particular order, with its explanation. It
// is the delivery engine's entry point: it allocates nothing per match, and a query followed by many channels is
// evaluated and explained once, then fanned out to its ids. *e is reused and is valid only during the call (copy
// e.Hits to keep it); consecutive calls for subscriptions with identical queries see the same *e. fn runs under
// the Matcher's read lock, so it must not call Add or Remove.
func (m *Matcher) MatchFunc(p *paper.Paper, fn func(id int64, e *Explanation)) {
	m.match(p, func(c *cprog, s *scratch) {
		s.expl.Hits = s.expl.Hits[:0]
		m.explainProg(c.prog, 0, s.mask, &s.expl)
		for _, id := range c.ids {
			fn(id, &s.expl)
		}
	})
}

// match scans p once and calls hit with each program that holds; the scratch holds the term hit masks that
// explainProg needs.
func (m *Matcher) match(p *paper.Paper, hit func(c *cprog, s *scratch)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.slotByID) == 0 {
		return
	}
	s := m.getScratch()
	// Clean up in a defer: if hit panics (MatchFunc runs the caller's code), the pooled scratch must still come
	// back with all-zero masks and marks, or later matches would see this paper's hits.
	defer func() {
		for _, slot := range s.cands {
			s.seen[slot] = false
		}
		for _, id := range s.touched {
			s.mask[id] = 0
		}
		s.touched = s.touched[:0]
		s.cands = s.cands[:0]
		m.scratches.Put(s)
	}()

	m.scanText(s, p)
	m.scanExact(s, p.Categories, m.catExact, &m.catPrefix)
	m.scanExact(s, p.Sources, m.srcExact, &m.srcPrefix)
	if p.HasHF {
		for _, id := range m.upvoteTerms {
			if t := &m.terms[id]; compare(p.Upvotes, t.op, t.n) {
				s.mark(id, bitOther)
			}
		}
	}

	for _, id := range s.touched {
		for _, pe := range m.terms[id].posting {
			if pe.need >= 0 && s.mask[pe.need]&pe.needFields == 0 {
				continue
			}
			if slot := pe.slot; !s.seen[slot] {
				s.seen[slot] = true
				s.cands = append(s.cands, slot)
			}
		}
	}
	for _, slot := range s.cands {
		if c := &m.progs[slot]; evalProg(c.prog, 0, s.mask) {
			hit(c, s)
		}
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mark records that term id hit in the field bit.
func (s *scratch) mark(id int32, bit uint8) {
	if s.mask[id] == 0 {
		s.touched = append(s.touched, id)
	}
	s.mask[id] |= bit
}

// scanText tokenizes title, abstract and authors once and looks each token up once.
func (m *Matcher) scanText(s *scratch, p *paper.Paper) {
	t := &s.tok
	t.reset()
	t.add(p.Title, 0)
	nTitle := len(t.toks)
	t.add(p.Abstract, 0)
	nAbs := len(t.toks)
	for i, a := range p.Authors {
		t.add(a, int32(i))
	}
	hasPrefix := !m.wordPrefix.empty()
	for i, sp := range t.toks {
		bit, hi := bitTitle, nTitle
		switch {
		case i >= nAbs:
			bit, hi = bitAuthor, len(t.toks)
		case i >= nTitle:
			bit, hi = bitAbstract, nAbs
		}
		w := t.word(sp)
		if m.wordFilter.has(hashKey(w)) {
			for _, id := range m.words[string(w)] {
				if s.mask[id]&bit != 0 {
					continue
				}
				if !m.phrase[id] || phraseAt(t, i, hi, m.terms[id].words) {
					s.mark(id, bit)
				}
			}
		}
		if hasPrefix {
			m.wordPrefix.walk(w, func(ids []int32) {
				for _, id := range ids {
					s.mark(id, bit)
				}
			})
		}
	}
}

// phraseAt reports whether the phrase ws, whose first word is known to match token i, continues in the tokens
// i+1.. of the same field (before hi) and the same author.
func phraseAt(t *tokenizer, i, hi int, ws []string) bool {
	if i+len(ws) > hi {
		return false
	}
	g := t.toks[i].group
	for j := 1; j < len(ws); j++ {
		sp := t.toks[i+j]
		if sp.group != g || !wordEq(ws[j], bstr(t.word(sp))) {
			return false
		}
	}
	return true
}

// scanExact looks up each category or source value, folded without allocating in the common ASCII case.
func (m *Matcher) scanExact(s *scratch, vals []string, exact map[string][]int32, pre *prefixIndex) {
	if len(exact) == 0 && pre.empty() {
		return
	}
	for _, v := range vals {
		if isASCII(v) && !strings.ContainsAny(v, " \t\n\r\v\f") {
			s.exact = s.exact[:0]
			for i := 0; i < len(v); i++ {
				c := v[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				s.exact = append(s.exact, c)
			}
		} else {
			s.exact = append(s.exact[:0], foldExact(v)...)
		}
		for _, id := range exact[string(s.exact)] {
			s.mark(id, bitOther)
		}
		pre.walk(s.exact, func(ids []int32) {
			for _, id := range ids {
				s.mark(id, bitOther)
			}
		})
	}
}

// evalProg evaluates the node at prog[pc] given the term hit masks.
func evalProg(prog []instr, pc int, mask []uint8) bool {
	in := &prog[pc]
	switch in.op {
	case kAnd:
		c := pc + 1
		for range in.nkids {
			if !evalProg(prog, c, mask) {
				return false
			}
			c += int(prog[c].size)
		}
		return true
	case kOr:
		c := pc + 1
		for range in.nkids {
			if evalProg(prog, c, mask) {
				return true
			}
			c += int(prog[c].size)
		}
		return false
	case kNot:
		return !evalProg(prog, pc+1, mask)
	}
	return mask[in.term]&in.fields != 0
}

// explainProg mirrors explain: the hits of a node known to be true.
func (m *Matcher) explainProg(prog []instr, pc int, mask []uint8, e *Explanation) {
	in := &prog[pc]
	switch in.op {
	case kAnd, kOr:
		c := pc + 1
		for range in.nkids {
			if in.op == kAnd || evalProg(prog, c, mask) {
				m.explainProg(prog, c, mask, e)
			}
			c += int(prog[c].size)
		}
	case kNot:
	default:
		t := &m.terms[in.term]
		var f string
		switch hit := mask[in.term] & in.fields; {
		case t.kind == kUpvotes:
			f = "upvotes"
		case t.kind == kExact:
			f = fieldNames[t.field]
		case hit&bitTitle != 0:
			f = "title"
		case hit&bitAbstract != 0:
			f = "abstract"
		default:
			f = "author"
		}
		e.addHit(Hit{Term: t.display, Field: f})
	}
}
