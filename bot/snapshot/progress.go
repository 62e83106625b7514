package snapshot

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/paperboy-bot/paperboy/bot/progress"
)

// importProgress reports an import's progress through a progress.Line: on a terminal redrawn every fifth of a
// second, elsewhere a plain line every ProgressEvery, so that logs stay readable.
type importProgress struct {
	line     *progress.Line
	size     int64         // the file's size on disk
	pos      *atomic.Int64 // bytes of the file read so far
	startPos int64
	start    time.Time
	papers0  int64 // papers imported before this run (a resume)
}

func newProgress(o Options, size int64, pos *atomic.Int64, papers0 int64) *importProgress {
	every := o.ProgressEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	if o.Terminal {
		every = 200 * time.Millisecond
	}
	return &importProgress{line: progress.New(o.Progress, o.Terminal, every, nil), size: size, pos: pos,
		startPos: pos.Load(), start: time.Now(), papers0: papers0}
}

// update reports rep if it is time to, or always when final.
func (p *importProgress) update(rep *Report, final bool) {
	if !final && !p.line.Due() {
		return
	}
	elapsed := time.Since(p.start)
	pos := p.pos.Load()
	line := fmt.Sprintf("snapshot: line %d", rep.Line)
	if p.size > 0 {
		line += fmt.Sprintf(", %.1f%%", 100*float64(min(pos, p.size))/float64(p.size))
	}
	var left time.Duration
	if !final {
		left = progress.Left(p.size-pos, pos-p.startPos, elapsed)
	}
	line += ": " + progress.Stats(rep.Papers, progress.Rate(rep.Papers-p.papers0, elapsed), left)
	if n := rep.SkippedTotal(); n > 0 {
		line += fmt.Sprintf(", %d skipped", n)
	}
	p.line.Show(line, final)
}
