// Package app is paperboy's composition root: it turns a configuration into running parts (store, sources,
// router, ingester, sender, commands, platforms) and holds the registry of chat platforms. cmd/paperboy builds one
// App per command; nothing else imports the concrete stores.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/config"
	"github.com/paperboy-bot/paperboy/bot/console"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/health"
	"github.com/paperboy-bot/paperboy/bot/httpserve"
	"github.com/paperboy-bot/paperboy/bot/ingest"
	"github.com/paperboy-bot/paperboy/bot/ops"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/relevance"
	"github.com/paperboy-bot/paperboy/bot/store/postgres"

	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

// App is a configured paperboy: its store, sources, router, sender, commands and platforms. cmd/paperboy builds
// one per command.
type App struct {
	Config *config.Config
	// Database is the store the configuration selected; Store is it, opened.
	Database config.Database
	Store    Store
	Fetcher  *sources.Fetcher
	Poller   *ingest.Poller
	Router   *ingest.Router
	// Commander answers /papers commands from any platform and from `paperboy cmd`.
	Commander *command.Commander
	// Clicks answers the feedback buttons of cards; nil when the store keeps no votes.
	Clicks *command.Clicks
	// Sender drains the outbox to the platforms.
	Sender  *delivery.Sender
	Metrics *ops.Metrics
	Health  *ops.Health
	// Sources is the feed health monitor: states, /papers sources, notices ([health]).
	Sources *health.Monitor
	Logger  *slog.Logger

	now      func() time.Time
	lock     io.Closer // the SQLite store's lock, held by a bot (Options.Exclusive) until Close
	closers  []io.Closer
	services []func(context.Context) error
}

