package sources

import (
	"bytes"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Limits applied while parsing, so that one hostile or broken feed costs a bounded amount of memory and cannot fill
// the store or a chat message with junk. A feed body is already capped by FetcherOptions.MaxBodySize; these bound
// what the parsers build from it. Text is cut at a rune boundary; a cut is not an error.
const (
	// MaxFeedItems is the number of items (RSS <item>, Atom <entry>, JSON Feed items) read from one document; the
	// rest are skipped and counted. arXiv's largest listings and API pages stay well below it.
	MaxFeedItems = 10000
	// MaxRawTextBytes caps one run of character data (or one CDATA section) in an XML feed before it reaches the
	// XML parser, whose copies of a long string are what made a 16 MB abstract cost hundreds of MB.
	MaxRawTextBytes = 64 << 10
	// MaxTitleBytes caps a paper's title.
	MaxTitleBytes = 2 << 10
	// MaxAbstractBytes caps an abstract (arXiv allows 1,920 characters; journals rarely go past 5,000).
	MaxAbstractBytes = 16 << 10
	// MaxAuthors caps the author list (collaboration papers list a few thousand names; cards show a handful).
	MaxAuthors = 1000
	// MaxAuthorBytes caps one author name.
	MaxAuthorBytes = 256
	// MaxCategories caps categories (and keywords); MaxCategoryBytes caps each.
	MaxCategories    = 64
	MaxCategoryBytes = 128
	// maxShortBytes caps identifiers, links and other one-line fields.
	maxShortBytes = 2 << 10
)

// truncateUTF8 returns s cut to at most n bytes at a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// xmlDeclEncodingRe finds the encoding pseudo-attribute of an XML declaration.
var xmlDeclEncodingRe = regexp.MustCompile(`^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']`)

// sanitizeXML returns a copy of an XML document that the strict XML parser can read and whose size cannot blow up
// inside it:
//   - in a UTF-8 document (declared so, or undeclared), each invalid byte sequence becomes U+FFFD, and characters
//     XML 1.0 forbids (NUL and the other C0 controls but tab, LF and CR; U+FFFE, U+FFFF) are removed; in a
//     document declared in another ASCII-compatible encoding only the C0 controls are removed;
//   - each run of character data, and each CDATA section, is cut to MaxRawTextBytes (before a partial entity
//     reference, so the document stays well-formed);
//   - elements named item or entry (any namespace prefix) beyond the first maxItems are left out.
//
// It reports how many characters were repaired or removed, how many text runs were cut and how many items were left
// out. A UTF-16 document is returned as is: its bytes are not ASCII-compatible.
func sanitizeXML(data []byte, maxItems int) (out []byte, st parseStats) {
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return data, st
	}
	utf8Doc := true
	if m := xmlDeclEncodingRe.FindSubmatch(data[:min(len(data), 256)]); m != nil {
		enc := string(bytes.ToLower(m[1]))
		utf8Doc = enc == "utf-8" || enc == "utf8" || enc == "us-ascii" || enc == "ascii"
	}
	clean := repairChars(data, utf8Doc, &st)
	return limitXML(clean, maxItems, &st), st
}

// repairChars is the character pass of sanitizeXML.
func repairChars(data []byte, utf8Doc bool, st *parseStats) []byte {
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); {
		c := data[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				st.Repaired++
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		if !utf8Doc {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, "\uFFFD"...)
			st.Repaired++
		case r == 0xFFFE || r == 0xFFFF:
			st.Repaired++
		default:
			out = append(out, data[i:i+size]...)
		}
		i += size
	}
	return out
}

// stripJSONControls removes the C0 control characters JSON allows nowhere (all but tab, LF and CR, which are white
// space between tokens), so that a NUL in one item does not fail the whole document; each is counted as repaired.
// Invalid UTF-8 needs no help: encoding/json turns it into U+FFFD. data is returned as is when clean.
func stripJSONControls(data []byte, st *parseStats) []byte {
	if !slices.ContainsFunc(data, func(c byte) bool { return c < 0x20 && c != '\t' && c != '\n' && c != '\r' }) {
		return data
	}
	return repairChars(data, false, st)
}

