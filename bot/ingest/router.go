package ingest

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

// SubscriptionStore is what the router reads its subscriptions from.
type SubscriptionStore interface {
	// SubscriptionsVersion changes whenever any subscription is added or removed, by this process or another.
	SubscriptionsVersion(ctx context.Context) (int64, error)
	AllSubscriptions(ctx context.Context) ([]channel.Subscription, error)
	Subscriptions(ctx context.Context, ch channel.Ref) ([]channel.Subscription, error)
}

// Router decides which channels get a paper: it compiles every stored subscription into one shared matcher and
// keeps it current. It is safe for concurrent use; Route never waits for the store.
type Router struct {
	store  SubscriptionStore
	logger *slog.Logger

	// reloadMu makes a reload's read of the store and its swap into the matcher one step, so that two
	// concurrent reloads cannot install an older view over a newer one. It is held across store reads, but
	// Route never takes it.
	reloadMu sync.Mutex
	version  int64 // of the subscriptions last compiled; guarded by reloadMu

	// mu guards the compiled view below; it is held only in memory, never across I/O.
	mu sync.RWMutex
	// matcher knows each subscription by its slot in slots (not by its store id), so that Route reaches a hit's
	// channel by indexing, not through a map.
	matcher *filters.Matcher
	slots   []subMeta
	// order lists the live slots in the order Route returns routes in: by channel rank, then store id. A slot's
	// pos is its index here.
	order     []int32
	byChannel map[channel.Ref][]int32
	chans     channelIndex
	// scratch holds Route's per-call bitsets (one bit per position in order), reused across calls.
	scratch sync.Pool
}

type subMeta struct {
	id      int64 // the subscription's store id
	ch      int32 // the channel's number in chans
	pos     int32 // the slot's index in order
	live    bool  // false once a reload removed it
	addedAt time.Time
}

// reorder recomputes order and every live slot's pos after slots or channel ranks changed: sorting once per
// reload is what lets Route walk a bitset in route order instead of sorting every paper's hits.
func reorder(slots []subMeta, chans *channelIndex) []int32 {
	chans.rerank()
	order := make([]int32, 0, len(slots))
	for i := range slots {
		if slots[i].live {
			order = append(order, int32(i))
		}
	}
	slices.SortFunc(order, func(a, b int32) int {
		return cmp.Or(cmp.Compare(chans.rank[slots[a].ch], chans.rank[slots[b].ch]), cmp.Compare(slots[a].id, slots[b].id))
	})
	for pos, slot := range order {
		slots[slot].pos = int32(pos)
	}
	return order
}

// routeScratch is one Route call's working memory: which positions of order matched, and where each one's terms
// lie in terms.
type routeScratch struct {
	bits     []uint64
	from, to []int32
	terms    []string
}

func (sc *routeScratch) fit(n int) {
	if len(sc.from) < n {
		sc.bits = make([]uint64, (n+63)/64)
		sc.from, sc.to = make([]int32, n), make([]int32, n)
	}
}

// channelIndex numbers the channels that have subscriptions, so that Route groups a paper's matches by channel
// with integer keys (a map or a scan over the routes made so far grows with the channels per paper).
type channelIndex struct {
	refs []channel.Ref
	num  map[channel.Ref]int32
	// rank[n] is refs[n]'s position in (platform, id) order, the order Route returns routes in.
	rank []int32
}

// number returns ch's number, adding it (and re-ranking) if new.
func (c *channelIndex) number(ch channel.Ref) int32 {
	if n, ok := c.num[ch]; ok {
		return n
	}
	if c.num == nil {
		c.num = map[channel.Ref]int32{}
	}
	n := int32(len(c.refs))
	c.refs = append(c.refs, ch)
	c.num[ch] = n
	c.rank = nil // stale: rerank before use
	return n
}

// rerank recomputes the ranks after channels were added.
func (c *channelIndex) rerank() {
	if len(c.rank) == len(c.refs) {
		return
	}
	order := make([]int32, len(c.refs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		return cmp.Or(cmp.Compare(c.refs[a].Platform, c.refs[b].Platform), cmp.Compare(c.refs[a].ID, c.refs[b].ID))
	})
	c.rank = make([]int32, len(c.refs))
	for pos, n := range order {
		c.rank[n] = int32(pos)
	}
}

// NewRouter returns a router over the subscriptions of st, with none compiled yet: call Load before routing.
func NewRouter(st SubscriptionStore, logger *slog.Logger) *Router {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Router{store: st, logger: logger, matcher: filters.NewMatcher(), byChannel: map[channel.Ref][]int32{}, version: -1}
}

// Load compiles every stored subscription into a new matcher, replacing what the router held.
func (r *Router) Load(ctx context.Context) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	return r.loadLocked(ctx)
}

