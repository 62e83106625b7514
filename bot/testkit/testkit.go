// Package testkit holds the helpers the bot's tests share: a fake clock, sample papers, a synthetic arXiv feed and
// file copying. It is imported by tests only (an import-rule test checks that) and imports no storage, network or
// SDK code.
package testkit

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Clock is a fake clock for tests, safe for concurrent use. The zero value reads the zero time; use NewClock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock; pass c.Now where a func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Paper is an arXiv paper announced daysAgo days before now, by two authors, in cs.LG, with its key set.
func Paper(now time.Time, id, title, abstract string, daysAgo int) paper.Paper {
	p := paper.Paper{ArxivID: id, Title: title, Abstract: abstract, Authors: []string{"Ada Lovelace", "Alan Turing"},
		Categories: []string{"cs.LG"}, URL: "https://arxiv.org/abs/" + id, PDFURL: "https://arxiv.org/pdf/" + id,
		Published: now.AddDate(0, 0, -daysAgo), AnnounceType: paper.AnnounceNew, Sources: []string{"arxiv"}}
	p.Key = paper.KeyOf(p)
	return p
}

// SamplePapers are the papers the command tests search: three of the last days, one a month old.
func SamplePapers(now time.Time) []paper.Paper {
	return []paper.Paper{
		Paper(now, "2611.00001", "EEG-based foundation models for sleep staging", "We pretrain a foundation model on EEG recordings.", 1),
		Paper(now, "2611.00002", "A survey of EEG decoding", "We survey EEG decoders.", 2),
		Paper(now, "2611.00003", "Spiking neural networks on neuromorphic chips", "SNNs are efficient.", 3),
		Paper(now, "2610.00004", "Old EEG work", "An EEG study from last month.", 30),
	}
}

// CopyFile copies the file src to dst (created or truncated), as cp does: destination first.
func CopyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // read-only: nothing to lose
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
