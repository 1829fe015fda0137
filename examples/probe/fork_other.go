//go:build !linux

package main

import "syscall"

// childSysProcAttr returns nil: only Linux can tie a child's life to ours.
func childSysProcAttr() *syscall.SysProcAttr { return nil }

// prewarmThreads does nothing off Linux, where no pids cgroup applies.
func prewarmThreads() {}
