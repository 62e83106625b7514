package filters

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// span is one folded word inside a fold buffer, with the group (author index) it belongs to, so that phrases never
// span two authors.
type span struct {
	start, end int32
	group      int32
}

// foldRune maps a letter to its simple case-folded form. ToLower(ToUpper(r)) folds the few letters whose lower case
// is not unique (final sigma, long s, Kelvin sign) to one representative.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

// isASCII reports whether s needs no Unicode normalization.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// wordRune reports whether r (already decomposed) belongs to a word.
func wordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.In(r, unicode.Mc, unicode.Me)
}

// tokenizer folds text into words. It keeps its buffers between calls so that the compiled matcher tokenizes a
// paper without allocating once the buffers have grown.
type tokenizer struct {
	nfkd []byte
	buf  []byte
	toks []span
}

// reset forgets all words.
func (t *tokenizer) reset() {
	t.buf = t.buf[:0]
	t.toks = t.toks[:0]
}

// add folds s and appends its words, tagged with group.
func (t *tokenizer) add(s string, group int32) {
	if isASCII(s) {
		t.addASCII(s, group)
		return
	}
	t.nfkd = norm.NFKD.AppendString(t.nfkd[:0], s)
	start := -1
	for i := 0; i < len(t.nfkd); {
		r, size := utf8.DecodeRune(t.nfkd[i:])
		i += size
		switch {
		case r >= utf8.RuneSelf && unicode.Is(unicode.Mn, r):
			// Diacritics are dropped without splitting the word.
		case wordRune(r):
			if start < 0 {
				start = len(t.buf)
			}
			t.buf = utf8.AppendRune(t.buf, foldRune(r))
		default:
			if start >= 0 {
				t.toks = append(t.toks, span{int32(start), int32(len(t.buf)), group})
				start = -1
			}
		}
	}
	if start >= 0 {
		t.toks = append(t.toks, span{int32(start), int32(len(t.buf)), group})
	}
}

// addASCII is add's fast path for pure ASCII text, the common case for arXiv metadata.
func (t *tokenizer) addASCII(s string, group int32) {
	start := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		default:
			if start >= 0 {
				t.toks = append(t.toks, span{int32(start), int32(len(t.buf)), group})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = len(t.buf)
		}
		t.buf = append(t.buf, c)
	}
	if start >= 0 {
		t.toks = append(t.toks, span{int32(start), int32(len(t.buf)), group})
	}
}

// word returns the bytes of one word; the slice aliases the buffer.
func (t *tokenizer) word(s span) []byte { return t.buf[s.start:s.end] }

// words folds s and returns its words as strings.
func words(s string) []string {
	var t tokenizer
	t.add(s, 0)
	out := make([]string, len(t.toks))
	for i, sp := range t.toks {
		out[i] = string(t.word(sp))
	}
	return out
}

// FoldText returns s as the space-separated sequence of its folded words, the form in which matching sees text.
// A full-text index built over FoldText of each field tokenizes exactly as this package does, which makes a
// Prefilter an exact necessary condition there; over raw text it is one except for compatibility characters such as
// ligatures.
func FoldText(s string) string {
	return strings.Join(words(s), " ")
}

// foldExact folds a category or source name: the same folding as words but without splitting, with runs of
// white space collapsed to one space.
func foldExact(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if isASCII(s) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// minBase is the shortest base (in runes) whose plural is recognized: "is" is not the plural of "i".
const minBase = 2

// isPlural reports whether w is base plus a plural suffix ("s" or "es") under the package's plural rule.
func isPlural(base, w string) bool {
	if !strings.HasPrefix(w, base) || utf8.RuneCountInString(base) < minBase {
		return false
	}
	switch w[len(base):] {
	case "s":
		// A word ending in "ss" keeps its s: "class" is not a plural of "clas".
		return !strings.HasSuffix(base, "s")
	case "es":
		return true
	}
	return false
}

// wordEq is the reference word equality: equal, or one is the plural of the other.
func wordEq(q, t string) bool {
	return q == t || isPlural(q, t) || isPlural(t, q)
}

// wordForms lists every text word that wordEq accepts for the query word q: q, its plurals and its possible bases.
// The compiled matcher indexes these so that one hash lookup per text word replaces wordEq.
func wordForms(q string) []string {
	out := []string{q}
	if utf8.RuneCountInString(q) >= minBase {
		if !strings.HasSuffix(q, "s") {
			out = append(out, q+"s")
		}
		out = append(out, q+"es")
	}
	if b, ok := strings.CutSuffix(q, "es"); ok && isPlural(b, q) {
		out = append(out, b)
	}
	if b, ok := strings.CutSuffix(q, "s"); ok && isPlural(b, q) {
		out = append(out, b)
	}
	return out
}
