package launcher

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/rs/zerolog"
)

// maxStderrLine bounds one logged stderr line; the rest of a longer line is
// dropped, and so are the last stderrGuard bytes kept (see lineWriter).
const (
	maxStderrLine = 1 << 20
	stderrGuard   = 64 << 10
)

// errContainerClosed is what Stdout readers see after Close abandoned the
// rest of the output.
var errContainerClosed = errors.New("container closed")

// A Container is a started server container with its stdio attached.
// Its methods are safe for concurrent use.
type Container struct {
	id        string
	name      string
	server    string
	api       dockerAPI
	log       zerolog.Logger
	grace     time.Duration
	stopAfter time.Duration

	hj     types.HijackedResponse
	stdin  *stdinWriter
	stdout *demuxReader

	demuxDone chan struct{}

	waitCtx    context.Context
	waitCancel context.CancelFunc
	exited     chan struct{} // closed when ContainerWait answered
	exitCode   int64
	exitErr    error

	tail *stderrTail // the last stderr lines, for ExitReason

	// cleanups run after the container is removed (Files volumes, the
	// egress sidecar and network).
	cleanups []func(context.Context) error
	egress   *egressSidecar // nil without filtered egress

	closeOnce sync.Once
	closeErr  error
}

// newContainer wires the attach stream: stdout to the caller through a
// demultiplexing reader, stderr into the log.
func newContainer(l *Launcher, spec Spec, id, name string, hj types.HijackedResponse) *Container {
	waitCtx, waitCancel := context.WithCancel(context.Background())
	logger := l.log.With().Str("server", spec.Name).Str("stream", "stderr").Logger()
	redact := spec.Redact
	tail := &stderrTail{}
	stderr := newLineWriter(maxStderrLine, stderrGuard, func(line []byte) {
		s := string(line)
		if redact != nil {
			s = redact(s)
		}
		logger.Info().Msg(s)
		tail.add(s)
	})
	demuxDone := make(chan struct{})
	c := &Container{
		id:         id,
		name:       name,
		server:     spec.Name,
		api:        l.api,
		log:        l.log,
		grace:      l.grace,
		stopAfter:  l.stopAfter,
		hj:         hj,
		stdin:      &stdinWriter{hj: hj},
		stdout:     newDemuxReader(hj.Reader, stderr, demuxDone),
		demuxDone:  demuxDone,
		waitCtx:    waitCtx,
		waitCancel: waitCancel,
		exited:     make(chan struct{}),
		tail:       tail,
	}
	return c
}

// watchExit starts waiting for the container to stop running.
func (c *Container) watchExit() {
	go func() {
		defer close(c.exited)
		respC, errC := c.api.ContainerWait(c.waitCtx, c.id, container.WaitConditionNotRunning)
		select {
		case r := <-respC:
			c.exitCode = r.StatusCode
			if r.Error != nil && r.Error.Message != "" {
				c.exitErr = fmt.Errorf("wait %s: %s", shortID(c.id), r.Error.Message)
			}
		case err := <-errC:
			c.exitCode = -1
			c.exitErr = fmt.Errorf("wait %s: %w", shortID(c.id), err)
		}
	}()
}

// stopBackground ends the attach stream of a container that never started.
func (c *Container) stopBackground() {
	c.hj.Close()
	c.stdout.abandon()
	c.waitCancel()
}

// ID returns the container id.
func (c *Container) ID() string { return c.id }

// Name returns the container name, "mcp-sandbox-<server>-<random>".
func (c *Container) Name() string { return c.name }

// Stdin returns the container's stdin. Close half-closes the connection so
// that the server reads EOF; the rest of the stream stays open.
func (c *Container) Stdin() io.WriteCloser { return c.stdin }

// Stdout returns the container's stdout, demultiplexed from stderr. It ends
// with io.EOF when the container's output ends.
func (c *Container) Stdout() io.Reader { return c.stdout }

// Wait blocks until the container has exited and returns its exit code, or
// until ctx is done.
func (c *Container) Wait(ctx context.Context) (exitCode int64, err error) {
	select {
	case <-c.exited:
		return c.exitCode, c.exitErr
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Close tears the container down: it closes stdin, waits up to the stop grace
// for the server to exit, stops the container (SIGTERM, then SIGKILL after the
// stop timeout), drains stderr into the log and removes the container and its
// Files volumes. It runs on context.WithoutCancel(ctx) with its own timeout,
// so cleanup happens even when ctx is already cancelled. Close is idempotent;
// concurrent callers all wait for the one teardown and get its result.
func (c *Container) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
		defer cancel()
		c.closeErr = c.teardown(ctx)
	})
	return c.closeErr
}

