# ---- cross-platform builds ----
# Sourced by .ci/run. cross_check builds and vets the module for the platforms users run
# mcp-sandbox on besides this one, and links every package's test binary for each (go test
# -c compiles and links without running: a test file that does not build for Windows or
# macOS fails here, not on a user's machine).
cross_check() {
  local target out
  out=$(mktemp -d /tmp/ci-cross.XXXXXX)
  for target in darwin/arm64 darwin/amd64 windows/amd64 linux/arm64; do
    echo "cross: $target"
    GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go build ./...
    GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go vet ./...
    mkdir -p "$out/$target"
    GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go test -c -o "$out/$target/" ./...
  done
  rm -rf "$out"
}
