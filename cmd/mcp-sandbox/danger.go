package main

import (
	"fmt"
	"io"

	"github.com/mcp-sandbox/mcp-sandbox/profiles"
)

// warnDangerousMounts prints, for check, the dangerous mounts a server's
// allow_dangerous_mounts lets through.
func warnDangerousMounts(w io.Writer, srv *profiles.Server) {
	for _, d := range srv.Sandbox.DangerousMounts {
		fmt.Fprintf(w, "  WARNING:  %v\n", d)
	}
}

// doctorDangerousMounts lists, for doctor, a server that allows dangerous
// mounts and each mount it allows.
func doctorDangerousMounts(report func(state, what, detail string), what string, srv *profiles.Server) {
	if !srv.Sandbox.AllowDangerousMounts {
		return
	}
	if len(srv.Sandbox.DangerousMounts) == 0 {
		report("WARN", what, "allow_dangerous_mounts = true (no dangerous mount at the moment)")
		return
	}
	for _, d := range srv.Sandbox.DangerousMounts {
		report("WARN", what, "allow_dangerous_mounts = true: "+d.Msg)
	}
}
