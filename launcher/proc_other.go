//go:build !unix && !windows

package launcher

// processAlive reports true: without a liveness check, the sweep never
// removes anything here rather than risk a live launcher's container.
func processAlive(pid int, start string) bool { return true }

// procStartTime is unknown on this platform.
func procStartTime(pid int) (string, bool) { return "", false }

// platformMachineID has no source here; machineID falls back to a stored id.
func platformMachineID() string { return "" }
