package approvalpage

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mcp-sandbox/mcp-sandbox/shim"
)

// ask starts a question on p and returns the URL the opener got and a
// channel with the answer.
func ask(t *testing.T, p *Page, timeout time.Duration) (string, chan shim.Answer, chan error) {
	t.Helper()
	urls := make(chan string, 1)
	p.opts.Open = func(_ context.Context, u string) error { urls <- u; return nil }
	ans, errs := make(chan shim.Answer, 1), make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	go func() {
		a, err := p.Ask(ctx, shim.Question{Server: "probe", Profile: "p", Tool: "echo", Rule: `tools.approve "echo"`,
			Arguments: `{"text":"<b>hi</b>"}`, Deadline: time.Now().Add(timeout)})
		ans <- a
		errs <- err
	}()
	return <-urls, ans, errs
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var formToken = regexp.MustCompile(`name="form_token" value="([^"]+)"`)

func post(t *testing.T, u, form, decision string, hdr map[string]string) int {
	t.Helper()
	body := url.Values{"form_token": {form}, "decision": {decision}}.Encode()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPage(t *testing.T) {
	p := New(Options{})
	defer p.Close()

	u, ans, _ := ask(t, p, time.Minute)
	if !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("URL %s is not loopback", u)
	}
	code, page := get(t, u)
	if code != 200 || !strings.Contains(page, "&lt;b&gt;hi&lt;/b&gt;") || !strings.Contains(page, `tools.approve &#34;echo&#34;`) {
		t.Fatalf("page %d:\n%s", code, page)
	}
	form := formToken.FindStringSubmatch(page)[1]
	origin := map[string]string{"Origin": "http://" + p.addr}
	// A cross-site post, a wrong form token and a wrong token are refused.
	if c := post(t, u, form, "allow", map[string]string{"Origin": "http://evil.example"}); c != 403 {
		t.Errorf("cross-origin post: %d", c)
	}
	if c := post(t, u, form, "allow", map[string]string{"Origin": "http://" + p.addr, "Sec-Fetch-Site": "cross-site"}); c != 403 {
		t.Errorf("cross-site fetch: %d", c)
	}
	if c := post(t, u, "x"+form, "allow", origin); c != 403 {
		t.Errorf("wrong form token: %d", c)
	}
	if c := post(t, u+"x", form, "allow", origin); c != 404 {
		t.Errorf("wrong token: %d", c)
	}
	select {
	case a := <-ans:
		t.Fatalf("answered by a refused post: %+v", a)
	default:
	}
	if c := post(t, u, form, "allow", origin); c != 200 {
		t.Fatalf("allow: %d", c)
	}
	if a := <-ans; !a.Allow || a.Answer != "allow" {
		t.Errorf("answer %+v", a)
	}
	// The token works once.
	if c := post(t, u, form, "deny", origin); c != 410 {
		t.Errorf("replay: %d", c)
	}

	u, ans, _ = ask(t, p, time.Minute)
	_, page = get(t, u)
	if c := post(t, u, formToken.FindStringSubmatch(page)[1], "deny", origin); c != 200 {
		t.Fatalf("deny: %d", c)
	}
	if a := <-ans; a.Allow || a.Answer != "deny" {
		t.Errorf("deny answer %+v", a)
	}

	// Another Host header (DNS rebinding) is refused.
	req, _ := http.NewRequest("GET", u, nil)
	req.Host = "attacker.example:" + strings.Split(p.addr, ":")[1]
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host: %d", resp.StatusCode)
	}

	// Expired.
	u, _, errs := ask(t, p, 200*time.Millisecond)
	_, page = get(t, u)
	form = formToken.FindStringSubmatch(page)[1]
	if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expiry: %v", err)
	}
	if c := post(t, u, form, "allow", origin); c != 410 {
		t.Errorf("expired: %d", c)
	}
}

func TestPageCannotOpen(t *testing.T) {
	t.Setenv("BROWSER", "/nonexistent/browser")
	p := New(Options{})
	defer p.Close()
	start := time.Now()
	_, err := p.Ask(context.Background(), shim.Question{Tool: "echo"})
	if !errors.Is(err, shim.ErrCannotAsk) || time.Since(start) > 5*time.Second {
		t.Errorf("err %v after %v", err, time.Since(start))
	}
	t.Setenv("BROWSER", "false")
	if _, err := p.Ask(context.Background(), shim.Question{Tool: "echo"}); !errors.Is(err, shim.ErrCannotAsk) {
		t.Errorf("a failing opener: %v", err)
	}
}