// NewLogger builds the slog logger described by the [log] table, writing to w.
func NewLogger(cfg config.LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Level)) // validated by LoadConfig; info on the zero value
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Format == "json" {
		opts.ReplaceAttr = durationsAsText
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// durationsAsText writes a duration as "26s" rather than JSON's default of nanoseconds (26000000000), which
// reads as a number of seconds at a glance and is wrong by a factor of a billion. The text handler already does.
func durationsAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// Options say which parts of the App a command needs.
type Options struct {
	// Platforms sets up the chat platforms (run and poll); look-ups and commands need none.
	Platforms bool
	// Stdout is where the console platform prints, unless [console] output names a file.
	Stdout io.Writer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Exclusive makes this App the store's one long-running bot (run, poll without --once). On a SQLite file it
	// takes the store's lock until Close, so that a second bot on the same file refuses to start (it would post
	// every paper again), and checks the file's integrity first. PostgreSQL serves several instances by design:
	// no lock there.
	Exclusive bool
	// LookupOnly builds an App for look-ups alone (search): it leaves the [[channels]] table unsynced and the
	// subscriptions uncompiled, so that it never writes the store, never waits for the write lock a running bot
	// holds, and starts in time independent of the number of configured subscriptions.
	LookupOnly bool
}

// Config is a loaded configuration file, as LoadConfig returns it.
type Config = config.Config

// ConfigNotFoundError is LoadConfig's error when there is no file at the path; it says where it looked.
type ConfigNotFoundError = config.NotFoundError

// LoadConfig reads and validates the configuration file at path against the registered platforms and sources.
func LoadConfig(path string) (*config.Config, error) {
	return config.Load(path, PlatformNames())
}

// New opens the store and builds every part of cfg. Close releases them.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, o Options) (_ *App, err error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	db, err := cfg.Database()
	if err != nil {
		return nil, err
	}
	var lock io.Closer
	if o.Exclusive && !db.Postgres {
		l, err := store.AcquireLock(db.Path, strings.Join(os.Args, " "))
		if err != nil {
			return nil, err
		}
		lock = l
	}
	st, err := openStore(ctx, db, logger)
	if err != nil {
		if lock != nil {
			_ = lock.Close()
		}
		return nil, err
	}
	a := &App{Config: cfg, Database: db, Store: st, Logger: logger, now: now, lock: lock}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	sqlite, _ := st.(*store.Store)
	a.Fetcher = sources.NewFetcher(sources.FetcherOptions{
		UserAgent:   cfg.Fetch.UserAgent,
		Timeout:     time.Duration(cfg.Fetch.Timeout),
		MaxBodySize: cfg.Fetch.MaxBodyBytes,
		// arXiv's API and OAI-PMH hosts (and a configured OAI mirror) share the API's politeness gap.
		HostIntervals: sources.ArxivHostIntervals(time.Duration(cfg.Fetch.ArxivAPIInterval), cfg.Import.OAIURL),
		Logger:        logger,

		AllowPrivateNetworks: cfg.Fetch.AllowPrivateNetworks,
	})
	a.Router = ingest.NewRouter(st, logger)
	a.Commander = &command.Commander{Store: st, Now: now, DigestCards: cfg.Delivery.DigestCards,
		LookupTimeout: time.Duration(cfg.Commands.LookupTimeout), Limiter: userLimiter(cfg.Commands, now),
		OnChange: func(ctx context.Context, ch channel.Ref) {
			if err := a.Router.ReloadChannel(ctx, ch); err != nil {
				logger.Error("reload channel subscriptions", "channel", ch.String(), "err", err)
			}
			if a.Sender != nil {
				a.Sender.Wake()
			}
		}}

	a.Clicks = clicksFor(st, now)
	a.Clicks.Log = logger

	// Metrics and health exist before the platforms, which report their readiness from the start.
	var sender *delivery.Sender
	a.Metrics = ops.NewMetrics(func() float64 { return sender.OutboxDepth() })
	b := Build()
	a.Metrics.BuildInfo(b.Version, b.Revision, b.GoVersion)
	a.Health = ops.NewHealth(time.Duration(cfg.HTTP.HealthMaxSilence), now)
	plats := map[string]bot.Platform{}
	if o.Platforms {
		stdout := o.Stdout
		if stdout == nil {
			stdout = io.Discard
		}
		for _, p := range platforms() {
			plat, service, closer, err := p.setup(env{cfg: cfg, app: a, stdout: stdout})
			if closer != nil {
				a.closers = append(a.closers, closer)
			}
			if err != nil {
				return nil, err
			}
			if plat == nil {
				continue
			}
			plats[p.name] = plat
			if service != nil {
				a.services = append(a.services, service)
			} else {
				// Without a service there is nothing to connect: ready at once. Those with one report
				// themselves not ready until connected.
				a.platformReady(p.name)(true, "")
			}
		}
	}
	// Commands that make the bot post check first that it can, where the platform tells.
	a.Commander.Access = accessOf(plats)
	budget := cfg.Delivery.HourlyBudget
	if budget < 0 {
		budget = 0 // the sender's "no cap"
	}
	// A SQLite file serves one process: its leases carry a fixed owner, so that a restart after a crash takes its
	// channels back at once, and sources are not leased. Instances sharing PostgreSQL each have their own name.
	owner, peers, leases := "local", delivery.Peers(nil), ingest.Leases(nil)
	if db.Postgres {
		owner, peers, leases = instanceID(), st, st
	}
	st.SetCardEdits(cfg.Delivery.EditsEnabled())
	sender, err = delivery.NewSender(delivery.Options{
		Store: st, Owner: owner, Peers: peers, Platforms: plats, Limits: PlatformLimits(), Logger: logger,
		Metrics: a.Metrics, Now: now, HourlyBudget: budget, DigestCards: cfg.Delivery.DigestCards,
		Workers: cfg.Delivery.Workers, Backoff: sources.Backoff{Base: 5 * time.Second, Max: 10 * time.Minute},
		Edits: cfg.Delivery.EditsEnabled(),
		// A weekly digest starts with the /papers trends chart.
		Charts: a.Commander,
		// Digests follow the channel's votes from relevance.MinDigestVotes on.
		Ranker: relevance.DigestRanker{Votes: st, Now: now},
	})
	if err != nil {
		return nil, err
	}
	a.Sender = sender
	if cfg.Delivery.EditsEnabled() {
		// Votes show on posted cards through the coalesced card-edit queue, which the sender drains.
		a.Clicks.Edits, a.Clicks.WakeEdits = st, sender.WakeAfter
	}
	a.services = append(a.services, pruneLoop(st, time.Duration(cfg.Delivery.KeepSent), now, logger))
	for name := range plats {
		a.Metrics.InitPlatform(name)
	}
	if sqlite != nil {
		sqlite.SetDiskFullHandler(func(err error) {
			logger.Error("disk full: a write to the store failed; checkpointed the WAL, free some space", "err", err)
		})
		a.Health.AddCheck(sqlite.DiskFull)
		if o.Exclusive {
			a.checkIntegrity(ctx, sqlite)
		}
	}

	p := &ingest.Poller{State: st, Sink: ingest.NewIngester(st, a.Router, a.Metrics, sender.Enqueued), Logger: logger,
		Backoff: sources.Backoff{Base: 30 * time.Second, Max: time.Hour}, OnPoll: a.observePoll,
		Leases: leases, Owner: owner}
	for _, sc := range cfg.Sources {
		src, err := sources.New(sc.SourceConfig(), a.Fetcher, now)
		if err != nil {
			return nil, err // sources.New names the source
		}
		p.Sources = append(p.Sources, ingest.ScheduledSource{Source: src, Interval: time.Duration(sc.Interval)})
	}
	a.Poller = p
	if err := a.setupSourceHealth(plats, now); err != nil {
		return nil, err
	}
	a.setupHistory(now, logger)
	if o.LookupOnly {
		return a, nil
	}
	if err := st.SyncConfigChannels(ctx, configChannels(cfg.Channels), now()); err != nil {
		return nil, fmt.Errorf("seed channels from config: %w", err)
	}
	// Subscriptions are compiled before anything is ingested, so that even `poll --once` routes new papers.
	if err := a.Router.Load(ctx); err != nil {
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	return a, nil
}

// clicksFor returns the click handler of the cards' feedback buttons: votes and the reading list in st, "More like
// this" from its full-text index.
func clicksFor(st Store, now func() time.Time) *command.Clicks {
	return &command.Clicks{Feedback: st, Similar: st, Channels: st, Papers: st, Now: now,
		Limiter: command.NewUserLimiter(command.DefaultClickRate, command.DefaultClickBurst, command.MaxLimitedUsers, now)}
}

// userLimiter is the per-user command rate of [commands], nil for none.
func userLimiter(cfg config.CommandsConfig, now func() time.Time) *command.UserLimiter {
	if cfg.PerUserRate < 0 {
		return nil
	}
	return command.NewUserLimiter(float64(cfg.PerUserRate), cfg.PerUserBurst, command.MaxLimitedUsers, now)
}

// Store is everything the bot's parts need from storage, each through the interface it owns; the SQLite store
// (bot/store) and the PostgreSQL one (bot/store/postgres) implement it and pass the same contract suite.
type Store interface {
	ingest.Store
	ingest.StateStore
	ingest.SubscriptionStore
	ingest.Leases
	delivery.Store
	delivery.Peers
	delivery.CardEdits
	command.Store
	command.Feedback
	command.SimilarPapers
	command.FeedbackStore
	command.CardEditQueue
	health.Store
	// SetCardEdits turns the queueing of card edits in the ingest transaction on or off ([delivery] edits).
	SetCardEdits(on bool)
	// SyncConfigChannels makes the configuration-managed subscriptions match the [[channels]] table.
	SyncConfigChannels(ctx context.Context, chans []channel.ConfigChannel, now time.Time) error
	// ImportState and ImportBatch store bulk imports of history (paperboy import).
	ImportState(ctx context.Context, name string) (state []byte, ok bool, err error)
	ImportBatch(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error)
	sentPruner
	Close() error
}

// listener is a store shared by several instances that tells each what the others changed (PostgreSQL's
// LISTEN/NOTIFY); Listen calls fn per change until ctx ends. Without it, each part's periodic check sees the changes.
type listener interface {
	Listen(ctx context.Context, fn func(topic string)) error
}

// notified wakes the part a change concerns: new outbox rows and channel changes the sender, subscription changes
// the router (so the next poll routes with them, and an unsubscribe stops matching at once).
func (a *App) notified(ctx context.Context) func(topic string) {
	return func(topic string) {
		switch topic {
		case "subscriptions":
			if err := a.Router.Refresh(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("refresh subscriptions after a change elsewhere", "err", err)
			}
		default: // "outbox", "channels"
			a.Sender.Wake()
		}
	}
}

// openStore opens the store db selects.
func openStore(ctx context.Context, db config.Database, logger *slog.Logger) (Store, error) {
	if db.Postgres {
		return postgres.Open(ctx, db.URL, postgres.WithLogger(logger))
	}
	return store.Open(ctx, db.Path)
}

// instanceID names this process in channel leases: unique per process, readable in the database.
func instanceID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b)
}

