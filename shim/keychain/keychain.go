package keychain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// DefaultService is the keychain service under which secrets are stored
// unless configured otherwise (see [ServiceName]).
const DefaultService = "mcp-sandbox"

// EnvService names the environment variable that overrides the keychain
// service (see [ServiceName]).
const EnvService = "MCP_SANDBOX_KEYCHAIN_SERVICE"

// DefaultTimeout bounds each keychain call when [Options.Timeout] is zero.
const DefaultTimeout = 5 * time.Second

// ErrNotFound is matched (with errors.Is) by the error Get and Delete return
// for a secret that does not exist. The error itself names the secret and
// the service.
var ErrNotFound = errors.New("secret not found")

// ErrTimeout is matched by the error of any call that the keychain did not
// answer within [Options.Timeout]; typically the keychain is locked and
// waiting for a password prompt, or its daemon hangs. The platform call
// cannot be interrupted: it keeps running in the background and may still
// take effect after the error is returned, so the outcome of a timed-out
// Set or Delete is unknown.
var ErrTimeout = errors.New("keychain did not answer in time")

// ServiceName returns the keychain service to use, in this order:
//
//  1. $MCP_SANDBOX_KEYCHAIN_SERVICE, if set and non-empty;
//  2. configured (the config file's keychain_service), if non-empty;
//  3. [DefaultService].
//
// The environment wins over the config file so that test runs and a second
// installation can keep their secrets apart from the user's without editing
// any file.
func ServiceName(configured string) string {
	if s := os.Getenv(EnvService); s != "" {
		return s
	}
	if configured != "" {
		return configured
	}
	return DefaultService
}

// Options configures a [Store]. The zero value is ready to use: service
// [DefaultService], timeout [DefaultTimeout], no logging.
type Options struct {
	// Service is the keychain service holding the secrets; "" means
	// DefaultService. New does not consult the environment: pass
	// ServiceName(configured) to honour $MCP_SANDBOX_KEYCHAIN_SERVICE.
	Service string

	// Timeout bounds each keychain call; 0 means DefaultTimeout. One Get
	// or Set makes several calls (more for chunked values), each bounded
	// separately; the caller's context bounds the whole operation.
	Timeout time.Duration

	// Logger receives warnings about best-effort housekeeping that failed
	// (index updates, removal of stale chunks). It never sees a secret
	// value. nil means zerolog.Nop().
	Logger *zerolog.Logger

	// backend replaces the OS keychain in tests; nil means the OS keychain.
	backend backend
}

// Store reads and writes named secrets in the OS keychain under one
// service. It is safe for concurrent use, also by several processes (see
// [Store.Set]). Create it with [New].
type Store struct {
	service string
	timeout time.Duration
	log     zerolog.Logger
	backend backend
}

