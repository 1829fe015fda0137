package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// resumeServer is a streamable HTTP endpoint whose answer to tools/call
// comes on an SSE stream that breaks after a progress event; the answer
// itself is only sent on the GET that resumes after that event (when
// resumable), as the specification's resumability section describes.
type resumeServer struct {
	resumable bool

	mu      sync.Mutex
	callID  json.RawMessage // upstream id of the tools/call
	resumes []string        // "Last-Event-ID session" of each resuming GET
}

func (s *resumeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodDelete:
		return
	case http.MethodGet:
		last := r.Header.Get("Last-Event-ID")
		if last == "" {
			w.WriteHeader(http.StatusMethodNotAllowed) // no standalone stream
			return
		}
		s.mu.Lock()
		s.resumes = append(s.resumes, last+" "+r.Header.Get("Mcp-Session-Id"))
		id := s.callID
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "id: e2\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"resumed\"}]}}\n\n", id)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var env struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	_ = json.Unmarshal(body, &env)
	w.Header().Set("Mcp-Session-Id", "session-r")
	switch env.Method {
	case "initialize":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"r","version":"1"}}}`, env.ID)
	case "tools/call":
		s.mu.Lock()
		s.callID = env.ID
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		id := "id: e1\n"
		if !s.resumable {
			id = ""
		}
		// The stream ends after the progress event, before the answer.
		fmt.Fprintf(w, "retry: 1\n%sdata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p\",\"progress\":1}}\n\n", id)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// TestPostStreamResumes checks that a POST's SSE stream that breaks before
// the answer is resumed with GET, Last-Event-ID and the session, and that
// the answer then reaches the host under its own id; and that a stream
// without event ids, which cannot be resumed, fails the call with a
// JSON-RPC error instead of leaving it unanswered.
func TestPostStreamResumes(t *testing.T) {
	for _, resumable := range []bool{true, false} {
		t.Run(fmt.Sprint("resumable=", resumable), func(t *testing.T) {
			srv := &resumeServer{resumable: resumable}
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
			handshake(t, c)
			resp, before := rpc(t, c, `{"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"slow","_meta":{"progressToken":"p"}}}`)
			if len(before) != 1 || !strings.Contains(before[0], `"notifications/progress"`) {
				t.Errorf("messages before the answer = %q, want the progress notification", before)
			}
			srv.mu.Lock()
			resumes := srv.resumes
			srv.mu.Unlock()
			result, rpcErr := resultOf(t, resp)
			if resumable {
				if !strings.HasPrefix(resp, `{"jsonrpc":"2.0","id":"call-1",`) || result == nil || !strings.Contains(resp, `"resumed"`) {
					t.Errorf("answer = %s, want the resumed result under the host's id", resp)
				}
				if len(resumes) != 1 || resumes[0] != "e1 session-r" {
					t.Errorf("resuming GETs = %q, want one with Last-Event-ID e1 on session-r", resumes)
				}
				return
			}
			if rpcErr == nil || !strings.Contains(fmt.Sprint(rpcErr["message"]), "closed the response stream before answering") {
				t.Errorf("answer = %s, want an error saying the stream closed", resp)
			}
			if len(resumes) != 0 {
				t.Errorf("resuming GETs = %q, want none without an event id", resumes)
			}
		})
	}
}
