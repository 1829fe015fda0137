// Package launcher owns Docker for mcp-sandbox: it resolves, builds or pulls
// the image of a local MCP server, creates its container with the sandbox
// restrictions, attaches the container's stdin and stdout through the Engine
// API (a hijacked stream, no docker CLI), sends the container's stderr to the
// log line by line, and stops and removes the container when the session ends.
// Containers (and the in-memory volumes that carry [Spec.Files]) are labelled
// with the launcher's host, pid and instance, so [Launcher.Sweep] can remove
// what a killed launcher left behind.
//
// The package knows nothing about MCP: it moves bytes. The shim reads and
// writes newline-delimited JSON-RPC on [Container.Stdin] and
// [Container.Stdout].
//
// # Hot path
//
// Start costs three Engine API round trips when the image is present:
// ContainerCreate (the image is only inspected when create reports it
// missing), ContainerAttach (before start, so no output is lost) and
// ContainerStart, plus one version-negotiation ping per Launcher. The orphan
// sweep runs concurrently and never delays the container. Files add a volume
// create per directory, a seed container create and a few ContainerStatPath
// polls (about 250 ms on a 20.10 engine). Container logs use the "none" logging driver: the MCP traffic is
// read from the attach stream, so writing it to the daemon's disk as well
// would cost time and keep tool results (possibly secrets) on disk.
//
// # Files
//
// [Spec.Files] are delivered through one in-memory volume per distinct parent
// directory (local driver, type tmpfs), mounted read-only in the server
// container at that directory, which therefore shows only the delivered files.
// The Engine cannot copy into a container's tmpfs mounts, and a tmpfs volume
// loses its content as soon as no container holds it mounted, so the files are
// extracted through a second, never-started "seed" container that mounts the
// same volumes: its CopyToContainer request is kept open while the server
// container starts, which keeps the tmpfs mounted until the server holds it
// too. The content therefore only ever exists in the daemon's memory and in
// the request body, never on a disk. Files are mode 0400 and owned by the
// container user, which must be numeric ("uid" or "uid:gid") when Files are
// used.
//
// # Package images
//
// A [Spec.Package] (an npm or PyPI package) is built into an image from a
// generated context, in two builds: an install stage (npm install --omit=dev
// into a prefix, or pip into a venv, with the registry and CA bundle given to
// that one RUN step, caches removed, files owned by root) that records the
// exact version and the executable in a file, read back from a created but
// never started container; then a small build on top that puts that record
// in labels ([LabelPackageVersion]), prepares the [Spec.State] directory for
// the sandbox user and sets the entrypoint. The tag, [PackageImage], hashes
// everything the image depends on, so a present image is reused without
// contacting any registry. [Launcher.Prepare] builds ahead of the first
// start, [Launcher.RemoveImages] and [Launcher.RemoveState] clean up.
//
// # Example
//
//	l, err := launcher.New(launcher.Options{Logger: log})
//	if err != nil { ... }
//	defer l.Close()
//	c, err := l.Start(ctx, launcher.Spec{
//		Name: "github", Image: "ghcr.io/github/github-mcp-server:latest",
//		Args: []string{"stdio"}, ReadOnly: true, User: "65534:65534",
//	})
//	if err != nil { ... }
//	defer c.Close(ctx)
//	// write requests to c.Stdin(), read responses from c.Stdout()
package launcher
