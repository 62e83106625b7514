// Package progress draws the progress line of a long command (paperboy import snapshot, paperboy import arxiv):
// on a terminal one line redrawn in place, elsewhere (a log, a pipe) plain lines now and then, so that every
// importer reports the same way and logs stay readable.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Line is a progress line written to one writer. A Line with a nil writer shows nothing. It is safe for
// concurrent use: an importer's reader may Clear it for a message while its loop shows progress.
type Line struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	every    time.Duration
	now      func() time.Time
	last     time.Time
	shown    bool // a line was shown since the Line was made
	drawn    bool // a line is on the terminal, not yet ended by a newline
}

// New returns a Line writing to w: redrawn in place (\r) when terminal, else one plain line per update. Updates
// closer than every to the last one shown are dropped (every update is shown when every is 0). now is the
// clock (time.Now when nil).
func New(w io.Writer, terminal bool, every time.Duration, now func() time.Time) *Line {
	if now == nil {
		now = time.Now
	}
	return &Line{w: w, terminal: terminal, every: every, now: now}
}

// Due reports whether an update now would be shown, so that a caller can skip composing one that would not.
func (l *Line) Due() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.due()
}

func (l *Line) due() bool {
	return l.w != nil && (!l.shown || l.every <= 0 || l.now().Sub(l.last) >= l.every)
}

// Show shows text if an update is due, or always when final.
func (l *Line) Show(text string, final bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil || (!final && !l.due()) {
		return
	}
	l.last, l.shown = l.now(), true
	// A progress line that cannot be written has nowhere else to go; the command's report at the end says it all.
	if l.terminal {
		_, _ = fmt.Fprintf(l.w, "\r%s\x1b[K", text)
		l.drawn = true
		return
	}
	_, _ = fmt.Fprintln(l.w, text)
}

// Clear erases a line drawn on the terminal, so that a message written next (to another stream showing on the
// same terminal) starts at the left margin; the next update draws the line again.
func (l *Line) Clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		_, _ = fmt.Fprint(l.w, "\r\x1b[K")
		l.drawn = false
	}
}

// Finish ends a line drawn on the terminal with a newline, so that what follows starts on a line of its own and
// the last progress stays visible.
func (l *Line) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		_, _ = fmt.Fprintln(l.w)
		l.drawn = false
	}
}

// Stats is the part every importer's line shares: papers stored in all, the rate of this run, and the time left
// (unknown when 0).
func Stats(papers int64, rate float64, left time.Duration) string {
	s := fmt.Sprintf("%d papers, %.1f papers/s", papers, rate)
	switch {
	case left >= time.Second:
		s += ", about " + left.Round(time.Second).String() + " left"
	case left > 0:
		s += ", under 1s left"
	}
	return s
}

// Rate is n per second of elapsed (0 before any time has passed).
func Rate(n int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(n) / elapsed.Seconds()
}

// Left estimates the time to do left units of work at the pace of done units in elapsed (0 when unknown).
func Left(left, done int64, elapsed time.Duration) time.Duration {
	if left <= 0 || done <= 0 || elapsed <= 0 {
		return 0
	}
	return time.Duration(float64(elapsed) * float64(left) / float64(done))
}
