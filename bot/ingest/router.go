package ingest

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
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
	mu        sync.RWMutex
	matcher   *filters.Matcher
	subs      map[int64]subMeta
	byChannel map[channel.Ref][]int64
	chans     channelIndex
}

type subMeta struct {
	ch      int32 // the channel's number in chans
	addedAt time.Time
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
	return &Router{store: st, logger: logger, matcher: filters.NewMatcher(), subs: map[int64]subMeta{},
		byChannel: map[channel.Ref][]int64{}, version: -1}
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
	meta := make(map[int64]subMeta, len(subs))
	byCh := map[channel.Ref][]int64{}
	var chans channelIndex
	for _, s := range subs {
		q, err := filters.ParseStored(s.Query)
		if err != nil {
			// Stored queries were valid when stored; a grammar change must not stop the bot, but must be seen.
			r.logger.Error("stored subscription no longer parses; skipped", "channel", s.Channel.String(), "query", s.Query, "err", err)
			continue
		}
		m.Add(s.ID, q)
		meta[s.ID] = subMeta{ch: chans.number(s.Channel), addedAt: s.AddedAt}
		byCh[s.Channel] = append(byCh[s.Channel], s.ID)
	}
	chans.rerank()
	r.mu.Lock()
	r.matcher, r.subs, r.byChannel, r.chans = m, meta, byCh, chans
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
	for _, id := range r.byChannel[ch] {
		r.matcher.Remove(id)
		delete(r.subs, id)
	}
	ids := make([]int64, 0, len(subs))
	for _, s := range subs {
		q, err := filters.ParseStored(s.Query)
		if err != nil {
			continue
		}
		r.matcher.Add(s.ID, q)
		r.subs[s.ID] = subMeta{ch: r.chans.number(s.Channel), addedAt: s.AddedAt}
		ids = append(ids, s.ID)
	}
	r.chans.rerank()
	r.byChannel[ch] = ids
	return nil
}

// Route is a channel.Router: the channels whose subscriptions match p, one route per channel with the union of
// the matched terms (in the order the channel subscribed to them), counting only subscriptions that existed when
// the paper was first stored. Routes come in channel order (platform, then id), so that a store writing a poll's
// routes channel by channel finds them in its key order. Its cost is linear in the matched subscriptions (plus
// sorting them), whatever the number of channels.
func (r *Router) Route(p *paper.Paper, firstSeen time.Time) []channel.Route {
	r.mu.RLock()
	defer r.mu.RUnlock()
	// MatchFunc reports in no particular order; collect, then order by channel and, within one, by subscription
	// id. terms holds every hit's terms back to back (exp is reused by the matcher: copy what we keep).
	type hit struct {
		rank     int32 // of the channel
		ch       int32
		id       int64
		from, to int32 // in terms
	}
	var hits []hit
	var terms []string
	r.matcher.MatchFunc(p, func(id int64, exp *filters.Explanation) {
		meta, ok := r.subs[id]
		if !ok || meta.addedAt.After(firstSeen) {
			return
		}
		from := int32(len(terms))
		for _, x := range exp.Hits {
			terms = append(terms, x.Term)
		}
		hits = append(hits, hit{rank: r.chans.rank[meta.ch], ch: meta.ch, id: id, from: from, to: int32(len(terms))})
	})
	if len(hits) == 0 {
		return nil
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.id, b.id)) })
	n := 1
	for i := 1; i < len(hits); i++ {
		if hits[i].ch != hits[i-1].ch {
			n++
		}
	}
	routes := make([]channel.Route, 0, n)
	// Every route's terms share one array (each route's slice capped at its own end): two allocations a paper
	// instead of one per route keep the garbage, and with it the collector's work, in step with the papers.
	matched := make([]string, 0, len(terms))
	for i := 0; i < len(hits); {
		j := i + 1
		for j < len(hits) && hits[j].ch == hits[i].ch {
			j++
		}
		first := len(matched)
		for _, h := range hits[i:j] {
			for _, t := range terms[h.from:h.to] {
				// A channel's terms are few: a scan beats a set.
				if !slices.Contains(matched[first:], t) {
					matched = append(matched, t)
				}
			}
		}
		routes = append(routes, channel.Route{Channel: r.chans.refs[hits[i].ch], Matched: matched[first:len(matched):len(matched)]})
		i = j
	}
	return routes
}
