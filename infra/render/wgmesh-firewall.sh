#!/bin/bash
# wgmesh-firewall: applies, checks and removes a wg-mesh node's access ruleset: the nftables table
# `inet wgmesh` that filters what arrives through the tunnel (wg-mesh renders it per node from the
# stack's `access` declaration; see docs/access.md). The node's agent runs it as a hook whenever the
# ruleset it ships changes, and every run for the metrics; the doctor runs `check`.
#
#   wgmesh-firewall apply FILE    load FILE with nft -f: one transaction, in place, no tunnel restart;
#                                 nothing changes when FILE does not load, or is already applied
#   wgmesh-firewall remove        delete the table (the mesh is flat again); nothing else is touched
#   wgmesh-firewall check [FILE]  one line per problem with its fix (FILE: the ruleset the config
#                                 ships; none when the config has no policy); exit 1 with problems
#   wgmesh-firewall metrics       write the node_exporter textfile: packets per rule, drops, in sync
#   wgmesh-firewall dropped       the flows dropped in the last hour: SOURCE DESTINATION PROTOCOL [PORT]
#
# Only the table `inet wgmesh` is ever written or deleted: a FILE that names any other table, or
# includes another file, is refused. Nothing here reads or prints a key. WGMESH_STATE_DIR and
# WGMESH_METRICS_DIR are for the lab and tests only.

set -euo pipefail
umask 077
export LC_ALL=C
PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"

readonly TABLE="inet wgmesh"
# As wgmesh-sync places them; the lab and tests move them with WGMESH_CONF_DIR or these.
readonly STATE_DIR="${WGMESH_STATE_DIR:-${WGMESH_CONF_DIR:-/var/lib/wgmesh}}"
readonly STATE="$STATE_DIR/access.state"
readonly METRICS_DIR="${WGMESH_METRICS_DIR:-${WGMESH_CONF_DIR:-/var/lib/prometheus/node-exporter}}"
readonly METRICS="$METRICS_DIR/wgmesh-access.prom"