// configChannels converts the [[channels]] entries into the store's seed form, with canonical queries.
func configChannels(chs []config.ChannelConfig) []channel.ConfigChannel {
	out := make([]channel.ConfigChannel, 0, len(chs))
	for _, ch := range chs {
		cc := channel.ConfigChannel{Ref: channel.Ref{Platform: ch.Platform, ID: ch.ID}}
		if len(ch.Canonical) == len(ch.Subscriptions) { // parsed by LoadConfig
			for i, q := range ch.Subscriptions {
				cc.Subscriptions = append(cc.Subscriptions, channel.Subscription{Query: q, Canonical: ch.Canonical[i]})
			}
			out = append(out, cc)
			continue
		}
		for _, q := range ch.Subscriptions {
			parsed, err := filters.Parse(q)
			if err != nil {
				continue // LoadConfig already rejected invalid queries
			}
			cc.Subscriptions = append(cc.Subscriptions, channel.Subscription{Query: q, Canonical: parsed.String()})
		}
		out = append(out, cc)
	}
	return out
}

// Close closes the store and the platforms' outputs.
func (a *App) Close() error {
	errs := make([]error, 0, len(a.closers)+1)
	for _, c := range a.closers {
		errs = append(errs, c.Close())
	}
	errs = append(errs, a.Store.Close())
	if a.lock != nil {
		errs = append(errs, a.lock.Close()) // after the store: nothing may write once another bot can start
	}
	return errors.Join(errs...)
}

