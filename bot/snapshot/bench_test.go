//go:build unix

package snapshot_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/snapshot"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/filters"
)

// benchPapers is the size of the benchmark's synthetic snapshot: PAPERBOY_SNAPSHOT_PAPERS, else 20,000 (a quick
// run; the load figures of the README come from 300k-1M runs).
func benchPapers() int {
	if n, err := strconv.Atoi(os.Getenv("PAPERBOY_SNAPSHOT_PAPERS")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

// snapshotFile returns a synthetic snapshot of n papers, cached in the temporary directory across runs.
func snapshotFile(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("paperboy-snapshot-bench-v1-n%d.jsonl", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".writing"
	f, err := os.Create(tmp)
	if err != nil {
		b.Fatal(err)
	}
	if err := testkit.SyntheticSnapshot(f, n, 42); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkImport is the load program of paperboy import snapshot: it imports a synthetic snapshot of
// benchPapers() papers into an empty SQLite store through the command's code path (streaming, batches,
// checkpoints, full-text index included), then inserts the same rows into a plain table with a prepared modernc
// SQLite statement, the limit of the import, in the same run. It reports papers/s of both and their ratio, the
// peak RSS after the import (before the baseline loads anything) and the store's size on disk per million papers.
//
//	PAPERBOY_SNAPSHOT_PAPERS=300000 go test ./bot/snapshot -run '^$' -bench BenchmarkImport -benchtime 1x
func BenchmarkImport(b *testing.B) {
	n := benchPapers()
	file := snapshotFile(b, n)
	for b.Loop() {
		dir := b.TempDir()
		s, err := store.Open(b.Context(), filepath.Join(dir, "paperboy.db"))
		if err != nil {
			b.Fatal(err)
		}
		start, cpu0 := time.Now(), cpuTime(b)
		rep, err := snapshot.Run(b.Context(), s, snapshot.Options{Path: file})
		took, cpu := time.Since(start), cpuTime(b)-cpu0
		if err != nil {
			b.Fatal(err)
		}
		if rep.Papers != int64(n) || rep.SkippedTotal() != 0 {
			b.Fatalf("imported %d papers (skipped %v), want %d", rep.Papers, rep.Skipped, n)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		testkit.ReportPeakRSS(b)
		lookups(b, filepath.Join(dir, "paperboy.db"))
		b.ReportMetric(float64(n)/took.Seconds(), "papers/s")
		// On a shared machine the wall clock also counts other processes' time: CPU seconds do not.
		b.ReportMetric(float64(n)/cpu.Seconds(), "papers/cpu-s")
		b.ReportMetric(float64(dirSize(b, dir))/float64(n)*1e6/(1<<20), "MB-per-1M-papers")

		raw, rawCPU := rawInsert(b, file, filepath.Join(dir, "raw.db"))
		b.ReportMetric(float64(n)/raw.Seconds(), "raw-papers/s")
		b.ReportMetric(float64(n)/rawCPU.Seconds(), "raw-papers/cpu-s")
		b.ReportMetric(took.Seconds()/raw.Seconds(), "x-raw-time")
		b.ReportMetric(cpu.Seconds()/rawCPU.Seconds(), "x-raw-cpu")
	}
}

// lookups measures, on the imported store, the look-ups of /papers (the subscription query mix of the routing
// benchmarks, over the same vocabulary, all time, 20 results) and the subscribe preview (matches in the last 7
// days of the snapshot), through the command core's path: pre-filter, store candidates read lazily, matcher.
func lookups(b *testing.B, path string) {
	b.Helper()
	s, err := store.Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 2))
	run := func(since time.Time, limit int) time.Duration {
		q, err := filters.Parse(testkit.BenchQuery(r))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		// As the command core reads them: candidates newest first, one at a time, until the page is full (limit
		// 0: every match of the window, as the subscribe preview counts them).
		n := 0
		err = s.ScanCandidates(b.Context(), q.Prefilter(), since, 5000, func(p paper.Paper) bool {
			if _, ok := q.Match(&p); ok {
				n++
			}
			return limit == 0 || n < limit
		})
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var lat, preview []time.Duration
	for range 300 {
		lat = append(lat, run(time.Time{}, 20))
	}
	weekAgo := time.Date(2026, 9, 28, 0, 0, 0, 0, time.UTC).Add(-7 * 24 * time.Hour)
	for range 100 {
		preview = append(preview, run(weekAgo, 0))
	}
	testkit.ReportLatency(b, lat)
	slices.Sort(preview)
	b.ReportMetric(float64(preview[len(preview)*99/100])/float64(time.Millisecond), "preview-p99-ms")
}

func dirSize(b *testing.B, dir string) int64 {
	b.Helper()
	var total int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "paperboy.db") {
			info, err := e.Info()
			if err != nil {
				b.Fatal(err)
			}
			total += info.Size()
		}
	}
	return total
}

// rawInsert inserts the snapshot's rows (id, title, abstract, authors, the paper's other fields as JSON) into a
// plain table, no index but the primary key and no full-text index, with one prepared statement in transactions of
// snapshot.DefaultBatchSize rows, and returns the wall and CPU time spent inserting (decoding the file is not
// counted).
func rawInsert(b *testing.B, file, path string) (time.Duration, time.Duration) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(b.Context(), `PRAGMA page_size = 8192; CREATE TABLE papers (id INTEGER PRIMARY KEY, key TEXT NOT NULL,
		title TEXT NOT NULL, abstract TEXT NOT NULL, authors TEXT NOT NULL, published INTEGER, data TEXT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	type row struct {
		key, title, abstract, authors, data string
		published                           int64
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var elapsed, cpu time.Duration
	id := int64(0)
	rows := make([]row, 0, snapshot.DefaultBatchSize)
	flush := func() {
		start, cpu0 := time.Now(), cpuTime(b)
		tx, err := db.BeginTx(b.Context(), nil)
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.PrepareContext(b.Context(), `INSERT INTO papers (id, key, title, abstract, authors, published, data) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rows {
			id++
			if _, err := st.ExecContext(b.Context(), id, r.key, r.title, r.abstract, r.authors, r.published, r.data); err != nil {
				b.Fatal(err)
			}
		}
		_ = st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		cpu += cpuTime(b) - cpu0
		rows = rows[:0]
	}
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(bytes.TrimSpace(sc.Bytes()), &m); err != nil {
			b.Fatal(err)
		}
		title, _ := m["title"].(string)
		abstract, _ := m["abstract"].(string)
		authors, _ := m["authors"].(string)
		id, _ := m["id"].(string)
		delete(m, "title")
		delete(m, "abstract")
		data, _ := json.Marshal(m)
		rows = append(rows, row{key: "arxiv:" + id, title: title, abstract: abstract, authors: authors, data: string(data), published: time.Now().UnixMilli()})
		if len(rows) == cap(rows) {
			flush()
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	if len(rows) > 0 {
		flush()
	}
	return elapsed, cpu
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
