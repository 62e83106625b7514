package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseLine: any line either becomes a paper with an arXiv identity, a publication date and known categories,
// or a BadRecordError naming its line; nothing panics.
func FuzzParseLine(f *testing.F) {
	for _, file := range []string{"snapshot.jsonl", "bad.jsonl"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f.Add([]byte(line))
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		pr, err := parseLine(line, 42)
		if err != nil {
			var be *BadRecordError
			if !errors.As(err, &be) || be.Line != 42 || be.Reason == "" {
				t.Fatalf("parseLine error %v is not a BadRecordError of line 42", err)
			}
			return
		}
		p := pr.p
		if !strings.HasPrefix(p.Key, "arxiv:") || p.Key != "arxiv:"+p.ArxivID || p.Published.IsZero() || p.Version < 1 {
			t.Fatalf("parsed paper without identity or date: %+v", p)
		}
		for _, c := range p.Categories {
			if !KnownCategory(c) {
				t.Fatalf("unknown category %q accepted", c)
			}
		}
	})
}

// TestParseLineIDs covers the id spellings of the snapshot: new and old style, and a new-style id that lost its
// leading zero.
func TestParseLineIDs(t *testing.T) {
	tests := []struct{ id, key string }{
		{"0704.0001", "arxiv:0704.0001"},
		{"704.0001", "arxiv:0704.0001"},
		{"2401.01234", "arxiv:2401.01234"},
		{"math/0601001", "arxiv:math/0601001"},
		{"cond-mat/9901001", "arxiv:cond-mat/9901001"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			line := `{"id":"` + tt.id + `","title":"T","abstract":"A","categories":"cs.LG","versions":[{"version":"v1","created":"Mon, 2 Apr 2007 19:18:42 GMT"}]}`
			pr, err := parseLine([]byte(line), 1)
			if err != nil || pr.p.Key != tt.key {
				t.Errorf("key = %q, %v; want %s", pr.p.Key, err, tt.key)
			}
		})
	}
}
