package sources

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// arXiv's OAI-PMH interface (https://info.arxiv.org/help/oa/index.html). The service moved from
// export.arxiv.org/oai2, which now only redirects, to oaipmh.arxiv.org/oai.
const (
	DefaultOAIBase = "https://oaipmh.arxiv.org/oai"
	// OAIPrefix is the metadata format the harvester asks for. arXivRaw rather than arXiv: it lists every version
	// with its submission time (the arXiv format has only the first and last dates, and no version number), which
	// is what Published, Updated, Version and a withdrawn paper's PDF link are made of, exactly as the snapshot
	// importer reads them from the metadata dataset's "versions".
	OAIPrefix = "arXivRaw"
)

// The OAI-PMH error codes the harvester acts on (OAI-PMH 2.0, section 3.6).
const (
	OAIBadResumptionToken = "badResumptionToken"
	OAINoRecordsMatch     = "noRecordsMatch"
	OAIBadArgument        = "badArgument"
)

// ErrMalformedPage is wrapped by ParseOAIPage when a response is not a well-formed OAI-PMH document: without it,
// the page's records and resumption token are lost.
var ErrMalformedPage = errors.New("malformed OAI-PMH response")

// OAIError is an error answer of an OAI-PMH repository (<error code="...">).
type OAIError struct {
	Code    string
	Message string
}

func (e *OAIError) Error() string {
	if e.Message == "" {
		return "oai-pmh error " + e.Code
	}
	return "oai-pmh error " + e.Code + ": " + e.Message
}

// OAIPage is one parsed ListRecords response.
type OAIPage struct {
	// Papers are the usable records, in page order.
	Papers []paper.Paper
	// Bad are the records that could not be turned into a paper, with the reason.
	Bad []RecordError
	// Deleted counts records whose header says status="deleted" (arXiv keeps none, but the protocol allows them).
	Deleted int
	// Records counts every record on the page, usable or not.
	Records int
	// Token is the resumption token for the next page; "" on the last page (arXiv sends it empty or blank).
	Token string
	// Cursor is the position of the page's first record in the whole list and Total the list's size
	// (completeListSize); both -1 when the repository did not say.
	Cursor, Total int
	// LastDatestamp is the latest header datestamp on the page (YYYY-MM-DD), "" when none.
	LastDatestamp string
}

// RecordError says why one record was skipped.
type RecordError struct {
	// Identifier is the OAI identifier ("oai:arXiv.org:2401.01234"), "" when the header had none.
	Identifier string
	// Index is the record's 1-based position on its page.
	Index  int
	Reason string
}

func (e RecordError) String() string {
	id := e.Identifier
	if id == "" {
		id = "(no identifier)"
	}
	return fmt.Sprintf("record %d %s: %s", e.Index, id, e.Reason)
}

// The parts of an OAI-PMH response the harvester reads. encoding/xml matches local names, so the OAI and arXivRaw
// namespaces need no spelling out; an unknown element is ignored, as the protocol asks of harvesters.
type oaiResponse struct {
	XMLName     xml.Name        `xml:"OAI-PMH"`
	Errors      []oaiErrorElem  `xml:"error"`
	ListRecords *oaiListRecords `xml:"ListRecords"`
}

type oaiErrorElem struct {
	Code    string `xml:"code,attr"`
	Message string `xml:",chardata"`
}

type oaiListRecords struct {
	Records []oaiRecord `xml:"record"`
	Token   *oaiToken   `xml:"resumptionToken"`
}

type oaiToken struct {
	Value            string `xml:",chardata"`
	Cursor           string `xml:"cursor,attr"`
	CompleteListSize string `xml:"completeListSize,attr"`
}

type oaiRecord struct {
	Header struct {
		Status     string `xml:"status,attr"`
		Identifier string `xml:"identifier"`
		Datestamp  string `xml:"datestamp"`
	} `xml:"header"`
	Metadata struct {
		Raw *arxivRaw `xml:"arXivRaw"`
	} `xml:"metadata"`
}

// arxivRaw is the arXivRaw metadata format (http://arxiv.org/OAI/arXivRaw/).
type arxivRaw struct {
	ID       string `xml:"id"`
	Versions []struct {
		Version string `xml:"version,attr"`
		Date    string `xml:"date"`
		Size    string `xml:"size"`
	} `xml:"version"`
	Title      string `xml:"title"`
	Authors    string `xml:"authors"`
	Categories string `xml:"categories"`
	Comments   string `xml:"comments"`
	JournalRef string `xml:"journal-ref"`
	DOI        string `xml:"doi"`
	Abstract   string `xml:"abstract"`
}

