#!/bin/bash
# wgmesh-watchdog: a wg-mesh node's failover, applied by the node itself. It pings each peer it
# depends on once a second, over that peer's own link (failover.conf never moves a peer's own address),
# and judges the peer by its received-bytes counter, which the answers (and the keepalive each link of a
# resilient mesh carries) keep moving; an answer that came another way does not count. (Keepalives
# alone are not enough: WireGuard sends one only when nothing crossed the link for a second, so of two
# ends both set to 1 s, one can go silent while the other talks.) When a peer's counter has not moved
# for DownAfter seconds, this node gives its peers the
# AllowedIPs that failover.conf lists for that loss (`wg set`, plus a route per new prefix); when the
# peer has answered again for UpAfter seconds, it gives them back their wg0.conf lists. Only the dead
# node's neighbours act, each from a table wg-mesh computed and proved in advance: no controller, no
# deploy, and no other node has to know.
#
# One failure at a time: a second peer going silent while one is already failed over is logged and
# left as it is (the tables are proved for single failures). The state is in $STATE_DIR for
# `wgmesh doctor`, the metrics in the node_exporter textfile next to wgmesh-sync's. Every switch is one
# log line with its reason. The file holds no key material and prints none: it reads public keys only.
#
# Settings (environment, for tests and the lab; a node uses the defaults):
#   WGMESH_IFACE (wg0), WGMESH_CONF_DIR (/etc/wireguard: wg0.conf there, failover.conf in wg0.d/),
#   WGMESH_STATE_DIR (/var/lib/wgmesh), WGMESH_METRICS_DIR (/var/lib/prometheus/node-exporter),
#   WGMESH_WATCHDOG_RUNS (stop after that many readings; tests), WGMESH_LOG_TIMES (1: each log line starts
#   with the epoch in milliseconds, for the lab's timings; journald stamps lines on a node).

set -uo pipefail
shopt -s extglob
umask 077
export LC_ALL=C
PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"

# The node's interface is the bootstrap's (the agent's units name no interface, so one agent fits
# every node); tests and the lab set WGMESH_IFACE.
IFACE=${WGMESH_IFACE:-}
if [[ -z $IFACE && -r ${WGMESH_SYNC:-/usr/local/sbin/wgmesh-sync} ]]; then
  # shellcheck disable=SC2016
  IFACE=$(bash -c 'source "$1" >/dev/null 2>&1; printf %s "${IFACE:-}"' _ "${WGMESH_SYNC:-/usr/local/sbin/wgmesh-sync}")
fi
readonly IFACE=${IFACE:-wg0}
readonly CONF_DIR="${WGMESH_CONF_DIR:-/etc/wireguard}"
readonly CONF="$CONF_DIR/$IFACE.conf"
# The table rides with wg0.conf in its vault entry; wgmesh-sync installs it in wg0.d (docs/node-agent.md).
readonly TABLE="$CONF_DIR/$IFACE.d/failover.conf"
readonly STATE_DIR="${WGMESH_STATE_DIR:-${WGMESH_CONF_DIR:-/var/lib/wgmesh}}"
readonly STATE="$STATE_DIR/failover.$IFACE.state"
readonly METRICS_DIR="${WGMESH_METRICS_DIR:-${WGMESH_CONF_DIR:-/var/lib/prometheus/node-exporter}}"
readonly METRICS="$METRICS_DIR/wgmesh-watchdog-$IFACE.prom"
readonly RUNS="${WGMESH_WATCHDOG_RUNS:-0}"

# Milliseconds since the epoch, without starting a process.
now_ms() { local t=${EPOCHREALTIME/[.,]/}; printf '%s' "$((10#${t:0:${#t}-3}))"; }
log() {
  if [[ ${WGMESH_LOG_TIMES:-} == 1 ]]; then printf '%s wgmesh-watchdog: %s\n' "$(now_ms)" "$*" >&2; else printf 'wgmesh-watchdog: %s\n' "$*" >&2; fi
}
clock() { printf '%(%H:%M:%S)T' "$(($1 / 1000))"; }

