package shim

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/mcp-sandbox/mcp-sandbox/shim/redact"
)

// BenchmarkRelayResult measures one large tools/call result passing from the
// server to the host through the relay over newline-delimited pipes, with no
// secrets configured and with 5, none of which occurs in the result (the
// common case: every byte is still scanned). Compare the two in one run:
//
//	go test -run '^$' -bench RelayResult -count 6 ./shim | benchstat -col /secrets -
func BenchmarkRelayResult(b *testing.B) {
	for _, size := range []int{1 << 20, 10 << 20} {
		result := bigResult(size)
		for _, n := range []int{0, 5} {
			b.Run(fmt.Sprintf("size=%dMB/secrets=%d", size>>20, n), func(b *testing.B) {
				var red *redact.Redactor
				if n > 0 {
					var secrets []redact.Secret
					for i := 0; i < n; i++ {
						secrets = append(secrets, redact.Secret{Name: fmt.Sprint("s", i), Value: fmt.Sprintf("tok_%d_Zq8s3cr3tV4lue", i)})
					}
					var err error
					if red, err = redact.New(secrets); err != nil {
						b.Fatal(err)
					}
				}
				benchRelay(b, red, result)
			})
		}
	}
}

func benchRelay(b *testing.B, red *redact.Redactor, result []byte) {
	hostIn, hostInW := io.Pipe()
	hostOutR, hostOut := io.Pipe()
	upR, upRW := io.Pipe() // the server writes upRW, the relay reads upR
	upWR, upW := io.Pipe() // the relay writes upW, the server reads upWR
	host := NewStreamConn(hostIn, hostOut)
	up := NewStreamConn(upR, upW)
	r := New(Options{Server: "bench", Redactor: red})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Serve(ctx, host, up)

	hostSide := NewStreamConn(hostOutR, hostInW)
	serverSide := NewStreamConn(upWR, upRW)
	b.SetBytes(int64(len(result)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprint(i + 1)
		if err := hostSide.WriteMessage([]byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"bytes"}}`)); err != nil {
			b.Fatal(err)
		}
		if _, err := serverSide.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		msg := append([]byte(`{"jsonrpc":"2.0","id":`+id), result[len(`{"jsonrpc":"2.0","id":1`):]...)
		if err := serverSide.WriteMessage(msg); err != nil {
			b.Fatal(err)
		}
		got, err := hostSide.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != len(msg) {
			b.Fatalf("got %d bytes, want %d", len(got), len(msg))
		}
	}
	b.StopTimer()
	hostInW.Close()
	upRW.Close()
}

// bigResult is a tools/call result of about size bytes: prose with escapes and
// a base64 blob, as real servers send.
func bigResult(size int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"`)
	line := `Lorem ipsum dolor sit amet, \"quoted\" path\/to\/file \u00e9t\u00e9 tab\there; aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQ= 0123456789\n`
	for sb.Len() < size-64 {
		sb.WriteString(line)
	}
	sb.WriteString(`"}],"structuredContent":{"n":1}}}`)
	return []byte(sb.String())
}

// BenchmarkRelayRoundTrip measures the relay's own cost for one small
// request and its answer, over newline-delimited pipes on both sides.
func BenchmarkRelayRoundTrip(b *testing.B) {
	hostIn, hostInW := io.Pipe()
	hostOutR, hostOut := io.Pipe()
	upR, upRW := io.Pipe()
	upWR, upW := io.Pipe()
	r := New(Options{Server: "bench"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Serve(ctx, NewStreamConn(hostIn, hostOut), NewStreamConn(upR, upW))
	hostSide := NewStreamConn(hostOutR, hostInW)
	serverSide := NewStreamConn(upWR, upRW)
	go func() {
		for {
			m, err := serverSide.ReadMessage()
			if err != nil {
				return
			}
			id := member(m, "id")
			serverSide.WriteMessage([]byte(`{"jsonrpc":"2.0","id":` + string(id) + `,"result":{"content":[{"type":"text","text":"ping"}]}}`))
		}
	}()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		hostSide.WriteMessage([]byte(`{"jsonrpc":"2.0","id":` + fmt.Sprint(i) + `,"method":"tools/call","params":{"name":"echo","arguments":{"text":"ping"}}}`))
		if _, err := hostSide.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
	hostInW.Close()
	upRW.Close()
}
