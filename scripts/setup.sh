#!/usr/bin/env bash
# Installs what wg-mesh needs on a fresh Debian machine (run as root): WireGuard tools for the
# lab and the key test, shellcheck for the sync unit, graphviz for mesh drawings, then npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in wireguard-tools wireguard-go iproute2 iputils-ping iptables shellcheck graphviz procps; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages ${need[*]}; run this as root (or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required (node --version: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
