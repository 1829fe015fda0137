// Package browser owns starting the user's web browser on a URL: the
// command ($BROWSER, its %s replaced by the URL or the URL appended, else
// the platform's opener: open, rundll32 url.dll, xdg-open) and starting it
// with its output kept off the MCP channel. The OAuth login (shim/remote)
// and the approval page (shim/approvalpage) open their pages through it.
package browser