// limitXML is the structural pass of sanitizeXML: a tokenizer just precise enough to tell markup from text. It
// writes into data's own array (out never runs ahead of the read position), so it allocates nothing.
func limitXML(data []byte, maxItems int, st *parseStats) []byte {
	out := data[:0]
	items := 0
	// skipDepth > 0 while inside an item that is left out: the depth of open elements within it.
	skipDepth := 0
	emit := func(b []byte) {
		if skipDepth == 0 {
			out = append(out, b...)
		}
	}
	i := 0
	for i < len(data) {
		if data[i] != '<' {
			j := bytes.IndexByte(data[i:], '<')
			if j < 0 {
				j = len(data) - i
			}
			emit(capText(data[i:i+j], st))
			i += j
			continue
		}
		rest := data[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			body := rest[len("<![CDATA["):]
			end := bytes.Index(body, []byte("]]>"))
			if end < 0 {
				end = len(body)
			}
			text := body[:end]
			if len(text) > MaxRawTextBytes {
				text = text[:runeCut(text, MaxRawTextBytes)]
				st.Truncated++
			}
			emit([]byte("<![CDATA["))
			emit(text)
			emit([]byte("]]>"))
			i += len("<![CDATA[") + min(end+3, len(body))
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			n := len(rest)
			if end >= 0 {
				n = 4 + end + 3
			}
			emit(rest[:n])
			i += n
		case bytes.HasPrefix(rest, []byte("<!")) || bytes.HasPrefix(rest, []byte("<?")):
			// DOCTYPE (with a possible internal subset) or processing instruction.
			n := declEnd(rest)
			emit(rest[:n])
			i += n
		default:
			n := tagEnd(rest)
			tag := rest[:n]
			closing := len(tag) > 1 && tag[1] == '/'
			selfClosing := bytes.HasSuffix(tag, []byte("/>"))
			switch {
			case skipDepth > 0 && closing:
				skipDepth--
				i += n
				continue
			case skipDepth > 0:
				if !selfClosing {
					skipDepth++
				}
				i += n
				continue
			case !closing && isItemTag(tag):
				items++
				if items > maxItems {
					st.Skipped++
					if !selfClosing {
						skipDepth = 1
					}
					i += n
					continue
				}
			}
			emit(tag)
			i += n
		}
	}
	return out
}

// capText cuts a run of character data to MaxRawTextBytes, before any entity reference the cut would split.
func capText(text []byte, st *parseStats) []byte {
	if len(text) <= MaxRawTextBytes {
		return text
	}
	st.Truncated++
	text = text[:runeCut(text, MaxRawTextBytes)]
	if amp := bytes.LastIndexByte(text, '&'); amp >= 0 && bytes.IndexByte(text[amp:], ';') < 0 {
		text = text[:amp]
	}
	return text
}

// runeCut is the largest n' <= n that does not split a UTF-8 sequence of b.
func runeCut(b []byte, n int) int {
	for n > 0 && n < len(b) && !utf8.RuneStart(b[n]) {
		n--
	}
	return n
}

// tagEnd returns the length of the tag at the start of b: up to and including the first '>' outside quotes.
func tagEnd(b []byte) int {
	var quote byte
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i + 1
		}
	}
	return len(b)
}

// declEnd returns the length of a <!...> or <?...?> construct, counting the brackets of a DOCTYPE internal subset.
func declEnd(b []byte) int {
	depth := 0
	for i := 2; i < len(b); i++ {
		switch b[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '>':
			if depth <= 0 {
				return i + 1
			}
		}
	}
	return len(b)
}

// isItemTag reports whether a start tag opens an RSS item or Atom entry, whatever its namespace prefix.
func isItemTag(tag []byte) bool {
	name := tag[1:]
	if k := bytes.IndexAny(name, " \t\r\n/>"); k >= 0 {
		name = name[:k]
	}
	if k := bytes.LastIndexByte(name, ':'); k >= 0 {
		name = name[k+1:]
	}
	return string(name) == "item" || string(name) == "entry"
}

// parseStats counts what a parser repaired or left out of a feed rather than rejecting it.
type parseStats struct {
	// Repaired counts invalid or forbidden characters replaced or removed.
	Repaired int
	// Truncated counts text runs and fields cut to their limit.
	Truncated int
	// Skipped counts items left out: beyond MaxFeedItems, or malformed.
	Skipped int
}

// capPaper cuts a parsed paper's text fields to their limits (MaxTitleBytes, MaxAbstractBytes, MaxAuthors,
// MaxAuthorBytes, MaxCategories, MaxCategoryBytes; comment, journal reference, repository and thumbnail to a couple of
// KB), counting each cut in st. It reports false, counting the paper as skipped, when the paper's identity (key or
// links) is longer than any real identifier: cutting it would merge unrelated papers.
func capPaper(p *paper.Paper, st *parseStats) bool {
	if len(p.Key) > maxShortBytes || len(p.URL) > maxShortBytes || len(p.DOI) > maxShortBytes ||
		len(p.PDFURL) > maxShortBytes || len(p.HFURL) > maxShortBytes {
		st.Skipped++
		return false
	}
	cut := func(s *string, n int) {
		if len(*s) > n {
			*s = truncateUTF8(*s, n)
			st.Truncated++
		}
	}
	cutList := func(list *[]string, count, each int) {
		if len(*list) > count {
			*list = (*list)[:count]
			st.Truncated++
		}
		for i := range *list {
			cut(&(*list)[i], each)
		}
	}
	cut(&p.Title, MaxTitleBytes)
	cut(&p.Abstract, MaxAbstractBytes)
	cut(&p.Comment, maxShortBytes)
	cut(&p.JournalRef, maxShortBytes)
	cut(&p.GitHubRepo, maxShortBytes)
	cut(&p.ProjectPage, maxShortBytes)
	cut(&p.Thumbnail, maxShortBytes)
	cutList(&p.Authors, MaxAuthors, MaxAuthorBytes)
	cutList(&p.Categories, MaxCategories, MaxCategoryBytes)
	cutList(&p.Keywords, MaxCategories, MaxCategoryBytes)
	// A paper without link or identifier is keyed by its title, which may just have been cut.
	p.Key = paper.KeyOf(*p)
	return true
}
