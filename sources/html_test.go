package sources

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanHTML(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"paragraph and wrapping", "<p>Hello\n  world</p>", "Hello world"},
		// The legacy arXiv feed, once the XML decoder has run: markup is real, a literal "<" is still escaped.
		{"legacy arXiv escaped math", "<p>range of $2.6&lt;\\eta&lt;4$</p>", `range of $2.6<\eta<4$`},
		{"plain comparison", "a < b and c > d", "a < b and c > d"},
		{"math without spaces", "$a<b$ and $c>d$", "$a<b$ and $c>d$"},
		{"less than a number", "for n<10 and k <= 3", "for n<10 and k <= 3"},
		{"unknown element is text", "the set <x, y> of pairs", "the set <x, y> of pairs"},
		{"tag never closed", "if a <b then", "if a <b then"},
		{"inline elements join", "<i>in vivo</i> &amp; <b>more</b>", "in vivo & more"},
		{"subscript stays in the word", "H<sub>2</sub>O and E=mc<sup>2</sup>", "H2O and E=mc2"},
		{"block elements separate", "<li>one</li><li>two</li><h2>Three</h2>four<br>five<br/>six", "one two Three four five six"},
		{"table cells", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b c"},
		{"div and paragraphs", "<div>first</div><div><p>second</p></div>", "first second"},
		{"named and numeric entities", "caf&eacute; &#8211; na&#xEF;ve &lt;tag&gt; &nbsp;end", "café – naïve <tag> end"},
		{"unknown entity kept", "AT&T and &bogus; stay", "AT&T and &bogus; stay"},
		{"comment dropped", "before<!-- a <p>comment</p> -->after", "before after"},
		{"unclosed comment drops the rest", "kept<!-- never closed", "kept"},
		{"CDATA is text", "x <![CDATA[a < b & c]]> y", "x a < b & c y"},
		{"script content dropped", "<p>Text</p><script>alert('<p>x</p>')</script><p>more</p>", "Text more"},
		{"style content dropped", "<style>p { color: red }</style>Visible", "Visible"},
		{"noscript dropped", "a<noscript><img src=x></noscript>b", "a b"},
		{"image alt text", `see <img src="f.png" alt="Figure 1"> here`, "see Figure 1 here"},
		{"attributes with >", `<a href="x?a>b" title='t'>link</a> text`, "link text"},
		{"uppercase tags", "<P>One</P><BR>Two", "One Two"},
		{"doctype and processing instruction", "<!DOCTYPE html><?xml version='1.0'?>Body", "Body"},
		{"invalid UTF-8", "x\xffy", "x\uFFFDy"},
		{"invalid UTF-8 in markup", "<p>x\xffy</p>", "x\uFFFDy"},
		{"no markup", "  plain\ttext\n", "plain text"},
		{"empty", "", ""},
		{"only markup", "<p></p><br>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cleanHTML(tt.in); got != tt.want {
				t.Errorf("cleanHTML(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzCleanHTML checks what holds for any input: valid UTF-8 out, white space collapsed, and text without markup
// or entities passed through but for its white space. Seeds are in testdata/fuzz/FuzzCleanHTML.
func FuzzCleanHTML(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "a<b", "<![CDATA[x", "<script>x", "&amp;lt;", "<!-->", "<img alt='x'>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := cleanHTML(s)
		if !utf8.ValidString(got) {
			t.Fatalf("cleanHTML(%q) = %q: invalid UTF-8", s, got)
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("cleanHTML(%q) = %q: white space not collapsed", s, got)
		}
		if len(got) > 3*len(s) {
			t.Fatalf("cleanHTML(%q) = %q: grew more than the repairs explain", s, got)
		}
		if !strings.ContainsAny(s, "<&") && utf8.ValidString(s) && len(s) <= MaxRawTextBytes {
			if want := strings.Join(strings.Fields(s), " "); got != want {
				t.Fatalf("cleanHTML(%q) = %q, want the text as is %q", s, got, want)
			}
		}
	})
}
