package keychain

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

const (
	// maxNameLen is the longest name ValidName accepts.
	maxNameLen = 128

	// reservedPrefix starts the names of the store's own items (the index
	// and the pieces of chunked values); user names may not start with it.
	reservedPrefix = "."

	// encodedPartPrefix marks a part of an ItemName that had to be encoded.
	encodedPartPrefix = "b32-"
)

// partEncoding encodes ItemName parts that are not usable verbatim. The
// lower-case extended-hex alphabet uses only characters ValidName accepts.
var partEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// ValidName reports whether name can name a secret: 1 to 128 characters from
// A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.' (reserved for the
// store's own items). The error says what is wrong; it quotes the name, which
// is not secret.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("secret name is empty")
	case len(name) > maxNameLen:
		return fmt.Errorf("secret name %.20q… is %d bytes long; the limit is %d", name, len(name), maxNameLen)
	case strings.HasPrefix(name, reservedPrefix):
		return fmt.Errorf("secret name %q starts with %q, which is reserved for mcp-sandbox's own items", name, reservedPrefix)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i], true) {
			return fmt.Errorf("secret name %q contains %q; use only letters, digits, '.', '_' and '-'", name, rune(name[i]))
		}
	}
	return nil
}

// nameByte reports whether c may appear in a name; dot says whether '.' counts.
func nameByte(c byte, dot bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		return true
	case c == '.':
		return dot
	}
	return false
}

// ItemName builds a secret name from parts joined with '.', for callers that
// derive names from user-chosen strings, such as
// ItemName("oauth", serverName, "refresh"). Each part made only of letters,
// digits, '_' and '-' is used verbatim (so the result is usually the obvious
// "oauth.github.refresh"); any other part, including an empty one or one
// that starts with "b32-", is replaced by "b32-" and its base32 encoding.
// Distinct part lists therefore always give distinct names. It returns an
// error when the result is not a [ValidName], in practice only when it would
// be longer than 128 bytes.
func ItemName(parts ...string) (string, error) {
	enc := make([]string, len(parts))
	for i, p := range parts {
		enc[i] = encodePart(p)
	}
	name := strings.Join(enc, ".")
	if err := ValidName(name); err != nil {
		return "", err
	}
	return name, nil
}

func encodePart(p string) string {
	verbatim := p != "" && !strings.HasPrefix(p, encodedPartPrefix)
	for i := 0; verbatim && i < len(p); i++ {
		verbatim = nameByte(p[i], false)
	}
	if verbatim {
		return p
	}
	return encodedPartPrefix + partEncoding.EncodeToString([]byte(p))
}
