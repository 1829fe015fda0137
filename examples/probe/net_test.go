package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDialSendReceived(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			fmt.Fprintf(c, "banner; you said %q", line)
			c.Close()
		}
	}()
	cs := connect(t, nil, nil, nil)
	got := structured[dialOut](t, call(t, cs, "dial", map[string]any{"address": l.Addr().String(), "send": "hi\n"}))
	want := dialOut{OK: true, RemoteAddr: l.Addr().String(), Received: `banner; you said "hi\n"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dial with send (-want +got):\n%s", diff)
	}
}

func TestFetch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, strings.Repeat("x", 5000))
	}))
	defer srv.Close()
	cs := connect(t, nil, nil, nil)
	got := structured[fetchOut](t, call(t, cs, "fetch", map[string]any{"url": srv.URL + "/big"}))
	if !got.OK || got.Status != 200 || got.Bytes != 5000 || got.Body != strings.Repeat("x", 1024) {
		t.Errorf("fetch = ok %t, status %d, bytes %d, body %d bytes; want ok, 200, 5000, the first 1024", got.OK, got.Status, got.Bytes, len(got.Body))
	}
	got = structured[fetchOut](t, call(t, cs, "fetch", map[string]any{"url": srv.URL + "/missing"}))
	if got.OK || got.Status != 404 {
		t.Errorf("fetch of a 404 = ok %t, status %d; want not ok, 404", got.OK, got.Status)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	got = structured[fetchOut](t, call(t, cs, "fetch", map[string]any{"url": "http://" + addr + "/"}))
	if got.OK || !strings.Contains(got.Error, "refused") {
		t.Errorf("fetch of a closed port = %+v; want an error", got)
	}
}
