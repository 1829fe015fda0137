package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "--browser" {
		if err := browse(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "browser:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: conformance MCP_SANDBOX_BINARY SERVER_URL | conformance --browser URL")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[len(os.Args)-1]); err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(1)
	}
}

func run(binary, serverURL string) error {
	dir, err := os.MkdirTemp("", "mcp-conformance-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	service := "mcp-sandbox-conformance-" + randHex(6)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	env := append(os.Environ(),
		"MCP_SANDBOX_KEYCHAIN_SERVICE="+service,
		"BROWSER="+self+" --browser",
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
	)

	// Like a user whose client ID metadata document is published, the
	// driver names one; servers that support CIMD then skip registration.
	oauth := "[servers.remote.oauth]\nclient_metadata_url = \"https://conformance-test.local/client-metadata.json\"\n"
	var ctxData struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if raw := os.Getenv("MCP_CONFORMANCE_CONTEXT"); raw != "" {
		_ = json.Unmarshal([]byte(raw), &ctxData)
	}
	if ctxData.ClientID != "" {
		oauth += fmt.Sprintf("client_id = %q\n", ctxData.ClientID)
		if ctxData.ClientSecret != "" {
			cmd := exec.Command(binary, "secret", "set", "client-secret", "--config", filepath.Join(dir, "none.toml"))
			cmd.Env = env
			cmd.Stdin = strings.NewReader(ctxData.ClientSecret)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("storing the client secret: %v: %s", err, out)
			}
			defer deleteSecret(binary, env, "client-secret")
			oauth += "client_secret = \"secret:client-secret\"\n"
		}
	}
	config := filepath.Join(dir, "mcp-sandbox.toml")
	body := fmt.Sprintf("[audit]\npath = \"off\"\n\n[servers.remote]\nurl = %q\n%s", serverURL, oauth)
	if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
		return err
	}

	cmd := exec.Command(binary, "run", "remote", "--config", config, "--no-watch", "--log-level", "debug")
	cmd.Env = env
	cmd.Stderr = os.Stderr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "mcp-sandbox-conformance-driver", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		return fmt.Errorf("initialize through mcp-sandbox: %w", err)
	}
	defer cs.Close()
	if _, err := cs.ListTools(ctx, nil); err != nil {
		return fmt.Errorf("tools/list: %w", err)
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "test-tool", Arguments: map[string]any{}}); err != nil {
		return fmt.Errorf("tools/call: %w", err)
	}
	return cs.Close()
}

func deleteSecret(binary string, env []string, name string) {
	cmd := exec.Command(binary, "secret", "rm", name)
	cmd.Env = env
	_ = cmd.Run()
}

// browse fetches an authorization URL and follows its redirects, delivering
// the code to mcp-sandbox's loopback callback. It only ever talks to loopback
// addresses.
func browse(raw string) error {
	check := func(u *url.URL) error {
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("refusing non-loopback URL %s", u.Redacted())
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if err := check(u); err != nil {
		return err
	}
	c := &http.Client{
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 10 {
				return errors.New("too many redirects")
			}
			return check(req.URL)
		},
	}
	resp, err := c.Get(raw)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%s: %s", resp.Request.URL.Redacted(), resp.Status)
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
