package launcher

import (
	"context"
	"os/exec"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// procStartTime returns the process start time from sysctl kern.proc.pid,
// in microseconds since the epoch: macOS has no /proc.
func procStartTime(pid int) (string, bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || kp.Proc.P_pid != int32(pid) {
		return "", false
	}
	tv := kp.Proc.P_starttime
	return strconv.FormatInt(int64(tv.Sec)*1e6+int64(tv.Usec), 10), true
}

// platformMachineID is the hardware's IOPlatformUUID, as `ioreg` reports
// it; the hostname changes between networks on macOS.
func platformMachineID() string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice").Output()
	if err != nil {
		return ""
	}
	return cleanMachineID(parseIORegUUID(string(out)))
}