# --- What the node runs normally: each peer's AllowedIPs in wg0.conf -------------------------------
declare -A NORMAL=() NAME=()
read_conf() {
  local line key value here='' peer=''
  NORMAL=()
  [[ -f $CONF ]] || return 1
  while read -r line || [[ -n $line ]]; do
    line=${line%%#*}
    key=${line%%=*}; key=${key##*([[:space:]])}; key=${key%%*([[:space:]])}
    if [[ $key == \[* ]]; then here=${key,,}; peer=''; continue; fi
    [[ $here == '[peer]' && $line == *=* ]] || continue
    value=${line#*=}; value=${value##*([[:space:]])}; value=${value%%*([[:space:]])}
    case ${key,,} in
      publickey) peer=$value; NORMAL[$peer]=${NORMAL[$peer]-} ;;
      allowedips) [[ -n $peer ]] && NORMAL[$peer]=${value//[[:space:]]/} ;;
    esac
  done <"$CONF"
}

# --- failover.conf: per lost peer, the peers that change and their lists ---------------------------
declare -A ENTRY=()  # lost key -> "peerkey|list peerkey|list ..." (a key ends in '=', so not that)
declare -A ADDRESS=() PINGER=()
WATCHED=()           # lost keys, in file order
INTERVAL=1 DOWN_AFTER=5 UP_AFTER=15
read_table() {
  local raw line key value section='' lost='' peer='' comment
  ENTRY=(); WATCHED=(); NAME=(); ADDRESS=()
  [[ -f $TABLE ]] || return 1
  while IFS= read -r raw || [[ -n $raw ]]; do
    comment=''
    [[ $raw == *#* ]] && { comment=${raw#*#}; comment=${comment##*([[:space:]])}; comment=${comment%%*([[:space:]])}; }
    line=${raw%%#*}; line=${line##*([[:space:]])}; line=${line%%*([[:space:]])}
    [[ -n $line ]] || continue
    if [[ $line == \[*\] ]]; then
      section=${line,,}; peer=''
      [[ $section == '[lost]' ]] && lost=''
      PENDING_NAME=$comment
      continue
    fi
    key=${line%%=*}; key=${key%%*([[:space:]])}; value=${line#*=}; value=${value##*([[:space:]])}
    case "$section:${key,,}" in
      '[watchdog]:interval') INTERVAL=$value ;;
      '[watchdog]:downafter') DOWN_AFTER=$value ;;
      '[watchdog]:upafter') UP_AFTER=$value ;;
      '[lost]:publickey') lost=$value; WATCHED+=("$lost"); ENTRY[$lost]=''; NAME[$lost]=${PENDING_NAME:-$lost} ;;
      '[lost]:address') [[ -n $lost && $value =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] && ADDRESS[$lost]=$value ;;
      '[peer]:publickey') peer=$value; NAME[$peer]=${PENDING_NAME:-$peer} ;;
      '[peer]:allowedips') [[ -n $lost && -n $peer ]] && ENTRY[$lost]+="$peer|${value//[[:space:]]/} " ;;
      *) log "failover.conf: ignoring ${key@Q} in ${section:-no section}" ;;
    esac
  done <"$TABLE"
  [[ $INTERVAL =~ ^[1-9][0-9]*$ && $DOWN_AFTER =~ ^[1-9][0-9]*$ && $UP_AFTER =~ ^[1-9][0-9]*$ ]] || { log "failover.conf: [Watchdog] values are not whole seconds; using 1, 5 and 15"; INTERVAL=1 DOWN_AFTER=5 UP_AFTER=15; }
}

# A file replaced by a rename is a new inode, even within the same second.
mtime() { stat -c '%Y.%i' "$1" 2>/dev/null || echo 0; }

