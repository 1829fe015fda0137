package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	// maxFork bounds the fork tool so one call cannot fork-bomb an
	// unconfined host.
	maxFork = 4096
	// maxAllocMB bounds the alloc tool (64 GiB).
	maxAllocMB = 64 << 10
	// childLifetime is how long a fork child sleeps if nobody kills it (for
	// instance because the probe itself was killed mid-call).
	childLifetime = "60s"
)

// addLimitTools registers the tools that push against process and memory
// limits, and crash.
func (p *probe) addLimitTools(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{
		Name: "fork",
		Description: "Try to start n sleeping child processes; report how many started before the kernel refused " +
			"(EAGAIN under a pids limit). All children are killed and reaped before the call returns.",
	}, p.fork)
	mcp.AddTool(srv, &mcp.Tool{
		Name: "alloc",
		Description: "Allocate and touch mb MiB of memory in 1 MiB chunks, then release it. " +
			"Under a memory limit the kernel may kill the probe instead of replying.",
	}, p.alloc)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "crash",
		Description: "Exit the process immediately with code (default 3) without replying.",
	}, p.crash)
}

type forkIn struct {
	N int `json:"n" jsonschema:"number of children to try to start (at most 4096)"`
}

type forkOut struct {
	Started int    `json:"started" jsonschema:"children that started before the first failure"`
	Error   string `json:"error,omitempty" jsonschema:"the failure that stopped the loop, if any"`
	EAGAIN  bool   `json:"eagain" jsonschema:"the failure was EAGAIN (resource temporarily unavailable)"`
	PIDs    []int  `json:"pids" jsonschema:"process ids of the children, all reaped by now"`
}

// fork starts up to n copies of this binary in sleep-child mode. The Go
// runtime cannot fork without exec, so each child is a fresh exec of
// os.Executable (on Linux /proc/self/exe, which works in a scratch image).
func (p *probe) fork(ctx context.Context, _ *mcp.CallToolRequest, in forkIn) (*mcp.CallToolResult, forkOut, error) {
	if in.N < 0 || in.N > maxFork {
		return nil, forkOut{}, fmt.Errorf("n must be between 0 and %d", maxFork)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, forkOut{}, fmt.Errorf("find own executable: %w", err)
	}
	// Under a pids limit every thread counts, and the Go runtime dies if it
	// cannot create a thread it needs. So only one batch fills the table at
	// a time, and spare threads are started while there is still room; the
	// runtime keeps them idle for later reuse.
	p.forkMu.Lock()
	defer p.forkMu.Unlock()
	prewarmThreads()

	attr := &os.ProcAttr{
		// The children must never touch the MCP channel, and a child that
		// cannot start a thread at the limit should not fill our stderr with
		// its crash report, so it gets no files (its runtime substitutes
		// /dev/null).
		Files: nil,
		// One P keeps each child to as few threads (pids) as possible.
		Env: append(os.Environ(), "GOMAXPROCS=1"),
		Sys: childSysProcAttr(),
	}
	var children []*os.Process
	out := forkOut{PIDs: []int{}}
	for range in.N {
		if ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		var child *os.Process
		child, err = os.StartProcess(exe, []string{exe, "--" + sleepChildFlag, childLifetime}, attr)
		if err != nil {
			break
		}
		children = append(children, child)
		out.PIDs = append(out.PIDs, child.Pid)
	}
	out.Started = len(children)
	if err != nil {
		out.Error = err.Error()
		out.EAGAIN = errors.Is(err, syscall.EAGAIN)
	}

	// Kill and reap every child so no zombie outlives the call.
	for _, c := range children {
		if kerr := c.Kill(); kerr != nil && !errors.Is(kerr, os.ErrProcessDone) {
			p.log.Warn().Err(kerr).Int("pid", c.Pid).Msg("fork: kill child")
		}
		if _, werr := c.Wait(); werr != nil {
			p.log.Warn().Err(werr).Int("pid", c.Pid).Msg("fork: reap child")
		}
	}
	ev := p.log.Info().Int("asked", in.N).Int("started", out.Started)
	if out.Error != "" {
		ev = ev.Str("error", out.Error)
	}
	ev.Msg("fork done")

	text := fmt.Sprintf("started %d of %d children", out.Started, in.N)
	if out.Error != "" {
		text += "; stopped by: " + out.Error
	}
	return textResult(text), out, nil
}

type allocIn struct {
	MB int `json:"mb" jsonschema:"MiB to allocate and touch"`
}

type allocOut struct {
	AllocatedMB int  `json:"allocated_mb"`
	OK          bool `json:"ok" jsonschema:"all mb MiB were allocated and touched"`
}

// allocChunk is the unit alloc allocates and touches, and pageSize the
// stride at which it writes so every page becomes resident.
const (
	allocChunk = 1 << 20
	pageSize   = 4096
)

// alloc allocates in.MB MiB chunk by chunk, writing to every page so the
// memory is really resident (an untouched allocation costs nothing under a
// cgroup limit). Progress goes to stderr so that, if the kernel OOM-kills the
// probe, its log shows how far it got.
func (p *probe) alloc(ctx context.Context, _ *mcp.CallToolRequest, in allocIn) (*mcp.CallToolResult, allocOut, error) {
	if in.MB < 0 || in.MB > maxAllocMB {
		return nil, allocOut{}, fmt.Errorf("mb must be between 0 and %d", maxAllocMB)
	}
	chunks := make([][]byte, 0, in.MB)
	for i := range in.MB {
		if ctx.Err() != nil {
			break
		}
		c := make([]byte, allocChunk)
		for j := 0; j < len(c); j += pageSize {
			c[j] = byte(i + 1)
		}
		chunks = append(chunks, c)
		if n := i + 1; n%64 == 0 || n == in.MB {
			p.log.Info().Int("allocated_mb", n).Int("target_mb", in.MB).Msg("alloc progress")
		}
	}
	out := allocOut{AllocatedMB: len(chunks), OK: len(chunks) == in.MB}
	// chunks is dead from here on; return the memory before the next call.
	debug.FreeOSMemory()
	text := fmt.Sprintf("allocated and touched %d of %d MiB", out.AllocatedMB, in.MB)
	if ctx.Err() != nil {
		text += " (cancelled)"
	}
	return textResult(text), out, nil
}

type crashIn struct {
	Code *int `json:"code,omitempty" jsonschema:"exit code; default 3"`
}

// crash exits without replying, to let tests exercise "server died mid-call".
func (p *probe) crash(ctx context.Context, _ *mcp.CallToolRequest, in crashIn) (*mcp.CallToolResult, any, error) {
	code := 3
	if in.Code != nil {
		code = *in.Code
	}
	p.log.Warn().Int("code", code).Msg("crash requested; exiting without reply")
	p.exit(code)
	// Only reached when options.Exit does not exit (tests).
	return textResult(fmt.Sprintf("exit(%d) did not exit", code)), nil, nil
}
