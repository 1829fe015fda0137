// Command mcp-sandbox runs MCP servers in a locked-down Docker container (or
// reaches remote ones over OAuth) and relays MCP between them and the host
// that started it, filtering what the model may use by a TOML profile.
//
// An MCP host registers it as a server's command:
//
//	{"mcpServers": {"github": {"command": "mcp-sandbox", "args": ["run", "github"]}}}
//
// Run "mcp-sandbox help" for the subcommands.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(Main(context.Background(), os.Args[1:], SystemStreams()))
}
