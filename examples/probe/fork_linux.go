package main

import (
	"sync"
	"syscall"
	"time"
)

// prewarmWorkers is how many OS threads prewarmThreads makes sure exist.
const prewarmWorkers = 4

// childSysProcAttr has the kernel kill a fork child if the probe dies before
// it could kill the child itself.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// prewarmThreads parks several goroutines in blocking system calls at once,
// which makes the runtime start an OS thread for each. The runtime keeps idle
// threads, so later hand-offs reuse them instead of creating threads while a
// pids limit is exhausted (a failed thread creation is fatal to the runtime).
func prewarmThreads() {
	var wg sync.WaitGroup
	for range prewarmWorkers {
		wg.Go(func() {
			ts := syscall.NsecToTimespec(int64(20 * time.Millisecond))
			_ = syscall.Nanosleep(&ts, nil)
		})
	}
	wg.Wait()
}
