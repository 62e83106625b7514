package bot

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// latexCase is one block of testdata/latex.golden.
type latexCase struct {
	source, in, want string
	line             int
}

// readLatexGolden reads testdata/latex.golden: blocks of a "# source" line, "in:" and "want:".
func readLatexGolden(t testing.TB) []latexCase {
	t.Helper()
	f, err := os.Open("testdata/latex.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		cases []latexCase
		cur   latexCase
		n     int
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# "):
			cur.source = strings.TrimPrefix(line, "# ")
		case strings.HasPrefix(line, "in:"):
			cur.in, cur.line = strings.TrimSpace(strings.TrimPrefix(line, "in:")), n
		case strings.HasPrefix(line, "want:"):
			cur.want = strings.TrimSpace(strings.TrimPrefix(line, "want:"))
			cases = append(cases, cur)
			cur = latexCase{}
		case strings.TrimSpace(line) != "":
			t.Fatalf("latex.golden:%d: want a '# source', 'in:' or 'want:' line, got %q", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestCleanLaTeXGolden(t *testing.T) {
	cases := readLatexGolden(t)
	real := 0
	for _, c := range cases {
		if !strings.HasPrefix(c.source, "constructed") {
			real++
		}
	}
	if real < 40 {
		t.Errorf("latex.golden has %d real arXiv snippets, want at least 40", real)
	}
	for _, c := range cases {
		t.Run(c.source, func(t *testing.T) {
			got := CleanLaTeX(c.in)
			if got != c.want {
				t.Errorf("latex.golden:%d: CleanLaTeX(%q)\n got: %s\nwant: %s", c.line, c.in, got, c.want)
			}
			// Card text is cleaned once, but cleaning what a card shows must not change it further.
			if again := CleanLaTeX(c.want); again != c.want {
				t.Errorf("latex.golden:%d: cleaning the wanted text again gives %q", c.line, again)
			}
		})
	}
}

func TestCleanLaTeXNesting(t *testing.T) {
	deep := strings.Repeat(`\textbf{`, 10000) + "x" + strings.Repeat("}", 10000)
	if got := CleanLaTeX(deep); got != "x" {
		t.Errorf("CleanLaTeX of 10000 nested groups = %q, want x", got)
	}
	sup := "$n" + strings.Repeat("^{", 5000) + "2" + strings.Repeat("}", 5000) + "$"
	if got := CleanLaTeX(sup); !strings.HasPrefix(got, "n") || !strings.Contains(got, "2") {
		t.Errorf("CleanLaTeX of 5000 nested superscripts = %q, want n and the 2 kept", got)
	}
}

// FuzzCleanLaTeX checks what holds for any input: no panic, valid UTF-8 out of valid UTF-8 in, white space
// collapsed, bounded growth, and text with nothing LaTeX in it passed through but for its white space. Seeds are
// the golden inputs and testdata/fuzz/FuzzCleanLaTeX.
func FuzzCleanLaTeX(f *testing.F) {
	for _, c := range readLatexGolden(f) {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := CleanLaTeX(s)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("CleanLaTeX(%q) = %q: invalid UTF-8", s, got)
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("CleanLaTeX(%q) = %q: white space not collapsed", s, got)
		}
		// The longest expansion is a one-byte command turned into a few bytes (\"o, \, in math): a bound that
		// catches runaway output.
		if len(got) > 4*len(s)+8 {
			t.Fatalf("CleanLaTeX(%q) = %q: output %d bytes for %d", s, got, len(got), len(s))
		}
		if !strings.ContainsAny(s, "$\\{}^_~`'-") {
			if want := strings.Join(strings.Fields(s), " "); got != want {
				t.Fatalf("CleanLaTeX(%q) = %q, want the text as is %q", s, got, want)
			}
		}
	})
}
