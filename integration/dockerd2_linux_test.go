package integration

import "syscall"

// detachUnmount lazily unmounts a mount the second engine left behind.
func detachUnmount(p string) { syscall.Unmount(p, syscall.MNT_DETACH) }

// killPID sends SIGKILL to pid.
func killPID(pid int) { syscall.Kill(pid, syscall.SIGKILL) }
