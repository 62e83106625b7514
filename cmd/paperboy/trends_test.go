package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestTrendsWritesChart: "paperboy cmd -- trends" prints the summary and writes the chart next to the store, with
// a path that can be opened.
func TestTrendsWritesChart(t *testing.T) {
	cfg := storeWithPapers(t)
	if code, out, errOut := run(t, context.Background(), append([]string{"cmd", "--config", cfg}, as("console:c", true, "subscribe", "outlier")[1:]...)...); code != 0 {
		t.Fatalf("subscribe: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := run(t, context.Background(), append([]string{"cmd", "--config", cfg}, as("console:c", false, "trends", "12")[1:]...)...)
	if code != 0 || errOut != "" {
		t.Fatalf("trends: exit %d\n%s%s", code, out, errOut)
	}
	m := regexp.MustCompile(`trends\.png written to (\S+)\n`).FindStringSubmatch(out)
	if m == nil || !bytes.Contains([]byte(out), []byte("over the last 12 weeks")) {
		t.Fatalf("stdout:\n%s", out)
	}
	if filepath.Dir(m[1]) != filepath.Dir(cfg) {
		t.Errorf("chart written to %s, want next to the store in %s", m[1], filepath.Dir(cfg))
	}
	b, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("%s is not a PNG: %v", m[1], err)
	}
}
