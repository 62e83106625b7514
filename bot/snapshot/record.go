// Package snapshot imports arXiv's public metadata snapshot (the JSON-lines file published as
// "arxiv-metadata-oai-snapshot.json", one object per paper) into a store as history: papers that look-ups,
// subscribe previews and backfills find, and that no channel receives as new (see the stores' ImportBatch).
//
// The file is read as a stream, in batches, each stored together with a checkpoint (the byte offset of the
// uncompressed stream after its last line, and the counts so far), so memory stays flat whatever the file's size
// and an interrupted import resumes after the last stored batch. A record that cannot be imported is reported with
// its line number and skipped; the rest is imported.
package snapshot

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// record is one line of the snapshot. Fields the bot does not keep (submitter, report-no, license) are not
// decoded.
type record struct {
	ID            string      `json:"id"`
	Authors       string      `json:"authors"`
	Title         string      `json:"title"`
	Comments      *string     `json:"comments"`
	JournalRef    *string     `json:"journal-ref"`
	DOI           *string     `json:"doi"`
	Categories    string      `json:"categories"`
	Abstract      string      `json:"abstract"`
	Versions      []version   `json:"versions"`
	UpdateDate    string      `json:"update_date"`
	AuthorsParsed [][]*string `json:"authors_parsed"`
}

type version struct {
	Version string `json:"version"`
	Created string `json:"created"`
}

// Reasons a record is skipped, as the summary counts them.
const (
	ReasonNotJSON         = "not JSON"
	ReasonNoID            = "no id"
	ReasonInvalidDate     = "invalid date"
	ReasonUnknownCategory = "unknown category"
	ReasonTruncated       = "truncated input"
)

// BadRecordError says why one line of the snapshot could not be imported.
type BadRecordError struct {
	Line   int64
	ID     string // "" when unknown
	Reason string // one of the Reason constants
	Detail string
}

func (e *BadRecordError) Error() string {
	id := ""
	if e.ID != "" {
		id = " (" + e.ID + ")"
	}
	return fmt.Sprintf("line %d%s: %s: %s", e.Line, id, e.Reason, e.Detail)
}

// shortNewID is a new-style id whose leading zero was lost ("704.0001" for "0704.0001"), as some copies of the
// snapshot carry after a round trip through a tool that took the id for a number.
var shortNewID = regexp.MustCompile(`^\d{3}\.\d{4}$`)

// withdrawnRe recognizes the comment arXiv's withdrawal notices carry.
var withdrawnRe = regexp.MustCompile(`(?i)\b(?:this (?:paper|article|submission|manuscript) (?:has been|is|was) withdrawn|withdrawn by (?:the )?(?:author|arxiv admin))`)

// parsed is a decoded line: the paper, and facts the summary counts.
type parsed struct {
	p         paper.Paper
	withdrawn bool
}

// parseLine decodes one line of the snapshot into a paper. The identity is the arXiv id (old-style ids such as
// math/0601001 included); Published is when version 1 was submitted and Updated when the last version was, the
// version the last one's number; the DOI and journal reference come from the record.
func parseLine(line []byte, n int64) (parsed, error) {
	var r record
	if err := json.Unmarshal(line, &r); err != nil {
		return parsed{}, &BadRecordError{Line: n, Reason: ReasonNotJSON, Detail: err.Error()}
	}
	raw := strings.TrimSpace(r.ID)
	if raw == "" {
		return parsed{}, &BadRecordError{Line: n, Reason: ReasonNoID, Detail: "the record has no id"}
	}
	if shortNewID.MatchString(raw) {
		raw = "0" + raw
	}
	id, _, ok := paper.ParseArxivID(raw)
	if !ok {
		return parsed{}, &BadRecordError{Line: n, ID: raw, Reason: ReasonNoID, Detail: fmt.Sprintf("%q is not an arXiv id", r.ID)}
	}
	bad := func(reason, format string, args ...any) (parsed, error) {
		return parsed{}, &BadRecordError{Line: n, ID: id, Reason: reason, Detail: fmt.Sprintf(format, args...)}
	}
	if len(r.Versions) == 0 {
		return bad(ReasonInvalidDate, "the record lists no versions")
	}
	var published, earliest, updated time.Time
	last := 0
	for _, v := range r.Versions {
		t, err := parseCreated(v.Created)
		if err != nil {
			return bad(ReasonInvalidDate, "version %s: created %q: not a date", v.Version, v.Created)
		}
		num, err := strconv.Atoi(strings.TrimPrefix(v.Version, "v"))
		if err != nil || num < 1 {
			return bad(ReasonInvalidDate, "version %q: not a version number", v.Version)
		}
		if num == 1 {
			published = t
		}
		if earliest.IsZero() || t.Before(earliest) {
			earliest = t
		}
		if num > last {
			last, updated = num, t
		}
	}
	if published.IsZero() {
		// A record without its v1 (never seen, but cheap to survive): the earliest version known.
		published = earliest
	}
	cats := strings.Fields(r.Categories)
	if len(cats) == 0 {
		return bad(ReasonUnknownCategory, "the record has no category")
	}
	for _, c := range cats {
		if !KnownCategory(c) {
			return bad(ReasonUnknownCategory, "%q is not an arXiv category", c)
		}
	}
	p := paper.Paper{
		ArxivID:    id,
		Version:    last,
		Title:      oneLine(r.Title),
		Abstract:   oneLine(r.Abstract),
		Authors:    authors(&r),
		Categories: dedupe(cats),
		Comment:    oneLine(deref(r.Comments)),
		JournalRef: oneLine(deref(r.JournalRef)),
		DOI:        paper.NormalizeDOI(deref(r.DOI)),
		URL:        "https://arxiv.org/abs/" + id,
		PDFURL:     "https://arxiv.org/pdf/" + id,
		Published:  published,
		Updated:    updated,
	}
	if p.Updated.Equal(p.Published) {
		p.Updated = time.Time{}
	}
	p.Key = paper.KeyOf(p)
	return parsed{p: p, withdrawn: withdrawnRe.MatchString(p.Comment)}, nil
}

// parseCreated reads a version's date, as the snapshot writes it ("Mon, 2 Apr 2007 19:18:42 GMT").
func parseCreated(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC1123, "Mon, 2 Jan 2006 15:04:05 MST", time.RFC1123Z} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date: %q", s)
}

// authors lists the authors as "First Last Suffix" from authors_parsed ([last, first, suffix]); without it, the
// authors string split at commas and "and".
func authors(r *record) []string {
	var out []string
	for _, a := range r.AuthorsParsed {
		var parts []string
		for _, i := range []int{1, 0, 2} {
			if i < len(a) && a[i] != nil {
				if s := strings.TrimSpace(*a[i]); s != "" {
					parts = append(parts, s)
				}
			}
		}
		if len(parts) > 0 {
			out = append(out, strings.Join(parts, " "))
		}
	}
	if len(out) > 0 {
		return out
	}
	s := oneLine(r.Authors)
	for _, part := range strings.Split(strings.ReplaceAll(s, " and ", ", "), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// oneLine collapses the snapshot's line breaks and runs of spaces (titles and abstracts keep their original
// wrapping) into single spaces.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\r\t") && !strings.Contains(s, "  ") && strings.TrimSpace(s) == s {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func dedupe(cats []string) []string {
	out := cats[:0:0]
	for _, c := range cats {
		dup := false
		for _, o := range out {
			if o == c {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}
