package snapshot_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/snapshot"
	"github.com/paperboy-bot/paperboy/bot/store"
	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/filters"
)

var now = time.Date(2026, 9, 28, 20, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "paperboy.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func run(t *testing.T, st snapshot.Store, o snapshot.Options) (snapshot.Report, string) {
	t.Helper()
	var bad bytes.Buffer
	o.Bad = &bad
	o.Now = func() time.Time { return now }
	rep, err := snapshot.Run(t.Context(), st, o)
	if err != nil {
		t.Fatalf("Run(%s): %v", o.Path, err)
	}
	return rep, bad.String()
}

func all(t *testing.T, s *store.Store) map[string]paper.Paper {
	t.Helper()
	ps, err := s.Recent(t.Context(), time.Time{}, 0)
	if err != nil {
		t.Fatalf("Recent: %v", err)
	}
	out := map[string]paper.Paper{}
	for _, p := range ps {
		if _, dup := out[p.Key]; dup {
			t.Errorf("paper %s stored twice", p.Key)
		}
		out[p.Key] = p
	}
	return out
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC1123, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestImportFixture imports the same realistic records as JSON lines and gzip: identity (old-style ids too),
// version dates, DOIs, journal references, authors and withdrawn papers come out as the bot's papers.
func TestImportFixture(t *testing.T) {
	for _, file := range []string{"snapshot.jsonl", "snapshot.jsonl.gz"} {
		t.Run(file, func(t *testing.T) {
			s := openStore(t)
			rep, bad := run(t, s, snapshot.Options{Path: filepath.Join("testdata", file), BatchSize: 2})
			if bad != "" || rep.SkippedTotal() != 0 {
				t.Errorf("skipped records: %v\n%s", rep.Skipped, bad)
			}
			if rep.Papers != 5 || rep.New != 5 || rep.Lines != 5 || rep.Withdrawn != 1 || !rep.Done {
				t.Errorf("report = %+v, want 5 lines, 5 new papers, 1 withdrawn, done", rep)
			}
			if rep.Took <= 0 {
				t.Errorf("report.Took = %v, want the import's duration", rep.Took)
			}
			got := all(t, s)
			want := map[string]paper.Paper{
				"arxiv:0704.0001": {
					Key: "arxiv:0704.0001", ArxivID: "0704.0001", Version: 2, DOI: "10.1103/physrevd.76.013009",
					Title:      "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies",
					Authors:    []string{"C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"},
					Categories: []string{"hep-ph"}, Comment: "37 pages, 15 figures; published version",
					JournalRef: "Phys.Rev.D76:013009,2007", URL: "https://arxiv.org/abs/0704.0001",
					PDFURL: "https://arxiv.org/pdf/0704.0001", Published: date("Mon, 02 Apr 2007 19:18:42 GMT"),
					Updated: date("Tue, 24 Jul 2007 20:10:27 GMT"), Sources: []string{"snapshot"},
				},
				"arxiv:math/0601001": {
					Key: "arxiv:math/0601001", ArxivID: "math/0601001", Version: 1, DOI: "10.1090/s1056-3911-06-00450-9",
					Title: "Moduli of vector bundles on algebraic curves", Authors: []string{"Jane Roe", "John Doe Jr."},
					Categories: []string{"math.AG", "math.CO"}, Comment: "21 pages",
					JournalRef: "J. Algebraic Geom. 16 (2007) 1-21", URL: "https://arxiv.org/abs/math/0601001",
					PDFURL: "https://arxiv.org/pdf/math/0601001", Published: date("Sat, 31 Dec 2005 21:05:11 GMT"),
					Sources: []string{"snapshot"},
				},
				"arxiv:hep-th/9901001": {
					Key: "arxiv:hep-th/9901001", ArxivID: "hep-th/9901001", Version: 3,
					Title: "A withdrawn note on string dualities", Authors: []string{"A. Author"},
					Categories: []string{"hep-th"},
					Comment:    "This paper has been withdrawn by the author due to a crucial error in equation 12",
					URL:        "https://arxiv.org/abs/hep-th/9901001", PDFURL: "https://arxiv.org/pdf/hep-th/9901001",
					Published: date("Fri, 01 Jan 1999 10:00:00 GMT"), Updated: date("Tue, 09 Mar 1999 08:00:00 GMT"),
					Sources: []string{"snapshot"},
				},
			}
			for key, w := range want {
				g, ok := got[key]
				if !ok {
					t.Errorf("%s not stored", key)
					continue
				}
				g.Abstract = ""
				if gj, wj := jsonOf(t, g), jsonOf(t, w); gj != wj {
					t.Errorf("%s:\n got %s\nwant %s", key, gj, wj)
				}
			}
			if a := got["arxiv:0704.0001"].Abstract; !strings.HasPrefix(a, "A fully differential calculation") || strings.Contains(a, "\n") {
				t.Errorf("abstract not on one line: %q", a)
			}
			if p := got["arxiv:2609.01234"]; p.DOI != "10.48550/arxiv.2609.01234" || !slices.Equal(p.Categories, []string{"q-bio.NC", "cs.LG", "eess.SP"}) {
				t.Errorf("2609.01234: doi %q categories %v", p.DOI, p.Categories)
			}

			// The same file again stores nothing twice and changes nothing.
			rep, _ = run(t, s, snapshot.Options{Path: filepath.Join("testdata", file)})
			if rep.New != 0 || rep.Updated != 0 || rep.Unchanged != 5 || len(all(t, s)) != 5 {
				t.Errorf("second import = %+v, want 5 unchanged", rep)
			}
		})
	}
}

// TestImportBadInput: each kind of bad record is reported with its line number and counted; the good records
// around them are imported.
func TestImportBadInput(t *testing.T) {
	s := openStore(t)
	rep, bad := run(t, s, snapshot.Options{Path: filepath.Join("testdata", "bad.jsonl"), BatchSize: 1})
	wantSkipped := map[string]int64{
		snapshot.ReasonNotJSON: 2, snapshot.ReasonNoID: 1, snapshot.ReasonInvalidDate: 1, snapshot.ReasonUnknownCategory: 1,
	}
	if !mapsEqual(rep.Skipped, wantSkipped) {
		t.Errorf("skipped = %v, want %v", rep.Skipped, wantSkipped)
	}
	if rep.SkippedTotal() != 5 || rep.Papers != 2 || rep.Lines != 8 || !rep.Done {
		t.Errorf("report = %+v", rep)
	}
	for _, want := range []string{
		"bad.jsonl:line 2: not JSON: ",
		"bad.jsonl:line 3: no id: ",
		"bad.jsonl:line 5 (0704.0003): invalid date: ",
		"bad.jsonl:line 6 (0704.0004): unknown category: \"bogus.XY\" is not an arXiv category",
		"bad.jsonl:line 7: not JSON: ",
	} {
		if !strings.Contains(bad, want) {
			t.Errorf("bad-record report lacks %q:\n%s", want, bad)
		}
	}
	got := all(t, s)
	if _, ok := got["arxiv:0704.0001"]; !ok || len(got) != 2 {
		t.Errorf("stored %v, want the two good papers", keys(got))
	}
	if _, ok := got["arxiv:0704.0006"]; !ok {
		t.Errorf("the good paper after the bad lines is missing: %v", keys(got))
	}
}

// TestImportTruncatedGzip: a gzip file that breaks off is bad input: what came before the break is imported, the
// break is counted as one truncated record.
func TestImportTruncatedGzip(t *testing.T) {
	s := openStore(t)
	rep, bad := run(t, s, snapshot.Options{Path: filepath.Join("testdata", "truncated.jsonl.gz"), BatchSize: 1})
	if rep.Skipped[snapshot.ReasonTruncated] != 1 || rep.SkippedTotal() != 1 || !rep.Done {
		t.Fatalf("report = %+v, want one truncated record", rep)
	}
	if !strings.Contains(bad, "truncated input: the compressed stream ends early") {
		t.Errorf("report: %s", bad)
	}
	got := all(t, s)
	full := []string{"arxiv:0704.0001", "arxiv:0704.0002", "arxiv:math/0601001", "arxiv:hep-th/9901001", "arxiv:2609.01234"}
	if len(got) == 0 || len(got) >= len(full) || int64(len(got)) != rep.Papers {
		t.Fatalf("stored %v from a truncated file; want the complete lines before the break", keys(got))
	}
	for _, k := range full[:len(got)] {
		if _, ok := got[k]; !ok {
			t.Errorf("stored %v, want a prefix of %v", keys(got), full)
		}
	}
}

// TestImportCategories keeps only the papers of the listed categories and archives.
func TestImportCategories(t *testing.T) {
	tests := []struct {
		list string
		want []string
	}{
		{"math", []string{"arxiv:0704.0002", "arxiv:math/0601001"}},
		{"cs.LG,hep-th", []string{"arxiv:2609.01234", "arxiv:hep-th/9901001"}},
		{"cs.CG", []string{"arxiv:0704.0002"}},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			f, err := snapshot.ParseFilter(tt.list)
			if err != nil {
				t.Fatal(err)
			}
			s := openStore(t)
			rep, _ := run(t, s, snapshot.Options{Path: filepath.Join("testdata", "snapshot.jsonl"), Filter: f})
			got := keys(all(t, s))
			slices.Sort(got)
			slices.Sort(tt.want)
			if !slices.Equal(got, tt.want) || rep.Filtered != int64(5-len(tt.want)) {
				t.Errorf("stored %v (filtered %d), want %v", got, rep.Filtered, tt.want)
			}
		})
	}
	if _, err := snapshot.ParseFilter("cs.LG,nonsense"); err == nil {
		t.Error("ParseFilter accepted an unknown archive")
	}
}

