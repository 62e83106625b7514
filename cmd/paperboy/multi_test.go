//go:build unix

package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

var (
	multiKills = flag.Int("multi.kills", 6, "TestMultiInstanceKills: SIGKILLs of a random instance (the issue's full run: 20)")
	multiSeed  = flag.Uint64("multi.seed", 0, "TestMultiInstanceKills: seed of the kill timings and victims (0: from the clock)")
)

// testDatabaseEnv names the PostgreSQL server the multi-instance tests use; each test creates a database of its own
// there and drops it at the end.
const testDatabaseEnv = "PAPERBOY_TEST_DATABASE_URL"

// freshDatabase creates an empty database with a random name on the server of PAPERBOY_TEST_DATABASE_URL, drops
// it when the test ends (after ending the sessions still on it, such as those of killed instances), and returns
// its URL. Without the variable the test skips.
func freshDatabase(t *testing.T) string {
	t.Helper()
	admin := os.Getenv(testDatabaseEnv)
	if admin == "" {
		t.Skip("set " + testDatabaseEnv + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL multi-instance tests")
	}
	var b [6]byte
	_, _ = crand.Read(b[:])
	name := "pb_" + hex.EncodeToString(b[:])
	adminExec(t, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() {
		adminExec(t, admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
		adminExec(t, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", testDatabaseEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// adminExec runs one statement on a connection of its own, outside the test's context so cleanups can use it.
func adminExec(t *testing.T, rawURL, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// connectDB opens a connection to the test's database for reading what the instances wrote.
func connectDB(t *testing.T, rawURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), rawURL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// buildPaperboy builds the binary into a temporary directory.
func buildPaperboy(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "paperboy")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// splitFeed deals the items of an RSS feed round-robin into n feeds with the same channel header.
func splitFeed(t *testing.T, feed []byte, n int) [][]byte {
	t.Helper()
	first := bytes.Index(feed, []byte("<item>"))
	last := bytes.LastIndex(feed, []byte("</item>"))
	if first < 0 || last < 0 {
		t.Fatal("the synthetic feed has no items")
	}
	head, tail := feed[:first], feed[last+len("</item>"):]
	parts := make([][]byte, n)
	for i := range parts {
		parts[i] = slices.Clone(head)
	}
	rest := feed[first : last+len("</item>")]
	for i := 0; bytes.Contains(rest, []byte("<item>")); i++ {
		start := bytes.Index(rest, []byte("<item>"))
		end := bytes.Index(rest, []byte("</item>")) + len("</item>")
		parts[i%n] = append(append(parts[i%n], rest[start:end]...), '\n')
		rest = rest[end:]
	}
	for i := range parts {
		parts[i] = append(parts[i], tail...)
	}
	return parts
}

// feedHandler serves data with an ETag, answering 304 to a matching If-None-Match, and counts the requests.
func feedHandler(data []byte, requests *atomic.Int32) http.HandlerFunc {
	etag := fmt.Sprintf(`"%x"`, len(data))
	return func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(data)
	}
}

// instance is one slot of the multi-instance tests: a `paperboy run` process, restarted in the same slot (same
// configuration, console pipe and log file) after each kill.
type instance struct {
	slot int
	cfg  string
	env  []string
	log  *os.File
	cmd  *exec.Cmd
	runs int
}

func (in *instance) start(t *testing.T, bin string) {
	t.Helper()
	in.runs++
	fmt.Fprintf(in.log, "=== slot %d run %d\n", in.slot, in.runs)
	cmd := exec.CommandContext(t.Context(), bin, "run", "--config", in.cfg)
	cmd.Env = in.env
	cmd.Stdout, cmd.Stderr = in.log, in.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.cmd = cmd
}

// kill SIGKILLs the process and reports an error if it had exited by itself.
func (in *instance) kill() error {
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("slot %d: SIGKILL: %w (the instance exited early?)", in.slot, err)
	}
	err := in.cmd.Wait()
	if ws, ok := in.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("slot %d: the instance exited by itself before the kill: %w", in.slot, err)
	}
	return nil
}

// stop sends SIGTERM and waits up to 30 s for a clean exit.
func (in *instance) stop() error {
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("slot %d: SIGTERM: %w", in.slot, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- in.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("slot %d: after SIGTERM: %w, want exit status 0", in.slot, err)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = in.cmd.Process.Kill() // cleanup before failing: the process may be gone already
		<-exited
		return fmt.Errorf("slot %d: no exit within 30s of SIGTERM", in.slot)
	}
}

// logTails returns the last lines of every instance's log, for failure messages.
func logTails(ins []*instance) string {
	var b strings.Builder
	for _, in := range ins {
		data, _ := os.ReadFile(in.log.Name())
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- log of slot %d:\n%s\n", in.slot, data)
	}
	return b.String()
}

// newInstances writes one configuration per slot (body plus the slot's own part) and returns the slots, not
// started. The instances find the database in PAPERBOY_DATABASE_URL, as a deployment would.
func newInstances(t *testing.T, n int, dbURL string, body func(slot int) string, env ...string) []*instance {
	t.Helper()
	dir := t.TempDir()
	ins := make([]*instance, n)
	for i := range ins {
		cfg := filepath.Join(dir, fmt.Sprintf("paperboy-%d.toml", i))
		// The feed servers listen on 127.0.0.1, which the fetcher refuses by default.
		head := "[log]\nlevel = \"info\"\n[fetch]\nallow_private_networks = true\n"
		if err := os.WriteFile(cfg, []byte(head+body(i)), 0o600); err != nil {
			t.Fatal(err)
		}
		lf, err := os.Create(filepath.Join(dir, fmt.Sprintf("paperboy-%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lf.Close() })
		ins[i] = &instance{slot: i, cfg: cfg, log: lf,
			env: append(os.Environ(), append([]string{"PAPERBOY_DATABASE_URL=" + dbURL}, env...)...)}
	}
	t.Cleanup(func() {
		for _, in := range ins {
			if in.cmd != nil && in.cmd.ProcessState == nil {
				_ = in.cmd.Process.Kill() // a test that failed midway leaves its instances running
				_ = in.cmd.Wait()
			}
		}
	})
	return ins
}

// slackPost is one chat.postMessage the fake Slack received.
type slackPost struct{ channel, key string }

var arxivAbsRe = regexp.MustCompile(`arxiv\.org/abs/(\d{4}\.\d{5})`)

// fakeSlack is a Slack Web API that records every chat.postMessage when it arrives and answers after delay, so
// that a kill can land between a post and the bot's record of it.
func fakeSlack(t *testing.T, token string, delay time.Duration) (*httptest.Server, func() []slackPost) {
	t.Helper()
	var mu sync.Mutex
	var posts []slackPost
	var ts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		authed := r.Header.Get("Authorization") == "Bearer "+token || r.PostForm.Get("token") == token
		if r.URL.Path != "/api/chat.postMessage" || !authed {
			t.Errorf("unexpected Slack request %s %s (authorized: %v)", r.Method, r.URL.Path, authed)
			http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
			return
		}
		ids := map[string]bool{}
		for _, m := range arxivAbsRe.FindAllStringSubmatch(r.PostForm.Get("blocks"), -1) {
			ids[m[1]] = true
		}
		if len(ids) != 1 {
			t.Errorf("a Slack post names %d arXiv papers, want one card: %v", len(ids), ids)
		}
		for id := range ids {
			mu.Lock()
			posts = append(posts, slackPost{r.PostForm.Get("channel"), "arxiv:" + id})
			mu.Unlock()
		}
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.%06d"}`, r.PostForm.Get("channel"), ts.Add(1))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []slackPost {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(posts)
	}
}

// multiSlackChannel is the fake-Slack channel of TestMultiInstanceKills: selective, because Slack's per-channel
// limit (one message a second) makes each of its cards take a second.
// multiLineDelay is how long the console pipe takes per card: 820 cards make its delivery last through the
// kills of a default run.
const multiLineDelay = 15 * time.Millisecond

var multiSlackChannel = struct{ id, sub string }{"C0MULTI01", `"sleep staging"`}

// TestMultiInstanceKills runs three `paperboy run` processes on one PostgreSQL database: three sources of 100
// papers each from a local feed server, three console channels (each slot's console output is a slow named pipe)
// and a fake-Slack channel. A random instance is SIGKILLed at random moments during polling and delivery and
// restarted, then all run to completion and stop with SIGTERM. Every (channel, paper) is delivered, in each
// channel's order (oldest paper first within each poll), and each kill repeats at most the one send it
// interrupted (workers = 1), never with a new nonce.
func TestMultiInstanceKills(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	start := time.Now()
	bin := buildPaperboy(t)
	buildTook := time.Since(start)

	const nSources, nSlots = 3, 3
	feed := crashFeed(crashPapers)
	papers, err := sources.ParseArxivFeed(feed)
	if err != nil {
		t.Fatal(err)
	}
	feeds := splitFeed(t, feed, nSources)
	sourceOf := map[string]int{}
	for i, f := range feeds {
		ps, err := sources.ParseArxivFeed(f)
		if err != nil {
			t.Fatalf("feed %d: %v", i, err)
		}
		for _, p := range ps {
			sourceOf[p.Key] = i
		}
	}
	if len(sourceOf) != crashPapers {
		t.Fatalf("the split feeds hold %d distinct papers, want %d", len(sourceOf), crashPapers)
	}

	type chanSpec struct {
		ref  string
		subs []string
	}
	var chans []chanSpec
	for _, ch := range crashChannels {
		chans = append(chans, chanSpec{"console:" + ch.id, ch.subs})
	}
	chans = append(chans, chanSpec{"slack:" + multiSlackChannel.id, []string{multiSlackChannel.sub}})
	expected := map[pair]bool{}
	perChannel := map[string]int{}
	for _, ch := range chans {
		var qs []*filters.Query
		for _, s := range ch.subs {
			q, err := filters.Parse(s)
			if err != nil {
				t.Fatalf("query %q: %v", s, err)
			}
			qs = append(qs, q)
		}
		for i := range papers {
			for _, q := range qs {
				if _, ok := q.Match(&papers[i]); ok {
					expected[pair{ch.ref, papers[i].Key}] = true
					perChannel[ch.ref]++
					break
				}
			}
		}
	}
	if n := perChannel["slack:"+multiSlackChannel.id]; n < 5 || n > 40 {
		t.Fatalf("the Slack channel matches %d papers; want 5 to 40 (a second each)", n)
	}

	var requests atomic.Int32
	mux := http.NewServeMux()
	for i, f := range feeds {
		mux.Handle(fmt.Sprintf("/rss/part%d", i), feedHandler(f, &requests))
	}
	feedSrv := httptest.NewServer(mux)
	defer feedSrv.Close()
	const slackToken = "xoxb-multi-token"
	slackSrv, slackPosts := fakeSlack(t, slackToken, 20*time.Millisecond)

	// One pipe for all instances: a write of at most PIPE_BUF bytes to a pipe is atomic, so the pipe holds the
	// cards in the order the instances posted them, whole (checked below).
	pipePath := filepath.Join(t.TempDir(), "console.pipe")
	pipe := newSlowPlatform(t, pipePath, multiLineDelay)
	var common strings.Builder
	fmt.Fprintf(&common, "[delivery]\nworkers = 1\nhourly_budget = -1\n")
	fmt.Fprintf(&common, "[slack]\nmode = \"http\"\nlisten = \"127.0.0.1:0\"\napi_url = \"%s/api/\"\n", slackSrv.URL)
	for i := range nSources {
		fmt.Fprintf(&common, "[[sources]]\nname = \"part%d\"\nkind = \"arxiv\"\nurl = \"%s/rss/part%d\"\ninterval = \"1m\"\n", i, feedSrv.URL, i)
	}
	for _, ch := range chans {
		quoted := make([]string, len(ch.subs))
		for i, s := range ch.subs {
			quoted[i] = fmt.Sprintf("%q", s)
		}
		platform, id, _ := strings.Cut(ch.ref, ":")
		fmt.Fprintf(&common, "[[channels]]\nplatform = %q\nid = %q\nsubscriptions = [%s]\n", platform, id, strings.Join(quoted, ", "))
	}
	fmt.Fprintf(&common, "[console]\nformat = \"json\"\noutput = %q\n", pipePath)
	ins := newInstances(t, nSlots, dbURL, func(int) string { return common.String() }, "SLACK_BOT_TOKEN="+slackToken, "SLACK_SIGNING_SECRET=multi-signing-secret")

	// delivered reads what the platforms got so far: console lines and Slack posts, as (channel, paper) pairs in
	// the order each channel received them.
	delivered := func(final bool) (seq map[string][]crashLine, truncated int) {
		seq = map[string][]crashLine{}
		raw := pipe.output()
		if final {
			raw = pipe.drain(t)
			for line := range bytes.SplitSeq(raw, []byte("\n")) {
				if len(line)+1 > syscall.Getpagesize() { // PIPE_BUF is a page on Linux
					t.Fatalf("a console line of %d bytes: the instances' writes to the shared pipe may interleave", len(line)+1)
				}
			}
		}
		lines, truncated := parseCrashOutput(raw)
		for _, l := range lines {
			seq[l.Channel] = append(seq[l.Channel], l)
		}
		for _, p := range slackPosts() {
			seq["slack:"+p.channel] = append(seq["slack:"+p.channel], crashLine{Channel: "slack:" + p.channel, Key: p.key})
		}
		return seq, truncated
	}
	countDelivered := func() int {
		seq, _ := delivered(false)
		got := map[pair]bool{}
		for ch, ls := range seq {
			for _, l := range ls {
				if expected[pair{ch, l.Key}] {
					got[pair{ch, l.Key}] = true
				}
			}
		}
		return len(got)
	}

	seed := *multiSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	kills := *multiKills
	t.Logf("kill timings seed %d (rerun with -multi.seed=%d; -multi.kills=20 for the full run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	for _, in := range ins {
		in.start(t, bin)
	}
	// midDelivery counts the kills that came while cards were going out: some delivered since the previous kill,
	// not all of them yet.
	midDelivery, before := 0, 0
	for i := range kills {
		time.Sleep(time.Duration(200+rng.IntN(1800)) * time.Millisecond)
		in := ins[rng.IntN(len(ins))]
		if err := in.kill(); err != nil {
			t.Fatalf("kill %d: %v\n%s", i+1, err, logTails(ins))
		}
		n := countDelivered()
		if n > before && n < len(expected) {
			midDelivery++
		}
		before = n
		in.start(t, bin)
	}
	killsDone := time.Since(start)

	// Leases of killed instances expire within a minute (channels) or 45 s (sources); the rest is delivery.
	deadline := time.Now().Add(3 * time.Minute)
	for countDelivered() < len(expected) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d (channel, paper) pairs delivered within 3 minutes of the last restart\n%s",
				countDelivered(), len(expected), logTails(ins))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, in := range ins {
		if err := in.stop(); err != nil {
			t.Fatalf("%v\n%s", err, logTails(ins))
		}
	}

	// The order each channel must keep: oldest paper first, as the store sorts them.
	db := connectDB(t, dbURL)
	rows, err := db.Query(t.Context(), `SELECT key, sort_sec, sort_seq FROM papers`)
	if err != nil {
		t.Fatal(err)
	}
	type sortKey struct{ sec, seq int64 }
	order := map[string]sortKey{}
	for rows.Next() {
		var k string
		var sk sortKey
		if err := rows.Scan(&k, &sk.sec, &sk.seq); err != nil {
			t.Fatal(err)
		}
		order[k] = sk
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	less := func(a, b sortKey) bool { return a.sec < b.sec || a.sec == b.sec && a.seq < b.seq }

	seq, truncated := delivered(true)
	if truncated > 0 {
		t.Logf("NOTE: %d truncated JSON line(s) (a kill during a write); counted as not delivered", truncated)
	}
	copies := map[pair]int{}
	nonces := map[pair]map[string]bool{}
	duplicates, slackDuplicates, nonceDuplicates, lines, consoleLines := 0, 0, 0, 0, 0
	for ch, ls := range seq {
		// Each source's papers reach the outbox in one transaction, so within a source a channel gets them
		// oldest first (papers of different sources arrive in the order of the polls).
		lastOf := map[int]sortKey{}
		lastKey := map[int]string{}
		for _, l := range ls {
			lines++
			if strings.HasPrefix(ch, "console:") {
				consoleLines++
			}
			p := pair{ch, l.Key}
			if !expected[p] {
				t.Errorf("unexpected delivery of %s to %s", l.Key, ch)
				continue
			}
			if l.Digest {
				t.Errorf("digest line %+v: with hourly_budget = -1 every card goes out alone", l)
			}
			copies[p]++
			if copies[p] > 1 {
				duplicates++
				if strings.HasPrefix(ch, "slack:") {
					slackDuplicates++
				}
				continue
			}
			if strings.HasPrefix(ch, "console:") {
				if nonces[p] == nil {
					nonces[p] = map[string]bool{}
				}
				nonces[p][l.Nonce] = true
			}
			src := sourceOf[l.Key]
			sk, ok := order[l.Key]
			if !ok {
				t.Errorf("delivered paper %s is not in the store", l.Key)
			}
			if prev, seen := lastKey[src]; seen && less(sk, lastOf[src]) {
				t.Errorf("%s got %s after %s, which is newer (both from source part%d)", ch, l.Key, prev, src)
			}
			lastOf[src], lastKey[src] = sk, l.Key
		}
	}
	for _, ls := range seq {
		for _, l := range ls {
			if n := nonces[pair{l.Channel, l.Key}]; n != nil && l.Nonce != "" && !n[l.Nonce] {
				nonceDuplicates++
				n[l.Nonce] = true
			}
		}
	}
	var missing []string
	for p := range expected {
		if copies[p] == 0 {
			missing = append(missing, p.channel+" "+p.key)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("%d pairs never delivered, e.g. %q", len(missing), missing[:min(len(missing), 5)])
	}
	// One worker per instance: a kill interrupts at most one send, which is the only one that may be repeated.
	if duplicates > kills {
		t.Errorf("%d duplicate deliveries (%d on Slack) after %d kills; at most one per kill is allowed", duplicates, slackDuplicates, kills)
	}
	if nonceDuplicates > 0 {
		t.Errorf("%d console duplicates with a different nonce: a platform deduplicating by nonce would post them twice", nonceDuplicates)
	}
	t.Logf("%d papers from %d sources, %d (channel, paper) pairs %v, %d instances, %d kills (%d during delivery), "+
		"%d deliveries (%d console lines), %d duplicates (%d on Slack, %d with a new nonce), %d feed requests, "+
		"build %v, kills done at %v, total %v",
		crashPapers, nSources, len(expected), perChannel, nSlots, kills, midDelivery, lines, consoleLines, duplicates,
		slackDuplicates, nonceDuplicates, requests.Load(), buildTook.Round(time.Millisecond),
		killsDone.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// ownerPidRe reads the process id out of an instance's name (host:pid:random).
var ownerPidRe = regexp.MustCompile(`:(\d+):[0-9a-f]+$`)

// TestMultiInstanceFailover: of three instances on one database, the one holding the only source's lease is
// SIGKILLed right after it polled; another instance takes the source over and polls it within the bound,
// max(interval, 60 s), here checked against a generous deadline. `/papers sources` then names the new poller.
func TestMultiInstanceFailover(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	bin := buildPaperboy(t)
	var requests atomic.Int32
	feedSrv := httptest.NewServer(feedHandler(crashFeed(20), &requests))
	defer feedSrv.Close()
	ins := newInstances(t, 3, dbURL, func(int) string {
		return fmt.Sprintf("[[sources]]\nname = \"arxiv\"\nkind = \"arxiv\"\nurl = %q\ninterval = \"1m\"\n", feedSrv.URL+"/rss/cs.LG")
	})
	for _, in := range ins {
		in.start(t, bin)
	}
	db := connectDB(t, dbURL)
	holder := func() (string, *instance) {
		var owner string
		err := db.QueryRow(t.Context(), `SELECT lease_owner FROM source_leases WHERE source = 'arxiv' AND lease_until > $1`,
			time.Now().UnixNano()).Scan(&owner)
		if err != nil {
			return "", nil
		}
		m := ownerPidRe.FindStringSubmatch(owner)
		for _, in := range ins {
			if m != nil && in.cmd.ProcessState == nil && fmt.Sprint(in.cmd.Process.Pid) == m[1] {
				return owner, in
			}
		}
		return owner, nil
	}
	deadline := time.Now().Add(60 * time.Second)
	var owner string
	var victim *instance
	for {
		owner, victim = holder()
		if victim != nil && requests.Load() > 0 {
			if data, _ := os.ReadFile(victim.log.Name()); bytes.Contains(data, []byte("msg=polled")) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no instance held the source and polled it within 60s (lease owner %q)\n%s", owner, logTails(ins))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := victim.kill(); err != nil {
		t.Fatalf("%v\n%s", err, logTails(ins))
	}
	killed := time.Now()
	before := requests.Load()

	// The bound is max(interval, 60 s) = 60 s after the kill; twice that is the deadline, so that a slow machine
	// does not fail the test while a poller that never takes over does.
	const bound = 60 * time.Second
	for requests.Load() == before {
		if time.Since(killed) > 2*bound {
			t.Fatalf("no instance polled the source within %v of killing its holder %s\n%s", 2*bound, owner, logTails(ins))
		}
		time.Sleep(100 * time.Millisecond)
	}
	tookOver := time.Since(killed)
	newOwner, survivor := holder()
	for survivor == nil && time.Since(killed) < 2*bound {
		time.Sleep(100 * time.Millisecond)
		newOwner, survivor = holder()
	}
	if survivor == nil || survivor == victim {
		t.Fatalf("after the failover the source is leased to %q, want one of the surviving instances\n%s", newOwner, logTails(ins))
	}
	// /papers sources reads the last poller from the store; wait for the new holder's poll to be recorded.
	var out []byte
	for {
		cmd := exec.CommandContext(t.Context(), bin, "cmd", "--config", ins[0].cfg, "--channel", "console:ops", "--", "sources")
		cmd.Env = ins[0].env
		var err error
		out, err = cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("paperboy cmd /papers sources: %v\n%s", err, out)
		}
		if bytes.Contains(out, []byte(newOwner)) || time.Since(killed) > 2*bound {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !bytes.Contains(out, []byte(newOwner)) {
		t.Errorf("/papers sources does not name the new poller %s:\n%s", newOwner, out)
	}
	for _, in := range ins {
		if in != victim {
			if err := in.stop(); err != nil {
				t.Fatalf("%v\n%s", err, logTails(ins))
			}
		}
	}
	t.Logf("holder %s killed; %s polled the source %v later (bound %v)", owner, newOwner, tookOver.Round(time.Second), bound)
}
