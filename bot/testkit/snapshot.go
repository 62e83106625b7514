package testkit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// snapshotRecord is one line of arXiv's metadata snapshot (arxiv-metadata-oai-snapshot.json), every field as the
// published file writes it.
type snapshotRecord struct {
	ID            string            `json:"id"`
	Submitter     string            `json:"submitter"`
	Authors       string            `json:"authors"`
	Title         string            `json:"title"`
	Comments      *string           `json:"comments"`
	JournalRef    *string           `json:"journal-ref"`
	DOI           *string           `json:"doi"`
	ReportNo      *string           `json:"report-no"`
	Categories    string            `json:"categories"`
	License       *string           `json:"license"`
	Abstract      string            `json:"abstract"`
	Versions      []snapshotVersion `json:"versions"`
	UpdateDate    string            `json:"update_date"`
	AuthorsParsed [][]string        `json:"authors_parsed"`
}

type snapshotVersion struct {
	Version string `json:"version"`
	Created string `json:"created"`
}

// snapshotMonths is the span of new-style ids: April 2007 (0704) to September 2026 (2609).
const snapshotMonths = (2026-2007)*12 + 9 - 4 + 1

// SyntheticSnapshot writes n records in the shape of arXiv's metadata snapshot to w, the same for the same seed,
// for the import's tests, benchmark and load runs. Like the real file, new-style ids come first, in id order
// (April 2007 to September 2026, four-digit numbers before 2015 and five after), then about 5% old-style ids
// (hep-th/9901001, 1991-2007); titles and abstracts wrap with the file's newline-and-two-spaces, abstracts hold
// 100-250 words of the benchmark vocabulary, papers have 1-3 versions, 1-8 authors (1 in 200 has 50-300), 1-3
// categories, and about 1% are withdrawn; a third carry a DOI and a journal reference. It streams: memory stays
// flat whatever n.
func SyntheticSnapshot(w io.Writer, n int, seed int64) error {
	r := rand.New(rand.NewPCG(uint64(seed), 0x51a75407))
	pick := func(list []string) string { return list[r.IntN(len(list))] }
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	oldStyle := n / 20
	newStyle := n - oldStyle
	perMonth := max(1, (newStyle+snapshotMonths-1)/snapshotMonths)
	oldArchives := []string{"hep-th", "hep-ph", "math", "cond-mat", "astro-ph", "quant-ph", "gr-qc", "chao-dyn"}
	var abs strings.Builder
	for i := range n {
		var id string
		var month time.Time
		var cats []string
		if i < newStyle {
			m := min(i/perMonth, snapshotMonths-1)
			month = time.Date(2007, time.Month(4+m), 1, 0, 0, 0, 0, time.UTC)
			yymm := month.Format("0601")
			seq := i - m*perMonth + 1
			// Before 2015 arXiv numbered four digits a month; a synthetic month of more papers than that
			// takes five, so that ids stay distinct.
			if month.Year() < 2015 && perMonth < 10000 {
				id = fmt.Sprintf("%s.%04d", yymm, seq%10000)
			} else {
				id = fmt.Sprintf("%s.%05d", yymm, seq%100000)
			}
			for len(cats) < 1+r.IntN(3) {
				if c := pick(synthCategories); !slices.Contains(cats, c) {
					cats = append(cats, c)
				}
			}
		} else {
			j := i - newStyle
			archive := oldArchives[j%len(oldArchives)]
			m := (j / len(oldArchives)) % (16*12 + 3) // August 1991 to March 2007
			month = time.Date(1991, time.Month(8+m), 1, 0, 0, 0, 0, time.UTC)
			id = fmt.Sprintf("%s/%s%03d", archive, month.Format("0601"), 1+(j/len(oldArchives))/(16*12+3)%1000)
			cats = []string{archive}
			if archive == "math" {
				cats[0] = "math.AG"
			}
		}
		created := month.Add(time.Duration(r.IntN(27*24*3600)) * time.Second)
		versions := []snapshotVersion{{"v1", created.Format(time.RFC1123)}}
		last := created
		for v := 2; v <= 1+r.IntN(3); v++ {
			last = last.Add(time.Duration(1+r.IntN(200)) * 24 * time.Hour)
			versions = append(versions, snapshotVersion{fmt.Sprintf("v%d", v), last.Format(time.RFC1123)})
		}
		nAuthors := 1 + r.IntN(8)
		if r.IntN(200) == 0 {
			nAuthors = 50 + r.IntN(251)
		}
		names := make([]string, nAuthors)
		parsed := make([][]string, nAuthors)
		for k := range names {
			first, lastName := pick(synthFirst), pick(synthLast)
			names[k], parsed[k] = first+" "+lastName, []string{lastName, first, ""}
		}
		title := fmt.Sprintf("%s %s for %s via\n  %s", pick(synthAdjectives), pick(synthNouns), pick(synthTasks),
			pick(synthMethods))
		abs.Reset()
		abs.WriteString("  ")
		synthAbstract(&abs, r, 100+r.IntN(151))
		abs.WriteByte('\n')
		rec := snapshotRecord{
			ID: id, Submitter: names[0], Authors: strings.Join(names, ", "), Title: title,
			Categories: strings.Join(cats, " "), Abstract: abs.String(), Versions: versions,
			UpdateDate: last.Format(time.DateOnly), AuthorsParsed: parsed,
		}
		pages := fmt.Sprintf("%d pages, %d figures", 4+r.IntN(40), r.IntN(12))
		rec.Comments = &pages
		if r.IntN(3) == 0 {
			doi := fmt.Sprintf("10.%d/synth.%d", 1000+r.IntN(9000), i)
			jref := fmt.Sprintf("J. Synth. %d (%d) %d", 1+r.IntN(99), last.Year(), 1+r.IntN(999))
			rec.DOI, rec.JournalRef = &doi, &jref
		}
		if r.IntN(100) == 0 {
			wd := "This paper has been withdrawn by the author due to an error in the proof"
			rec.Comments = &wd
		}
		if r.IntN(2) == 0 {
			lic := "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
			rec.License = &lic
		}
		if err := enc.Encode(&rec); err != nil {
			return fmt.Errorf("synthetic snapshot: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("synthetic snapshot: %w", err)
	}
	return nil
}
