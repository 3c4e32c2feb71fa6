#!/usr/bin/env bash
# Installs what wg-mesh needs on a fresh Debian machine (run as root): WireGuard tools for the
# lab and the key test, shellcheck for the sync unit, graphviz for mesh drawings, and what the
# delivery tests run for real: cloud-init (`cloud-init schema`, its write_files module), systemd
# (`systemd-analyze verify`), curl and jq (the sync script), python3-botocore (checks the AWS
# signature), openssl (the vault stand-ins' test CA); python3 (also the lab's batch pinger and flow
# probes), nftables (the access rulesets, applied in the lab's namespaces) and prometheus (promtool
# checks the metrics file and the alert rules); Node.js 22 or newer when the machine's is older
# (scripts/node-runtime.sh); then npm ci and npm run build.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in wireguard-tools wireguard-go iproute2 iputils-ping iptables nftables shellcheck graphviz procps \
  curl jq cloud-init systemd python3 python3-botocore openssl prometheus; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
installs_cloud_init=false
if [[ " ${need[*]} " == *" cloud-init "* ]]; then installs_cloud_init=true; fi
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages ${need[*]}; run this as root (or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d 101: packages (prometheus) must not start services on a machine that only tests them.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # cloud-init is here for its checks only: it must not configure this machine at its next boot.
  if $installs_cloud_init && [ ! -e /etc/cloud/cloud-init.disabled ]; then
    mkdir -p /etc/cloud
    echo "wg-mesh's scripts/setup.sh installed cloud-init for its tests; this file keeps it from running at boot" >/etc/cloud/cloud-init.disabled
  fi
fi
# Node.js 22 or newer (tested on 24 LTS): the machine's own when it is new enough, else Node's own
# binary from the npm registry in a folder wg-mesh owns (scripts/node-runtime.sh says where).
# shellcheck source=scripts/node-runtime.sh
. scripts/node-runtime.sh
if ! wgmesh_use_node; then
  wgmesh_install_node
  wgmesh_use_node || { echo "setup: Node.js $WGMESH_NODE_VERSION was installed in $(wgmesh_node_bin) but does not run" >&2; exit 1; }
fi
# A node_modules that is a link is an install shared with other checkouts (git worktrees): npm ci
# here would empty it under them, so it is left to the checkout that owns it.
if [ -L node_modules ]; then
  [ -d node_modules/ ] || { echo "setup: node_modules links to $(readlink node_modules), which is missing; run npm ci there" >&2; exit 1; }
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# The package as it ships (dist/: the compiled CLI, components, plugin schema and policy pack); npm run
# build does nothing when dist/ is up to date with the sources.
npm run build --silent
