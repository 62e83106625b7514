// Package postgres keeps paperboy's state in PostgreSQL (13 or newer) through pgx: the same tables, rules and
// answers as the SQLite store in bot/store, for deployments where several `paperboy run` processes share one
// database. It adds what several instances need: leases on sources (ClaimSource), and notifications (Listen)
// whenever outbox rows appear, subscriptions change or a channel's mode or block changes.
//
// Times are stored as integers in the units the SQLite store uses (Unix milliseconds for papers, nanoseconds for
// everything else), so that a store copied between the two backends keeps every instant exactly.
//
// The store lives in the first schema of the connection's search_path (set it in the URL with
// `?search_path=NAME`, or as the role's default); several deployments can share a database in separate schemas.
//
// Concurrency: a Store is safe for concurrent use, and any number of Stores, in any number of processes, may
// share one database: ingest locks the rows of its keys, leases are taken with one conditional statement.
// Look-ups (Candidates, Recent), whose cost a chat user chooses, run on a small pool of their own (LookupConns
// connections), so that however many are waiting, polling and delivery never wait for a connection behind them.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// minServerVersion is the oldest PostgreSQL accepted, as server_version_num: 13 is the oldest release the
// PostgreSQL project still supported when this store was written, and the SQL here (statement triggers with
// transition tables, EXECUTE FUNCTION, hashtextextended) needs 11 at least.
const minServerVersion = 130000

// LookupConns is the size of the look-up pool: at most this many look-ups run at once, the others wait for a
// connection within their time budget.
const LookupConns = 2

// lookupStatementTimeout is the server's own limit on a look-up statement, a backstop for a cancel request that
// never arrived (pgx cancels a statement when its context ends, over a separate connection): it is far above any
// look-up budget, which the command core enforces.
const lookupStatementTimeout = "30s"

// urlHint is the form of a store URL, for error messages.
const urlHint = "postgres://USER@HOST:PORT/DATABASE (the password in PGPASSWORD, never in the config file)"

// Store is paperboy's state in PostgreSQL. Create it with Open and release it with Close.
type Store struct {
	pool *pgxpool.Pool
	// lookups is the look-up pool. A separate pool rather than a semaphore in front of pool: pool's connections
	// are never held by a look-up, not even one waiting for its rows, and the look-up sessions carry their own
	// settings (a statement_timeout backstop, their own application_name in pg_stat_activity).
	lookups *pgxpool.Pool
	logger  *slog.Logger
	// listenConfig is the connection configuration Listen dials its dedicated connection with.
	listenConfig *pgx.ConnConfig
	// channel is the notification channel of this store's schema (see notifyChannelSQL).
	channel string
	// edits says whether Ingest queues edits of posted cards (SetCardEdits).
	edits atomic.Bool

	// beforeCommit, when set, runs inside Ingest's transaction just before COMMIT; an error aborts the
	// transaction. It exists for tests (atomicity and concurrency tests) and is never set in production.
	beforeCommit func(ctx context.Context, tx pgx.Tx) error
}

// Option configures Open.
type Option func(*options)

type options struct {
	logger *slog.Logger
	steps  []string
}

// WithLogger sets the logger of the store's background work (Listen's reconnections). The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// Open connects to the database at rawURL (postgres://USER@HOST:PORT/DATABASE?...; libpq's environment
// variables such as PGPASSWORD apply) and brings its schema up to date, under a lock so that instances starting
// together migrate once. A schema written by a newer paperboy is refused with ErrSchemaTooNew. Errors name what
// to fix and never contain the password.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	o := options{logger: slog.New(slog.DiscardHandler), steps: migrations()}
	for _, opt := range opts {
		opt(&o)
	}
	return open(ctx, rawURL, o)
}

func open(ctx context.Context, rawURL string, o options) (s *Store, err error) {
	secrets := urlSecrets(rawURL)
	defer func() {
		if err != nil {
			err = redact(fmt.Errorf("open store %s: %w", RedactURL(rawURL), err), secrets)
		}
	}()
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bad URL, want %s: %w", urlHint, err)
	}
	if cfg.ConnConfig.Password != "" {
		secrets = append(secrets, cfg.ConnConfig.Password)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "paperboy"
	}
	// A look-up either reads the full-text index and sorts the matches, or walks the newest-first order and
	// checks each paper's document until enough match. With the default random_page_cost (4, for spinning
	// disks) the planner thinks the matches' heap pages dearer than the walk's, which it prices low for
	// following the table's order but which also reads each document out of line (TOAST): a look-up of two
	// mid-frequency words then walks ten thousand papers (80 ms at 1M papers) instead of sorting two thousand
	// matches (10 ms). 1.1 is the usual value for SSDs and cached data; the URL can set another.
	if _, ok := cfg.ConnConfig.RuntimeParams["random_page_cost"]; !ok {
		cfg.ConnConfig.RuntimeParams["random_page_cost"] = "1.1"
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		registerTypes(conn.TypeMap())
		return nil
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, explain(err, cfg.ConnConfig)
	}
	defer func() {
		if err != nil {
			pool.Close()
		}
	}()
	s = &Store{pool: pool, logger: o.logger, listenConfig: cfg.ConnConfig.Copy()}
	// The listening connection says what it is in pg_stat_activity.
	s.listenConfig.RuntimeParams["application_name"] = cfg.ConnConfig.RuntimeParams["application_name"] + " (listen)"
	if err := s.checkServer(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool, o.steps); err != nil {
		return nil, err
	}
	if err := pool.QueryRow(ctx, `SELECT paperboy_notify_channel()`).Scan(&s.channel); err != nil {
		return nil, fmt.Errorf("notification channel: %w", err)
	}
	lcfg := cfg.Copy()
	lcfg.MaxConns = LookupConns
	lcfg.MinConns = 0
	lcfg.ConnConfig.RuntimeParams["application_name"] = cfg.ConnConfig.RuntimeParams["application_name"] + " (lookups)"
	lcfg.ConnConfig.RuntimeParams["statement_timeout"] = lookupStatementTimeout
	if s.lookups, err = pgxpool.NewWithConfig(ctx, lcfg); err != nil {
		return nil, explain(err, cfg.ConnConfig)
	}
	return s, nil
}

