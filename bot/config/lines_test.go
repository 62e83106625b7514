package config

import (
	"testing"

	"github.com/pelletier/go-toml/v2/unstable"
)

// TestLineIndexAgreesWithShape checks the binary-searched line of every key and value against go-toml's own
// (which counts newlines from the start of the file) on files with LF and CRLF line ends, blank lines, comments
// and multi-line strings and arrays.
func TestLineIndexAgreesWithShape(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"lf", "# c\n\n[a]\nx = 1\n\n[[b]]\ny = \"\"\"\nmulti\nline\"\"\"\nz = [\n  1,\n\n  2,\n]\nw = { q = 3 }\n"},
		{"crlf", "[a]\r\nx = 1\r\n\r\n[[b]]\r\ny = [\r\n 'p',\r\n 'q']\r\n"},
		{"first line", "x = 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.data)
			lines := newLineIndex(data)
			var p unstable.Parser
			p.Reset(data)
			checked := 0
			var walk func(n *unstable.Node)
			walk = func(n *unstable.Node) {
				if n.Raw.Length > 0 {
					if got, want := lines.line(n.Raw), p.Shape(n.Raw).Start.Line; got != want {
						t.Errorf("%q at offset %d: line %d, go-toml says %d", n.Data, n.Raw.Offset, got, want)
					}
					checked++
				}
				for it := n.Children(); it.Next(); {
					walk(it.Node())
				}
			}
			for p.NextExpression() {
				walk(p.Expression())
			}
			if err := p.Error(); err != nil {
				t.Fatal(err)
			}
			if checked == 0 {
				t.Fatal("no node with a position")
			}
		})
	}
}
