package sources

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"
)

// APIError is the error the arXiv API reports inside an otherwise valid Atom feed (one entry titled "Error"), for
// example for a malformed id_list or search_query. Retrying the same request will not help.
type APIError struct {
	// ID is the entry id, e.g. "http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345".
	ID string
	// Message is the entry summary, e.g. "incorrect id format for 1234.12345".
	Message string
}

// Error returns the API's message, which names the offending parameter.
func (e *APIError) Error() string {
	return "arxiv api error: " + e.Message
}

// ParseArxivAPI parses an export.arxiv.org/api/query Atom response. An error response is returned as *APIError.
// Entries without an arXiv id are skipped; a response whose entries all lack one is an error (ErrNoItems).
func ParseArxivAPI(data []byte) ([]paper.Paper, error) {
	papers, _, err := parseArxivAPI(data)
	return papers, err
}

// parseArxivAPI is ParseArxivAPI, also counting what it repaired or left out (see sanitizeXML and capPaper).
func parseArxivAPI(data []byte) ([]paper.Paper, parseStats, error) {
	clean, st := sanitizeXML(data, MaxFeedItems)
	if t := detectFeedType(clean); t != gofeed.FeedTypeAtom {
		return nil, st, fmt.Errorf("parse arxiv api response: not an Atom feed (%s)", sniff(data))
	}
	feed, err := (&atom.Parser{}).Parse(bytes.NewReader(clean))
	if err != nil {
		return nil, st, fmt.Errorf("parse arxiv api response: %w", describeParseError(err))
	}
	papers := make([]paper.Paper, 0, len(feed.Entries))
	for _, e := range feed.Entries {
		if e == nil {
			continue
		}
		if strings.TrimSpace(e.Title) == "Error" && strings.Contains(e.ID, "/api/errors") {
			return nil, st, &APIError{ID: truncateUTF8(strings.TrimSpace(e.ID), maxShortBytes), Message: collapseSpace(truncateUTF8(e.Summary, maxShortBytes))}
		}
		if p, ok := arxivAPIEntry(e); ok && capPaper(&p, &st) {
			papers = append(papers, p)
		}
	}
	if len(papers) == 0 && len(feed.Entries) > 0 {
		return nil, st, fmt.Errorf("parse arxiv api response: %d entries without an arXiv id: %w", len(feed.Entries), ErrNoItems)
	}
	return papers, st, nil
}

// arxivAPIEntry converts one API entry.
func arxivAPIEntry(e *atom.Entry) (paper.Paper, bool) {
	var p paper.Paper
	refs := []string{e.ID}
	for _, l := range e.Links {
		if l != nil {
			refs = append(refs, l.Href)
		}
	}
	// <id> usually carries the version; the alternate and pdf links always do.
	for _, s := range refs {
		if !isArxivRef(s) {
			continue
		}
		if id, v, ok := paper.ParseArxivID(s); ok && (p.ArxivID == "" || p.ArxivID == id) {
			p.ArxivID = id
			p.Version = max(p.Version, v)
		}
	}
	p.Title = collapseSpace(e.Title)
	if p.ArxivID == "" || p.Title == "" {
		return paper.Paper{}, false
	}
	p.Abstract = cleanHTML(e.Summary)
	for _, a := range e.Authors {
		if a != nil {
			if n := collapseSpace(a.Name); n != "" {
				p.Authors = append(p.Authors, n)
			}
		}
	}
	for _, x := range e.Extensions["arxiv"]["primary_category"] {
		p.Categories = appendUnique(p.Categories, strings.TrimSpace(x.Attrs["term"]))
	}
	for _, c := range e.Categories {
		if c != nil {
			p.Categories = appendUnique(p.Categories, strings.TrimSpace(c.Term))
		}
	}
	p.Comment = collapseSpace(extText(e.Extensions, "arxiv", "comment"))
	p.JournalRef = collapseSpace(extText(e.Extensions, "arxiv", "journal_ref"))
	p.DOI = paper.NormalizeDOI(extText(e.Extensions, "arxiv", "doi"))
	p.URL = "https://arxiv.org/abs/" + p.ArxivID
	// Built rather than copied from the pdf link: the API still hands out http:// links that only redirect.
	p.PDFURL = arxivPDFURL(p.ArxivID, p.Version)
	if e.PublishedParsed != nil {
		p.Published = e.PublishedParsed.UTC()
	}
	if e.UpdatedParsed != nil {
		p.Updated = e.UpdatedParsed.UTC()
	}
	p.Key = paper.KeyOf(p)
	return p, true
}
