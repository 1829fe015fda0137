package launcher

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestContextMode(t *testing.T) {
	tests := []struct {
		goos       string
		mode, want int64
	}{
		{"windows", 0o666, 0o755}, // what Go reports for a file on Windows
		{"windows", 0o444, 0o555}, // a read-only file
		{"windows", 0o777, 0o755}, // a directory
		{"windows", 0o4666, 0o4755},
		{"linux", 0o644, 0o644},
		{"linux", 0o755, 0o755},
		{"darwin", 0o600, 0o600},
	}
	for _, tt := range tests {
		if got := contextMode(tt.goos, tt.mode); got != tt.want {
			t.Errorf("contextMode(%s, %o) = %o, want %o", tt.goos, tt.mode, got, tt.want)
		}
	}
}

// TestTarContextModes checks the modes of a real context's entries on this
// platform: an executable stays executable, and on Windows every file is.
func TestTarContextModes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "server"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarContext(&buf, dir, "Dockerfile"); err != nil {
		t.Fatal(err)
	}
	modes := map[string]int64{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		modes[h.Name] = h.Mode
	}
	want := map[string]int64{"server": 0o755, "data.txt": 0o644}
	if runtime.GOOS == "windows" {
		want["data.txt"] = 0o755
	}
	for name, m := range want {
		if modes[name] != m {
			t.Errorf("%s: mode %o, want %o", name, modes[name], m)
		}
	}
}
