package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxReceived bounds what dial returns after send.
const maxReceived = 4 << 10

// exchange writes send on conn and reads until EOF, maxReceived bytes or the
// timeout. A timeout after some bytes arrived is not an error.
func exchange(conn net.Conn, send string, timeout time.Duration) (received, errText string) {
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, send); err != nil {
		return "", "send: " + err.Error()
	}
	buf := make([]byte, maxReceived)
	n, err := io.ReadFull(conn, buf)
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return string(buf[:n]), ""
	case errors.Is(err, os.ErrDeadlineExceeded) && n > 0:
		return string(buf[:n]), ""
	default:
		return string(buf[:n]), "receive: " + err.Error()
	}
}

type fetchIn struct {
	URL       string `json:"url"`
	TimeoutMS int    `json:"timeout_ms,omitempty" jsonschema:"whole-request timeout in milliseconds; default 10000"`
}

type fetchOut struct {
	OK     bool   `json:"ok"`
	Status int    `json:"status,omitempty"`
	Bytes  int64  `json:"bytes"`
	Body   string `json:"body,omitempty"`
	Error  string `json:"error,omitempty"`
}

// fetch GETs a URL through Go's default transport, so HTTP_PROXY and
// HTTPS_PROXY apply as they do to most proxy-aware clients. The body is
// counted in full and its first KiB returned.
func fetch(ctx context.Context, _ *mcp.CallToolRequest, in fetchIn) (*mcp.CallToolResult, fetchOut, error) {
	timeout := 10 * time.Second
	if in.TimeoutMS > 0 {
		timeout = time.Duration(in.TimeoutMS) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL, nil)
	if err != nil {
		return textResult("fetch failed: " + err.Error()), fetchOut{Error: err.Error()}, nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return textResult("fetch failed: " + err.Error()), fetchOut{Error: err.Error()}, nil
	}
	defer resp.Body.Close()
	head := make([]byte, 1<<10)
	n, _ := io.ReadFull(resp.Body, head)
	rest, err := io.Copy(io.Discard, resp.Body)
	out := fetchOut{OK: err == nil && resp.StatusCode < 400, Status: resp.StatusCode, Bytes: int64(n) + rest, Body: string(head[:n])}
	if err != nil {
		out.Error = err.Error()
	}
	return textResult(resp.Status), out, nil
}
