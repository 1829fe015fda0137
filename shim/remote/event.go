package remote

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"time"
)

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	name string // "message" when the stream did not name it
	data []byte
}

// sseReader parses a text/event-stream body as the HTML Living Standard
// describes it, keeping the last event id and the reconnection delay.
type sseReader struct {
	r      *bufio.Reader
	lastID string
	// retry is the reconnection delay the server asked for; zero if none.
	retry time.Duration
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next event with data. It returns io.EOF (or the read
// error) when the stream ends; a partial event at the end is discarded.
func (s *sseReader) next() (sseEvent, error) {
	var (
		name    string
		data    bytes.Buffer
		hasData bool
		id      string
		hasID   bool
	)
	for {
		line, err := s.r.ReadBytes('\n')
		if err != nil && (len(line) == 0 || err != io.EOF) {
			return sseEvent{}, err
		}
		if err == io.EOF {
			// A line without its terminator ends the stream; the event
			// in progress is incomplete and must not be dispatched.
			return sseEvent{}, io.EOF
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if hasID {
				s.lastID = id
			}
			if !hasData {
				name, hasID = "", false
				continue
			}
			if name == "" {
				name = "message"
			}
			return sseEvent{name: name, data: data.Bytes()}, nil
		}
		if line[0] == ':' {
			continue // comment
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			name = string(value)
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "id":
			if !bytes.ContainsRune(value, 0) {
				id, hasID = string(value), true
			}
		case "retry":
			if ms, err := strconv.ParseUint(string(value), 10, 32); err == nil {
				s.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}
