//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/testkit"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

var crashSeed = flag.Uint64("crash.seed", 0, "TestCrashRestart: seed of the kill timings (0: from the clock)")

// crashChannels are the console channels of the crash test: one that takes every paper, two selective ones.
var crashChannels = []struct {
	id   string
	subs []string
}{
	{"all", []string{"cat:cs.* OR cat:stat.* OR cat:q-bio.* OR cat:eess.* OR cat:physics.* OR cat:math.*"}},
	{"neuro", []string{"eeg", `"spiking neural networks"`, "cat:q-bio.NC", "neuro* -fmri"}},
	{"ml", []string{"transformer*", `"foundation models" diffusion`, "cat:cs.LG -cat:q-bio.NC"}},
}

const (
	crashPapers = 300
	// crashLineDelay is how long the fake platform takes per card: about 5 s for the whole delivery, so that most
	// kills land during it.
	crashLineDelay = 6 * time.Millisecond
)

var announceTypeRe = regexp.MustCompile(`(Announce Type: |<arxiv:announce_type>)[a-z-]+`)

// crashFeed is a synthetic arXiv feed of n papers, all announced as new (replacements would not be routed).
func crashFeed(n int) []byte {
	return announceTypeRe.ReplaceAll(testkit.SyntheticArxivFeed(n, 42), []byte("${1}new"))
}

// crashLine is the part of a console JSON line the crash test reads.
type crashLine struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	Nonce   string `json:"nonce"`
	Digest  bool   `json:"digest"`
	Key     string `json:"key"`
}

type pair struct{ channel, key string }

// parseCrashOutput parses the console output. A SIGKILL during a write can leave a partial line, which the next
// run's first line then follows on the same line: the fragment is counted as truncated (not delivered), and the
// complete record after it is still read.
func parseCrashOutput(data []byte) (lines []crashLine, truncated int) {
	for seg := range bytes.SplitSeq(data, []byte("\n")) {
		for len(seg) > 0 {
			var l crashLine
			if err := json.Unmarshal(seg, &l); err == nil {
				lines = append(lines, l)
				break
			}
			truncated++
			next := bytes.Index(seg[1:], []byte(`{"id":`))
			if next < 0 {
				break
			}
			seg = seg[1+next:]
		}
	}
	return lines, truncated
}

// slowPlatform is the fake chat platform: the console's output is a named pipe that it reads one line at a
// time, lineDelay apart, as a platform that takes a few milliseconds per post would. A line is "posted" once the
// bot's write returned (it is then in the pipe, and the pipe outlives the bot), and the bot blocks in write while
// the pipe is full, so sends stay in flight long enough for kills to land during delivery.
type slowPlatform struct {
	f    *os.File
	done chan struct{}
	mu   sync.Mutex
	raw  []byte
	err  error
}

// endMark ends the stream: a JSON line never holds a NUL byte.
const endMark = "\x00end\n"

func newSlowPlatform(t *testing.T, path string, lineDelay time.Duration) *slowPlatform {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Read-write, so that the bot's open never waits for a reader and its exit is no end of file.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	sp := &slowPlatform{f: f, done: make(chan struct{})}
	go func() {
		defer close(sp.done)
		br := bufio.NewReaderSize(f, 64<<10)
		for {
			line, err := br.ReadBytes('\n')
			end := bytes.HasSuffix(line, []byte(endMark))
			line = bytes.TrimSuffix(line, []byte(endMark))
			sp.mu.Lock()
			sp.raw = append(sp.raw, line...)
			sp.err = err
			sp.mu.Unlock()
			if end || err != nil {
				return
			}
			time.Sleep(lineDelay)
		}
	}()
	t.Cleanup(func() {
		f.Close()
		<-sp.done
	})
	return sp
}

// output returns what was posted so far.
func (sp *slowPlatform) output() []byte {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return slices.Clone(sp.raw)
}

// drain reads what is left in the pipe once the bot has exited, and returns the whole output.
func (sp *slowPlatform) drain(t *testing.T) []byte {
	t.Helper()
	if _, err := sp.f.WriteString(endMark); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sp.done:
	case <-time.After(60 * time.Second):
		t.Fatal("the fake platform did not finish reading the pipe within 60s")
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.err != nil {
		t.Fatalf("reading the pipe: %v", sp.err)
	}
	return slices.Clone(sp.raw)
}

