package profiles

import (
	"errors"
	"strings"
)

// canonicalURI prepares a resource URI for matching. A server that cleans
// paths or decodes escapes would read file:///data/%70rivate/key or
// file:///data/x/../private/key as file:///data/private/key, so a glob must
// see that too: escapes of unreserved characters are decoded, and URIs whose
// path could be read as another path (dot segments, empty segments, encoded
// or back slashes) are refused outright rather than guessed at.
func canonicalURI(uri string) (string, error) {
	var b strings.Builder
	b.Grow(len(uri))
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(uri) || !isHex(uri[i+1]) || !isHex(uri[i+2]) {
			return "", errors.New("has a malformed percent-escape")
		}
		d := unhex(uri[i+1])<<4 | unhex(uri[i+2])
		switch {
		case isUnreserved(d):
			b.WriteByte(d)
		case d == '/' || d == '\\':
			return "", errors.New("has an encoded slash")
		default:
			b.WriteString(strings.ToUpper(uri[i : i+3]))
		}
		i += 2
	}
	out := b.String()
	scheme, rest, ok := strings.Cut(out, ":")
	if !ok {
		return out, nil // not a URI: matched as it is
	}
	authority, hasAuthority := "", false
	if r, ok := strings.CutPrefix(rest, "//"); ok {
		hasAuthority = true
		i := strings.IndexAny(r, "/?#")
		if i < 0 {
			i = len(r)
		}
		authority, rest = r[:i], r[i:]
	}
	if strings.EqualFold(scheme, "file") {
		// file:/p, file:///p and file://localhost/p name one file
		// (RFC 8089); any other host is no local file to allow.
		if hasAuthority && authority != "" && !strings.EqualFold(authority, "localhost") {
			return "", errors.New("names a host in a file: URI")
		}
		if strings.ContainsAny(rest, "?#") {
			return "", errors.New("has a query or fragment in a file: URI")
		}
		out = "file://" + rest
		if !strings.HasPrefix(rest, "/") {
			return "", errors.New("is a relative file: URI")
		}
	}
	if strings.ContainsRune(rest, '\\') {
		return "", errors.New("has a backslash")
	}
	// A server that resolves paths may apply dot segments wherever they
	// stand, query and fragment included.
	for _, seg := range strings.Split(rest, "/") {
		if seg == "." || seg == ".." {
			return "", errors.New(`has a "." or ".." path segment`)
		}
	}
	path := rest
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if seg == "" && i > 0 && i < len(segs)-1 {
			return "", errors.New("has an empty path segment (//)")
		}
	}
	return out, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// isUnreserved reports RFC 3986 unreserved characters: decoding their
// escapes never changes what a URI means.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
