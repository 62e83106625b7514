package store

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAcquireLock: the lock excludes a second holder (even in the same process: flock belongs to the open file),
// whose error names the first; Close releases it and empties the description.
func TestAcquireLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paperboy.db")
	first, err := AcquireLock(path, "paperboy run --config a.toml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(path, "paperboy run --config b.toml")
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
		t.Fatalf("second AcquireLock: %v, want a *LockedError", err)
	}
	host, _ := os.Hostname()
	t.Logf("refusal: %v", err)
	for _, want := range []string{path + ".lock", "pid " + strconv.Itoa(os.Getpid()), "on host " + host, "started 20", "(paperboy run --config a.toml)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(LockPath(path)); len(data) != 0 {
		t.Errorf("lock file after Close = %q, want empty", data)
	}
	again, err := AcquireLock(path, "paperboy run")
	if err != nil {
		t.Fatalf("AcquireLock after Close: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLockedErrorWithoutHolder: a holder that has not written itself in yet is still a clear refusal.
func TestLockedErrorWithoutHolder(t *testing.T) {
	err := &LockedError{Path: "/srv/paperboy.db.lock"}
	if !strings.Contains(err.Error(), "/srv/paperboy.db.lock is held by a process") {
		t.Errorf("error %q", err)
	}
}
