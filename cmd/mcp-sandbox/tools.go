package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcp-sandbox/mcp-sandbox/launcher"
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
	cs, err := client.Connect(ctx, &connTransport{conn: sess.conn}, &mcp.ClientSessionOptions{ProtocolVersion: shim.LatestProtocolVersion})
	if err != nil {
		return withCode(exitUpstream, fmt.Errorf("initialize %s: %w", name, err))
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
			return withCode(exitUpstream, fmt.Errorf("tools/list: %w", err))
		}
		d := sess.policy.Tool(tool.Name)
		rows = append(rows, row{
			Name:        sess.red.String(tool.Name),
			Description: sess.red.String(firstLine(tool.Description)),
			Allowed:     d.Allowed,
			Rule:        d.Rule,
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
			Package        string `json:"package,omitempty"`
			PackageVersion string `json:"package_version,omitempty"`
			Tools          []row  `json:"tools"`
		}{name, sess.policy.Name(), pkg.Package, pkg.Version, rows})
	}
	profileName := sess.policy.Name()
	if profileName == "" {
		profileName = "(none: every tool is allowed)"
	}
	fmt.Fprintf(s.Out, "server %s, profile %s, %d tools\n", name, profileName, len(rows))
	if pkg.Package != "" {
		fmt.Fprintln(s.Out, packageLine(pkg))
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

func (t *connTransport) Connect(context.Context) (mcp.Connection, error) {
	return &sdkConn{conn: t.conn}, nil
}

type sdkConn struct{ conn shim.Conn }

func (c *sdkConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := c.conn.ReadMessage()
		ch <- result{b, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.err != nil {
			if r.err == io.EOF {
				return nil, io.EOF
			}
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

// Close ends the server's input, as a host does, so that a server that
// runs until its stdin ends exits and the SDK's read loop (which Close waits
// for) sees the end of its output. The session owns the Conn and closes it.
func (c *sdkConn) Close() error {
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *sdkConn) SessionID() string { return "" }
