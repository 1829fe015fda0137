package shim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// An AuditRecord is one line of the audit log: one tools/call, prompts/get or
// resources/read and what became of it. Argument values are not recorded
// unless the server opts in; their SHA-256 is, so equal calls can be matched.
type AuditRecord struct {
	Time            time.Time       `json:"time"`
	Server          string          `json:"server"`
	Profile         string          `json:"profile,omitempty"`
	Client          string          `json:"client,omitempty"`
	Method          string          `json:"method"`
	Name            string          `json:"name,omitempty"` // tool or prompt
	URI             string          `json:"uri,omitempty"`  // resource
	Decision        string          `json:"decision"`       // "allowed", "blocked" or "error"
	Rule            string          `json:"rule,omitempty"` // the profile rule that decided
	DurationMS      float64         `json:"duration_ms"`
	ResultBytes     int             `json:"result_bytes"`
	ArgumentsSHA256 string          `json:"arguments_sha256,omitempty"`
	Arguments       json.RawMessage `json:"arguments,omitempty"`
	Error           string          `json:"error,omitempty"`
	// Approval is the question a held call put to a person and its
	// answer; nil when none was needed.
	Approval *ApprovalRecord `json:"approval,omitempty"`
}

// MaxAuditQueue is how many records an [Auditor] holds in memory while its
// file is slow. Records beyond it are dropped (and counted), so that a
// stalled disk never stalls the relay.
const MaxAuditQueue = 4096

// An Auditor appends records to a JSONL file from its own goroutine. Record
// never blocks on the file: records queue in memory, at most [MaxAuditQueue]
// of them, and are written in order. Close writes every queued record before
// it returns.
type Auditor struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []AuditRecord
	closed  bool
	max     int
	dropped int64
	done    chan struct{}
	w       *bufio.Writer
	c       io.Closer
	err     error
}

// OpenAudit opens (creating it and its directory if needed) the audit file at
// path for appending. The file is readable by its owner only.
func OpenAudit(path string) (*Auditor, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return NewAuditor(f), nil
}

// NewAuditor returns an Auditor writing to w. If w is an io.Closer, Close
// closes it.
func NewAuditor(w io.Writer) *Auditor {
	a := &Auditor{done: make(chan struct{}), w: bufio.NewWriter(w), max: MaxAuditQueue}
	if c, ok := w.(io.Closer); ok {
		a.c = c
	}
	a.cond = sync.NewCond(&a.mu)
	go a.loop()
	return a
}

// Record queues rec for writing. It is safe for concurrent use and returns at
// once. It reports false when rec was dropped: the queue is full or the
// Auditor is closed. A nil Auditor records nothing and reports true.
func (a *Auditor) Record(rec AuditRecord) bool {
	if a == nil {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || len(a.queue) >= a.max {
		a.dropped++
		return false
	}
	a.queue = append(a.queue, rec)
	a.cond.Signal()
	return true
}

// Dropped returns how many records Record refused.
func (a *Auditor) Dropped() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dropped
}

func (a *Auditor) loop() {
	defer close(a.done)
	enc := json.NewEncoder(a.w)
	for {
		a.mu.Lock()
		for len(a.queue) == 0 && !a.closed {
			a.cond.Wait()
		}
		batch := a.queue
		a.queue = nil
		closed := a.closed
		a.mu.Unlock()
		for _, rec := range batch {
			if err := enc.Encode(rec); err != nil && a.err == nil {
				a.err = err
			}
		}
		if err := a.w.Flush(); err != nil && a.err == nil {
			a.err = err
		}
		if closed {
			return
		}
	}
}

// Close writes every queued record, then closes the file. It returns the first
// write error, if any.
func (a *Auditor) Close() error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.done
		return a.err
	}
	a.closed = true
	a.cond.Signal()
	a.mu.Unlock()
	<-a.done
	if a.c != nil {
		if err := a.c.Close(); err != nil && a.err == nil {
			a.err = err
		}
	}
	return a.err
}