// TestCrashRestart is the delivery guarantee end to end, with the real binary: a local feed of 300 papers, three
// console channels (the console's JSON lines are the fake platform), the bot SIGKILLed at random moments 20 times
// and restarted, then run to completion and stopped with SIGTERM. Every paper reaches every matching channel; a
// kill repeats at most the one send in flight, and never with a new nonce, so a platform that deduplicates by
// nonce shows no duplicate at all.
func TestCrashRestart(t *testing.T) {
	start := time.Now()
	dir := t.TempDir()
	bin := filepath.Join(dir, "paperboy")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	buildTook := time.Since(start)

	feed := crashFeed(crashPapers)
	papers, err := sources.ParseArxivFeed(feed)
	if err != nil {
		t.Fatal(err)
	}
	if len(papers) != crashPapers {
		t.Fatalf("feed has %d papers, want %d", len(papers), crashPapers)
	}
	expected := map[pair]bool{}
	matching := map[string]bool{}
	perChannel := map[string]int{}
	for _, ch := range crashChannels {
		var qs []*filters.Query
		for _, s := range ch.subs {
			q, err := filters.Parse(s)
			if err != nil {
				t.Fatalf("query %q: %v", s, err)
			}
			qs = append(qs, q)
		}
		for i := range papers {
			p := &papers[i]
			if p.AnnounceType.IsReplacement() {
				t.Fatalf("paper %s is a %s; the test wants every paper announced", p.Key, p.AnnounceType)
			}
			for _, q := range qs {
				if _, ok := q.Match(p); ok {
					expected[pair{"console:" + ch.id, p.Key}] = true
					matching[p.Key] = true
					perChannel[ch.id]++
					break
				}
			}
		}
	}
	if len(matching) != crashPapers {
		t.Fatalf("%d of %d papers match a channel; the test wants all of them to", len(matching), crashPapers)
	}
	for _, ch := range crashChannels {
		if perChannel[ch.id] == 0 || (ch.id != "all" && perChannel[ch.id] == crashPapers) {
			t.Fatalf("channel %s matches %d papers; the channels must differ", ch.id, perChannel[ch.id])
		}
	}

	var requests, fullResponses atomic.Int32
	etag := fmt.Sprintf(`"%x"`, len(feed))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fullResponses.Add(1)
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(feed)
	}))
	defer srv.Close()

	output := filepath.Join(dir, "console.pipe")
	platform := newSlowPlatform(t, output, crashLineDelay)
	var cfg strings.Builder
	// The feed server listens on 127.0.0.1, which the fetcher refuses by default.
	fmt.Fprintf(&cfg, "[store]\npath = %q\n[log]\nlevel = \"info\"\n[fetch]\nallow_private_networks = true\n", filepath.Join(dir, "paperboy.db"))
	fmt.Fprintf(&cfg, "[delivery]\nworkers = 1\nhourly_budget = -1\n[console]\nformat = \"json\"\noutput = %q\n", output)
	fmt.Fprintf(&cfg, "[[sources]]\nname = \"arxiv\"\nkind = \"arxiv\"\ncategories = [\"cs.LG\"]\nurl = %q\ninterval = \"1h\"\n", srv.URL+"/rss/cs.LG")
	for _, ch := range crashChannels {
		quoted := make([]string, len(ch.subs))
		for i, s := range ch.subs {
			quoted[i] = fmt.Sprintf("%q", s)
		}
		fmt.Fprintf(&cfg, "[[channels]]\nplatform = \"console\"\nid = %q\nsubscriptions = [%s]\n", ch.id, strings.Join(quoted, ", "))
	}
	cfgPath := filepath.Join(dir, "paperboy.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "paperboy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	failWithLog := func(format string, args ...any) {
		t.Helper()
		data, _ := os.ReadFile(logPath)
		if len(data) > 8000 {
			data = data[len(data)-8000:]
		}
		t.Fatalf(format+"\nlast lines of the bot's log:\n%s", append(args, data)...)
	}
	startBot := func(run int) *exec.Cmd {
		t.Helper()
		fmt.Fprintf(logFile, "=== run %d\n", run)
		cmd := exec.CommandContext(t.Context(), bin, "run", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	countDelivered := func() int {
		lines, _ := parseCrashOutput(platform.output())
		got := map[pair]bool{}
		for _, l := range lines {
			if expected[pair{l.Channel, l.Key}] {
				got[pair{l.Channel, l.Key}] = true
			}
		}
		return len(got)
	}

	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("kill timings seed %d (rerun with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	const kills = 20
	midDelivery := 0 // kills that found some but not all pairs delivered, and the run had delivered some
	for i := range kills {
		before := countDelivered()
		cmd := startBot(i + 1)
		time.Sleep(time.Duration(50+rng.IntN(751)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			failWithLog("run %d: SIGKILL: %v (the bot exited early?)", i+1, err)
		}
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			failWithLog("run %d: the bot exited by itself before the kill: %v", i+1, err)
		}
		after := countDelivered()
		if after > before && after < len(expected) {
			midDelivery++
		}
	}

	cmd := startBot(kills + 1)
	deadline := time.Now().Add(60 * time.Second)
	// SIGTERM only once this run is up (it has polled), so that it is the running bot's shutdown that is tested.
	lastRunUp := func() bool {
		data, _ := os.ReadFile(logPath)
		_, after, ok := bytes.Cut(data, []byte(fmt.Sprintf("=== run %d\n", kills+1)))
		return ok && bytes.Contains(after, []byte("msg=polled"))
	}
	for countDelivered() < len(expected) || !lastRunUp() {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill() // cleanup before failing: the process may be gone already
			_ = cmd.Wait()
			failWithLog("after the last restart, only %d of %d (channel, paper) pairs were delivered within 60s (run up: %t)",
				countDelivered(), len(expected), lastRunUp())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			failWithLog("after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill() // cleanup before failing: the process may be gone already
		<-exited
		failWithLog("the bot did not exit within 30s of SIGTERM")
	}

	lines, truncated := parseCrashOutput(platform.drain(t))
	if truncated > 0 {
		t.Logf("NOTE: %d truncated JSON line(s) (a kill during a write); counted as not delivered", truncated)
	}
	copies := map[pair]int{}
	nonces := map[pair]map[string]bool{}
	for _, l := range lines {
		p := pair{l.Channel, l.Key}
		if l.Digest {
			t.Errorf("digest line %+v: with hourly_budget = -1 every card goes out alone", l)
		}
		if l.Nonce == "" {
			t.Errorf("line without a nonce: %+v", l)
		}
		if !expected[p] {
			t.Errorf("unexpected delivery of %s to %s", l.Key, l.Channel)
			continue
		}
		copies[p]++
		if nonces[p] == nil {
			nonces[p] = map[string]bool{}
		}
		nonces[p][l.Nonce] = true
	}
	var missing []string
	duplicates, nonceDuplicates := 0, 0
	for p := range expected {
		if copies[p] == 0 {
			missing = append(missing, p.channel+" "+p.key)
		}
		duplicates += max(copies[p]-1, 0)
		nonceDuplicates += max(len(nonces[p])-1, 0)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d pairs never delivered, e.g. %q", len(missing), missing[:min(len(missing), 5)])
	}
	if duplicates > kills {
		t.Errorf("%d duplicate deliveries after %d kills; at most one per kill is allowed", duplicates, kills)
	}
	if nonceDuplicates > 0 {
		t.Errorf("%d duplicates with a different nonce: a platform deduplicating by nonce would post them twice", nonceDuplicates)
	}
	if n := fullResponses.Load(); n < 1 {
		t.Errorf("the feed was never fetched in full")
	}
	t.Logf("%d papers, %d (channel, paper) pairs (%v per channel), %d kills (%d during delivery), %d lines, "+
		"%d duplicates (%d with a distinct nonce), %d truncated lines, %d feed requests (%d full), build %v, total %v",
		crashPapers, len(expected), perChannel, kills, midDelivery, len(lines), duplicates, nonceDuplicates, truncated,
		requests.Load(), fullResponses.Load(), buildTook.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
