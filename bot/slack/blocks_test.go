package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		limit int
	}{
		{"short", "a < b", 150},
		{"all ampersands", strings.Repeat("&", 5000), 150},
		{"astral letters", strings.Repeat("𝔸", 5000), 150},
		{"mixed", strings.Repeat("é<𝔸 &", 3000), 3000},
		{"tiny limit", strings.Repeat("&", 10), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fitEscaped(tc.in, tc.limit)
			if units(got) > tc.limit || !utf8.ValidString(got) {
				t.Errorf("%d units (limit %d), valid UTF-8 %v", units(got), tc.limit, utf8.ValidString(got))
			}
			if got == "" && tc.limit >= 5 {
				t.Error("fit gave up on text that could be shortened")
			}
			if strings.ContainsAny(strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "").Replace(got), "<>&") {
				t.Errorf("escaping broken by truncation: %q", got)
			}
		})
	}
}

func TestSafeURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"https://arxiv.org/abs/2401.01234", "https://arxiv.org/abs/2401.01234"},
		{" http://example.org/x?a=1 ", "http://example.org/x?a=1"},
		{"javascript:alert(1)", ""},
		{"https://evil.example|arxiv.org", ""},
		{"https://a.example/<b>", ""},
		{"https://user:pw@a.example/", ""},
		{"//a.example/x", ""},
		{"https://a.example/" + strings.Repeat("x", urlBudget), ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := safeURL(tc.in); got != tc.want {
				t.Errorf("safeURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
