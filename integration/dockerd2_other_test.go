//go:build !linux

package integration

import "os"

// detachUnmount does nothing: the second engine (a dockerd) runs on Linux
// only, and its tests skip elsewhere.
func detachUnmount(string) {}

// killPID kills process pid.
func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
