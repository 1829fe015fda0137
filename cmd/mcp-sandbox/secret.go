package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/mcp-sandbox/mcp-sandbox/shim/keychain"
	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

func cmdSecret(ctx context.Context, s Streams, args []string) error {
	var cf commonFlags
	fs := newFlagSet("secret", "set NAME | rm NAME | list", s, &cf)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return usagef("secret needs set, rm or list")
	}
	// The configuration only matters for keychain_service; a missing file is
	// fine for managing secrets.
	var service string
	if path, err := configPath(cf.config); err == nil {
		if _, statErr := os.Stat(path); statErr == nil {
			cfg, err := loadConfig(cf.config)
			if err != nil {
				return err
			}
			service = cfg.KeychainService
		}
	}
	store := keychain.New(keychain.Options{Service: keychain.ServiceName(service)})

	switch pos[0] {
	case "set":
		name, err := exactlyOne(pos[1:], "secret NAME")
		if err != nil {
			return err
		}
		if err := keychain.ValidName(name); err != nil {
			return usagef("%v", err)
		}
		value, err := readSecretValue(s, name)
		if err != nil {
			return err
		}
		if len(value) < redact.MinLength {
			// Caught here rather than at the next launch.
			return configErrorf("the value is shorter than %d bytes: it cannot be redacted safely from what the model sees, so it is not stored", redact.MinLength)
		}
		if err := store.Set(ctx, name, value); err != nil {
			return err
		}
		fmt.Fprintf(s.ErrOut, "stored secret %q in the keychain (service %q)\n", name, store.Service())
		return nil
	case "rm", "delete":
		name, err := exactlyOne(pos[1:], "secret NAME")
		if err != nil {
			return err
		}
		if err := store.Delete(ctx, name); err != nil {
			if errors.Is(err, keychain.ErrNotFound) {
				return configErrorf("no secret %q in the keychain (service %q)", name, store.Service())
			}
			return err
		}
		fmt.Fprintf(s.ErrOut, "removed secret %q\n", name)
		return nil
	case "list", "ls":
		if len(pos) > 1 {
			return usagef("secret list takes no arguments")
		}
		names, err := store.List(ctx)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(s.Out, n)
		}
		return nil
	default:
		return usagef("unknown secret command %q: want set, rm or list", pos[0])
	}
}

// readSecretValue reads a value from a no-echo prompt on a terminal, or from
// stdin otherwise (one trailing newline removed). Values never come from argv,
// where other users and shell history could see them.
func readSecretValue(s Streams, name string) (string, error) {
	if f, ok := s.In.(*os.File); ok && s.InTTY {
		fmt.Fprintf(s.ErrOut, "Value for %s (input hidden): ", name)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(s.ErrOut)
		if err != nil {
			return "", fmt.Errorf("reading the value: %w", err)
		}
		if len(b) == 0 {
			return "", errors.New("empty value: nothing stored")
		}
		return string(b), nil
	}
	b, err := io.ReadAll(io.LimitReader(s.In, 1<<20+1))
	if err != nil {
		return "", fmt.Errorf("reading the value from stdin: %w", err)
	}
	if len(b) > 1<<20 {
		return "", errors.New("value larger than 1 MiB")
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	if len(b) == 0 {
		return "", errors.New("empty value on stdin: nothing stored")
	}
	if strings.ContainsRune(string(b), 0) {
		return "", errors.New("value contains a NUL byte")
	}
	return string(b), nil
}
