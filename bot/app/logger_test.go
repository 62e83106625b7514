package app

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/config"
)

// TestLogDurations: durations read "26s" in both formats, in JSON too (whose handler writes nanoseconds by
// default), also inside groups.
func TestLogDurations(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := NewLogger(config.LogConfig{Level: "info", Format: format}, &buf)
			log.Info("poll failed", slog.Duration("retry_in", 26*time.Second), slog.Group("fetch", slog.Duration("took", 1500*time.Millisecond)), slog.Int("n", 3))
			out := buf.String()
			if format == "text" {
				if !strings.Contains(out, "retry_in=26s") || !strings.Contains(out, "fetch.took=1.5s") {
					t.Errorf("text log %q", out)
				}
				return
			}
			var rec struct {
				RetryIn any            `json:"retry_in"`
				Fetch   map[string]any `json:"fetch"`
				N       any            `json:"n"`
			}
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if rec.RetryIn != "26s" || rec.Fetch["took"] != "1.5s" || rec.N != float64(3) {
				t.Errorf("json log %s: retry_in %v, fetch.took %v, n %v; want \"26s\", \"1.5s\" and the number 3", out, rec.RetryIn, rec.Fetch["took"], rec.N)
			}
		})
	}
}