// arXiv writes version dates as in e-mail headers: "Mon, 2 Apr 2007 19:18:42 GMT".
const arxivRawDate = "Mon, 2 Jan 2006 15:04:05 MST"

// A withdrawal is a new version whose comment says so ("This paper has been withdrawn by the author"); arXiv
// also serves it with no content ("0kb").
var withdrawnRe = regexp.MustCompile(`(?i)\b(?:has|have|had|been|is|was|paper|article|submission)\s+(?:been\s+)?withdrawn\b|^\s*withdrawn\b`)

// ParseOAIPage parses one arXiv OAI-PMH ListRecords response in the arXivRaw format. An OAI-PMH error answer is
// returned as *OAIError; a document that is not well-formed OAI-PMH wraps ErrMalformedPage. A record that cannot be
// used (no arXiv id, no title, an invalid version date, a category not spelled like one) is reported in Bad and the
// rest of the page is still returned.
func ParseOAIPage(data []byte) (OAIPage, error) {
	page := OAIPage{Cursor: -1, Total: -1}
	var resp oaiResponse
	dec := xml.NewDecoder(bytes.NewReader(data))
	// arXiv declares UTF-8; anything else is not an arXiv response.
	dec.CharsetReader = nil
	if err := dec.Decode(&resp); err != nil {
		return page, fmt.Errorf("%w: %w (%s)", ErrMalformedPage, err, sniff(data))
	}
	if len(resp.Errors) > 0 {
		e := resp.Errors[0]
		return page, &OAIError{Code: strings.TrimSpace(e.Code), Message: collapseSpace(e.Message)}
	}
	if resp.ListRecords == nil {
		return page, fmt.Errorf("%w: neither ListRecords nor error (%s)", ErrMalformedPage, sniff(data))
	}
	lr := resp.ListRecords
	if t := lr.Token; t != nil {
		page.Token = strings.TrimSpace(t.Value)
		if n, err := strconv.Atoi(strings.TrimSpace(t.Cursor)); err == nil && n >= 0 {
			page.Cursor = n
		}
		if n, err := strconv.Atoi(strings.TrimSpace(t.CompleteListSize)); err == nil && n >= 0 {
			page.Total = n
		}
	}
	page.Records = len(lr.Records)
	for i, r := range lr.Records {
		id := strings.TrimSpace(r.Header.Identifier)
		if ds := strings.TrimSpace(r.Header.Datestamp); ds > page.LastDatestamp && validDatestamp(ds) {
			page.LastDatestamp = ds
		}
		if strings.EqualFold(strings.TrimSpace(r.Header.Status), "deleted") {
			page.Deleted++
			continue
		}
		p, err := arxivRawPaper(id, r.Metadata.Raw)
		if err != nil {
			page.Bad = append(page.Bad, RecordError{Identifier: id, Index: i + 1, Reason: err.Error()})
			continue
		}
		page.Papers = append(page.Papers, p)
	}
	return page, nil
}

// validDatestamp accepts the day granularity arXiv uses (and the seconds one the protocol also allows).
func validDatestamp(s string) bool {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return true
	}
	_, err := time.Parse("2006-01-02T15:04:05Z", s)
	return err == nil
}

