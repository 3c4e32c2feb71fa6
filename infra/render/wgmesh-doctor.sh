#!/bin/bash
# wgmesh: a wg-mesh node's own command, part of its node agent. `sudo wgmesh doctor` compares the live
# interface (its key, peers and AllowedIPs, handshakes, routes, forwarding, ListenPort, MTU), the
# agent's last run, the config it applied and the agent running with what the node's vault holds, and
# prints each problem on one line with its fix. It exits 0 when there is none, 1 when there are
# problems and 2 when it cannot look. It changes nothing and prints no private or preshared key.
#
# It reads the agent's wgmesh-sync beside it for its functions and values (which read the bootstrap
# for the node's: the interface, the vault and how to fetch from it, how to read a wg-quick file and
# an entry, the state every run leaves), so the doctor runs the agent's own code, on a node as in the
# lab, where `wgmesh doctor --lab NODE` runs this file in the node's namespace. WGMESH_SYNC (where the
# bootstrap is) and WGMESH_SYNC_PERIOD are for the lab and tests.
set -euo pipefail
AGENT_HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
# shellcheck source=wgmesh-sync.sh
source "$AGENT_HERE/wgmesh-sync"

# WireGuard refuses a session 180 s after its handshake (REJECT_AFTER_TIME); while traffic or
# keepalives flow, a healthy link handshakes again about every 2 minutes. Older, it carries nothing.
readonly HANDSHAKE_MAX_AGE=180
# How often the timer runs wgmesh-sync (the bootstrap says); 0 where no timer does (the lab runs it on demand).
readonly PERIOD="${WGMESH_SYNC_PERIOD:-$SYNC_PERIOD}"
readonly RESYNC="wg syncconf $IFACE <(wg-quick strip $CONF)"
NOW=$(date +%s)
readonly NOW
problems=0 sync_failed=0 link=''
declare -A STATE_OF=() PEER_NAME=()
readonly FAILOVER_STATE="$STATE_DIR/failover.$IFACE.state"

problem() {
  printf '%s: %s\n' "$IFACE" "$*"
  problems=$((problems + 1))
}

note() { printf '%s: note: %s\n' "$IFACE" "$*"; }

ago() {
  if (($1 >= 7200)); then
    printf '%d h ago' "$(($1 / 3600))"
  elif (($1 >= 120)); then
    printf '%d min ago' "$(($1 / 60))"
  else
    printf '%d s ago' "$1"
  fi
}

read_state() {
  local key value
  if [[ -f $STATE ]]; then
    while IFS='=' read -r key value; do STATE_OF[$key]=$value; done <"$STATE"
  fi
}

# Each line's words after the first, sorted, so two lists of prefixes compare as sets (awk code).
# shellcheck disable=SC2016
readonly SORT_WORDS='
  function sorted(from,    i, j, t, n, w, out) {
    n = 0
    for (i = from; i <= NF; i++) if ($i != "" && $i != "(none)") w[++n] = $i
    for (i = 2; i <= n; i++) for (j = i; j > 1 && w[j - 1] > w[j]; j--) { t = w[j]; w[j] = w[j - 1]; w[j - 1] = t }
    for (i = 1; i <= n; i++) out = out (i > 1 ? " " : "") w[i]
    return out
  }'

