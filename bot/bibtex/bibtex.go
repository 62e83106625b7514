// Package bibtex writes papers as BibTeX entries (/papers export bibtex, `paperboy cmd`): arXiv papers as @misc
// with arXiv's DOI (10.48550/arXiv.<id>), eprint, archivePrefix and primaryClass, every paper with its authors,
// title, year and url. Text is escaped for classic BibTeX and LaTeX: the characters TeX treats specially outside
// math (% & # _) are escaped, $...$ math and balanced {groups} that arXiv titles carry are kept, unbalanced
// braces or dollars are escaped, and accented letters become LaTeX accent commands ({\'e}), so an entry compiles
// with any bibliography style and never comments out or unbalances the rest of the file.
package bibtex

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Write returns the entries of papers, one after another, separated by a blank line. Keys are unique within the
// output (a suffix b, c... for a repeated one).
func Write(papers []paper.Paper) string {
	var b strings.Builder
	seen := map[string]int{}
	for i, p := range papers {
		if i > 0 {
			b.WriteString("\n")
		}
		key := Key(p)
		seen[key]++
		if n := seen[key]; n > 1 {
			key += string(rune('a' + min(n-1, 25)))
		}
		writeEntry(&b, key, p)
	}
	return b.String()
}

// Entry returns p's entry under its Key.
func Entry(p paper.Paper) string {
	var b strings.Builder
	writeEntry(&b, Key(p), p)
	return b.String()
}

// Key is the citation key: the first author's last name, the year and the title's first word, in ASCII letters
// and digits ("lovelace2026ssvep"); "paper" parts stand for what is unknown.
func Key(p paper.Paper) string {
	last := "anon"
	if len(p.Authors) > 0 {
		f := strings.Fields(p.Authors[0])
		if len(f) > 0 {
			last = f[len(f)-1]
		}
	}
	word := ""
	for _, w := range strings.Fields(p.Title) {
		if a := asciiWord(w); len(a) > 3 || (a != "" && !common[a]) {
			word = a
			break
		}
	}
	year := ""
	if !p.Published.IsZero() {
		year = strconv.Itoa(p.Published.Year())
	}
	return asciiWord(last) + year + word
}

var common = map[string]bool{"a": true, "an": true, "the": true, "on": true, "of": true, "for": true, "in": true, "to": true}