// platformReady is the bot.ReadyFunc of platform: /healthz and paperboy_platform_ready follow it.
func (a *App) platformReady(platform string) bot.ReadyFunc {
	return func(ready bool, reason string) {
		a.Health.SetPlatformReady(platform, ready, reason)
		a.Metrics.PlatformReady(platform, ready)
		if ready {
			a.Logger.Info("platform ready", "platform", platform)
		} else {
			// The adapter logged the failure itself, at WARN or ERROR; this is the state change.
			a.Logger.Info("platform not ready", "platform", platform, "reason", reason)
		}
	}
}

// checkIntegrity runs the store's quick_check in the background: it reads every page, about 13 s per 100k papers
// (README), too long to hold up a start. A damaged store is logged at ERROR, naming the file and how to recover,
// and fails /healthz. Close stops the check.
func (a *App) checkIntegrity(ctx context.Context, st *store.Store) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var damaged atomic.Pointer[error]
	a.Health.AddCheck(func() error {
		if p := damaged.Load(); p != nil {
			return *p
		}
		return nil
	})
	go func() {
		defer close(done)
		start := a.now()
		if err := st.QuickCheck(ctx); err != nil {
			if ctx.Err() == nil {
				damaged.Store(&err)
				a.Logger.Error("the store failed its integrity check", "err", err)
			}
			return
		}
		a.Logger.Info("store integrity checked", "took", a.now().Sub(start).Round(time.Millisecond))
	}()
	a.closers = append(a.closers, closerFunc(func() error { cancel(); <-done; return nil }))
}

// closerFunc is an io.Closer made of a function.
type closerFunc func() error

// Close calls f.
func (f closerFunc) Close() error { return f() }

func (a *App) observePoll(r ingest.PollReport) {
	// The poller's callback carries no context; the health record is a small write of its own.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	a.observeHealth(ctx, r)
	cancel()
	switch {
	case r.Err != nil:
		a.Metrics.Poll(r.Source, ops.PollError)
	case r.NotModified:
		a.Metrics.Poll(r.Source, ops.PollNotModified)
		a.Health.PollSucceeded(a.now())
	default:
		a.Metrics.Poll(r.Source, ops.PollOK)
		a.Health.PollSucceeded(a.now())
	}
	a.Metrics.FeedRepairs(r.Source, r.Repaired, r.Truncated, r.Skipped)
}

