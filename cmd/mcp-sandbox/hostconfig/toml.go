package hostconfig

import (
	"fmt"
	"slices"
	"strings"
)

// TOML returns the mcp-sandbox.toml text of s: a comment naming its source,
// then [servers.NAME], when needed [servers.NAME.sandbox], and for a pinned
// server the [profiles.PROFILE] with pin = true that its profile key names
// (pin is a profile key). It never holds a secret value, only keychain item
// names.
func (s Server) TOML(from string) string {
	var b strings.Builder
	if from != "" {
		fmt.Fprintf(&b, "# Imported from %s", from)
		if s.Source != "" {
			fmt.Fprintf(&b, ": %s", oneLine(s.Source))
		}
		b.WriteString("\n")
	}
	table := "servers." + key(s.Name)
	fmt.Fprintf(&b, "[%s]\n", table)
	kv := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	switch {
	case s.Package != "":
		kv("package", quote(s.Package))
	case s.Image != "":
		kv("image", quote(s.Image))
	case s.URL != "":
		kv("url", quote(s.URL))
		if s.Transport != "" {
			kv("transport", quote(s.Transport))
		}
	}
	if len(s.Args) > 0 {
		q := make([]string, len(s.Args))
		for i, a := range s.Args {
			q[i] = quote(a)
		}
		kv("args", "["+strings.Join(q, ", ")+"]")
	}
	if len(s.Env) > 0 {
		kv("env", inline(s.Env))
	}
	if len(s.Secrets) > 0 {
		kv("secrets", inline(s.Secrets))
	}
	if len(s.Headers) > 0 {
		kv("headers", inline(s.Headers))
	}
	if s.Pin {
		kv("profile", quote(s.ProfileName()))
	}
	if s.Network != "" || len(s.Mounts) > 0 {
		fmt.Fprintf(&b, "\n[%s.sandbox]\n", table)
		if s.Network != "" {
			kv("network", quote(s.Network))
		}
		if len(s.Mounts) > 0 {
			q := make([]string, len(s.Mounts))
			for i, m := range s.Mounts {
				q[i] = quote(m)
			}
			kv("mounts", "["+strings.Join(q, ", ")+"]")
		}
	}
	if s.Pin {
		fmt.Fprintf(&b, "\n# Tool definitions are pinned: a changed or new tool stays hidden until `mcp-sandbox trust %s`.\n", s.Name)
		fmt.Fprintf(&b, "[profiles.%s]\n", key(s.ProfileName()))
		kv("pin", "true")
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func inline(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = key(k) + " = " + quote(m[k])
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// key returns k as a TOML key: bare when it can be, quoted otherwise.
func key(k string) string {
	if k == "" {
		return `""`
	}
	for _, c := range []byte(k) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return quote(k)
		}
	}
	return k
}

// quote returns s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// AppendTOML appends server blocks to a config file's text, keeping that
// text byte for byte: one blank line between what was there and each
// block.
func AppendTOML(text []byte, blocks ...string) []byte {
	out := slices.Clone(text)
	for _, blk := range blocks {
		if len(out) > 0 {
			if out[len(out)-1] != '\n' {
				out = append(out, '\n')
			}
			out = append(out, '\n')
		}
		out = append(out, blk...)
	}
	return out
}
