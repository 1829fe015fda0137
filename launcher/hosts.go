package launcher

import (
	"os"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// A server with no network is created with the network disabled rather
// than on the engine's "none" network. Both leave it nothing but loopback,
// but for "none" Docker before 28 builds a network sandbox on every start
// through a prestart hook that re-executes the daemon: half of a start here
// (510 ms against 240 ms on Docker 20.10). Docker 28.0 dropped that hook for
// containers (moby/moby#52488), so there the gain is smaller. A disabled network has no
// /etc/hosts, though, so that "localhost" would not resolve; the container
// gets this one instead, bind-mounted read-only from a file the launcher
// keeps in the user's cache directory.
const hostsContent = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

// hostsTarget is where the hosts file goes in the container.
const hostsTarget = "/etc/hosts"

// hostsFile returns the path of the hosts file for containers without a
// network, writing it the first time, or "" when the engine cannot see
// this machine's files (it is reached over TCP or SSH) or the file cannot
// be written; such containers then use the engine's "none" network.
func (l *Launcher) hostsFile() string {
	l.hostsOnce.Do(func() {
		if !engineSharesFiles(l.endpoint.Host) {
			return
		}
		if selinuxEnforcing() {
			l.log.Debug().Msg("SELinux is enforcing: containers without a network use the engine's none network, whose hosts file the engine labels")
			return
		}
		p, err := writeHostsFile()
		if err != nil {
			l.log.Debug().Err(err).Msg("no hosts file for containers without a network; they use the engine's none network")
			return
		}
		l.hosts = p
	})
	return l.hosts
}

// engineSharesFiles reports whether an engine at host can bind-mount files
// of this machine: a local socket or named pipe. Docker Desktop and the
// Linux VMs of Colima, OrbStack, Rancher Desktop and Podman share the home
// directory, where the cache directory is; an engine that turns the mount
// down is handled by [Launcher.create].
func engineSharesFiles(host string) bool {
	return strings.HasPrefix(host, "unix://") || strings.HasPrefix(host, "npipe://")
}

// selinuxEnforce is the file in which Linux says whether SELinux enforces.
var selinuxEnforce = "/sys/fs/selinux/enforce"

// selinuxEnforcing reports whether this machine enforces SELinux. There a
// file in the user's cache directory (cache_home_t) is not readable by a
// container (container_t) unless relabelled, and a mount cannot ask for
// that (see [disableNetwork]), so the hosts file is not used: Fedora and
// RHEL, with Podman or Docker, keep the engine's none network. An engine in
// a VM (Podman machine, Docker Desktop) is not seen from here; there the
// shared home directory's files are labelled by the VM's share.
func selinuxEnforcing() bool {
	b, err := os.ReadFile(selinuxEnforce)
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

func writeHostsFile() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir = filepath.Join(dir, "mcp-sandbox")
	p := filepath.Join(dir, "hosts")
	if b, err := os.ReadFile(p); err == nil && string(b) == hostsContent {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Written aside and renamed, so that a container being created
	// meanwhile never mounts half a file.
	tmp, err := os.CreateTemp(dir, "hosts-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(hostsContent); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return p, os.Rename(tmp.Name(), p)
}

// disableNetwork turns a container on the "none" network into one with its
// network disabled and hostsFile mounted at /etc/hosts (unless the server
// mounts a file there itself). It does nothing when hostsFile is "".
//
// The file is a mount, not a bind string: for a bind whose source the
// engine does not have (mcp-sandbox in a dev container, sharing the
// socket of an engine on another filesystem) Docker creates a directory
// there and the start fails, where a mount fails the create, which
// [Launcher.create] answers with the none network. A mount cannot ask for
// an SELinux relabel, so on a machine enforcing SELinux hostsFile is ""
// (see [selinuxEnforcing]).
func disableNetwork(cfg *container.Config, hc *container.HostConfig, hostsFile string) {
	if hostsFile == "" || hc.NetworkMode != NetworkNone {
		return
	}
	cfg.NetworkDisabled = true
	for _, m := range hc.Mounts {
		if m.Target == hostsTarget {
			return
		}
	}
	hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: hostsFile, Target: hostsTarget, ReadOnly: true})
}

// enableNetwork undoes disableNetwork: the container goes back to the
// engine's "none" network, with the engine's own /etc/hosts.
func enableNetwork(cfg *container.Config, hc *container.HostConfig, hostsFile string) {
	cfg.NetworkDisabled = false
	mounts := hc.Mounts[:0:0]
	for _, m := range hc.Mounts {
		if !(m.Target == hostsTarget && m.Source == hostsFile && m.Type == mount.TypeBind) {
			mounts = append(mounts, m)
		}
	}
	hc.Mounts = mounts
}

// mountRefused reports whether a create failed over a bind mount: Docker
// answers "invalid mount config" (an invalid parameter), Docker Desktop
// "Mounts denied".
func mountRefused(err error) bool {
	return err != nil && (cerrdefs.IsInvalidArgument(err) || strings.Contains(strings.ToLower(err.Error()), "mount"))
}
