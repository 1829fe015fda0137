package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Command returns the program and arguments that open u: $BROWSER (env) if
// set, else the opener of the platform goos.
func Command(env, goos, u string) (string, []string) {
	if fields := strings.Fields(env); len(fields) > 0 {
		args := fields[1:]
		substituted := false
		for i, a := range args {
			if strings.Contains(a, "%s") {
				args[i], substituted = strings.ReplaceAll(a, "%s", u), true
			}
		}
		if !substituted {
			args = append(args, u)
		}
		return fields[0], args
	}
	switch goos {
	case "darwin":
		return "open", []string{u}
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", u}
	}
	return "xdg-open", []string{u}
}

// Open starts the browser on u with its stdout and stderr going to out
// (never to os.Stdout, the MCP channel). With settle > 0 it waits that long
// for an opener that fails: one that exits with an error within settle is
// an error, one still running is a browser. The program is reaped in the
// background; exited, when not nil, gets how it ended.
func Open(ctx context.Context, u string, out io.Writer, settle time.Duration, exited func(error)) error {
	name, args := Command(os.Getenv("BROWSER"), runtime.GOOS, u)
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("no browser: %q not found (set $BROWSER)", name)
		}
		return fmt.Errorf("cannot start the browser %q: %v", name, err)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		if exited != nil {
			exited(err)
		}
		done <- err
	}()
	if settle <= 0 {
		return nil
	}
	t := time.NewTimer(settle)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("the browser %q failed: %v", name, err)
		}
	case <-t.C: // still running: a browser, not a failed opener
	case <-ctx.Done():
	}
	return nil
}
