package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// A Secret is a value to keep away from the model, and the name that
// replaces it: occurrences become "[redacted:NAME]".
type Secret struct {
	Name  string
	Value string
}

// MinLength is the shortest secret value, in bytes, that can be redacted.
// Shorter values would match too much unrelated text.
const MinLength = 8

// ErrTooShort is wrapped by the error [New] returns for a secret whose value
// is shorter than [MinLength]. The error names the secret, never its value.
var ErrTooShort = errors.New("value shorter than 8 bytes cannot be redacted safely")

// A Redactor replaces secret values, and common encodings of them, with
// "[redacted:NAME]" markers. It is safe for concurrent use. Its secrets only
// grow: [Redactor.Add] feeds it values learnt while running (OAuth tokens),
// and every scrub from then on covers them, in the relay, the remote bridge
// and the logs that share it. A nil *Redactor redacts nothing.
type Redactor struct {
	addMu sync.Mutex // serializes Add
	st    atomic.Pointer[state]
}

// state is one immutable set of secrets and its index.
type state struct {
	secrets []Secret
	markers []string // "[redacted:NAME]", by secret index
	ix      *index   // nil when there is nothing to redact
}

// New returns a Redactor for secrets. With no secrets it returns a Redactor
// that changes nothing (until [Redactor.Add]). It fails, naming the secret,
// if a value is shorter than [MinLength] (the error wraps [ErrTooShort]) or
// if a value is part of a redaction marker, which would make redaction never
// finish.
//
// Secrets with the same value are redacted under the name listed first.
func New(secrets []Secret) (*Redactor, error) {
	st, err := build(secrets)
	if err != nil {
		return nil, err
	}
	r := &Redactor{}
	r.st.Store(st)
	return r, nil
}

// Add adds secrets to r; scrubs that start after Add returns cover them. It
// fails as [New] does, and then adds none of them. A value r already has is
// not added again.
func (r *Redactor) Add(secrets ...Secret) error {
	r.addMu.Lock()
	defer r.addMu.Unlock()
	old := r.st.Load()
	var all []Secret
	if old != nil {
		all = slices.Clone(old.secrets)
	}
	for _, s := range secrets {
		if !slices.ContainsFunc(all, func(o Secret) bool { return o.Value == s.Value }) {
			all = append(all, s)
		}
	}
	if old != nil && len(all) == len(old.secrets) {
		return nil
	}
	st, err := build(all)
	if err != nil {
		return err
	}
	r.st.Store(st)
	return nil
}

// load returns the secrets in force, nil for none.
func (r *Redactor) load() *state {
	if r == nil {
		return nil
	}
	st := r.st.Load()
	if st == nil || st.ix == nil {
		return nil
	}
	return st
}

func build(secrets []Secret) (*state, error) {
	r := &state{secrets: secrets, markers: make([]string, len(secrets))}
	for i, s := range secrets {
		if len(s.Value) < MinLength {
			return nil, fmt.Errorf("redact: secret %q: %w", s.Name, ErrTooShort)
		}
		r.markers[i] = "[redacted:" + s.Name + "]"
	}
	if len(secrets) == 0 {
		return r, nil
	}

	inMarker := func(text string) bool {
		for _, m := range r.markers {
			if strings.Contains(m, text) {
				return true
			}
		}
		return false
	}
	seen := make(map[string]bool)
	var needles []needle
	for i, s := range secrets {
		if inMarker(s.Value) {
			return nil, fmt.Errorf("redact: secret %q: value occurs in a redaction marker", s.Name)
		}
		for _, text := range encodings(s.Value) {
			// An encoding that happens to occur in a marker would be
			// redacted again and again; the raw value is checked above,
			// so dropping such a derived spelling loses almost nothing.
			if seen[text] || len(text) < MinLength || inMarker(text) {
				continue
			}
			seen[text] = true
			needles = append(needles, needle{text: text, secret: i})
		}
	}
	r.ix = newIndex(needles)
	return r, nil
}

// Empty reports whether r redacts nothing (for now: see [Redactor.Add]).
func (r *Redactor) Empty() bool {
	return r.load() == nil
}

// Message scrubs one JSON value, typically a whole JSON-RPC message. Secret
// values and their encodings are replaced inside JSON string values and
// object keys only; each string is matched in its decoded form, so escapes
// such as \u0041 do not hide a value. A string that changes is re-encoded
// with minimal escaping; all other bytes are kept. If msg is valid JSON the
// result is too.
//
// When nothing matches, Message returns msg itself without allocating.
// Otherwise it returns a new slice and does not modify msg.
func (r *Redactor) Message(msg []byte) []byte {
	return r.load().message(msg)
}

