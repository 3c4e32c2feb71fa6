#!/bin/bash
# wgmesh-firewall: applies, checks and removes a wg-mesh node's access ruleset: the nftables table
# `inet wgmesh` that filters what arrives through the tunnel (wg-mesh renders it per node from the
# stack's `access` declaration; see docs/access.md). The node's agent runs it as a hook whenever the
# ruleset it ships changes, and every run for the metrics; the doctor runs `check`. On a host with
# iptables and no nft (an external node), FILE may be the iptables-restore rendering instead
# (wgmesh-access.iptables, starting `*filter`): wg-mesh's chains WGMESH-INPUT and WGMESH-FORWARD.
#
#   wgmesh-firewall apply FILE    load FILE with nft -f (or iptables-restore --noflush): one
#                                 transaction, in place, no tunnel restart; nothing changes when FILE
#                                 does not load, or is already applied
#   wgmesh-firewall remove        delete the table, or the chains and the jumps into them (the mesh is
#                                 flat again); nothing else is touched
#   wgmesh-firewall check [FILE]  one line per problem with its fix (FILE: the ruleset the config
#                                 ships; none when the config has no policy); exit 1 with problems
#   wgmesh-firewall metrics       write the node_exporter textfile: packets per rule, drops, in sync
#   wgmesh-firewall dropped       the flows dropped in the last hour: SOURCE DESTINATION PROTOCOL [PORT]
#                                 (nftables only)
#
# Only the table `inet wgmesh` (or the chains WGMESH-INPUT and WGMESH-FORWARD of table filter, and
# one jump into each) is ever written or deleted: a FILE that names any other table or chain, or
# includes another file, is refused. Nothing here reads or prints a key. WGMESH_STATE_DIR and
# WGMESH_METRICS_DIR are for the lab and tests only; WGMESH_IPTABLES names the iptables command
# (default iptables; iptables-legacy to pick that backend where both are installed).

set -euo pipefail
umask 077
export LC_ALL=C
PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"

readonly TABLE="inet wgmesh"
readonly CHAINS="WGMESH-INPUT WGMESH-FORWARD"
readonly IPT="${WGMESH_IPTABLES:-iptables}"
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

need_iptables() {
  command -v "$IPT-restore" >/dev/null 2>&1 || fail "$IPT-restore is not installed, so no iptables ruleset can be enforced; apt-get install iptables"
}

have_iptables() { command -v "$IPT-save" >/dev/null 2>&1; }

# Whether FILE is an iptables-restore file: its first line that is not a comment or blank is `*TABLE`.
is_iptables_file() {
  [[ $(awk '!/^[[:space:]]*(#|$)/ { print substr($1, 1, 1); exit }' "$1") == "*" ]]
}

# Table filter as iptables-save prints it, without counters: wg-mesh's chains, their rules and the
# jumps into them, in order; nothing when there are none.
ipt_ours() {
  "$IPT-save" -t filter 2>/dev/null | sed -E 's/^\[[0-9]+:[0-9]+\] //' | awk '
    /^:WGMESH-(INPUT|FORWARD) / { print $1; next }
    /^-A WGMESH-(INPUT|FORWARD) / || / -j WGMESH-(INPUT|FORWARD)$/ { print }
  '
}

ipt_exists() { [[ $'\n'$(ipt_ours) == *$'\n':WGMESH-* ]]; }

# The jumps into wg-mesh's chains from INPUT and FORWARD, as iptables-save writes them.
ipt_jumps() { ipt_ours | grep -E '^-A (INPUT|FORWARD) .* -j WGMESH-(INPUT|FORWARD)$' || true; }

sha_of_file() { sha256sum -- "$1" | cut -c1-64; }

table_exists() { nft list table "$TABLE" >/dev/null 2>&1; }

