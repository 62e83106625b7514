// Package config reads paperboy's TOML configuration file: every key, its default, and validation that reports
// each problem with the file's name and line. Secrets never come from the file (see Secret).
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/health"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

// Config is the whole configuration file. Secrets never live here: they come from the environment.
type Config struct {
	Store   StoreConfig    `toml:"store"`
	Log     LogConfig      `toml:"log"`
	Fetch   FetchConfig    `toml:"fetch"`
	Sources []SourceConfig `toml:"sources"`
	// Channels seed channels and their subscriptions; they are kept in sync with the store at start.
	Channels []ChannelConfig `toml:"channels"`
	Delivery DeliveryConfig  `toml:"delivery"`
	Console  ConsoleConfig   `toml:"console"`
	HTTP     HTTPConfig      `toml:"http"`
	Slack    SlackConfig     `toml:"slack"`
	Discord  DiscordConfig   `toml:"discord"`
	Import   ImportConfig    `toml:"import"`
	Commands CommandsConfig  `toml:"commands"`
	Health   HealthConfig    `toml:"health"`

	// path is the file the config was read from, for error messages.
	path string
	// pos is where each key is set in the file, for messages about values found wrong after decoding.
	pos *positions
}

// StoreConfig is the [store] table.
type StoreConfig struct {
	// Path is the SQLite file; relative paths are relative to the working directory.
	Path string `toml:"path"`
	// URL selects PostgreSQL ("postgres://user@host:5432/db"); it may not hold a password (use
	// PAPERBOY_DATABASE_URL or PGPASSWORD). PAPERBOY_DATABASE_URL in the environment wins over both keys.
	URL string `toml:"url"`
}

// DatabaseURLEnv names the environment variable (or, with _FILE, the file) that selects PostgreSQL.
const DatabaseURLEnv = "PAPERBOY_DATABASE_URL"

// Database is the store a configuration selects.
type Database struct {
	// Postgres is true for PostgreSQL at URL, false for the SQLite file at Path.
	Postgres bool
	Path     string
	URL      string
	// FromEnv says the URL came from DatabaseURLEnv.
	FromEnv bool
}

// Database resolves the store: PostgreSQL when DatabaseURLEnv or [store] url is set (the environment wins), else
// the SQLite file of [store] path.
func (c *Config) Database() (Database, error) {
	env, err := Secret(DatabaseURLEnv)
	if err != nil {
		return Database{}, err
	}
	switch {
	case env != "":
		return Database{Postgres: true, URL: env, FromEnv: true}, nil
	case c.Store.URL != "":
		return Database{Postgres: true, URL: c.Store.URL}, nil
	}
	return Database{Path: c.Store.Path}, nil
}

// String describes the store for people, never showing a password.
func (d Database) String() string {
	if !d.Postgres {
		return "SQLite file " + d.Path
	}
	where := "[store] url"
	if d.FromEnv {
		where = DatabaseURLEnv
	}
	return fmt.Sprintf("PostgreSQL %s (from %s)", RedactURL(d.URL), where)
}

// RedactURL shows a database URL without its password; a key=value connection string is not shown at all, since
// it may hold one anywhere.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "(connection string)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if q.Has("password") {
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// LogConfig is the [log] table.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// FetchConfig is the [fetch] table: settings of the one HTTP fetcher all sources share.
type FetchConfig struct {
	UserAgent    string   `toml:"user_agent"`
	Timeout      Duration `toml:"timeout"`
	MaxBodyBytes int64    `toml:"max_body_bytes"`
	// ArxivAPIInterval is the minimum gap between requests to export.arxiv.org (arXiv asks for 3 s).
	ArxivAPIInterval Duration `toml:"arxiv_api_interval"`
	// AllowPrivateNetworks lets feeds (and their redirects) reach loopback, private, link-local and other non-public
	// addresses, refused by default (sources.FetcherOptions.AllowPrivateNetworks).
	AllowPrivateNetworks bool `toml:"allow_private_networks"`
}

