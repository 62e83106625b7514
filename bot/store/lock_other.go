//go:build !unix && !windows

package store

import (
	"errors"
	"os"
)

// errWouldBlock is never returned here: see lockFile.
var errWouldBlock = errors.New("lock held elsewhere")

// lockFile cannot lock on this system (no flock or LockFileEx); the lock file still names the last holder, and
// running one bot per file is up to the operator.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
