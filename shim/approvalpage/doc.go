// Package approvalpage owns the local approval page: when the host cannot
// ask a person (no elicitation), a held tool call is put to them on a
// one-time page served on a random loopback port, opened with $BROWSER or
// the OS opener. Each question has an unguessable single-use token in its
// URL and a separate form token; answers must come as a same-origin POST to
// the right Host before the question expires.
package approvalpage
