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
}

type subMeta struct {
	channel channel.Ref
	addedAt time.Time
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
	for _, s := range subs {
		q, err := filters.ParseStored(s.Query)
		if err != nil {
			// Stored queries were valid when stored; a grammar change must not stop the bot, but must be seen.
			r.logger.Error("stored subscription no longer parses; skipped", "channel", s.Channel.String(), "query", s.Query, "err", err)
			continue
		}
		m.Add(s.ID, q)
		meta[s.ID] = subMeta{channel: s.Channel, addedAt: s.AddedAt}
		byCh[s.Channel] = append(byCh[s.Channel], s.ID)
	}
	r.mu.Lock()
	r.matcher, r.subs, r.byChannel = m, meta, byCh
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
		r.subs[s.ID] = subMeta{channel: s.Channel, addedAt: s.AddedAt}
		ids = append(ids, s.ID)
	}
	r.byChannel[ch] = ids
	return nil
}

// Route is a channel.Router: the channels whose subscriptions match p, one route per channel with the union of
// the matched terms, counting only subscriptions that existed when the paper was first stored.
func (r *Router) Route(p *paper.Paper, firstSeen time.Time) []channel.Route {
	r.mu.RLock()
	defer r.mu.RUnlock()
	// MatchFunc reports in no particular order; collect, then order by subscription id so that a card lists its
	// terms in the order the channel subscribed to them.
	type hit struct {
		id    int64
		terms []string
	}
	var hits []hit
	r.matcher.MatchFunc(p, func(id int64, exp *filters.Explanation) {
		if meta, ok := r.subs[id]; !ok || meta.addedAt.After(firstSeen) {
			return
		}
		h := hit{id: id}
		for _, x := range exp.Hits { // exp is reused by the matcher: copy what we keep
			h.terms = append(h.terms, x.Term)
		}
		hits = append(hits, h)
	})
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(a.id, b.id) })
	var routes []channel.Route
	for _, h := range hits {
		ch := r.subs[h.id].channel
		i := slices.IndexFunc(routes, func(rt channel.Route) bool { return rt.Channel == ch })
		if i < 0 {
			routes = append(routes, channel.Route{Channel: ch})
			i = len(routes) - 1
		}
		for _, t := range h.terms {
			if !slices.Contains(routes[i].Matched, t) {
				routes[i].Matched = append(routes[i].Matched, t)
			}
		}
	}
	return routes
}
