package main

import (
	"errors"
	"fmt"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// Exit codes. Hosts only look at zero or non-zero; people and scripts may
// want the difference. [exitCode] is the one place errors become codes.
const (
	exitOK       = 0
	exitError    = 1 // something failed at run time
	exitUsage    = 2 // bad command line
	exitConfig   = 3 // the configuration is invalid or names something missing
	exitUpstream = 4 // the MCP server failed or ended before the host did
)

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// configError is a problem with the configuration that is found outside
// package profiles: no file, a server of the wrong kind, a secret the
// keychain lacks.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func configErrorf(format string, a ...any) error { return &configError{fmt.Errorf(format, a...)} }

// upstreamError is the MCP server failing to start, connect or answer.
type upstreamError struct{ err error }

func (e *upstreamError) Error() string { return e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

func upstreamFailed(err error) error {
	if err == nil {
		return nil
	}
	return &upstreamError{err}
}

// exitCode maps err to the process exit code.
func exitCode(err error) int {
	var (
		ue *usageError
		up *upstreamError
		ce *configError
		pe *profiles.Error
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &up), errors.Is(err, shim.ErrUpstreamClosed):
		return exitUpstream
	case errors.As(err, &ce), errors.As(err, &pe),
		errors.Is(err, profiles.ErrUnknownServer), errors.Is(err, profiles.ErrUnknownProfile),
		errors.Is(err, keychain.ErrNotFound), errors.Is(err, redact.ErrTooShort):
		return exitConfig
	}
	return exitError
}
