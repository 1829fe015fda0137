package profiles

import "strings"

// splitMount splits a mount "SRC:DST[:MODE]" from the right, so that a
// source may hold colons of its own: Windows drive letters
// (C:\Users\me\notes:/data:ro) and UNC paths (\\server\share:/data). The
// target is a container path, which starts with '/' and has no colon; a last
// part that does not start with '/' is the mode when a colon is left before
// it. ok is false when there is no source or no target.
func splitMount(spec string) (src, dst, mode string, ok bool) {
	rest := spec
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return "", "", "", false
	}
	if tail := rest[i+1:]; !strings.HasPrefix(tail, "/") && strings.Contains(rest[:i], ":") {
		mode, rest = tail, rest[:i]
		i = strings.LastIndexByte(rest, ':')
	}
	src, dst = rest[:i], rest[i+1:]
	if src == "" || dst == "" {
		return "", "", "", false
	}
	return src, dst, mode, true
}
