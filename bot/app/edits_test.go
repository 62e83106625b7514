package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// lockedBuffer is the console's output, read while the sender may write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestConsoleEdits wires [delivery] edits from the configuration: by default a console channel's card is printed
// again as "edited message N:" when its paper gets a new version; with edits = false nothing is queued or printed.
func TestConsoleEdits(t *testing.T) {
	for _, tt := range []struct {
		name, delivery string
		edited         bool
	}{
		{"default", "", true},
		{"off", "[delivery]\nedits = false\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "paperboy.toml")
			cfgText := fmt.Sprintf("[store]\npath = %q\n[[sources]]\nname = \"arxiv\"\nkind = \"arxiv\"\nurl = \"http://127.0.0.1:1/rss/cs\"\n"+
				"[[channels]]\nplatform = \"console\"\nid = \"lab\"\nsubscriptions = [\"cat:cs.LG\"]\n%s",
				filepath.Join(dir, "paperboy.db"), tt.delivery)
			if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := LoadConfig(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			var out lockedBuffer
			a, err := New(ctx, cfg, slog.New(slog.DiscardHandler), Options{Platforms: true, Stdout: &out, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			// Votes show on cards through the same queue, when there is one.
			if queued := a.Clicks.Edits != nil && a.Clicks.WakeEdits != nil; queued != tt.edited {
				t.Errorf("votes through the card-edit queue: %v, want %v", queued, tt.edited)
			}
			poll := func(p paper.Paper) paper.IngestResult {
				t.Helper()
				now = now.Add(time.Minute)
				res, err := a.Store.IngestAndRoute(ctx, "arxiv", []paper.Paper{p}, nil, now, a.Router.Route)
				if err != nil {
					t.Fatal(err)
				}
				if err := a.Sender.DeliverDue(ctx); err != nil {
					t.Fatal(err)
				}
				return res
			}
			p := testkit.Paper(now, "2603.00001", "Spiking transformers", "An abstract.", 0)
			p.Version = 1
			if res := poll(p); res.Routed != 1 {
				t.Fatalf("routed %d, want 1", res.Routed)
			}
			v2 := p
			v2.Version, v2.Title, v2.AnnounceType = 2, "Spiking transformers, revised", paper.AnnounceReplace
			res := poll(v2)
			got := out.String()
			if n := strings.Count(got, "* Spiking transformers"); n != map[bool]int{true: 2, false: 1}[tt.edited] {
				t.Errorf("the card is printed %d times:\n%s", n, got)
			}
			if edited := strings.Contains(got, "[console:lab] edited message 1:\n[console:lab] * Spiking transformers, revised (v2)"); edited != tt.edited || (res.Edits > 0) != tt.edited {
				t.Errorf("edited = %v (%d queued), want %v:\n%s", edited, res.Edits, tt.edited, got)
			}
		})
	}
}
