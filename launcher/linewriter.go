package launcher

import "bytes"

// lineWriter splits what is written to it into lines and hands each line,
// without its line ending, to emit. A line longer than max is emitted in
// pieces of max bytes. It is not safe for concurrent use; the demultiplexer
// is its only writer.
type lineWriter struct {
	max  int
	buf  []byte
	emit func([]byte)
}

func newLineWriter(max int, emit func([]byte)) *lineWriter {
	return &lineWriter{max: max, emit: emit}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			p = nil
		} else {
			w.buf = append(w.buf, p[:i]...)
			p = p[i+1:]
		}
		for len(w.buf) > w.max {
			w.emit(w.buf[:w.max])
			w.buf = append(w.buf[:0], w.buf[w.max:]...)
		}
		if i >= 0 {
			w.emit(bytes.TrimSuffix(w.buf, []byte("\r")))
			w.buf = w.buf[:0]
		}
	}
	return n, nil
}

// Flush emits a final line that has no line ending.
func (w *lineWriter) Flush() {
	if len(w.buf) > 0 {
		w.emit(bytes.TrimSuffix(w.buf, []byte("\r")))
		w.buf = w.buf[:0]
	}
}
