package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	infoURI        = "probe://info"
	helloURI       = "file:///data/hello.txt"
	helloText      = "hello from probe\n"
	envURIPrefix   = "probe://env/"
	envURITemplate = envURIPrefix + "{name}"
)

// addPromptsAndResources registers the prompts and resources that profile
// filtering and redaction tests list, read and block.
func (p *probe) addPromptsAndResources(srv *mcp.Server) {
	srv.AddPrompt(&mcp.Prompt{
		Name:        "greeting",
		Description: "Greet someone by name.",
		Arguments:   []*mcp.PromptArgument{{Name: "name", Description: "who to greet", Required: true}},
	}, greetingPrompt)
	srv.AddPrompt(&mcp.Prompt{
		Name:        "secret_prompt",
		Description: "A message that contains the value of environment variable env (for redaction tests).",
		Arguments:   []*mcp.PromptArgument{{Name: "env", Description: "environment variable name", Required: true}},
	}, secretPrompt)

	srv.AddResource(&mcp.Resource{
		URI:         infoURI,
		Name:        "info",
		Description: "What this probe is: version, pid, OS.",
		MIMEType:    "text/plain",
	}, infoResource)
	srv.AddResource(&mcp.Resource{
		URI:         helloURI,
		Name:        "hello",
		Description: "A static greeting (not read from disk).",
		MIMEType:    "text/plain",
	}, helloResource)
	srv.AddResourceTemplate(&mcp.ResourceTemplate{
		URITemplate: envURITemplate,
		Name:        "env",
		Description: "The value of an environment variable.",
		MIMEType:    "text/plain",
	}, envResource)
}

func greetingPrompt(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	name := req.Params.Arguments["name"]
	return &mcp.GetPromptResult{
		Description: "a greeting",
		Messages: []*mcp.PromptMessage{{
			Role:    "user",
			Content: &mcp.TextContent{Text: fmt.Sprintf("Hello, %s!", name)},
		}},
	}, nil
}

func secretPrompt(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	env := req.Params.Arguments["env"]
	return &mcp.GetPromptResult{
		Description: "contains the value of " + env,
		Messages: []*mcp.PromptMessage{{
			Role:    "user",
			Content: &mcp.TextContent{Text: fmt.Sprintf("The value of %s is %s.", env, os.Getenv(env))},
		}},
	}, nil
}

func infoResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	text := fmt.Sprintf("probe %s (pid %d, %s/%s)\n", version, os.Getpid(), runtime.GOOS, runtime.GOARCH)
	return textResource(req.Params.URI, text), nil
}

func helloResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	return textResource(req.Params.URI, helloText), nil
}

func envResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	name, err := url.PathUnescape(strings.TrimPrefix(req.Params.URI, envURIPrefix))
	if err != nil || name == "" || !strings.HasPrefix(req.Params.URI, envURIPrefix) {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	value, ok := os.LookupEnv(name)
	if !ok {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	return textResource(req.Params.URI, value), nil
}

func textResource(uri, text string) *mcp.ReadResourceResult {
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "text/plain", Text: text}}}
}
