package shim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"
)

// A Mount maps a host directory to where the server sees it. The relay uses
// the server's mounts to answer roots/list with what the server can reach.
type Mount struct {
	Source string // absolute host path
	Target string // absolute container path
}

// serverRequest polices a request the server sends to the host
// (sampling/createMessage, elicitation/create, roots/list) by the profile.
// A refused one is answered with a JSON-RPC error to the server and audited;
// it reports false then, and the host never sees it.
func (r *Relay) serverRequest(upstream Conn, m *message) bool {
	pol := r.Policy()
	d := pol.ServerRequest(m.method)
	governed := d.Rule != "not governed by requests"
	if governed {
		rec := AuditRecord{
			Time: time.Now().UTC(), Server: r.opts.Server, Profile: pol.Name(),
			Method: m.method, Decision: "allowed", Rule: d.Rule,
		}
		r.mu.Lock()
		rec.Client = r.client
		r.mu.Unlock()
		if !d.Allowed {
			rec.Decision = "blocked"
			key := strings.Fields(d.Rule)[0]
			msg := fmt.Sprintf("mcp-sandbox: %s from server %q is refused by profile %q (%s); set %s = true in the profile to allow it",
				m.method, r.opts.Server, pol.Name(), d.Rule, key)
			if pol == nil {
				msg = fmt.Sprintf("mcp-sandbox: %s from server %q is refused (%s, the server has no profile); give it a profile with %s = true to allow it",
					m.method, r.opts.Server, d.Rule, key)
			}
			rec.Error = msg
			if err := upstream.WriteMessage(errorMessage(m.id, codeInvalidRequest, msg)); err != nil {
				r.log.Debug().Err(err).Msg("could not write to server")
			}
			r.log.Info().Str("method", m.method).Str("rule", d.Rule).Msg("refused a request of the server")
		}
		if set := r.settings.Load(); set.Audit != nil {
			set.Audit.Record(rec)
		}
		if !d.Allowed {
			return false
		}
	}
	if m.method == "roots/list" && r.opts.Roots != nil {
		if key, ok := idKey(m.id); ok {
			r.g.mu.Lock()
			r.g.fromSrv[key] = m.method
			r.g.mu.Unlock()
		}
	}
	return true
}

// hostAnswer rewrites the host's answer to a server request the relay
// polices: the roots of a roots/list answer become what the server can
// reach, at the paths it sees them.
func (r *Relay) hostAnswer(m *message) *message {
	key, ok := idKey(m.id)
	if !ok {
		return m
	}
	r.g.mu.Lock()
	method := r.g.fromSrv[key]
	delete(r.g.fromSrv, key)
	r.g.mu.Unlock()
	if method != "roots/list" || m.result == nil {
		return m
	}
	roots := member(m.result, "roots")
	if roots == nil {
		return m
	}
	out := []byte{'['}
	n := 0
	eachElement(roots, func(elem []byte) {
		uri, ok := stringMember(elem, "uri")
		if !ok {
			return
		}
		for _, cu := range containerRoots(uri, r.opts.Roots) {
			q, _ := json.Marshal(cu)
			if n > 0 {
				out = append(out, ',')
			}
			out = append(out, setMember(elem, "uri", q)...)
			n++
		}
	})
	out = append(out, ']')
	r.log.Debug().Int("kept", n).Msg("roots/list answer filtered to the server's mounts")
	cp := *m
	cp.result = setMember(m.result, "roots", out)
	cp.raw = setMember(m.raw, "result", cp.result)
	return &cp
}

// containerRoots maps a host root URI to the container roots the server can
// reach through mounts: a root inside a mount becomes the same place under
// the mount's target; a root above a mount becomes the mount's target. A
// root the server cannot reach maps to nothing.
func containerRoots(uri string, mounts []Mount) []string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
		return nil
	}
	p := path.Clean(u.Path)
	var out []string
	for _, mt := range mounts {
		src := path.Clean(mt.Source)
		switch {
		case p == src || strings.HasPrefix(p, strings.TrimSuffix(src, "/")+"/"):
			rest := strings.TrimPrefix(p, src)
			out = append(out, fileURI(path.Join(mt.Target, rest)))
		case strings.HasPrefix(src, strings.TrimSuffix(p, "/")+"/"):
			out = append(out, fileURI(path.Clean(mt.Target)))
		}
	}
	return out
}

func fileURI(p string) string {
	return (&url.URL{Scheme: "file", Path: p}).String()
}
