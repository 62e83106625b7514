package snapshot

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/progress"
)

// Store is what an import needs of a store (both stores implement it).
type Store interface {
	// ImportState returns the saved checkpoint of the named import (nil, false when none).
	ImportState(ctx context.Context, name string) (state []byte, ok bool, err error)
	// ImportBatch stores papers as history and saves state as the named import's checkpoint, in one transaction.
	ImportBatch(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error)
}

// deferredStore is a store that can index an import's papers in large runs rather than after every batch (the
// SQLite store): Run stores its batches with ImportBatchDeferred and calls IndexPending once the file is read.
type deferredStore interface {
	ImportBatchDeferred(ctx context.Context, name string, papers []paper.Paper, state []byte, at time.Time) (paper.IngestResult, error)
	IndexPending(ctx context.Context) error
}

// indexMerger is a store whose full-text index an import should merge once it has stored everything (the SQLite
// store: FTS5 keeps the index as segments, merged as they accumulate).
type indexMerger interface {
	MergeIndex(ctx context.Context) error
}

// Name is the import's name in the store: its checkpoint's, and the source the imported papers list.
const Name = "snapshot"

// DefaultBatchSize is how many papers one transaction stores. Larger batches amortize a transaction's fixed costs
// (a commit, an index segment); 5,000 papers are about 10 MB of text in memory.
const DefaultBatchSize = 5000

// maxLine bounds one line: the snapshot's longest records are a few hundred KB (papers with thousands of
// authors); a line longer than this is garbage, skipped without holding it in memory.
const maxLine = 16 << 20

// Options configure Run.
type Options struct {
	// Path is the snapshot file: JSON lines, or gzip-compressed JSON lines (recognized by content, not name).
	Path string
	// Filter keeps a subset of categories; the zero Filter keeps every paper.
	Filter Filter
	// Resume continues the import recorded in the store's checkpoint, which must be of the same file.
	Resume bool
	// BatchSize is the papers per transaction (DefaultBatchSize when 0).
	BatchSize int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Progress receives progress reports (none when nil; a progress.Line): when Terminal, one line rewritten in
	// place every fifth of a second; otherwise a plain line every ProgressEvery (10s when 0).
	Progress      io.Writer
	Terminal      bool
	ProgressEvery time.Duration
	// Bad receives one line per skipped record, up to MaxBadReports (20 when 0); the rest are only counted.
	Bad           io.Writer
	MaxBadReports int
}

// Counts are an import's running totals, kept in its checkpoint so a resumed import reports the whole file.
type Counts struct {
	// Lines counts the lines read (blank ones included).
	Lines int64 `json:"lines"`
	// Papers counts the papers handed to the store; Filtered those --categories left out; Withdrawn the stored
	// papers whose comment says they were withdrawn.
	Papers    int64 `json:"papers"`
	Filtered  int64 `json:"filtered"`
	Withdrawn int64 `json:"withdrawn"`
	// Skipped counts the records that could not be imported, by reason (the Reason constants).
	Skipped map[string]int64 `json:"skipped,omitempty"`
}

// SkippedTotal is the number of records skipped, whatever the reason.
func (c Counts) SkippedTotal() int64 {
	var n int64
	for _, v := range c.Skipped {
		n += v
	}
	return n
}

// Checkpoint is the state an import saves with each batch.
type Checkpoint struct {
	// File is the snapshot's absolute path; a resume of another file is refused.
	File string `json:"file"`
	// Offset is the byte offset, in the uncompressed stream, just after the last line of the last stored batch;
	// Line is that line's number. A resume starts reading there: a plain file seeks to it, a gzip file is
	// decompressed from its start and the first Offset bytes discarded (gzip offers no random access).
	Offset int64 `json:"offset"`
	Line   int64 `json:"line"`
	Counts
	// Done says the whole file was read (with Truncated, up to where its gzip stream broke off).
	Done bool `json:"done"`
}

// Report is what Run did.
type Report struct {
	Checkpoint
	// ResumedAt is the offset this run started reading at (0 for a fresh import).
	ResumedAt int64
	// New, Updated and Unchanged count this run's papers by what the store did with them.
	New, Updated, Unchanged int64
	// AlreadyDone says a resume found the import finished: nothing was read.
	AlreadyDone bool
	Took        time.Duration
}

// ErrNoCheckpoint is returned by Run with Resume when the store holds no checkpoint to resume.
var ErrNoCheckpoint = errors.New("no interrupted snapshot import to resume")

// batch is a run of papers to store with the checkpoint that holds once they are.
type batch struct {
	papers []paper.Paper
	cp     Checkpoint
}

