package postgres

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/store/dump"
	"github.com/paperboy-bot/paperboy/bot/store/storetest"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/sources"
)

// openSQLite opens a new SQLite store in the test's directory.
func openSQLite(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatalf("open SQLite store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// copyStore is a store on either side of a copy.
type copyStore interface {
	storetest.CopyStore
	dump.Importer
}

// TestCopyAcrossBackends copies a store holding every kind of record from SQLite into PostgreSQL and from
// PostgreSQL into SQLite: each copy answers like the original and delivers what was waiting exactly once.
func TestCopyAcrossBackends(t *testing.T) {
	t.Parallel()
	testURL(t)
	for _, tc := range []struct {
		name     string
		src, dst func(t *testing.T) copyStore
	}{
		{"sqlite to postgres", func(t *testing.T) copyStore { return openSQLite(t) }, func(t *testing.T) copyStore { s, _ := openTest(t); return s }},
		{"postgres to sqlite", func(t *testing.T) copyStore { s, _ := openTest(t); return s }, func(t *testing.T) copyStore { return openSQLite(t) }},
		{"postgres to postgres", func(t *testing.T) copyStore { s, _ := openTest(t); return s }, func(t *testing.T) copyStore { s, _ := openTest(t); return s }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, dst := tc.src(t), tc.dst(t)
			now := storetest.FillCopyFixture(t, src)
			c, err := dump.Copy(t.Context(), src, dst)
			if err != nil {
				t.Fatalf("Copy: %v", err)
			}
			want := dump.Counts{Papers: 8, Validators: 3, Sources: 3, Channels: 4, Subscriptions: 4, Batches: 2, Imports: 2, Votes: 2, Saved: 3, Outbox: 25, Unsent: 20}
			if c != want {
				t.Errorf("counts %+v, want %+v", c, want)
			}
			storetest.CheckCopy(t, src, dst, now)
			if pg, ok := dst.(*Store); ok {
				checkImported(t, pg)
			}
		})
	}
}

// checkImported checks what CheckCopy cannot see of a PostgreSQL copy of the fixture: routers learn of the new
// subscriptions, the last poller's lease has expired, and the full-text documents find the papers.
func checkImported(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	if v, err := s.SubscriptionsVersion(ctx); err != nil || v == 0 {
		t.Errorf("SubscriptionsVersion after the import = %d, %v; want a change", v, err)
	}
	if ok, err := s.ClaimSource(ctx, "blog", "instance-2", t0, time.Minute); err != nil || !ok {
		t.Errorf("ClaimSource(blog) by another instance = %v, %v; want the imported lease expired", ok, err)
	}
	for q, want := range map[string]int{"undated": 1, "abstract": 7, `title:"paper 2609.00003"`: 1, "nothing": 0} {
		c := command.Commander{Store: s}
		cards, err := c.Search(ctx, q, 20)
		if err != nil || len(cards) != want {
			t.Errorf("Search(%q) on the copy = %d cards, %v; want %d", q, len(cards), err, want)
		}
	}
}

// TestCopyRefusesNonEmptyTarget: a store holding any kind of data is not written to.
func TestCopyRefusesNonEmptyTarget(t *testing.T) {
	t.Parallel()
	testURL(t)
	ch := channel.Ref{Platform: "slack", ID: "C1"}
	p := arxiv("2609.00001", t0, paper.AnnounceNew, "Title", "Abstract", "cs.LG")
	for _, tc := range []struct {
		name string
		fill func(ctx context.Context, s *Store) error
	}{
		{"paper", func(ctx context.Context, s *Store) error {
			_, err := s.Ingest(ctx, "arxiv", []paper.Paper{p}, nil, t0)
			return err
		}},
		{"validators", func(ctx context.Context, s *Store) error {
			_, err := s.pool.Exec(ctx, `INSERT INTO fetch_state (source, url, etag) VALUES ('arxiv', 'https://x', 'e')`)
			return err
		}},
		{"source state", func(ctx context.Context, s *Store) error {
			return s.RecordPollError(ctx, "hf", errors.New("503"), t0)
		}},
		{"channel", func(ctx context.Context, s *Store) error {
			return s.SetChannelMode(ctx, channel.Channel{Ref: ch, Mode: channel.ModeDigest, DigestAt: "09:00"}, t0)
		}},
		{"subscription", func(ctx context.Context, s *Store) error {
			_, err := s.AddSubscription(ctx, channel.Subscription{Channel: ch, Query: "eeg", Canonical: "eeg", AddedAt: t0})
			return err
		}},
		{"everything", func(_ context.Context, s *Store) error {
			storetest.FillCopyFixture(t, s)
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := openSQLite(t)
			storetest.FillCopyFixture(t, src)
			dst, _ := openTest(t)
			if err := tc.fill(t.Context(), dst); err != nil {
				t.Fatalf("fill the target: %v", err)
			}
			before := tableCounts(t, dst)
			if _, err := dump.Copy(t.Context(), src, dst); !errors.Is(err, dump.ErrNotEmpty) {
				t.Fatalf("Copy into a store holding a %s: %v, want ErrNotEmpty", tc.name, err)
			}
			if after := tableCounts(t, dst); after != before {
				t.Errorf("after the refused copy the target holds %s, before %s", after, before)
			}
		})
	}
}

// tableCounts sums up what s holds: the rows of every table an import writes, and the subscriptions counter.
func tableCounts(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	for _, table := range strings.Split(importTables, ", ") {
		var n int
		if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	v, err := s.SubscriptionsVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "version=%d", v)
	return b.String()
}

// batchChecker is a dump.Writer that checks the batches an export passes: never empty, never above BatchSize,
// each kind complete before the next. It keeps only the papers' keys, to check their order.
type batchChecker struct {
	t     *testing.T
	kinds []string
	keys  []string
}

func (c *batchChecker) batch(kind string, n int) {
	if n == 0 || n > dump.BatchSize {
		c.t.Errorf("a batch of %d %s", n, kind)
	}
	if len(c.kinds) == 0 || c.kinds[len(c.kinds)-1] != kind {
		if slices.Contains(c.kinds, kind) {
			c.t.Errorf("%s exported again after %v", kind, c.kinds)
		}
		c.kinds = append(c.kinds, kind)
	}
}

func (c *batchChecker) Papers(_ context.Context, b []dump.Paper) error {
	c.batch("papers", len(b))
	for _, p := range b {
		c.keys = append(c.keys, p.Key)
	}
	return nil
}

func (c *batchChecker) Validators(_ context.Context, b []dump.Validators) error {
	c.batch("validators", len(b))
	return nil
}

func (c *batchChecker) SourceStates(_ context.Context, b []dump.SourceState) error {
	c.batch("source states", len(b))
	return nil
}

func (c *batchChecker) Channels(_ context.Context, b []dump.Channel) error {
	c.batch("channels", len(b))
	return nil
}

func (c *batchChecker) Subscriptions(_ context.Context, b []dump.Subscription) error {
	c.batch("subscriptions", len(b))
	return nil
}

func (c *batchChecker) Batches(_ context.Context, b []dump.Batch) error {
	c.batch("digest batches", len(b))
	return nil
}

func (c *batchChecker) Votes(_ context.Context, b []dump.Vote) error {
	c.batch("votes", len(b))
	return nil
}

func (c *batchChecker) Saved(_ context.Context, b []dump.Saved) error {
	c.batch("reading lists", len(b))
	return nil
}

func (c *batchChecker) Outbox(_ context.Context, b []dump.Outbox) error {
	c.batch("outbox", len(b))
	return nil
}

func (c *batchChecker) Imports(_ context.Context, b []dump.Import) error {
	c.batch("import checkpoints", len(b))
	return nil
}

// TestCopyManyPapers copies more papers than a batch, most of them published in the same second, from SQLite into
// PostgreSQL and on into another PostgreSQL schema: the export streams in batches, oldest first, and each copy
// keeps the newest-first order and answers searches as the SQLite store does.
func TestCopyManyPapers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	testURL(t)
	lite := openSQLite(t)
	feed, err := sources.ParseArxivFeed(testkit.SyntheticArxivFeed(1500, 5))
	if err != nil {
		t.Fatal(err)
	}
	for i, batch := range [][]paper.Paper{feed[:700], edgePapers(), feed[700:]} {
		if _, err := lite.Ingest(ctx, "arxiv", batch, nil, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("ingest batch %d: %v", i, err)
		}
	}
	pg, _ := openTest(t)
	if c, err := dump.Copy(ctx, lite, pg); err != nil || c.Papers != len(feed)+len(edgePapers()) {
		t.Fatalf("Copy = %+v, %v; want %d papers", c, err, len(feed)+len(edgePapers()))
	}
	pg2, _ := openTest(t)
	if _, err := dump.Copy(ctx, pg, pg2); err != nil {
		t.Fatalf("Copy from PostgreSQL: %v", err)
	}

	check := &batchChecker{t: t}
	if err := pg.Export(ctx, check); err != nil {
		t.Fatalf("Export: %v", err)
	}
	if want := []string{"papers", "source states"}; !slices.Equal(check.kinds, want) {
		t.Errorf("exported kinds %v, want %v", check.kinds, want)
	}
	recent := func(s interface {
		Recent(ctx context.Context, since time.Time, limit int) ([]paper.Paper, error)
	}) []string {
		ps, err := s.Recent(ctx, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return keysOf(ps)
	}
	want := recent(lite)
	oldestFirst := slices.Clone(check.keys)
	slices.Reverse(oldestFirst)
	if !slices.Equal(oldestFirst, want) {
		t.Errorf("export order is not the reverse of the newest-first order")
	}
	for name, s := range map[string]*Store{"copy": pg, "copy of the copy": pg2} {
		if !slices.Equal(recent(s), want) {
			t.Errorf("%s: Recent order differs from the SQLite store's", name)
		}
		for _, q := range []string{"eeg", `"foundation models"`, "author:noether", "spik* OR transform*", "needle", "cat:q-bio.NC -eeg"} {
			answer := func(st command.Store) []string {
				// Answers, not speed, are compared here: a budget generous enough for -race on a busy machine.
				c := command.Commander{Store: st, LookupTimeout: time.Minute}
				cards, err := c.Search(ctx, q, 20)
				if err != nil {
					t.Fatalf("Search(%q): %v", q, err)
				}
				var keys []string
				for _, c := range cards {
					keys = append(keys, c.Paper.Key)
				}
				return keys
			}
			if got, want := answer(s), answer(lite); !slices.Equal(got, want) {
				t.Errorf("%s: Search(%q) = %v, SQLite store %v", name, q, got, want)
			}
		}
	}
}
