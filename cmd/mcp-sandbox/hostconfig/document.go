package hostconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/tailscale/hujson"
)

// Document is one parsed host configuration file. Its edits change only the
// members they name; every other byte (key order, unrelated keys,
// whitespace, comments, trailing commas) is re-emitted as it was read.
type Document struct {
	path   string
	client Client
	root   hujson.Value
	orig   []byte
	unit   string // one level of indentation, as the file uses it
	// Notes are things the edits did that a person should know (a removed
	// entry held comments, …).
	Notes []string
}

// Entry is one server entry of a host file, as the host reads it.
type Entry struct {
	Name    string
	Type    string // "stdio", "http", "sse", … or ""
	Command string
	Args    []string
	Env     map[string]string
	URL     string
	Headers map[string]string
	// Keys lists every key of the entry in file order.
	Keys []string
	// Invalid says why the entry could not be read (a wrong type); the
	// fields above are then incomplete.
	Invalid string
}

// Launch is what a rewritten entry runs.
type Launch struct {
	Command string
	Args    []string
}

var lineCol = regexp.MustCompile(`^line (\d+), column (\d+): (.*)$`)

// Parse parses a host file. Empty (or all-whitespace) data is an empty
// configuration. A file that does not parse, or whose top level is not an
// object, is an error naming path, line and column.
func Parse(path string, data []byte, c Client) (*Document, error) {
	d := &Document{path: path, client: c, orig: data, unit: "  "}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}\n")
	}
	v, err := hujson.Parse(data)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "hujson: ")
		if m := lineCol.FindStringSubmatch(msg); m != nil {
			msg = m[1] + ":" + m[2] + ": " + m[3]
		}
		return nil, fmt.Errorf("%s:%s; fix the file (nothing was changed)", path, msg)
	}
	if _, ok := v.Value.(*hujson.Object); !ok {
		return nil, fmt.Errorf("%s:1:1: the top level is not a JSON object; nothing was changed", path)
	}
	d.root = v
	d.unit = indentUnit(&v)
	if _, err := d.servers(false); err != nil {
		return nil, err
	}
	return d, nil
}

// Path returns the file's path.
func (d *Document) Path() string { return d.path }

// Original returns the bytes Parse read.
func (d *Document) Original() []byte { return d.orig }

// Bytes returns the document as it is now.
func (d *Document) Bytes() []byte {
	if len(bytes.TrimSpace(d.orig)) == 0 && len(d.root.Value.(*hujson.Object).Members) == 0 {
		return d.orig
	}
	return d.root.Pack()
}

// Changed reports whether the edits changed any byte.
func (d *Document) Changed() bool { return !bytes.Equal(d.Bytes(), d.orig) }

// servers returns the object under the client's key; with create it adds
// an empty one at the end of the top level.
func (d *Document) servers(create bool) (*hujson.Object, error) {
	root := d.root.Value.(*hujson.Object)
	i := memberIndex(root, d.client.Key)
	if i < 0 {
		if !create {
			return nil, nil
		}
		d.appendMember(root, 1, d.client.Key, []byte("{}"))
		i = len(root.Members) - 1
	}
	obj, ok := root.Members[i].Value.Value.(*hujson.Object)
	if !ok {
		return nil, fmt.Errorf("%s: %q is not an object; fix the file (nothing was changed)", d.path, d.client.Key)
	}
	return obj, nil
}

// Entries returns the server entries in file order.
func (d *Document) Entries() []Entry {
	obj, _ := d.servers(false)
	if obj == nil {
		return nil
	}
	var out []Entry
	for _, m := range obj.Members {
		out = append(out, readEntry(memberName(m), m.Value))
	}
	return out
}

