package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
)

var _ bot.Uploader = (*Console)(nil)

// WriteFiles writes files into dir (the system's temporary directory when ""), each under a new name made from
// its own ("trends.png" becomes "trends-1234567.png"), so that no earlier chart is overwritten, and returns the
// paths. A terminal cannot show an image; its path can be opened.
func WriteFiles(dir string, files []bot.File) ([]string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	var paths []string
	for _, f := range files {
		name := filepath.Base(f.Name)
		ext := filepath.Ext(name)
		out, err := os.CreateTemp(dir, strings.TrimSuffix(name, ext)+"-*"+ext)
		if err != nil {
			return paths, fmt.Errorf("write %s: %w", name, err)
		}
		_, werr := out.Write(f.Data)
		if cerr := out.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return paths, fmt.Errorf("write %s: %w", out.Name(), werr)
		}
		paths = append(paths, out.Name())
	}
	return paths, nil
}

// fileRecord is the JSON line of an upload.
type fileRecord struct {
	ID      string   `json:"id"`
	Channel string   `json:"channel"`
	Text    string   `json:"text"`
	Files   []string `json:"files"`
	Alt     []string `json:"alt"`
}

// Upload writes files into the Console's FilesDir and prints text with their paths (in JSON, one line with
// "files" and "alt"), and returns a message id as Send does.
func (c *Console) Upload(ctx context.Context, ch channel.Ref, text string, files []bot.File) (string, error) {
	name := ch.String()
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("upload to %s: %w", name, err)
	}
	paths, err := WriteFiles(c.filesDir, files)
	if err != nil {
		return "", fmt.Errorf("upload to %s: %w", name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent++
	id := strconv.FormatUint(c.sent, 10)
	var buf []byte
	if c.json {
		r := fileRecord{ID: id, Channel: name, Text: text, Files: paths}
		for _, f := range files {
			r.Alt = append(r.Alt, f.AltText)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return "", fmt.Errorf("upload to %s: %w", name, err)
		}
		buf = b.Bytes()
	} else {
		var body strings.Builder
		body.WriteString(strings.TrimRight(text, "\n") + "\n")
		for i, p := range paths {
			fmt.Fprintf(&body, "%s written to %s\n", files[i].Name, p)
		}
		buf = prefixed(name, body.String())
	}
	if _, err := c.out.Write(buf); err != nil {
		return "", fmt.Errorf("upload to %s: write console output: %w", name, err)
	}
	return id, nil
}
