package launcher

import "bytes"

// truncMarker ends a stderr line that was cut at the length limit.
const truncMarker = " [line truncated]"

// lineWriter splits what is written to it into lines and hands each line,
// without its line ending, to emit. A line longer than max is cut: its first
// max-guard bytes are emitted with truncMarker, the rest of the line is
// dropped. The guard keeps a secret that straddles the cut from being logged
// in part, where redaction of the emitted piece could not recognize it.
// It is not safe for concurrent use; the demultiplexer is its only writer.
type lineWriter struct {
	max, guard int
	buf        []byte
	discarding bool // the current line was cut; drop until its end
	emit       func([]byte)
}

func newLineWriter(max, guard int, emit func([]byte)) *lineWriter {
	return &lineWriter{max: max, guard: min(guard, max), emit: emit}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		if !w.discarding {
			w.buf = append(w.buf, chunk...)
			if len(w.buf) > w.max {
				w.emit(append(w.buf[:w.max-w.guard:w.max-w.guard], truncMarker...))
				w.buf = w.buf[:0]
				w.discarding = true
			}
		}
		if i >= 0 {
			if !w.discarding {
				w.emit(bytes.TrimSuffix(w.buf, []byte("\r")))
			}
			w.buf = w.buf[:0]
			w.discarding = false
		}
	}
	return n, nil
}

// Flush emits a final line that has no line ending.
func (w *lineWriter) Flush() {
	if len(w.buf) > 0 && !w.discarding {
		w.emit(bytes.TrimSuffix(w.buf, []byte("\r")))
	}
	w.buf = w.buf[:0]
	w.discarding = false
}
