package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any file gives a config or errors, never a panic, and every error names the file. The seeds are the
// example config and the shapes the position scanner handles (dotted keys, inline tables, arrays of tables).
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "..", "config.example.toml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(example))
	f.Add("fetch.timeout = 60\nfetch = { max_body_bytes = \"x\" }\n")
	f.Add("sources = [{name = \"a\", kind = \"hf-daily\", interval = 600}]\n[[sources.x]]\n")
	f.Add("[[sources]]\nname = \"a\"\nkind = \"arxiv\"\ncategories = [\"cs.LG\", 1, [2]]\n[sources.history]\n")
	f.Add("a.b.c = 1\n[a]\n[[a.b]]\n'quoted key' = { \"x\" = [ { y = 1 } ] }\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, err := Parse("f.toml", []byte(src), testPlatforms)
		if err != nil && len(err.Error()) < len("f.toml") {
			t.Fatalf("error without the file name: %v", err)
		}
	})
}