func (r *Router) loadLocked(ctx context.Context) error {
	// The version is read before the subscriptions: a change made in between is compiled now and seen again by
	// the next Refresh, which costs one recompile but can never miss it.
	ver, err := r.store.SubscriptionsVersion(ctx)
	if err != nil {
		return err
	}
	subs, err := r.store.AllSubscriptions(ctx)
	if err != nil {
		return err
	}
	m := filters.NewMatcher()
	slots := make([]subMeta, 0, len(subs))
	byCh := map[channel.Ref][]int32{}
	var chans channelIndex
	for _, s := range subs {
		q, err := filters.ParseStored(s.Query)
		if err != nil {
			// Stored queries were valid when stored; a grammar change must not stop the bot, but must be seen.
			r.logger.Error("stored subscription no longer parses; skipped", "channel", s.Channel.String(), "query", s.Query, "err", err)
			continue
		}
		slot := int32(len(slots))
		m.Add(int64(slot), q)
		slots = append(slots, subMeta{id: s.ID, ch: chans.number(s.Channel), live: true, addedAt: s.AddedAt})
		byCh[s.Channel] = append(byCh[s.Channel], slot)
	}
	order := reorder(slots, &chans)
	r.mu.Lock()
	r.matcher, r.slots, r.order, r.byChannel, r.chans = m, slots, order, byCh, chans
	r.mu.Unlock()
	r.version = ver
	return nil
}

// Refresh recompiles the matcher when the stored subscriptions changed behind the router's back: a `paperboy cmd`
// run in another process, another instance, or a command whose reload failed. One cheap query when nothing did.
func (r *Router) Refresh(ctx context.Context) error {
	ver, err := r.store.SubscriptionsVersion(ctx)
	if err != nil {
		return err
	}
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	if ver == r.version {
		return nil
	}
	r.logger.Info("subscriptions changed; recompiling")
	return r.loadLocked(ctx)
}

// ReloadChannel recompiles one channel's subscriptions after a command changed them; the others are untouched.
func (r *Router) ReloadChannel(ctx context.Context, ch channel.Ref) error {
	// The compiled version is left alone: the next Refresh sees the store's version changed and recompiles
	// everything once, which also picks up changes made elsewhere in the meantime.
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	subs, err := r.store.Subscriptions(ctx, ch)
	if err != nil {
		return fmt.Errorf("reload subscriptions of %s: %w", ch, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Removed slots stay dead until the next full load renumbers them; new subscriptions take new slots.
	for _, slot := range r.byChannel[ch] {
		r.matcher.Remove(int64(slot))
		r.slots[slot].live = false
	}
	added := make([]int32, 0, len(subs))
	for _, s := range subs {
		q, err := filters.ParseStored(s.Query)
		if err != nil {
			continue
		}
		slot := int32(len(r.slots))
		r.matcher.Add(int64(slot), q)
		r.slots = append(r.slots, subMeta{id: s.ID, ch: r.chans.number(s.Channel), live: true, addedAt: s.AddedAt})
		added = append(added, slot)
	}
	r.order = reorder(r.slots, &r.chans)
	r.byChannel[ch] = added
	return nil
}

// Route is a channel.Router: the channels whose subscriptions match p, one route per channel with the union of
// the matched terms (in the order the channel subscribed to them), counting only subscriptions that existed when
// the paper was first stored. Routes come in channel order (platform, then id), so that a store writing a poll's
// routes channel by channel finds them in its key order. Its cost is linear in the matched subscriptions plus one
// bit per subscription, whatever the number of channels: the hits are marked in a bitset laid out in route order
// and read back in that order, instead of being sorted.
func (r *Router) Route(p *paper.Paper, firstSeen time.Time) []channel.Route {
	r.mu.RLock()
	defer r.mu.RUnlock()
	sc, _ := r.scratch.Get().(*routeScratch)
	if sc == nil {
		sc = &routeScratch{}
	}
	defer r.scratch.Put(sc)
	sc.fit(len(r.order))
	// terms holds every hit's terms back to back (exp is reused by the matcher: copy what we keep).
	terms := sc.terms[:0]
	hits := 0
	r.matcher.MatchFunc(p, func(id int64, exp *filters.Explanation) {
		m := &r.slots[id]
		if !m.live || m.addedAt.After(firstSeen) {
			return
		}
		from := int32(len(terms))
		for _, x := range exp.Hits {
			terms = append(terms, x.Term)
		}
		sc.from[m.pos], sc.to[m.pos] = from, int32(len(terms))
		sc.bits[m.pos>>6] |= 1 << (m.pos & 63)
		hits++
	})
	sc.terms = terms[:0]
	if hits == 0 {
		return nil
	}
	var routes []channel.Route
	// Every route's terms share one array (each route's slice capped at its own end): two allocations a paper
	// instead of one per route keep the garbage, and with it the collector's work, in step with the papers.
	matched := make([]string, 0, len(terms))
	cur, first := int32(-1), 0
	flush := func() {
		if cur >= 0 {
			routes = append(routes, channel.Route{Channel: r.chans.refs[cur], Matched: matched[first:len(matched):len(matched)]})
		}
	}
	for w, word := range sc.bits {
		if word == 0 {
			continue
		}
		sc.bits[w] = 0
		for word != 0 {
			pos := w<<6 + bits.TrailingZeros64(word)
			word &= word - 1
			ch := r.slots[r.order[pos]].ch
			if ch != cur {
				flush()
				cur, first = ch, len(matched)
			}
			for _, t := range terms[sc.from[pos]:sc.to[pos]] {
				// A channel's terms are few: a scan beats a set.
				if !slices.Contains(matched[first:], t) {
					matched = append(matched, t)
				}
			}
		}
	}
	flush()
	return routes
}
