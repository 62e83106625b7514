package bot

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// ShortAuthors shortens an author list for a card: up to three names, then "et al.".
func ShortAuthors(authors []string) string {
	switch {
	case len(authors) == 0:
		return ""
	case len(authors) <= 3:
		return strings.Join(authors, ", ")
	default:
		return strings.Join(authors[:3], ", ") + " et al."
	}
}

// Truncate shortens s to at most n runes, ending with an ellipsis when it cut, preferring a word boundary in the
// last third so that words are not chopped. It never splits a rune.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	// Byte offset of the rune that would be the n-th, leaving room for the ellipsis.
	cut := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	head := s[:cut]
	if sp := strings.LastIndexAny(head, " \n\t"); sp > 0 && utf8.RuneCountInString(head[sp:]) < n/3 {
		head = head[:sp]
	}
	return strings.TrimRight(head, " \n\t,;:") + "…"
}

// WebURL returns raw, trimmed, if it is a plain absolute http(s) link of at most max bytes that every platform can
// take as a button, embed or image URL, else "". Feed links are untrusted: a link with credentials
// (https://arxiv.org@evil.example), spaces, control characters or characters that break Slack's <url|label>
// markup is dropped rather than risk a spoofed link or a message the platform refuses.
func WebURL(raw string, max int) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > max || strings.ContainsAny(raw, " <>|\"'`\\") {
		return ""
	}
	for _, r := range raw {
		// Format characters include the bidi overrides that make a URL read differently from where it goes.
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return ""
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ""
	}
	return raw
}

var ownerRepoRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// CodeURL turns a Hugging Face githubRepo value into a link: it is usually a URL, sometimes "owner/repo". The
// result still needs WebURL.
func CodeURL(repo string) string {
	repo = strings.TrimSpace(repo)
	if ownerRepoRe.MatchString(repo) {
		return "https://github.com/" + repo
	}
	return repo
}

// RenderText renders a reply as plain text, for the terminal (paperboy cmd, the console platform).
func RenderText(r Reply) string {
	var b strings.Builder
	for _, t := range r.Text {
		b.WriteString(t)
		b.WriteByte('\n')
	}
	for i, c := range r.Cards {
		if i > 0 || len(r.Text) > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(CardText(c))
	}
	for _, code := range r.Code {
		b.WriteByte('\n')
		b.WriteString(strings.TrimRight(code, "\n"))
		b.WriteByte('\n')
	}
	return b.String()
}

// UpvoteBadge is how a card shows a paper's Hugging Face upvotes: the milestone reached ("50+ upvotes", see
// paper.UpvoteMilestones), or the count below the first one; "" without Hugging Face data. A card shows the
// milestone rather than the count so that it is edited when a milestone is crossed, not for every vote.
func UpvoteBadge(p paper.Paper) string {
	if !p.HasHF {
		return ""
	}
	if m := paper.UpvoteMilestone(p.Upvotes); m > 0 {
		return fmt.Sprintf("%d+ upvotes", m)
	}
	if p.Upvotes == 1 {
		return "1 upvote"
	}
	return fmt.Sprintf("%d upvotes", p.Upvotes)
}

// DOIURL is the resolver link of a paper's DOI, "" without one.
func DOIURL(doi string) string {
	if doi == "" {
		return ""
	}
	return "https://doi.org/" + doi
}

// CardText renders one paper card as a few lines of plain text.
func CardText(c Card) string {
	p := c.Paper
	var b strings.Builder
	title := Truncate(CleanLaTeX(p.Title), 300)
	if v := paper.VersionLabel(&p); v != "" {
		title += " (" + v + ")"
	}
	fmt.Fprintf(&b, "* %s\n", title)
	meta := []string{}
	if a := ShortAuthors(p.Authors); a != "" {
		meta = append(meta, a)
	}
	if !p.Published.IsZero() {
		meta = append(meta, p.Published.Format("2006-01-02"))
	}
	if len(p.Categories) > 0 {
		meta = append(meta, strings.Join(p.Categories, " "))
	}
	if u := UpvoteBadge(p); u != "" {
		meta = append(meta, u)
	}
	if len(meta) > 0 {
		fmt.Fprintf(&b, "  %s\n", strings.Join(meta, " | "))
	}
	if p.JournalRef != "" || p.DOI != "" {
		pub := []string{}
		if p.JournalRef != "" {
			pub = append(pub, p.JournalRef)
		}
		if p.DOI != "" {
			pub = append(pub, "doi:"+p.DOI)
		}
		fmt.Fprintf(&b, "  published: %s\n", strings.Join(pub, " | "))
	}
	if p.Abstract != "" {
		fmt.Fprintf(&b, "  %s\n", Truncate(CleanLaTeX(p.Abstract), 280))
	}
	links := []string{p.URL}
	if p.PDFURL != "" {
		links = append(links, "pdf "+p.PDFURL)
	}
	if p.HFURL != "" {
		links = append(links, "hf "+p.HFURL)
	}
	if p.GitHubRepo != "" {
		links = append(links, "code "+p.GitHubRepo)
	}
	if p.ProjectPage != "" {
		links = append(links, "project "+p.ProjectPage)
	}
	fmt.Fprintf(&b, "  %s\n", strings.Join(links, "  "))
	if len(c.Matched) > 0 {
		fmt.Fprintf(&b, "  matched: %s\n", strings.Join(c.Matched, ", "))
	}
	if c.Why != "" {
		fmt.Fprintf(&b, "  why: %s\n", c.Why)
	}
	return b.String()
}

// ReducedCardText renders a card the minimal way (bot.Message.Reduced): title, link and the start of the abstract.
func ReducedCardText(c Card) string {
	p := c.Paper
	var b strings.Builder
	fmt.Fprintf(&b, "* %s\n", Truncate(CleanLaTeX(p.Title), 300))
	if p.Abstract != "" {
		fmt.Fprintf(&b, "  %s\n", Truncate(CleanLaTeX(p.Abstract), 200))
	}
	fmt.Fprintf(&b, "  %s\n", p.URL)
	return b.String()
}