// arxivRawPaper converts one arXivRaw record; identifier is the header's OAI identifier.
func arxivRawPaper(identifier string, m *arxivRaw) (paper.Paper, error) {
	if m == nil {
		return paper.Paper{}, errors.New("no arXivRaw metadata")
	}
	var p paper.Paper
	// <id> is the paper's own id; the header identifier ("oai:arXiv.org:math/0601001") says the same and stands in
	// when <id> is missing. ParseArxivID drops a subject class from an old-style id (math.AG/0601001 is
	// math/0601001), which is the key every other source computes.
	for _, s := range []string{m.ID, identifier} {
		if id, _, ok := paper.ParseArxivID(s); ok && strings.TrimSpace(s) != "" {
			p.ArxivID = id
			break
		}
	}
	if p.ArxivID == "" {
		return paper.Paper{}, fmt.Errorf("no arXiv id (id %q)", strings.TrimSpace(m.ID))
	}
	p.Title = collapseSpace(m.Title)
	if p.Title == "" {
		return paper.Paper{}, fmt.Errorf("%s: no title", p.ArxivID)
	}
	lastContent := 0
	for _, v := range m.Versions {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(v.Version), "v"))
		if err != nil || n < 1 {
			return paper.Paper{}, fmt.Errorf("%s: bad version %q", p.ArxivID, v.Version)
		}
		at, err := time.Parse(arxivRawDate, collapseSpace(v.Date))
		if err != nil {
			return paper.Paper{}, fmt.Errorf("%s v%d: invalid date %q", p.ArxivID, n, strings.TrimSpace(v.Date))
		}
		at = at.UTC()
		// v1's date is the first announcement and the last version's the latest; taking the earliest and latest
		// dates says the same on arXiv's data and keeps Updated >= Published on anything else.
		if p.Published.IsZero() || at.Before(p.Published) {
			p.Published = at
		}
		if at.After(p.Updated) {
			p.Updated = at
		}
		p.Version = max(p.Version, n)
		if n > lastContent && !emptySize(v.Size) {
			lastContent = n
		}
	}
	if p.Version == 0 {
		return paper.Paper{}, fmt.Errorf("%s: no versions", p.ArxivID)
	}
	for c := range strings.FieldsSeq(m.Categories) {
		if !arxivCategoryRe.MatchString(c) {
			return paper.Paper{}, fmt.Errorf("%s: bad category %q", p.ArxivID, c)
		}
		p.Categories = appendUnique(p.Categories, c)
	}
	p.Abstract = collapseSpace(m.Abstract)
	p.Authors = splitAuthors(m.Authors)
	p.Comment = collapseSpace(m.Comments)
	p.JournalRef = collapseSpace(m.JournalRef)
	p.DOI = paper.NormalizeDOI(m.DOI)
	p.URL = "https://arxiv.org/abs/" + p.ArxivID
	// A withdrawn paper's last version is an empty placeholder; its PDF link points at the last version with
	// content, and the withdrawal note stays in Comment for readers.
	pdfVersion := p.Version
	if lastContent > 0 && lastContent < p.Version && Withdrawn(p.Comment) {
		pdfVersion = lastContent
	}
	p.PDFURL = arxivPDFURL(p.ArxivID, pdfVersion)
	p.Key = paper.KeyOf(p)
	return p, nil
}

// emptySize reports whether an arXivRaw version size says the version has no content ("0kb").
func emptySize(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "0kb" || s == "0" || s == "0b"
}

// Withdrawn reports whether an arXiv comment marks the paper as withdrawn.
func Withdrawn(comment string) bool {
	return withdrawnRe.MatchString(comment)
}

// The groups of arXiv's taxonomy, which are the top level of its OAI-PMH sets, and the archives of the physics
// group (every other group has one archive of its own name).
var (
	oaiGroups         = []string{"cs", "econ", "eess", "math", "physics", "q-bio", "q-fin", "stat"}
	oaiPhysicsArchive = map[string]bool{
		"astro-ph": true, "cond-mat": true, "gr-qc": true, "hep-ex": true, "hep-lat": true, "hep-ph": true,
		"hep-th": true, "math-ph": true, "nlin": true, "nucl-ex": true, "nucl-th": true, "physics": true,
		"quant-ph": true,
	}
	oaiSetRe = regexp.MustCompile(`^[a-z]+(?:-[a-z]+)*(?::[a-z]+(?:-[a-z]+)*(?::[A-Za-z]+(?:-[a-z]+)*)?)?$`)
)

// OAISet turns a category as paperboy spells it everywhere (cs.LG, hep-th, cond-mat.str-el) into the setSpec of
// arXiv's OAI-PMH service, whose sets are group:archive:category ("cs:cs:LG", "physics:hep-th",
// "physics:cond-mat:str-el", "math:math:AG"). A group name alone (cs, math, physics, q-bio, ...) is the whole group;
// a spec that already holds a colon is taken as a setSpec and only checked.
func OAISet(category string) (string, error) {
	c := strings.TrimSpace(category)
	if strings.Contains(c, ":") {
		if !oaiSetRe.MatchString(c) {
			return "", fmt.Errorf("bad OAI-PMH setSpec %q (want e.g. cs:cs:LG or physics:hep-th)", c)
		}
		return c, nil
	}
	if !arxivCategoryRe.MatchString(c) {
		return "", fmt.Errorf("bad arXiv category %q (want e.g. cs.LG, hep-th, math)", c)
	}
	archive, subject, _ := strings.Cut(c, ".")
	group := ""
	switch {
	case oaiPhysicsArchive[archive]:
		group = "physics"
	default:
		for _, g := range oaiGroups {
			if g == archive {
				group = g
			}
		}
	}
	if group == "" {
		return "", fmt.Errorf("arXiv category %q: unknown archive %q", c, archive)
	}
	switch {
	case subject != "":
		return group + ":" + archive + ":" + subject, nil
	case archive == group:
		return group, nil
	default:
		return group + ":" + archive, nil
	}
}