// New returns a store configured by opts. It does not touch the keychain.
func New(opts Options) *Store {
	s := &Store{
		service: opts.Service,
		timeout: opts.Timeout,
		log:     zerolog.Nop(),
		backend: opts.backend,
	}
	if s.service == "" {
		s.service = DefaultService
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if opts.Logger != nil {
		s.log = opts.Logger.With().Str("component", "keychain").Str("service", s.service).Logger()
	}
	if s.backend == nil {
		s.backend = osKeychain{}
	}
	return s
}

// Service returns the keychain service the store uses.
func (s *Store) Service() string { return s.service }

// notFoundError reports a missing secret; it matches ErrNotFound.
type notFoundError struct{ name, service string }

func (e *notFoundError) Error() string {
	return fmt.Sprintf("secret %q not found in keychain service %q", e.name, e.service)
}

func (e *notFoundError) Unwrap() error { return ErrNotFound }

// opError adds the operation and the secret's name (if any) to err, turning
// errAbsent into a notFoundError and annotating ErrTimeout with the timeout.
func (s *Store) opError(op, name string, err error) error {
	if name != "" {
		if errors.Is(err, errAbsent) {
			return &notFoundError{name: name, service: s.service}
		}
		op = fmt.Sprintf("%s %q", op, name)
	}
	if errors.Is(err, ErrTimeout) {
		return fmt.Errorf("%s (waited %s): %w", op, s.timeout, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Get returns the value of the secret name. A missing secret gives an error
// matching [ErrNotFound]; a chunked value whose pieces are missing or do not
// match its checksum gives an error saying the value is damaged.
func (s *Store) Get(ctx context.Context, name string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	v, err := s.read(ctx, name)
	if err != nil {
		return "", s.opError("get secret", name, err)
	}
	return v, nil
}

// read returns the value stored under item. A reader racing with a writer
// that replaces a chunked value may find the old pieces already removed;
// read then starts over with the new header, a few times.
func (s *Store) read(ctx context.Context, item string) (string, error) {
	var lastErr error
	lastHeader := ""
	for range 3 {
		raw, err := s.get(ctx, item)
		if err != nil {
			return "", err
		}
		v, h, chunked, err := decode(raw)
		if err != nil || !chunked {
			return v, err
		}
		if raw == lastHeader { // unchanged since the last failure: really damaged
			break
		}
		v, err = s.readPieces(ctx, item, h)
		if !errors.Is(err, errDamaged) {
			return v, err
		}
		lastErr, lastHeader = err, raw
	}
	return "", lastErr
}

func (s *Store) readPieces(ctx context.Context, item string, h header) (string, error) {
	pieces := make([]string, h.n)
	for i := range pieces {
		p, err := s.get(ctx, h.pieceName(item, i+1))
		if errors.Is(err, errAbsent) {
			return "", fmt.Errorf("chunk %d of %d is missing: %w", i+1, h.n, errDamaged)
		}
		if err != nil {
			return "", fmt.Errorf("chunk %d of %d: %w", i+1, h.n, err)
		}
		pieces[i] = p
	}
	return assemble(h, pieces)
}

// Set stores value under name, replacing any previous value, and records
// name in the index that [Store.List] reads.
//
// The value is written first and the index afterwards; if only the index
// update fails (for example because another process updates it at the same
// moment and keeps winning), the value is stored, Set returns nil and the
// failure is logged: List then misses the name until it is set again. Two
// processes setting the same name at once each store a complete value and
// the last writer wins; chunks of the loser may stay behind as unreferenced
// items.
//
// Set bounds each keychain call by the store's timeout. If a call times out
// the value may or may not be stored (see [ErrTimeout]).
func (s *Store) Set(ctx context.Context, name, value string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if len(value) > maxValue {
		return fmt.Errorf("set secret %q: value is %d bytes; the limit is %d", name, len(value), maxValue)
	}
	if err := s.write(ctx, name, value); err != nil {
		if leaks(err.Error(), value) { // defence in depth; set already checks each piece
			err = errWithheld
		}
		return s.opError("set secret", name, err)
	}
	if err := s.updateIndex(ctx, name, true); err != nil {
		s.log.Warn().Err(err).Str("secret", name).Msg("secret stored, but the index List reads was not updated")
	}
	return nil
}

// write stores value under item (plain or chunked) and removes the pieces
// of the value it replaces.
func (s *Store) write(ctx context.Context, item, value string) error {
	old, err := s.oldHeader(ctx, item)
	if err != nil {
		return err
	}
	st := encode(value)
	if !st.chunked {
		if err := s.set(ctx, item, st.plain); err != nil {
			return err
		}
	} else {
		for i, p := range st.pieces {
			if err := s.set(ctx, st.header.pieceName(item, i+1), p); err != nil {
				s.abandonPieces(ctx, item, st.header, i, err)
				return fmt.Errorf("chunk %d of %d: %w", i+1, st.header.n, err)
			}
		}
		// The header is the commit point: until it is written readers
		// see the old value.
		if err := s.set(ctx, item, st.header.String()); err != nil {
			s.abandonPieces(ctx, item, st.header, st.header.n, err)
			return err
		}
	}
	if old != nil {
		s.removePieces(ctx, item, *old, old.n)
	}
	return nil
}

// oldHeader returns the header stored under item, or nil if the item is
// missing, plain or not a readable header.
func (s *Store) oldHeader(ctx context.Context, item string) (*header, error) {
	raw, err := s.get(ctx, item)
	if errors.Is(err, errAbsent) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, h, chunked, err := decode(raw); chunked && err == nil {
		return &h, nil
	}
	return nil, nil
}

// removePieces deletes pieces 1..n of h, best effort: it carries on after
// the caller's context ends (the pieces are garbage either way), stops at
// the first failure other than a missing piece and logs it.
func (s *Store) removePieces(ctx context.Context, item string, h header, n int) {
	ctx = context.WithoutCancel(ctx)
	for i := 1; i <= n; i++ {
		if err := s.del(ctx, h.pieceName(item, i)); err != nil && !errors.Is(err, errAbsent) {
			s.log.Warn().Err(err).Str("item", item).Int("chunks", n).Msg("could not remove stale chunks")
			return
		}
	}
}

// abandonPieces removes pieces 1..n of a write that failed with err, unless
// the keychain hangs or the caller gave up: then the cleanup would only
// delay the error, and unreferenced pieces do no harm.
func (s *Store) abandonPieces(ctx context.Context, item string, h header, n int, err error) {
	if ctx.Err() != nil || errors.Is(err, ErrTimeout) {
		s.log.Warn().Str("item", item).Int("chunks", n).Msg("leaving the chunks of an interrupted write behind")
		return
	}
	s.removePieces(ctx, item, h, n)
}

// Delete removes the secret name, all of its chunks and its index entry.
// A missing secret gives an error matching [ErrNotFound] (its stale index
// entry, if any, is still removed).
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	err := s.remove(ctx, name)
	if err == nil || errors.Is(err, errAbsent) {
		if ierr := s.updateIndex(ctx, name, false); ierr != nil {
			s.log.Warn().Err(ierr).Str("secret", name).Msg("index entry not removed")
		}
	}
	if err != nil {
		return s.opError("delete secret", name, err)
	}
	return nil
}

// remove deletes item and, if it was chunked, its pieces. The main item
// goes first so that no reader ever sees a header without its pieces.
func (s *Store) remove(ctx context.Context, item string) error {
	old, err := s.oldHeader(ctx, item)
	if err != nil {
		return err
	}
	if old == nil {
		// The item may still exist (plain): delete reports whether it did.
		return s.del(ctx, item)
	}
	if err := s.del(ctx, item); err != nil {
		return err
	}
	s.removePieces(ctx, item, *old, old.n)
	return nil
}

// List returns the names of the secrets stored through this package under
// the store's service, sorted. Secrets created with other tools are not
// listed (the keychain APIs used cannot enumerate items); a name whose
// secret was deleted by another tool may still be listed. An empty store
// gives an empty list and no error.
func (s *Store) List(ctx context.Context) ([]string, error) {
	names, err := s.readIndex(ctx)
	if err != nil {
		return nil, s.opError("list secrets", "", err)
	}
	return names, nil
}
