package sources

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"
	gofeedjson "github.com/mmcdole/gofeed/json"
)

// ErrNoItems is wrapped by parsers when a feed has entries but none of them could be turned into a paper. Returning
// an empty success there would silently hide a format change upstream.
var ErrNoItems = errors.New("no usable items")

var (
	// The rss.arxiv.org description/summary prefix: "arXiv:2401.01234v2 Announce Type: replace \nAbstract: ".
	arxivDescPrefixRe = regexp.MustCompile(`^\s*arXiv:(\S+)\s+Announce Type:\s*([A-Za-z-]+)\s*(?:Abstract:\s*)?`)
	// The legacy export.arxiv.org title suffix: "Title. (arXiv:1805.06430v2 [nucl-th] UPDATED)".
	legacyTitleRe = regexp.MustCompile(`\.?\s*\(arXiv:(\S+)\s+\[([^\]\s]+)\](?:\s+([A-Z][A-Z ]*[A-Z]))?\)\s*$`)
	// Initials as bioRxiv writes them after a surname: "J.", "J. A.", "J.-P.", "JA".
	initialsRe = regexp.MustCompile(`^(?:\p{Lu}\.?(?:[\s-]*\p{Lu}\.?)*)$`)
)

// ParseArxivFeed parses an arXiv listing feed: the rss.arxiv.org RSS 2.0 and Atom feeds and the legacy
// export.arxiv.org RSS 1.0 (RDF) format. Items without an arXiv identifier are skipped; a feed whose items all lack
// one is an error (ErrNoItems). A valid feed with no items (weekends, holidays) yields an empty slice. Broken
// characters are repaired and fields capped as parseGofeed and capPaper describe.
func ParseArxivFeed(data []byte) ([]paper.Paper, error) {
	papers, _, err := parseArxivFeed(data)
	return papers, err
}

// parseArxivFeed is ParseArxivFeed, also counting what it repaired or left out.
func parseArxivFeed(data []byte) ([]paper.Paper, parseStats, error) {
	feed, st, err := parseGofeed(data)
	if err != nil {
		return nil, st, fmt.Errorf("parse arxiv feed: %w", err)
	}
	if feed.FeedType == "json" {
		return nil, st, fmt.Errorf("parse arxiv feed: a JSON Feed is not an arXiv listing: %w", gofeed.ErrFeedTypeNotDetected)
	}
	var feedDate time.Time
	switch {
	case feed.PublishedParsed != nil:
		feedDate = feed.PublishedParsed.UTC()
	case feed.UpdatedParsed != nil:
		feedDate = feed.UpdatedParsed.UTC()
	}
	papers := make([]paper.Paper, 0, len(feed.Items))
	for _, it := range feed.Items {
		if it == nil {
			continue
		}
		if p, ok := arxivFeedItem(it, feedDate); ok {
			if capPaper(&p, &st) {
				papers = append(papers, p)
			}
		}
	}
	if len(papers) == 0 && len(feed.Items) > 0 {
		return nil, st, fmt.Errorf("parse arxiv feed: %d items without an arXiv id: %w", len(feed.Items), ErrNoItems)
	}
	return papers, st, nil
}

// parseGofeed detects and parses any RSS, Atom or JSON feed. The detection is explicit so that an HTML error page
// is reported as such rather than as an obscure XML error. An XML feed goes through sanitizeXML first, so that one
// invalid byte or NUL does not reject the whole feed and one huge field cannot blow up the parser's memory; a JSON
// Feed's items are decoded one by one, so that a malformed item is skipped rather than failing the rest. Both are
// counted in the stats. Errors never quote the document: it may be an internal service's answer.
func parseGofeed(data []byte) (*gofeed.Feed, parseStats, error) {
	var st parseStats
	if detectFeedType(data) == gofeed.FeedTypeJSON {
		feed, err := parseJSONFeed(data, &st)
		if err != nil {
			return nil, st, err
		}
		// gofeed takes any JSON object for a JSON Feed; an API error object must not pass for an empty feed.
		if !strings.Contains(feed.FeedVersion, "jsonfeed.org/version/") {
			return nil, st, fmt.Errorf("JSON without a JSON Feed version (%s): %w", sniff(data), gofeed.ErrFeedTypeNotDetected)
		}
		return feed, st, nil
	}
	clean, st := sanitizeXML(data, MaxFeedItems)
	if detectFeedType(clean) == gofeed.FeedTypeUnknown {
		return nil, st, fmt.Errorf("not a feed (%s): %w", sniff(data), gofeed.ErrFeedTypeNotDetected)
	}
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(clean))
	if err != nil {
		return nil, st, describeParseError(err)
	}
	return feed, st, nil
}

// detectFeedType is gofeed.DetectFeedType on the document's first 4 KiB, as gofeed's own Parse does: given the
// whole document it copies all of it.
func detectFeedType(data []byte) gofeed.FeedType {
	return gofeed.DetectFeedType(bytes.NewReader(data[:min(len(data), 4096)]))
}

