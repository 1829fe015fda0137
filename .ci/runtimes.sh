# ---- runtimes the package-server tests build their base images from ----
# Sourced by .ci/run. integration/testimages builds a node image and a python
# image FROM scratch out of this machine's node (integration/node's node 22),
# npm, python3 with its venv module, and a static busybox for sh.
runtimes_install() {
  local need=()
  command -v busybox >/dev/null && ! ldd "$(command -v busybox)" >/dev/null 2>&1 || need+=(busybox-static)
  /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3 python3-venv)
  command -v npm >/dev/null || need+=(npm)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends \
      "${need[@]}" >/dev/null
  fi
}
