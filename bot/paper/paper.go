// Package paper is paperboy's model of a research paper: the normalized Paper every source produces, its one
// identity across versions, cross-lists and sources (KeyOf), how two descriptions of one paper merge (Merge), and
// what one poll does to the stored papers: which are New, Updated or Unchanged and which are offered to the router
// (Batch, Reconcile), rules every store applies alike. It imports no storage, network or feed library, so every
// part of the bot can name a Paper cheaply.
package paper

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AnnounceType says why an item appeared in an arXiv listing.
type AnnounceType string

// The announce types of rss.arxiv.org. An empty AnnounceType means the source does not say (HF, plain RSS).
const (
	AnnounceNew          AnnounceType = "new"
	AnnounceCross        AnnounceType = "cross"
	AnnounceReplace      AnnounceType = "replace"
	AnnounceReplaceCross AnnounceType = "replace-cross"
)

// IsReplacement reports whether the item is a new version of an already announced paper, which is never a new
// announcement.
func (a AnnounceType) IsReplacement() bool {
	return a == AnnounceReplace || a == AnnounceReplaceCross
}

// Paper is one research paper in normalized form. Parsers fill what their format offers; the store merges the
// descriptions of one paper from several sources (see Merge).
type Paper struct {
	// Key is the canonical identity across versions, cross-lists and sources: "arxiv:2401.01234",
	// "arxiv:hep-ex/0601001", "doi:10.1000/xyz" or "link:<hash>". See KeyOf.
	Key string `json:"key"`
	// ArxivID is the arXiv identifier without version ("2401.01234", "hep-ex/0601001"), if known.
	ArxivID string `json:"arxiv_id,omitempty"`
	// Version is the arXiv version number (1 for v1), 0 when unknown.
	Version int `json:"version,omitempty"`
	// DOI is lowercased, without any https://doi.org/ prefix.
	DOI      string   `json:"doi,omitempty"`
	Title    string   `json:"title"`
	Abstract string   `json:"abstract,omitempty"`
	Authors  []string `json:"authors,omitempty"`
	// Categories holds arXiv categories (cs.LG) or feed categories, primary first, without duplicates.
	Categories   []string     `json:"categories,omitempty"`
	AnnounceType AnnounceType `json:"announce_type,omitempty"`
	Comment      string       `json:"comment,omitempty"`
	JournalRef   string       `json:"journal_ref,omitempty"`
	// URL is the human landing page (arXiv abstract page, DOI page or the feed item's link).
	URL    string `json:"url"`
	PDFURL string `json:"pdf_url,omitempty"`
	// Published is when the paper was first announced or published; Updated when this version appeared.
	Published time.Time `json:"published"`
	Updated   time.Time `json:"updated,omitzero"`
	// Sources lists the configured source names that delivered this paper.
	Sources []string `json:"sources,omitempty"`

	// Hugging Face daily papers data. Upvotes grow during the day; HasHF says the fields below are known.
	HasHF       bool   `json:"has_hf,omitempty"`
	Upvotes     int    `json:"upvotes,omitempty"`
	NumComments int    `json:"num_comments,omitempty"`
	GitHubRepo  string `json:"github_repo,omitempty"`
	// ProjectPage is the paper's project web page, as Hugging Face lists it.
	ProjectPage string   `json:"project_page,omitempty"`
	Thumbnail   string   `json:"thumbnail,omitempty"`
	HFURL       string   `json:"hf_url,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
}

// Validators are the conditional-GET validators remembered for one URL.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

var (
	// New-style ids: 0704.0001 to 2401.01234, optional version.
	newIDRe = regexp.MustCompile(`(?i)(?:^|[^0-9.])(\d{4}\.\d{4,5})(?:v(\d+))?(?:$|[^0-9])`)
	// Old-style ids: hep-ex/0601001, math.AG/0601001, cond-mat.str-el/0601001, optional version. The subject
	// class is not part of the id: arXiv knows math.AG/0601001 as math/0601001.
	oldIDRe = regexp.MustCompile(`(?i)(?:^|[^a-z\-.])([a-z][a-z\-]*)(?:\.[a-z][a-z\-]*)?/(\d{7})(?:v(\d+))?(?:$|[^0-9])`)
	doiRe   = regexp.MustCompile(`(?i)\b(10\.\d{4,9}/\S+)`)
)

// ParseArxivID extracts an arXiv id and version from any common spelling: "2401.01234v2",
// "oai:arXiv.org:2401.01234v2", "arXiv:2401.01234", "https://arxiv.org/abs/2401.01234v1",
// "http://arxiv.org/pdf/hep-ex/0601001v2" or "hep-ex/0601001". The version is 0 when absent.
func ParseArxivID(s string) (id string, version int, ok bool) {
	s = strings.TrimSpace(s)
	if m := newIDRe.FindStringSubmatch(s); m != nil {
		v, _ := strconv.Atoi(m[2])
		return m[1], v, true
	}
	if m := oldIDRe.FindStringSubmatch(s); m != nil {
		v, _ := strconv.Atoi(m[3])
		return strings.ToLower(m[1]) + "/" + m[2], v, true
	}
	return "", 0, false
}

// NormalizeDOI returns the DOI in s lowercased and without resolver prefix, or "" if s holds none.
func NormalizeDOI(s string) string {
	s = strings.TrimSpace(s)
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	m := doiRe.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	d := strings.TrimRight(m[1], ".,;)]}>\"'")
	return strings.ToLower(d)
}

// NormalizeLink canonicalizes a link for identity: lowercase scheme and host, https, no "www.", no fragment, no
// tracking parameters (utm_*), sorted query, no trailing slash.
func NormalizeLink(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return strings.TrimSpace(s)
	}
	u.Scheme = "https"
	u.Host = strings.TrimPrefix(strings.ToLower(u.Host), "www.")
	u.Fragment = ""
	u.RawFragment = ""
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(strings.ToLower(k), "utm_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode() // Encode sorts by key.
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String()
}

// KeyOf computes a paper's canonical key: "arxiv:<id>" when an arXiv id is known, else "doi:<doi>", else
// "link:<first 16 hex digits of sha256(normalized link)>" (falling back to the title when there is no link).
func KeyOf(p Paper) string {
	if p.ArxivID != "" {
		return "arxiv:" + p.ArxivID
	}
	if p.DOI != "" {
		return "doi:" + p.DOI
	}
	basis := NormalizeLink(p.URL)
	if basis == "" {
		basis = "title:" + strings.ToLower(strings.Join(strings.Fields(p.Title), " "))
	}
	sum := sha256.Sum256([]byte(basis))
	return "link:" + hex.EncodeToString(sum[:8])
}

// Merge combines two descriptions of the same paper (same Key): old is what is stored, upd what a source just
// delivered. Bibliographic fields follow the newest version; set fields (categories, sources, keywords) are
// unioned; Hugging Face fields come from whichever side has them, the update winning; nothing known is lost.
func Merge(old, upd Paper) Paper {
	m := old
	newer := upd.Version >= old.Version
	pick := func(dst *string, v string) {
		if v != "" && (newer || *dst == "") {
			*dst = v
		}
	}
	pick(&m.Title, upd.Title)
	pick(&m.Abstract, upd.Abstract)
	pick(&m.Comment, upd.Comment)
	pick(&m.JournalRef, upd.JournalRef)
	pick(&m.PDFURL, upd.PDFURL)
	if m.URL == "" {
		m.URL = upd.URL
	}
	if m.DOI == "" {
		m.DOI = upd.DOI
	}
	if m.ArxivID == "" {
		m.ArxivID = upd.ArxivID
	}
	if len(upd.Authors) > 0 && (newer || len(m.Authors) == 0) {
		m.Authors = slices.Clone(upd.Authors)
	}
	if upd.Version > m.Version {
		m.Version = upd.Version
	}
	// The first announcement wins the announce type: a later replace must not turn a paper into a replacement.
	if m.AnnounceType == "" {
		m.AnnounceType = upd.AnnounceType
	}
	if m.Published.IsZero() || (!upd.Published.IsZero() && upd.Published.Before(m.Published)) {
		m.Published = upd.Published
	}
	if upd.Updated.After(m.Updated) {
		m.Updated = upd.Updated
	}
	m.Categories = union(m.Categories, upd.Categories)
	m.Sources = union(m.Sources, upd.Sources)
	m.Keywords = union(m.Keywords, upd.Keywords)
	if upd.HasHF {
		m.HasHF = true
		m.Upvotes = max(m.Upvotes, upd.Upvotes)
		m.NumComments = max(m.NumComments, upd.NumComments)
		if upd.GitHubRepo != "" {
			m.GitHubRepo = upd.GitHubRepo
		}
		if upd.ProjectPage != "" {
			m.ProjectPage = upd.ProjectPage
		}
		if upd.Thumbnail != "" {
			m.Thumbnail = upd.Thumbnail
		}
		if upd.HFURL != "" {
			m.HFURL = upd.HFURL
		}
	}
	m.Key = old.Key
	if m.Key == "" {
		m.Key = upd.Key
	}
	return m
}

// union appends the elements of b missing from a, keeping a's order.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