// Entry returns the entry named name.
func (d *Document) Entry(name string) (Entry, bool) {
	for _, e := range d.Entries() {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

func readEntry(name string, v hujson.Value) Entry {
	e := Entry{Name: name}
	obj, ok := v.Value.(*hujson.Object)
	if !ok {
		e.Invalid = "the entry is not an object"
		return e
	}
	bad := func(key, want string) {
		if e.Invalid == "" {
			e.Invalid = fmt.Sprintf("%q is not %s", key, want)
		}
	}
	for _, m := range obj.Members {
		key := memberName(m)
		e.Keys = append(e.Keys, key)
		raw, err := standard(m.Value)
		if err != nil {
			bad(key, "valid JSON")
			continue
		}
		var dst any
		switch key {
		case "type":
			dst = &e.Type
		case "command":
			dst = &e.Command
		case "args":
			dst = &e.Args
		case "env":
			dst = &e.Env
		case "url", "serverUrl":
			dst = &e.URL
		case "headers":
			dst = &e.Headers
		default:
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			want := map[string]string{"args": "a list of strings", "env": "an object of strings", "headers": "an object of strings"}[key]
			if want == "" {
				want = "a string"
			}
			bad(key, want)
		}
	}
	return e
}

// standard returns v's JSON without comments or trailing commas.
func standard(v hujson.Value) ([]byte, error) {
	c := v.Clone()
	c.Standardize()
	return c.Pack(), nil
}

// ownedKeys are the entry keys a rewrite replaces; every other key of an
// entry (disabled, autoApprove, envFile, …) is kept.
var ownedKeys = []string{"command", "args", "env", "url", "serverUrl", "headers", "transport", "cwd"}

// SetEntry makes entry name run l: it adds the entry, or rewrites an
// existing one in place (command and args set; env, url, headers, cwd
// removed; "type" set to "stdio" if the entry has one or the host wants
// it; other keys kept). It reports whether anything changed.
func (d *Document) SetEntry(name string, l Launch) (bool, error) {
	before := d.root.Pack()
	obj, err := d.servers(true)
	if err != nil {
		return false, err
	}
	args := l.Args
	if args == nil {
		args = []string{}
	}
	i := memberIndex(obj, name)
	var entry *hujson.Object
	if i >= 0 {
		entry, _ = obj.Members[i].Value.Value.(*hujson.Object)
	}
	if entry == nil {
		members := [][2]string{}
		if d.client.StdioType {
			members = append(members, [2]string{"type", inlineJSON("stdio")})
		}
		members = append(members, [2]string{"command", inlineJSON(l.Command)}, [2]string{"args", inlineJSON(args)})
		text := d.objectText(members, 2, multiline(obj) || len(obj.Members) == 0)
		if i >= 0 {
			if err := d.replaceValue(&obj.Members[i].Value, text); err != nil {
				return false, err
			}
		} else {
			d.appendMember(obj, 2, name, text)
		}
	} else {
		if memberIndex(entry, "type") >= 0 || d.client.StdioType {
			d.setMember(entry, 3, "type", inlineJSON("stdio"))
		}
		d.setMember(entry, 3, "command", inlineJSON(l.Command))
		d.setMember(entry, 3, "args", inlineJSON(args))
		for _, k := range ownedKeys[2:] {
			d.removeMember(entry, name, k)
		}
	}
	if err := d.checkComments(before); err != nil {
		return false, err
	}
	return !bytes.Equal(before, d.root.Pack()), nil
}

// RemoveEntry removes entry name; it reports whether there was one.
func (d *Document) RemoveEntry(name string) (bool, error) {
	obj, err := d.servers(false)
	if err != nil || obj == nil {
		return false, err
	}
	if memberIndex(obj, name) < 0 {
		return false, nil
	}
	d.removeMember(obj, name, name)
	return true, nil
}

// checkComments refuses an edit that lost a comment the document had
// before, other than those inside removed entries (which Notes lists).
func (d *Document) checkComments(before []byte) error {
	old, err := hujson.Parse(before)
	if err != nil {
		return err
	}
	have := comments(&d.root)
	for _, c := range comments(&old) {
		if i := slices.Index(have, c); i >= 0 {
			have = slices.Delete(have, i, i+1)
			continue
		}
		if slices.ContainsFunc(d.Notes, func(n string) bool { return strings.Contains(n, c) }) {
			continue
		}
		return fmt.Errorf("%s: editing would drop the comment %q; move it out of the server entry or edit the file by hand (nothing was changed)", d.path, c)
	}
	return nil
}

// comments lists the comments of v in order.
func comments(v *hujson.Value) []string {
	var out []string
	add := func(x hujson.Extra) {
		out = append(out, splitComments(x)...)
	}
	// All visits member names as values too, so their extras are counted
	// here once.
	for x := range v.All() {
		add(x.BeforeExtra)
		if comp, ok := x.Value.(*hujson.Object); ok {
			add(comp.AfterExtra)
		}
		if arr, ok := x.Value.(*hujson.Array); ok {
			add(arr.AfterExtra)
		}
		add(x.AfterExtra)
	}
	return out
}

// splitComments returns the comments in an Extra (which holds only
// whitespace and comments).
func splitComments(x hujson.Extra) []string {
	var out []string
	s := string(x)
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(s, "//"):
			end := strings.IndexByte(s, '\n')
			if end < 0 {
				end = len(s)
			}
			out = append(out, strings.TrimRight(s[:end], "\r"))
			s = s[end:]
		case strings.HasPrefix(s, "/*"):
			end := strings.Index(s, "*/")
			if end < 0 {
				return append(out, s)
			}
			out = append(out, s[:end+2])
			s = s[end+2:]
		default:
			return out
		}
	}
}

