package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-sandbox/mcp-sandbox/shim"
)

func cmdTools(ctx context.Context, s Streams, args []string) error {
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
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	sess, err := openSession(ctx, s, log, cf.config, name, sessionOptions{profile: profile, rebuild: rebuild, interactive: s.InTTY})
	if err != nil {
		return err
	}
	sink.red.Store(sess.red)
	defer sess.close()

	client := mcp.NewClient(&mcp.Implementation{Name: "mcp-sandbox-tools", Version: version}, nil)
	cs, err := client.Connect(ctx, &connTransport{conn: sess.upstream}, &mcp.ClientSessionOptions{ProtocolVersion: shim.LatestProtocolVersion})
	if err != nil {
		return upstreamFailed(fmt.Errorf("initialize %s: %w", name, err))
	}
	defer cs.Close()

	type row struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Allowed     bool   `json:"allowed"`
		Rule        string `json:"rule"`
	}
	var rows []row
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return upstreamFailed(fmt.Errorf("tools/list: %w", err))
		}
		d := sess.policy.Tool(tool.Name)
		rows = append(rows, row{
			Name:        sess.red.String(tool.Name),
			Description: sess.red.String(firstLine(tool.Description)),
			Allowed:     d.Allowed,
			Rule:        d.Rule,
		})
	}
	if asJSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Server  string `json:"server"`
			Profile string `json:"profile,omitempty"`
			Egress  string `json:"egress,omitempty"`
			Tools   []row  `json:"tools"`
		}{name, sess.policy.Name(), sessionEgress(sess.srv), rows})
	}
	profileName := sess.policy.Name()
	if profileName == "" {
		profileName = "(none: every tool is allowed)"
	}
	fmt.Fprintf(s.Out, "server %s, profile %s, %d tools\n", name, profileName, len(rows))
	if e := sessionEgress(sess.srv); e != "" {
		fmt.Fprintf(s.Out, "egress: %s\n", e)
	}
	fmt.Fprintln(s.Out)
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tSTATUS\tRULE\tDESCRIPTION")
	for _, r := range rows {
		status := "allowed"
		if !r.Allowed {
			status = "hidden"
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

// connTransport lets the SDK's client speak over a relay Conn.
type connTransport struct{ conn shim.Conn }

// Connect starts the one goroutine that reads the Conn; it ends when the
// Conn does (the session closes it).
func (t *connTransport) Connect(context.Context) (mcp.Connection, error) {
	c := &sdkConn{conn: t.conn, msgs: make(chan readResult, 1), done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

type readResult struct {
	b   []byte
	err error
}

type sdkConn struct {
	conn      shim.Conn
	msgs      chan readResult
	done      chan struct{} // closed by Close: nobody reads any more
	closeOnce sync.Once
}

// readLoop hands each message to Read in order, so that a Read given up on
// (its ctx done) loses nothing: the next Read gets the message.
func (c *sdkConn) readLoop() {
	for {
		b, err := c.conn.ReadMessage()
		select {
		case c.msgs <- readResult{b, err}:
		case <-c.done:
			return
		}
		if err != nil {
			close(c.msgs)
			return
		}
	}
}

func (c *sdkConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r, ok := <-c.msgs:
		if !ok {
			return nil, io.EOF
		}
		if r.err != nil {
			return nil, r.err
		}
		return jsonrpc.DecodeMessage(r.b)
	}
}

func (c *sdkConn) Write(_ context.Context, msg jsonrpc.Message) error {
	b, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return err
	}
	return c.conn.WriteMessage(b)
}

// Close stops handing out messages; the session owns the Conn itself.
func (c *sdkConn) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	return nil
}

func (c *sdkConn) SessionID() string { return "" }
