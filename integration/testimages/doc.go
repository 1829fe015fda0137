// Package testimages builds, for integration tests, the base images a test
// needs when no image registry is reachable: a node image and a python image
// made from this machine's own runtimes (FROM scratch with the runtime, the
// shared libraries ldd names, a static busybox for sh and the usual tools),
// and images of npm packages installed into the node image by hand.
//
// Each image is tagged by a hash of what went into it (file paths, sizes and
// modification times, and the recipe), so a second call, in the same test
// binary or a later one, finds the image and builds nothing. Builds go
// through the Engine API with the classic builder; nothing is pulled.
//
// Tests of other packages use it as:
//
//	node, err := testimages.Node(ctx, cli)            // "mcp-sandbox-test/node-base:…"
//	img, err := testimages.NPM(ctx, cli, node, "@modelcontextprotocol/server-everything@2026.8.31", "")
//
// NPM needs the npm registry and the machine's CA bundle
// (/etc/ssl/certs/ca-certificates.crt) when it builds.
package testimages
