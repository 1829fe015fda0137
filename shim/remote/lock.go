package remote

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// fileLock is an exclusive, cross-process lock on LockDir/<server>.lock.
// It serializes "load tokens → maybe authorize → store" between two
// mcp-sandbox processes for the same server, which hosts start in parallel.
type fileLock struct{ f *os.File }

// acquireLock waits for the lock until ctx ends. onWait is called once if
// the lock is not free within a second.
func acquireLock(ctx context.Context, dir, server string, onWait func()) (*fileLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create lock directory: %w", err)
	}
	path := filepath.Join(dir, safeName(server)+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	start := time.Now()
	warned := false
	for {
		busy, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !busy {
			return &fileLock{f: f}, nil
		}
		if !warned && onWait != nil && time.Since(start) > time.Second {
			warned = true
			onWait()
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// release unlocks and closes the lock file.
func (l *fileLock) release() {
	_ = unlock(l.f)
	_ = l.f.Close()
}
