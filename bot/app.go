package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"

	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

// App is a configured paperboy: its store, fetcher, sources and poller. cmd/paperboy builds one per command.
type App struct {
	Config  *Config
	Store   *store.Store
	Fetcher *sources.Fetcher
	Poller  *Poller
	// Commander answers /papers commands from any platform and from `paperboy cmd`.
	Commander *Commander
	// Engine routes new papers to channels and drains the outbox to Platforms.
	Engine  *Engine
	Metrics *Metrics
	Health  *Health
	Logger  *slog.Logger

	closers  []io.Closer
	services []func(context.Context) error
}

// AddService makes Run also run fn (a platform's command transport: Socket Mode, a gateway session, an HTTP
// endpoint) until ctx ends. An error from fn stops the bot.
func (a *App) AddService(fn func(context.Context) error) {
	a.services = append(a.services, fn)
}

// NewLogger builds the slog logger described by the [log] table, writing to w.
func NewLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Level)) // validated by LoadConfig; info on the zero value
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Version describes this build: module version and VCS revision when Go recorded them.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " rev " + s.Value[:12]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "+dirty"
		}
	}
	return v + " " + bi.GoVersion
}

// NewApp opens the store and builds the fetcher and sources of cfg. Close releases them.
func NewApp(ctx context.Context, cfg *Config, logger *slog.Logger) (*App, error) {
	st, err := store.Open(ctx, cfg.Store.Path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", cfg.Store.Path, err)
	}
	f := sources.NewFetcher(sources.FetcherOptions{
		UserAgent:     cfg.Fetch.UserAgent,
		Timeout:       time.Duration(cfg.Fetch.Timeout),
		MaxBodySize:   cfg.Fetch.MaxBodyBytes,
		HostIntervals: map[string]time.Duration{"export.arxiv.org": time.Duration(cfg.Fetch.ArxivAPIInterval)},
		Logger:        logger,
	})
	app := &App{Config: cfg, Store: st, Fetcher: f, Logger: logger}
	p := &Poller{Logger: logger, Backoff: sources.Backoff{Base: 30 * time.Second, Max: time.Hour}}
	for _, sc := range cfg.Sources {
		src, err := sources.New(sc.SourceConfig(), f, time.Now)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("source %s: %w", sc.Name, err)
		}
		p.Sources = append(p.Sources, ScheduledSource{Source: src, Interval: time.Duration(sc.Interval)})
	}
	app.Poller = p
	budget := cfg.Delivery.HourlyBudget
	if budget < 0 {
		budget = 0 // the engine's "no cap"
	}
	eng := &Engine{Store: st, Logger: logger, HourlyBudget: budget, DigestCards: cfg.Delivery.DigestCards,
		Workers: cfg.Delivery.Workers, Backoff: sources.Backoff{Base: 5 * time.Second, Max: 10 * time.Minute},
		Platforms: map[string]Platform{}}
	app.Engine = eng
	app.Metrics = NewMetrics(eng.OutboxDepth)
	app.Health = NewHealth(time.Duration(cfg.HTTP.HealthMaxSilence), time.Now)
	eng.Metrics = app.Metrics
	p.Store = eng
	p.OnPoll = app.observePoll
	app.Commander = &Commander{Store: st, OnChange: func(ctx context.Context, ch channel.Ref) {
		if err := eng.ReloadChannel(ctx, ch); err != nil {
			logger.Error("reload channel subscriptions", "channel", ch.String(), "err", err)
		}
	}}
	if err := st.SyncConfigChannels(ctx, configChannels(cfg.Channels)); err != nil {
		st.Close()
		return nil, fmt.Errorf("seed channels from config: %w", err)
	}
	// Subscriptions are compiled before anything is ingested, so that even `poll --once` routes new papers.
	if err := eng.LoadSubscriptions(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	return app, nil
}

// configChannels converts the [[channels]] entries into the store's seed form, with canonical queries.
func configChannels(chs []ChannelConfig) []channel.ConfigChannel {
	out := make([]channel.ConfigChannel, 0, len(chs))
	for _, ch := range chs {
		cc := channel.ConfigChannel{Ref: channel.Ref{Platform: ch.Platform, ID: ch.ID}}
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
	for _, c := range a.closers {
		c.Close()
	}
	return a.Store.Close()
}

// AddPlatform makes p deliver to the channels of its platform; c, if not nil, is closed with the App.
func (a *App) AddPlatform(p Platform, c io.Closer) {
	a.Engine.Platforms[p.Name()] = p
	a.Metrics.InitPlatform(p.Name())
	if c != nil {
		a.closers = append(a.closers, c)
	}
}

func (a *App) observePoll(r PollReport) {
	switch {
	case r.Err != nil:
		a.Metrics.Poll(r.Source, PollError)
		a.Metrics.FetchError(r.Source)
	case r.NotModified:
		a.Metrics.Poll(r.Source, PollNotModified)
		a.Health.PollSucceeded(time.Now())
	default:
		a.Metrics.Poll(r.Source, PollOK)
		a.Health.PollSucceeded(time.Now())
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
	errc := make(chan error, 2+len(a.services))
	var srv *http.Server
	if addr := a.Config.HTTP.Listen; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		srv = &http.Server{Handler: NewOpsHandler(a.Metrics, a.Health), ReadHeaderTimeout: 10 * time.Second}
		a.Logger.Info("serving /healthz and /metrics", "addr", ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http server: %w", err)
			}
		}()
	}
	var wg sync.WaitGroup
	for _, fn := range append([]func(context.Context) error{a.Poller.Run, a.Engine.RunSender}, a.services...) {
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
func (a *App) PollAll(ctx context.Context) []PollReport {
	reps := make([]PollReport, len(a.Poller.Sources))
	var wg sync.WaitGroup
	for i, s := range a.Poller.Sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i] = a.Poller.PollOnce(ctx, s.Source)
		}()
	}
	wg.Wait()
	return reps
}

// Search returns up to limit stored papers matching query (the query language of the filters package), newest
// first, with the terms that matched. An invalid query is a *filters.SyntaxError.
func (a *App) Search(ctx context.Context, query string, limit int) ([]Card, error) {
	q, err := filters.Parse(query)
	if err != nil {
		return nil, err
	}
	cards, _, err := a.Commander.matching(ctx, q, time.Time{}, limit)
	return cards, err
}