// parseJSONFeed decodes a JSON Feed, skipping (and counting) items that do not decode and items beyond
// MaxFeedItems. The items are decoded one by one, apart from the rest of the feed, because gofeed's decoder takes
// the feed as a whole and one bad item fails all of it.
func parseJSONFeed(data []byte, st *parseStats) (*gofeed.Feed, error) {
	data = stripJSONControls(data, st)
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, describeParseError(err)
	}
	var items []json.RawMessage
	if raw, ok := top["items"]; ok {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, describeParseError(err)
		}
		delete(top, "items")
	}
	head, err := json.Marshal(top)
	if err != nil {
		return nil, err
	}
	var feed gofeedjson.Feed
	if err := json.Unmarshal(head, &feed); err != nil {
		return nil, describeParseError(err)
	}
	for i, raw := range items {
		if i >= MaxFeedItems {
			st.Skipped += len(items) - i
			break
		}
		var it gofeedjson.Item
		if err := json.Unmarshal(raw, &it); err != nil {
			st.Skipped++
			continue
		}
		feed.Items = append(feed.Items, &it)
	}
	out, err := (&gofeed.DefaultJSONTranslator{}).Translate(&feed)
	if err != nil {
		return nil, err
	}
	out.FeedType = "json"
	return out, nil
}

