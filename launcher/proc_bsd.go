//go:build unix && !linux && !darwin

package launcher

// procStartTime is not read on this platform: liveness rests on the pid.
func procStartTime(pid int) (string, bool) { return "", false }

// platformMachineID has no source here; machineID falls back to a stored id.
func platformMachineID() string { return "" }