func (c *Container) teardown(ctx context.Context) error {
	var errs []error
	_ = c.stdin.Close()
	// Whoever read stdout is done with it: from here on the rest of the
	// stream is drained in the background, so stderr keeps reaching the
	// log while the server shuts down, and a server blocked on an unread
	// stdout cannot hold up the engine's stop.
	c.stdout.abandon()

	// An exit code of -1 means ContainerWait itself failed: the container
	// may still be running.
	if ok := c.waitExit(ctx, c.grace); !ok || c.exitCode == -1 {
		secs := int(math.Ceil(c.stopAfter.Seconds()))
		if err := c.api.ContainerStop(ctx, c.id, container.StopOptions{Timeout: &secs}); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", shortID(c.id), err))
		}
		c.waitExit(ctx, c.stopAfter+5*time.Second)
	}

	// The server is gone; let the drain log the tail of stderr.
	select {
	case <-c.demuxDone:
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
	}
	c.hj.Close()
	c.waitCancel()

	if err := c.api.ContainerRemove(ctx, c.id, container.RemoveOptions{Force: true}); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", shortID(c.id), err))
	}
	for _, f := range c.cleanups {
		if err := f(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	select {
	case <-c.demuxDone:
	case <-ctx.Done():
	}
	return errors.Join(errs...)
}

// waitExit reports whether the container exited within d.
func (c *Container) waitExit(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.exited:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// stdinWriter writes to the hijacked connection; Close half-closes it.
type stdinWriter struct {
	hj     types.HijackedResponse
	closed atomic.Bool
	once   sync.Once
	err    error
}

func (w *stdinWriter) Write(p []byte) (int, error) {
	if w.closed.Load() {
		return 0, io.ErrClosedPipe
	}
	return w.hj.Conn.Write(p)
}

func (w *stdinWriter) Close() error {
	w.once.Do(func() {
		w.closed.Store(true)
		w.err = w.hj.CloseWrite()
	})
	return w.err
}

// A demuxReader hands the container's stdout to its reader and logs stderr,
// demultiplexing the attach stream in the reader's own goroutine: no pipe and
// no extra goroutine stand between the engine and the relay, which saves a
// hand-off per message. When the reader goes away (abandon), a goroutine of
// its own drains the rest, so stderr is still logged and a server blocked on
// an unread stdout does not hold up the engine's stop.
//
// The stream is the engine's: frames of an 8-byte header (stream, 0, 0, 0,
// big-endian length) and a payload, stdout and stderr interleaved.
type demuxReader struct {
	mu     sync.Mutex // one reader of r at a time: the caller, or the drain
	r      io.Reader
	stderr *lineWriter
	left   int // stdout bytes left in the current frame
	err    error
	hdr    [8]byte

	abandoned atomic.Bool
	drainOnce sync.Once
	done      chan struct{} // closed when the stream has ended
	doneOnce  sync.Once
}

func newDemuxReader(r io.Reader, stderr *lineWriter, done chan struct{}) *demuxReader {
	return &demuxReader{r: r, stderr: stderr, done: done}
}

// Read returns stdout bytes. It ends with io.EOF when the stream ends, and
// with errContainerClosed after abandon.
func (d *demuxReader) Read(p []byte) (int, error) {
	if d.abandoned.Load() {
		return 0, errContainerClosed
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.abandoned.Load() {
		return 0, errContainerClosed
	}
	return d.read(p)
}

// read is Read with d.mu held.
func (d *demuxReader) read(p []byte) (int, error) {
	for d.left == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if _, err := io.ReadFull(d.r, d.hdr[:]); err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			d.end(err)
			return 0, d.err
		}
		size := int(binary.BigEndian.Uint32(d.hdr[4:]))
		switch d.hdr[0] {
		case 0, 1: // stdin (as the engine labels some stdout), stdout
			d.left = size
		case 2: // stderr
			if _, err := io.CopyN(d.stderr, d.r, int64(size)); err != nil {
				d.end(err)
				return 0, d.err
			}
		default: // the engine's own error
			msg := make([]byte, size)
			if _, err := io.ReadFull(d.r, msg); err != nil {
				d.end(err)
				return 0, d.err
			}
			d.end(fmt.Errorf("engine: %s", msg))
			return 0, d.err
		}
	}
	n, err := d.r.Read(p[:min(len(p), d.left)])
	d.left -= n
	if err != nil && n == 0 {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		d.end(err)
		return 0, d.err
	}
	return n, nil
}

// end records the end of the stream, flushes stderr and closes done.
func (d *demuxReader) end(err error) {
	if d.err == nil {
		d.err = err
	}
	d.doneOnce.Do(func() {
		d.stderr.Flush()
		close(d.done)
	})
}

// abandon makes Read fail from now on and drains the rest of the stream in
// the background. It is safe to call more than once.
func (d *demuxReader) abandon() {
	d.abandoned.Store(true)
	d.drainOnce.Do(func() {
		go func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			buf := make([]byte, 32<<10)
			for {
				if _, err := d.read(buf); err != nil {
					return
				}
			}
		}()
	})
}
