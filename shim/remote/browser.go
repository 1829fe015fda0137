package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/rs/zerolog"
)

// systemBrowser opens URLs with $BROWSER or the platform's opener. The
// launched program's stdout and stderr go to out, never to os.Stdout.
type systemBrowser struct {
	out io.Writer
	log zerolog.Logger
}

// checkBrowserURL rejects anything but absolute http(s) URLs, so that a
// hostile authorization server cannot make the opener run file: or
// javascript: URLs.
func checkBrowserURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid authorization URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("refusing to open a non-http(s) URL (scheme %q)", u.Scheme)
	}
	return nil
}

// browserCommand returns the program and arguments that open rawURL.
func browserCommand(env, goos, rawURL string) (string, []string) {
	if fields := strings.Fields(env); len(fields) > 0 {
		args := fields[1:]
		substituted := false
		for i, a := range args {
			if strings.Contains(a, "%s") {
				args[i] = strings.ReplaceAll(a, "%s", rawURL)
				substituted = true
			}
		}
		if !substituted {
			args = append(args, rawURL)
		}
		return fields[0], args
	}
	switch goos {
	case "darwin":
		return "open", []string{rawURL}
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", rawURL}
	default:
		return "xdg-open", []string{rawURL}
	}
}

// Open starts the opener and returns once it has started; the program is
// reaped in the background.
func (b *systemBrowser) Open(ctx context.Context, rawURL string) error {
	if err := checkBrowserURL(rawURL); err != nil {
		return err
	}
	name, args := browserCommand(os.Getenv("BROWSER"), runtime.GOOS, rawURL)
	cmd := exec.Command(name, args...)
	cmd.Stdin = nil
	cmd.Stdout = b.out
	cmd.Stderr = b.out
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("no browser opener %q found", name)
		}
		return fmt.Errorf("start browser: %w", err)
	}
	go func() {
		if err := cmd.Wait(); err != nil {
			b.log.Debug().Err(err).Str("program", name).Msg("browser opener exited with an error")
		}
	}()
	return nil
}
