package launcher

import (
	"os"
	"strconv"
)

// procStartTime returns field 22 of /proc/<pid>/stat, the process start time
// in clock ticks since boot. It reports false where /proc is missing.
func procStartTime(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	return parseStatStartTime(string(b))
}

// platformMachineID is systemd's machine id (or D-Bus's, where systemd is
// absent): stable across boots and network changes.
func platformMachineID() string {
	for _, f := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(f); err == nil {
			if id := cleanMachineID(string(b)); id != "" {
				return id
			}
		}
	}
	return ""
}
