package pins

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Fields are the members of a tool definition a pin covers. Anything else
// (_meta, icons, future fields) may change without hiding the tool.
var Fields = []string{"name", "title", "description", "inputSchema", "outputSchema", "annotations"}

// Canonical returns a tool's name and its definition in canonical form:
// only [Fields], every object's keys sorted, no insignificant space. Two
// definitions that mean the same JSON have the same canonical form.
func Canonical(tool []byte) (string, json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(tool, &all); err != nil {
		return "", nil, fmt.Errorf("tool definition: %w", err)
	}
	var name string
	if err := json.Unmarshal(all["name"], &name); err != nil || name == "" {
		return "", nil, errors.New(`tool definition: no string "name"`)
	}
	def := map[string]any{}
	for _, f := range Fields {
		raw, ok := all[f]
		if !ok {
			continue
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber() // keep numbers exactly as written
		if err := d.Decode(&v); err != nil {
			return "", nil, fmt.Errorf("tool %q: %s: %w", name, f, err)
		}
		def[f] = v
	}
	out, err := json.Marshal(def) // map keys are sorted
	if err != nil {
		return "", nil, err
	}
	return name, out, nil
}

// Digest is the SHA-256 of a canonical definition, in hex.
func Digest(def json.RawMessage) string {
	s := sha256.Sum256(def)
	return hex.EncodeToString(s[:])
}

// An Entry is one trusted tool definition.
type Entry struct {
	SHA256     string          `json:"sha256"`
	Definition json.RawMessage `json:"definition"`
	Trusted    time.Time       `json:"trusted"`
}

// A Store keeps trusted definitions, one JSON file per server under Dir.
type Store struct {
	// Dir is the directory of the pin files: STATE_DIR/pins.
	Dir string
}

type file struct {
	Server string           `json:"server"`
	Tools  map[string]Entry `json:"tools"`
}

func (s *Store) path(server string) string {
	return filepath.Join(s.Dir, fileName(server)+".json")
}

// fileName keeps a server name usable as a file name on every system.
func fileName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "%%%02X", r)
		}
	}
	return b.String()
}

// Load returns the trusted definitions of server; nil and no error when
// nothing was pinned for it yet.
func (s *Store) Load(server string) (map[string]Entry, error) {
	data, err := os.ReadFile(s.path(server))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pins of %s: %w", server, err)
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("pins of %s (%s): %w", server, s.path(server), err)
	}
	if f.Tools == nil {
		f.Tools = map[string]Entry{}
	}
	return f.Tools, nil
}

// Pinned is Load reduced to name → digest, for the relay.
func (s *Store) Pinned(server string) (map[string]string, error) {
	tools, err := s.Load(server)
	if err != nil || tools == nil {
		return nil, err
	}
	out := make(map[string]string, len(tools))
	for n, e := range tools {
		out[n] = e.SHA256
	}
	return out, nil
}

// Pin records defs (name → canonical definition) as trusted for server,
// replacing earlier definitions of those names and keeping the others. The
// file is replaced atomically and readable by its owner only.
func (s *Store) Pin(server string, defs map[string]json.RawMessage) error {
	tools, err := s.Load(server)
	if err != nil {
		return err
	}
	if tools == nil {
		tools = map[string]Entry{}
	}
	now := time.Now().UTC()
	for n, d := range defs {
		tools[n] = Entry{SHA256: Digest(d), Definition: d, Trusted: now}
	}
	data, err := json.MarshalIndent(file{Server: server, Tools: tools}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("pins: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".pins-*")
	if err != nil {
		return fmt.Errorf("pins: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("pins: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pins: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(server)); err != nil {
		return fmt.Errorf("pins: %w", err)
	}
	return nil
}