// cancelAfter is a store whose context is cancelled after n batches have been stored: an import killed in the
// middle.
type cancelAfter struct {
	*store.Store
	n      int32
	calls  atomic.Int32
	cancel context.CancelFunc
}

func (c *cancelAfter) ImportBatch(ctx context.Context, name string, ps []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error) {
	if c.calls.Add(1) > c.n {
		c.cancel()
		return paper.IngestResult{}, ctx.Err()
	}
	return c.Store.ImportBatch(ctx, name, ps, state, at)
}

// ImportBatchDeferred is the batch path Run takes with the SQLite store; the papers it leaves pending are indexed
// by the resumed run (or the next Open).
func (c *cancelAfter) ImportBatchDeferred(ctx context.Context, name string, ps []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error) {
	if c.calls.Add(1) > c.n {
		c.cancel()
		return paper.IngestResult{}, ctx.Err()
	}
	return c.Store.ImportBatchDeferred(ctx, name, ps, state, at)
}

// TestResume: an import killed after some batches resumes after the last stored one, reads nothing twice and
// stores nothing twice, for plain and gzip files.
func TestResume(t *testing.T) {
	const n = 400
	dir := t.TempDir()
	var raw bytes.Buffer
	if err := testkit.SyntheticSnapshot(&raw, n, 7); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "s.jsonl")
	gz := filepath.Join(dir, "s.jsonl.gz")
	if err := os.WriteFile(plain, raw.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close()
	if err := os.WriteFile(gz, zb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{plain, gz} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			s := openStore(t)
			ctx, cancel := context.WithCancel(t.Context())
			killed := &cancelAfter{Store: s, n: 3, cancel: cancel}
			_, err := snapshot.Run(ctx, killed, snapshot.Options{Path: path, BatchSize: 50})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("killed run: err = %v, want context.Canceled", err)
			}
			raw, ok, err := s.ImportState(t.Context(), snapshot.Name)
			if err != nil || !ok {
				t.Fatalf("ImportState = %v, %v", ok, err)
			}
			var cp snapshot.Checkpoint
			if err := json.Unmarshal(raw, &cp); err != nil {
				t.Fatal(err)
			}
			if cp.Papers != 150 || cp.Done || len(all(t, s)) != 150 {
				t.Fatalf("after the kill: checkpoint %+v, %d stored; want 150 papers", cp, len(all(t, s)))
			}
			if want := lineOffset(t, plain, cp.Line); cp.Offset != want {
				t.Fatalf("checkpoint offset %d, want the end of line %d at %d", cp.Offset, cp.Line, want)
			}

			rep, _ := run(t, s, snapshot.Options{Path: path, BatchSize: 50, Resume: true})
			if rep.ResumedAt != cp.Offset || rep.New != n-150 || rep.Unchanged != 0 || rep.Updated != 0 {
				t.Errorf("resumed run = %+v, want %d new from offset %d and nothing read twice", rep, n-150, cp.Offset)
			}
			if rep.Papers != n || rep.Lines != n || !rep.Done {
				t.Errorf("resumed report counts = %+v, want the whole file", rep.Counts)
			}
			if got := len(all(t, s)); got != n {
				t.Errorf("stored %d papers, want %d", got, n)
			}
			again, _ := run(t, s, snapshot.Options{Path: path, Resume: true})
			if !again.AlreadyDone {
				t.Errorf("resuming a finished import = %+v, want AlreadyDone", again)
			}
		})
	}
	t.Run("another file", func(t *testing.T) {
		s := openStore(t)
		run(t, s, snapshot.Options{Path: plain, BatchSize: 50})
		_, err := snapshot.Run(t.Context(), s, snapshot.Options{Path: filepath.Join("testdata", "snapshot.jsonl"), Resume: true})
		if err == nil || !strings.Contains(err.Error(), "the interrupted import was of") {
			t.Errorf("resume of another file: %v", err)
		}
	})
	t.Run("nothing to resume", func(t *testing.T) {
		_, err := snapshot.Run(t.Context(), openStore(t), snapshot.Options{Path: plain, Resume: true})
		if !errors.Is(err, snapshot.ErrNoCheckpoint) {
			t.Errorf("err = %v, want ErrNoCheckpoint", err)
		}
	})
}