# Routes into the interface for prefixes a table gives (wg-quick would add them for wg0.conf's own).
ROUTES_ADDED=()
routes_for() {
  local list=$1 p
  [[ $(grep -ci '^[[:space:]]*table[[:space:]]*=[[:space:]]*off' "$CONF" 2>/dev/null) == 0 ]] || return 0
  for p in ${list//,/ }; do
    ip -4 route replace "$p" dev "$IFACE" 2>/dev/null && ROUTES_ADDED+=("$p")
  done
}

# Gives each "key|list" its list: the peers that gain prefixes first, so none is without a peer. A
# peer no longer on the interface (wgmesh-sync removed it) is left out: `wg set` would create it.
set_lists() {
  local -a gain=() lose=()
  local pair here
  here=" $(wg show "$IFACE" peers 2>/dev/null | tr '\n' ' ') "
  for pair in "$@"; do
    [[ $here == *" ${pair%%|*} "* ]] || continue
    if [[ -n ${pair#*|} ]]; then gain+=(peer "${pair%%|*}" allowed-ips "${pair#*|}"); else lose+=(peer "${pair%%|*}" allowed-ips ''); fi
  done
  if ((${#gain[@]} + ${#lose[@]})); then
    # Public keys and prefixes only: wg's complaint is safe to log.
    WG_ERROR=$(wg set "$IFACE" "${gain[@]}" "${lose[@]}" 2>&1) || { WG_ERROR=${WG_ERROR%%$'\n'*}; return 1; }
  fi
  for pair in "$@"; do routes_for "${pair#*|}"; done
}

apply_entry() {
  local lost=$1
  local -a pairs
  read -ra pairs <<<"${ENTRY[$lost]}"
  set_lists "${pairs[@]}"
}

# Back to wg0.conf for the peers an entry had changed ($2: the entry as it was, when the table changed
# under it), and away with the routes only tables wanted.
restore_entry() {
  local lost=$1 pair key p keep
  local -a pairs back=()
  read -ra pairs <<<"${2-${ENTRY[$lost]-}}"
  for pair in "${pairs[@]}"; do key=${pair%%|*}; back+=("$key|${NORMAL[$key]-}"); done
  set_lists "${back[@]}" || return 1
  keep=",$(IFS=,; echo "${NORMAL[*]}"),"
  for p in "${ROUTES_ADDED[@]}"; do
    [[ $keep == *",$p,"* ]] || ip -4 route del "$p" dev "$IFACE" 2>/dev/null
  done
  ROUTES_ADDED=()
}

# Whether the interface runs an entry's lists (a wgmesh-sync run in between puts wg0.conf's back).
entry_in_place() {
  local lost=$1 pair key want have
  local -a pairs
  read -ra pairs <<<"${ENTRY[$lost]}"
  for pair in "${pairs[@]}"; do
    key=${pair%%|*}; want=${pair#*|}
    have=$(awk -v k="$key" '$1 == k { $1 = ""; sub(/^ /, ""); gsub(/ /, ","); print }' <<<"$LIVE_ALLOWED")
    [[ $have == '(none)' ]] && have=''
    [[ $(tr ',' '\n' <<<"$have" | sort | tr '\n' ,) == $(tr ',' '\n' <<<"$want" | sort | tr '\n' ,) ]] || return 1
  done
}

# --- Probes: one ping a second to each watched peer, left running; its answers move the counters ------
probe() {
  local k pid
  for k in "${!PINGER[@]}"; do
    pid=${PINGER[$k]}
    if [[ -z ${ENTRY[$k]+x} || -z ${ADDRESS[$k]:-} ]] || ! kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null
      unset 'PINGER[$k]'
    fi
  done
  for k in "${WATCHED[@]}"; do
    [[ -n ${ADDRESS[$k]:-} && -z ${PINGER[$k]:-} ]] || continue
    ping -n -q -i "$INTERVAL" -W 1 "${ADDRESS[$k]}" >/dev/null 2>&1 &
    PINGER[$k]=$!
  done
}
stop_probes() { local pid; for pid in "${PINGER[@]}"; do kill "$pid" 2>/dev/null; done; }
trap stop_probes EXIT
trap 'exit 0' TERM INT

# --- The loop ---------------------------------------------------------------------------------------
declare -A RX=() MOVED=() GOOD_SINCE=() SEEN=()
# A peer not heard from since the watchdog started gets this long (its handshake may need a retry)
# before it counts as lost; one heard from once is judged by DownAfter alone.
STARTED=$(now_ms)
ACTIVE='' ACTIVE_SINCE=0 SWITCHES=0 NOTED_SECOND='' WG_ERROR=''
conf_mtime=-1 table_mtime=-1

write_state() {
  local now=$1 k silent
  mkdir -p "$STATE_DIR" 2>/dev/null || return 0
  {
    if [[ -n $ACTIVE ]]; then
      printf 'active %s %s %s\n' "${NAME[$ACTIVE]}" "$ACTIVE_SINCE" "$ACTIVE"
      local pair
      local -a pairs
      read -ra pairs <<<"${ENTRY[$ACTIVE]-}"
      for pair in "${pairs[@]}"; do printf 'moved %s %s %s\n' "${NAME[${pair%%|*}]-?}" "${pair%%|*}" "${pair#*|}"; done
    else
      printf 'normal\n'
    fi
    for k in "${WATCHED[@]}"; do silent=$(((now - ${MOVED[$k]:-$now}) / 1000)); printf 'peer %s %s\n' "${NAME[$k]}" "$silent"; done
    printf 'checked %s\n' "$now"
    printf 'switches %s\n' "$SWITCHES"
  } >"$STATE.tmp" && mv -f "$STATE.tmp" "$STATE"
}

write_metrics() {
  local now=$1 k
  [[ -d $METRICS_DIR ]] || return 0
  {
    echo '# HELP wgmesh_failover_active 1 while the watchdog routes around a peer that stopped answering.'
    echo '# TYPE wgmesh_failover_active gauge'
    for k in "${WATCHED[@]}"; do printf 'wgmesh_failover_active{interface="%s",lost="%s"} %d\n' "$IFACE" "${NAME[$k]}" "$([[ $k == "$ACTIVE" ]] && echo 1 || echo 0)"; done
    echo '# HELP wgmesh_failover_switches_total Switches to and from failover tables since the watchdog started.'
    echo '# TYPE wgmesh_failover_switches_total counter'
    printf 'wgmesh_failover_switches_total{interface="%s"} %d\n' "$IFACE" "$SWITCHES"
    echo '# HELP wgmesh_watchdog_peer_silent_seconds Seconds since a watched peer last sent anything.'
    echo '# TYPE wgmesh_watchdog_peer_silent_seconds gauge'
    for k in "${WATCHED[@]}"; do printf 'wgmesh_watchdog_peer_silent_seconds{interface="%s",peer="%s"} %d\n' "$IFACE" "${NAME[$k]}" "$(((now - ${MOVED[$k]:-$now}) / 1000))"; done
    echo '# HELP wgmesh_watchdog_last_run_timestamp_seconds When the watchdog last read the counters.'
    echo '# TYPE wgmesh_watchdog_last_run_timestamp_seconds gauge'
    printf 'wgmesh_watchdog_last_run_timestamp_seconds{interface="%s"} %d\n' "$IFACE" "$((now / 1000))"
  } >"$METRICS.tmp" && chmod 644 "$METRICS.tmp" && mv -f "$METRICS.tmp" "$METRICS"
}

reload() {
  local c t was='' name=''
  c=$(mtime "$CONF"); t=$(mtime "$TABLE")
  [[ $c == "$conf_mtime" && $t == "$table_mtime" ]] && return 0
  conf_mtime=$c table_mtime=$t
  # The entry in force as the old table had it: the peers it changed get their lists back from it.
  if [[ -n $ACTIVE ]]; then was=${ENTRY[$ACTIVE]-} name=${NAME[$ACTIVE]:-$ACTIVE}; fi
  read_conf || log "no $CONF yet"
  read_table || log "no $TABLE: nothing to watch"
  [[ -n $ACTIVE && ${ENTRY[$ACTIVE]-} != "$was" ]] || return 0
  restore_entry "$ACTIVE" "$was"
  if [[ -z ${ENTRY[$ACTIVE]+x} ]]; then
    log "failover.conf no longer covers $name: back to $IFACE.conf"
    ACTIVE=''
  else
    apply_entry "$ACTIVE" && log "failover: $name's entry changed in failover.conf; the new one is in place"
  fi
}

# A watchdog restarted while it routed around a peer (a new agent restarts its unit) takes that
# failover up again from its state, so the hold-down still decides when to give the lists back.
adopt_state() {
  local what name since key
  [[ -f $STATE ]] || return 0
  read -r what name since key <"$STATE" || return 0
  [[ $what == active && -n ${ENTRY[$key]+x} && $since =~ ^[0-9]+$ ]] || return 0
  ACTIVE=$key ACTIVE_SINCE=$since
  log "failover: still routing around $name (since $(clock "$since")), as before this restart"
}

runs=0
reload
adopt_state
while :; do
  reload
  probe
  now=$(now_ms)
  LIVE_ALLOWED=$(wg show "$IFACE" allowed-ips 2>/dev/null) || { log "$IFACE is not up"; sleep "$INTERVAL"; continue; }
  declare -A seen=()
  while read -r key rx _; do [[ -n $key ]] && seen[$key]=$rx; done < <(wg show "$IFACE" transfer 2>/dev/null)
  down=()
  for k in "${WATCHED[@]}"; do
    rx=${seen[$k]:-0}
    if [[ -z ${RX[$k]+x} ]]; then RX[$k]=$rx; MOVED[$k]=$now; GOOD_SINCE[$k]=$now; continue; fi
    if [[ $rx != "${RX[$k]}" ]]; then RX[$k]=$rx; MOVED[$k]=$now; SEEN[$k]=1; fi
    # Healthy while something arrived within two readings: one keepalive late is not a miss.
    if ((now - MOVED[$k] > 2 * INTERVAL * 1000 + 500)); then GOOD_SINCE[$k]=''; elif [[ -z ${GOOD_SINCE[$k]} ]]; then GOOD_SINCE[$k]=$now; fi
    [[ -z ${SEEN[$k]:-} ]] && ((now - STARTED < 3 * DOWN_AFTER * 1000)) && continue
    ((now - MOVED[$k] >= DOWN_AFTER * 1000)) && down+=("$k")
  done
  if [[ -n $ACTIVE ]]; then
    if [[ -n ${GOOD_SINCE[$ACTIVE]} ]] && ((now - GOOD_SINCE[$ACTIVE] >= UP_AFTER * 1000)); then
      if restore_entry "$ACTIVE"; then
        log "failover: ${NAME[$ACTIVE]} answering again for ${UP_AFTER} s: back to $IFACE.conf (routed around it since $(clock "$ACTIVE_SINCE"))"
        ACTIVE='' SWITCHES=$((SWITCHES + 1)) NOTED_SECOND=''
      else
        log "failover: could not give back $IFACE.conf's AllowedIPs (wg set failed: ${WG_ERROR:-no reason given}); trying again"
      fi
    elif ! entry_in_place "$ACTIVE"; then
      apply_entry "$ACTIVE" && log "failover: ${NAME[$ACTIVE]} still not answering; its entry put back in place (the interface had other AllowedIPs)"
    fi
  fi
  if [[ -z $ACTIVE && ${#down[@]} -gt 0 ]]; then
    lost=${down[0]}
    if apply_entry "$lost"; then
      ACTIVE=$lost ACTIVE_SINCE=$now SWITCHES=$((SWITCHES + 1))
      moved=()
      read -ra pairs <<<"${ENTRY[$lost]}"
      for pair in "${pairs[@]}"; do moved+=("${NAME[${pair%%|*}]-?}"); done
      log "failover: ${NAME[$lost]} not answering for $(((now - MOVED[$lost]) / 1000)) s (nothing since $(clock "${MOVED[$lost]}")): AllowedIPs of ${moved[*]} set from failover.conf"
    else
      log "failover: ${NAME[$lost]} not answering, but wg set failed (${WG_ERROR:-no reason given}); trying again"
    fi
  elif [[ -n $ACTIVE ]]; then
    for k in "${down[@]}"; do
      [[ $k == "$ACTIVE" || $NOTED_SECOND == *"$k"* ]] && continue
      log "failover: ${NAME[$k]} not answering too; failover.conf covers one failure at a time, so ${NAME[$ACTIVE]}'s entry stays"
      NOTED_SECOND+=" $k"
    done
  fi
  write_state "$now"
  write_metrics "$now"
  runs=$((runs + 1))
  ((RUNS > 0 && runs >= RUNS)) && exit 0
  # The rest of the interval, whatever the reading cost.
  spent=$(($(now_ms) - now))
  ((spent < INTERVAL * 1000)) && sleep "$(printf '%d.%03d' $(((INTERVAL * 1000 - spent) / 1000)) $(((INTERVAL * 1000 - spent) % 1000)))"
done
