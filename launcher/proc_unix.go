//go:build unix

package launcher

import (
	"errors"
	"syscall"
)

// processAlive reports whether process pid exists and, when start is not
// empty and the start time can be read, started at start.
func processAlive(pid int, start string) bool {
	err := syscall.Kill(pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return false
	}
	// nil or EPERM: a process with this pid exists.
	if start != "" {
		if got, ok := procStartTime(pid); ok && got != start {
			return false
		}
	}
	return true
}
