package bibtex

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// entry is an entry as the checker reads it back.
type entry struct {
	typ, key string
	fields   map[string]string
}

// parse reads BibTeX the way BibTeX does, strictly: @type{key, then name = {value} fields separated by commas,
// each value's braces balanced, and no character that TeX would take as a comment (%) or an alignment tab (&)
// unescaped. It is the check that an entry neither breaks the file nor the document.
func parse(s string) ([]entry, error) {
	var out []entry
	i := 0
	skipSpace := func() {
		for i < len(s) && strings.ContainsRune(" \t\r\n", rune(s[i])) {
			i++
		}
	}
	for {
		skipSpace()
		if i == len(s) {
			return out, nil
		}
		if s[i] != '@' {
			return nil, fmt.Errorf("offset %d: want @, got %q", i, s[i])
		}
		j := strings.IndexByte(s[i:], '{')
		if j < 0 {
			return nil, fmt.Errorf("offset %d: entry without {", i)
		}
		e := entry{typ: s[i+1 : i+j], fields: map[string]string{}}
		i += j + 1
		k := strings.IndexByte(s[i:], ',')
		if k < 0 {
			return nil, fmt.Errorf("entry %s: no key", e.typ)
		}
		e.key = strings.TrimSpace(s[i : i+k])
		i += k + 1
		for {
			skipSpace()
			if i < len(s) && s[i] == '}' {
				i++
				break
			}
			eq := strings.IndexByte(s[i:], '=')
			if eq < 0 {
				return nil, fmt.Errorf("entry %s: field without =", e.key)
			}
			name := strings.TrimSpace(s[i : i+eq])
			i += eq + 1
			skipSpace()
			if i == len(s) || s[i] != '{' {
				return nil, fmt.Errorf("entry %s, field %s: value not braced", e.key, name)
			}
			depth, start := 0, i+1
			for ; i < len(s); i++ {
				if s[i] == '\\' {
					i++
					continue
				}
				if s[i] == '{' {
					depth++
				} else if s[i] == '}' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			if i == len(s) {
				return nil, fmt.Errorf("entry %s, field %s: unbalanced braces", e.key, name)
			}
			value := s[start:i]
			i++
			for x := 0; x < len(value); x++ {
				if value[x] == '\\' {
					x++
					continue
				}
				if value[x] == '%' || value[x] == '&' {
					return nil, fmt.Errorf("entry %s, field %s: unescaped %q in %q", e.key, name, value[x], value)
				}
			}
			if _, dup := e.fields[name]; dup {
				return nil, fmt.Errorf("entry %s: field %s twice", e.key, name)
			}
			e.fields[name] = value
			skipSpace()
			if i < len(s) && s[i] == ',' {
				i++
			}
		}
		out = append(out, e)
	}
}

func arxiv(id, title string, authors ...string) paper.Paper {
	p := paper.Paper{ArxivID: id, Title: title, Authors: authors, Categories: []string{"cs.LG", "eess.SP"},
		URL: "https://arxiv.org/abs/" + id, Published: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)}
	p.Key = paper.KeyOf(p)
	return p
}

func fixture() []paper.Paper {
	return []paper.Paper{
		arxiv("2603.00001", "SSVEP decoding with $\\alpha$-band {EEG} transformers", "Ada Lovelace", "Alan Turing"),
		arxiv("2603.00002", "Cost 100% & more: a {fair} # of $O(n^2)$ steps_and \\emph{robust} bounds", "José Müller", "Zoë Ångström", "Łukasz Øberg"),
		arxiv("2603.00003", "Unbalanced {braces and a lone $ sign", "Ana Sánchez and Sons"),
		arxiv("2603.00004", "Already escaped \\% and \\& and \\$ stay", "Ada Lovelace"),
		{Key: "doi:10.1000/xyz", DOI: "10.1000/xyz", Title: "A journal paper", Authors: []string{"Çelik Ñandú"},
			URL: "https://doi.org/10.1000/xyz", Published: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		arxiv("2603.00005", "SSVEP decoding, again", "Ada Lovelace"),
	}
}

func TestGolden(t *testing.T) {
	got := Write(fixture())
	path := filepath.Join("testdata", "export.bib")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("Write differs from %s (go test -update to accept):\n%s", path, got)
	}
	entries, err := parse(got)
	if err != nil {
		t.Fatalf("the export does not parse back: %v", err)
	}
	if len(entries) != len(fixture()) {
		t.Fatalf("%d entries parsed back, want %d", len(entries), len(fixture()))
	}
	keys := map[string]bool{}
	for _, e := range entries {
		if keys[e.key] {
			t.Errorf("key %s twice", e.key)
		}
		keys[e.key] = true
	}
}

func TestArxivFields(t *testing.T) {
	entries, err := parse(Entry(fixture()[0]))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"title": "{SSVEP decoding with $\\alpha$-band {EEG} transformers}", "author": "Ada Lovelace and Alan Turing",
		"year": "2026", "eprint": "2603.00001", "archivePrefix": "arXiv", "primaryClass": "cs.LG",
		"doi": "10.48550/arXiv.2603.00001", "url": "https://arxiv.org/abs/2603.00001",
	}
	e := entries[0]
	if e.typ != "misc" || e.key != "lovelace2026ssvep" {
		t.Errorf("entry @%s{%s, want @misc{lovelace2026ssvep", e.typ, e.key)
	}
	for k, v := range want {
		if e.fields[k] != v {
			t.Errorf("%s = %q, want %q", k, e.fields[k], v)
		}
	}
	if len(e.fields) != len(want) {
		t.Errorf("fields %v, want exactly %v", e.fields, want)
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"100% & more", `100\% \& more`},
		{"$x_1$ and x_1", `$x_1$ and x\_1`},
		{"a lone $ sign", `a lone \$ sign`},
		{"{EEG} models", "{EEG} models"},
		{"unbalanced {brace", `unbalanced \{brace`},
		{"closing} first{", `closing\} first\{`},
		{"José Müller", `Jos{\'e} M{\"u}ller`},
		{"naïve façade", `na{\"\i}ve fa{\c c}ade`},
		{"Łódź", `{\L}{\'o}d{\'z}`},
		{`\emph{robust} \% kept`, `\emph{robust} \% kept`},
		{"trailing \\", `trailing \textbackslash{}`},
		{"Hash #1", `Hash \#1`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Escape(tt.in)
			if got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if _, err := parse("@misc{k,\n  title = {" + got + "}\n}\n"); err != nil {
				t.Errorf("Escape(%q) = %q does not parse back: %v", tt.in, got, err)
			}
		})
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"100% & more", "$x$ {a} \\emph{b}", "}{", "\\", "$$$", "é\\%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := paper.Paper{ArxivID: "2603.00001", Title: s, Authors: []string{s}}
		if _, err := parse(Entry(p)); err != nil {
			t.Errorf("title %q: %v\n%s", s, err, Entry(p))
		}
	})
}
