package keychain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// chunkMarker starts the header stored in place of a chunked value.
	chunkMarker = "mcp-sandbox-chunked:"
	// plainMarker is put in front of a stored value that would otherwise
	// start with one of the two markers.
	plainMarker = "mcp-sandbox-plain:"
	// chunkVersion is the header format written by this package.
	chunkVersion = "v1"

	// maxPiece is the most bytes one keychain item holds: below the Windows
	// limit of 2560 bytes and, after go-keyring's base64 encoding, the
	// macOS limit of a 4096-byte command line.
	maxPiece = 2000
	// maxValue bounds a secret. The Secret Service slows down markedly for
	// large items and nothing mcp-sandbox stores comes near this.
	maxValue = 1 << 20
	// maxChunks is the most pieces a header may announce; split cuts
	// pieces up to utf8.UTFMax-1 bytes short.
	maxChunks = maxValue/(maxPiece-utf8.UTFMax) + 1

	genLen  = 16 // hex digits of the random generation in chunk names
	hashLen = 32 // hex digits of the SHA-256 prefix in the header
)

// errDamaged reports a chunked value whose pieces are missing or do not
// match the header: a write was interrupted, or another program changed the
// items. Setting the secret again repairs it.
var errDamaged = errors.New("stored value is damaged; set the secret again")

// header describes a chunked value.
type header struct {
	n    int    // number of pieces, 1..maxChunks
	gen  string // random generation, genLen hex digits, part of piece names
	hash string // first hashLen hex digits of the value's SHA-256
}

func (h header) String() string {
	return fmt.Sprintf("%s%s:%d:%s:%s", chunkMarker, chunkVersion, h.n, h.gen, h.hash)
}

// pieceName is the item holding piece i (1-based) of name's value.
func (h header) pieceName(name string, i int) string {
	return reservedPrefix + "chunk." + name + "." + h.gen + "." + strconv.Itoa(i)
}

// stored is how a value looks in the keychain: either plain (one item) or
// a header plus pieces.
type stored struct {
	plain   string // the item's content when chunked is false
	chunked bool
	header  header
	pieces  []string
}

// encode decides how value is stored.
func encode(value string) stored {
	plain := value
	if strings.HasPrefix(value, chunkMarker) || strings.HasPrefix(value, plainMarker) {
		plain = plainMarker + value
	}
	if len(plain) <= maxPiece {
		return stored{plain: plain}
	}
	pieces := split(value, maxPiece)
	return stored{
		chunked: true,
		header:  header{n: len(pieces), gen: newGen(), hash: digest(value)},
		pieces:  pieces,
	}
}

// decode interprets the content of a secret's main item: a plain value
// (returned) or a chunk header (chunked is true).
func decode(item string) (value string, h header, chunked bool, err error) {
	switch {
	case strings.HasPrefix(item, plainMarker):
		return item[len(plainMarker):], header{}, false, nil
	case strings.HasPrefix(item, chunkMarker):
		h, err := parseHeader(item)
		return "", h, true, err
	}
	return item, header{}, false, nil
}

// parseHeader parses a chunk header. Its errors never quote the item: a
// value written by another program could look like a header.
func parseHeader(item string) (header, error) {
	f := strings.Split(strings.TrimPrefix(item, chunkMarker), ":")
	if len(f) > 0 && f[0] != chunkVersion && strings.HasPrefix(f[0], "v") {
		return header{}, errors.New("stored value uses a chunk format this version of mcp-sandbox does not know; it was probably written by a newer one")
	}
	bad := fmt.Errorf("malformed chunk header: %w", errDamaged)
	if len(f) != 4 {
		return header{}, bad
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 1 || n > maxChunks || !isHex(f[2], genLen) || !isHex(f[3], hashLen) {
		return header{}, bad
	}
	return header{n: n, gen: f[2], hash: f[3]}, nil
}

// assemble joins pieces read back and checks them against h.
func assemble(h header, pieces []string) (string, error) {
	value := strings.Join(pieces, "")
	if len(pieces) != h.n || digest(value) != h.hash {
		return "", fmt.Errorf("pieces do not match the recorded checksum: %w", errDamaged)
	}
	return value, nil
}

// split cuts s into pieces of at most max bytes, preferring cuts at UTF-8
// rune boundaries so that no piece holds a broken character.
func split(s string, max int) []string {
	var pieces []string
	for len(s) > max {
		cut := max
		for back := 0; back < utf8.UTFMax-1 && !utf8.RuneStart(s[cut]); back++ {
			cut--
		}
		if !utf8.RuneStart(s[cut]) { // not UTF-8 here: cut anywhere
			cut = max
		}
		pieces = append(pieces, s[:cut])
		s = s[cut:]
	}
	return append(pieces, s)
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashLen]
}

func newGen() string {
	b := make([]byte, genLen/2)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
