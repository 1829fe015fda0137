package shim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
)

// A Conn is one leg of the relay: an ordered, bidirectional channel of whole
// JSON-RPC messages. The host's stdio and a container's attached streams are
// Conns through [NewStreamConn]; the remote bridge (package shim/remote) is a
// Conn over HTTP.
//
// ReadMessage returns the next message as the exact bytes that arrived (one
// JSON value, without the line terminator) and io.EOF once the peer is done.
// WriteMessage sends one message; it may be called from several goroutines.
// Close releases the leg and unblocks a pending ReadMessage where the
// underlying stream allows it.
type Conn interface {
	ReadMessage() ([]byte, error)
	WriteMessage(msg []byte) error
	Close() error
}

// A halfCloser can tell its peer that no more messages follow while it keeps
// reading, the way closing a child's stdin does. The relay uses it when the
// host hangs up, so answers already on their way still reach the host.
type halfCloser interface {
	CloseWrite() error
}

// maxLineStart is the initial read buffer. Lines grow past it without limit:
// MCP results of tens of megabytes are legitimate.
const maxLineStart = 64 << 10

// StreamConn is a [Conn] over newline-delimited JSON, the MCP stdio transport.
//
// It keeps every message byte for byte: the relay never decodes and
// re-encodes what it forwards, so ids such as 9007199254740993, unknown
// fields and duplicate keys survive unchanged.
type StreamConn struct {
	r  *bufio.Reader
	rc io.Closer

	wmu sync.Mutex
	w   io.Writer
	wc  io.Closer

	closeOnce sync.Once
}

// NewStreamConn returns a Conn that reads newline-delimited messages from r and
// writes them to w. If r or w implement io.Closer, Close closes them; if w
// implements CloseWrite (a hijacked container stream does), CloseWrite
// half-closes it.
func NewStreamConn(r io.Reader, w io.Writer) *StreamConn {
	c := &StreamConn{r: bufio.NewReaderSize(r, maxLineStart), w: w}
	if rc, ok := r.(io.Closer); ok {
		c.rc = rc
	}
	if wc, ok := w.(io.Closer); ok {
		c.wc = wc
	}
	return c
}

// ReadMessage returns the next non-blank line, without its line terminator.
// The returned slice belongs to the caller.
func (c *StreamConn) ReadMessage() ([]byte, error) {
	for {
		line, err := c.readLine()
		if len(line) > 0 {
			return line, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readLine reads one line. A line that fits the read buffer is copied out
// once; a longer one is gathered in buffer-sized pieces and joined into a slice
// of its exact size, so a 10 MB message costs two copies, not a cascade of
// reallocations.
func (c *StreamConn) readLine() ([]byte, error) {
	frag, err := c.r.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return trimLine(bytes.Clone(frag)), err
	}
	var pieces [][]byte
	n := 0
	for {
		pieces = append(pieces, bytes.Clone(frag))
		n += len(frag)
		if err != bufio.ErrBufferFull {
			break
		}
		frag, err = c.r.ReadSlice('\n')
	}
	line := make([]byte, 0, n)
	for _, p := range pieces {
		line = append(line, p...)
	}
	return trimLine(line), err
}

// trimLine strips surrounding whitespace, including the "\r\n" some clients
// send on Windows.
func trimLine(b []byte) []byte {
	return bytes.TrimSpace(b)
}

// WriteMessage writes msg followed by a newline as one unit with respect to
// other writers.
func (c *StreamConn) WriteMessage(msg []byte) error {
	if bytes.IndexByte(msg, '\n') >= 0 {
		// Compact JSON never needs a raw newline; one would split the
		// message in two on the wire.
		var buf bytes.Buffer
		if err := json.Compact(&buf, msg); err != nil {
			return err
		}
		msg = buf.Bytes()
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if len(msg) < 4096 {
		// One write for small messages: fewer syscalls, and a reader on
		// the other side sees the whole line at once.
		buf := make([]byte, 0, len(msg)+1)
		buf = append(append(buf, msg...), '\n')
		_, err := c.w.Write(buf)
		return err
	}
	if _, err := c.w.Write(msg); err != nil {
		return err
	}
	_, err := c.w.Write(newline)
	return err
}

var newline = []byte{'\n'}

// CloseWrite tells the peer no more messages follow: it half-closes the
// writer when it can, and closes it otherwise.
func (c *StreamConn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if hc, ok := c.w.(halfCloser); ok {
		return hc.CloseWrite()
	}
	if c.wc != nil {
		return c.wc.Close()
	}
	return nil
}

// Close closes both directions. It is safe to call more than once.
func (c *StreamConn) Close() error {
	var errs []error
	c.closeOnce.Do(func() {
		if c.wc != nil {
			errs = append(errs, c.wc.Close())
		}
		if c.rc != nil && c.rc != c.wc {
			errs = append(errs, c.rc.Close())
		}
	})
	return errors.Join(errs...)
}
