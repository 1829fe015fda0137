package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
	"github.com/mcp-sandbox/mcp-sandbox/shim"
)

func cmdTools(ctx context.Context, s Streams, args []string) (err error) {
	var profile string
	var asJSON, rebuild bool
	var timeout time.Duration
	name, cf, err := parseName("tools", s, args, func(fs *flag.FlagSet) {
		fs.StringVar(&profile, "profile", "", "judge the tools by profile `NAME` instead of the server's own")
		fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
		fs.BoolVar(&rebuild, "rebuild", false, "rebuild the server's image from its build context first")
		fs.DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	})
	if err != nil {
		return err
	}
	log, sink, closeLog, err := newLogger(s, cf)
	if err != nil {
		return err
	}
	defer closeLog()
	// Ctrl-C or SIGTERM cancels whatever is under way; the deferred
	// teardown below still removes the container.
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sigCtx, timeout)
	defer cancel()
	defer func() {
		if err != nil && sigCtx.Err() != nil {
			err = errors.New("interrupted")
		}
	}()

	sess, err := openSession(ctx, s, log, cf.config, name, sessionOptions{profile: profile, rebuild: rebuild, interactive: s.InTTY})
	if err != nil {
		return err
	}
	sink.red.Store(sess.red)
	// Deferred calls run last first: the SDK client detaches, then the
	// session tears the server down.
	defer sess.close()

	client := mcp.NewClient(&mcp.Implementation{Name: "mcp-sandbox-tools", Version: version}, nil)
	raw := &rawTools{}
	cs, err := client.Connect(ctx, &connTransport{conn: sess.upstream, capture: raw.capture}, &mcp.ClientSessionOptions{ProtocolVersion: shim.LatestProtocolVersion})
	if err != nil {
		return upstreamFailed(fmt.Errorf("initialize %s: %w", name, err))
	}
	defer cs.Close()

	type row struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Allowed     bool   `json:"allowed"`
		Rule        string `json:"rule"`
		Pin         string `json:"pin,omitempty"`
	}
	var rows []row
	var pinned map[string]string
	if sess.policy.Pin() {
		if pinned, err = loadPins(name); err != nil {
			return err
		}
	}
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return upstreamFailed(fmt.Errorf("tools/list: %w", err))
		}
		d := sess.policy.Tool(tool.Name)
		pin := ""
		if sess.policy.Pin() {
			pin = pinState(pinned, tool.Name, raw.defs[tool.Name])
		}
		rows = append(rows, row{
			Name:        sess.red.String(tool.Name),
			Description: sess.red.String(firstLine(tool.Description)),
			Allowed:     d.Allowed,
			Rule:        d.Rule,
			Pin:         pin,
		})
	}
	var pkg launcher.Prepared
	if sess.spec.Package != nil {
		pkg, _, _ = sess.launcher.Inspect(ctx, sess.spec)
	}
	if asJSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Server         string `json:"server"`
			Profile        string `json:"profile,omitempty"`
			Egress         string `json:"egress,omitempty"`
			Package        string `json:"package,omitempty"`
			PackageVersion string `json:"package_version,omitempty"`
			Tools          []row  `json:"tools"`
		}{name, sess.policy.Name(), sessionEgress(sess.srv), pkg.Package, pkg.Version, rows})
	}
	profileName := sess.policy.Name()
	if profileName == "" {
		profileName = "(none: every tool is allowed)"
	}
	fmt.Fprintf(s.Out, "server %s, profile %s, %d tools\n", name, profileName, len(rows))
	if e := sessionEgress(sess.srv); e != "" {
		fmt.Fprintf(s.Out, "egress: %s\n", e)
	}
	if pkg.Package != "" {
		fmt.Fprintln(s.Out, packageLine(pkg))
	}
	fmt.Fprintln(s.Out)
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	if sess.policy.Pin() {
		fmt.Fprintln(tw, "TOOL\tSTATUS\tPIN\tRULE\tDESCRIPTION")
	} else {
		fmt.Fprintln(tw, "TOOL\tSTATUS\tRULE\tDESCRIPTION")
	}
	for _, r := range rows {
		status := "allowed"
		if !r.Allowed {
			status = "hidden"
		}
		if sess.policy.Pin() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, status, r.Pin, r.Rule, r.Description)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, status, r.Rule, r.Description)
	}
	return tw.Flush()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	const max = 100
	if len([]rune(s)) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

// connTransport lets the SDK's client speak over a relay Conn. The session
// that opened the Conn owns it: closing the SDK side only detaches from it.
type connTransport struct {
	conn shim.Conn
	// capture, when set, sees every raw message from the server.
	capture func([]byte)
}

func (t *connTransport) Connect(context.Context) (mcp.Connection, error) {
	c := &sdkConn{conn: t.conn, capture: t.capture, msgs: make(chan readResult), closed: make(chan struct{})}
	go c.pump()
	return c, nil
}

type readResult struct {
	b   []byte
	err error
}

// sdkConn is the SDK's view of a Conn. One goroutine reads the Conn for as
// long as it delivers messages; Read takes them from it, so a Read given up
// (its context cancelled, or Close called) leaves no goroutine behind, and
// Close interrupts a pending Read at once. Without that the SDK's Close,
// which waits for its reader to return, would wait for the server's stdout
// to end, which happens only when the session tears the server down, after
// the SDK's Close: a deadlock.
type sdkConn struct {
	conn      shim.Conn
	capture   func([]byte)
	msgs      chan readResult
	closed    chan struct{}
	closeOnce sync.Once
}

// pump reads messages until the Conn ends or the sdkConn is closed. It ends
// at the latest when the session closes the Conn.
func (c *sdkConn) pump() {
	for {
		b, err := c.conn.ReadMessage()
		select {
		case c.msgs <- readResult{b, err}:
		case <-c.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *sdkConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closed:
		return nil, io.EOF
	case r := <-c.msgs:
		if r.err != nil {
			return nil, r.err
		}
		if c.capture != nil {
			c.capture(r.b)
		}
		return jsonrpc.DecodeMessage(r.b)
	}
}

func (c *sdkConn) Write(_ context.Context, msg jsonrpc.Message) error {
	select {
	case <-c.closed:
		return mcp.ErrConnectionClosed
	default:
	}
	b, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return err
	}
	return c.conn.WriteMessage(b)
}

// Close detaches from the Conn and ends a pending Read; the session closes
// the Conn itself.
func (c *sdkConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

func (c *sdkConn) SessionID() string { return "" }
