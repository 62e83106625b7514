package ingest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

// referenceRoute is what Route must answer, computed the plain way with the filters' reference evaluator: every
// subscription that existed at firstSeen and matches p, grouped by channel, the terms in subscription order
// without repeats, the channels in (platform, id) order. queries are subs' parsed queries.
func referenceRoute(subs []channel.Subscription, queries map[int64]*filters.Query, p *paper.Paper, firstSeen time.Time) []channel.Route {
	byID := slices.Clone(subs)
	slices.SortFunc(byID, func(a, b channel.Subscription) int { return cmp.Compare(a.ID, b.ID) })
	var routes []channel.Route
	for _, s := range byID {
		if s.AddedAt.After(firstSeen) {
			continue
		}
		exp, ok := queries[s.ID].Match(p)
		if !ok {
			continue
		}
		i := slices.IndexFunc(routes, func(r channel.Route) bool { return r.Channel == s.Channel })
		if i < 0 {
			routes = append(routes, channel.Route{Channel: s.Channel, Matched: []string{}})
			i = len(routes) - 1
		}
		for _, h := range exp.Hits {
			if !slices.Contains(routes[i].Matched, h.Term) {
				routes[i].Matched = append(routes[i].Matched, h.Term)
			}
		}
	}
	slices.SortFunc(routes, func(a, b channel.Route) int {
		return cmp.Or(cmp.Compare(a.Channel.Platform, b.Channel.Platform), cmp.Compare(a.Channel.ID, b.Channel.ID))
	})
	return routes
}

func routesJSON(t *testing.T, r []channel.Route) string {
	t.Helper()
	if r == nil {
		r = []channel.Route{}
	}
	for i := range r {
		if r[i].Matched == nil {
			r[i].Matched = []string{}
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRouteMatchesReference routes a synthetic arXiv day through 400 subscriptions over 30 channels on two
// platforms (some added after the papers were first seen, some channels sharing queries), and compares every
// paper's routes with referenceRoute: same channels, in channel order, with the same terms in the same order.
func TestRouteMatchesReference(t *testing.T) {
	feed, err := sources.ParseArxivFeed(testkit.SyntheticArxivFeed(150, 11))
	if err != nil {
		t.Fatal(err)
	}
	firstSeen := time.Date(2026, 9, 24, 4, 0, 0, 0, time.UTC)
	subs := benchSubs(t, 400, 30, firstSeen.Add(-time.Hour))
	for i := range subs {
		if i%3 == 0 {
			subs[i].Channel.Platform = "discord"
		}
		if i%17 == 0 {
			subs[i].AddedAt = firstSeen.Add(time.Minute) // too new for these papers
		}
	}
	// Ids out of channel order, so that the sort by channel is not the sort by id.
	slices.Reverse(subs)
	queries := map[int64]*filters.Query{}
	for _, s := range subs {
		q, err := filters.ParseStored(s.Query)
		if err != nil {
			t.Fatal(err)
		}
		queries[s.ID] = q
	}
	ms := memSubs(subs)
	r := NewRouter(&ms, nil)
	if err := r.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	routed := 0
	for i := range feed {
		p := &feed[i]
		got, want := r.Route(p, firstSeen), referenceRoute(subs, queries, p, firstSeen)
		routed += len(want)
		if g, w := routesJSON(t, got), routesJSON(t, want); g != w {
			t.Fatalf("Route(%s) =\n %s\nwant\n %s", p.Key, g, w)
		}
	}
	if routed < 100 {
		t.Fatalf("only %d routes over %d papers: the test exercises too little", routed, len(feed))
	}
}

// TestRouteAfterReloadChannel: a channel's first subscription added by a command (ReloadChannel, no full reload)
// routes at once, and takes its place in the channel order among the others.
func TestRouteAfterReloadChannel(t *testing.T) {
	added := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := testkit.Paper(added.Add(time.Hour), "2609.00001", "Graph neural networks for EEG decoding", "We decode EEG with graph networks.", 0)
	subs := memSubs{
		{ID: 1, Channel: channel.Ref{Platform: "slack", ID: "C3"}, Query: "eeg", Canonical: "eeg", AddedAt: added},
		{ID: 2, Channel: channel.Ref{Platform: "slack", ID: "C1"}, Query: "graph", Canonical: "graph", AddedAt: added},
	}
	r := NewRouter(&subs, nil)
	if err := r.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	newCh := channel.Ref{Platform: "slack", ID: "C2"}
	subs = append(subs, channel.Subscription{ID: 3, Channel: newCh, Query: "decoding", Canonical: "decoding", AddedAt: added})
	if err := r.ReloadChannel(t.Context(), newCh); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rt := range r.Route(&p, p.Published) {
		got = append(got, fmt.Sprintf("%s %v", rt.Channel, rt.Matched))
	}
	want := []string{"slack:C1 [graph]", "slack:C2 [decoding]", "slack:C3 [eeg]"}
	if !slices.Equal(got, want) {
		t.Errorf("routes = %q, want %q", got, want)
	}
}
