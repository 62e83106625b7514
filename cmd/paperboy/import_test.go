package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// snapshotLine is one record in the snapshot's format, published at pub.
func snapshotLine(t *testing.T, id, title string, pub time.Time) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": id, "submitter": "Ada Okafor", "authors": "Ada Okafor", "title": title, "comments": nil,
		"journal-ref": nil, "doi": nil, "report-no": nil, "categories": "q-bio.NC cs.LG", "license": nil,
		"abstract":       "  An abstract about " + title + ".\n",
		"versions":       []map[string]string{{"version": "v1", "created": pub.UTC().Format(time.RFC1123)}},
		"update_date":    pub.Format(time.DateOnly),
		"authors_parsed": [][]string{{"Okafor", "Ada", ""}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestImportSnapshotEndToEnd: the imported history answers look-ups at once, the subscribe preview counts only
// the papers of the last 7 days, a bad record makes the exit status 1 unless --skip-bad, and a channel subscribed
// to the imported papers' words receives none of them when the bot runs; it receives the feed's new paper.
func TestImportSnapshotEndToEnd(t *testing.T) {
	srv, _ := feedServer(t)
	out := filepath.Join(t.TempDir(), "cards.jsonl")
	cfg := writeConfig(t, fmt.Sprintf(`
[console]
format = "json"
output = %q
[[channels]]
platform = "console"
id = "lab"
subscriptions = ["neuroimaging", "eeg"]
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
url = "%s/rss/cs.LG+cs.AI+cs.CL+stat.ML"
`, out, srv.URL))
	now := time.Now()
	lines := []string{
		snapshotLine(t, "1905.00001", "EEG decoding with spiking networks", time.Date(2019, 5, 1, 10, 0, 0, 0, time.UTC)),
		snapshotLine(t, "1906.00002", "EEG artifacts revisited", time.Date(2019, 6, 3, 10, 0, 0, 0, time.UTC)),
		snapshotLine(t, "q-bio/0601001", "Early EEG rhythms", time.Date(2006, 1, 2, 10, 0, 0, 0, time.UTC)),
		"{not json",
		snapshotLine(t, "2609.99999", "EEG foundation models this week", now.Add(-48*time.Hour)),
		snapshotLine(t, "2609.99998", "Protein folding this week", now.Add(-24*time.Hour)),
	}
	file := filepath.Join(t.TempDir(), "arxiv-metadata-oai-snapshot.json")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	code, stdout, stderr := run(t, ctx, "import", "snapshot", file, "--config", cfg)
	if code != 1 {
		t.Fatalf("import with a bad line: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"5 papers from 6 lines", "5 new", "skipped bad records: 1 (1 not JSON)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("import report lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "arxiv-metadata-oai-snapshot.json:line 4: not JSON") {
		t.Errorf("stderr lacks the bad line's number:\n%s", stderr)
	}
	checkProgressStreams(t, "snapshot: line ", stdout, stderr)
	code, stdout, stderr = run(t, ctx, "import", "snapshot", "--skip-bad", "--config", cfg, file)
	if code != 0 || !strings.Contains(stdout, "0 new, 0 updated, 5 unchanged") {
		t.Fatalf("import again with --skip-bad: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := run(t, ctx, "import", "snapshot", file, "--resume", "--config", cfg); code != 0 {
		t.Errorf("resume of a finished import: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, ctx, "import", "nonsense", "--config", cfg); code != 2 || !strings.Contains(stderr, "unknown import") {
		t.Errorf("unknown import: exit %d: %s", code, stderr)
	}

	_, stdout, _ = run(t, ctx, "cmd", "--config", cfg, "--channel", "console:other", "--", "eeg")
	for _, want := range []string{"EEG foundation models this week", "EEG decoding with spiking networks", "Early EEG rhythms"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("look-up eeg lacks the imported %q:\n%s", want, stdout)
		}
	}
	_, stdout, _ = run(t, ctx, "cmd", "--config", cfg, "--channel", "console:other", "--manager", "--", "subscribe", "eeg")
	if !strings.Contains(stdout, "In the last 7 days it would have matched 1 paper,") {
		t.Errorf("subscribe preview should count the one imported paper of the last 7 days:\n%s", stdout)
	}

	// The bot runs: the feed's neuroimaging paper is delivered to lab; none of the imported EEG papers is.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var rout, rerr syncBuffer
	done := make(chan int)
	go func() { done <- realMain(runCtx, []string{"run", "--config", cfg}, &rout, &rerr) }()
	deadline := time.After(30 * time.Second)
	for {
		if b, _ := os.ReadFile(out); strings.Contains(string(b), `"key":"arxiv:2205.06398"`) &&
			strings.Count(string(b), `"key":"arxiv:2609.26820"`) == 2 {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run exited %d before delivering:\n%s", code, rerr.String())
		case <-deadline:
			t.Fatalf("nothing delivered within the deadline:\n%s", rerr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(300 * time.Millisecond) // time for any further (wrong) delivery to show
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exit %d: %s", code, rerr.String())
	}
	b, _ := os.ReadFile(out)
	// The feed's own EEG paper reaches both eeg subscribers: the subscriptions work, and still no imported paper
	// is announced.
	if !strings.Contains(string(b), `"channel":"console:lab"`) {
		t.Errorf("lab received nothing:\n%s", b)
	}
	for _, id := range []string{"1905.00001", "1906.00002", "q-bio/0601001", "2609.99999", "2609.99998"} {
		if strings.Contains(string(b), `"key":"arxiv:`+id+`"`) {
			t.Errorf("the imported paper %s was announced:\n%s", id, b)
		}
	}
	if n := strings.Count(string(b), `"key":"arxiv:2609.26820"`); n != 2 {
		t.Errorf("the feed's EEG paper reached %d channels, want both eeg subscribers:\n%s", n, b)
	}
}

// checkProgressStreams checks that an importer's progress went, as plain lines (stdout is not a terminal here),
// to stdout with papers, rate and (for the final line at least) no drawing codes, and that stderr, where messages
// and errors go, holds no progress: both importers report the same way.
func checkProgressStreams(t *testing.T, prefix, stdout, stderr string) {
	t.Helper()
	found := false
	for line := range strings.Lines(stdout) {
		if strings.HasPrefix(line, prefix) && strings.Contains(line, " papers, ") && strings.Contains(line, " papers/s") {
			found = true
		}
	}
	if !found {
		t.Errorf("stdout lacks a progress line %q... with papers and rate:\n%s", prefix, stdout)
	}
	if strings.ContainsAny(stdout, "\r\x1b") {
		t.Errorf("progress to a non-terminal is drawn in place:\n%q", stdout)
	}
	if strings.Contains(stderr, "papers/s") {
		t.Errorf("progress went to stderr:\n%s", stderr)
	}
}
