package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"
)

// version is reported in the MCP initialize result and by --version.
const version = "0.1.0"

// sleepChildFlag is the hidden flag the fork tool passes when it re-executes
// the probe binary: the child only sleeps, never serves MCP.
const sleepChildFlag = "sleep-child"

// maxInboundFrame caps one inbound JSON-RPC message. It is well above the
// SDK's 16 MiB default so relay tests can push large requests (an echo of
// 50 MB) through the sandbox to this server.
const maxInboundFrame = 128 << 20

const instructions = `probe reports what its sandbox lets an MCP server do.
Call identity for uid/capabilities/seccomp/read-only root, write_file, read_file and dial to test reach,
fork and alloc to test process and memory limits. Tools report refusals as data, not errors.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program behind main: it parses args, then serves MCP over
// the process's stdin/stdout until the client hangs up or ctx ends. stdout is
// written only for --version; everything else goes to stderr. It returns the
// process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	sleepChild := fs.Duration(sleepChildFlag, 0, "")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: probe [--version]\n\nServes MCP over stdio; see the README.\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "probe: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, version)
		return 0
	}
	if *sleepChild > 0 {
		// A fork-tool child: hold a process slot until killed or timed out.
		t := time.NewTimer(*sleepChild)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		return 0
	}

	logger := zerolog.New(stderr).With().Timestamp().Str("server", "probe").Logger()
	srv := newServer(&options{Logger: &logger})
	logger.Info().Int("pid", os.Getpid()).Str("version", version).Msg("serving MCP on stdio")
	err := srv.Run(ctx, &mcp.StdioTransport{MaxLineLength: maxInboundFrame})
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error().Err(err).Msg("server stopped")
		return 1
	}
	logger.Info().Msg("client disconnected")
	return 0
}

// options configures newServer. The zero value (or a nil *options) is what
// the binary uses.
type options struct {
	// Logger receives diagnostics (alloc progress, fork results). nil means
	// zerolog.Nop(). It must not write to stdout.
	Logger *zerolog.Logger
	// Exit ends the process for the crash tool. nil means os.Exit.
	Exit func(code int)
	// RootDir is where identity tries to create a file to decide whether the
	// root filesystem is read-only. Empty means "/".
	RootDir string
}

// probe holds the state of one server instance. It is shared by all sessions
// of that instance.
type probe struct {
	log     zerolog.Logger
	exit    func(code int)
	rootDir string

	forkMu sync.Mutex // serializes fork batches; see probe.fork

	mu    sync.Mutex
	calls []string // tool names received by tools/call, in arrival order
}

// newServer builds the probe MCP server with every tool, prompt and resource
// registered. opts may be nil.
func newServer(opts *options) *mcp.Server {
	if opts == nil {
		opts = &options{}
	}
	p := &probe{log: zerolog.Nop(), exit: os.Exit, rootDir: "/"}
	if opts.Logger != nil {
		p.log = *opts.Logger
	}
	if opts.Exit != nil {
		p.exit = opts.Exit
	}
	if opts.RootDir != "" {
		p.rootDir = opts.RootDir
	}

	srv := mcp.NewServer(&mcp.Implementation{Name: "probe", Version: version}, &mcp.ServerOptions{
		Instructions: instructions,
	})
	srv.AddReceivingMiddleware(p.recordCalls)
	p.addSystemTools(srv)
	p.addLimitTools(srv)
	p.addProtocolTools(srv)
	p.addGuardTools(srv)
	p.addPromptsAndResources(srv)
	return srv
}

// recordCalls is receiving middleware that notes the name of every
// tools/call before it is dispatched, including calls to tools that do not
// exist, so that the calls tool reflects exactly what reached this server.
func (p *probe) recordCalls(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method == "tools/call" {
			if params, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok {
				p.mu.Lock()
				p.calls = append(p.calls, params.Name)
				p.mu.Unlock()
			}
		}
		return next(ctx, method, req)
	}
}

// callHistory returns a copy of the tool names received so far.
func (p *probe) callHistory() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.calls...)
}

// textResult is a tool result carrying one text content.
func textResult(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}