// asciiWord keeps the lowercase ASCII letters and digits of w, accents stripped.
func asciiWord(w string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(w) {
		r = unicode.ToLower(r)
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// field is one line of an entry.
type field struct{ name, value string }

func writeEntry(b *strings.Builder, key string, p paper.Paper) {
	var fields []field
	add := func(name, value string) {
		if value != "" {
			fields = append(fields, field{name, value})
		}
	}
	// Double braces keep the title's capitalization (SSVEP, EEG) from being lowered by the style.
	add("title", "{"+Escape(strings.Join(strings.Fields(p.Title), " "))+"}")
	authors := make([]string, 0, len(p.Authors))
	for _, a := range p.Authors {
		a = strings.Join(strings.Fields(a), " ")
		if a == "" {
			continue
		}
		// A name holding the word "and" would split in two; braces make it one name.
		if strings.Contains(" "+strings.ToLower(a)+" ", " and ") {
			a = "{" + a + "}"
		}
		authors = append(authors, Escape(a))
	}
	add("author", strings.Join(authors, " and "))
	if !p.Published.IsZero() {
		add("year", strconv.Itoa(p.Published.Year()))
	}
	if p.ArxivID != "" {
		add("eprint", p.ArxivID)
		add("archivePrefix", "arXiv")
		if len(p.Categories) > 0 {
			add("primaryClass", Escape(p.Categories[0]))
		}
		add("doi", "10.48550/arXiv."+p.ArxivID)
	} else if p.DOI != "" {
		add("doi", Escape(p.DOI))
	}
	add("url", urlValue(p))
	fmt.Fprintf(b, "@misc{%s,\n", key)
	for i, f := range fields {
		sep := ","
		if i == len(fields)-1 {
			sep = ""
		}
		fmt.Fprintf(b, "  %-13s = {%s}%s\n", f.name, f.value, sep)
	}
	b.WriteString("}\n")
}

// urlValue is the paper's landing page, with the characters that end or unbalance a field escaped (url fields are
// read verbatim by the url package, but % would still comment out the line in classic BibTeX).
func urlValue(p paper.Paper) string {
	u := p.URL
	if p.ArxivID != "" {
		u = "https://arxiv.org/abs/" + p.ArxivID
	}
	r := strings.NewReplacer("%", `\%`, "{", "%7B", "}", "%7D", " ", "%20")
	return r.Replace(u)
}

// accents maps combining marks to LaTeX accent commands.
var accents = map[rune]string{
	'\u0300': "`", '\u0301': "'", '\u0302': "^", '\u0303': "~", '\u0304': "=", '\u0306': "u", '\u0307': ".",
	'\u0308': `"`, '\u030A': "r", '\u030B': "H", '\u030C': "v", '\u0327': "c", '\u0328': "k",
}

// letters maps letters without a decomposition to LaTeX.
var letters = map[rune]string{
	'ß': `{\ss}`, 'æ': `{\ae}`, 'Æ': `{\AE}`, 'ø': `{\o}`, 'Ø': `{\O}`, 'ł': `{\l}`, 'Ł': `{\L}`, 'œ': `{\oe}`,
	'Œ': `{\OE}`, 'ı': `{\i}`, 'đ': `{\dj}`, 'Đ': `{\DJ}`,
}

// Escape makes s safe inside a braced BibTeX field and in LaTeX text. Outside math, %, &, # and _ get a backslash
// (unless they have one); $...$ is kept as math when the dollars pair up, else every $ is escaped; braces are
// kept when they balance, else all are escaped; accented letters become accent commands; a backslash that
// starts a command is kept (arXiv titles carry LaTeX).
func Escape(s string) string {
	s = norm.NFC.String(s)
	dollars := strings.Count(s, "$") - strings.Count(s, `\$`)
	mathOK := dollars%2 == 0
	bracesOK := balanced(s)
	var b strings.Builder
	inMath := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		// A character is escaped by an odd run of backslashes before it (\\ is a backslash pair, a line break).
		run := 0
		for j := i - 1; j >= 0 && rs[j] == '\\'; j-- {
			run++
		}
		escaped := run%2 == 1
		switch {
		case r == '\\' && !escaped:
			// A lone backslash at the end, or before something that makes no command, is text.
			if i+1 == len(rs) || rs[i+1] == ' ' {
				b.WriteString(`\textbackslash{}`)
				continue
			}
			b.WriteRune(r)
		case escaped:
			b.WriteRune(r)
		case r == '$':
			if mathOK {
				inMath = !inMath
				b.WriteRune(r)
			} else {
				b.WriteString(`\$`)
			}
		case r == '{' || r == '}':
			if bracesOK {
				b.WriteRune(r)
			} else {
				b.WriteString(`\` + string(r))
			}
		case r == '%' || r == '&' || r == '#':
			// Never valid unescaped in a title, in math or not: % comments out the rest of the line.
			b.WriteString(`\` + string(r))
		case r == '_' && !inMath:
			b.WriteString(`\_`)
		case r < 0x80:
			b.WriteRune(r)
		default:
			b.WriteString(latexRune(r))
		}
	}
	return b.String()
}

// latexRune writes a non-ASCII rune as LaTeX: {\'e} for an accented letter, the letter's command, or the rune
// itself (UTF-8, for biber and inputenc) when LaTeX has no short name for it.
func latexRune(r rune) string {
	if l, ok := letters[r]; ok {
		return l
	}
	d := []rune(norm.NFD.String(string(r)))
	if len(d) < 2 || d[0] >= 0x80 {
		return string(r)
	}
	out := string(d[0])
	if d[0] == 'i' {
		out = `\i` // the dotless i takes the accent
	}
	for _, m := range d[1:] {
		cmd, ok := accents[m]
		if !ok {
			return string(r)
		}
		sep := ""
		if cmd[0] >= 'a' && cmd[0] <= 'z' {
			sep = " "
		}
		out = `\` + cmd + sep + out
	}
	return "{" + out + "}"
}

// balanced reports whether s's unescaped braces pair up.
func balanced(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++ // the next character is escaped (or the second of a pair)
			continue
		}
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}