// inlineJSON returns a string or a list of strings as one line of JSON:
// "a" or ["a", "b"].
func inlineJSON(v any) string {
	if list, ok := v.([]string); ok {
		q := make([]string, len(list))
		for i, s := range list {
			q[i] = inlineJSON(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // strings always encode
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// objectText formats an object of one-line values whose key sits at
// depth: one member a line, indented like the file, when ml.
func (d *Document) objectText(members [][2]string, depth int, ml bool) []byte {
	var b strings.Builder
	b.WriteString("{")
	for i, m := range members {
		if i > 0 {
			b.WriteString(",")
			if !ml {
				b.WriteString(" ")
			}
		}
		if ml {
			b.WriteString("\n" + strings.Repeat(d.unit, depth+1))
		}
		fmt.Fprintf(&b, "%s: %s", inlineJSON(m[0]), m[1])
	}
	if ml {
		b.WriteString("\n" + strings.Repeat(d.unit, depth))
	}
	b.WriteString("}")
	return []byte(b.String())
}

func memberName(m hujson.ObjectMember) string {
	lit, ok := m.Name.Value.(hujson.Literal)
	if !ok {
		return ""
	}
	return lit.String()
}

// memberIndex returns the index of the last member called name (the one a
// JSON reader keeps), or -1.
func memberIndex(obj *hujson.Object, name string) int {
	for i := len(obj.Members) - 1; i >= 0; i-- {
		if memberName(obj.Members[i]) == name {
			return i
		}
	}
	return -1
}

// multiline reports whether obj puts its members on lines of their own.
func multiline(obj *hujson.Object) bool {
	for _, m := range obj.Members {
		if bytes.ContainsRune(m.Name.BeforeExtra, '\n') {
			return true
		}
	}
	return bytes.ContainsRune(obj.AfterExtra, '\n')
}

// indentUnit guesses the file's indentation from its first indented key.
func indentUnit(v *hujson.Value) string {
	root := v.Value.(*hujson.Object)
	for _, m := range root.Members {
		b := m.Name.BeforeExtra
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 && i+1 < len(b) {
			if ws := b[i+1:]; len(bytes.Trim(ws, " \t")) == 0 {
				return string(ws)
			}
		}
	}
	return "  "
}

func parseValue(text []byte) (hujson.Value, error) {
	v, err := hujson.Parse(text)
	if err != nil {
		return v, err
	}
	v.BeforeExtra, v.AfterExtra = nil, nil
	return v, nil
}

// replaceValue swaps the value in place, keeping the whitespace and
// comments around it.
func (d *Document) replaceValue(dst *hujson.Value, text []byte) error {
	v, err := parseValue(text)
	if err != nil {
		return err
	}
	dst.Value = v.Value
	return nil
}

// setMember sets obj[name] (its key at depth) to the one-line JSON value,
// unless it already holds an equal value.
func (d *Document) setMember(obj *hujson.Object, depth int, name string, value string) {
	text := []byte(value)
	if i := memberIndex(obj, name); i >= 0 {
		if cur, err := standard(obj.Members[i].Value); err == nil && jsonEqual(cur, text) {
			return
		}
		if err := d.replaceValue(&obj.Members[i].Value, text); err != nil {
			panic(err) // text is JSON we made
		}
		return
	}
	d.appendMember(obj, depth, name, text)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// appendMember adds name: text as obj's last member, at depth (1 for the
// top level), keeping the object's layout and trailing-comma style.
func (d *Document) appendMember(obj *hujson.Object, depth int, name string, text []byte) {
	v, err := parseValue(text)
	if err != nil {
		panic(err) // text is JSON we made
	}
	ml := multiline(obj) || len(obj.Members) == 0 && depth <= 2
	m := hujson.ObjectMember{
		Name:  hujson.Value{Value: hujson.String(name)},
		Value: hujson.Value{BeforeExtra: hujson.Extra(" "), Value: v.Value},
	}
	if !ml {
		m.Value.BeforeExtra = nil
	}
	trailing := false
	if n := len(obj.Members); n > 0 {
		trailing = obj.Members[n-1].Value.AfterExtra != nil
	}
	if trailing {
		m.Value.AfterExtra = hujson.Extra{}
	}
	if ml {
		// What stood before the closing brace (a comment on the last
		// member's line, commented-out entries) now stands before the
		// new member.
		kept := bytes.TrimRight(obj.AfterExtra, " \t\r\n")
		m.Name.BeforeExtra = append(append(hujson.Extra{}, kept...), "\n"+strings.Repeat(d.unit, depth)...)
		obj.AfterExtra = hujson.Extra("\n" + strings.Repeat(d.unit, depth-1))
	}
	obj.Members = append(obj.Members, m)
}

// removeMember removes obj[name], keeping the comments before it (they
// move to what follows) and noting those inside it. entry names the server
// entry for the note.
func (d *Document) removeMember(obj *hujson.Object, entry, name string) {
	i := memberIndex(obj, name)
	if i < 0 {
		return
	}
	m := obj.Members[i]
	inner := comments(&m.Value)
	inner = append(inner, splitComments(m.Name.AfterExtra)...)
	if len(inner) > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("removed %q of entry %q with its comments: %s", name, entry, strings.Join(inner, " ")))
	}
	kept := bytes.TrimRight(m.Name.BeforeExtra, " \t\r\n")
	if len(splitComments(kept)) == 0 {
		kept = nil
	}
	obj.Members = slices.Delete(obj.Members, i, i+1)
	if i < len(obj.Members) {
		next := &obj.Members[i].Name
		next.BeforeExtra = append(append(hujson.Extra{}, kept...), next.BeforeExtra...)
		return
	}
	after := hujson.Extra{}
	if n := len(obj.Members); n > 0 && m.Value.AfterExtra == nil {
		// The removed member had no trailing comma, so the new last
		// one must not have one either.
		prev := &obj.Members[n-1].Value
		after = append(after, prev.AfterExtra...)
		prev.AfterExtra = nil
	} else if n > 0 && obj.Members[n-1].Value.AfterExtra == nil {
		obj.Members[n-1].Value.AfterExtra = hujson.Extra{}
	}
	after = append(after, kept...)
	if len(obj.Members) == 0 && len(kept) == 0 && len(splitComments(obj.AfterExtra)) == 0 {
		obj.AfterExtra = nil // the last entry gone: "{}"
		return
	}
	obj.AfterExtra = append(after, obj.AfterExtra...)
}
