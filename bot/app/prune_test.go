package app

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
)

// TestPruneLoop: the loop paperboy run starts prunes at once the rows sent more than keep_sent ago, keeps the
// recent ones, and a pruned paper is not queued again for its channel.
func TestPruneLoop(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ch := channel.Ref{Platform: "console", ID: "c"}
	old := paper.Paper{Key: "arxiv:2601.00001", ArxivID: "2601.00001", Title: "Old", Published: now.AddDate(0, -6, 0)}
	recent := paper.Paper{Key: "arxiv:2605.00001", ArxivID: "2605.00001", Title: "Recent", Published: now.AddDate(0, 0, -2)}
	route := func(*paper.Paper, time.Time) []channel.Route { return []channel.Route{{Channel: ch}} }
	if _, err := st.IngestAndRoute(ctx, "arxiv", []paper.Paper{old, recent}, nil, now.AddDate(0, -6, 0), route); err != nil {
		t.Fatal(err)
	}
	items, err := st.Unsent(ctx, ch, channel.KindMatch, []string{channel.StatePending}, 0)
	if err != nil || len(items) != 2 {
		t.Fatalf("Unsent = %d items, %v", len(items), err)
	}
	if err := st.MarkSent(ctx, []int64{items[0].ID}, "m-old", now.AddDate(0, -4, 0)); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkSent(ctx, []int64{items[1].ID}, "m-recent", now.AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		done <- pruneLoop(st, 90*24*time.Hour, func() time.Time { return now }, slog.New(slog.NewTextHandler(&logs, nil)))(lctx)
	}()
	// The first prune runs at once; wait for its effect, then stop the loop.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok, err := st.PostedMessage(ctx, ch, old.Key); err == nil && !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the row sent four months ago was not pruned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("pruneLoop returned %v", err)
	}
	if id, ok, err := st.PostedMessage(ctx, ch, recent.Key); err != nil || !ok || id != "m-recent" {
		t.Errorf("recent row: %q, %v, %v; want kept", id, ok, err)
	}
	if n, err := st.Enqueue(ctx, ch, channel.KindBackfill, map[string][]string{old.Key: nil}, now); err != nil || n != 0 {
		t.Errorf("Enqueue of the pruned paper queued %d rows (%v), want 0: posted once ever", n, err)
	}
	if !bytes.Contains(logs.Bytes(), []byte("pruned sent outbox rows")) {
		t.Errorf("no log of the prune: %s", logs.String())
	}
}