# "KEY PREFIX..." per [Peer] of a wg-quick file, prefixes sorted and a bare address read as wg reads
# it (/32, /128).
peer_allowed() {
  awk "$SORT_WORDS"'
    function flush() { if (key != "") { $0 = key ips; print key, sorted(2) } key = ""; ips = "" }
    { line = $0; sub(/#.*/, "", line); sub(/\r$/, "", line) }
    line ~ /^[ \t]*\[/ { flush(); peer = tolower(line) ~ /^[ \t]*\[peer\]/; next }
    !peer || index(line, "=") == 0 { next }
    { k = tolower(line); sub(/[ \t]*=.*/, "", k); gsub(/[ \t]/, "", k); v = line; sub(/^[^=]*=/, "", v); gsub(/[ \t]/, "", v) }
    k == "publickey" { key = v }
    k == "allowedips" {
      n = split(v, items, ",")
      for (i = 1; i <= n; i++) if (items[i] != "") { p = items[i]; if (p !~ /\//) p = p (p ~ /:/ ? "/128" : "/32"); ips = ips " " p }
    }
    END { flush() }' "$1"
}

check_sync() {
  local result ran log
  if [[ ! -f $STATE ]]; then
    problem "wgmesh-sync has not finished a run here ($STATE is missing); fix: systemctl start wgmesh-sync, then read journalctl -u wgmesh-sync"
    return
  fi
  result=${STATE_OF[result]:-}
  ran=${STATE_OF[run_at]:-0}
  log=${STATE_OF[log]:-}
  if [[ $result == failed ]]; then
    sync_failed=1
    problem "wgmesh-sync failed $(ago $((NOW - ran))): ${log:-exit code ${STATE_OF[exit_code]:-}}; fix: correct that (the config comes from $SOURCE), then systemctl start wgmesh-sync"
  elif [[ $result == refused ]]; then
    sync_failed=1
    problem "wgmesh-sync $(ago $((NOW - ran))): $log; fix: run pulumi up for this stack, which writes this node's entry and agent whole (an entry it did not write is someone else's doing: find who)"
  elif ((PERIOD > 0 && NOW - ran > 3 * PERIOD)); then
    problem "wgmesh-sync last ran $(ago $((NOW - ran))), though its timer runs it every $PERIOD s; fix: systemctl enable --now wgmesh-sync.timer"
  fi
}

# The vault's entry against what is applied and running. A failed sync already says why they differ.
check_vault() {
  local vault applied ms rotation why
  ((sync_failed == 0)) || return 0
  reason=''
  if ! fetch_secret "$CONFIG_SECRET" "$WORK/payload" 2>"$WORK/fetch.log"; then
    # The agent's fetch says why in $reason; what it printed is the fallback.
    why=${reason:-$(tail -n 1 "$WORK/fetch.log")}
    problem "cannot read the config from $SOURCE: ${why:-no reason given}; fix: let this node's identity read it again (wgmesh-sync fails the same way)"
    return
  fi
  if ! read_payload "$WORK/payload" 2>/dev/null; then
    problem "the entry in $SOURCE would be refused: $reason; fix: run pulumi up for this stack, which writes it whole"
    return
  fi
  check_agent
  vault=$(sha_of "$WORK/new/$IFACE.conf")
  applied=$(strip_payload "$CONF" | sha256sum | cut -c1-64)
  [[ $vault != "$applied" ]] || return 0
  ms=$(due_in_ms "$WORK/new/$IFACE.conf")
  if [[ -n $ms ]] && ((ms > 0)); then
    rotation=$(rotation_of "$WORK/new/$IFACE.conf")
    note "$SOURCE holds key epoch ${rotation%% *}, held until ${rotation#* } (in $(((ms + 999) / 1000)) s), when every node switches to it"
    return
  fi
  problem "the applied config (sha256 ${applied:0:12}) is older than the one in $SOURCE (sha256 ${vault:0:12}); fix: systemctl start wgmesh-sync"
}

# The agent running here against the one the vault's config names (WANT_VERSION, just read), and what
# the agent's runs found: a newer agent that failed its self-check and was rolled back, one that cannot
# be fetched, or a node on another agent for more than two timer periods.
check_agent() {
  local since=${STATE_OF[agent_behind_since]:-} why=${STATE_OF[agent_problem]:-} late=0
  if [[ ${STATE_OF[agent_expected]:-} != "$WANT_VERSION" ]]; then why='' since=''; fi
  [[ $WANT_VERSION != "$AGENT_VERSION" || -n $why ]] || return 0
  if version_lt "$WANT_VERSION" "$AGENT_VERSION"; then
    problem "runs agent $AGENT_VERSION, but $SOURCE names the older $WANT_VERSION, which every run refuses (agents never go back); fix: release that agent as a version above $AGENT_VERSION"
    return
  fi
  if [[ -n $since ]] && ((PERIOD > 0 && NOW - since > 2 * PERIOD)); then late=1; fi
  if [[ -n $why ]]; then
    problem "agent: $why; fix: release a fixed agent under a new version (pulumi up writes it to every node's vault; wgmesh diff lists the change)"
  elif ((late)); then
    problem "runs agent $AGENT_VERSION, but its config names $WANT_VERSION since $(ago $((NOW - since))), more than two timer periods; fix: journalctl -u wgmesh-sync -n 20 says why, then systemctl start wgmesh-sync"
  else
    note "runs agent $AGENT_VERSION; its config names $WANT_VERSION, which the next run installs"
  fi
}

# Whether IFACE is there and up: nothing else about it can be judged otherwise.
check_interface() {
  if ! link=$(ip -o link show dev "$IFACE" 2>/dev/null); then
    problem "$IFACE does not exist; fix: systemctl start wgmesh-sync (it brings $IFACE up from the applied config)"
    return 1
  fi
  if [[ ! $link =~ [\<,]UP[,\>] ]]; then
    problem "$IFACE is down; fix: wg-quick down $CONF; wg-quick up $CONF (which makes its routes again)"
    return 1
  fi
}

check_key() {
  local want have
  want=$(conf_values "$CONF" interface PrivateKey | tail -n 1 | wg pubkey 2>/dev/null) || want=''
  have=$(wg show "$IFACE" public-key 2>/dev/null) || have=''
  if [[ $want != "$have" ]]; then
    problem "$IFACE runs PublicKey ${have:-(none)}, but the PrivateKey in $CONF makes ${want:-(none)}; fix: $RESYNC"
  fi
}

check_port() {
  local want have
  want=$(conf_values "$CONF" interface ListenPort | tail -n 1)
  have=$(wg show "$IFACE" listen-port)
  if [[ -n $want && $want != "$have" ]]; then
    problem "$IFACE listens on UDP $have, but $CONF says ListenPort = $want, where its peers send; fix: wg set $IFACE listen-port $want"
  fi
}

check_mtu() {
  local want have
  want=$(conf_values "$CONF" interface MTU | tail -n 1)
  have=$(sed -E 's/.* mtu ([0-9]+) .*/\1/' <<<"$link")
  if [[ -n $want && $want != "$have" ]]; then
    problem "$IFACE has MTU $have, but $CONF says MTU = $want, the mesh's MTU for every link; fix: ip link set dev $IFACE mtu $want"
  fi
}

# A failover in force (the watchdog's state): "active LOST SINCE_MS KEY", then "moved NAME KEY LIST".
declare -A FAILOVER_LIST=()
FAILOVER_LOST='' FAILOVER_LOST_KEY='' FAILOVER_SINCE=0 FAILOVER_CHECKED=0
read_failover() {
  local what a b c d
  [[ -f $FAILOVER_STATE ]] || return 0
  while read -r what a b c d; do
    case $what in
      active) FAILOVER_LOST=$a FAILOVER_SINCE=$b FAILOVER_LOST_KEY=$c ;;
      moved) FAILOVER_LIST[$b]=$(tr ',' '\n' <<<"$c" | sort | paste -sd ' ') ;;
      checked) FAILOVER_CHECKED=$a ;;
    esac
    : "$d"
  done <"$FAILOVER_STATE"
}

# The node's failover: the watchdog must be reading its counters, and a failover in force is named
# with what moved, since when, and why. The peers it moved are not reported again by check_peers.
check_failover() {
  local table="$FILES/failover.conf" key ips p silent via='' fix="fix: systemctl restart wgmesh-watchdog (journalctl -u wgmesh-watchdog says why it stopped)"
  local -A normal=()
  [[ -f $table ]] || return 0
  silent=$((NOW - FAILOVER_CHECKED / 1000))
  if ((FAILOVER_CHECKED == 0)); then
    problem "wgmesh-watchdog has not run here ($FAILOVER_STATE is missing), so this node would not fail over; $fix"
  elif ((silent > 10)); then
    problem "wgmesh-watchdog last read its counters $(ago "$silent"), so this node would not fail over; $fix"
  fi
  [[ -n $FAILOVER_LOST ]] || return 0
  while read -r key ips; do normal[$key]=" $ips "; done < <(peer_allowed "$CONF")
  for key in "${!FAILOVER_LIST[@]}"; do
    ips=''
    for p in ${FAILOVER_LIST[$key]}; do [[ ${normal[$key]:-} == *" $p "* ]] || ips+="${ips:+ }$p"; done
    [[ -z $ips ]] || via+="${via:+; }${ips// /, } via ${PEER_NAME[$key]:-${key:0:8}}"
  done
  problem "failover active: ${via:-no prefix moved} since $(printf '%(%H:%M:%S)T' "$((FAILOVER_SINCE / 1000))"), $FAILOVER_LOST not answering; fix: bring $FAILOVER_LOST (or the link to it) back: the watchdog moves them back once it has answered for its hold-down (UpAfter in $table)"
}

# The access ruleset (wgmesh-firewall check): live table, applied ruleset and the config's agree.
check_access() {
  local hook="$AGENT_DIR/hooks/wgmesh-access.nft" ruleset="$FILES/wgmesh-access.nft" line
  [[ -x $hook ]] || return 0
  [[ -f $ruleset ]] || ruleset=''
  while IFS= read -r line; do
    [[ -n $line ]] && problem "$line"
  done < <(env IFACE="$IFACE" "$hook" check ${ruleset:+"$ruleset"} 2>&1 || :)
}

# What the silent peer keeps in a failover: its AllowedIPs less every prefix the failover gave others
# (a prefix given to another peer leaves it, as WireGuard's AllowedIPs are one table).
failover_left() {
  local key=$1 p left='' given
  [[ -n $FAILOVER_LOST_KEY && $key == "$FAILOVER_LOST_KEY" ]] || { printf 'unset'; return; }
  given=" ${FAILOVER_LIST[*]} "
  for p in $2; do [[ $given == *" $p "* ]] || left+="${left:+ }$p"; done
  printf '%s' "$left"
}

check_peers() {
  local key ips want have name
  local -A config=() live=() names=()
  while read -r key ips; do config[$key]=$ips; done < <(peer_allowed "$CONF")
  while read -r key ips; do live[$key]=$ips; done < <(wg show "$IFACE" allowed-ips | awk "$SORT_WORDS"'{ print $1, sorted(2) }')
  while read -r key name; do names[$key]=$name; done < <(peer_names "$CONF")
  for key in "${!config[@]}"; do
    name=${names[$key]:-${key:0:8}}
    want=${config[$key]}
    if [[ -z ${live[$key]+set} ]]; then
      problem "peer $name (PublicKey $key) is in $CONF but not on $IFACE; fix: $RESYNC"
    elif [[ ${live[$key]} != "$want" && ${live[$key]} != "${FAILOVER_LIST[$key]-unset}" && ${live[$key]} != "$(failover_left "$key" "$want")" ]]; then
      have=${live[$key]}
      problem "peer $name has AllowedIPs = ${have:-(none)} on $IFACE, but $CONF says ${want:-(none)}; fix: wg set $IFACE peer $key allowed-ips ${want// /,}"
    fi
  done
  for key in "${!live[@]}"; do
    if [[ -z ${config[$key]+set} ]]; then
      problem "$IFACE has a peer $CONF does not list (PublicKey $key); fix: wg set $IFACE peer $key remove"
    fi
  done
}

# Each AllowedIPs prefix needs a route to IFACE (unless the interface's own subnet covers it, as
# wg-quick sees it), and nothing inside it may be routed elsewhere.
check_routes() {
  local table key ips prefix proto dst rest dev name ok wrong in=''
  local -a where=(table main)
  local -A names=()
  table=$(conf_values "$CONF" interface Table | tail -n 1)
  [[ $table != off ]] || return 0
  if [[ -n $table && $table != auto ]]; then
    where=(table "$table")
    in=" table $table"
  fi
  while read -r key name; do names[$key]=$name; done < <(peer_names "$CONF")
  while read -r key ips; do
    name=${names[$key]:-${key:0:8}}
    for prefix in $ips; do
      [[ $prefix != */0 ]] || continue
      proto=-4
      if [[ $prefix == *:* ]]; then proto=-6; fi
      ok=0 wrong=''
      while read -r dst rest; do
        [[ -n $dst ]] || continue
        if [[ $dst != */* ]]; then
          if [[ $proto == -4 ]]; then dst+=/32; else dst+=/128; fi
        fi
        dev=''
        if [[ " $rest " =~ \ dev\ ([^ ]+)\  ]]; then dev=${BASH_REMATCH[1]}; fi
        if [[ $dev == "$IFACE" ]]; then
          if [[ $dst == "$prefix" ]]; then ok=1; fi
        elif [[ -z $wrong ]]; then
          wrong="$dst dev $dev"
        fi
      done < <(ip "$proto" route show "${where[@]}" root "$prefix" 2>/dev/null)
      if ((!ok)) && [[ -n $(ip "$proto" route show "${where[@]}" dev "$IFACE" proto kernel match "$prefix" 2>/dev/null) ]]; then ok=1; fi
      if [[ -n $wrong ]]; then
        problem "$prefix, AllowedIPs of peer $name, is routed to ${wrong##* dev } ($wrong$in), not $IFACE; fix: ip route del $wrong$in; ip route replace $prefix dev $IFACE$in"
      elif ((!ok)); then
        problem "$prefix, AllowedIPs of peer $name, has no route to $IFACE$in; fix: ip route add $prefix dev $IFACE$in"
      fi
    done
  done < <(peer_allowed "$CONF")
}

# A transit node's PostUp turns forwarding on; without it the packets it carries for others die here.
check_forwarding() {
  local rules
  [[ $(conf_values "$CONF" interface PostUp) == *ip_forward=1* ]] || return 0
  if [[ $(cat /proc/sys/net/ipv4/ip_forward) != 1 ]]; then
    problem "forwarding is off, but this node carries other nodes' traffic (its PostUp turns net.ipv4.ip_forward on); fix: sysctl -w net.ipv4.ip_forward=1"
  fi
  if command -v iptables >/dev/null && rules=$(iptables -S FORWARD 2>/dev/null) &&
    [[ $rules != *'-P FORWARD ACCEPT'* && $rules != *"-A FORWARD -i $IFACE -o $IFACE -j ACCEPT"* ]]; then
    problem "iptables drops what $IFACE forwards (FORWARD's policy is not ACCEPT and no rule admits $IFACE to $IFACE); fix: iptables -A FORWARD -i $IFACE -o $IFACE -j ACCEPT"
  fi
}

# A peer of the config whose last handshake (or, without one, the config) is older than WireGuard
# keeps a session, and whether its endpoint answers on the underlay.
check_handshakes() {
  local key at age applied name what remote host mine
  local -A listed=() endpoints=() names=()
  applied=$(stat -c %Y -- "$CONF")
  mine=$(wg show "$IFACE" public-key)
  while read -r key _; do listed[$key]=1; done < <(peer_allowed "$CONF")
  while read -r key name; do names[$key]=$name; done < <(peer_names "$CONF")
  while read -r key remote; do endpoints[$key]=$remote; done < <(wg show "$IFACE" endpoints)
  while read -r key at; do
    [[ -n ${listed[$key]:-} ]] || continue
    if ((at > 0)); then age=$((NOW - at)); else age=$((NOW - applied)); fi
    ((age > HANDSHAKE_MAX_AGE)) || continue
    name=${names[$key]:-${key:0:8}}
    if ((at > 0)); then what="last handshake $(ago "$age")"; else what="no handshake since the config was applied $(ago "$age")"; fi
    remote=${endpoints[$key]:-(none)}
    if [[ $remote == '(none)' ]]; then
      problem "peer $name: $what, and $IFACE has no Endpoint for it, so it must dial in; fix: check that $name is up and lists this node's Endpoint and PublicKey $mine (wgmesh doctor there)"
      continue
    fi
    host=${remote%:*}
    host=${host#[}
    host=${host%]}
    if ping -c 1 -W 1 -q "$host" >/dev/null 2>&1; then
      problem "peer $name: $what (WireGuard drops a session after 3 min); its endpoint $host answers ping, so the underlay is up and WireGuard's packets are lost or refused; fix: on $name, admit UDP ${remote##*:} from this node and check it lists PublicKey $mine"
    else
      problem "peer $name: $what (WireGuard drops a session after 3 min); its endpoint $host does not answer ping either, so $name or the path to it is down (or ICMP is filtered); fix: check that $name is up (wgmesh doctor there) and the network between"
    fi
  done < <(wg show "$IFACE" latest-handshakes)
}

summary() {
  local peers epoch
  if ((problems > 0)); then
    printf '%s: %d problem%s\n' "$IFACE" "$problems" "$([[ $problems == 1 ]] || echo s)"
    exit 1
  fi
  peers=$(wg show "$IFACE" peers | wc -l)
  epoch=$(rotation_of "$CONF")
  printf '%s: healthy: %d peer%s, each with a handshake in the last 3 min; config sha256 %s%s applied %s; agent %s; wgmesh-sync %s %s\n' \
    "$IFACE" "$peers" "$([[ $peers == 1 ]] || echo s)" "$(sha_of "$CONF" | cut -c1-12)" "${epoch:+ (key epoch ${epoch%% *})}" \
    "$(ago $((NOW - $(stat -c %Y -- "$CONF"))))" "$AGENT_VERSION" "${STATE_OF[result]:-}" "$(ago $((NOW - ${STATE_OF[run_at]:-0})))"
}

doctor() {
  local peer_key peer_name
  if ((EUID != 0)); then
    printf 'wgmesh doctor reads the interface and the vault as root: sudo wgmesh doctor\n' >&2
    exit 2
  fi
  read_state
  check_sync
  if [[ ! -f $CONF ]]; then
    problem "no config has been applied ($CONF is missing); fix: systemctl start wgmesh-sync"
  else
    check_vault
    if check_interface; then
      check_key
      check_port
      check_mtu
      read_failover
      while read -r peer_key peer_name; do PEER_NAME[$peer_key]=$peer_name; done < <(peer_names "$CONF")
      check_failover
      check_peers
      check_routes
      check_handshakes
    fi
    check_forwarding
    check_access
  fi
  summary
}

case ${1:-} in
  doctor) doctor ;;
  -h | --help | help)
    printf 'usage: wgmesh doctor\n  checks %s against %s and the config in %s, and agent %s against the one it names, one line per problem with its fix\n' "$IFACE" "$CONF" "$SOURCE" "$AGENT_VERSION"
    ;;
  *)
    printf 'usage: wgmesh doctor (wgmesh --help says more)\n' >&2
    exit 2
    ;;
esac
