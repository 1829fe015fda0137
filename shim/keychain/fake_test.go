package keychain

import (
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/zalando/go-keyring"
)

// fakeKeychain is an in-memory backend. before, if set, runs before each
// call (without the lock held, so it may block or call the store again)
// and its error fails the call; after runs after a successful Set.
type fakeKeychain struct {
	mu     sync.Mutex
	items  map[string]string // service + "\x00" + user -> value
	calls  int
	before func(op, service, user, data string) error
	after  func(op, service, user string)
}

func newFake() *fakeKeychain { return &fakeKeychain{items: map[string]string{}} }

func (f *fakeKeychain) hook(op, service, user, data string) error {
	f.mu.Lock()
	f.calls++
	before := f.before
	f.mu.Unlock()
	if before != nil {
		return before(op, service, user, data)
	}
	return nil
}

func (f *fakeKeychain) Get(service, user string) (string, error) {
	if err := f.hook("get", service, user, ""); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[service+"\x00"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (f *fakeKeychain) Set(service, user, password string) error {
	if err := f.hook("set", service, user, password); err != nil {
		return err
	}
	f.mu.Lock()
	f.items[service+"\x00"+user] = password
	after := f.after
	f.mu.Unlock()
	if after != nil {
		after("set", service, user)
	}
	return nil
}

func (f *fakeKeychain) Delete(service, user string) error {
	if err := f.hook("delete", service, user, ""); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := service + "\x00" + user
	if _, ok := f.items[k]; !ok {
		return keyring.ErrNotFound
	}
	delete(f.items, k)
	return nil
}

// put and raw bypass the hooks, for arranging and inspecting state.
func (f *fakeKeychain) put(service, user, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[service+"\x00"+user] = v
}

func (f *fakeKeychain) raw(service, user string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[service+"\x00"+user]
	return v, ok
}

// users returns the sorted item names under service.
func (f *fakeKeychain) users(service string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var us []string
	for k := range f.items {
		if s, u, _ := strings.Cut(k, "\x00"); s == service {
			us = append(us, u)
		}
	}
	slices.Sort(us)
	return us
}

func (f *fakeKeychain) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

var errFakeBackend = errors.New("fake backend failure")
