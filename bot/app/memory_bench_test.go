package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/ingest"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/filters"
)

// BenchmarkPollMemory is one poll of PAPERBOY_BENCH_POLL_PAPERS papers (default 20,000) for 1,000 channels with
// 10,000 subscriptions, through the ingester as paperboy run polls. Run it alone (-bench BenchmarkPollMemory
// -benchtime=1x): peak-RSS-MB is the process' peak, the feed's parse and the store's setup included;
// poll-peak-RSS-MB the peak during the poll alone (Linux: the high-water mark is reset just before it),
// before-poll-RSS-MB what the process held when the poll started (the feed parsed, the router loaded), and
// idle-RSS-MB the resident memory once the poll's garbage is collected and returned to the system (Linux).
func BenchmarkPollMemory(b *testing.B) {
	n := 20_000
	if v := os.Getenv("PAPERBOY_BENCH_POLL_PAPERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("PAPERBOY_BENCH_POLL_PAPERS=%q: want a number of papers", v)
		}
	}
	const (
		channels = 1000
		subs     = 10000
	)
	added := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	template := benchTemplate(b, func(ctx context.Context, st *store.Store) {
		r := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < subs; {
			q := testkit.BenchQuery(r)
			parsed, err := filters.Parse(q)
			if err != nil {
				b.Fatalf("query %q: %v", q, err)
			}
			ch := channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%04d", i%channels)}
			_, err = st.AddSubscription(ctx, channel.Subscription{Channel: ch, Query: q, Canonical: parsed.String(), AddedBy: "bench", AddedAt: added})
			if errors.Is(err, channel.ErrDuplicate) {
				continue
			}
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	papers := benchFeed(b, n)
	at := time.Date(2026, 9, 24, 4, 0, 0, 0, time.UTC)
	ctx := context.Background()
	rows := 0
	for i := range b.N {
		b.StopTimer()
		st := benchCopy(b, template, i)
		router := ingest.NewRouter(st, nil)
		if err := router.Load(ctx); err != nil {
			b.Fatal(err)
		}
		ing := ingest.NewIngester(st, router, nil, nil)
		// The feed's parse and the setup peak before the poll: start the poll's own high-water mark from the
		// memory the process holds now.
		runtime.GC()
		debug.FreeOSMemory()
		resetPeak := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
		if rss, ok := currentRSS(); ok && i == 0 {
			b.ReportMetric(float64(rss)/(1<<20), "before-poll-RSS-MB")
		}
		b.StartTimer()
		res, err := ing.Ingest(ctx, "arxiv", papers, nil, at)
		if err != nil {
			b.Fatal(err)
		}
		rows += res.Routed
		b.StopTimer()
		if hwm, ok := peakSinceReset(); ok && resetPeak {
			b.ReportMetric(float64(hwm)/(1<<20), "poll-peak-RSS-MB")
		}
		st.Close()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)/float64(b.N), "outbox-rows/poll")
	testkit.ReportPeakRSS(b)
	runtime.GC()
	debug.FreeOSMemory()
	if rss, ok := currentRSS(); ok {
		b.ReportMetric(float64(rss)/(1<<20), "idle-RSS-MB")
	}
}

// peakSinceReset reads VmHWM, the peak resident set size since the last reset through clear_refs (Linux).
func peakSinceReset() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err == nil
			}
		}
	}
	return 0, false
}

// currentRSS reads this process' resident set size from /proc (Linux); false elsewhere.
func currentRSS() (int64, bool) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
