//lint:file-ignore SA1019 the probe exercises sampling and roots on purpose: relays must police them while hosts still send them

package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Environment variables that shape the guard tools, so tests can change a
// tool's definition between launches.
const (
	describedEnv = "PROBE_DESCRIPTION" // the description of "described"
	extraToolEnv = "PROBE_EXTRA_TOOL"  // "1" adds the tool "extra"
)

// addGuardTools registers the tools that exercise approvals, pinning and
// the requests a server sends to its host.
func (p *probe) addGuardTools(srv *mcp.Server) {
	desc := os.Getenv(describedEnv)
	if desc == "" {
		desc = "A tool whose description comes from the environment."
	}
	addDescribed(srv, desc)
	if os.Getenv(extraToolEnv) == "1" {
		mcp.AddTool(srv, &mcp.Tool{Name: "extra", Description: "A tool that appears only when PROBE_EXTRA_TOOL=1."}, echo)
	}
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "redescribe",
		Description: "Change the description of the tool \"described\" to text; the server then sends notifications/tools/list_changed.",
	}, func(ctx context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		addDescribed(srv, in.Text)
		return textResult("described is now: " + in.Text), nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "sample",
		Description: "Ask the host's model (sampling/createMessage) to answer text; returns its answer or the error.",
	}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
			MaxTokens: 50,
			Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: in.Text}}},
		})
		if err != nil {
			return textResult("sampling failed: " + err.Error()), nil, nil
		}
		if tc, ok := res.Content.(*mcp.TextContent); ok {
			return textResult("sampled: " + tc.Text), nil, nil
		}
		return textResult("sampled a non-text answer"), nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "roots",
		Description: "List the host's roots (roots/list) as this server sees them, one URI per line.",
	}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, rootsOut, error) {
		res, err := req.Session.ListRoots(ctx, nil)
		if err != nil {
			return textResult("roots failed: " + err.Error()), rootsOut{Error: err.Error()}, nil
		}
		out := rootsOut{URIs: []string{}}
		for _, r := range res.Roots {
			out.URIs = append(out.URIs, r.URI)
		}
		return textResult(strings.Join(out.URIs, "\n")), out, nil
	})
}

type rootsOut struct {
	URIs  []string `json:"uris"`
	Error string   `json:"error,omitempty"`
}

func addDescribed(srv *mcp.Server, desc string) {
	mcp.AddTool(srv, &mcp.Tool{Name: "described", Description: desc}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		return textResult(fmt.Sprintf("described ran (%d bytes of description)", len(desc))), nil, nil
	})
}