// lineOffset is the byte offset just after line n of the file at path.
func lineOffset(t *testing.T, path string, n int64) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var off int64
	for range n {
		i := bytes.IndexByte(data[off:], '\n')
		off += int64(i) + 1
	}
	return off
}

// TestProgress: a terminal gets one line rewritten in place, a log plain lines.
func TestProgress(t *testing.T) {
	for _, terminal := range []bool{true, false} {
		var out bytes.Buffer
		s := openStore(t)
		run(t, s, snapshot.Options{Path: filepath.Join("testdata", "snapshot.jsonl"), Progress: &out, Terminal: terminal})
		text := out.String()
		if !strings.Contains(text, "snapshot: line 5, 100.0%: 5 papers, ") {
			t.Errorf("terminal=%v: progress %q lacks the final count", terminal, text)
		}
		if got := strings.HasPrefix(text, "\r") && strings.HasSuffix(text, "\n"); got != terminal {
			t.Errorf("terminal=%v: progress %q", terminal, text)
		}
	}
}

func keys(m map[string]paper.Paper) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestImportLeavesMergedIndex: an import leaves the full-text index as one segment, even when indexing wrote many
// (here a tiny FTS5 hash and no automerge, set on the file before the import), and the look-ups still find the
// papers.
func TestImportLeavesMergedIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paperboy.db")
	s, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', 4096);
		INSERT INTO papers_fts(papers_fts, rank) VALUES ('automerge', 0)`); err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	if err := testkit.SyntheticSnapshot(&raw, 300, 5); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "s.jsonl")
	if err := os.WriteFile(file, raw.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	segments := func() int {
		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT count(DISTINCT segid) FROM papers_fts_idx`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Without the merge the same import leaves many segments: the import in batches of 50 through a store
	// wrapper that hides MergeIndex.
	if _, err := snapshot.Run(t.Context(), noMerge{s}, snapshot.Options{Path: file, BatchSize: 50}); err != nil {
		t.Fatal(err)
	}
	if n := segments(); n < 5 {
		t.Fatalf("%d segments without the merge: the test wants many", n)
	}
	if _, err := snapshot.Run(t.Context(), s, snapshot.Options{Path: file, BatchSize: 50}); err != nil {
		t.Fatal(err)
	}
	if n := segments(); n != 1 {
		t.Errorf("%d segments after the import, want 1", n)
	}
	q, err := filters.Parse("neural")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Candidates(t.Context(), q.Prefilter(), time.Time{}, 0); err != nil || len(got) == 0 {
		t.Errorf("look-up after the merge: %d papers, %v", len(got), err)
	}
}

// noMerge is a store whose index an import cannot merge (it has no MergeIndex).
type noMerge struct{ s *store.Store }

func (n noMerge) ImportState(ctx context.Context, name string) ([]byte, bool, error) {
	return n.s.ImportState(ctx, name)
}

func (n noMerge) ImportBatch(ctx context.Context, name string, ps []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error) {
	return n.s.ImportBatch(ctx, name, ps, state, at)
}

func (n noMerge) ImportBatchDeferred(ctx context.Context, name string, ps []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error) {
	return n.s.ImportBatchDeferred(ctx, name, ps, state, at)
}

func (n noMerge) IndexPending(ctx context.Context) error { return n.s.IndexPending(ctx) }
