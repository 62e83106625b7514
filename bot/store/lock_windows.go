//go:build windows

package store

import (
	"os"

	"golang.org/x/sys/windows"
)

// errWouldBlock is what lockFile returns when another process holds the lock.
const errWouldBlock = windows.ERROR_LOCK_VIOLATION

// lockOffsetHigh places the one locked byte far past the holder description: Windows locks are mandatory, and a
// locked range could not be read by the second process that wants to say who holds it.
const lockOffsetHigh = 0x7fffffff

// lockFile takes an exclusive lock on f without waiting; Windows releases it when the process exits.
func lockFile(f *os.File) error {
	ol := windows.Overlapped{OffsetHigh: lockOffsetHigh}
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
}

func unlockFile(f *os.File) error {
	ol := windows.Overlapped{OffsetHigh: lockOffsetHigh}
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
