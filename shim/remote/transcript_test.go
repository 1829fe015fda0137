package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the expectations in testdata/*.txtar with what the bridge does")

// scriptedPost is one POST the scripted server received; a request waits on
// answer for the transcript's reply.
type scriptedPost struct {
	body   []byte
	answer chan []byte // nil for notifications and responses
}

// scriptedServer is a streamable HTTP endpoint whose answers come from a
// transcript: every POST is handed to the test in order; a request's
// response is the JSON body the test sends back.
type scriptedServer struct {
	posts chan scriptedPost
}

func (s *scriptedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		// No standalone stream: server-initiated messages are not part of
		// these transcripts.
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	case http.MethodDelete:
		return
	}
	body, _ := io.ReadAll(r.Body)
	var env struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	_ = json.Unmarshal(body, &env)
	p := scriptedPost{body: body}
	if env.ID != nil && env.Method != "" {
		p.answer = make(chan []byte, 1)
	}
	s.posts <- p
	if p.answer == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	select {
	case resp := <-p.answer:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Mcp-Session-Id", "session-1")
		_, _ = w.Write(resp)
	case <-r.Context().Done():
	}
}

// TestRemoteTranscripts runs the golden transcripts in testdata/*.txtar
// against the bridge: what the host writes, what the server receives (ids
// remapped), what the server answers and what the host reads back (the
// host's own ids). Lines:
//
//	host> MSG     the host writes MSG
//	host< MSG     the host must read MSG next
//	server< MSG   the server must receive MSG next
//	server> MSG   the server answers the pending request with MSG's id
//	# comment
//
// Run with -update to rewrite the expectations from what the bridge did.
func TestRemoteTranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runRemoteTranscript(t, file)
		})
	}
}

func runRemoteTranscript(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var script *txtar.File
	for i := range ar.Files {
		if ar.Files[i].Name == "transcript" {
			script = &ar.Files[i]
		}
	}
	if script == nil {
		t.Fatal("no transcript section")
	}
	srv := &scriptedServer{posts: make(chan scriptedPost, 16)}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	opts := newClient(t).options(hs.URL + "/mcp")
	opts.Transport = TransportStreamableHTTP
	opts.Headers = map[string]string{"Authorization": "Bearer static-token-value"}
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	writes := make(chan error, 16)
	pending := map[string]chan []byte{} // upstream id -> the POST waiting for its answer
	var out bytes.Buffer
	lines := strings.Split(strings.TrimRight(string(script.Data), "\n"), "\n")
	for n, line := range lines {
		where := fmt.Sprintf("%s:%d", file, n+1)
		dir, msg, _ := strings.Cut(line, " ")
		switch dir {
		case "host>":
			go func() { writes <- c.WriteMessage([]byte(msg)) }()
			out.WriteString(line + "\n")
		case "server>":
			var env struct {
				ID json.RawMessage `json:"id"`
			}
			if err := json.Unmarshal([]byte(msg), &env); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			ch := pending[string(env.ID)]
			if ch == nil {
				t.Fatalf("%s: no request with id %s is waiting for an answer", where, env.ID)
			}
			delete(pending, string(env.ID))
			ch <- []byte(msg)
			out.WriteString(line + "\n")
		case "server<":
			var p scriptedPost
			select {
			case p = <-srv.posts:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: the server received nothing, want %s", where, msg)
			}
			if p.answer != nil {
				var env struct {
					ID json.RawMessage `json:"id"`
				}
				_ = json.Unmarshal(p.body, &env)
				pending[string(env.ID)] = p.answer
			}
			out.WriteString("server< " + string(p.body) + "\n")
			if !*update && !jsonEqual(p.body, []byte(msg)) {
				t.Errorf("%s: server received\n  %s\nwant\n  %s", where, p.body, msg)
			}
		case "host<":
			got := make(chan []byte, 1)
			go func() {
				m, err := c.ReadMessage()
				if err != nil {
					m = []byte("error: " + err.Error())
				}
				got <- m
			}()
			var m []byte
			select {
			case m = <-got:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: the host read nothing, want %s", where, msg)
			}
			out.WriteString("host< " + string(m) + "\n")
			if !*update && !jsonEqual(m, []byte(msg)) {
				t.Errorf("%s: host read\n  %s\nwant\n  %s", where, m, msg)
			}
		case "#", "":
			out.WriteString(line + "\n")
		default:
			t.Fatalf("%s: unknown line %q", where, line)
		}
	}
	for ch := range pending {
		t.Errorf("request %s was never answered in the transcript", ch)
	}
	for range len(writes) {
		if err := <-writes; err != nil {
			t.Errorf("WriteMessage: %v", err)
		}
	}
	if *update {
		script.Data = out.Bytes()
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// jsonEqual compares two messages byte for byte after compacting.
func jsonEqual(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
