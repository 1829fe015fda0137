# ---- Podman's Docker-compatible service for the sandbox tests ----
# Sourced by .ci/run (bash, root, no stdin; safe under set -euo pipefail).
# podman_start installs podman and catatonit from Debian if missing, makes catatonit findable
# where Podman looks for its init helper, starts `podman system service` on a socket and with
# a storage of its own (never the machine's default Podman store), waits for it, and exports
# MCP_SANDBOX_PODMAN_HOST (the socket) and MCP_SANDBOX_REQUIRE_PODMAN=1, so that
# integration.TestSandboxOnPodman runs the probe's sandbox tests against it or fails.
# podman_stop ends only the service podman_start started (by PID) and removes its storage.
podman_start() {
  local t0=$EPOCHREALTIME i nofile nproc
  if ! command -v podman >/dev/null || ! command -v catatonit >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq podman catatonit >/dev/null
  fi
  # Debian installs catatonit as /usr/bin/catatonit; Podman 4.3 looks in /usr/libexec/podman.
  if [ ! -e /usr/libexec/podman/catatonit ]; then
    mkdir -p /usr/libexec/podman
    ln -s "$(command -v catatonit)" /usr/libexec/podman/catatonit
  fi
  PODMAN_DIR=$(mktemp -d /tmp/ci-podman.XXXXXX)
  # Rootful Podman asks runc for RLIMIT_NOFILE and RLIMIT_NPROC of 1048576 and 32768 or more;
  # root in a container without CAP_SYS_RESOURCE cannot raise its limits that far, and runc
  # then fails ("error setting rlimit type 7: operation not permitted", reported by the
  # Docker client only as "unable to upgrade to tcp, received 409"). Ask for what we have.
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=1048576
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
    "$nofile" "$nofile" "$nproc" "$nproc" >"$PODMAN_DIR/containers.conf"
  CONTAINERS_CONF="$PODMAN_DIR/containers.conf" podman --root "$PODMAN_DIR/root" \
    --runroot "$PODMAN_DIR/runroot" --tmpdir "$PODMAN_DIR/tmp" \
    system service --time=0 "unix://$PODMAN_DIR/podman.sock" >"$PODMAN_DIR/service.log" 2>&1 </dev/null &
  PODMAN_PID=$!
  for i in $(seq 100); do
    curl -sf --unix-socket "$PODMAN_DIR/podman.sock" http://podman/_ping >/dev/null 2>&1 && break
    sleep 0.2
  done
  if ! curl -sf --unix-socket "$PODMAN_DIR/podman.sock" http://podman/_ping >/dev/null 2>&1; then
    echo "podman: service did not start; its log:" >&2
    tail -n 50 "$PODMAN_DIR/service.log" >&2
    return 1
  fi
  export MCP_SANDBOX_PODMAN_HOST="unix://$PODMAN_DIR/podman.sock"
  export MCP_SANDBOX_REQUIRE_PODMAN=1
  echo "podman: $(podman --version) ready at $MCP_SANDBOX_PODMAN_HOST in $(awk "BEGIN{printf \"%.2f\", $EPOCHREALTIME-$t0}")s"
}
podman_stop() {
  if [ -n "${PODMAN_PID:-}" ]; then
    kill "$PODMAN_PID" 2>/dev/null || true
    wait "$PODMAN_PID" 2>/dev/null || true
    podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/runroot" system reset --force >/dev/null 2>&1 || true
    rm -rf "$PODMAN_DIR" 2>/dev/null || true
  fi
}
