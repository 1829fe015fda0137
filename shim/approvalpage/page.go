package approvalpage

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-sandbox/mcp-sandbox/shim"
	"github.com/mcp-sandbox/mcp-sandbox/shim/internal/browser"
)

// Options configure a [Page].
type Options struct {
	Logger zerolog.Logger
	// Open opens a URL for the person. Nil uses $BROWSER, else the OS
	// opener (xdg-open, open, rundll32).
	Open func(ctx context.Context, url string) error
	// Output receives the opener's output; nil discards it. Never stdout.
	Output io.Writer
}

// A Page serves approval questions on a loopback listener started on first
// use. It satisfies [shim.Approver].
type Page struct {
	opts Options

	mu    sync.Mutex
	srv   *http.Server
	addr  string
	qs    map[string]*question // by URL token
	start error
}

var _ shim.Approver = (*Page)(nil)

type question struct {
	q      shim.Question
	form   string // form token (CSRF)
	state  string // "open", "answered", "expired", "withdrawn"
	answer chan shim.Answer
}

// New returns a Page; nothing listens until the first question.
func New(opts Options) *Page {
	if opts.Output == nil {
		opts.Output = io.Discard
	}
	return &Page{opts: opts, qs: map[string]*question{}}
}

// Close stops the listener.
func (p *Page) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		return p.srv.Close()
	}
	return nil
}

func (p *Page) listen() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil || p.start != nil {
		return p.addr, p.start
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.start = fmt.Errorf("%w: approval page: %v", shim.ErrCannotAsk, err)
		return "", p.start
	}
	p.addr = ln.Addr().String()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p.addr, nil
}

func token() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Ask shows q on a new page, opens it and waits for the answer. A page that
// cannot be opened fails at once with an error wrapping [shim.ErrCannotAsk].
func (p *Page) Ask(ctx context.Context, q shim.Question) (shim.Answer, error) {
	addr, err := p.listen()
	if err != nil {
		return shim.Answer{}, err
	}
	tok := token()
	qu := &question{q: q, form: token(), state: "open", answer: make(chan shim.Answer, 1)}
	p.mu.Lock()
	p.qs[tok] = qu
	p.mu.Unlock()
	u := "http://" + addr + "/approve/" + tok
	p.opts.Logger.Warn().Str("url", u).Str("tool", q.Tool).Msg("a tool call waits for your approval; open this URL if no browser opened")
	open := p.opts.Open
	if open == nil {
		open = p.systemOpen
	}
	end := func(state string) {
		p.mu.Lock()
		if qu.state == "open" {
			qu.state = state
		}
		p.mu.Unlock()
	}
	if err := open(ctx, u); err != nil {
		end("withdrawn")
		return shim.Answer{Channel: "browser"}, fmt.Errorf("%w: %v", shim.ErrCannotAsk, err)
	}
	select {
	case a := <-qu.answer:
		return a, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			end("expired")
		} else {
			end("withdrawn")
		}
		return shim.Answer{Channel: "approval page http://" + addr}, ctx.Err()
	}
}

