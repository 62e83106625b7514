//go:build unix

package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
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
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/filters"
	"github.com/paperboy-bot/paperboy/sources"
)

// slackCrashChannels are the fake-Slack channels of TestCrashRestartSlack: more than the default worker count, so
// that every worker has a channel to send to and a kill finds up to that many sends in flight.
var slackCrashChannels = []string{"C0BOUND01", "C0BOUND02", "C0BOUND03", "C0BOUND04", "C0BOUND05", "C0BOUND06"}

const (
	// slackCrashPapers is how many papers each Slack channel gets: Slack's limit of one message a second per
	// channel makes each channel's delivery last about that many seconds.
	slackCrashPapers = 5
	// slackCrashDelay is how long the fake Slack takes to answer a post it has already taken: most of the second
	// a channel waits between posts, so that a kill usually finds every worker's send in flight.
	slackCrashDelay = 700 * time.Millisecond
	slackCrashKills = 8
)

// TestCrashRestartSlack is the stated crash bound with the Slack adapter and the default worker count: the real
// binary posts to a fake Slack Web API (chat.postMessage) that takes each post at once and answers later, and is
// SIGKILLed at random moments during delivery and restarted. Slack has no idempotency key, so a post Slack took
// but the bot had not recorded is posted again after the restart: each kill may repeat at most one message per
// worker (delivery.DefaultWorkers), never more, and no paper is lost.
func TestCrashRestartSlack(t *testing.T) {
	t.Parallel()
	start := time.Now()
	dir := t.TempDir()
	bin := buildPaperboy(t)

	feed := crashFeed(slackCrashPapers)
	papers, err := sources.ParseArxivFeed(feed)
	if err != nil {
		t.Fatal(err)
	}
	expected := map[slackPost]bool{}
	for _, ch := range slackCrashChannels {
		for _, p := range papers {
			expected[slackPost{ch, p.Key}] = true
		}
	}
	const everything = "cat:cs.* OR cat:stat.* OR cat:q-bio.* OR cat:eess.* OR cat:physics.* OR cat:math.*"
	q, err := filters.Parse(everything)
	if err != nil {
		t.Fatal(err)
	}
	for i := range papers {
		if _, ok := q.Match(&papers[i]); !ok {
			t.Fatalf("paper %s does not match %q", papers[i].Key, everything)
		}
	}

	var requests atomic.Int32
	feedSrv := httptest.NewServer(feedHandler(feed, &requests))
	defer feedSrv.Close()
	const token = "xoxb-crash-bound"
	slackSrv, posts := fakeSlack(t, token, slackCrashDelay)

	var cfg strings.Builder
	// No [delivery] workers: the default count is what the bound is about.
	fmt.Fprintf(&cfg, "[store]\npath = %q\n[log]\nlevel = \"info\"\n[fetch]\nallow_private_networks = true\n[delivery]\nhourly_budget = -1\n", filepath.Join(dir, "paperboy.db"))
	fmt.Fprintf(&cfg, "[slack]\nmode = \"http\"\nlisten = \"127.0.0.1:0\"\napi_url = \"%s/api/\"\n", slackSrv.URL)
	fmt.Fprintf(&cfg, "[[sources]]\nname = \"arxiv\"\nkind = \"arxiv\"\ncategories = [\"cs.LG\"]\nurl = %q\ninterval = \"1h\"\n", feedSrv.URL+"/rss/cs.LG")
	for _, ch := range slackCrashChannels {
		fmt.Fprintf(&cfg, "[[channels]]\nplatform = \"slack\"\nid = %q\nsubscriptions = [%q]\n", ch, everything)
	}
	in := newCrashInstance(t, dir, cfg.String(), "SLACK_BOT_TOKEN="+token, "SLACK_SIGNING_SECRET=crash-bound-secret")

	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("kill timings seed %d (rerun with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	// ends[i] is how many posts the fake had taken when run i+1 started: posts before it belong to runs up to i.
	var ends []int
	for i := range slackCrashKills {
		in.start(t, bin)
		time.Sleep(time.Duration(400+rng.IntN(1201)) * time.Millisecond)
		if err := in.kill(); err != nil {
			t.Fatalf("%v\n%s", err, logTails([]*instance{in}))
		}
		// A post whose request was on the wire when the process died may still arrive: give it a moment.
		time.Sleep(50 * time.Millisecond)
		ends = append(ends, len(posts()))
		t.Logf("kill %d: %d posts so far", i+1, ends[i])
	}
	in.start(t, bin)
	deadline := time.Now().Add(90 * time.Second)
	for countPosted(posts(), expected) < len(expected) {
		if time.Now().After(deadline) {
			t.Fatalf("after the last restart only %d of %d (channel, paper) pairs were posted within 90s\n%s",
				countPosted(posts(), expected), len(expected), logTails([]*instance{in}))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := in.stop(); err != nil {
		t.Fatalf("%v\n%s", err, logTails([]*instance{in}))
	}
	all := posts()
	ends = append(ends, len(all))

	// A repeated post is charged to the kill that ended the run of the copy before it: that run's process died
	// after Slack took the copy and before the bot recorded it.
	runOf := func(i int) int { return sort.SearchInts(ends, i+1) }
	last := map[slackPost]int{}
	perKill := make([]int, slackCrashKills+1)
	for i, p := range all {
		if !expected[p] {
			t.Errorf("unexpected post of %s to %s", p.key, p.channel)
			continue
		}
		if prev, ok := last[p]; ok {
			perKill[runOf(prev)]++
		}
		last[p] = i
	}
	if missing := len(expected) - len(last); missing > 0 {
		t.Errorf("%d (channel, paper) pairs never posted", missing)
	}
	if perKill[slackCrashKills] > 0 {
		t.Errorf("%d posts repeated after the clean SIGTERM stop, want none", perKill[slackCrashKills])
	}
	bound := delivery.DefaultWorkers
	total, worst := 0, 0
	for i, n := range perKill[:slackCrashKills] {
		total += n
		worst = max(worst, n)
		if n > bound {
			t.Errorf("kill %d repeated %d posts, more than the stated bound of one per worker (%d)", i+1, n, bound)
		}
	}
	// Every repeat was announced: the restarted bot saw the row in flight and warned before sending it again.
	logData, err := os.ReadFile(filepath.Join(dir, "paperboy.log"))
	if err != nil {
		t.Fatal(err)
	}
	warned := bytes.Count(logData, []byte("msg=\"sending again a message that was in flight"))
	if warned < total {
		t.Errorf("%d in-flight warnings for %d repeated posts; every repeat must be warned about", warned, total)
	}
	t.Logf("%d channels x %d papers = %d pairs, %d kills, %d posts, %d repeated (per kill %v, worst %d, bound %d), "+
		"%d in-flight warnings, fake Slack answer delay %v, total %v", len(slackCrashChannels), len(papers), len(expected),
		slackCrashKills, len(all), total, perKill[:slackCrashKills], worst, bound, warned, slackCrashDelay,
		time.Since(start).Round(time.Millisecond))
}

// countPosted counts the expected pairs posted at least once.
func countPosted(posts []slackPost, expected map[slackPost]bool) int {
	seen := map[slackPost]bool{}
	for _, p := range posts {
		if expected[p] {
			seen[p] = true
		}
	}
	return len(seen)
}

// newCrashInstance is one bot process's configuration, log and environment in dir.
func newCrashInstance(t *testing.T, dir, cfg string, env ...string) *instance {
	t.Helper()
	cfgPath := filepath.Join(dir, "paperboy.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "paperboy.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	in := &instance{slot: 1, cfg: cfgPath, env: append(os.Environ(), env...), log: logFile}
	t.Cleanup(func() {
		if in.cmd != nil && in.cmd.ProcessState == nil {
			_ = in.cmd.Process.Kill() // a failed test's process; it may be gone already
			_ = in.cmd.Wait()
		}
	})
	return in
}

// discordMessage is one message the fake Discord created.
type discordMessage struct {
	id, channel, nonce string
	keys               []string
}

// fakeDiscordREST is Discord's REST API as paperboy's http mode uses it: command registration, and channel
// messages with Discord's nonce rule (enforce_nonce: a nonce seen from the same author within a few minutes
// returns the message it created, and creates none). hold makes the next message post hang after the message
// was created, as when the response is lost or the process dies before reading it; held is closed then.
type fakeDiscordREST struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	messages []discordMessage
	received []discordMessage // every message post, deduplicated or not
	byNonce  map[string]discordMessage
	hold     bool
	held     chan struct{}
}

var discordMessagesPath = regexp.MustCompile(`^/api/v10/channels/(\d+)/messages$`)

func newFakeDiscordREST(t *testing.T) *fakeDiscordREST {
	f := &fakeDiscordREST{t: t, byNonce: map[string]discordMessage{}, held: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDiscordREST) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bot crash-bound-discord" {
		f.t.Errorf("discord request %s %s without the bot token", r.Method, r.URL.Path)
		http.Error(w, `{"message": "401: Unauthorized", "code": 0}`, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/commands") {
		fmt.Fprint(w, "[]")
		return
	}
	m := discordMessagesPath.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodPost || m == nil {
		f.t.Errorf("unexpected discord request %s %s", r.Method, r.URL.Path)
		http.Error(w, `{"message": "404: Not Found", "code": 0}`, http.StatusNotFound)
		return
	}
	var body struct {
		Nonce        string `json:"nonce"`
		EnforceNonce bool   `json:"enforce_nonce"`
		Embeds       []struct {
			URL string `json:"url"`
		} `json:"embeds"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("discord message body: %v", err)
		http.Error(w, `{"message": "Invalid Form Body", "code": 50035}`, http.StatusBadRequest)
		return
	}
	msg := discordMessage{channel: m[1], nonce: body.Nonce}
	for _, e := range body.Embeds {
		if id := arxivAbsRe.FindStringSubmatch(e.URL); id != nil {
			msg.keys = append(msg.keys, "arxiv:"+id[1])
		}
	}
	slices.Sort(msg.keys)
	f.mu.Lock()
	f.received = append(f.received, msg)
	if prev, ok := f.byNonce[body.Nonce]; ok && body.EnforceNonce && body.Nonce != "" {
		msg = prev
	} else {
		msg.id = fmt.Sprintf("%d", 9000+len(f.messages))
		f.messages = append(f.messages, msg)
		if body.Nonce != "" {
			f.byNonce[body.Nonce] = msg
		}
	}
	hold := f.hold
	f.hold = false
	f.mu.Unlock()
	if hold {
		close(f.held)
		<-r.Context().Done() // the client went away without its answer
		return
	}
	fmt.Fprintf(w, `{"id": %q, "channel_id": %q, "nonce": %q, "type": 0}`, msg.id, msg.channel, msg.nonce)
}

func (f *fakeDiscordREST) snapshot() (created, received []discordMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.messages), slices.Clone(f.received)
}

// TestCrashDigestDiscordOnce: a Discord digest whose send a SIGKILL interrupts after Discord created the message is
// posted once, even though more papers joined the channel's outbox before the restart. The restarted bot sends
// the interrupted digest again with the same papers and nonce (Discord returns the message it created) and the
// new papers in a digest of their own.
func TestCrashDigestDiscordOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := buildPaperboy(t)

	// Backfill takes papers published within the last days: date the feed today.
	oldDay := time.Date(2026, 9, 24, 0, 0, 0, 0, time.FixedZone("EDT", -4*3600)).Format(time.RFC1123Z)
	feed := bytes.ReplaceAll(crashFeed(40), []byte(oldDay), []byte(time.Now().Add(-time.Hour).Format(time.RFC1123Z)))
	papers, err := sources.ParseArxivFeed(feed)
	if err != nil {
		t.Fatal(err)
	}
	const subA, subB = "cat:cs.CV", "cat:eess.IV"
	matching := func(query string) map[string]bool {
		q, err := filters.Parse(query)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for i := range papers {
			if _, ok := q.Match(&papers[i]); ok {
				out[papers[i].Key] = true
			}
		}
		return out
	}
	first, second := matching(subA), matching(subB)
	for k := range first {
		delete(second, k)
	}
	// Every card of a digest is visible (digest_cards = 10) only up to 10 papers.
	if len(first) == 0 || len(first) > 10 || len(second) == 0 || len(second) > 10 {
		t.Fatalf("the subscriptions match %d and %d more papers; the test wants 1 to 10 each", len(first), len(second))
	}

	var requests atomic.Int32
	feedSrv := httptest.NewServer(feedHandler(feed, &requests))
	defer feedSrv.Close()
	discord := newFakeDiscordREST(t)
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	const ch = "discord:424242"
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[store]\npath = %q\n[log]\nlevel = \"info\"\n[fetch]\nallow_private_networks = true\n[delivery]\ndigest_cards = 10\n", filepath.Join(dir, "paperboy.db"))
	fmt.Fprintf(&cfg, "[discord]\nmode = \"http\"\nlisten = \"127.0.0.1:0\"\npublic_key = %q\napplication_id = \"100000000000000000\"\napi_url = \"%s/api/v10/\"\n",
		hex.EncodeToString(pub), discord.srv.URL)
	fmt.Fprintf(&cfg, "[[sources]]\nname = \"arxiv\"\nkind = \"arxiv\"\ncategories = [\"cs.LG\"]\nurl = %q\ninterval = \"1h\"\n", feedSrv.URL+"/rss/cs.LG")
	in := newCrashInstance(t, dir, cfg.String(), "DISCORD_BOT_TOKEN=crash-bound-discord")
	paperboy := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, append([]string{args[0], "--config", in.cfg}, args[1:]...)...)
		cmd.Env = in.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("paperboy %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// The papers are stored before the channel subscribes, so only a backfill brings them to it.
	paperboy("poll", "--once")
	paperboy("cmd", "--channel", ch, "--manager", "--", "subscribe", subA)
	paperboy("cmd", "--channel", ch, "--manager", "--", "backfill", "2")

	discord.mu.Lock()
	discord.hold = true
	discord.mu.Unlock()
	in.start(t, bin)
	select {
	case <-discord.held:
	case <-time.After(30 * time.Second):
		t.Fatalf("the backfill digest was not posted within 30s\n%s", logTails([]*instance{in}))
	}
	if err := in.kill(); err != nil {
		t.Fatalf("%v\n%s", err, logTails([]*instance{in}))
	}

	// More papers join the channel's outbox before the restart.
	paperboy("cmd", "--channel", ch, "--manager", "--", "subscribe", subB)
	paperboy("cmd", "--channel", ch, "--manager", "--", "backfill", "2")
	in.start(t, bin)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, received := discord.snapshot(); len(received) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			_, received := discord.snapshot()
			t.Fatalf("after the restart the fake Discord got %d message posts within 30s, want 3\n%s", len(received),
				logTails([]*instance{in}))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := in.stop(); err != nil {
		t.Fatalf("%v\n%s", err, logTails([]*instance{in}))
	}

	created, received := discord.snapshot()
	keys := func(set map[string]bool) []string { return slices.Sorted(maps.Keys(set)) }
	if len(received) != 3 {
		t.Errorf("%d message posts, want 3 (the digest, its resend after the kill, the new papers)", len(received))
	}
	if len(created) != 2 {
		t.Errorf("%d messages created, want 2: %+v", len(created), created)
	}
	if len(created) > 0 && !slices.Equal(created[0].keys, keys(first)) {
		t.Errorf("first message shows %v, want the interrupted digest %v", created[0].keys, keys(first))
	}
	if len(created) > 1 && !slices.Equal(created[1].keys, keys(second)) {
		t.Errorf("second message shows %v, want only the papers that joined after the kill %v", created[1].keys, keys(second))
	}
	if len(received) > 1 && (received[1].nonce != received[0].nonce || !slices.Equal(received[1].keys, received[0].keys)) {
		t.Errorf("the resend after the kill has nonce %q and %v, want the interrupted digest's %q and %v",
			received[1].nonce, received[1].keys, received[0].nonce, received[0].keys)
	}
	t.Logf("digest of %d papers interrupted, %d papers joined; posts %+v, messages created %d", len(first), len(second),
		received, len(created))
}
