package keychain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// A Getter reads one secret by name and reports an absent one with an error
// wrapping [ErrNotFound]. [*Store] is one.
type Getter interface {
	Get(ctx context.Context, name string) (string, error)
}

var _ Getter = (*Store)(nil)

// ResolveTimeout bounds [Resolve] and [Probe] as a whole, on top of each
// keychain call's own timeout.
const ResolveTimeout = 20 * time.Second

// Resolved are a server's secret values, read from the keychain, sorted by
// where they go.
type Resolved struct {
	// Env maps container environment variables to values.
	Env map[string]string
	// Files maps container paths to values.
	Files map[string][]byte
	// Headers maps remote headers to values; only those named with
	// "secret:" (see [profiles.Server.LiteralHeaders] for the others).
	Headers map[string]string
	// OAuthClientSecret is the OAuth client secret, "" if none is named.
	OAuthClientSecret string
	// Secrets are every value with its item name, each value once, for
	// the redactor.
	Secrets []redact.Secret
}

// A MissingError says which secret the keychain lacks and what it is for. It
// wraps [ErrNotFound].
type MissingError struct {
	Ref profiles.SecretRef
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("secret %q (for %s) is not in the keychain; store it with: mcp-sandbox secret set %s", e.Ref.Item, e.Ref, e.Ref.Item)
}

func (e *MissingError) Unwrap() error { return ErrNotFound }

// Resolve reads the secrets refs name from store, each item once, within
// [ResolveTimeout]. The first item missing fails it with a [*MissingError];
// other keychain errors are wrapped with the item's name. Errors never
// carry a value.
func Resolve(ctx context.Context, store Getter, refs []profiles.SecretRef) (*Resolved, error) {
	ctx, cancel := context.WithTimeout(ctx, ResolveTimeout)
	defer cancel()
	rs := &Resolved{Env: map[string]string{}, Files: map[string][]byte{}, Headers: map[string]string{}}
	values := map[string]string{}
	for _, ref := range refs {
		v, ok := values[ref.Item]
		if !ok {
			var err error
			v, err = store.Get(ctx, ref.Item)
			if errors.Is(err, ErrNotFound) {
				return nil, &MissingError{Ref: ref}
			}
			if err != nil {
				return nil, fmt.Errorf("secret %q: %w", ref.Item, err)
			}
			values[ref.Item] = v
			rs.Secrets = append(rs.Secrets, redact.Secret{Name: ref.Item, Value: v})
		}
		switch ref.Use {
		case profiles.SecretEnv:
			rs.Env[ref.Key] = v
		case profiles.SecretFile:
			rs.Files[ref.Key] = []byte(v)
		case profiles.SecretHeader:
			rs.Headers[ref.Key] = v
		case profiles.SecretOAuth:
			rs.OAuthClientSecret = v
		}
	}
	return rs, nil
}

// A Presence is whether the keychain has one referenced secret: Err is nil
// when it does, wraps [ErrNotFound] when it does not, and is another error
// when the keychain could not say.
type Presence struct {
	Ref profiles.SecretRef
	Err error
}

// Probe asks store for each secret refs name, each item once, within
// [ResolveTimeout], and reports for every ref whether it is there. It never
// returns a value.
func Probe(ctx context.Context, store Getter, refs []profiles.SecretRef) []Presence {
	ctx, cancel := context.WithTimeout(ctx, ResolveTimeout)
	defer cancel()
	seen := map[string]error{}
	out := make([]Presence, 0, len(refs))
	for _, ref := range refs {
		err, ok := seen[ref.Item]
		if !ok {
			_, err = store.Get(ctx, ref.Item)
			seen[ref.Item] = err
		}
		out = append(out, Presence{Ref: ref, Err: err})
	}
	return out
}