// systemOpen starts $BROWSER or the OS opener. An opener that exits with
// an error within a few seconds counts as a failure to open.
func (p *Page) systemOpen(ctx context.Context, u string) error {
	return browser.Open(ctx, u, p.opts.Output, 3*time.Second, nil)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mcp-sandbox: {{.Title}}</title>
<style>body{font:16px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}
dt{font-weight:bold}pre{white-space:pre-wrap;background:#f4f4f4;padding:.5rem}
button{font-size:1.1rem;padding:.4rem 1.4rem;margin-right:1rem}</style></head>
<body><h1 id="title">{{.Title}}</h1>
{{if .Q}}<dl id="evidence">
<dt>Server</dt><dd id="server">{{.Q.Server}}</dd>
<dt>Tool</dt><dd id="tool">{{.Q.Tool}}</dd>
<dt>Arguments</dt><dd><pre id="arguments">{{.Q.Arguments}}</pre></dd>
<dt>Asked by</dt><dd id="rule">profile "{{.Q.Profile}}", {{.Q.Rule}}</dd>
<dt>Expires</dt><dd>{{.Q.Deadline.Format "15:04:05"}}</dd></dl>
{{if .Open}}<form method="post" action="{{.Action}}">
<input type="hidden" name="form_token" value="{{.Form}}">
<button id="allow" name="decision" value="allow">Allow</button>
<button id="deny" name="decision" value="deny">Deny</button>
</form>{{end}}{{end}}
<p id="message">{{.Message}}</p></body></html>
`))

type view struct {
	Title, Message, Action, Form string
	Q                            *shim.Question
	Open                         bool
}

func (p *Page) render(w http.ResponseWriter, code int, v view) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "same-origin") // "no-referrer" would make the form post send Origin: null
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = pageTmpl.Execute(w, v)
}

// ServeHTTP serves GET /approve/TOKEN (the question) and POST
// /approve/TOKEN (the answer).
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	addr := p.addr
	p.mu.Unlock()
	if r.Host != addr {
		// DNS rebinding: only the literal loopback address is ours.
		p.render(w, http.StatusMisdirectedRequest, view{Title: "Wrong address", Message: "This page is only served at http://" + addr + "."})
		return
	}
	tok, ok := strings.CutPrefix(r.URL.Path, "/approve/")
	p.mu.Lock()
	qu := p.qs[tok]
	p.mu.Unlock()
	if !ok || qu == nil || tok == "" {
		p.render(w, http.StatusNotFound, view{Title: "Unknown approval link", Message: "This link is not valid. Nothing was approved."})
		return
	}
	p.mu.Lock()
	state := qu.state
	p.mu.Unlock()
	q := qu.q
	switch state {
	case "answered":
		p.render(w, http.StatusGone, view{Title: "Already answered", Q: &q, Message: "This question was answered already; the link works once."})
		return
	case "expired":
		p.render(w, http.StatusGone, view{Title: "Expired", Q: &q, Message: "This question expired and the call was refused."})
		return
	case "withdrawn":
		p.render(w, http.StatusGone, view{Title: "Withdrawn", Q: &q, Message: "The call no longer waits for an answer."})
		return
	}
	switch r.Method {
	case http.MethodGet:
		p.render(w, http.StatusOK, view{Title: "Allow this tool call?", Q: &q, Open: true, Action: "/approve/" + tok, Form: qu.form,
			Message: "The call waits until you answer."})
	case http.MethodPost:
		if !sameOrigin(r, addr) {
			p.render(w, http.StatusForbidden, view{Title: "Refused", Message: "The answer did not come from this page."})
			return
		}
		if err := r.ParseForm(); err != nil {
			p.render(w, http.StatusBadRequest, view{Title: "Bad request", Message: err.Error()})
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("form_token")), []byte(qu.form)) != 1 {
			p.render(w, http.StatusForbidden, view{Title: "Refused", Message: "The answer did not come from this page."})
			return
		}
		d := r.PostForm.Get("decision")
		if d != "allow" && d != "deny" {
			p.render(w, http.StatusBadRequest, view{Title: "Bad request", Message: "decision must be allow or deny"})
			return
		}
		p.mu.Lock()
		if qu.state != "open" {
			p.mu.Unlock()
			p.render(w, http.StatusGone, view{Title: "Already answered", Q: &q, Message: "This question was answered already."})
			return
		}
		qu.state = "answered"
		p.mu.Unlock()
		qu.answer <- shim.Answer{Allow: d == "allow", Answer: d, Channel: "approval page http://" + addr}
		title := "Allowed"
		if d == "deny" {
			title = "Denied"
		}
		p.render(w, http.StatusOK, view{Title: title, Q: &q, Message: "You can close this page."})
	default:
		w.Header().Set("Allow", "GET, POST")
		p.render(w, http.StatusMethodNotAllowed, view{Title: "Method not allowed"})
	}
}

// sameOrigin accepts a POST only from the page itself: an Origin (or,
// lacking one, Referer) of this listener, and no cross-site fetch.
func sameOrigin(r *http.Request, addr string) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		ref, err := url.Parse(r.Header.Get("Referer"))
		if err != nil || ref.Host == "" {
			// Neither header: not a browser form post (curl); the form
			// token still has to match.
			return r.Header.Get("Referer") == ""
		}
		origin = ref.Scheme + "://" + ref.Host
	}
	return origin == "http://"+addr
}
