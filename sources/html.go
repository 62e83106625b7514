package sources

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// cleanHTML turns the HTML of a feed description into plain text with golang.org/x/net/html's tokenizer: entities
// decoded (once more after the XML decoder: the legacy arXiv feed escapes twice), comments and the content of
// script, style and similar elements dropped, CDATA kept as text, block elements (p, div, br, li, h1-h6, tr, ...)
// read as a space and inline ones (i, b, sub, a, ...) as nothing, so that H<sub>2</sub>O stays one word; white
// space collapsed and invalid UTF-8 repaired.
//
// Feed text is often plain text with mathematics in it ("$a<b$", "n < 10"): a "<" is markup only where it opens
// a known HTML element, a comment, CDATA or a declaration, and the tag is closed; any other "<" is kept as text.
func cleanHTML(s string) string {
	s = truncateUTF8(s, MaxRawTextBytes)
	if !strings.ContainsAny(s, "<&") {
		return collapseSpace(strings.ToValidUTF8(s, "\uFFFD"))
	}
	z := html.NewTokenizer(strings.NewReader(escapeStrayLT(s)))
	z.AllowCDATA(true)
	var b strings.Builder
	b.Grow(len(s))
	// skip > 0 inside an element whose content is not text for a reader (script, style, ...).
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			// io.EOF, or a read error that cannot happen on a strings.Reader.
			return collapseSpace(strings.ToValidUTF8(b.String(), "\uFFFD"))
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			if droppedContent[a] {
				if tt == html.StartTagToken {
					skip++
				}
				b.WriteByte(' ')
				continue
			}
			if a == atom.Img && hasAttr && skip == 0 {
				// An image's alternative text is the text a reader without the image gets.
				if alt := imgAlt(z); alt != "" {
					b.WriteString(" " + alt + " ")
					continue
				}
			}
			if !inlineElements[a] {
				b.WriteByte(' ')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if droppedContent[a] {
				skip = max(0, skip-1)
				b.WriteByte(' ')
				continue
			}
			if !inlineElements[a] {
				b.WriteByte(' ')
			}
		case html.CommentToken, html.DoctypeToken:
			// Dropped; a comment still separates words on either side of it.
			b.WriteByte(' ')
		}
	}
}

// imgAlt returns the alt attribute of the current tag.
func imgAlt(z *html.Tokenizer) string {
	for {
		k, v, more := z.TagAttr()
		if string(k) == "alt" {
			return strings.TrimSpace(string(v))
		}
		if !more {
			return ""
		}
	}
}

// droppedContent are the elements whose content is code or markup, not text for a reader. The tokenizer reads
// script, style and the like as raw text, so their content reaches cleanHTML as one text token.
var droppedContent = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Iframe: true, atom.Noembed: true,
	atom.Noframes: true, atom.Template: true, atom.Svg: true,
}

// inlineElements are the phrasing elements that do not separate words: <i>in</i><b>vivo</b> reads "invivo" in
// a browser too. Every other element (and an unknown one) reads as a space.
var inlineElements = map[atom.Atom]bool{
	atom.A: true, atom.Abbr: true, atom.B: true, atom.Bdi: true, atom.Bdo: true, atom.Big: true, atom.Cite: true,
	atom.Code: true, atom.Data: true, atom.Del: true, atom.Dfn: true, atom.Em: true, atom.Font: true, atom.I: true,
	atom.Ins: true, atom.Kbd: true, atom.Mark: true, atom.Q: true, atom.S: true, atom.Samp: true, atom.Small: true,
	atom.Span: true, atom.Strike: true, atom.Strong: true, atom.Sub: true, atom.Sup: true, atom.Time: true,
	atom.Tt: true, atom.U: true, atom.Var: true, atom.Wbr: true, atom.Nobr: true,
}

// escapeStrayLT returns s with each "<" that does not open markup written as "&lt;", so that the tokenizer keeps
// it as text. Markup is a comment (<!--), CDATA (<![CDATA[), a declaration (<!DOCTYPE), a processing instruction
// (<?), or a start or end tag of a known HTML element whose name ends at white space, "/" or ">" and which is
// closed by a ">" before the next "<". So "$a<b$", "n<10", "x <y>" (y is no element) and "a < b" stay text.
func escapeStrayLT(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j
		if opensMarkup(s[i:]) {
			b.WriteByte('<')
		} else {
			b.WriteString("&lt;")
		}
		i++
	}
	return b.String()
}

// opensMarkup reports whether s, which starts with "<", starts markup (see escapeStrayLT).
func opensMarkup(s string) bool {
	rest := s[1:]
	switch {
	case strings.HasPrefix(rest, "!--"), strings.HasPrefix(rest, "![CDATA["), strings.HasPrefix(rest, "?"):
		return true
	case strings.HasPrefix(rest, "!"):
		return len(rest) > 1 && isASCIILetter(rest[1]) && closedBeforeNextLT(rest)
	}
	rest = strings.TrimPrefix(rest, "/")
	n := 0
	for n < len(rest) && (isASCIILetter(rest[n]) || n > 0 && rest[n] >= '0' && rest[n] <= '9') {
		n++
	}
	if n == 0 || n == len(rest) {
		return false
	}
	switch rest[n] {
	case ' ', '\t', '\n', '\r', '\f', '/', '>':
	default:
		return false
	}
	return atom.Lookup([]byte(strings.ToLower(rest[:n]))) != 0 && closedBeforeNextLT(rest[n:])
}

// closedBeforeNextLT reports whether a ">" comes before any further "<" (quotes in attribute values aside, which
// the tokenizer reads as HTML does).
func closedBeforeNextLT(s string) bool {
	gt := strings.IndexByte(s, '>')
	lt := strings.IndexByte(s, '<')
	return gt >= 0 && (lt < 0 || gt < lt)
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
