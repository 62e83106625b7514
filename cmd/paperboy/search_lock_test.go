package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSearchNeverTakesTheWriteLock: search answers while another connection holds the SQLite file's write lock
// (a running bot in the middle of a poll), even with a configuration whose [[channels]] table differs from the
// store, and leaves the configured subscriptions for the next bot or command to sync. Before, search synced the
// configured channels at start in a write transaction: it waited for the lock past the busy timeout and failed.
func TestSearchNeverTakesTheWriteLock(t *testing.T) {
	srv, _ := feedServer(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[[channels]]
platform = "console"
id = "lab"
subscriptions = ["neuroimaging"]
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
url = "%s/rss/cs.LG+cs.AI+cs.CL+stat.ML"
`, srv.URL))
	dbPath := filepath.Join(filepath.Dir(cfg), "paperboy.db")
	ctx := context.Background()
	if code, out, errOut := run(t, ctx, "poll", "--once", "--config", cfg); code != 0 {
		t.Fatalf("poll --once: exit %d\n%s%s", code, out, errOut)
	}
	// The configuration gains a subscription: a command would now have something to write.
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(body), `subscriptions = ["neuroimaging"]`, `subscriptions = ["neuroimaging", "transformer"]`, 1)
	if err := os.WriteFile(cfg, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	subscriptions := func() []string {
		t.Helper()
		rows, err := db.QueryContext(ctx, `SELECT canonical FROM subscriptions ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		return out
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE channels SET lease_owner = lease_owner`); err != nil {
		t.Fatal(err)
	}

	// The busy timeout is 10 s: a search that waited for the lock would fail well within this minute.
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	code, out, errOut := run(t, sctx, "search", "--config", cfg, "--json", "neuroimaging")
	if code != 0 {
		t.Fatalf("search while a writer holds the lock: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, `"key":"arxiv:2205.06398"`) {
		t.Errorf("search while a writer holds the lock found:\n%s\nwant arxiv:2205.06398", out)
	}
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()

	if got := subscriptions(); strings.Join(got, ",") != "neuroimaging" {
		t.Errorf("after search, subscriptions = %q: search must not sync the configuration", got)
	}
	if code, out, errOut := run(t, ctx, "cmd", "--config", cfg, "--channel", "console:lab", "list"); code != 0 {
		t.Fatalf("cmd list: exit %d\n%s%s", code, out, errOut)
	}
	if got := subscriptions(); strings.Join(got, ",") != "neuroimaging,transformer" {
		t.Errorf("after a command, subscriptions = %q, want the configured neuroimaging,transformer", got)
	}
}
