package remote

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
)

// errStateMismatch reports a redirect whose state does not match the
// authorization request: a forged or stale callback. The flow fails rather
// than keep waiting, so that a cross-site request cannot be retried.
var errStateMismatch = errors.New("authorization callback state does not match the request (possible forged redirect)")

// callbackServer is the loopback redirect target
// http://127.0.0.1:PORT/callback. It accepts exactly one callback.
type callbackServer struct {
	ln          net.Listener
	srv         *http.Server
	redirectURI string

	mu       sync.Mutex
	state    string // expected; set before the browser is opened
	done     bool
	resultCh chan callbackResult
}

type callbackResult struct {
	res *auth.AuthorizationResult
	err error
}

// listenCallback listens on 127.0.0.1:port, or on a free port when port is
// zero or busy (then it tells errOut).
func listenCallback(port int, errOut io.Writer) (*callbackServer, error) {
	var ln net.Listener
	var err error
	if port > 0 {
		ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			fmt.Fprintf(errOut, "mcp-sandbox: redirect port %d is not available (%v); using a free port instead\n", port, err)
		}
	}
	if ln == nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listen for the OAuth redirect: %w", err)
		}
	}
	cs := &callbackServer{
		ln:          ln,
		redirectURI: fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port),
		resultCh:    make(chan callbackResult, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", cs.handle)
	cs.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go cs.srv.Serve(ln)
	return cs, nil
}

func (cs *callbackServer) expect(state string) {
	cs.mu.Lock()
	cs.state = state
	cs.mu.Unlock()
}

func (cs *callbackServer) handle(w http.ResponseWriter, r *http.Request) {
	cs.mu.Lock()
	if cs.done {
		cs.mu.Unlock()
		writePage(w, http.StatusConflict, "This login has already been completed.")
		return
	}
	cs.done = true
	want := cs.state
	cs.mu.Unlock()

	q := r.URL.Query()
	var res callbackResult
	switch {
	case q.Get("error") != "":
		res.err = fmt.Errorf("authorization server returned error %q: %s", q.Get("error"), truncate(q.Get("error_description"), 200))
		writePage(w, http.StatusBadRequest, "Authorization failed. You can close this tab and check mcp-sandbox's messages.")
	case want == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(want)) != 1:
		res.err = errStateMismatch
		writePage(w, http.StatusBadRequest, "Login refused: the response does not belong to this login attempt. You can close this tab.")
	case q.Get("code") == "":
		res.err = errors.New("authorization callback carries no code")
		writePage(w, http.StatusBadRequest, "Login failed: no authorization code. You can close this tab.")
	default:
		res.res = &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}
		writePage(w, http.StatusOK, "mcp-sandbox is now authorized. You can close this tab.")
	}
	cs.resultCh <- res
}

// wait returns the one callback result, or ctx's error.
func (cs *callbackServer) wait(ctx context.Context) (*auth.AuthorizationResult, error) {
	select {
	case r := <-cs.resultCh:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (cs *callbackServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = cs.srv.Shutdown(ctx)
}

func writePage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><html><head><title>mcp-sandbox</title></head><body><p>%s</p></body></html>\n", html.EscapeString(msg))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