// SourceConfig is one [[sources]] entry.
type SourceConfig struct {
	Name string `toml:"name"`
	// Kind is a registered source kind (sources.Kinds).
	Kind     string   `toml:"kind"`
	Interval Duration `toml:"interval"`
	URL      string   `toml:"url"`
	// Categories are arXiv categories (kind "arxiv"), joined with "+" in the feed URL.
	Categories []string `toml:"categories"`
	// Query is the arXiv API search_query (kind "arxiv-api").
	Query      string `toml:"query"`
	MaxResults int    `toml:"max_results"`
	// MinUpvotes drops Hugging Face papers below this many upvotes (kind "hf-daily").
	MinUpvotes int `toml:"min_upvotes"`
	// Days is how many recent UTC days of Hugging Face daily papers each poll reads (kind "hf-daily").
	Days int `toml:"days"`
	// History is how far back the source's papers are fetched through the arXiv API on first start and after a
	// longer gap, and stored as history (kinds "arxiv" and "arxiv-api"); 0 (the default) fetches none.
	History Window `toml:"history"`
}

// ImportConfig is the [import] table: bulk imports of history (paperboy import).
type ImportConfig struct {
	// OAIURL is the OAI-PMH base URL paperboy import arxiv harvests (a mirror, or a test server).
	OAIURL string `toml:"oai_url"`
}

// Window is a span of time written as a number of days ("30d") or a Go duration ("720h").
type Window time.Duration

// UnmarshalText parses "30d" or a Go duration string; the decoder attaches the line number to any error.
func (w *Window) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100000 {
			return fmt.Errorf("invalid window %q (use e.g. \"30d\" or \"720h\")", b)
		}
		*w = Window(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("invalid window %q (use e.g. \"30d\" or \"720h\")", b)
	}
	*w = Window(v)
	return nil
}

// DeliveryConfig is the [delivery] table.
type DeliveryConfig struct {
	// HourlyBudget caps the messages an instant-mode channel gets per hour; a burst beyond it is posted as one
	// overflow digest when the hour allows. 0 means the default; -1 means no cap.
	HourlyBudget int `toml:"hourly_budget"`
	// DigestCards is how many papers a digest message shows; the rest are counted.
	DigestCards int `toml:"digest_cards"`
	// Workers is how many channels of one platform are sent to at once.
	Workers int `toml:"workers"`
	// Edits turns the editing of posted cards on (the default, when unset) or off: a card changes in place when its
	// paper gets a new version, an upvote milestone, a code link, a journal reference or DOI, or categories. Use
	// EditsEnabled to read it.
	Edits *bool `toml:"edits"`
	// KeepSent is how long a posted paper's outbox row is kept ("90d"); older ones are pruned by paperboy run to a
	// compact record of what was posted, so a paper is still announced once ever per channel.
	KeepSent Window `toml:"keep_sent"`
}

// EditsEnabled reports whether posted cards are edited when their papers change ([delivery] edits, default true).
func (d DeliveryConfig) EditsEnabled() bool { return d.Edits == nil || *d.Edits }

// CommandsConfig is the [commands] table: what one /papers command, or one user, may cost the bot.
type CommandsConfig struct {
	// LookupTimeout is the time budget of one look-up (search, subscribe's preview, list's counts, backfill):
	// past it the query is cancelled, in the database too, and the user is asked to narrow it.
	LookupTimeout Duration `toml:"lookup_timeout"`
	// PerUserRate is how many commands a minute one user may run on average; -1 for no limit.
	PerUserRate int `toml:"per_user_rate"`
	// PerUserBurst is how many commands one user may run in a quick row before PerUserRate applies.
	PerUserBurst int `toml:"per_user_burst"`
}

// ConsoleConfig is the [console] table: the terminal platform, always available, the default without tokens.
type ConsoleConfig struct {
	Format string `toml:"format"` // text or json
	Output string `toml:"output"` // file to append to; "" is standard output
}

// HTTPConfig is the [http] table: the operations endpoint.
type HTTPConfig struct {
	// Listen is the address of /healthz and /metrics, e.g. "127.0.0.1:9090"; "" disables them.
	Listen string `toml:"listen"`
	// HealthMaxSilence: /healthz fails when no source has polled successfully for this long.
	HealthMaxSilence Duration `toml:"health_max_silence"`
}

