package app

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// TestDamagedStoreFailsHealth: a bot started on a damaged SQLite file finds it with its background integrity
// check, logs it at ERROR naming the file, and /healthz fails; a healthy file passes the same check.
func TestDamagedStoreFailsHealth(t *testing.T) {
	for _, damage := range []bool{false, true} {
		t.Run(fmt.Sprintf("damaged=%v", damage), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			dbPath := filepath.Join(dir, "paperboy.db")
			st, err := store.Open(ctx, dbPath)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			ps := make([]paper.Paper, 300)
			for i := range ps {
				ps[i] = testkit.Paper(now, fmt.Sprintf("2601.%05d", i), fmt.Sprintf("Paper %d", i), strings.Repeat("words of an abstract ", 80), 1)
			}
			if _, err := st.Ingest(ctx, "arxiv", ps, nil, now); err != nil {
				t.Fatal(err)
			}
			// The pages of the papers table's b-tree: damaging those leaves the bot able to start (channels,
			// subscriptions) while the check must find it.
			var pages []int64
			if damage {
				pages = paperPages(t, dbPath)
			}
			if err := st.Close(); err != nil { // the last connection's close checkpoints the WAL into the file
				t.Fatal(err)
			}
			if damage {
				data, err := os.ReadFile(dbPath)
				if err != nil {
					t.Fatal(err)
				}
				const pageSize = 8192
				for _, p := range pages[1:] { // not the root: opening the table must work
					off := (p - 1) * pageSize
					copy(data[off:off+64], strings.Repeat("\xff", 64))
				}
				if err := os.WriteFile(dbPath, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfgPath := filepath.Join(dir, "paperboy.toml")
			if err := os.WriteFile(cfgPath, fmt.Appendf(nil, "[store]\npath = %q\n[[sources]]\nname = \"arxiv\"\nkind = \"arxiv\"\nurl = \"http://127.0.0.1:1/rss/cs\"\n", dbPath), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfig(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			var logs syncLog
			a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), Options{Exclusive: true, Stdout: io.Discard})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer a.Close()
			want := "store integrity checked"
			if damage {
				want = "the store failed its integrity check"
			}
			for end := time.Now().Add(time.Minute); !strings.Contains(logs.String(), want); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(end) {
					t.Fatalf("no %q within a minute:\n%s", want, logs.String())
				}
			}
			err = a.Health.Check()
			if !damage && err != nil {
				t.Errorf("healthy store: /healthz says %v", err)
			}
			if damage && (err == nil || !strings.Contains(err.Error(), dbPath) || !strings.Contains(logs.String(), "level=ERROR")) {
				t.Errorf("damaged store: /healthz says %v, want the damage naming %s; logs:\n%s", err, dbPath, logs.String())
			}
		})
	}
}

// syncLog is a log destination safe for the goroutines that write to it and the test that reads it.
type syncLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// paperPages lists the pages of the papers table, root first, from SQLite's dbstat table.
func paperPages(t *testing.T, path string) []int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT pageno FROM dbstat WHERE name = 'papers' ORDER BY path`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pages []int64
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	if err := rows.Err(); err != nil || len(pages) < 3 {
		t.Fatalf("papers pages %v: %v", pages, err)
	}
	return pages
}
