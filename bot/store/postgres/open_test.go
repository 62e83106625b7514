package postgres

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

func TestMigrations(t *testing.T) {
	t.Parallel()
	base := migrations()
	extra := append(slices.Clone(base), `CREATE TABLE future_step (id text PRIMARY KEY)`)

	t.Run("fresh schema gets every step", func(t *testing.T) {
		t.Parallel()
		s, _ := openTest(t)
		if got := schemaVersion(t, s); got != len(base) {
			t.Fatalf("version = %d, want %d", got, len(base))
		}
		for _, table := range []string{"papers", "fetch_state", "source_state", "source_leases", "channels", "subscriptions", "outbox", "counters"} {
			var n int
			if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`, table).Scan(&n); err != nil || n != 1 {
				t.Errorf("table %s: count %d, %v", table, n, err)
			}
		}
	})

	t.Run("reopening an up-to-date schema changes nothing", func(t *testing.T) {
		t.Parallel()
		s, u := openTest(t)
		mustIngest(t, s, "a", []paper.Paper{arxiv("2609.00001", t0, paper.AnnounceNew, "T", "A")}, nil, t0)
		s2 := openURL(t, u)
		if got := schemaVersion(t, s2); got != len(base) {
			t.Errorf("version after reopen = %d", got)
		}
		if n, err := s2.count(t.Context()); err != nil || n != 1 {
			t.Errorf("Count after reopen = %d, %v", n, err)
		}
	})

	t.Run("appended step runs once", func(t *testing.T) {
		t.Parallel()
		u := newSchema(t)
		openURL(t, u)
		for range 2 {
			s, err := open(t.Context(), u, testOptions(extra))
			if err != nil {
				t.Fatalf("open with appended step: %v", err)
			}
			if got := schemaVersion(t, s); got != len(extra) {
				t.Errorf("version = %d, want %d", got, len(extra))
			}
			s.Close()
		}
	})

	t.Run("newer schema is refused", func(t *testing.T) {
		t.Parallel()
		u := newSchema(t)
		s, err := open(t.Context(), u, testOptions(extra))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := Open(t.Context(), u); !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("Open of a newer schema: err = %v, want ErrSchemaTooNew", err)
		}
	})

	t.Run("failing step rolls back to the previous version", func(t *testing.T) {
		t.Parallel()
		u := newSchema(t)
		bad := append(slices.Clone(base), `CREATE TABLE half (a int); SELECT no_such_function()`)
		if _, err := open(t.Context(), u, testOptions(bad)); err == nil {
			t.Fatal("open with a failing step succeeded")
		}
		s := openURL(t, u)
		if got := schemaVersion(t, s); got != len(base) {
			t.Errorf("version = %d, want %d", got, len(base))
		}
		var n int
		if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'half'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("table of the failed step exists: %d, %v", n, err)
		}
	})

	t.Run("instances starting together migrate once", func(t *testing.T) {
		t.Parallel()
		u := newSchema(t)
		// The appended step would fail if run twice (the table exists), and counts its runs.
		counted := append(slices.Clone(base), `CREATE TABLE migrate_runs (n int); INSERT INTO migrate_runs VALUES (1)`)
		const instances = 4
		var wg sync.WaitGroup
		errs := make([]error, instances)
		stores := make([]*Store, instances)
		for i := range instances {
			wg.Go(func() { stores[i], errs[i] = open(t.Context(), u, testOptions(counted)) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
				continue
			}
			defer func() { _ = stores[i].Close() }()
		}
		if t.Failed() {
			return
		}
		var runs int
		if err := stores[0].pool.QueryRow(t.Context(), `SELECT count(*) FROM migrate_runs`).Scan(&runs); err != nil || runs != 1 {
			t.Errorf("the last step ran %d times, %v; want once", runs, err)
		}
		if got := schemaVersion(t, stores[0]); got != len(counted) {
			t.Errorf("version = %d, want %d", got, len(counted))
		}
	})
}

func testOptions(steps []string) options {
	o := options{steps: steps}
	WithLogger(nil)(&o)
	return o
}

// TestOpenErrors checks that each way of pointing the store at the wrong place gives an error naming what to fix,
// without the password.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	good := testURL(t)
	const secret = "s3cr3t-Pa55word"
	tests := []struct {
		name string
		url  string
		want []string
	}{
		{"unparsable URL", "postgres://paperboy:" + secret + "@127.0.0.1:notaport/test", []string{"bad URL", "postgres://USER@HOST:PORT/DATABASE"}},
		{"not a URL at all", "postgres://paperboy:" + secret + "@[::1/test", []string{"bad URL"}},
		{"connection refused", "postgres://paperboy:" + secret + "@127.0.0.1:1/test?connect_timeout=5", []string{"cannot reach PostgreSQL at 127.0.0.1:1", "connection refused", "server running"}},
		{"missing database", withParam(t, withUser(t, good, "postgres", secret, "paperboy_no_such_db"), "connect_timeout", "5"), []string{`database "paperboy_no_such_db" does not exist`, "createdb"}},
		{"unknown user", withParam(t, withUser(t, good, "paperboy_no_such_user", secret, ""), "connect_timeout", "5"), []string{`refused user "paperboy_no_such_user"`, "PGPASSWORD"}},
		{"password as a parameter", withParam(t, withUser(t, good, "paperboy_no_such_user", "", ""), "password", secret), []string{`refused user "paperboy_no_such_user"`}},
		{"schema that does not exist", withParam(t, good, "search_path", "paperboy_no_such_schema"), []string{"no schema to create tables in", "CREATE SCHEMA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(t.Context(), tt.url)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded", RedactURL(tt.url))
			}
			msg := err.Error()
			t.Log(msg)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\ndoes not say %q", msg, w)
				}
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "s3cr3t") {
				t.Errorf("error shows the password: %q", msg)
			}
		})
	}
}

// withUser returns rawURL with the user, password (if not empty) and database (if not empty) replaced.
func withUser(t *testing.T, rawURL, user, password, database string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	if database != "" {
		u.Path = "/" + database
	}
	return u.String()
}

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		num     int
		version string
		ok      bool
	}{
		{90624, "9.6.24", false},
		{120019, "12.19", false},
		{130000, "13.0", true},
		{150020, "15.20 (Debian 15.20-0+deb12u1)", true},
		{180001, "18.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			t.Parallel()
			err := checkVersion(tt.num, tt.version)
			if (err == nil) != tt.ok {
				t.Fatalf("checkVersion(%d) = %v, want ok %v", tt.num, err, tt.ok)
			}
			if err != nil && (!strings.Contains(err.Error(), tt.version) || !strings.Contains(err.Error(), "13 or newer")) {
				t.Errorf("error %q does not name the version and the minimum", err)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://bob:hunter2@db:5432/paperboy", "postgres://bob:xxxxx@db:5432/paperboy"},
		{"postgres://bob@db/paperboy?sslmode=require", "postgres://bob@db/paperboy?sslmode=require"},
		{"postgres://bob@db/paperboy?password=hunter2&sslmode=disable", "postgres://bob@db/paperboy?password=xxxxx&sslmode=disable"},
		{"postgres://bob:hun%40ter2@db/p", "postgres://bob:xxxxx@db/p"},
		{"postgres://bob:hunter2@[::1/p", "postgres://(unparsable URL)"},
		{"host=db password=hunter2", "(unparsable URL)"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
