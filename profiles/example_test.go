package profiles_test

import (
	"fmt"
	"log"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
)

func ExampleConfig_Policy() {
	cfg, err := profiles.Parse("mcp-sandbox.toml", []byte(`
[servers.github]
image   = "ghcr.io/github/github-mcp-server:latest"
profile = "readonly"

[profiles.readonly]
tools.allow = ["get_*", "list_*"]
tools.deny  = ["*delete*"]
`))
	if err != nil {
		log.Fatal(err)
	}
	pol, err := cfg.Policy("github", "")
	if err != nil {
		log.Fatal(err)
	}
	for _, tool := range []string{"get_issue", "create_issue", "get_DELETE_log"} {
		d := pol.Tool(tool)
		fmt.Printf("%-15s %-5v %s\n", tool, d.Allowed, d.Rule)
	}
	// Output:
	// get_issue       true  tools.allow "get_*"
	// create_issue    false not in tools.allow
	// get_DELETE_log  false tools.deny "*delete*"
}

func ExampleParse_errors() {
	_, err := profiles.Parse("mcp-sandbox.toml", []byte(`
[servers.x]
image = "x"
[servers.x.sandbox]
network = "host"
[profiles.p]
tools.alow = ["*"]
`))
	fmt.Println(err)
	// Output:
	// mcp-sandbox.toml:5:11: invalid network "host" (want none or bridge)
	// mcp-sandbox.toml:7:7: unknown key "alow" in tools rules (want allow, deny, approve)
}
