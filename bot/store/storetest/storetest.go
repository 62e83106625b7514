// Package storetest is the contract every paperboy store passes: what the ingest path, the delivery path, the
// command core and the composition root rely on, written against their interfaces only. A store's own tests call
// Run with a function that opens an empty store; the SQLite store runs it from bot/store, and a PostgreSQL store
// runs the same suite, so that the same calls give the same answers on both (DESIGN section 8).
//
// The suite covers behaviour, not SQL: ingest and merge (through paper.Batch and paper.Reconcile), the routing
// transaction and once per (channel, paper), channel leases, outbox marks, digests, subscriptions, configured
// channels, channel modes and blocks, validators and source health, and look-ups.
package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/health"
	"github.com/paperboy-bot/paperboy/bot/ingest"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

// Store is everything the bot asks of a store: the interfaces its consumers own, plus what the composition root
// calls directly.
type Store interface {
	ingest.Store
	ingest.StateStore
	ingest.SubscriptionStore
	ingest.Leases
	delivery.Peers
	delivery.Store
	delivery.CardEdits
	command.Store
	command.CardEditQueue
	// SetCardEdits turns the queueing of card edits in the ingest transaction on or off.
	SetCardEdits(on bool)
	// SyncConfigChannels makes the configuration-managed subscriptions match chans (bot/app at start-up).
	SyncConfigChannels(ctx context.Context, chans []channel.ConfigChannel, at time.Time) error
	// Candidates and Recent are ScanCandidates' papers as a slice (tools, imports, tests).
	Candidates(ctx context.Context, pre *filters.Prefilter, since time.Time, limit int) ([]paper.Paper, error)
	Recent(ctx context.Context, since time.Time, limit int) ([]paper.Paper, error)
	// Ingest is IngestAndRoute without routing (backfills, tools and benchmarks).
	Ingest(ctx context.Context, source string, papers []paper.Paper, validators map[string]paper.Validators, at time.Time) (paper.IngestResult, error)
	// ImportState returns the saved checkpoint of the named import (nil, false when none).
	ImportState(ctx context.Context, name string) (state []byte, ok bool, err error)
	// ImportBatch stores papers as history (merged by identity like Ingest, never routed) and saves state as the
	// named import's checkpoint, in one transaction (paperboy import).
	ImportBatch(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error)
	// health.Store keeps feed health and its open notices (bot/health).
	health.Store
	// PruneSent deletes sent rows posted before before, keeping their (channel, paper) pairs (paperboy run).
	PruneSent(ctx context.Context, before time.Time) (int, error)
	// PostedMessage returns the message that posted paperKey to ch, if its row is kept.
	PostedMessage(ctx context.Context, ch channel.Ref, paperKey string) (string, bool, error)
}

// Run runs the contract. Every subtest calls open for a store of its own, which must be empty and must be closed
// by open's cleanup (t.Cleanup); subtests run in parallel, so stores from one open must not share state.
func Run(t *testing.T, open func(t *testing.T) Store) {
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Ingest", ingestCases},
		{"Routing", routingCases},
		{"Claims", claimCases},
		{"Outbox", outboxCases},
		{"Digests", digestCases},
		{"Batches", batchCases},
		{"Edits", editCases},
		{"Subscriptions", subscriptionCases},
		{"Channels", channelCases},
		{"SourceState", sourceStateCases},
		{"Lookups", lookupCases},
		{"Imports", importCases},
		{"SourceHealth", sourceHealthCases},
		{"Pruning", pruneCases},
		{"Feedback", feedbackCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, open(t))
				})
			}
		})
	}
}

// testCase is one contract check on a fresh store.
type testCase struct {
	name string
	run  func(t *testing.T, s Store)
}

// t0 is the suite's clock. Every time it stores is a whole second, which any backend keeps exactly.
var t0 = time.Date(2026, 9, 28, 20, 0, 0, 0, time.UTC)

