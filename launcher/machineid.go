package launcher

import (
	"os"
	"path/filepath"
	"strings"
)

// machineID returns a stable identifier of this machine for the host label
// of the orphan sweep: the operating system's machine id where there is one
// (see platformMachineID), else an id generated once and kept in the user's
// config directory, else the hostname. Unlike the hostname, which macOS
// changes between networks, it stays the same across launches, so a sweep
// recognises its own machine's orphans.
func machineID() string {
	if id := platformMachineID(); id != "" {
		return id
	}
	if id := storedMachineID(); id != "" {
		return id
	}
	h, _ := os.Hostname()
	return h
}

// storedMachineID reads, or generates and stores, an id in
// os.UserConfigDir()/mcp-sandbox/machine-id.
func storedMachineID() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	file := filepath.Join(dir, "mcp-sandbox", "machine-id")
	if b, err := os.ReadFile(file); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id
		}
	}
	id := randomHex(16)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return ""
	}
	// Two launchers may race here: the one whose file lands last wins, and
	// the loser reads it back, so both use the same id.
	tmp := file + "." + randomHex(4)
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return ""
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return ""
	}
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b))
	}
	return id
}

// cleanMachineID trims and validates an id read from the system: it must be
// non-empty and fit in a label value.
func cleanMachineID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 128 || strings.ContainsAny(s, " \t\n\"") {
		return ""
	}
	return s
}

// parseIORegUUID finds the value of "IOPlatformUUID" in the output of
// `ioreg -rd1 -c IOPlatformExpertDevice`, a line like
//
//	"IOPlatformUUID" = "564D8E3A-…"
func parseIORegUUID(out string) string {
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != `"IOPlatformUUID"` {
			continue
		}
		return strings.Trim(strings.TrimSpace(v), `"`)
	}
	return ""
}
