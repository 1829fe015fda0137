package profiles

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrUnknownServer is returned (wrapped with the name asked for and the
// names that exist) by [Config.Server] and [Config.Policy] when the config
// has no server of that name.
var ErrUnknownServer = errors.New("unknown server")

// ErrUnknownProfile is returned (wrapped) by [Config.Policy] when the
// requested profile does not exist.
var ErrUnknownProfile = errors.New("unknown profile")

// An Error is one problem in a config file, located by 1-based line and
// column (columns count bytes, as the TOML library's do). When a file has
// several problems, [Parse] returns them all, sorted by position, joined
// with [errors.Join]; use [errors.As] or the Unwrap() []error method of the
// joined error to get at each one.
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
}

// Error formats the problem as "file:line:col: msg".
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// joinErrors sorts errs by position and joins them; it returns nil for no
// errors and the *Error itself for exactly one.
func joinErrors(errs []*Error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs = slices.CompactFunc(errs, func(a, b *Error) bool { return *a == *b })
	if len(errs) == 1 {
		return errs[0]
	}
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return errors.Join(joined...)
}
