package bot

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShortAuthors(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"Ada Lovelace"}, "Ada Lovelace"},
		{[]string{"A", "B", "C"}, "A, B, C"},
		{[]string{"A", "B", "C", "D"}, "A, B, C et al."},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := ShortAuthors(tt.in); got != tt.want {
				t.Errorf("ShortAuthors(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short stays", "EEG decoding", 20, "EEG decoding"},
		{"exact stays", "abcde", 5, "abcde"},
		{"cuts at a word near the end", "spiking neural networks for EEG", 20, "spiking neural…"},
		{"multi-byte runes are not split", "Schrödinger ψψψψψψψψ", 13, "Schrödinger…"},
		{"one rune", "abc", 1, "…"},
		{"zero", "abc", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Truncate(tt.in, tt.n)
			if got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
			if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max(tt.n, 0) {
				t.Errorf("Truncate(%q, %d) = %q: invalid or too long", tt.in, tt.n, got)
			}
		})
	}
}

func FuzzTruncate(f *testing.F) {
	f.Add("Schrödinger bridges for ψ-EEG", 7)
	f.Add(strings.Repeat("日本語 ", 50), 30)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = n % 5000
		got := Truncate(s, n)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Truncate(%q, %d) produced invalid UTF-8 %q", s, n, got)
		}
		if utf8.RuneCountInString(got) > max(n, 0) {
			t.Fatalf("Truncate(%q, %d) = %q is longer than %d runes", s, n, got, n)
		}
	})
}

func TestWebURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://arxiv.org/abs/2401.01234", "https://arxiv.org/abs/2401.01234"},
		{" http://example.org/x?a=1 ", "http://example.org/x?a=1"},
		{"https://doi.org/10.1002/(SICI)1097", "https://doi.org/10.1002/(SICI)1097"},
		{"javascript:alert(1)", ""},
		{"https://arxiv.org@evil.example/abs/1", ""}, // credentials make the host read as arxiv.org
		{"https://evil.example|arxiv.org", ""},
		{"https://a.example/<b>", ""},
		{"https://a.example/x y", ""},
		{"https://a.example/\u202e", ""},
		{"//a.example/x", ""},
		{"https://a.example/" + strings.Repeat("x", 100), ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := WebURL(tt.in, 100); got != tt.want {
				t.Errorf("WebURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	for in, want := range map[string]string{
		"karpathy/nanoGPT":           "https://github.com/karpathy/nanoGPT",
		"https://github.com/a/b":     "https://github.com/a/b",
		" https://gitlab.com/x/y/z ": "https://gitlab.com/x/y/z",
		"not a repo/with spaces":     "not a repo/with spaces",
	} {
		if got := CodeURL(in); got != want {
			t.Errorf("CodeURL(%q) = %q, want %q", in, got, want)
		}
	}
}