func (r *state) message(msg []byte) []byte {
	if r == nil {
		return msg
	}
	var hotBuf [16]int
	hot := hotSpots(r.ix, msg, hotBuf[:0])
	if len(hot) == 0 {
		return msg
	}

	var out, dec []byte
	copied := 0 // msg[:copied] is accounted for in out
	h := 0      // next hot spot to visit
	for pos := 0; h < len(hot); {
		i := bytes.IndexByte(msg[pos:], '"')
		if i < 0 {
			break
		}
		start := pos + i + 1
		end := stringEnd(msg, start)
		pos = min(end+1, len(msg)) // end is len(msg) if unterminated
		for h < len(hot) && hot[h] < start {
			h++ // outside any string: nothing to do
		}
		if h == len(hot) || hot[h] >= end {
			continue
		}
		for h < len(hot) && hot[h] < end {
			h++
		}
		body := msg[start:end]
		decoded := body
		if bytes.IndexByte(body, '\\') >= 0 {
			if cap(dec) < len(body) {
				dec = make([]byte, 0, len(body)) // decoding never grows
			}
			dec = appendDecoded(dec[:0], body)
			decoded = dec
		}
		clean, changed := scrub(r, decoded)
		if !changed {
			continue
		}
		if out == nil {
			// Room for markers longer than what they replace.
			out = make([]byte, 0, len(msg)+len(msg)/64+256)
		}
		out = append(out, msg[copied:start]...)
		out = appendEncoded(out, clean)
		copied = end
	}
	if out == nil {
		return msg
	}
	return append(out, msg[copied:]...)
}

// String scrubs plain text such as an error message or a log field. All
// spellings are searched for literally, including the JSON-escaped ones, so
// a JSON document quoted in the text is covered as long as its encoder
// escaped the value in a common way.
func (r *Redactor) String(s string) string {
	st := r.load()
	if st == nil {
		return s
	}
	clean, changed := scrub(st, s)
	if !changed {
		return s
	}
	return string(clean)
}

// bytes scrubs plain text given as bytes, returning b itself when nothing
// matches.
func (r *state) bytes(b []byte) []byte {
	if r == nil {
		return b
	}
	clean, changed := scrub(r, b)
	if !changed {
		return b
	}
	return clean
}

// scrub replaces every match in s, scanning the result again in case a
// marker and the text around it spell a secret once more.
func scrub[T ~string | ~[]byte](r *state, s T) ([]byte, bool) {
	ms := findAll(r.ix, s, nil)
	if len(ms) == 0 {
		return nil, false
	}
	out := replace(r, s, ms)
	for range maxPasses {
		ms = findAll(r.ix, out, ms[:0])
		if len(ms) == 0 {
			return out, true
		}
		out = replace(r, out, ms)
	}
	if ms = findAll(r.ix, out, ms[:0]); len(ms) == 0 {
		return out, true
	}
	// Only a contrived value gets here; give up on precision, not safety.
	return []byte(r.markers[merge(r.ix, ms)[0].secret]), true
}

// replace returns a copy of s with the merged matches ms replaced by their
// markers.
func replace[T ~string | ~[]byte](r *state, s T, ms []match) []byte {
	spans := merge(r.ix, ms)
	out := make([]byte, 0, len(s)+16*len(spans))
	last := 0
	for _, sp := range spans {
		out = append(out, s[last:sp.start]...)
		out = append(out, r.markers[sp.secret]...)
		last = sp.end
	}
	return append(out, s[last:]...)
}

// Writer returns a writer that scrubs each Write before passing it to w,
// with the secrets r has at the time of the Write. It suits loggers that
// write one whole record per Write, as zerolog does. A record that is valid
// JSON (a JSON log line) is scrubbed like a message, anything else as text.
// A value split across two Writes is not found.
//
// With a nil r, Writer returns w itself.
func (r *Redactor) Writer(w io.Writer) io.Writer {
	if r == nil {
		return w
	}
	return &writer{r: r, w: w}
}

type writer struct {
	r *Redactor
	w io.Writer
}

// Write scrubs p and writes the result to the underlying writer. It reports
// len(p) on success because the caller's bytes were all consumed, even
// though a different number of bytes was written.
func (w *writer) Write(p []byte) (int, error) {
	st := w.r.load()
	if st == nil {
		if _, err := w.w.Write(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	record := bytes.TrimRight(p, "\r\n")
	var out []byte
	if json.Valid(record) {
		out = st.message(record)
		if len(out) == len(record) && len(out) > 0 && &out[0] == &record[0] {
			out = p // unchanged
		} else {
			out = append(out, p[len(record):]...)
		}
	} else {
		out = st.bytes(p)
	}
	if _, err := w.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

var _ io.Writer = (*writer)(nil)
