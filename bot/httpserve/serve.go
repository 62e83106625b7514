// Package httpserve builds every HTTP server paperboy runs (/healthz and /metrics, the Slack and Discord endpoints)
// with the same defences against slow or idle clients: read, write and idle timeouts, and a cap on open
// connections. Without them, idle keep-alive connections pile up until the process runs out of file descriptors,
// and then nothing works: not the endpoints, not feed polling, not delivery.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// Limits bound what a client can hold of a server. A zero field takes DefaultLimits' value.
type Limits struct {
	// ReadHeaderTimeout bounds the wait for a request's headers (slowloris), ReadTimeout the whole request.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// WriteTimeout bounds the time from the end of the request's headers to the end of the response.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no new request for this long.
	IdleTimeout time.Duration
	// MaxConns caps the connections open at once; further clients wait in the kernel's accept queue (using no
	// descriptor of ours) until one closes, which the timeouts above guarantee.
	MaxConns int
}

// DefaultLimits are generous for paperboy's clients (a Prometheus scrape, an orchestrator's health probe, Slack
// and Discord posting a command, each answered within a few seconds) and tight for anyone holding connections
// open.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       time.Minute,
		MaxConns:          256,
	}
}

func (l Limits) orDefaults() Limits {
	d := DefaultLimits()
	pick := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	l.ReadHeaderTimeout = pick(l.ReadHeaderTimeout, d.ReadHeaderTimeout)
	l.ReadTimeout = pick(l.ReadTimeout, d.ReadTimeout)
	l.WriteTimeout = pick(l.WriteTimeout, d.WriteTimeout)
	l.IdleTimeout = pick(l.IdleTimeout, d.IdleTimeout)
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	return l
}

// Config describes one server.
type Config struct {
	// Addr is the TCP address to listen on (host:port; port 0 picks a free one).
	Addr    string
	Handler http.Handler
	Limits  Limits
	// BaseContext, when not nil, is the parent of every request's context, so that handlers see the bot's
	// shutdown.
	BaseContext context.Context
}

// Server is an HTTP server listening with Limits applied.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen listens on c.Addr and returns the server, ready to Serve. Listening before serving lets a caller report
// an address in use at once, and learn the port it got.
func Listen(ctx context.Context, c Config) (*Server, error) {
	l := c.Limits.orDefaults()
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	srv := &http.Server{
		Handler:           c.Handler,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
	}
	if base := c.BaseContext; base != nil {
		srv.BaseContext = func(net.Listener) context.Context { return base }
	}
	return &Server{srv: srv, ln: netutil.LimitListener(ln, l.MaxConns)}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until Shutdown, and then returns nil; any other end is an error.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting, lets the requests in flight finish until ctx ends, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return errors.Join(err, s.srv.Close())
	}
	return nil
}

// Run serves until ctx ends, then shuts down within grace. It returns nil after a shutdown, or the error that
// stopped serving.
func (s *Server) Run(ctx context.Context, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := s.Shutdown(sctx)
	<-errc
	return err
}