log() { printf 'wgmesh-firewall: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

need_nft() {
  command -v nft >/dev/null 2>&1 || fail "nft is not installed, so no access policy can be enforced; apt-get install nftables"
}

sha_of_file() { sha256sum -- "$1" | cut -c1-64; }

table_exists() { nft list table "$TABLE" >/dev/null 2>&1; }

# The table as nft shows it without counters and without the dropped flows it has recorded: what
# was applied, whatever traffic has passed since.
live_digest() {
  nft -s list table "$TABLE" 2>/dev/null | awk '
    /elements = \{/ { skip = 1 }
    skip { if ($0 ~ /\}[[:space:]]*$/) skip = 0; next }
    { print }
  ' | sha256sum | cut -c1-64
}

state_value() {
  if [[ -f $STATE ]]; then sed -n "s/^$1=//p" "$STATE" | head -n 1; fi
}

write_atomically() {
  local target=$1 tmp
  mkdir -p -- "$(dirname -- "$target")"
  tmp=$(mktemp "$target.XXXXXX")
  cat >"$tmp"
  chmod 644 -- "$tmp"
  mv -f -- "$tmp" "$target"
}

# A ruleset wg-mesh wrote touches its own table only: outside every brace, nothing but comments,
# `table inet wgmesh {}`, `delete table inet wgmesh` and `table inet wgmesh {`; no include anywhere.
# A guard against a wrong file, not a security boundary: the file comes from the node's own vault.
check_ruleset_file() {
  local file=$1 bad
  [[ -f $file && -r $file ]] || fail "$file: no such readable file"
  if grep -qE '^[[:space:]]*include[[:space:]]' -- "$file"; then fail "$file includes another file; wgmesh-firewall applies only the ruleset wg-mesh renders"; fi
  bad=$(awk '
    {
      line = $0
      sub(/#.*/, "", line)
      text = line
      gsub(/^[[:space:]]+|[[:space:]]+$/, "", text)
      if (depth == 0 && text != "" && text != "table inet wgmesh {}" && text != "delete table inet wgmesh" && text != "table inet wgmesh {") { print NR; exit }
      opens = gsub(/\{/, "{", line); closes = gsub(/\}/, "}", line)
      depth += opens - closes
      if (depth < 0) { print NR; exit }
    }
  ' "$file")
  if [[ -n $bad ]]; then fail "$file line $bad is outside table $TABLE; wgmesh-firewall changes nothing but its own table"; fi
}

cmd_apply() {
  local file=${1:-} sha errors
  [[ -n $file ]] || { log "usage: wgmesh-firewall apply FILE"; exit 2; }
  need_nft
  check_ruleset_file "$file"
  sha=$(sha_of_file "$file")
  if table_exists && [[ $sha == "$(state_value applied)" && "$(live_digest)" == "$(state_value live)" ]]; then
    log "the access ruleset ${sha:0:12} is applied already; nothing to change"
    return 0
  fi
  if ! errors=$(nft -c -f "$file" 2>&1); then
    fail "$file does not load ($(printf '%s\n' "$errors" | grep -m1 -i 'error' || printf '%s' "${errors%%$'\n'*}")); the running ruleset stays as it is"
  fi
  if ! errors=$(nft -f "$file" 2>&1); then
    fail "nft -f $file failed ($(printf '%s\n' "$errors" | head -n 1)); nft applies a file whole or not at all, so the running ruleset stays as it is"
  fi
  mkdir -p -- "$STATE_DIR"
  printf 'applied=%s\nlive=%s\nat=%s\n' "$sha" "$(live_digest)" "$(date +%s)" | write_atomically "$STATE"
  log "applied the access ruleset ${sha:0:12} to table $TABLE in place"
}

cmd_remove() {
  need_nft
  if table_exists; then
    nft delete table "$TABLE"
    log "removed table $TABLE: the tunnel is no longer filtered"
  else
    log "no table $TABLE; nothing to remove"
  fi
  rm -f -- "$STATE"
}

# One line per problem, each with its fix.
cmd_check() {
  local file=${1:-} problems=0 applied
  if [[ -z $file ]]; then
    if command -v nft >/dev/null 2>&1 && table_exists; then
      printf '%s\n' "access: table $TABLE is loaded but the config declares no access policy: wgmesh-firewall remove"
      problems=1
    fi
    return "$problems"
  fi
  if ! command -v nft >/dev/null 2>&1; then
    printf '%s\n' "access: nft is not installed, so the access policy is not enforced: apt-get install nftables; wgmesh-firewall apply $file"
    return 1
  fi
  if ! table_exists; then
    printf '%s\n' "access: the access ruleset is not applied (no table $TABLE), so the tunnel is not filtered: wgmesh-firewall apply $file"
    return 1
  fi
  applied=$(state_value applied)
  if [[ $(sha_of_file "$file") != "$applied" ]]; then
    printf '%s\n' "access: the ruleset applied (${applied:0:12}) is not the config's ($(sha_of_file "$file" | cut -c1-12)): wgmesh-firewall apply $file"
    problems=1
  fi
  if [[ "$(live_digest)" != "$(state_value live)" ]]; then
    printf '%s\n' "access: the live table $TABLE differs from the ruleset applied (changed by hand?): wgmesh-firewall apply $file"
    problems=1
  fi
  return "$problems"
}

# "CHAIN RULE PACKETS" per counter of the table, RULE from the comment (`wgmesh rule 3` -> 3).
counters() {
  nft list table "$TABLE" 2>/dev/null | awk '
    /^[[:space:]]*chain [a-z]+ \{/ { chain = $2 }
    /counter packets [0-9]+/ && /comment "wgmesh / {
      match($0, /counter packets [0-9]+/); packets = substr($0, RSTART + 16, RLENGTH - 16)
      match($0, /comment "wgmesh [^"]*"/); rule = substr($0, RSTART + 16, RLENGTH - 17)
      sub(/^rule /, "", rule)
      print chain, rule, packets
    }
  '
}

# The elements of one of the table's dropped-flow sets, one a line, fields separated by spaces.
set_elements() {
  nft list set "$TABLE" "$1" 2>/dev/null | awk '
    /elements = \{/ { on = 1; sub(/.*elements = \{/, "") }
    on { text = text " " $0; if ($0 ~ /\}[[:space:]]*$/) on = 0 }
    END {
      sub(/\}[[:space:]]*$/, "", text)
      n = split(text, items, ",")
      for (i = 1; i <= n; i++) {
        item = items[i]
        sub(/ expires .*/, "", item); sub(/ timeout .*/, "", item)
        gsub(/ \. /, " ", item); gsub(/^[[:space:]]+|[[:space:]]+$/, "", item)
        if (item != "") print item
      }
    }
  '
}

cmd_dropped() {
  need_nft
  table_exists || return 0
  set_elements dropped
  set_elements dropped_other
}

cmd_metrics() {
  local present=0 in_sync=0 at flows=0
  if command -v nft >/dev/null 2>&1 && table_exists; then
    present=1
    if [[ "$(live_digest)" == "$(state_value live)" ]]; then in_sync=1; fi
    flows=$( { set_elements dropped; set_elements dropped_other; } | wc -l)
  fi
  at=$(state_value at)
  {
    printf '# HELP wgmesh_access_ruleset_applied Whether the access table inet wgmesh is loaded on this node.\n'
    printf '# TYPE wgmesh_access_ruleset_applied gauge\n'
    printf 'wgmesh_access_ruleset_applied %s\n' "$present"
    printf '# HELP wgmesh_access_ruleset_in_sync Whether the live table is the ruleset wgmesh-firewall applied (0: changed by hand, or not applied).\n'
    printf '# TYPE wgmesh_access_ruleset_in_sync gauge\n'
    printf 'wgmesh_access_ruleset_in_sync %s\n' "$in_sync"
    if [[ -n $at ]]; then
      printf '# HELP wgmesh_access_ruleset_applied_timestamp_seconds When the running ruleset was applied.\n'
      printf '# TYPE wgmesh_access_ruleset_applied_timestamp_seconds gauge\n'
      printf 'wgmesh_access_ruleset_applied_timestamp_seconds %s\n' "$at"
    fi
    if ((present)); then
      printf '# HELP wgmesh_access_rule_packets_total Packets each access rule matched on this node, by chain (input: to the node; forward: through it); rule "drop" counts what no rule allows.\n'
      printf '# TYPE wgmesh_access_rule_packets_total counter\n'
      counters | awk '{ sum[$1 "\t" $2] += $3 } END { for (k in sum) { split(k, p, "\t"); printf "wgmesh_access_rule_packets_total{chain=\"%s\",rule=\"%s\"} %d\n", p[1], p[2], sum[k] } }' | sort
      printf '# HELP wgmesh_access_dropped_packets_total Packets the access policy dropped on this node, by chain.\n'
      printf '# TYPE wgmesh_access_dropped_packets_total counter\n'
      counters | awk '$2 == "drop" { printf "wgmesh_access_dropped_packets_total{chain=\"%s\"} %d\n", $1, $3 }' | sort
      printf '# HELP wgmesh_access_dropped_flows Distinct flows (source, destination, protocol, port) dropped in the last hour (wgmesh-firewall dropped lists them).\n'
      printf '# TYPE wgmesh_access_dropped_flows gauge\n'
      printf 'wgmesh_access_dropped_flows %s\n' "$flows"
    fi
  } | write_atomically "$METRICS"
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    apply) cmd_apply "$@" ;;
    remove) cmd_remove ;;
    check) cmd_check "$@" ;;
    metrics) cmd_metrics ;;
    dropped) cmd_dropped ;;
    *)
      log "usage: wgmesh-firewall apply FILE | remove | check [FILE] | metrics | dropped"
      exit 2
      ;;
  esac
}

main "$@"