// HealthConfig is the [health] table: when a source counts as late, and where notices about it go (bot/health).
type HealthConfig struct {
	// LateAfter is how long after an arXiv announcement a feed may still serve the previous batch before the
	// source is late.
	LateAfter Duration `toml:"late_after"`
	// NotifyAfter is how long a source must have been late or failing before a notice is posted.
	NotifyAfter Duration `toml:"notify_after"`
	// NotifyChannel, "PLATFORM:ID", receives one message when a source turns late or failing for longer than
	// NotifyAfter and one when it recovers; "" posts none.
	NotifyChannel string `toml:"notify_channel"`
}

// SlackConfig is the [slack] table. The tokens come from the environment: SLACK_BOT_TOKEN (xoxb-),
// SLACK_APP_TOKEN (xapp-, Socket Mode) and SLACK_SIGNING_SECRET (HTTP mode), or the files named by the same
// variables with a _FILE suffix.
type SlackConfig struct {
	// Mode is how slash commands arrive: "socket" (Socket Mode, no public URL; the default) or "http".
	Mode string `toml:"mode"`
	// Listen is the address of POST /slack/commands in http mode.
	Listen string `toml:"listen"`
	// Managers, when set, are the only user ids allowed to manage subscriptions; otherwise any channel member.
	Managers []string `toml:"managers"`
	// APIURL overrides the Web API base URL (tests, proxies), e.g. "http://127.0.0.1:8080/api/".
	APIURL string `toml:"api_url"`
}

// DiscordConfig is the [discord] table. The bot token comes from DISCORD_BOT_TOKEN (or DISCORD_BOT_TOKEN_FILE).
type DiscordConfig struct {
	// Mode is how interactions arrive: "gateway" (the default) or "http" (an interactions endpoint).
	Mode string `toml:"mode"`
	// Listen is the address of POST /discord/interactions in http mode.
	Listen string `toml:"listen"`
	// PublicKey is the application's Ed25519 public key (hex), to verify interactions in http mode.
	PublicKey string `toml:"public_key"`
	// ApplicationID is the application's id (a snowflake).
	ApplicationID string `toml:"application_id"`
	// GuildID, when set, registers /papers in that guild only (instant, for development) instead of globally.
	GuildID string `toml:"guild_id"`
	// APIURL overrides the REST base URL (tests), e.g. "http://127.0.0.1:8080/api/v10/".
	APIURL string `toml:"api_url"`
}

// ChannelConfig is one [[channels]] entry: subscriptions managed by the configuration file rather than by commands.
type ChannelConfig struct {
	// Platform is "slack", "discord" or "console".
	Platform string `toml:"platform"`
	// ID is the platform's channel id (Slack C0123ABCD, a Discord snowflake, any name for console).
	ID            string   `toml:"id"`
	Subscriptions []string `toml:"subscriptions"`
	// Canonical holds the subscriptions' canonical forms, filled by Load once it has parsed them (so that
	// starting with 100k of them parses each once, not again to sync them with the store).
	Canonical []string `toml:"-"`
}

// Duration is a time.Duration written as a Go duration string ("30m", "1h30m") in the config.
type Duration time.Duration

// UnmarshalText parses a Go duration string; the decoder attaches the line number to any error.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. \"30m\" or \"1h\")", b)
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", b)
	}
	*d = Duration(v)
	return nil
}

// Defaults applied to keys left out.
const (
	DefaultStorePath        = "paperboy.db"
	DefaultInterval         = 30 * time.Minute
	MinInterval             = time.Minute
	DefaultArxivAPIInterval = 3 * time.Second
	// DefaultHourlyBudget is [delivery] hourly_budget when left out: messages per hour per instant channel.
	DefaultHourlyBudget = 20
	// DefaultKeepSent is [delivery] keep_sent when left out; MinKeepSent its least, which keeps the last hour's
	// messages that hourly_budget counts, and a day's for a digest's look back.
	DefaultKeepSent = 90 * 24 * time.Hour
	MinKeepSent     = 24 * time.Hour
	// MaxHistory bounds [[sources]] history: a year of a source's papers through the arXiv API; more is the OAI-PMH
	// import's job.
	MaxHistory = 366 * 24 * time.Hour
)

var (
	sourceNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	// Slack ids: a letter for the type (C public channel, G private channel or group, D direct message; U and W
	// users) and then capital letters and digits.
	slackChannelRe = regexp.MustCompile(`^[CGD][A-Z0-9]{8,}$`)
	slackUserRe    = regexp.MustCompile(`^[UW][A-Z0-9]{8,}$`)
	// A Discord snowflake: a 64-bit number, 17 to 20 digits for any id made since 2015.
	snowflakeRe = regexp.MustCompile(`^[0-9]{17,20}$`)
)

