package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// Streams are the process's standard streams. stdout carries MCP in `run`;
// everything meant for people goes to ErrOut.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY and ErrTTY tell whether In and ErrOut are terminals.
	InTTY, ErrTTY bool
}

// SystemStreams returns the process's real streams.
func SystemStreams() Streams {
	return Streams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY:  isatty.IsTerminal(os.Stdin.Fd()),
		ErrTTY: isatty.IsTerminal(os.Stderr.Fd()),
	}
}

type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, s Streams, args []string) error
}

func commands() []command {
	return []command{
		{"run", "NAME", "run server NAME for an MCP host, relaying MCP on stdin/stdout", cmdRun},
		{"tools", "NAME", "start server NAME and list its tools, marked allowed or hidden by its profile", cmdTools},
		{"trust", "NAME", "show how server NAME's tools differ from their pinned definitions and trust them", cmdTrust},
		{"prepare", "[NAME...]", "build or pull the servers' images ahead of time (all servers when none is named)", cmdPrepare},
		{"check", "", "validate the configuration and show each server's sandbox and policy", cmdCheck},
		{"secret", "set|rm|list [NAME]", "manage secrets in the OS keychain", cmdSecret},
		{"login", "NAME", "log in to remote server NAME now (OAuth in the browser)", cmdLogin},
		{"logout", "NAME", "revoke and forget remote server NAME's tokens", cmdLogout},
		{"status", "", "show the login state of each remote server", cmdStatus},
		{"install", "--client C [NAME…]", "register servers in an MCP host's configuration (all when none named)", cmdInstall},
		{"uninstall", "--client C [NAME…]", "remove mcp-sandbox entries from a host's configuration; --restore puts back its backup", cmdUninstall},
		{"import", "--client C [--yes]", "move a host's existing servers under mcp-sandbox (credentials to the keychain)", cmdImport},
		{"doctor", "", "check the configuration, Docker, the keychain and each server's image and secrets", cmdDoctor},
		{"clean", "NAME", "remove server NAME's old package images (--all: every one, --state: its state volume too)", cmdClean},
	}
}

// Main runs the command line args and returns the process exit code. Errors
// become exit codes here and nowhere else.
func Main(ctx context.Context, args []string, s Streams) int {
	err := dispatch(ctx, s, args)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(s.ErrOut, "mcp-sandbox: %v\n", err)
	code := exitCode(err)
	if code == exitUsage {
		fmt.Fprintln(s.ErrOut, "Run 'mcp-sandbox help' for usage.")
	}
	return code
}

func dispatch(ctx context.Context, s Streams, args []string) error {
	if len(args) == 0 {
		printUsage(s.ErrOut)
		return usagef("no command given")
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		if len(args) > 1 {
			return dispatch(ctx, s, []string{args[1], "--help"})
		}
		printUsage(s.Out)
		return nil
	case "-v", "--version", "-version", "version":
		fmt.Fprintf(s.Out, "mcp-sandbox %s\n", version)
		return nil
	case egressProxyCommand: // hidden: the egress sidecar's entrypoint
		return cmdEgressProxy(ctx, s, args[1:])
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, s, args[1:])
		}
	}
	return usagef("unknown command %q", args[0])
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `mcp-sandbox runs MCP servers in a locked-down container (or reaches remote
ones over OAuth) and relays MCP to the host that started it, filtering tools,
prompts and resources by a TOML profile.

Usage:
  mcp-sandbox COMMAND [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %-20s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprint(w, `
Flags common to the commands:
  --config PATH      configuration file (default: $MCP_SANDBOX_CONFIG, then
                     the user config dir's mcp-sandbox/mcp-sandbox.toml)
  --log-level LEVEL  debug, info, warn or error (default info)
  --log-file PATH    write logs to PATH instead of stderr

Register in an MCP host:
  {"mcpServers": {"NAME": {"command": "mcp-sandbox", "args": ["run", "NAME"]}}}

Run 'mcp-sandbox help COMMAND' for a command's flags.
`)
}

// commonFlags are the flags every command takes.
type commonFlags struct {
	config   string
	logLevel string
	logFile  string
}

func newFlagSet(name, usage string, s Streams, cf *commonFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.ErrOut)
	fs.Usage = func() {
		fmt.Fprintf(s.ErrOut, "Usage: mcp-sandbox %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	if cf != nil {
		fs.StringVar(&cf.config, "config", "", "configuration file `PATH`")
		fs.StringVar(&cf.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn, error")
		fs.StringVar(&cf.logFile, "log-file", "", "write logs to `PATH` instead of stderr")
	}
	return fs
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("run NAME --config x" as well as "run --config x NAME") and
// returns the positional ones. "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stops at the first non-flag, or after "--".
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseName parses the command line of a command that takes one server
// NAME: the common flags, those extra adds, and the name.
func parseName(cmd string, s Streams, args []string, extra func(*flag.FlagSet)) (string, commonFlags, error) {
	var cf commonFlags
	fs := newFlagSet(cmd, "NAME [flags]", s, &cf)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", cf, err
	}
	name, err := exactlyOne(pos, "server NAME")
	return name, cf, err
}

// exactlyOne returns the single positional argument NAME.
func exactlyOne(pos []string, what string) (string, error) {
	switch len(pos) {
	case 0:
		return "", usagef("missing %s", what)
	case 1:
		return pos[0], nil
	default:
		return "", usagef("unexpected arguments: %s", strings.Join(pos[1:], " "))
	}
}