# The table as nft shows it without counters and without the dropped flows it has recorded: what
# was applied, whatever traffic has passed since.
live_digest() {
  if [[ $(state_value backend) == iptables ]]; then
    ipt_ours | sha256sum | cut -c1-64
    return
  fi
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

# An iptables ruleset wg-mesh wrote touches table filter only, and in it wg-mesh's chains only:
# comments, `*filter`, `COMMIT`, the chains' declarations and flushes, rules appended to them that
# end in ACCEPT, RETURN or DROP, and one jump into each from INPUT and FORWARD, inserted first.
check_iptables_file() {
  local file=$1 bad
  [[ -f $file && -r $file ]] || fail "$file: no such readable file"
  bad=$(awk '
    /^[[:space:]]*(#|$)/ { next }
    /^\*filter[[:space:]]*$/ { tables++; if (tables > 1) { print NR; exit } next }
    /^COMMIT[[:space:]]*$/ { next }
    /^:WGMESH-(INPUT|FORWARD) - \[0:0\][[:space:]]*$/ { next }
    /^-F WGMESH-(INPUT|FORWARD)[[:space:]]*$/ { next }
    /^-I INPUT 1 -i [A-Za-z0-9_.-]+ -j WGMESH-INPUT[[:space:]]*$/ { next }
    /^-I FORWARD 1 -i [A-Za-z0-9_.-]+ -j WGMESH-FORWARD[[:space:]]*$/ { next }
    /^-A WGMESH-(INPUT|FORWARD) / && /-j (ACCEPT|RETURN|DROP)[[:space:]]*$/ && !/ -g / && gsub(/ -j /, "&") == 1 { next }
    { print NR; exit }
  ' "$file")
  if [[ -n $bad ]]; then fail "$file line $bad touches more than the chains $CHAINS of table filter; wgmesh-firewall changes nothing but its own chains"; fi
}

# Loads an iptables ruleset: one iptables-restore --noflush commit that replaces wg-mesh's chains and
# adds a jump only where it is missing; then drops stale jumps into them (another interface).
apply_iptables() {
  local file=$1 sha=$2 body errors jump spec args
  need_iptables
  check_iptables_file "$file"
  if ipt_exists && [[ $(state_value backend) == iptables && $sha == "$(state_value applied)" && "$(live_digest)" == "$(state_value live)" ]]; then
    log "the access ruleset ${sha:0:12} is applied already; nothing to change"
    return 0
  fi
  body=$(grep -vE '^[[:space:]]*#' -- "$file")
  while read -r jump; do
    spec=${jump#-I }
    read -ra args <<<"${spec/ 1 / }"
    if "$IPT" -C "${args[@]}" >/dev/null 2>&1; then body=$(printf '%s\n' "$body" | grep -vxF -- "$jump"); fi
  done < <(grep -E '^-I (INPUT|FORWARD) 1 ' -- "$file")
  if ! errors=$(printf '%s\n' "$body" | "$IPT-restore" --noflush --test 2>&1); then
    fail "$file does not load ($(printf '%s' "${errors%%$'\n'*}")); the running ruleset stays as it is"
  fi
  if ! errors=$(printf '%s\n' "$body" | "$IPT-restore" --noflush 2>&1); then
    fail "$IPT-restore $file failed ($(printf '%s' "${errors%%$'\n'*}")); it commits a table whole or not at all, so the running ruleset stays as it is"
  fi
  while read -r jump; do
    spec=${jump#-A }
    read -ra args <<<"$spec"
    if ! grep -qxF -- "-I ${spec%% *} 1 ${spec#* }" "$file"; then "$IPT" -D "${args[@]}"; fi
  done < <(ipt_jumps)
  mkdir -p -- "$STATE_DIR"
  printf 'backend=iptables\napplied=%s\nlive=%s\nat=%s\n' "$sha" "$(ipt_ours | sha256sum | cut -c1-64)" "$(date +%s)" | write_atomically "$STATE"
  log "applied the access ruleset ${sha:0:12} to the chains $CHAINS in place"
}

cmd_apply() {
  local file=${1:-} sha errors
  [[ -n $file ]] || { log "usage: wgmesh-firewall apply FILE"; exit 2; }
  [[ -f $file && -r $file ]] || fail "$file: no such readable file"
  if is_iptables_file "$file"; then
    apply_iptables "$file" "$(sha_of_file "$file")"
    return
  fi
  need_nft
  check_ruleset_file "$file"
  sha=$(sha_of_file "$file")
  if table_exists && [[ $(state_value backend) != iptables && $sha == "$(state_value applied)" && "$(live_digest)" == "$(state_value live)" ]]; then
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
  rm -f -- "$STATE"
  printf 'backend=nft\napplied=%s\nlive=%s\nat=%s\n' "$sha" "$(live_digest)" "$(date +%s)" | write_atomically "$STATE"
  log "applied the access ruleset ${sha:0:12} to table $TABLE in place"
}

# Deletes the jumps into wg-mesh's chains and the chains, in one iptables-restore commit.
remove_iptables() {
  local chain
  {
    printf '*filter\n'
    ipt_jumps | sed 's/^-A /-D /'
    for chain in $CHAINS; do
      if ipt_ours | grep -qxF ":$chain"; then printf -- '-F %s\n-X %s\n' "$chain" "$chain"; fi
    done
    printf 'COMMIT\n'
  } | "$IPT-restore" --noflush
}

cmd_remove() {
  local removed=0
  if command -v nft >/dev/null 2>&1 && table_exists; then
    nft delete table "$TABLE"
    log "removed table $TABLE: the tunnel is no longer filtered"
    removed=1
  fi
  if have_iptables && ipt_exists; then
    remove_iptables
    log "removed the chains $CHAINS and the jumps into them: the tunnel is no longer filtered"
    removed=1
  fi
  if ((!removed)); then
    command -v nft >/dev/null 2>&1 || have_iptables || fail "neither nft nor $IPT is installed; nothing to remove"
    log "no table $TABLE and no chains $CHAINS; nothing to remove"
  fi
  rm -f -- "$STATE"
}

# One line per problem, each with its fix.
cmd_check() {
  local file=${1:-} problems=0
  if [[ -z $file ]]; then
    if command -v nft >/dev/null 2>&1 && table_exists; then
      printf '%s\n' "access: table $TABLE is loaded but the config declares no access policy: wgmesh-firewall remove"
      problems=1
    fi
    if have_iptables && ipt_exists; then
      printf '%s\n' "access: the chains $CHAINS are loaded but the config declares no access policy: wgmesh-firewall remove"
      problems=1
    fi
    return "$problems"
  fi
  if [[ -f $file ]] && is_iptables_file "$file"; then
    check_iptables "$file"
    return
  fi
  if ! command -v nft >/dev/null 2>&1; then
    printf '%s\n' "access: nft is not installed, so the access policy is not enforced: apt-get install nftables; wgmesh-firewall apply $file"
    return 1
  fi
  if ! table_exists; then
    printf '%s\n' "access: the access ruleset is not applied (no table $TABLE), so the tunnel is not filtered: wgmesh-firewall apply $file"
    return 1
  fi
  check_applied "$file" "table $TABLE differs" || problems=1
  return "$problems"
}

check_iptables() {
  local file=$1 problems=0 jumps
  if ! have_iptables; then
    printf '%s\n' "access: $IPT is not installed, so the access policy is not enforced: apt-get install iptables; wgmesh-firewall apply $file"
    return 1
  fi
  if ! ipt_exists; then
    printf '%s\n' "access: the access ruleset is not applied (no chains $CHAINS), so the tunnel is not filtered: wgmesh-firewall apply $file"
    return 1
  fi
  jumps=$(ipt_jumps)
  if ! grep -q 'INPUT .* -j WGMESH-INPUT$' <<<"$jumps" || { grep -q '^-I FORWARD ' "$file" && ! grep -q 'FORWARD .* -j WGMESH-FORWARD$' <<<"$jumps"; }; then
    printf '%s\n' "access: a jump into the chains $CHAINS is missing, so the tunnel is not filtered: wgmesh-firewall apply $file"
    problems=1
  fi
  check_applied "$file" "chains $CHAINS differ" || problems=1
  return "$problems"
}

# Both backends: the ruleset applied is FILE, and what is live is what was applied ($2 names it).
check_applied() {
  local file=$1 applied status=0
  applied=$(state_value applied)
  if [[ $(sha_of_file "$file") != "$applied" ]]; then
    printf '%s\n' "access: the ruleset applied (${applied:0:12}) is not the config's ($(sha_of_file "$file" | cut -c1-12)): wgmesh-firewall apply $file"
    status=1
  fi
  if [[ "$(live_digest)" != "$(state_value live)" ]]; then
    printf '%s\n' "access: the live $2 from the ruleset applied (changed by hand?): wgmesh-firewall apply $file"
    status=1
  fi
  return "$status"
}

# "CHAIN RULE PACKETS" per counter of the table, RULE from the comment (`wgmesh rule 3` -> 3).
counters() {
  if [[ $(state_value backend) == iptables ]]; then
    "$IPT-save" -c -t filter 2>/dev/null | awk '
      /^\[[0-9]+:[0-9]+\] -A WGMESH-(INPUT|FORWARD) .*--comment "?wgmesh / {
        packets = substr($1, 2); sub(/:.*/, "", packets)
        chain = tolower(substr($3, 8))
        match($0, /--comment "?wgmesh [^"]*"?/); rule = substr($0, RSTART, RLENGTH)
        sub(/^--comment "?wgmesh /, "", rule); sub(/"$/, "", rule); sub(/^rule /, "", rule)
        print chain, rule, packets
      }
    '
    return
  fi
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
  if [[ $(state_value backend) == iptables ]]; then
    fail "dropped flows are recorded by the nftables ruleset only; this node runs the iptables one, whose drops are counted (wgmesh-firewall metrics: wgmesh_access_dropped_packets_total)"
  fi
  need_nft
  table_exists || return 0
  set_elements dropped
  set_elements dropped_other
}

cmd_metrics() {
  local present=0 in_sync=0 at flows=""
  if [[ $(state_value backend) == iptables ]]; then
    if have_iptables && ipt_exists; then present=1; fi
  elif command -v nft >/dev/null 2>&1 && table_exists; then
    present=1
    flows=$( { set_elements dropped; set_elements dropped_other; } | wc -l)
  fi
  if ((present)) && [[ "$(live_digest)" == "$(state_value live)" ]]; then in_sync=1; fi
  at=$(state_value at)
  {
    printf '# HELP wgmesh_access_ruleset_applied Whether the access ruleset (table inet wgmesh, or the iptables chains WGMESH-INPUT and WGMESH-FORWARD) is loaded on this node.\n'
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
    fi
    if [[ -n $flows ]]; then
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