// describeParseError keeps the position of a syntax error but not the text around it, which comes from the
// document.
func describeParseError(err error) error {
	var xe *xml.SyntaxError
	if errors.As(err, &xe) {
		return fmt.Errorf("malformed XML at line %d", xe.Line)
	}
	var je *json.SyntaxError
	if errors.As(err, &je) {
		return fmt.Errorf("malformed JSON at byte %d", je.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("malformed JSON Feed: field %q has the wrong type", te.Field)
	}
	return err
}

// sniff describes a document that is not what was expected for error messages without quoting any of it: the
// document may be an internal service's answer (a redirect to a metadata endpoint), and errors are shown in chat.
// The content type is added by the source, which has the response headers.
func sniff(data []byte) string {
	if len(bytes.TrimSpace(data)) == 0 {
		return "empty body"
	}
	return fmt.Sprintf("%d bytes", len(data))
}

// arxivFeedItem converts one listing item. feedDate stands in for items without a date (the legacy format dates only
// the channel).
func arxivFeedItem(it *gofeed.Item, feedDate time.Time) (paper.Paper, bool) {
	var p paper.Paper
	title := it.Title
	legacyKind := ""
	if m := legacyTitleRe.FindStringSubmatchIndex(title); m != nil {
		if id, v, ok := paper.ParseArxivID(title[m[2]:m[3]]); ok {
			p.ArxivID, p.Version = id, v
		}
		p.Categories = appendUnique(p.Categories, title[m[4]:m[5]])
		if m[6] >= 0 {
			legacyKind = title[m[6]:m[7]]
		}
		title = title[:m[0]]
	}
	p.Title = collapseSpace(title)

	desc := it.Description
	if desc == "" {
		desc = it.Content
	}
	var descType string
	if m := arxivDescPrefixRe.FindStringSubmatchIndex(desc); m != nil {
		if id, v, ok := paper.ParseArxivID(desc[m[2]:m[3]]); ok && (p.ArxivID == "" || p.ArxivID == id) {
			p.ArxivID = id
			p.Version = max(p.Version, v)
		}
		descType = strings.ToLower(desc[m[4]:m[5]])
		desc = desc[m[1]:]
	}
	p.Abstract = cleanHTML(desc)

	// The guid is the most precise identity (it carries the version); link and title are fallbacks.
	for _, s := range []string{it.GUID, it.Link} {
		if !isArxivRef(s) {
			continue
		}
		if id, v, ok := paper.ParseArxivID(s); ok && (p.ArxivID == "" || p.ArxivID == id) {
			p.ArxivID = id
			p.Version = max(p.Version, v)
		}
	}
	if p.ArxivID == "" || p.Title == "" {
		return paper.Paper{}, false
	}

	switch t := extText(it.Extensions, "arxiv", "announce_type"); {
	case t != "":
		p.AnnounceType = paper.AnnounceType(strings.ToLower(t))
	case descType != "":
		p.AnnounceType = paper.AnnounceType(descType)
	case legacyKind == "UPDATED":
		p.AnnounceType = paper.AnnounceReplace
	case legacyKind == "CROSS LISTED":
		p.AnnounceType = paper.AnnounceCross
	case legacyKind == "":
		p.AnnounceType = paper.AnnounceNew
	}

	p.Authors = splitAuthors(cleanHTML(strings.Join(dcCreators(it), ", ")))
	for _, c := range it.Categories {
		p.Categories = appendUnique(p.Categories, strings.TrimSpace(c))
	}
	p.DOI = paper.NormalizeDOI(extText(it.Extensions, "arxiv", "DOI"))
	p.JournalRef = collapseSpace(extText(it.Extensions, "arxiv", "journal_reference"))
	p.URL = "https://arxiv.org/abs/" + p.ArxivID
	p.PDFURL = arxivPDFURL(p.ArxivID, p.Version)
	switch {
	case it.PublishedParsed != nil:
		p.Published = it.PublishedParsed.UTC()
	case it.UpdatedParsed != nil:
		p.Published = it.UpdatedParsed.UTC()
	default:
		p.Published = feedDate
	}
	// The listing date of a replacement is when this version appeared, not when the paper was first announced.
	if p.AnnounceType.IsReplacement() {
		p.Updated = p.Published
	}
	p.Key = paper.KeyOf(p)
	return p, true
}

// dcCreators returns the dc:creator values of an item, whichever way gofeed filed them.
func dcCreators(it *gofeed.Item) []string {
	if it.DublinCoreExt != nil && len(it.DublinCoreExt.Creator) > 0 {
		return it.DublinCoreExt.Creator
	}
	var names []string
	for _, x := range it.Extensions["dc"]["creator"] {
		names = append(names, x.Value)
	}
	if len(names) > 0 {
		return names
	}
	for _, a := range it.Authors {
		if a != nil && a.Name != "" {
			names = append(names, a.Name)
		}
	}
	return names
}

// isArxivRef reports whether s names an arXiv record (URL on arxiv.org, OAI identifier or "arXiv:" citation), so
// that numbers in unrelated links are not taken for arXiv ids.
func isArxivRef(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.Contains(l, "arxiv.org/") || strings.HasPrefix(l, "oai:arxiv.org:") || strings.HasPrefix(l, "arxiv:")
}

// arxivPDFURL is the PDF link of a paper, pinned to a version when it is known.
func arxivPDFURL(id string, version int) string {
	if version > 0 {
		return fmt.Sprintf("https://arxiv.org/pdf/%sv%d", id, version)
	}
	return "https://arxiv.org/pdf/" + id
}

// extText returns the trimmed value of the first prefix:name extension element.
func extText(e ext.Extensions, prefix, name string) string {
	for _, x := range e[prefix][name] {
		if v := strings.TrimSpace(x.Value); v != "" {
			return v
		}
	}
	return ""
}

// collapseSpace turns every run of white space into one space and trims the ends: feed text is wrapped at arbitrary
// columns.
func collapseSpace(s string) string {
	// Every field is capped far below this; the cut bounds the work (and the slice of fields) on a huge input.
	s = truncateUTF8(s, MaxRawTextBytes)
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// splitAuthors splits one author string as arXiv writes it ("A, B and C", "A, B, and C"), keeping commas inside
// parentheses ("X (MIT, Harvard)") and rejoining surname/initials pairs ("Smith, J., Doe, A.", as bioRxiv writes
// them) and suffixes ("King, Jr.").
func splitAuthors(s string) []string {
	s = collapseSpace(s)
	if s == "" {
		return nil
	}
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(', '[':
			depth++
		case ')', ']':
			depth = max(0, depth-1)
		case ',', ';':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, s[start:])
	// The final " and " only joins the last two names.
	last := strings.TrimSpace(parts[len(parts)-1])
	if rest, ok := strings.CutPrefix(last, "and "); ok && len(parts) > 1 {
		parts[len(parts)-1] = rest
	} else if i := strings.LastIndex(last, " and "); i > 0 && !strings.ContainsAny(last[i:], "()") {
		parts = append(parts[:len(parts)-1], last[:i], last[i+5:])
	}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	parts = joinInitials(parts)
	out := make([]string, 0, len(parts))
	for _, a := range parts {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

// joinInitials rejoins "Surname, Initials" pairs and name suffixes that the comma split tore apart. Pairs are only
// joined when every second part is initials, so "A. Smith, B. Jones" stays two names.
func joinInitials(parts []string) []string {
	paired := len(parts) >= 2 && len(parts)%2 == 0
	for i := 1; paired && i < len(parts); i += 2 {
		paired = initialsRe.MatchString(parts[i]) && !initialsRe.MatchString(parts[i-1])
	}
	out := parts[:0:0]
	for i := 0; i < len(parts); i++ {
		switch {
		case paired && i%2 == 0:
			out = append(out, parts[i]+", "+parts[i+1])
			i++
		case len(out) > 0 && isNameSuffix(parts[i]):
			out[len(out)-1] += ", " + parts[i]
		default:
			out = append(out, parts[i])
		}
	}
	return out
}

// isNameSuffix reports generational suffixes that follow a comma inside one name.
func isNameSuffix(s string) bool {
	switch strings.TrimSuffix(s, ".") {
	case "Jr", "Sr", "II", "III", "IV":
		return true
	}
	return false
}

// appendUnique appends s to list unless it is empty or already present.
func appendUnique(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