// discordIDHint says where Discord shows an id.
func discordIDHint(what string) string {
	switch what {
	case "application_id":
		return "Developer Portal → your application → General Information → Application ID"
	case "guild_id":
		return "turn on Developer Mode in User Settings → Advanced, then right-click the server → Copy Server ID"
	}
	return "turn on Developer Mode in User Settings → Advanced, then right-click the channel → Copy Channel ID"
}

// checkListen accepts "" (off) and host:port with a numeric port; the host may be empty (all interfaces).
func checkListen(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			err = fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
	}
	if err == nil {
		return nil
	}
	example := `"127.0.0.1:8080" or ":8080"`
	if n, aerr := strconv.Atoi(addr); aerr == nil && n > 0 && n <= 65535 {
		example = fmt.Sprintf(`"127.0.0.1:%d" (this machine only) or ":%d" (every interface)`, n, n)
	}
	return fmt.Errorf("%q is not host:port; write e.g. %s", addr, example)
}

// commonSourceKeys are the [[sources]] keys of every kind.
var commonSourceKeys = []string{"name", "kind", "interval"}

// checkKindKeys refuses the keys source i sets that its kind does not read (query on arxiv, categories on
// hf-daily): silence would make them look like they work. It reports whether all were fine.
func (c *Config) checkKindKeys(i int, s SourceConfig, bad func(int, string, ...any)) bool {
	ok := true
	own := sources.KindKeys(s.Kind)
	for _, k := range c.pos.keys("sources", strconv.Itoa(i)) {
		if slices.Contains(commonSourceKeys, k) || slices.Contains(own, k) {
			continue
		}
		var readers []string
		for _, kind := range sources.Kinds() {
			if slices.Contains(sources.KindKeys(kind), k) {
				readers = append(readers, kind)
			}
		}
		bad(c.keyLine("sources", i, k), "source %q: %s does not apply to kind %s (%s is for %s sources; %s reads %s): remove it or change kind",
			s.Name, k, s.Kind, k, orList(readers), s.Kind, strings.Join(append(slices.Clone(commonSourceKeys), own...), ", "))
		ok = false
	}
	return ok
}

