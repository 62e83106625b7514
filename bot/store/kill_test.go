package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// helperEnv selects what TestHelperProcess does in a re-executed test binary: "<role>:<database path>".
const helperEnv = "PAPERBOY_STORE_HELPER"

// helperReady is the line the crash child prints once batch 2 is written but not committed.
const helperReady = "READY-TO-COMMIT"

// killBatch returns crash-test batch n: enough papers with long abstracts that the uncommitted batch 2 spills
// pages into the WAL before the kill.
func killBatch(n, size int) []paper.Paper {
	out := make([]paper.Paper, size)
	for i := range out {
		id := fmt.Sprintf("2609.%05d", n*10000+i)
		out[i] = arxiv(id, t0.Add(time.Duration(n*10000+i)*time.Second), paper.AnnounceNew,
			fmt.Sprintf("Batch %d paper %d", n, i), strings.Repeat(fmt.Sprintf("abstract words of batch%d paper%d ", n, i), 60), "cs.LG")
		out[i].Sources = []string{"crash"}
	}
	return out
}

// TestHelperProcess is not a test: it is the body of child processes that the kill test and the benchmarks start
// by re-executing the test binary with helperEnv set. Run normally, it returns at once.
func TestHelperProcess(t *testing.T) {
	role, path, ok := strings.Cut(os.Getenv(helperEnv), ":")
	if !ok {
		return
	}
	var err error
	switch role {
	case "crash":
		err = crashChild(path)
	case "build":
		err = buildCorpus(context.Background(), path, testkit.CorpusSize())
	default:
		err = fmt.Errorf("unknown helper role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// crashChild commits batch 1, then writes batch 2 and, just before its COMMIT, tells the parent and waits to be
// killed (or for stdin to close, should the parent die first).
func crashChild(path string) error {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		return err
	}
	if _, err := s.Ingest(ctx, "crash", killBatch(1, 300), map[string]paper.Validators{"https://feed/1": {ETag: `"1"`}}, t0); err != nil {
		return err
	}
	// A tiny page cache forces SQLite to spill batch 2's dirty pages into the WAL before COMMIT, so the kill hits
	// a WAL that holds uncommitted frames, the case recovery must get right. w has a single connection, so the
	// pragma applies to the connection Ingest uses.
	if _, err := s.w.ExecContext(ctx, "PRAGMA cache_size = 10"); err != nil {
		return err
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		return err
	}
	fmt.Println(fi.Size())
	s.beforeCommit = func(context.Context) error {
		fmt.Println(helperReady)
		_, _ = io.Copy(io.Discard, os.Stdin)
		return errors.New("parent closed stdin instead of killing")
	}
	_, err = s.Ingest(ctx, "crash", killBatch(2, 1000), map[string]paper.Validators{"https://feed/1": {ETag: `"2"`}}, t0.Add(time.Hour))
	return err
}

func TestIngestSurvivesSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=crash:"+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child prints the WAL size after batch 1, then helperReady.
	sc := bufio.NewScanner(stdout)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if sc.Text() == helperReady {
			break
		}
	}
	if len(lines) != 2 || lines[1] != helperReady {
		_ = cmd.Wait()
		t.Fatalf("child output %q: it did not reach the commit of batch 2", lines)
	}
	walAfterBatch1, err := strconv.ParseInt(lines[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// Batch 2's frames must be in the WAL, uncommitted, for the kill to test recovery rather than nothing.
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() <= walAfterBatch1 {
		t.Errorf("WAL before the kill: %v, %v; want it larger than after batch 1 (%d bytes)", fi, err, walAfterBatch1)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred function, no rollback, no close.
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	checkIntegrity(t, s)
	for _, want := range killBatch(1, 300) {
		got, ok, err := paperByKey(t.Context(), s, want.Key)
		if err != nil || !ok {
			t.Fatalf("batch 1 paper %s lost: %v, %v", want.Key, ok, err)
		}
		if jsonOf(t, got) != jsonOf(t, want) {
			t.Fatalf("batch 1 paper %s changed:\n got %s\nwant %s", want.Key, jsonOf(t, got), jsonOf(t, want))
		}
	}
	if n, err := countPapers(t.Context(), s); err != nil || n != 300 {
		t.Errorf("Count = %d, %v; want 300 (batch 1 only)", n, err)
	}
	if ps, err := searchWords(t.Context(), s, []string{"batch2"}, 0); err != nil || len(ps) != 0 {
		t.Errorf("batch 2 in the index: %d papers, %v", len(ps), err)
	}
	if v, err := s.Validators(t.Context(), "crash"); err != nil || v["https://feed/1"].ETag != `"1"` {
		t.Errorf("validators = %v, %v; want batch 1's", v, err)
	}
	if st, err := s.SourceStates(t.Context()); err != nil || len(st) != 1 || st[0].Papers != 300 || st[0].Polls != 1 {
		t.Errorf("source state = %+v, %v; want batch 1's", st, err)
	}
}
