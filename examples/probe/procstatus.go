package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// procStatus holds the security-relevant lines of /proc/self/status. The
// capability sets are kept as the kernel prints them: 16 hex digits.
type procStatus struct {
	CapEff     string
	CapPrm     string
	CapBnd     string
	NoNewPrivs bool
	// Seccomp is 0 (disabled), 1 (strict) or 2 (filter).
	Seccomp int
}

// readProcStatus reads /proc/self/status. Off Linux the file does not exist
// and the error says so.
func readProcStatus() (procStatus, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return procStatus{}, fmt.Errorf("read process status: %w", err)
	}
	defer f.Close()
	return parseProcStatus(f)
}

// parseProcStatus parses the "Key:\tvalue" lines of a /proc/PID/status file.
// Keys it does not know are ignored; a known key with a malformed value is an
// error, so a kernel format change is noticed rather than read as "no
// restrictions".
func parseProcStatus(r io.Reader) (procStatus, error) {
	var st procStatus
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "CapEff":
			st.CapEff = value
		case "CapPrm":
			st.CapPrm = value
		case "CapBnd":
			st.CapBnd = value
		case "NoNewPrivs":
			n, err := strconv.Atoi(value)
			if err != nil {
				return procStatus{}, fmt.Errorf("parse NoNewPrivs %q: %w", value, err)
			}
			st.NoNewPrivs = n != 0
		case "Seccomp":
			n, err := strconv.Atoi(value)
			if err != nil {
				return procStatus{}, fmt.Errorf("parse Seccomp %q: %w", value, err)
			}
			st.Seccomp = n
		}
	}
	if err := sc.Err(); err != nil {
		return procStatus{}, fmt.Errorf("read process status: %w", err)
	}
	return st, nil
}

// readCgroupLimit returns the trimmed content of the first readable of
// paths, cgroup interface files of this process's cgroup as its cgroup
// namespace shows them (such as "pids.max" under cgroup v2, "pids/pids.max"
// under v1), or "" when none can be read.
func readCgroupLimit(paths ...string) string {
	for _, p := range paths {
		if b, err := os.ReadFile("/sys/fs/cgroup/" + p); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}
