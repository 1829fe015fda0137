package shim

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// TestUpstreamEndExplained: when the server's side ends, the host's pending
// call gets the upstream's explanation (exit status, last stderr lines),
// scrubbed of secrets, and a host that asked for log messages at a level
// that includes errors is sent one first.
func TestUpstreamEndExplained(t *testing.T) {
	const secret = "hunter2-hunter2"
	red, err := redact.New([]redact.Secret{{Name: "pw", Value: secret}})
	if err != nil {
		t.Fatal(err)
	}
	reason := "the server exited with status 3; last stderr: panic: " + secret + " | goroutine 1"
	for _, tt := range []struct {
		name     string
		setLevel string // "" sends no logging/setLevel
		notified bool
	}{
		{"asked for logs", "info", true},
		{"asked for errors only", "error", true},
		{"asked for critical only", "critical", false},
		{"never asked", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hostEnd, relayHost := memPipe()
			serverEnd, relayUp := memPipe()
			r := New(Options{Server: "probe", Redactor: red})
			done := make(chan error, 1)
			go func() {
				done <- r.Serve(context.Background(), relayHost, explainedUpstream{relayUp, reason})
			}()
			t.Cleanup(func() { relayHost.Close(); <-done })
			if tt.setLevel != "" {
				hostEnd.WriteMessage([]byte(`{"jsonrpc":"2.0","id":"lvl","method":"logging/setLevel","params":{"level":"` + tt.setLevel + `"}}`))
				next(t, serverEnd, "server")
				serverEnd.WriteMessage([]byte(`{"jsonrpc":"2.0","id":"lvl","result":{}}`))
				next(t, hostEnd, "host")
			}
			hostEnd.WriteMessage([]byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"sleep"}}`))
			next(t, serverEnd, "server")
			serverEnd.CloseWrite() // the server's stdout ends

			first := next(t, hostEnd, "host")
			if strings.Contains(string(first), secret) {
				t.Errorf("secret reached the host: %s", first)
			}
			if tt.notified {
				var n struct {
					Method string
					Params struct{ Level, Logger, Data string }
				}
				if err := json.Unmarshal(first, &n); err != nil || n.Method != "notifications/message" || n.Params.Level != "error" ||
					!strings.Contains(n.Params.Data, "status 3") || !strings.Contains(n.Params.Data, "[redacted:pw]") {
					t.Fatalf("first message %s, want an error log notification with the reason", first)
				}
				first = next(t, hostEnd, "host")
			}
			var resp errorResponse
			if err := json.Unmarshal(first, &resp); err != nil || string(resp.ID) != "7" {
				t.Fatalf("want the answer to 7, got %s", first)
			}
			for _, want := range []string{"probe", "closed the connection before answering: the server exited with status 3; last stderr: panic: [redacted:pw] | goroutine 1"} {
				if !strings.Contains(resp.Error.Message, want) {
					t.Errorf("error %q lacks %q", resp.Error.Message, want)
				}
			}
			if err := <-done; !errors.Is(err, ErrUpstreamClosed) {
				t.Errorf("Serve = %v, want ErrUpstreamClosed", err)
			}
			done <- nil
			quiet(t, hostEnd, "host")
		})
	}
}

// explainedUpstream is an Upstream whose ExitReason says reason.
type explainedUpstream struct {
	*memConn
	reason string
}

func (u explainedUpstream) ExitReason(error) error { return errors.New(u.reason) }
