package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// webDriver is a minimal W3C WebDriver client for chromedriver driving
// headless Chromium.
type webDriver struct {
	t       *testing.T
	base    string
	session string
}

// needBrowser starts chromedriver with a headless Chromium of a fresh
// profile, skipping (or failing with MCP_SANDBOX_REQUIRE_BROWSER=1) when
// either is missing.
func needBrowser(t *testing.T) *webDriver {
	t.Helper()
	chromium, driver := "/usr/bin/chromium", "/usr/bin/chromedriver"
	for _, p := range []string{chromium, driver} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("MCP_SANDBOX_REQUIRE_BROWSER") == "1" {
				t.Fatalf("a browser is required (MCP_SANDBOX_REQUIRE_BROWSER=1) but %s is missing", p)
			}
			t.Skipf("%s missing; set MCP_SANDBOX_REQUIRE_BROWSER=1 to make this a failure", p)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(driver, fmt.Sprintf("--port=%d", port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	wd := &webDriver{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(wd.base + "/status")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver does not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args": []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
				"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir()},
		},
	}}}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	wd.do("POST", "/session", caps, &created)
	wd.session = created.SessionID
	t.Cleanup(func() { wd.do("DELETE", "/session/"+wd.session, nil, nil) })
	return wd
}

func (wd *webDriver) do(method, path string, body, out any) {
	wd.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, wd.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		wd.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		wd.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	if resp.StatusCode != 200 {
		wd.t.Fatalf("webdriver %s %s: %d %s", method, path, resp.StatusCode, env.Value)
	}
	if out != nil {
		if err := json.Unmarshal(env.Value, out); err != nil {
			wd.t.Fatalf("webdriver %s %s: %s: %v", method, path, env.Value, err)
		}
	}
}

func (wd *webDriver) open(url string) {
	wd.do("POST", "/session/"+wd.session+"/url", map[string]string{"url": url}, nil)
}

// text returns the text of the element with this id, "" when absent.
func (wd *webDriver) text(id string) string {
	var els []map[string]string
	wd.do("POST", "/session/"+wd.session+"/elements", map[string]string{"using": "css selector", "value": "#" + id}, &els)
	if len(els) == 0 {
		return ""
	}
	var s string
	for _, ref := range els[0] {
		wd.do("GET", "/session/"+wd.session+"/element/"+ref+"/text", nil, &s)
	}
	return s
}

func (wd *webDriver) click(id string) {
	var el map[string]string
	wd.do("POST", "/session/"+wd.session+"/element", map[string]string{"using": "css selector", "value": "#" + id}, &el)
	for _, ref := range el {
		wd.do("POST", "/session/"+wd.session+"/element/"+ref+"/click", map[string]any{}, nil)
	}
}

// approvalURLs is a $BROWSER that writes each URL it is given to a file.
func approvalURLs(t *testing.T, e *env) func(n int) string {
	file := filepath.Join(e.dir, "urls")
	script := filepath.Join(e.dir, "browser.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$1\" >> "+file+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.extraEnv = append(e.extraEnv, "BROWSER="+script)
	return func(n int) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			b, _ := os.ReadFile(file)
			lines := strings.Fields(string(b))
			if len(lines) >= n {
				return lines[n-1]
			}
			if time.Now().After(deadline) {
				t.Fatalf("no approval URL #%d was opened", n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestApprovalPageBrowser: a host without elicitation; headless Chromium
// opens the approval page, sees the evidence and clicks Allow, and the call
// runs; Deny, a replayed link, a wrong token and an expired page refuse.
func TestApprovalPageBrowser(t *testing.T) {
	wd := needBrowser(t)
	e := newEnv(t, `profile = "ask"`, `
[profiles.ask]
tools.approve = ["echo"]
`)
	url := approvalURLs(t, e)
	s := e.connect()
	call := func(text string) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": text}})
			done <- err
		}()
		return done
	}

	done := call("shown in the browser")
	first := url(1)
	if !strings.HasPrefix(first, "http://127.0.0.1:") {
		t.Fatalf("approval URL %q is not loopback", first)
	}
	wd.open(first)
	if got := wd.text("tool"); got != "echo" {
		t.Errorf("page shows tool %q", got)
	}
	if got := wd.text("arguments"); !strings.Contains(got, "shown in the browser") {
		t.Errorf("page shows arguments %q", got)
	}
	if got := wd.text("rule"); !strings.Contains(got, `tools.approve "echo"`) {
		t.Errorf("page shows rule %q", got)
	}
	wd.click("allow")
	if err := <-done; err != nil {
		t.Fatalf("allowed call: %v", err)
	}
	if got := wd.text("title"); got != "Allowed" {
		t.Errorf("after Allow the page says %q", got)
	}

	// The link works once.
	wd.open(first)
	if got := wd.text("title"); got != "Already answered" || wd.text("allow") != "" {
		t.Errorf("replayed link: %q", got)
	}

	done = call("deny me")
	second := url(2)
	wd.open(second[:len(second)-2] + "xx")
	if got := wd.text("title"); got != "Unknown approval link" {
		t.Errorf("wrong token: %q", got)
	}
	wd.open(second)
	wd.click("deny")
	if err := <-done; err == nil || !strings.Contains(err.Error(), "deny") || !strings.Contains(err.Error(), `profile "ask"`) {
		t.Errorf("denied call: %v", err)
	}
	s.Close()
	waitExit(t, s.cmd, 30*time.Second)

	// An expired page.
	e.writeConfig(`profile = "ask"`, `
[profiles.ask]
tools.approve = ["echo"]
approval_timeout = "1s"
`)
	s = e.connect()
	done = call("too late")
	third := url(3)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "approval_timeout") {
		t.Errorf("expired call: %v", err)
	}
	wd.open(third)
	if got := wd.text("title"); got != "Expired" || wd.text("allow") != "" {
		t.Errorf("expired page: %q", got)
	}
	var calls struct {
		Calls []string `json:"calls"`
	}
	structured(t, s.call(t, "calls", nil), &calls)
	if len(calls.Calls) != 1 {
		t.Errorf("the second server received %v, want only calls", calls.Calls)
	}
}
