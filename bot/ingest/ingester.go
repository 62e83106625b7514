// Package ingest is the bot's intake: the poller that polls every source on its schedule, and the ingester that
// stores each poll and routes its new papers to the matching channels' outboxes in the same transaction, through
// the router's compiled subscriptions.
package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Store is the ingest transaction: papers merged by key, their outbox rows and the source's validators and
// health, committed together (see the store's IngestAndRoute).
type Store interface {
	IngestAndRoute(ctx context.Context, source string, papers []paper.Paper, validators map[string]paper.Validators, at time.Time, route channel.Router) (paper.IngestResult, error)
}

// Metrics is what the ingester counts.
type Metrics interface {
	PapersIngested(source string, n int)
	Matches(n int)
}

// Ingester is the poller's Sink: it stores a poll and routes its new papers through the Router, in one
// transaction, so a crash can lose neither a paper nor its announcements.
type Ingester struct {
	store    Store
	router   *Router
	metrics  Metrics
	onRouted func(n int)
}

// NewIngester builds an ingester. onRouted, if not nil, is called after a poll created n outbox rows or queued
// card edits (it wakes the sender); metrics may be nil.
func NewIngester(st Store, r *Router, m Metrics, onRouted func(n int)) *Ingester {
	return &Ingester{store: st, router: r, metrics: m, onRouted: onRouted}
}

// Ingest picks up subscription changes made elsewhere, then stores and routes the poll.
func (in *Ingester) Ingest(ctx context.Context, source string, papers []paper.Paper, validators map[string]paper.Validators, at time.Time) (paper.IngestResult, error) {
	if err := in.router.Refresh(ctx); err != nil {
		return paper.IngestResult{}, fmt.Errorf("refresh subscriptions: %w", err)
	}
	res, err := in.store.IngestAndRoute(ctx, source, papers, validators, at, in.router.Route)
	if err != nil {
		return res, err
	}
	if in.metrics != nil {
		in.metrics.PapersIngested(source, len(res.New))
		if res.Routed > 0 {
			in.metrics.Matches(res.Routed)
		}
	}
	if (res.Routed > 0 || res.Edits > 0) && in.onRouted != nil {
		in.onRouted(res.Routed) // edits are not outbox rows, but they wake the sender too
	}
	return res, nil
}
