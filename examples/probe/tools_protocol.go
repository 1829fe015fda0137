package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	// maxBytes bounds the bytes tool (100 MiB); relay tests use up to 50 MB.
	maxBytes = 100 << 20
	// bytesPattern is what the bytes tool repeats: plain ASCII that needs no
	// JSON escaping, and not periodic in a power of two, so a dropped or
	// duplicated buffer shows up as a pattern break.
	bytesPattern = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	// progressInterval is how often sleep reports progress.
	progressInterval = 100 * time.Millisecond
)

// addProtocolTools registers the tools that exercise the MCP relay itself
// rather than the sandbox.
func (p *probe) addProtocolTools(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "echo",
		Description: "Return text unchanged.",
	}, echo)
	mcp.AddTool(srv, &mcp.Tool{
		Name: "sleep",
		Description: "Sleep ms milliseconds, sending a progress notification about every 100ms when the request has a " +
			"progress token. Cancellation ends it early with an error.",
	}, sleep)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "bytes",
		Description: "Return a text content of exactly n bytes: 0-9a-zA-Z repeated (n at most 100 MiB).",
	}, bytesTool)
	mcp.AddTool(srv, &mcp.Tool{
		Name: "notify",
		Description: "Send message as a logging notification (level info; sent only once the client has set a " +
			"logging level) and as a progress notification (when the request has a progress token), then return it.",
	}, notify)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "calls",
		Description: "List the tool names this server instance has received, in order, including this call.",
	}, p.callsTool)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "get_time",
		Description: "Return the current time.",
	}, getTime)
}

type echoIn struct {
	Text string `json:"text"`
}

func echo(ctx context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
	return textResult(in.Text), nil, nil
}

type sleepIn struct {
	MS int `json:"ms" jsonschema:"milliseconds to sleep"`
}

type sleepOut struct {
	SleptMS int64 `json:"slept_ms"`
}

// sleep waits in.MS milliseconds. When the client cancels the request
// (notifications/cancelled) the SDK cancels ctx and the tool returns a
// "cancelled" error.
func sleep(ctx context.Context, req *mcp.CallToolRequest, in sleepIn) (*mcp.CallToolResult, sleepOut, error) {
	total := time.Duration(in.MS) * time.Millisecond
	start := time.Now()
	done := time.NewTimer(total)
	defer done.Stop()
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	token := req.Params.GetProgressToken()
	for {
		select {
		case <-ctx.Done():
			return nil, sleepOut{}, fmt.Errorf("cancelled after %dms: %w", time.Since(start).Milliseconds(), ctx.Err())
		case <-done.C:
			slept := time.Since(start).Milliseconds()
			return textResult(fmt.Sprintf("slept %dms", slept)), sleepOut{SleptMS: slept}, nil
		case <-tick.C:
			if token == nil {
				continue
			}
			elapsed := time.Since(start)
			// A failed notification (client gone) must not end the sleep:
			// cancellation is signalled through ctx.
			_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
				ProgressToken: token,
				Progress:      float64(elapsed.Milliseconds()),
				Total:         float64(in.MS),
				Message:       fmt.Sprintf("slept %dms of %dms", elapsed.Milliseconds(), in.MS),
			})
		}
	}
}

type bytesIn struct {
	N int `json:"n" jsonschema:"exact length of the returned text in bytes"`
}

func bytesTool(ctx context.Context, _ *mcp.CallToolRequest, in bytesIn) (*mcp.CallToolResult, any, error) {
	if in.N < 0 || in.N > maxBytes {
		return nil, nil, fmt.Errorf("n must be between 0 and %d", maxBytes)
	}
	return textResult(patternBytes(in.N)), nil, nil
}

// patternBytes returns the first n bytes of bytesPattern repeated.
func patternBytes(n int) string {
	reps := n/len(bytesPattern) + 1
	return strings.Repeat(bytesPattern, reps)[:n]
}

type notifyIn struct {
	Message string `json:"message"`
}

type notifyOut struct {
	Message      string `json:"message"`
	ProgressSent bool   `json:"progress_sent" jsonschema:"a progress notification was sent (the request had a token)"`
}

func notify(ctx context.Context, req *mcp.CallToolRequest, in notifyIn) (*mcp.CallToolResult, notifyOut, error) {
	// Logging is deprecated in newer protocol versions but still what
	// relays must carry (and redact) today.
	//lint:ignore SA1019 the probe exercises logging notifications on purpose
	if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{
		Level:  "info",
		Logger: "probe",
		Data:   in.Message,
	}); err != nil {
		return nil, notifyOut{}, fmt.Errorf("send log notification: %w", err)
	}
	out := notifyOut{Message: in.Message}
	if token := req.Params.GetProgressToken(); token != nil {
		if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
			ProgressToken: token,
			Progress:      1,
			Total:         1,
			Message:       in.Message,
		}); err != nil {
			return nil, notifyOut{}, fmt.Errorf("send progress notification: %w", err)
		}
		out.ProgressSent = true
	}
	return textResult(in.Message), out, nil
}

type callsOut struct {
	Calls []string `json:"calls"`
}

func (p *probe) callsTool(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, callsOut, error) {
	calls := p.callHistory()
	return textResult(strings.Join(calls, "\n")), callsOut{Calls: calls}, nil
}

type timeOut struct {
	Time   string `json:"time" jsonschema:"RFC 3339 with nanoseconds, UTC"`
	UnixMS int64  `json:"unix_ms"`
}

func getTime(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, timeOut, error) {
	now := time.Now().UTC()
	out := timeOut{Time: now.Format(time.RFC3339Nano), UnixMS: now.UnixMilli()}
	return textResult(out.Time), out, nil
}
