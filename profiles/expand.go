package profiles

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
)

// ParseSize parses a Docker-style size: a non-negative decimal number
// followed by an optional unit b, k, m, g or t (powers of 1024, any case),
// which may carry a "b" or "ib" suffix: "512m", "1.5G", "64MiB", "1024".
// A bare number is bytes.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	num := strings.TrimRight(t, "abcdefghijklmnopqrstuvwxyz")
	unit := t[len(num):]
	var mult float64
	switch strings.TrimSuffix(strings.TrimSuffix(unit, "b"), "i") {
	case "":
		mult = 1
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	case "t":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use b, k, m, g or t)", s, unit)
	}
	if unit == "i" || unit == "ib" { // "ib" alone is not a unit
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use b, k, m, g or t)", s, unit)
	}
	if num == "" || strings.ContainsAny(num, "+-eE_xXpP") || strings.Count(num, ".") > 1 {
		return 0, fmt.Errorf("invalid size %q: want a number and a unit like 512m", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: want a number and a unit like 512m", s)
	}
	v := f * mult
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return int64(v), nil
}

// expandPath expands a leading ~ (the user's home directory) and $VAR or
// ${VAR} references, then makes the result absolute against base and
// cleans it. "$$" stands for a literal '$'; a '$' followed by neither '{'
// nor a name is literal too. An unset or empty variable is an error rather
// than an empty string, so a typo cannot turn "$NOTES/x" into "/x".
func expandPath(p, base string, env environment) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := env.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expand ~: %w", err)
		}
		p = home + p[1:]
	} else if strings.HasPrefix(p, "~") {
		return "", errors.New("~user is not supported; use ~/ or an absolute path")
	}
	p, err := expandVars(p, env)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", errors.New("empty path")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p), nil
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameChar(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' }

// expandVars replaces $VAR and ${VAR}; see expandPath.
func expandVars(s string, env environment) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		var name string
		switch c := s[i+1]; {
		case c == '$':
			b.WriteByte('$')
			i++
			continue
		case c == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unclosed ${ in %q", s)
			}
			name = s[i+2 : i+2+end]
			i += 2 + end
			if !validEnvName(name) {
				return "", fmt.Errorf("invalid variable name %q", name)
			}
		case isNameStart(c):
			j := i + 1
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			name = s[i+1 : j]
			i = j - 1
		default:
			b.WriteByte('$')
			continue
		}
		v, ok := env.LookupEnv(name)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is unset or empty", name)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// validEnvName reports whether s is a portable environment variable name.
func validEnvName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}