// observeHealth records a poll's outcome in its source's health record.
func (a *App) observeHealth(ctx context.Context, r ingest.PollReport) {
	if a.Sources != nil {
		a.Sources.Observe(ctx, r.Source, health.Observation{At: a.now(), Failed: r.Err != nil, New: r.New, Updated: r.Updated})
	}
}

// Run is the whole bot: it polls every source, routes new papers to the channels whose subscriptions match,
// delivers them, and serves /healthz and /metrics when [http] listen is set, until ctx ends. Shutdown lets the
// send in flight finish, so the outbox stays consistent.
func (a *App) Run(ctx context.Context) error {
	for _, s := range a.Config.Sources {
		a.Metrics.InitSource(s.Name)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := []func(context.Context) error{a.Poller.Run, a.Sender.Run, a.Sources.Run}
	if l, ok := a.Store.(listener); ok {
		parts = append(parts, func(ctx context.Context) error { return l.Listen(ctx, a.notified(ctx)) })
	}
	// Every part and the HTTP server send at most one error; the buffer holds them all, so that none blocks on
	// a shutdown that reads none.
	errc := make(chan error, 1+len(parts)+len(a.services))
	var srv *httpserve.Server
	if addr := a.Config.HTTP.Listen; addr != "" {
		var err error
		if srv, err = httpserve.Listen(ctx, httpserve.Config{Addr: addr, Handler: ops.NewHandler(a.Metrics, a.Health)}); err != nil {
			return err
		}
		a.Logger.Info("serving /healthz and /metrics", "addr", srv.Addr().String())
		go func() {
			if err := srv.Serve(); err != nil {
				errc <- fmt.Errorf("http server: %w", err)
			}
		}()
	}
	var wg sync.WaitGroup
	for _, fn := range append(parts, a.services...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := fn(ctx)
			if err == nil && ctx.Err() == nil {
				// Every part runs until shutdown; one that returns early would leave the bot half alive.
				err = errors.New("a bot service stopped unexpectedly")
			}
			errc <- err
		}()
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
		cancel()
	}
	wg.Wait()
	if srv != nil {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}
	return first
}

// PollAll polls every source once, concurrently (the fetcher keeps per-host politeness), and returns one report
// per source in configuration order.
func (a *App) PollAll(ctx context.Context) []ingest.PollReport {
	reps := make([]ingest.PollReport, len(a.Poller.Sources))
	var wg sync.WaitGroup
	for i, s := range a.Poller.Sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i] = a.Poller.PollOnce(ctx, s.Source)
			a.observeHealth(ctx, reps[i])
		}()
	}
	wg.Wait()
	return reps
}

// Search returns up to limit stored papers matching query (the query language of the filters package), newest
// first, with the terms that matched. An invalid query is a *filters.SyntaxError.
func (a *App) Search(ctx context.Context, query string, limit int) ([]bot.Card, error) {
	return a.Commander.Search(ctx, query, limit)
}

// SearchSorted is Search in the order sort names: "newest" (Search's), or "relevant" (best full-text match with
// matched terms, upvotes and recency; `paperboy search --sort relevant`).
func (a *App) SearchSorted(ctx context.Context, query, sort string, limit int) ([]bot.Card, error) {
	return a.Commander.SearchSorted(ctx, query, sort, limit)
}

