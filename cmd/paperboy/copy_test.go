package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/store/storetest"
)

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open %s: %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestStoreCopyRoundTrip copies a store with every kind of record through the real command into a new file and
// from there into a third: the last answers like the first, and delivers what was waiting exactly once.
func TestStoreCopyRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db"), filepath.Join(dir, "c.db")
	src := openStore(t, a)
	now := storetest.FillCopyFixture(t, src)
	for _, hop := range [][2]string{{a, b}, {b, c}} {
		code, out, errOut := run(t, context.Background(), "store", "copy", "--from", hop[0], "--to", hop[1])
		if code != 0 || errOut != "" {
			t.Fatalf("store copy %s -> %s: exit %d\n%s%s", hop[0], hop[1], code, out, errOut)
		}
		for _, want := range []string{"copied SQLite file " + hop[0] + " to SQLite file " + hop[1], " 8 papers", " 4 subscriptions",
			"25 outbox rows", "20 of them waiting for delivery", " 2 digest batches", " 2 import checkpoints"} {
			if !strings.Contains(out, want) {
				t.Errorf("store copy output lacks %q:\n%s", want, out)
			}
		}
	}
	storetest.CheckCopy(t, src, openStore(t, c), now)
}

// TestStoreCopyRefusals: a store in use is never written to, and bad arguments are usage errors.
func TestStoreCopyRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, full := filepath.Join(dir, "a.db"), filepath.Join(dir, "full.db")
	for _, p := range []string{a, full} {
		s, err := store.Open(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		storetest.FillCopyFixture(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	depth := func() int {
		s := openStore(t, full)
		n, err := s.OutboxDepth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := depth()
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"non-empty target", []string{"copy", "--from", a, "--to", full}, 1, "SQLite file " + full + " already holds data"},
		{"missing source", []string{"copy", "--from", filepath.Join(dir, "none.db"), "--to", filepath.Join(dir, "new.db")}, 1, "no such store file"},
		{"same file", []string{"copy", "--from", a, "--to", a}, 1, "same file"},
		{"password never shown", []string{"copy", "--from", a, "--to", "postgres://bob:hunter2@127.0.0.1:1/paperboy"}, 1, "postgres://bob"},
		{"no subcommand", nil, 2, "usage: paperboy store copy"},
		{"unknown subcommand", []string{"move"}, 2, "usage: paperboy store copy"},
		{"no target", []string{"copy", "--from", a}, 2, "usage: paperboy store copy"},
		{"unknown flag", []string{"copy", "--from", a, "--to", full, "--force"}, 2, "flag provided but not defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), append([]string{"store"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tc.wantCode, tc.wantErr)
			}
			if strings.Contains(out+errOut, "hunter2") {
				t.Errorf("output shows the password:\n%s%s", out, errOut)
			}
		})
	}
	if after := depth(); after != before {
		t.Errorf("the refused target's outbox went from %d to %d rows", before, after)
	}
}

// pgSchema creates an empty schema in the test database named by PAPERBOY_TEST_DATABASE_URL, dropped when the test
// ends, and returns a URL whose search_path selects it; without the variable the test is skipped.
func pgSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("PAPERBOY_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("set PAPERBOY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL tests")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := pgx.Identifier{"paperboy_test_" + hex.EncodeToString(b[:])}
	exec := func(sql string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatalf("connect to the test database: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE SCHEMA " + name.Sanitize())
	t.Cleanup(func() { exec("DROP SCHEMA " + name.Sanitize() + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("PAPERBOY_TEST_DATABASE_URL is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", name[0])
	u.RawQuery = q.Encode()
	return u.String()
}

// TestStoreCopyThroughPostgres copies a SQLite store into PostgreSQL and back into a new file through the real
// command: the last answers like the first and delivers what was waiting exactly once; a second copy into the
// now filled database is refused.
func TestStoreCopyThroughPostgres(t *testing.T) {
	t.Parallel()
	pg := pgSchema(t)
	dir := t.TempDir()
	a, c := filepath.Join(dir, "a.db"), filepath.Join(dir, "c.db")
	src := openStore(t, a)
	now := storetest.FillCopyFixture(t, src)
	for _, hop := range []struct{ from, to, want string }{
		{a, pg, "copied SQLite file " + a + " to PostgreSQL postgres://"},
		{pg, c, "copied PostgreSQL postgres://"},
	} {
		code, out, errOut := run(t, context.Background(), "store", "copy", "--from", hop.from, "--to", hop.to)
		if code != 0 || errOut != "" {
			t.Fatalf("store copy %s -> %s: exit %d\n%s%s", hop.from, hop.to, code, out, errOut)
		}
		for _, want := range []string{hop.want, " 8 papers", " 4 subscriptions", "25 outbox rows", "20 of them waiting for delivery"} {
			if !strings.Contains(out, want) {
				t.Errorf("store copy output lacks %q:\n%s", want, out)
			}
		}
	}
	code, _, errOut := run(t, context.Background(), "store", "copy", "--from", a, "--to", pg)
	if code != 1 || !strings.Contains(errOut, "already holds data") {
		t.Errorf("second copy into PostgreSQL: exit %d, stderr %q; want exit 1 and a refusal", code, errOut)
	}
	storetest.CheckCopy(t, src, openStore(t, c), now)
}
