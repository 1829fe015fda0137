package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// EnvConfig names the configuration file when --config is not given.
const EnvConfig = "MCP_SANDBOX_CONFIG"

// configPath finds the configuration file: --config, then $MCP_SANDBOX_CONFIG,
// then the user config dir (e.g. ~/.config/mcp-sandbox/mcp-sandbox.toml). The
// working directory is never searched: a host starts us in a directory of its
// own choosing.
func configPath(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p := os.Getenv(EnvConfig); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no --config and no $%s, and no user config dir: %w", EnvConfig, err)
	}
	return filepath.Join(dir, "mcp-sandbox", "mcp-sandbox.toml"), nil
}

// loadConfig finds and loads the configuration.
func loadConfig(flagValue string) (*profiles.Config, error) {
	path, err := configPath(flagValue)
	if err != nil {
		return nil, &configError{err}
	}
	cfg, err := profiles.Load(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, configErrorf("no configuration at %s (give one with --config or $%s)", path, EnvConfig)
		}
		return nil, &configError{err}
	}
	return cfg, nil
}

// logSink is the writer behind the logger. Secret values are scrubbed from
// every line; the redactor is swapped in once the secrets are known.
type logSink struct {
	w   io.Writer
	red atomic.Pointer[redact.Redactor]
}

func (s *logSink) Write(p []byte) (int, error) {
	if r := s.red.Load(); r != nil {
		if _, err := r.Writer(s.w).Write(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return s.w.Write(p)
}

// newLogger returns the logger for a command: zerolog to stderr (console
// format on a terminal, JSON otherwise) or to --log-file (JSON), never stdout.
func newLogger(s Streams, cf commonFlags) (zerolog.Logger, *logSink, func(), error) {
	level, err := zerolog.ParseLevel(strings.ToLower(cf.logLevel))
	if err != nil || cf.logLevel == "" {
		return zerolog.Nop(), nil, nil, usagef("bad --log-level %q: want debug, info, warn or error", cf.logLevel)
	}
	var w io.Writer = s.ErrOut
	closer := func() {}
	if cf.logFile != "" {
		if err := os.MkdirAll(filepath.Dir(cf.logFile), 0o700); err != nil {
			return zerolog.Nop(), nil, nil, err
		}
		f, err := os.OpenFile(cf.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return zerolog.Nop(), nil, nil, fmt.Errorf("log file: %w", err)
		}
		w, closer = f, func() { f.Close() }
	} else if s.ErrTTY {
		w = zerolog.ConsoleWriter{Out: s.ErrOut, TimeFormat: time.TimeOnly}
	}
	sink := &logSink{w: w}
	log := zerolog.New(sink).Level(level).With().Timestamp().Logger()
	return log, sink, closer, nil
}

// keychainStore opens the OS keychain under the configured service name.
func keychainStore(cfg *profiles.Config) *keychain.Store {
	service := ""
	if cfg != nil {
		service = cfg.KeychainService
	}
	return keychain.New(keychain.Options{Service: keychain.ServiceName(service)})
}

// stateDir is where mcp-sandbox keeps per-user state such as the audit log:
// $XDG_STATE_HOME/mcp-sandbox, ~/.local/state/mcp-sandbox, or on macOS
// ~/Library/Logs/mcp-sandbox and on Windows %LocalAppData%\mcp-sandbox.
func stateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "mcp-sandbox"), nil
	}
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "mcp-sandbox"), nil
		}
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Logs", "mcp-sandbox"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state", "mcp-sandbox"), nil
}

// auditPath returns where audit lines go, or "" when auditing is off.
func auditPath(cfg *profiles.Config) (string, error) {
	if cfg.Audit.Disabled {
		return "", nil
	}
	switch p := cfg.Audit.Path; p {
	case "":
		dir, err := stateDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(dir, "audit.jsonl"), nil
	default:
		return p, nil
	}
}
