package main

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/mcp-sandbox/mcp-sandbox/shim"
)

// readAsync runs c.Read in a goroutine and returns where its result lands.
func readAsync(ctx context.Context, c interface {
	Read(context.Context) (jsonrpc.Message, error)
}) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := c.Read(ctx)
		ch <- err
	}()
	return ch
}

func within(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: Read still blocked after 5s", what)
		return nil
	}
}

// TestSDKConnCloseEndsPendingRead: the SDK's ClientSession.Close waits for
// its pending Read, so Close must end it while the server's stdout is still
// open (the session closes that later).
func TestSDKConnCloseEndsPendingRead(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	mc, err := (&connTransport{conn: shim.NewStreamConn(pr, io.Discard)}).Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pending := readAsync(context.Background(), mc)
	if err := mc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := within(t, pending, "after Close"); !errors.Is(err, io.EOF) {
		t.Errorf("Read after Close = %v, want io.EOF", err)
	}
}

// TestSDKConnCancelledReadLosesNothing: a Read given up by its context
// leaves the message that arrives later to the next Read.
func TestSDKConnCancelledReadLosesNothing(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	mc, err := (&connTransport{conn: shim.NewStreamConn(pr, io.Discard)}).Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	pending := readAsync(ctx, mc)
	cancel()
	if err := within(t, pending, "after cancel"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Read = %v, want context.Canceled", err)
	}
	go pw.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}` + "\n"))
	msg, err := mc.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := msg.(*jsonrpc.Response); !ok || r.ID.Raw() != int64(1) {
		t.Errorf("next Read = %#v, want the response with id 1", msg)
	}
}
