package launcher

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseIORegUUID(t *testing.T) {
	out := `+-o J314sAP  <class IOPlatformExpertDevice, id 0x100000235, registered, matched, active, busy 0 (0 ms), retain 32>
    {
      "IOPlatformSerialNumber" = "C02XXXXXXX"
      "IOPlatformUUID" = "564D8E3A-1B2C-4D5E-8F90-0A1B2C3D4E5F"
      "model" = <"MacBookPro18,3">
    }
`
	if got, want := cleanMachineID(parseIORegUUID(out)), "564d8e3a-1b2c-4d5e-8f90-0a1b2c3d4e5f"; got != want {
		t.Errorf("parseIORegUUID = %q, want %q", got, want)
	}
	if got := parseIORegUUID("no uuid here\n"); got != "" {
		t.Errorf("parseIORegUUID without the key = %q", got)
	}
}

// TestStoredMachineID: the generated id is stored once and read back, so
// every launcher on the machine labels with the same id.
func TestStoredMachineID(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	t.Setenv("AppData", dir)
	first := storedMachineID()
	if first == "" {
		t.Fatal("no id generated")
	}
	if again := storedMachineID(); again != first {
		t.Errorf("second call = %q, want the stored %q", again, first)
	}
	cfg, _ := os.UserConfigDir()
	if b, err := os.ReadFile(filepath.Join(cfg, "mcp-sandbox", "machine-id")); err != nil || string(b) != first+"\n" {
		t.Errorf("stored file = %q, %v", b, err)
	}
}

func TestMachineIDStable(t *testing.T) {
	if a, b := machineID(), machineID(); a == "" || a != b {
		t.Errorf("machineID() = %q then %q", a, b)
	}
}