// setupSourceHealth builds the feed health monitor of [health]: arXiv's calendar for the arxiv and arxiv-api
// sources, the states for /papers sources, the metrics and /healthz, and notices to [health] notify_channel
// when its platform runs here. Notices are posted directly, not through the outbox: there are few, and they
// must not queue behind a backlog of papers.
func (a *App) setupSourceHealth(plats map[string]bot.Platform, now func() time.Time) error {
	sched, err := health.ArxivSchedule()
	if err != nil {
		return err
	}
	cfg := a.Config.Health
	m := &health.Monitor{Store: a.Store, Now: now, Logger: a.Logger,
		Policy:      health.Policy{Schedule: sched, LateAfter: time.Duration(cfg.LateAfter)},
		NotifyAfter: time.Duration(cfg.NotifyAfter)}
	for _, sc := range a.Config.Sources {
		m.Sources = append(m.Sources, health.Source{Name: sc.Name,
			Listing: sc.Kind == sources.KindArxiv || sc.Kind == sources.KindArxivAPI})
	}
	states := make([]string, 0, len(health.States()))
	for _, s := range health.States() {
		states = append(states, string(s))
	}
	m.OnCheck = func(reps []health.Report) {
		lines := make([]string, 0, len(reps))
		for _, r := range reps {
			a.Metrics.SourceHealth(r.Source, string(r.State), states, r.LastSuccess, r.LastNewPaper)
			line := r.Source + ": " + string(r.State)
			switch {
			case r.State == health.Failing:
				line += " since " + health.FormatTime(r.Since, time.UTC) + ": " + r.LastError
			case r.Why != "":
				line += ": " + r.Why
			}
			lines = append(lines, line)
		}
		a.Health.SetSources(lines)
	}
	if cfg.NotifyChannel != "" && len(plats) > 0 {
		ref, err := cfg.NotifyRef(PlatformNames())
		if err != nil {
			return fmt.Errorf("health.notify_channel: %w", err)
		}
		plat, ok := plats[ref.Platform]
		if !ok {
			a.Logger.Warn("health.notify_channel's platform is not running here: no health notices", "channel", ref.String())
		} else {
			m.Notify = func(ctx context.Context, text, nonce string) error {
				_, err := plat.Send(ctx, bot.Message{Channel: ref, Digest: true, Title: text, Nonce: nonce})
				return err
			}
		}
	}
	a.Sources = m
	a.Commander.Health = m
	return nil
}

// setupHistory hooks the [[sources]] history fills into the poller: each runs once after its source's first
// successful poll, storing the source's recent past as history (never routed).
func (a *App) setupHistory(now func() time.Time, logger *slog.Logger) {
	specs := map[string]ingest.HistorySpec{}
	for _, sc := range a.Config.Sources {
		if sc.History <= 0 {
			continue
		}
		query, err := sc.SourceConfig().HistoryQuery()
		if err != nil {
			continue // LoadConfig already rejected it
		}
		spec := ingest.HistorySpec{Query: query, Window: time.Duration(sc.History), Interval: time.Duration(sc.Interval)}
		if sc.Kind == sources.KindArxivAPI {
			spec.BaseURL = sc.URL // the API base of a mirror or test server; "" is arXiv's
		}
		specs[sc.Name] = spec
	}
	if len(specs) == 0 {
		return
	}
	h := &ingest.History{Store: a.Store, Get: a.Fetcher, Specs: specs, Now: now, Logger: logger,
		Backoff: sources.Backoff{Base: 10 * time.Second, Max: 5 * time.Minute}}
	a.Poller.AfterFirstPoll = func(ctx context.Context, source string) {
		if err := h.Fill(ctx, source); err != nil && ctx.Err() == nil {
			// The source keeps polling; the next start tries the history again from its checkpoint.
			logger.Warn("history fetch failed", "source", source, "err", err)
		}
	}
}

// ArxivHarvester is the OAI-PMH harvester of paperboy import arxiv: [import] oai_url through the shared fetcher,
// whose politeness gap covers that host.
func (a *App) ArxivHarvester() *sources.OAIHarvester {
	return &sources.OAIHarvester{Get: a.Fetcher, BaseURL: a.Config.Import.OAIURL, Logger: a.Logger,
		Backoff: sources.Backoff{Base: 10 * time.Second, Max: 5 * time.Minute}}
}

// FilesDir is where files posted to the console or by `paperboy cmd` (the /papers trends chart) are written: next
// to the SQLite store, or the system's temporary directory with PostgreSQL.
func (a *App) FilesDir() string {
	if a.Database.Postgres || a.Database.Path == "" {
		return ""
	}
	return filepath.Dir(a.Database.Path)
}

// WriteFiles writes the files of a reply into FilesDir for `paperboy cmd`, and returns their paths.
func (a *App) WriteFiles(files []bot.File) ([]string, error) {
	return console.WriteFiles(a.FilesDir(), files)
}
