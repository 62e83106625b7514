//go:build unix

package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// BenchmarkRunMemory is the load program of `paperboy run` on a large store (issue 16: peak RSS under 150 MB on
// a 3M-paper store). It builds the binary and runs it as a user would, with a store, a console channel and a Slack
// channel in http mode whose Web API is a local fake, and one arXiv source served by a local feed server (a
// synthetic feed of 500 papers). Once the bot has polled, it sends the look-ups of the search
// benchmark's query mix as signed /papers slash commands (runLookups of them), then subscribes and unsubscribes
// runPreviews of the same queries (each subscribe answers with its 7-day preview), and stops the bot with SIGTERM.
//
// The per-user command rate is off ([commands] per_user_rate = -1), so that every command is a look-up.
//
// It reports the bot's peak RSS over its whole life (peak-RSS-MB, the kernel's ru_maxrss of the child), its RSS
// once it has polled and before any look-up (started-RSS-MB), the look-ups' latency over HTTP (p50-ms,
// p99-ms) and the bot's CPU time.
//
// The store is PAPERBOY_RUN_STORE (the bot writes to it: the feed's papers, then subscriptions it removes again);
// without it, a store of PAPERBOY_SNAPSHOT_PAPERS synthetic papers (default 20,000) imported with the built binary.
//
//	PAPERBOY_RUN_STORE=/data/3m.db go test ./cmd/paperboy -run '^$' -bench BenchmarkRunMemory -benchtime 1x
func BenchmarkRunMemory(b *testing.B) {
	const (
		runLookups  = 200
		runPreviews = 20
		secret      = "bench-signing-secret"
	)
	dir := b.TempDir()
	bin := filepath.Join(dir, "paperboy")
	if out, err := exec.CommandContext(b.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	dbPath := os.Getenv("PAPERBOY_RUN_STORE")
	if dbPath == "" {
		dbPath = runBenchStore(b, bin, dir)
	}

	feed := crashFeed(500)
	var polls atomic.Int32
	feeds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = w.Write(feed)
	}))
	defer feeds.Close()
	var posts atomic.Int32
	slackAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if strings.HasSuffix(r.URL.Path, "/chat.postMessage") {
			posts.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.%06d"}`, r.PostForm.Get("channel"), posts.Load())
	}))
	defer slackAPI.Close()

	listen := freeAddr(b)
	cfgPath := filepath.Join(dir, "paperboy.toml")
	cfg := fmt.Sprintf(`[store]
path = %q
[log]
level = "info"
[fetch]
allow_private_networks = true
[commands]
per_user_rate = -1
[console]
output = %q
[slack]
mode = "http"
listen = %q
api_url = "%s/api/"
[[channels]]
platform = "console"
id = "lab"
subscriptions = ["eeg -survey", "cat:cs.LG"]
[[channels]]
platform = "slack"
id = "CBENCH001"
subscriptions = ["cat:cs.LG OR cat:q-bio.NC"]
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
categories = ["cs.LG"]
url = "%s/rss/cs.LG"
interval = "1h"
`, dbPath, filepath.Join(dir, "console.txt"), listen, slackAPI.URL, feeds.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	logPath := filepath.Join(dir, "paperboy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	fail := func(format string, args ...any) {
		b.Helper()
		data, _ := os.ReadFile(logPath)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		b.Fatalf(format+"\nlast lines of the bot's log:\n%s", append(args, data)...)
	}

	runs := 0
	for ; b.Loop(); runs++ {
		cmd := exec.CommandContext(b.Context(), bin, "run", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.Env = append(os.Environ(), "SLACK_BOT_TOKEN=xoxb-bench-token", "SLACK_SIGNING_SECRET="+secret)
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Started: the feed polled and its papers stored (on a store that holds them already, nothing is posted).
		polled := func() bool {
			data, _ := os.ReadFile(logPath)
			return bytes.Count(data, []byte("msg=polled ")) > runs
		}
		deadline := time.After(10 * time.Minute)
		for polls.Load() == 0 || !polled() {
			select {
			case err := <-exited:
				fail("paperboy run exited before it polled and posted: %v", err)
			case <-deadline:
				_ = cmd.Process.Kill()
				fail("paperboy run did not poll and post within 10 minutes")
			case <-time.After(50 * time.Millisecond):
			}
		}
		started := time.Since(start)
		startedRSS := procRSS(b, cmd.Process.Pid)

		client := &http.Client{Timeout: 30 * time.Second}
		slash := func(text string) (string, time.Duration) {
			body := url.Values{"command": {"/papers"}, "text": {text}, "channel_id": {"CBENCH001"},
				"user_id": {"UBENCH"}, "team_id": {"TBENCH"}}.Encode()
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			mac := hmac.New(sha256.New, []byte(secret))
			_, _ = fmt.Fprintf(mac, "v0:%s:%s", ts, body)
			req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, "http://"+listen+"/slack/commands", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Slack-Request-Timestamp", ts)
			req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				fail("/papers %s: %v", text, err)
			}
			reply, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			took := time.Since(t0)
			if err != nil || resp.StatusCode != http.StatusOK {
				fail("/papers %s: %s %v: %s", text, resp.Status, err, reply)
			}
			return string(reply), took
		}
		r := rand.New(rand.NewPCG(1, 2))
		var lat []time.Duration
		for range runLookups {
			q := testkit.BenchQuery(r)
			reply, took := slash(q)
			if strings.Contains(reply, "took too long") || strings.Contains(reply, "faster than I can answer") {
				fail("/papers %s: %s", q, reply)
			}
			lat = append(lat, took)
		}
		var preview []time.Duration
		for range runPreviews {
			q := testkit.BenchQuery(r)
			reply, took := slash("subscribe " + q)
			if !strings.Contains(reply, "now follows") {
				fail("/papers subscribe %s: %s", q, reply)
			}
			preview = append(preview, took)
			slash("unsubscribe " + q)
		}
		beforeStop := procRSS(b, cmd.Process.Pid)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			b.Fatal(err)
		}
		if err := <-exited; err != nil {
			fail("paperboy run: %v", err)
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			b.Fatal("no resource usage of the child process")
		}
		testkit.ReportLatency(b, lat)
		previewMS := func(p float64) float64 {
			return float64(quantile(preview, p)) / float64(time.Millisecond)
		}
		b.ReportMetric(previewMS(0.5), "preview-p50-ms")
		b.ReportMetric(previewMS(0.99), "preview-p99-ms")
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB") // Linux: kilobytes
		b.ReportMetric(float64(startedRSS)/(1<<20), "started-RSS-MB")
		b.ReportMetric(float64(beforeStop)/(1<<20), "end-RSS-MB")
		b.ReportMetric(started.Seconds(), "start-s")
		b.ReportMetric(time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds(), "bot-cpu-s")
	}
}

// quantile returns the p-quantile of d (which it sorts).
func quantile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// runBenchStore imports a synthetic snapshot of PAPERBOY_SNAPSHOT_PAPERS papers (default 20,000) into a new store
// in dir with bin, and returns the store's path.
func runBenchStore(b *testing.B, bin, dir string) string {
	b.Helper()
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("PAPERBOY_SNAPSHOT_PAPERS")); err == nil && v > 0 {
		n = v
	}
	snap := filepath.Join(dir, "snapshot.jsonl")
	f, err := os.Create(snap)
	if err != nil {
		b.Fatal(err)
	}
	if err := testkit.SyntheticSnapshot(f, n, 42); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	db := filepath.Join(dir, "paperboy.db")
	cfg := filepath.Join(dir, "import.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "[store]\npath = %q\n", db), 0o600); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.CommandContext(b.Context(), bin, "import", "snapshot", snap, "--config", cfg).CombinedOutput(); err != nil {
		b.Fatalf("import snapshot: %v\n%s", err, out)
	}
	return db
}

// procRSS returns the resident set size of process pid (Linux /proc; 0 elsewhere).
func procRSS(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS of %d: %v", pid, err)
			}
			return kb << 10
		}
	}
	return 0
}
