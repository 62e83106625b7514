package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// setting is one key the file sets, found by the TOML library's own parser, so that every key has its line
// however it is written: in a [table], as a dotted key (fetch.timeout = "5s"), in an inline table
// (fetch = { timeout = "5s" }) or in an array of inline tables.
type setting struct {
	// path is the key's path; an element of an array (of tables) is its index: sources.0.name.
	path []string
	line int
	// kind is the TOML kind of the value: Table for a [table] header or the implied table of a dotted key,
	// ArrayTable for a [[table]] header.
	kind unstable.Kind
	// text is the value as written for a scalar (decoded for a string), for messages.
	text string
}

// positions indexes the settings of one file by their joined path.
type positions struct {
	settings []setting
	at       map[string]int
	lines    lineIndex
}

// lineIndex finds the line of a byte offset by binary search over the file's newlines. go-toml's Shape counts
// them from the start of the file on every call, which made reading a config quadratic in its size: 93% of
// start-up with 10k subscriptions, minutes with 100k.
type lineIndex []int

func newLineIndex(data []byte) lineIndex {
	var nl lineIndex
	for i, c := range data {
		if c == '\n' {
			nl = append(nl, i)
		}
	}
	return nl
}

// line is the 1-based line of the byte at offset r.Offset.
func (nl lineIndex) line(r unstable.Range) int {
	n, _ := slices.BinarySearch(nl, int(r.Offset))
	return n + 1
}

// scanPositions parses data with go-toml's parser and records where each key is set. A syntax error is returned
// as is: the decoder then reports it with its position.
func scanPositions(data []byte) (*positions, error) {
	ps := &positions{at: map[string]int{}, lines: newLineIndex(data)}
	var p unstable.Parser
	p.Reset(data)
	var prefix []string
	arrays := map[string]int{} // [[x]] headers seen, by joined path
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			parts, line := keyOf(ps.lines, n.Key())
			// A header inside an array of tables ([sources.x] after [[sources]]) belongs to its last element.
			var path []string
			for i, part := range parts {
				path = append(path, part)
				if k := strings.Join(path, "."); arrays[k] > 0 && (i < len(parts)-1 || n.Kind == unstable.Table) {
					path = append(path, strconv.Itoa(arrays[k]-1))
				}
			}
			if n.Kind == unstable.ArrayTable {
				k := strings.Join(path, ".")
				ps.add(setting{path: slices.Clone(path), line: line, kind: unstable.ArrayTable})
				path = append(path, strconv.Itoa(arrays[k]))
				arrays[k]++
			}
			ps.add(setting{path: slices.Clone(path), line: line, kind: unstable.Table})
			prefix = path
		case unstable.KeyValue:
			ps.keyValue(prefix, n)
		}
	}
	return ps, p.Error()
}

// keyValue records a key = value and, for an inline table or an array, what it holds.
func (ps *positions) keyValue(prefix []string, n *unstable.Node) {
	parts, line := keyOf(ps.lines, n.Key())
	for i := 1; i < len(parts); i++ {
		ps.add(setting{path: join(prefix, parts[:i]), line: line, kind: unstable.Table})
	}
	path := join(prefix, parts)
	ps.value(path, line, n.Value())
}

func (ps *positions) value(path []string, line int, v *unstable.Node) {
	s := setting{path: path, line: line, kind: v.Kind}
	switch v.Kind {
	case unstable.InlineTable:
		ps.add(s)
		for it := v.Children(); it.Next(); {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				ps.keyValue(path, c)
			}
		}
	case unstable.Array:
		ps.add(s)
		i := 0
		for it := v.Children(); it.Next(); {
			el := it.Node()
			if el.Kind == unstable.Comment {
				continue
			}
			elLine := line
			if el.Raw.Length > 0 {
				elLine = ps.lines.line(el.Raw)
			}
			ps.value(join(path, []string{strconv.Itoa(i)}), elLine, el)
			i++
		}
	default:
		s.text = string(v.Data)
		ps.add(s)
	}
}

func (ps *positions) add(s setting) {
	k := strings.Join(s.path, ".")
	if _, ok := ps.at[k]; ok {
		return // the first place a table is opened is where it is
	}
	ps.at[k] = len(ps.settings)
	ps.settings = append(ps.settings, s)
}

// line returns the line where path is set, else that of its nearest enclosing table that is written in the file,
// else 0.
func (ps *positions) line(path ...string) int {
	if ps == nil {
		return 0
	}
	for n := len(path); n > 0; n-- {
		if i, ok := ps.at[strings.Join(path[:n], ".")]; ok {
			return ps.settings[i].line
		}
	}
	return 0
}

// keys returns the keys set directly in the table at path, in the file's order.
func (ps *positions) keys(path ...string) []string {
	var out []string
	for _, s := range ps.settings {
		if len(s.path) == len(path)+1 && slices.Equal(s.path[:len(path)], path) {
			out = append(out, s.path[len(path)])
		}
	}
	return out
}

// keyOf returns a key's parts and the line of its first part.
func keyOf(lines lineIndex, it unstable.Iterator) ([]string, int) {
	var parts []string
	line := 0
	for it.Next() {
		k := it.Node()
		if line == 0 && k.Raw.Length > 0 {
			line = lines.line(k.Raw)
		}
		parts = append(parts, string(k.Data))
	}
	return parts, line
}

func join(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// displayKey names a key for people: indexes of arrays left out (sources.interval), since the line says which.
func displayKey(path []string) string {
	var out []string
	for _, p := range path {
		if _, err := strconv.Atoi(p); err != nil {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

// tomlKeys returns the keys of a struct type, from its toml tags, in declaration order.
func tomlKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if k := tagName(t.Field(i)); k != "" {
			out = append(out, k)
		}
	}
	return out
}

func tagName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// fieldType returns the type of the struct field whose toml key is name.
func fieldType(t reflect.Type, name string) (reflect.Type, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); tagName(f) == name {
			return f.Type, true
		}
	}
	return nil, false
}