// checkServer connects once and checks what the store needs of the server: a version it supports and a schema
// to create its tables in.
func (s *Store) checkServer(ctx context.Context, cc *pgx.ConnConfig) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return explain(err, cc)
	}
	defer conn.Release()
	var num int
	var version string
	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, current_setting('server_version'), current_schema()`).
		Scan(&num, &version, &schema); err != nil {
		return explain(err, cc)
	}
	if err := checkVersion(num, version); err != nil {
		return err
	}
	if schema == nil {
		var path string
		_ = conn.QueryRow(ctx, `SHOW search_path`).Scan(&path)
		return fmt.Errorf("no schema to create tables in: search_path %q names no existing schema; create it (CREATE SCHEMA ...) or fix search_path in the URL", path)
	}
	return nil
}

// checkVersion refuses servers older than minServerVersion; num is server_version_num, version its text.
func checkVersion(num int, version string) error {
	if num < minServerVersion {
		return fmt.Errorf("PostgreSQL %s is too old: paperboy needs PostgreSQL %d or newer; upgrade the server or point the URL at a newer one",
			version, minServerVersion/10000)
	}
	return nil
}

// explain turns a connection failure into an error that says what to fix, wrapping the original.
func explain(err error, cc *pgx.ConnConfig) error {
	where := net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
	if strings.HasPrefix(cc.Host, "/") {
		where = cc.Host // a Unix socket directory
	}
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "3D000": // invalid_catalog_name
		return fmt.Errorf("database %q does not exist on %s: create it (createdb %s) or fix the database name in the URL: %w",
			cc.Database, where, cc.Database, err)
	case errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000"): // invalid_password, invalid_authorization_specification
		return fmt.Errorf("PostgreSQL at %s refused user %q: check the user in the URL and the password (PGPASSWORD), and that pg_hba.conf lets this host in: %w",
			where, cc.User, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach PostgreSQL at %s (connection refused): is the server running, and are the host and port in the URL right? %w",
			where, err)
	case isDNSError(err):
		return fmt.Errorf("cannot resolve the host %q of the URL: %w", cc.Host, err)
	}
	return fmt.Errorf("connect to PostgreSQL at %s: %w", where, err)
}

func isDNSError(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr)
}

// Close closes the connection pools; statements in flight finish first.
func (s *Store) Close() error {
	s.lookups.Close()
	s.pool.Close()
	return nil
}

// RedactURL returns rawURL with its password (in the user information or a password/sslpassword parameter)
// masked, fit for logs and status output. A string that does not parse as a URL is reduced to its scheme.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		if i := strings.Index(rawURL, "://"); i > 0 && !strings.ContainsAny(rawURL[:i], "@:/") {
			return rawURL[:i] + "://(unparsable URL)"
		}
		return "(unparsable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	changed := false
	for k := range q {
		if strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// urlSecrets lists the passwords rawURL spells out, however malformed the rest of it is, so that they can be
// scrubbed from any error text.
func urlSecrets(rawURL string) []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		out = append(out, s)
		if dec, err := url.PathUnescape(s); err == nil && dec != s {
			out = append(out, dec)
		}
		if dec, err := url.QueryUnescape(s); err == nil && dec != s {
			out = append(out, dec)
		}
	}
	if _, rest, ok := strings.Cut(rawURL, "://"); ok {
		// userinfo runs up to the last '@' before the path: a password may contain '@' and ':'.
		host := rest
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			host = rest[:i]
		}
		if at := strings.LastIndex(host, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(host[:at], ":"); ok {
				add(pw)
			}
		}
	}
	// password=... in a query string or a keyword/value connection string.
	for _, sep := range []string{"password=", "sslpassword="} {
		rest := rawURL
		for {
			i := strings.Index(strings.ToLower(rest), sep)
			if i < 0 {
				break
			}
			rest = rest[i+len(sep):]
			v := rest
			if end := strings.IndexAny(v, "& "); end >= 0 {
				v = v[:end]
			}
			add(strings.Trim(v, "'"))
		}
	}
	return out
}

// redactedError hides secrets from an error's text while keeping it inspectable with errors.Is and errors.As.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, secrets []string) error {
	if len(secrets) == 0 {
		return err
	}
	return &redactedError{err: err, secrets: secrets}
}
