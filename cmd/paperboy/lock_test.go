//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondRunRefusesToStart runs real binaries on one SQLite file: a second `paperboy run` (and `poll`'s loop)
// exits non-zero naming the running one, while search, cmd, check and poll --once keep working next to it; after
// the first is SIGKILLed (no clean shutdown), a new run starts, because the kernel released its lock.
func TestSecondRunRefusesToStart(t *testing.T) {
	bin := buildPaperboy(t)
	srv, _ := feedServer(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[[channels]]
platform = "console"
id = "lab"
subscriptions = ["neuroimaging"]
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
url = "%s/rss/cs.LG+cs.AI+cs.CL+stat.ML"
`, srv.URL))
	dbPath := filepath.Join(filepath.Dir(cfg), "paperboy.db")

	var firstOut syncBuffer
	first := exec.CommandContext(t.Context(), bin, "run", "--config", cfg)
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if first.ProcessState == nil {
			_ = first.Process.Kill()
			_ = first.Wait()
		}
	})
	// The first run is up once it has polled (it took the lock before opening the store).
	waitFor(t, "the first run to poll", func() bool { return strings.Contains(firstOut.String(), "polled") })

	exec1 := func(args ...string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append([]string{args[0], "--config", cfg}, args[1:]...)...).CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return code, string(out)
	}
	host, _ := os.Hostname()
	for _, args := range [][]string{{"run"}, {"poll"}} {
		t.Run("second "+args[0]+" refuses", func(t *testing.T) {
			code, out := exec1(args...)
			if code == 0 {
				t.Fatalf("%v started next to a running bot (exit 0):\n%s", args, out)
			}
			for _, want := range []string{dbPath + ".lock", "pid " + strconv.Itoa(first.Process.Pid), host, "started ", "run --config"} {
				if !strings.Contains(out, want) {
					t.Errorf("the refusal does not say %q:\n%s", want, out)
				}
			}
		})
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"search", []string{"search", "--", "neuroimaging"}, "arxiv:2205.06398"},
		{"cmd", []string{"cmd", "--channel", "console:lab", "--", "list"}, "neuroimaging"},
		{"check", []string{"check"}, "ok"},
		{"poll --once", []string{"poll", "--once"}, "arxiv-ml"},
	} {
		t.Run(tt.name+" works next to the bot", func(t *testing.T) {
			code, out := exec1(tt.args...)
			if code != 0 || !strings.Contains(out, tt.want) {
				t.Errorf("%v: exit %d, want 0 and %q:\n%s", tt.args, code, tt.want, out)
			}
		})
	}

	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	t.Run("a new run starts after the first was killed", func(t *testing.T) {
		var out syncBuffer
		next := exec.CommandContext(t.Context(), bin, "run", "--config", cfg)
		next.Stdout, next.Stderr = &out, &out
		if err := next.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- next.Wait() }()
		waitFor(t, "the new run to poll", func() bool {
			select {
			case err := <-exited:
				t.Fatalf("the new run exited (%v):\n%s", err, out.String())
			default:
			}
			return strings.Contains(out.String(), "polled")
		})
		if err := next.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := <-exited; err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, out.String())
		}
	})
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