// at returns t0 plus h hours.
func at(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

// Channels of the suite.
var (
	slackA   = channel.Ref{Platform: "slack", ID: "C0A"}
	slackB   = channel.Ref{Platform: "slack", ID: "C0B"}
	discordC = channel.Ref{Platform: "discord", ID: "1234"}
)

// arxiv returns an arXiv paper as the RSS source delivers it.
func arxiv(id string, published time.Time, typ paper.AnnounceType, title, abstract string, cats ...string) paper.Paper {
	p := paper.Paper{
		ArxivID: id, Version: 1, Title: title, Abstract: abstract, Authors: []string{"Ada Lovelace", "Alan Turing"},
		Categories: cats, AnnounceType: typ, URL: "https://arxiv.org/abs/" + id, PDFURL: "https://arxiv.org/pdf/" + id,
		Published: published,
	}
	p.Key = paper.KeyOf(p)
	return p
}

// simple returns a new arXiv paper published at pub.
func simple(id string, pub time.Time) paper.Paper {
	return arxiv(id, pub, paper.AnnounceNew, "Paper "+id, "Abstract of "+id+".", "cs.LG")
}

func mustIngest(t *testing.T, s Store, source string, ps []paper.Paper, v map[string]paper.Validators, at time.Time) paper.IngestResult {
	t.Helper()
	res, err := s.Ingest(t.Context(), source, ps, v, at)
	if err != nil {
		t.Fatalf("Ingest(%s): %v", source, err)
	}
	return res
}

func mustRoute(t *testing.T, s Store, source string, ps []paper.Paper, at time.Time, r channel.Router) paper.IngestResult {
	t.Helper()
	res, err := s.IngestAndRoute(t.Context(), source, ps, nil, at, r)
	if err != nil {
		t.Fatalf("IngestAndRoute(%s): %v", source, err)
	}
	return res
}

// storedPaper returns the stored paper with key, found through Recent (the contract has no look-up by key).
func storedPaper(t *testing.T, s Store, key string) paper.Paper {
	t.Helper()
	all, err := s.Recent(t.Context(), time.Time{}, 0)
	if err != nil {
		t.Fatalf("Recent: %v", err)
	}
	for _, p := range all {
		if p.Key == key {
			return p
		}
	}
	t.Fatalf("paper %s is not stored (stored: %v)", key, keysOf(all))
	return paper.Paper{}
}

func keysOf(ps []paper.Paper) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Key)
	}
	return out
}

func itemKeys(items []channel.OutboxItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.Paper.Key)
	}
	return out
}

func itemIDs(items []channel.OutboxItem) []int64 {
	out := []int64{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// routeCall is one call of a recorder's router.
type routeCall struct {
	paper     paper.Paper
	firstSeen time.Time
}

// recorder is a router that sends every paper to the channels its to function names (with the paper's first
// category as the matched term) and records its calls.
type recorder struct {
	to    func(p *paper.Paper) []channel.Ref
	mu    sync.Mutex
	calls []routeCall
}

// routeAll returns a recorder routing every paper to chans.
func routeAll(chans ...channel.Ref) *recorder {
	return &recorder{to: func(*paper.Paper) []channel.Ref { return chans }}
}

func (r *recorder) route(p *paper.Paper, firstSeen time.Time) []channel.Route {
	r.mu.Lock()
	r.calls = append(r.calls, routeCall{paper: *p, firstSeen: firstSeen})
	r.mu.Unlock()
	var out []channel.Route
	for _, ch := range r.to(p) {
		out = append(out, channel.Route{Channel: ch, Matched: slices.Clone(p.Categories[:min(1, len(p.Categories))])})
	}
	return out
}

// take returns and forgets the calls so far.
func (r *recorder) take() []routeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func callKeys(calls []routeCall) []string {
	out := []string{}
	for _, c := range calls {
		out = append(out, c.paper.Key)
	}
	return out
}

// unsent returns ch's unsent rows of kind in states, all of them.
func unsent(t *testing.T, s Store, ch channel.Ref, kind string, states ...string) []channel.OutboxItem {
	t.Helper()
	items, err := s.Unsent(t.Context(), ch, kind, states, 0)
	if err != nil {
		t.Fatalf("Unsent(%s, %s, %v): %v", ch, kind, states, err)
	}
	return items
}

// pending returns ch's pending match rows.
func pending(t *testing.T, s Store, ch channel.Ref) []channel.OutboxItem {
	t.Helper()
	return unsent(t, s, ch, channel.KindMatch, channel.StatePending)
}

// work returns the store's Work by channel.
func work(t *testing.T, s Store) map[channel.Ref]channel.Work {
	t.Helper()
	ws, err := s.Work(t.Context())
	if err != nil {
		t.Fatalf("Work: %v", err)
	}
	out := make(map[channel.Ref]channel.Work, len(ws))
	for _, w := range ws {
		if _, dup := out[w.Ref]; dup {
			t.Errorf("Work lists %s twice", w.Ref)
		}
		out[w.Ref] = w
	}
	return out
}

func check(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
