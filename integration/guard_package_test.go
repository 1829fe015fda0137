package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// askEverything is pkg-everything with echo held for approval.
const askEverything = `profile = "ask"

[profiles.ask]
tools.approve = ["echo"]
`

// TestApprovalEverythingTypeScript is the headline: the official
// TypeScript SDK host, declaring elicitation, on server-everything from its
// npm package with tools.approve = ["echo"]. The first echo is accepted and
// its reply comes back, the second is declined and refused by the relay, an
// unlisted tool runs without a question, and the audit has both answers.
func TestApprovalEverythingTypeScript(t *testing.T) {
	needNode(t) // skip (or fail) before the build
	e := newEverythingEnv(t, askEverything)
	var got tsApproval
	e.runTSHost(t, "ts-approve.mjs", &got, []string{"ECHO_ARG=message", "OTHER_TOOL=get-sum", `OTHER_ARGS={"a":2,"b":3}`, "CALLS_TOOL="}, "pkg-everything")
	if len(got.Questions) != 2 {
		t.Fatalf("questions %q, want two", got.Questions)
	}
	for _, want := range []string{"server: pkg-everything", "tool: echo", "first from typescript", `tools.approve "echo"`} {
		if !strings.Contains(got.Questions[0], want) {
			t.Errorf("first question lacks %q:\n%s", want, got.Questions[0])
		}
	}
	if len(got.First) != 1 || got.First[0].Text != "Echo: first from typescript" {
		t.Errorf("accepted echo: %+v", got.First)
	}
	if !strings.Contains(got.Second.Message, "decline") || !strings.Contains(got.Second.Message, `profile "ask"`) {
		t.Errorf("declined echo: %+v", got.Second)
	}
	if len(got.Time) != 1 || !strings.Contains(got.Time[0].Text, "5") {
		t.Errorf("get-sum: %+v", got.Time)
	}
	var rows []string
	for _, r := range readApprovalAudit(t, e.audit) {
		a := "-"
		if r.Approval != nil {
			a = r.Approval.Asked + "/" + r.Approval.Answer + " " + r.Approval.Channel
		}
		rows = append(rows, r.Name+" "+r.Decision+" "+a)
	}
	want := []string{
		"echo allowed elicitation/accept host ts-host/1.0.0",
		"echo blocked elicitation/decline host ts-host/1.0.0",
		"get-sum allowed -",
	}
	if !slices.Equal(rows, want) {
		t.Errorf("audit %q, want %q", rows, want)
	}
	e.assertNoServerContainers(t, "pkg-everything")
}

// TestApprovalEverythingNoWayToAsk: a host without elicitation and no
// usable browser gets server-everything's echo refused within seconds,
// saying why, while an unlisted tool still runs.
func TestApprovalEverythingNoWayToAsk(t *testing.T) {
	e := newEverythingEnv(t, askEverything)
	e.extraEnv = append(e.extraEnv, "BROWSER=/nonexistent/browser")
	cs, _ := e.connectServer(t, "pkg-everything")
	start := time.Now()
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "x"}})
	if err == nil || !strings.Contains(err.Error(), "could not ask") || !strings.Contains(err.Error(), "elicitation") {
		t.Errorf("call: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("refused after %v", d)
	}
	if got := callText(t, cs, "get-sum", map[string]any{"a": 2, "b": 3}); !strings.Contains(got, "5") {
		t.Errorf("get-sum: %q", got)
	}
	cs.Close()
	var rows []string
	for _, r := range readApprovalAudit(t, e.audit) {
		rows = append(rows, r.Name+" "+r.Decision)
	}
	if want := []string{"echo blocked", "get-sum allowed"}; !slices.Equal(rows, want) {
		t.Errorf("audit %q, want %q", rows, want)
	}
	e.assertNoServerContainers(t, "pkg-everything")
}

// newEverythingEnv is newPackageEnv with lines added to pkg-everything's
// table; the package image (shared with the package tests) is prepared
// first, so the host's connect does not wait for a build.
func newEverythingEnv(t *testing.T, everything string) *env {
	t.Helper()
	cli := needDocker(t)
	node := needNodeBase(t, cli)
	e := newEnv(t, "", packageServersWith(node, t.TempDir(), everything))
	e.prepare(t, "pkg-everything")
	return e
}