// Run imports the snapshot at o.Path into st. It returns the report so far with any error: an error ends the
// import after the last stored batch, whose checkpoint a later Run with Resume continues from. Records that cannot
// be imported are counted and reported, not errors: the caller decides what they mean for its exit status.
func Run(ctx context.Context, st Store, o Options) (rep Report, err error) {
	start := time.Now()
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	abs, err := filepath.Abs(o.Path)
	if err != nil {
		return Report{}, fmt.Errorf("snapshot %s: %w", o.Path, err)
	}
	cp := Checkpoint{File: abs}
	if o.Resume {
		raw, ok, err := st.ImportState(ctx, Name)
		if err != nil {
			return Report{}, err
		}
		if !ok {
			return Report{}, ErrNoCheckpoint
		}
		var saved Checkpoint
		if err := json.Unmarshal(raw, &saved); err != nil {
			return Report{}, fmt.Errorf("read the saved checkpoint: %w", err)
		}
		if saved.File != abs {
			return Report{}, fmt.Errorf("the interrupted import was of %s, not %s: resume it with that file, or start over without --resume", saved.File, abs)
		}
		if saved.Done {
			return Report{Checkpoint: saved, ResumedAt: saved.Offset, AlreadyDone: true}, nil
		}
		cp = saved
	}
	rep = Report{Checkpoint: cp, ResumedAt: cp.Offset}
	// The named result: a deferred assignment to a local would come after the return value was copied, and every
	// report would say the import took 0s.
	defer func() { rep.Took = time.Since(start) }()

	f, err := os.Open(abs)
	if err != nil {
		return rep, fmt.Errorf("snapshot: %w", err)
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose on close
	info, err := f.Stat()
	if err != nil {
		return rep, fmt.Errorf("snapshot: %w", err)
	}
	src, err := openStream(f, cp.Offset)
	if err != nil {
		return rep, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, 1)
	readErr := make(chan error, 1)
	prog := newProgress(o, info.Size(), src.compressed, cp.Papers)
	// Whatever ends the import, the drawn line ends first, so that an error message starts on a line of its own.
	defer prog.line.Finish()
	bad := &badReporter{w: o.Bad, max: o.MaxBadReports, file: o.Path, line: prog.line}
	go func() {
		defer close(batches)
		readErr <- read(ctx, src, cp, o, bad, batches)
	}()

	importBatch := st.ImportBatch
	ds, deferred := st.(deferredStore)
	if deferred {
		importBatch = ds.ImportBatchDeferred
	}
	for b := range batches {
		state, err := json.Marshal(b.cp)
		if err != nil {
			return rep, fmt.Errorf("encode checkpoint: %w", err)
		}
		res, err := importBatch(ctx, Name, b.papers, state, o.Now())
		if err != nil {
			cancel()
			for range batches { //nolint:revive // drain so the reader ends
			}
			// The reader ends with the cancellation; the store's error is the one to report.
			if rerr := <-readErr; rerr != nil && !errors.Is(rerr, context.Canceled) {
				err = errors.Join(err, rerr)
			}
			return rep, err
		}
		rep.Checkpoint = b.cp
		rep.New += int64(len(res.New))
		rep.Updated += int64(len(res.Updated))
		rep.Unchanged += int64(res.Unchanged)
		prog.update(&rep, false)
	}
	if err := <-readErr; err != nil {
		return rep, err
	}
	if deferred {
		if err := ds.IndexPending(ctx); err != nil {
			return rep, err
		}
	}
	// Merged into one segment, the index answers look-ups faster; done here, once, rather than left to the
	// automerges of later polls. An interrupted merge costs nothing: the next merge continues it.
	if m, ok := st.(indexMerger); ok {
		if err := m.MergeIndex(ctx); err != nil {
			return rep, err
		}
	}
	prog.update(&rep, true)
	return rep, nil
}

// stream is the snapshot's uncompressed content, from some offset.
type stream struct {
	r io.Reader
	// compressed counts the file's bytes read so far (for progress): the position in the file, not in the
	// uncompressed stream.
	compressed *atomic.Int64
	gzip       bool
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// openStream opens f's uncompressed content at offset: a plain file seeks there, a gzip one is read from its
// start and the first offset bytes discarded.
func openStream(f *os.File, offset int64) (*stream, error) {
	s := &stream{compressed: new(atomic.Int64)}
	head := make([]byte, 2)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	s.gzip = n == 2 && head[0] == 0x1f && head[1] == 0x8b
	if !s.gzip {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return nil, fmt.Errorf("snapshot: seek to %d: %w", offset, err)
		}
		s.compressed.Store(offset)
		s.r = countingReader{r: f, n: s.compressed}
		return s, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(countingReader{r: f, n: s.compressed}, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("snapshot: gzip: %w", err)
	}
	if offset > 0 {
		if _, err := io.CopyN(io.Discard, zr, offset); err != nil {
			return nil, fmt.Errorf("snapshot: skip to offset %d of the uncompressed stream: %w", offset, err)
		}
	}
	s.r = zr
	return s, nil
}

// read parses lines from src into batches until the end of the stream, ctx's end or a read error. cp holds the
// position and counts at the start of src.
func read(ctx context.Context, src *stream, cp Checkpoint, o Options, bad *badReporter, out chan<- batch) error {
	br := bufio.NewReaderSize(src.r, 1<<20)
	var papers []paper.Paper
	flush := func() bool {
		if len(papers) == 0 && cp.Lines == 0 {
			return true
		}
		b := batch{papers: papers, cp: cp}
		b.cp.Skipped = cloneCounts(cp.Skipped)
		select {
		case out <- b:
			papers = make([]paper.Paper, 0, o.BatchSize)
			return true
		case <-ctx.Done():
			return false
		}
	}
	skip := func(err *BadRecordError) {
		if cp.Skipped == nil {
			cp.Skipped = map[string]int64{}
		}
		cp.Skipped[err.Reason]++
		bad.report(err)
	}
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it, up to maxLine.
			if len(long) <= maxLine {
				long = append(long, line...)
			}
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				cp.Done = true
				if !flush() {
					return ctx.Err()
				}
				return nil
			}
			return readFailure(err, &cp, skip, flush, ctx)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			// The stream broke off inside this line: what was read of it is not a record.
			return readFailure(err, &cp, skip, flush, ctx)
		}
		cp.Lines++
		cp.Offset += int64(len(line))
		cp.Line = cp.Lines
		if len(line) > maxLine {
			skip(&BadRecordError{Line: cp.Line, Reason: ReasonNotJSON, Detail: fmt.Sprintf("a line of more than %d bytes", maxLine)})
		} else if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			pr, perr := parseLine(trimmed, cp.Line)
			var be *BadRecordError
			switch {
			case errors.As(perr, &be):
				skip(be)
			case !o.Filter.Keeps(pr.p.Categories):
				cp.Filtered++
			default:
				cp.Papers++
				if pr.withdrawn {
					cp.Withdrawn++
				}
				papers = append(papers, pr.p)
			}
		}
		if errors.Is(err, io.EOF) {
			cp.Done = true
			if !flush() {
				return ctx.Err()
			}
			return nil
		}
		if len(papers) >= o.BatchSize {
			if !flush() {
				return ctx.Err()
			}
		}
	}
}

