package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got (JSON) with testdata/name, indented.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("indent: %v\n%s", err, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, buf.Bytes(), want)
	}
}

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
