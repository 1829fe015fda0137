package profiles

import (
	"cmp"
	"slices"
	"strings"
)

// SecretPrefix marks a keychain reference where a value may be either
// literal or a secret: a remote server's headers and oauth.client_secret
// ("secret:NAME").
const SecretPrefix = "secret:"

// SecretRefName returns the keychain item a value names with [SecretPrefix],
// and whether it is such a reference.
func SecretRefName(v string) (string, bool) { return strings.CutPrefix(v, SecretPrefix) }

// SecretUse says where a secret goes.
type SecretUse int

// The places a server's configuration puts a secret.
const (
	SecretEnv    SecretUse = iota // a container environment variable
	SecretFile                    // a file in the container
	SecretHeader                  // a header sent to a remote server
	SecretOAuth                   // the OAuth client secret
)

// A SecretRef is one place a server's configuration names a keychain item.
type SecretRef struct {
	// Item is the keychain item's name.
	Item string
	// Use is where the value goes, and Key the env var, container path or
	// header name ("" for SecretOAuth).
	Use SecretUse
	Key string
}

// String says where the secret goes, for people: "$TOKEN", "file /run/k",
// "header X-Api-Key", "oauth client secret".
func (r SecretRef) String() string {
	switch r.Use {
	case SecretEnv:
		return "$" + r.Key
	case SecretFile:
		return "file " + r.Key
	case SecretHeader:
		return "header " + r.Key
	default:
		return "oauth client secret"
	}
}

// SecretRefs lists every keychain item the server's configuration names, in
// a stable order (by [SecretRef.String]).
func (s *Server) SecretRefs() []SecretRef {
	var refs []SecretRef
	for env, item := range s.Secrets {
		refs = append(refs, SecretRef{Item: item, Use: SecretEnv, Key: env})
	}
	for path, item := range s.SecretFiles {
		refs = append(refs, SecretRef{Item: item, Use: SecretFile, Key: path})
	}
	for h, v := range s.Headers {
		if item, ok := SecretRefName(v); ok {
			refs = append(refs, SecretRef{Item: item, Use: SecretHeader, Key: h})
		}
	}
	if s.OAuth != nil && s.OAuth.ClientSecret != "" {
		refs = append(refs, SecretRef{Item: s.OAuth.ClientSecret, Use: SecretOAuth})
	}
	slices.SortFunc(refs, func(a, b SecretRef) int { return cmp.Compare(a.String(), b.String()) })
	return refs
}

// SecretItems lists the keychain items the server's configuration names,
// each once, sorted.
func (s *Server) SecretItems() []string {
	var items []string
	for _, r := range s.SecretRefs() {
		items = append(items, r.Item)
	}
	slices.Sort(items)
	return slices.Compact(items)
}

// LiteralHeaders returns the headers whose values are written in the
// configuration rather than named in the keychain.
func (s *Server) LiteralHeaders() map[string]string {
	m := map[string]string{}
	for h, v := range s.Headers {
		if _, ok := SecretRefName(v); !ok {
			m[h] = v
		}
	}
	return m
}
