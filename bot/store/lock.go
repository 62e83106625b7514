package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ErrLocked is the error Lock returns (as a *LockedError) when another process holds the store's lock.
var ErrLocked = errors.New("the store is in use by another paperboy")

// Holder describes the process holding a store's lock, as it wrote itself into the lock file.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	Command string    `json:"command,omitempty"`
}

// String is "pid 1234 on host h, started 2026-12-01T10:00:00Z (paperboy run)", leaving out what is unknown.
func (h Holder) String() string {
	var parts []string
	if h.PID > 0 {
		p := fmt.Sprintf("pid %d", h.PID)
		if h.Host != "" {
			p += " on host " + h.Host
		}
		parts = append(parts, p)
	}
	if !h.Started.IsZero() {
		parts = append(parts, "started "+h.Started.Format(time.RFC3339))
	}
	s := strings.Join(parts, ", ")
	if h.Command != "" {
		s += " (" + h.Command + ")"
	}
	return strings.TrimSpace(s)
}

// LockedError says which store is locked and, as far as the lock file tells, by whom.
type LockedError struct {
	Path   string // the lock file
	Holder Holder // zero when the holder has not written itself in yet
}

func (e *LockedError) Error() string {
	who := e.Holder.String()
	if who == "" {
		who = "a process that has not said which yet"
	}
	return fmt.Sprintf("%v: %s is held by %s; two bots on one SQLite file would post every paper twice, so stop "+
		"that one first (a lock left by a process that died is released by the system, never by hand)", ErrLocked, e.Path, who)
}

// Unwrap lets errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock is an exclusive lock on a store, held by this process until Close (or until it exits or dies: the
// operating system releases it with the process, so a crash never leaves a stale lock behind).
type Lock struct {
	f *os.File
}

// LockPath is the lock file of the store at path: a sibling "<path>.lock".
func LockPath(path string) string { return path + ".lock" }

// AcquireLock takes the exclusive lock of the store at path for this process's whole life, and writes who holds
// it into the lock file (pid, host, start time and command), so that a second `paperboy run` on the same file can
// say whom it found. When another process holds it, the error is a *LockedError naming that process.
//
// Only one long-running bot may use a SQLite file: its channel leases carry a fixed owner (so that a restart
// after a crash takes them back at once), so two bots would both send every paper. Look-ups and commands do not
// take the lock and keep working next to a running bot.
func AcquireLock(path, command string) (*Lock, error) {
	lp := LockPath(path)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock the store: %w", err) // err names the lock file: "open FILE.lock: ..."
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &LockedError{Path: lp, Holder: readHolder(lp)}
		}
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	host, _ := os.Hostname()
	data, _ := json.Marshal(Holder{PID: os.Getpid(), Host: host, Started: time.Now().UTC().Truncate(time.Second), Command: command})
	// The lock, not the content, is what excludes; a failed write only leaves a second process less to say.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(data, '\n'), 0)
	}
	return &Lock{f: f}, nil
}

// readHolder reads the holder a lock file names; a zero Holder when it cannot (being written, or unreadable).
func readHolder(lp string) Holder {
	var h Holder
	data, err := os.ReadFile(lp)
	if err == nil {
		_ = json.Unmarshal(data, &h)
	}
	return h
}

// Close empties the lock file (a stale description would mislead) and releases the lock. The file itself stays:
// deleting it would let a process that opened it just before lock a file no longer on disk while a third creates
// and locks a new one.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := errors.Join(unlockFile(l.f), l.f.Close())
	l.f = nil
	return err
}