// ConfigError is a problem in the configuration file; Line is 0 when the problem has no single line.
type ConfigError struct {
	Path string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// Load reads and validates the TOML file at path; platforms are the registered platform names, which [[channels]]
// entries may name. Unknown keys, wrong types and bad values are errors that
// name the file and line. All problems found by validation are returned together (errors.Join). A missing file
// is a *NotFoundError, which wraps fs.ErrNotExist.
func Load(path string, platforms []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		abs, aerr := filepath.Abs(path)
		if aerr != nil {
			abs = path
		}
		return nil, &NotFoundError{Path: abs, err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, platforms)
}

// NotFoundError is Load's error when there is no file at Path.
type NotFoundError struct {
	// Path is where Load looked, made absolute.
	Path string
	err  error
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no configuration file at %s; to start, copy the example next to it and edit it: cp config.example.toml paperboy.toml", e.Path)
}

// Unwrap returns the file system's error (fs.ErrNotExist).
func (e *NotFoundError) Unwrap() error { return e.err }

// Parse is Load on bytes already read; path is only used in messages.
func Parse(path string, data []byte, platforms []string) (*Config, error) {
	cfg := &Config{path: path}
	// The file is parsed once more by the TOML library's own parser to find each key's line and check its type
	// before decoding: the decoder reports some errors without a line, names Go types, and takes a bare number
	// for a duration. A syntax error is left to the decoder, which reports it with its position.
	var pre []error
	ps, err := scanPositions(data)
	if err == nil {
		pre = checkSettings(path, ps)
	}
	cfg.pos = ps
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		if len(pre) > 0 {
			return nil, errors.Join(pre...)
		}
		return nil, decodeError(path, err)
	}
	if cfg.Store.Path != "" && cfg.Store.URL != "" {
		return nil, &ConfigError{Path: path, Line: cfg.keyLine("store", -1, "url"),
			Msg: "store: set either path (SQLite) or url (PostgreSQL), not both"}
	}
	cfg.applyDefaults()
	// When the file could still be decoded (a bare number for a duration decodes, as nanoseconds), the values
	// are validated too, so that one run of check lists every problem; a line already reported is not reported
	// again for the value it decoded to.
	if errs := mergeByLine(pre, cfg.validate(platforms)); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// mergeByLine adds to first the errors of then on lines first has not reported, ordered by line (errors of no
// single line last).
func mergeByLine(first, then []error) []error {
	lines := map[int]bool{}
	for _, e := range first {
		var ce *ConfigError
		if errors.As(e, &ce) {
			lines[ce.Line] = true
		}
	}
	out := slices.Clone(first)
	for _, e := range then {
		var ce *ConfigError
		if errors.As(e, &ce) && ce.Line > 0 && lines[ce.Line] {
			continue
		}
		out = append(out, e)
	}
	line := func(e error) int {
		var ce *ConfigError
		if errors.As(e, &ce) && ce.Line > 0 {
			return ce.Line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(out, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
	return out
}

// decodeError turns the decoder's error into ConfigErrors in the file's words. checkSettings has found unknown
// keys and wrong types already; what is left is mostly syntax.
func decodeError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		errs := make([]error, 0, len(strict.Errors))
		for i := range strict.Errors {
			row, _ := strict.Errors[i].Position()
			errs = append(errs, &ConfigError{Path: path, Line: row,
				Msg: fmt.Sprintf("unknown key %q", strings.Join(strict.Errors[i].Key(), "."))})
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if strings.Contains(msg, "struct field") || strings.Contains(msg, "of type") {
			// "cannot decode TOML string into struct field config.X.Y of type int64": Go's names mean nothing
			// to the person editing the file.
			msg = fmt.Sprintf("%s: a value of the wrong type", strings.Join(de.Key(), "."))
			if t, _, ok := resolve(de.Key()); ok {
				msg = fmt.Sprintf("%s: want %s", strings.Join(de.Key(), "."), typeName(t))
			}
		}
		return &ConfigError{Path: path, Line: row, Msg: msg}
	}
	return &ConfigError{Path: path, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

func (c *Config) applyDefaults() {
	if c.Store.Path == "" && c.Store.URL == "" {
		c.Store.Path = DefaultStorePath
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.Fetch.ArxivAPIInterval == 0 {
		c.Fetch.ArxivAPIInterval = Duration(DefaultArxivAPIInterval)
	}
	if c.Delivery.HourlyBudget == 0 {
		c.Delivery.HourlyBudget = DefaultHourlyBudget
	}
	if c.Delivery.DigestCards == 0 {
		c.Delivery.DigestCards = delivery.DefaultDigestCards
	}
	if c.Delivery.Workers == 0 {
		c.Delivery.Workers = delivery.DefaultWorkers
	}
	if c.Delivery.KeepSent == 0 {
		c.Delivery.KeepSent = Window(DefaultKeepSent)
	}
	if c.Console.Format == "" {
		c.Console.Format = "text"
	}
	if c.Commands.LookupTimeout == 0 {
		c.Commands.LookupTimeout = Duration(command.DefaultLookupTimeout)
	}
	if c.Commands.PerUserRate == 0 {
		c.Commands.PerUserRate = command.DefaultPerUserRate
	}
	if c.Commands.PerUserBurst == 0 {
		c.Commands.PerUserBurst = command.DefaultPerUserBurst
	}
	if c.Slack.Mode == "" {
		c.Slack.Mode = "socket"
	}
	if c.Discord.Mode == "" {
		c.Discord.Mode = "gateway"
	}
	if c.Import.OAIURL == "" {
		c.Import.OAIURL = sources.DefaultOAIBase
	}
	if c.Health.LateAfter == 0 {
		c.Health.LateAfter = Duration(health.DefaultLateAfter)
	}
	if c.Health.NotifyAfter == 0 {
		c.Health.NotifyAfter = Duration(health.DefaultNotifyAfter)
	}
	if c.HTTP.HealthMaxSilence == 0 {
		c.HTTP.HealthMaxSilence = Duration(6 * time.Hour)
	}
	for i := range c.Sources {
		if c.Sources[i].Interval == 0 {
			c.Sources[i].Interval = Duration(DefaultInterval)
		}
	}
}

func (c *Config) validate(platforms []string) []error {
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, &ConfigError{Path: c.path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		bad(c.keyLine("log", -1, "level"), "log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad(c.keyLine("log", -1, "format"), "log.format %q: want text or json", c.Log.Format)
	}
	if c.Delivery.HourlyBudget < -1 {
		bad(c.keyLine("delivery", -1, "hourly_budget"), "delivery.hourly_budget must be positive, or -1 for no cap")
	}
	if lt := time.Duration(c.Commands.LookupTimeout); lt < 10*time.Millisecond || lt > time.Minute {
		bad(c.keyLine("commands", -1, "lookup_timeout"), "commands.lookup_timeout %s: want 10ms to 1m", lt)
	}
	if r := c.Commands.PerUserRate; r < -1 || r > 6000 {
		bad(c.keyLine("commands", -1, "per_user_rate"), "commands.per_user_rate %d: want 1 to 6000 commands a minute, or -1 for no limit", r)
	}
	if b := c.Commands.PerUserBurst; b < 1 || b > 1000 {
		bad(c.keyLine("commands", -1, "per_user_burst"), "commands.per_user_burst %d: want 1 to 1000", b)
	}
	if c.Delivery.DigestCards < 1 || c.Delivery.DigestCards > 10 {
		bad(c.keyLine("delivery", -1, "digest_cards"), "delivery.digest_cards must be 1 to 10 (Discord shows at most 10 embeds)")
	}
	if c.Delivery.Workers < 1 || c.Delivery.Workers > 64 {
		bad(c.keyLine("delivery", -1, "workers"), "delivery.workers must be 1 to 64")
	}
	if k := time.Duration(c.Delivery.KeepSent); k < MinKeepSent {
		bad(c.keyLine("delivery", -1, "keep_sent"), "delivery.keep_sent %s is below the minimum of 1d", k)
	}
	if c.Console.Format != "text" && c.Console.Format != "json" {
		bad(c.keyLine("console", -1, "format"), "console.format %q: want text or json", c.Console.Format)
	}
	if c.Slack.Mode != "socket" && c.Slack.Mode != "http" {
		bad(c.keyLine("slack", -1, "mode"), "slack.mode %q: want socket or http", c.Slack.Mode)
	}
	if c.Slack.Mode == "http" && c.Slack.Listen == "" {
		bad(c.keyLine("slack", -1, "mode"), "slack.mode is http but slack.listen is empty")
	}
	for _, l := range []struct{ table, addr string }{{"http", c.HTTP.Listen}, {"slack", c.Slack.Listen}, {"discord", c.Discord.Listen}} {
		if err := checkListen(l.addr); err != nil {
			bad(c.keyLine(l.table, -1, "listen"), "%s.listen: %v", l.table, err)
		}
	}
	for i, m := range c.Slack.Managers {
		if !slackUserRe.MatchString(m) {
			bad(c.keyLine("slack", -1, "managers"), "slack.managers[%d] %q: want a Slack user id like U0123ABCD (a profile's ⋮ menu → Copy member ID)", i, m)
		}
	}
	for _, id := range []struct{ key, value string }{{"application_id", c.Discord.ApplicationID}, {"guild_id", c.Discord.GuildID}} {
		if id.value != "" && !snowflakeRe.MatchString(id.value) {
			bad(c.keyLine("discord", -1, id.key), "discord.%s %q: want a Discord id, a snowflake of 17 to 20 digits (%s)", id.key, id.value, discordIDHint(id.key))
		}
	}
	if c.Discord.Mode != "gateway" && c.Discord.Mode != "http" {
		bad(c.keyLine("discord", -1, "mode"), "discord.mode %q: want gateway or http", c.Discord.Mode)
	}
	if c.Discord.Mode == "http" && (c.Discord.Listen == "" || c.Discord.PublicKey == "" || c.Discord.ApplicationID == "") {
		bad(c.keyLine("discord", -1, "mode"), "discord.mode is http: discord.listen, public_key and application_id are required")
	}
	if u := c.Store.URL; u != "" {
		pu, err := url.Parse(u)
		switch {
		case err != nil || (pu.Scheme != "postgres" && pu.Scheme != "postgresql") || pu.Host == "":
			bad(c.keyLine("store", -1, "url"), "store.url: want postgres://USER@HOST:PORT/DATABASE")
		case pu.Query().Has("password"):
			bad(c.keyLine("store", -1, "url"), "store.url holds a password: put it in %s or PGPASSWORD, never in the file", DatabaseURLEnv)
		default:
			if _, ok := pu.User.Password(); ok {
				bad(c.keyLine("store", -1, "url"), "store.url holds a password: put it in %s or PGPASSWORD, never in the file", DatabaseURLEnv)
			}
		}
	}
	if err := checkOAIURL(c.Import.OAIURL); err != nil {
		bad(c.keyLine("import", -1, "oai_url"), "import.oai_url: %v", err)
	}
	if c.Fetch.MaxBodyBytes < 0 {
		bad(c.keyLine("fetch", -1, "max_body_bytes"), "fetch.max_body_bytes must not be negative")
	}
	if la := time.Duration(c.Health.LateAfter); la >= 24*time.Hour {
		bad(c.keyLine("health", -1, "late_after"), "health.late_after %s: want less than a day (the next announcement would be due)", la)
	}
	if nc := c.Health.NotifyChannel; nc != "" {
		if _, err := c.Health.NotifyRef(platforms); err != nil {
			bad(c.keyLine("health", -1, "notify_channel"), "health.notify_channel %q: %v", nc, err)
		}
	}
	if len(c.Sources) == 0 {
		bad(0, "no [[sources]]: configure at least one feed (see config.example.toml)")
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		line := func(key string) int { return c.keyLine("sources", i, key) }
		switch {
		case s.Name == "":
			bad(line(""), "sources[%d]: name is required", i)
		case !sourceNameRe.MatchString(s.Name):
			bad(line("name"), "source name %q: use lowercase letters, digits, '-', '_' or '.'", s.Name)
		case seen[s.Name]:
			bad(line("name"), "source name %q is used twice", s.Name)
		}
		seen[s.Name] = true
		switch {
		case s.Kind == "":
			bad(line(""), "source %q: kind is required (%s)", s.Name, sources.KindList())
		case !slices.Contains(sources.Kinds(), s.Kind):
			bad(line("kind"), "source %q: unknown source kind %q (want %s)", s.Name, s.Kind, sources.KindList())
		default:
			ok := c.checkKindKeys(i, s, bad)
			if slices.Contains(sources.KindKeys(s.Kind), "categories") {
				for _, cat := range s.Categories {
					if err := sources.CheckArxivCategory(cat); err != nil {
						bad(line("categories"), "source %q: categories: %v", s.Name, err)
						ok = false // the sources package's own check below would say it again
					}
				}
			}
			if s.Name != "" && ok {
				if err := s.SourceConfig().Validate(); err != nil {
					bad(line(""), "%v", err)
				}
			}
		}
		if s.History != 0 && slices.Contains(sources.KindKeys(s.Kind), "history") {
			switch {
			case time.Duration(s.History) > MaxHistory:
				bad(line("history"), "source %q: history %s is beyond the %s the arXiv API can page through for one query; use paperboy import arxiv",
					s.Name, time.Duration(s.History), MaxHistory)
			default:
				if _, err := s.SourceConfig().HistoryQuery(); err != nil {
					bad(line("history"), "source %q: %v", s.Name, err)
				}
			}
		}
		if time.Duration(s.Interval) < MinInterval {
			bad(line("interval"), "source %q: interval %s is below the minimum of %s", s.Name, time.Duration(s.Interval), MinInterval)
		}
	}
	chans := map[string]bool{}
	for i, ch := range c.Channels {
		line := func(key string) int { return c.keyLine("channels", i, key) }
		if !slices.Contains(platforms, ch.Platform) {
			bad(line("platform"), "channels[%d]: platform %q: want %s", i, ch.Platform, orList(platforms))
		}
		switch {
		case strings.TrimSpace(ch.ID) == "" || strings.ContainsAny(ch.ID, " :"):
			bad(line("id"), "channels[%d]: id %q: want the platform's channel id", i, ch.ID)
		case ch.Platform == "slack" && strings.HasPrefix(ch.ID, "#"):
			bad(line("id"), "channels[%d]: id %q is a channel name; want the Slack channel id, like C0123ABCD (in Slack: the channel's name → About → Channel ID)", i, ch.ID)
		case ch.Platform == "slack" && !slackChannelRe.MatchString(ch.ID):
			bad(line("id"), "channels[%d]: id %q: want a Slack channel id: C, G or D then capital letters and digits, like C0123ABCD (in Slack: the channel's name → About → Channel ID)", i, ch.ID)
		case ch.Platform == "discord" && !snowflakeRe.MatchString(ch.ID):
			bad(line("id"), "channels[%d]: id %q: want a Discord channel id, a snowflake of 17 to 20 digits (%s)", i, ch.ID, discordIDHint("channel"))
		}
		ref := ch.Platform + ":" + ch.ID
		if chans[ref] {
			bad(line("id"), "channel %s is configured twice", ref)
		}
		chans[ref] = true
		canon := make([]string, 0, len(ch.Subscriptions))
		for _, q := range ch.Subscriptions {
			parsed, err := filters.Parse(q)
			if err != nil {
				bad(line("subscriptions"), "channel %s: subscription %q: %v", ref, q, err)
				continue
			}
			canon = append(canon, parsed.String())
		}
		c.Channels[i].Canonical = canon
	}
	return errs
}

// NotifyRef is [health] notify_channel as a channel; platforms are the registered platform names.
func (h HealthConfig) NotifyRef(platforms []string) (channel.Ref, error) {
	p, id, ok := strings.Cut(h.NotifyChannel, ":")
	switch {
	case !ok || strings.TrimSpace(id) == "" || strings.ContainsAny(id, " :"):
		return channel.Ref{}, fmt.Errorf("want PLATFORM:ID, e.g. \"slack:C0123ABCD\"")
	case !slices.Contains(platforms, p):
		return channel.Ref{}, fmt.Errorf("platform %q: want %s", p, orList(platforms))
	}
	return channel.Ref{Platform: p, ID: id}, nil
}

// Secret reads a secret from the environment variable name, or from the file named by name_FILE (for Docker and
// systemd credentials). It returns "" when neither is set. Secrets are never logged.
func Secret(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return strings.TrimSpace(v), nil
	}
	if f := os.Getenv(name + "_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("read %s_FILE: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// SourceConfig converts the file's source entry into the sources package's config.
func (s SourceConfig) SourceConfig() sources.Config {
	return sources.Config{
		Name:       s.Name,
		Kind:       s.Kind,
		URL:        s.URL,
		Categories: s.Categories,
		Query:      s.Query,
		MaxResults: s.MaxResults,
		MinUpvotes: s.MinUpvotes,
		Days:       s.Days,
	}
}

// keyLine returns the line of key inside the table (or the index-th entry of the array of tables) named table,
// so that problems found after decoding still point at a line; key "" means the table itself. Without the key it
// is the table's line, and 0 when the file does not write the table either (the message then still says which).
func (c *Config) keyLine(table string, index int, key string) int {
	path := strings.Split(table, ".")
	if index >= 0 {
		path = append(path, strconv.Itoa(index))
	}
	if key != "" {
		path = append(path, key)
	}
	return c.pos.line(path...)
}

// checkOAIURL accepts an absolute http(s) URL without a query, to which the harvester adds its own.
func checkOAIURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q must not have a query or fragment", s)
	}
	return nil
}

// orList joins names for a message: "slack, discord or console".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Warning is a problem that does not stop paperboy but leaves part of the configuration doing nothing.
type Warning struct {
	Path string
	Line int
	Msg  string
}

func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d: warning: %s", w.Path, w.Line, w.Msg)
	}
	return fmt.Sprintf("%s: warning: %s", w.Path, w.Msg)
}

// UnservedChannels warns about each [[channels]] entry whose platform is off; off maps a platform that is off to
// why ("SLACK_BOT_TOKEN is not set"). Such a channel keeps its subscriptions but gets nothing until the platform
// is on.
func (c *Config) UnservedChannels(off map[string]string) []Warning {
	var out []Warning
	for i, ch := range c.Channels {
		why, isOff := off[ch.Platform]
		if !isOff {
			continue
		}
		out = append(out, Warning{Path: c.path, Line: c.keyLine("channels", i, "platform"),
			Msg: fmt.Sprintf("channel %s:%s cannot be served: %s is off (%s)", ch.Platform, ch.ID, ch.Platform, why)})
	}
	return out
}
