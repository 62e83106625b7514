package sources

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/mmcdole/gofeed"
)

// ParseFeed parses any RSS 1.0/2.0, Atom or JSON Feed (journals, bioRxiv/medRxiv subject feeds, blogs). Identity
// comes from an arXiv id when the item's link or guid is an arXiv record, else from a DOI (dc:identifier,
// prism:doi, a doi.org or /doi/ link, the guid), else from the normalized link (see KeyOf). Items without a title are
// skipped; a feed whose items all lack one is an error (ErrNoItems). Broken characters are repaired, malformed JSON
// Feed items skipped and fields capped as parseGofeed and capPaper describe.
func ParseFeed(data []byte) ([]paper.Paper, error) {
	papers, _, err := parseFeed(data)
	return papers, err
}

// parseFeed is ParseFeed, also counting what it repaired or left out.
func parseFeed(data []byte) ([]paper.Paper, parseStats, error) {
	feed, st, err := parseGofeed(data)
	if err != nil {
		return nil, st, fmt.Errorf("parse feed: %w", err)
	}
	papers := make([]paper.Paper, 0, len(feed.Items))
	for _, it := range feed.Items {
		if it == nil {
			continue
		}
		if p, ok := feedItem(it); ok {
			if capPaper(&p, &st) {
				papers = append(papers, p)
			}
		}
	}
	if len(papers) == 0 && len(feed.Items) > 0 {
		return nil, st, fmt.Errorf("parse feed: %d items without a title: %w", len(feed.Items), ErrNoItems)
	}
	return papers, st, nil
}

// feedItem converts one generic feed item.
func feedItem(it *gofeed.Item) (paper.Paper, bool) {
	var p paper.Paper
	// Journal feeds put markup in titles (<i>Drosophila</i>); arXiv never does, which is why only this parser strips it.
	p.Title = cleanHTML(it.Title)
	if p.Title == "" && it.DublinCoreExt != nil && len(it.DublinCoreExt.Title) > 0 {
		p.Title = cleanHTML(it.DublinCoreExt.Title[0])
	}
	if p.Title == "" {
		return paper.Paper{}, false
	}
	desc := it.Description
	if desc == "" {
		desc = it.Content
	}
	p.Abstract = cleanHTML(desc)
	if m := arxivDescPrefixRe.FindStringIndex(p.Abstract); m != nil {
		p.Abstract = p.Abstract[m[1]:]
	}

	link := strings.TrimSpace(it.Link)
	for _, s := range append([]string{it.GUID, link}, it.Links...) {
		if isArxivRef(s) {
			if id, v, ok := paper.ParseArxivID(s); ok {
				p.ArxivID, p.Version = id, v
				break
			}
		}
	}
	p.DOI = itemDOI(it)
	if p.ArxivID != "" {
		// An arXiv listing configured as a plain feed still carries the arxiv: extension elements.
		p.AnnounceType = paper.AnnounceType(strings.ToLower(extText(it.Extensions, "arxiv", "announce_type")))
		if p.DOI == "" {
			p.DOI = paper.NormalizeDOI(extText(it.Extensions, "arxiv", "DOI"))
		}
		if m := arxivDescPrefixRe.FindStringSubmatch(desc); m != nil && p.AnnounceType == "" {
			p.AnnounceType = paper.AnnounceType(strings.ToLower(m[2]))
		}
	}

	creators := dcCreators(it)
	if len(creators) == 1 {
		p.Authors = splitAuthors(cleanHTML(creators[0]))
	} else {
		for _, c := range creators {
			p.Authors = appendUnique(p.Authors, cleanHTML(c))
		}
	}
	for _, c := range it.Categories {
		p.Categories = appendUnique(p.Categories, collapseSpace(c))
	}

	switch {
	case p.ArxivID != "":
		p.URL = "https://arxiv.org/abs/" + p.ArxivID
		p.PDFURL = arxivPDFURL(p.ArxivID, p.Version)
	case isHTTPURL(link):
		p.URL = link
	case p.DOI != "":
		p.URL = "https://doi.org/" + p.DOI
	case isHTTPURL(it.GUID):
		p.URL = strings.TrimSpace(it.GUID)
	}
	p.Published = itemTime(it)
	p.Key = paper.KeyOf(p)
	return p, true
}

// itemDOI finds a DOI in the places publishers put one, most explicit first.
func itemDOI(it *gofeed.Item) string {
	var cands []string
	cands = append(cands, extText(it.Extensions, "prism", "doi"))
	if it.DublinCoreExt != nil {
		cands = append(cands, it.DublinCoreExt.Identifier...)
	}
	for _, s := range append([]string{it.Link, it.GUID}, it.Links...) {
		if !isDOIRef(s) {
			continue
		}
		// In a URL the DOI is the path; the query is the publisher's (?af=R, ?rss=1), not part of the DOI.
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.Host != "" {
			s = u.Scheme + "://" + u.Host + u.Path
		}
		cands = append(cands, s)
	}
	for _, c := range cands {
		c = strings.TrimSpace(c)
		// A bare identifier may be anything (an ISBN, a URL); only a "doi:" prefix or a DOI-shaped value counts.
		if d := paper.NormalizeDOI(c); d != "" && (strings.HasPrefix(strings.ToLower(c), "doi:") ||
			strings.HasPrefix(c, "10.") || isDOIRef(c)) {
			return d
		}
	}
	return ""
}

// isDOIRef reports whether s is a DOI or a link that is a DOI: "doi:10...", a doi.org URL or a publisher URL with
// the DOI as a path after /doi/ (Wiley, ACS, Science, Taylor & Francis...).
func isDOIRef(s string) bool {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToLower(s), "doi:") {
		return true
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	host := strings.TrimPrefix(strings.ToLower(u.Host), "www.")
	return host == "doi.org" || host == "dx.doi.org" || strings.Contains(u.Path, "/doi/")
}

// isHTTPURL reports whether s is an absolute http(s) URL, the only kind worth linking from a card.
func isHTTPURL(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// itemTime is the item's publication date: pubDate/published/dc:date, else updated, else zero.
func itemTime(it *gofeed.Item) time.Time {
	switch {
	case it.PublishedParsed != nil:
		return it.PublishedParsed.UTC()
	case it.UpdatedParsed != nil:
		return it.UpdatedParsed.UTC()
	}
	if it.DublinCoreExt != nil {
		for _, d := range it.DublinCoreExt.Date {
			if t, err := time.Parse("2006-01-02", strings.TrimSpace(d)); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}
