package console

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

func TestUpload(t *testing.T) {
	files := []bot.File{{Name: "trends.png", Data: []byte("\x89PNG chart"), AltText: "Line chart"}}
	ch := channel.Ref{Platform: "console", ID: "c1"}
	t.Run("text", func(t *testing.T) {
		dir := t.TempDir()
		var out bytes.Buffer
		c, _ := New(Options{Output: &out, FilesDir: dir})
		for range 2 {
			if _, err := c.Upload(t.Context(), ch, "12 papers\nRising: mamba\x1b[2J", files); err != nil {
				t.Fatal(err)
			}
		}
		paths := regexp.MustCompile(`\[console:c1\] trends\.png written to (\S+)\n`).FindAllStringSubmatch(out.String(), -1)
		if len(paths) != 2 || paths[0][1] == paths[1][1] {
			t.Fatalf("output:\n%s", out.String())
		}
		if !bytes.Contains(out.Bytes(), []byte("[console:c1] Rising: mamba [2J")) {
			t.Errorf("text not printed, or not sanitized:\n%q", out.String())
		}
		for _, p := range paths {
			if filepath.Dir(p[1]) != dir {
				t.Errorf("%s is not in %s", p[1], dir)
			}
			if b, err := os.ReadFile(p[1]); err != nil || !bytes.Equal(b, files[0].Data) {
				t.Errorf("%s: %q, %v", p[1], b, err)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		var out bytes.Buffer
		c, _ := New(Options{Output: &out, Format: FormatJSON, FilesDir: t.TempDir()})
		id, err := c.Upload(t.Context(), ch, "12 papers", files)
		if err != nil {
			t.Fatal(err)
		}
		var r fileRecord
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		if r.ID != id || r.Channel != "console:c1" || r.Text != "12 papers" || len(r.Files) != 1 || r.Alt[0] != "Line chart" {
			t.Errorf("record %+v", r)
		}
	})
	t.Run("unwritable directory", func(t *testing.T) {
		var out bytes.Buffer
		c, _ := New(Options{Output: &out, FilesDir: filepath.Join(t.TempDir(), "missing")})
		if _, err := c.Upload(t.Context(), ch, "x", files); err == nil || out.Len() != 0 {
			t.Errorf("err %v, output %q", err, out.String())
		}
	})
}
