package remote

import (
	"context"
	"fmt"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkToolCall compares one tools/call round trip through Conn (raw
// bytes in, raw bytes out) with the Go SDK's own client over the same
// loopback streamable HTTP server.
func BenchmarkToolCall(b *testing.B) {
	e := newMCPEnv(b, envOptions{})
	ctx := context.Background()

	b.Run("remote.Conn", func(b *testing.B) {
		c, err := Dial(ctx, newClient(b).options(e.URL))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		handshake(b, c)
		msgs := make([][]byte, b.N)
		for i := range msgs {
			msgs[i] = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`, i+1)
		}
		b.ResetTimer()
		for i := range b.N {
			if err := c.WriteMessage(msgs[i]); err != nil {
				b.Fatal(err)
			}
			if _, err := c.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("sdk.Client", func(b *testing.B) {
		client := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
		cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: e.URL, DisableStandaloneSSE: true}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hello"}}
		b.ResetTimer()
		for range b.N {
			if _, err := cs.CallTool(ctx, params); err != nil {
				b.Fatal(err)
			}
		}
	})
}
