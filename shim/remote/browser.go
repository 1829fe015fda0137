package remote

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/shim/internal/browser"
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

// Open starts the opener and returns once it has started; the program is
// reaped in the background.
func (b *systemBrowser) Open(ctx context.Context, rawURL string) error {
	if err := checkBrowserURL(rawURL); err != nil {
		return err
	}
	return browser.Open(ctx, rawURL, b.out, 0, func(err error) {
		if err != nil {
			b.log.Debug().Err(err).Msg("browser opener exited with an error")
		}
	})
}