// readFailure ends a read that failed with err. A compressed stream that breaks off (a truncated or corrupt
// gzip file) is bad input: the partial line is skipped as truncated and what came before it is imported. Any other
// read error ends the import.
func readFailure(err error, cp *Checkpoint, skip func(*BadRecordError), flush func() bool, ctx context.Context) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		skip(&BadRecordError{Line: cp.Lines + 1, Reason: ReasonTruncated,
			Detail: fmt.Sprintf("the compressed stream ends early (%v) after %d uncompressed bytes; the lines before it are imported", err, cp.Offset)})
		cp.Done = true
		if !flush() {
			return ctx.Err()
		}
		return nil
	}
	return fmt.Errorf("snapshot: read line %d: %w", cp.Lines+1, err)
}

func cloneCounts(m map[string]int64) map[string]int64 {
	if m == nil {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// badReporter writes the first few skipped records' messages.
type badReporter struct {
	line *progress.Line // cleared before a message, which would otherwise land on the drawn progress line
	w    io.Writer
	max  int
	n    int
	file string
}

func (b *badReporter) report(err *BadRecordError) {
	if b.w == nil {
		return
	}
	limit := b.max
	if limit <= 0 {
		limit = 20
	}
	b.n++
	if b.n <= limit+1 {
		b.line.Clear()
	}
	switch {
	case b.n <= limit:
		_, _ = fmt.Fprintf(b.w, "%s:%v\n", b.file, err)
	case b.n == limit+1:
		_, _ = fmt.Fprintf(b.w, "%s: more bad records; they are counted in the summary only\n", b.file)
	}
}

// SkippedSummary lists the skipped counts by reason, in a stable order ("2 not JSON, 1 no id").
func (c Counts) SkippedSummary() string {
	reasons := make([]string, 0, len(c.Skipped))
	for r := range c.Skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d %s", c.Skipped[r], r)
	}
	return strings.Join(parts, ", ")
}
