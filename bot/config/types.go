package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

var (
	durationType = reflect.TypeFor[Duration]()
	windowType   = reflect.TypeFor[Window]()
)

// checkSettings checks every key the file sets against Config before decoding: unknown keys and values of the
// wrong type, each at its line, in the file's words (key names and TOML types, never Go's). It is what makes a
// bare number for a duration an error rather than nanoseconds.
func checkSettings(path string, ps *positions) []error {
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, &ConfigError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	var unknown [][]string
	for _, s := range ps.settings {
		if slices.ContainsFunc(unknown, func(u []string) bool { return hasPrefix(s.path, u) }) {
			continue // reported once, at the unknown table
		}
		t, parent, ok := resolve(s.path)
		if !ok {
			unknown = append(unknown, s.path)
			bad(s.line, "%s", unknownKey(s.path, parent))
			continue
		}
		if msg := typeMismatch(s, t); msg != "" {
			bad(s.line, "%s", msg)
		}
	}
	return errs
}

// resolve returns the Go type the key at path decodes into. When the key is unknown it returns the struct type
// that has no such key, for the message.
func resolve(path []string) (t, parent reflect.Type, ok bool) {
	t = reflect.TypeFor[Config]()
	for _, part := range path {
		switch t.Kind() {
		case reflect.Struct:
			ft, found := fieldType(t, part)
			if !found {
				return nil, t, false
			}
			t = ft
		case reflect.Slice:
			t = t.Elem()
			if _, err := strconv.Atoi(part); err != nil {
				// A path without the element's index (the decoder's keys): the part is the element's key.
				if t.Kind() != reflect.Struct {
					return nil, nil, false
				}
				ft, found := fieldType(t, part)
				if !found {
					return nil, t, false
				}
				t = ft
			}
		default:
			return nil, nil, false
		}
	}
	return t, nil, true
}

func hasPrefix(path, prefix []string) bool {
	return len(path) >= len(prefix) && slices.Equal(path[:len(prefix)], prefix)
}

// unknownKey says a key is unknown, with the closest known one or the known ones.
func unknownKey(path []string, parent reflect.Type) string {
	msg := fmt.Sprintf("unknown key %q", displayKey(path))
	if parent == nil {
		return msg + ": this value is not a table"
	}
	known := tomlKeys(parent)
	if s := closest(path[len(path)-1], known); s != "" {
		return msg + fmt.Sprintf(": did you mean %q?", s)
	}
	where := "the top level"
	if len(path) > 1 {
		where = tableName(path[:len(path)-1])
	}
	return msg + fmt.Sprintf(" (%s has %s)", where, strings.Join(known, ", "))
}

// tableName names the table at path as it is written in the file: [fetch], [[sources]].
func tableName(path []string) string {
	if _, err := strconv.Atoi(path[len(path)-1]); err == nil {
		return "[[" + displayKey(path) + "]]"
	}
	return "[" + displayKey(path) + "]"
}

// closest returns the known key within two edits of key, or "".
func closest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// typeMismatch returns what is wrong with the value of s for the Go type t, or "".
func typeMismatch(s setting, t reflect.Type) string {
	key := displayKey(s.path)
	last := key[strings.LastIndexByte(key, '.')+1:]
	got := tomlKindName(s.kind)
	if _, err := strconv.Atoi(s.path[len(s.path)-1]); err == nil && t.Kind() == reflect.String && s.kind != unstable.String {
		return fmt.Sprintf("%s: every element must be a string in quotes, not %s", key, got)
	}
	switch {
	case t == durationType || t == windowType:
		example, unit := `"30s"`, "s"
		if t == windowType {
			example, unit = `"30d"`, "d"
		}
		switch s.kind {
		case unstable.String:
			var err error
			if t == durationType {
				var d Duration
				err = d.UnmarshalText([]byte(s.text))
			} else {
				var w Window
				err = w.UnmarshalText([]byte(s.text))
			}
			if err != nil {
				return fmt.Sprintf("%s: %v", key, err)
			}
			return ""
		case unstable.Integer, unstable.Float:
			return fmt.Sprintf("%s = %s is a bare number, which would mean %s nanoseconds: write the unit in a string, e.g. %s = \"%s%s\"",
				key, s.text, s.text, last, strings.TrimPrefix(s.text, "+"), unit)
		}
		return fmt.Sprintf("%s: want a duration in a string, e.g. %s = %s, not %s", key, last, example, got)
	case t.Kind() == reflect.Struct:
		if s.kind != unstable.Table && s.kind != unstable.InlineTable {
			return fmt.Sprintf("%s: want a table ([%s] or %s = { ... }), not %s", key, key, last, got)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		if s.kind != unstable.ArrayTable && s.kind != unstable.Array {
			return fmt.Sprintf("%s: want a list of tables ([[%s]]), not %s", key, key, got)
		}
	case t.Kind() == reflect.Slice:
		if s.kind != unstable.Array {
			return fmt.Sprintf("%s: want a list of strings, e.g. %s = [%q], not %s", key, last, s.text, got)
		}
	case t.Kind() == reflect.String:
		if s.kind != unstable.String {
			return fmt.Sprintf("%s: want a string in quotes, e.g. %s = \"%s\", not %s", key, last, s.text, got)
		}
	case t.Kind() == reflect.Bool:
		if s.kind != unstable.Bool {
			return fmt.Sprintf("%s: want true or false, not %s", key, got)
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		if s.kind != unstable.Integer {
			return fmt.Sprintf("%s: want a whole number without quotes, not %s", key, got)
		}
		bits := 64
		if t.Kind() == reflect.Int {
			bits = strconv.IntSize
		}
		if _, err := strconv.ParseInt(s.text, 0, bits); err != nil {
			return fmt.Sprintf("%s: %s is out of range", key, s.text)
		}
	}
	return ""
}

// typeName names the TOML value a Go type wants, for people.
func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration in a string, e.g. "30s"`
	case t == windowType:
		return `a span in a string, e.g. "30d"`
	case t.Kind() == reflect.Struct:
		return "a table"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "a list of tables"
	case t.Kind() == reflect.Slice:
		return "a list of strings"
	case t.Kind() == reflect.String:
		return "a string in quotes"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "a whole number without quotes"
	}
	return "another type of value"
}

// tomlKindName names a TOML value's type for people.
func tomlKindName(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Integer:
		return "a number"
	case unstable.Float:
		return "a decimal number"
	case unstable.Bool:
		return "true/false"
	case unstable.Array:
		return "a list"
	case unstable.InlineTable, unstable.Table:
		return "a table"
	case unstable.ArrayTable:
		return "a list of tables"
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return "a date or time"
	}
	return "a value of another type"
}
