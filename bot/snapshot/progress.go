package snapshot

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// progress reports an import's progress: on a terminal one line rewritten in place (\r), elsewhere a plain line
// now and then, so that logs stay readable.
type progress struct {
	w        io.Writer
	terminal bool
	every    time.Duration
	size     int64         // the file's size on disk
	pos      *atomic.Int64 // bytes of the file read so far
	startPos int64
	start    time.Time
	last     time.Time
	papers0  int64 // papers imported before this run (a resume)
}

func newProgress(o Options, size int64, pos *atomic.Int64, papers0 int64) *progress {
	every := o.ProgressEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	if o.Terminal {
		every = 200 * time.Millisecond
	}
	return &progress{w: o.Progress, terminal: o.Terminal, every: every, size: size, pos: pos, startPos: pos.Load(),
		start: time.Now(), last: time.Now(), papers0: papers0}
}

// update reports rep if it is time to, or always when final.
func (p *progress) update(rep *Report, final bool) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if !final && now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start)
	done := rep.Papers - p.papers0
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	pos := p.pos.Load()
	line := fmt.Sprintf("snapshot: %d papers (line %d)", rep.Papers, rep.Line)
	if p.size > 0 {
		line += fmt.Sprintf("  %.1f%%", 100*float64(min(pos, p.size))/float64(p.size))
	}
	line += fmt.Sprintf("  %.0f papers/s", rate)
	if read := pos - p.startPos; !final && read > 0 && p.size > pos {
		eta := time.Duration(float64(elapsed) * float64(p.size-pos) / float64(read))
		line += "  ETA " + eta.Round(time.Second).String()
	}
	if n := rep.SkippedTotal(); n > 0 {
		line += fmt.Sprintf("  skipped %d", n)
	}
	if p.terminal {
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r%s\x1b[K%s", line, end)
		return
	}
	fmt.Fprintln(p.w, line)
}
