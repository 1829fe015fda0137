//go:build !unix

package launcher

// processAlive reports true: without a portable liveness check, the sweep
// never removes anything here rather than risk a live launcher's container.
func processAlive(pid int, start string) bool { return true }

// procStartTime is unknown on this platform.
func procStartTime(pid int) (string, bool) { return "", false }
