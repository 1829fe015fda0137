# ---- a second Docker engine the tests may stop and start ----
# Sourced by .ci/run after docker.sh. integration's TestEngineFaults starts a
# dockerd of its own (own socket, data root, exec root and pid file, no
# bridge of its own, no firewall rules) and restarts and crashes it under sessions; the
# shared engine is never touched. This checks that it can (dockerd present,
# running as root) and exports MCP_SANDBOX_REQUIRE_DOCKERD2=1 so that test
# fails instead of skipping.
dockerd2_check() {
  if ! command -v dockerd >/dev/null; then
    echo "dockerd2: no dockerd (docker.sh installs docker.io)" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "dockerd2: a second dockerd needs root" >&2
    return 1
  fi
  export MCP_SANDBOX_REQUIRE_DOCKERD2=1
  echo "dockerd2: $(dockerd --version)"
}
