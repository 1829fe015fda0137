package keychain

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/zalando/go-keyring"
)

// backend is the keychain API the store needs: go-keyring's three blocking,
// context-free calls. Get and Delete report a missing item with
// keyring.ErrNotFound. Tests substitute a fake through Options.backend.
type backend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// osKeychain is the platform keychain as go-keyring reaches it.
type osKeychain struct{}

func (osKeychain) Get(service, user string) (string, error) {
	return keyring.Get(service, user)
}

func (osKeychain) Set(service, user, password string) error {
	return keyring.Set(service, user, password)
}

func (osKeychain) Delete(service, user string) error {
	return keyring.Delete(service, user)
}

var _ backend = osKeychain{}

// errAbsent is what get and del return for a missing item; the public
// methods turn it into an error naming the secret that matches ErrNotFound.
var errAbsent = errors.New("item not found")

// errWithheld replaces a backend error whose message contained (part of) the
// data handed to the backend.
var errWithheld = errors.New("the keychain reported an error whose message is withheld because it contained secret data")

// call runs fn, one blocking backend call, in its own goroutine and waits
// for it, for ctx to end or for the store's timeout, whichever comes first.
// On timeout it returns ErrTimeout, on cancellation ctx.Err(). go-keyring
// calls cannot be interrupted, so a call that timed out keeps running in
// the background and may still take effect later: a timed-out Set may yet
// store its value and a timed-out Delete may yet delete. Callers should
// treat the outcome of such a call as unknown.
func (s *Store) call(ctx context.Context, fn func() (string, error)) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	type result struct {
		v   string
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned call must not leak its goroutine forever
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-timer.C:
		return "", ErrTimeout
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// get reads one raw item. A missing item gives errAbsent.
func (s *Store) get(ctx context.Context, item string) (string, error) {
	v, err := s.call(ctx, func() (string, error) { return s.backend.Get(s.service, item) })
	return v, s.backendErr(err, "")
}

// set writes one raw item. data is checked against the backend's error
// message so that the value never ends up in an error.
func (s *Store) set(ctx context.Context, item, data string) error {
	_, err := s.call(ctx, func() (string, error) { return "", s.backend.Set(s.service, item, data) })
	return s.backendErr(err, data)
}

// del removes one raw item. A missing item gives errAbsent.
func (s *Store) del(ctx context.Context, item string) error {
	_, err := s.call(ctx, func() (string, error) { return "", s.backend.Delete(s.service, item) })
	return s.backendErr(err, "")
}

// backendErr maps keyring.ErrNotFound to errAbsent and withholds errors
// whose text leaks data; the store's own ErrTimeout and context errors pass
// unchanged.
func (s *Store) backendErr(err error, data string) error {
	switch {
	case err == nil, errors.Is(err, ErrTimeout), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, keyring.ErrNotFound):
		return errAbsent
	case leaks(err.Error(), data):
		return errWithheld
	}
	return err
}

// leakWindow is the length of the substrings of secret data that leaks looks for.
const leakWindow = 12

// leaks reports whether msg contains data or any leakWindow-byte piece of
// it, so that an error quoting a truncated value is caught too.
func leaks(msg, data string) bool {
	if data == "" {
		return false
	}
	if len(data) <= leakWindow {
		return strings.Contains(msg, data)
	}
	for i := 0; i+leakWindow <= len(msg); i++ {
		if strings.Contains(data, msg[i:i+leakWindow]) {
			return true
		}
	}
	return false
}
