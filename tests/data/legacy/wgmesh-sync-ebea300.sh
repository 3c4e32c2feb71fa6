#!/bin/bash
# wgmesh-sync: keeps a wg-mesh node's WireGuard interface in step with its wg-quick file, kept in the
# node's vault and fetched with the VM's own identity. wgmesh-sync.timer runs it at boot and every minute.
#
# It names no peer and holds no key, so it stays the same whatever the mesh becomes: a mesh change
# updates the vault, never this VM. Peers, keys and endpoints are applied in place (as wg syncconf does,
# without re-setting what has not changed, plus the routes wg-quick would make); a new Address, MTU,
# DNS, Table, PreUp/PreDown or /0 AllowedIPs restarts the interface; new PostUp/PostDown lines swap the
# hooks. A config that cannot be fetched or does not parse leaves the running interface alone, the run
# fails, and one log line says why. Nothing here prints the config or a key.
#
# This file is a template: wg-mesh (infra/render/sync-script.ts) replaces every @NAME@ with a quoted
# value, and keeps of the blocks between "#@vault KIND..." and "#@end" only those of the node's vault.
# The template defines fetch (cloud vaults) and one fetch_config per vault; a rendered script keeps one,
# which is why shellcheck is told below that the others' code is reachable after all.
# Two variables are for tests only and never set on a node: WGMESH_CONF_DIR (where wg0.conf lives) and
# WGMESH_TEST_CURLRC (a curl config read after the script's own options, pointing the vault's real host
# names at local stand-ins with connect-to, trusting their CA, and shortening the timeouts).

set -euo pipefail
shopt -s extglob
umask 077
export LC_ALL=C
PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"

readonly IFACE=@IFACE@
readonly SOURCE=@SOURCE@
# WGMESH_CONF_DIR is for tests only.
readonly CONF_DIR="${WGMESH_CONF_DIR:-/etc/wireguard}"
readonly CONF="$CONF_DIR/$IFACE.conf"
readonly LOCK="/run/wgmesh-sync.$IFACE.lock"

status=0
# Why the last step failed, in a few words, for the one log line a failed run writes.
reason=''
WORK=$(mktemp -d)
trap 'rm -rf -- "$WORK"' EXIT

log() {
  printf '%s\n' "$*" >&2
  PREVIOUS_LOG=$LAST_LOG LAST_LOG=$*
}
fail() { log "$*"; exit 1; }

# wg and wg-quick quote the value they choke on (as in `value'), and that value can be a key.
redact() {
  local q=$'\x60'
  sed -E "s/${q}[^${q}']*'/${q}(value hidden)'/g"
}

# Runs a command with its stderr redacted into the log; keeps its exit status.
quiet() {
  local rc=0
  # fd 9 holds the run lock: nothing started from here may keep it.
  "$@" 2>"$WORK/stderr" 9>&- || rc=$?
  redact <"$WORK/stderr" >&2
  return "$rc"
}

# Values of KEY in SECTION (interface, or peer: every [Peer]) of a wg-quick file, one a line, read
# as wg-quick reads them: keys in any case, '#' starts a comment, lists split on commas.
conf_values() {
  local section="[${2,,}]" want=${3,,} here='' line key value
  local -a items
  [[ -f $1 ]] || return 0
  while read -r line || [[ -n $line ]]; do
    line=${line%%#*}
    key=${line%%=*}; key=${key##*([[:space:]])}; key=${key%%*([[:space:]])}
    if [[ $key == \[* ]]; then here=${key,,}; continue; fi
    [[ $here == "$section" && ${key,,} == "$want" && $line == *=* ]] || continue
    value=${line#*=}; value=${value##*([[:space:]])}; value=${value%%*([[:space:]])}
    case $want in
      address | dns | allowedips)
        read -ra items <<<"${value//,/ }"
        if ((${#items[@]})); then printf '%s\n' "${items[@]}"; fi ;;
      *) printf '%s\n' "$value" ;;
    esac
  done <"$1"
}
#@vault aws gcp azure
# Text from outside (an error body, curl's message) as one short printable line.
# shellcheck disable=SC2317
one_line() { tr -d '\000-\037\177' | cut -c1-200; }

readonly DENIED_HINT=@DENIED_HINT@
# Commands the script and the configs it applies run, each with the Debian package that has it:
# wg-quick and wg, curl and jq for the vault, iptables for a transit node's PostUp. cloud-init installs
# them at first boot; when apt failed then (a mirror hiccup, no route out yet), every run tries again.
readonly NEEDS=@NEEDS@
# shellcheck disable=SC2317
ensure_tools() {
  local need
  local -a missing=()
  for need in $NEEDS; do
    if ! command -v "${need%%:*}" >/dev/null 2>&1 && [[ " ${missing[*]} " != *" ${need#*:} "* ]]; then missing+=("${need#*:}"); fi
  done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null 2>&1 || { reason="${missing[*]} missing and no apt-get to install them"; return 1; }
  if ! DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=120 update >"$WORK/apt" 2>&1 9>&- ||
    ! DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=120 install -y --no-install-recommends "${missing[@]}" >"$WORK/apt" 2>&1 9>&-; then
    reason="apt-get could not install ${missing[*]}: $(grep -v '^[[:space:]]*$' "$WORK/apt" | tail -n 1 | one_line)"
    return 1
  fi
  log "installed ${missing[*]}, which the first boot left out"
}

# curl taking its credentials (curl config lines: header = "...", user = "...") on stdin, never on
# its command line, which any local user can read. The body goes to $1; anything but 200 fails and
# says why in $reason: curl's own error, or the status with the error the service gave.
# shellcheck disable=SC2317
fetch() {
  local out=$1 what=$2 code detail
  local -a test_rc=()
  shift 2
  if [[ -n ${WGMESH_TEST_CURLRC:-} ]]; then test_rc=(--config "$WGMESH_TEST_CURLRC"); fi
  if ! code=$(curl --config - --silent --show-error --connect-timeout 5 --max-time 30 --retry 3 \
    --output "$out" --write-out '%{http_code}' "${test_rc[@]}" "$@" 2>"$WORK/curl-error"); then
    reason="$what: no answer ($(grep '^curl: ' "$WORK/curl-error" | tail -n 1 | sed -E 's/^curl: \(([0-9]+)\) /curl error \1: /' | one_line))"
    return 1
  fi
  [[ $code == 200 ]] && return 0
  detail=$(jq -r '[(.__type // .error.status // .error.code // empty), (.message // .Message // .error.message // empty)]
    | map(select(type == "string")) | join(": ")' "$out" 2>/dev/null | one_line) || detail=''
  reason="$what: HTTP $code${detail:+ ($detail)}"
  case $code in 401 | 403) reason+=": $DENIED_HINT" ;; esac
  return 1
}
#@end

#@vault aws
# IMDSv2 role credentials, then GetSecretValue signed by curl's SigV4 (curl >= 7.75; Ubuntu 22.04 has 7.81).
readonly AWS_REGION=@AWS_REGION@ AWS_SECRET_ID=@AWS_SECRET_ID@
# shellcheck disable=SC2317
fetch_config() {
  local imds=http://169.254.169.254/latest auth role
  fetch "$WORK/imds-token" 'IMDSv2 token' --noproxy '*' -X PUT \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/api/token" </dev/null || return 1
  auth=$(jq -Rr '"header = \("X-aws-ec2-metadata-token: " + . | @json)"' "$WORK/imds-token") || return 1
  fetch "$WORK/roles" 'instance role' --noproxy '*' "$imds/meta-data/iam/security-credentials/" <<<"$auth" || return 1
  role=$(head -n 1 "$WORK/roles" | one_line)
  [[ $role =~ ^[A-Za-z0-9+=,.@_-]+$ ]] || { reason="this instance has no IAM role: attach the instance profile wg-mesh made for it"; return 1; }
  fetch "$WORK/credentials" "credentials of role $role" --noproxy '*' \
    "$imds/meta-data/iam/security-credentials/$role" <<<"$auth" || return 1
  auth=$(jq -r '"user = \((.AccessKeyId // error) + ":" + (.SecretAccessKey // error) | @json)",
    "header = \("x-amz-security-token: " + (.Token // error) | @json)"' "$WORK/credentials" 2>/dev/null) \
    || { reason="IMDS gave no usable credentials for role $role"; return 1; }
  jq -cn --arg id "$AWS_SECRET_ID" '{SecretId: $id}' >"$WORK/request"
  fetch "$WORK/response" "GetSecretValue $AWS_SECRET_ID" --aws-sigv4 "aws:amz:$AWS_REGION:secretsmanager" \
    -H 'X-Amz-Target: secretsmanager.GetSecretValue' -H 'Content-Type: application/x-amz-json-1.1' \
    --data-binary "@$WORK/request" "https://secretsmanager.$AWS_REGION.amazonaws.com/" <<<"$auth" || return 1
  jq -j '.SecretString // error' "$WORK/response" >"$1" 2>/dev/null || { reason="GetSecretValue answered no SecretString"; return 1; }
}
#@end

#@vault gcp
# The metadata server's token for the VM's service account, then versions/latest:access (payload is base64).
readonly GCP_PROJECT=@GCP_PROJECT@ GCP_SECRET_ID=@GCP_SECRET_ID@
# shellcheck disable=SC2317
fetch_config() {
  local auth
  fetch "$WORK/token" 'metadata server token' --noproxy '*' -H 'Metadata-Flavor: Google' \
    http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token </dev/null || return 1
  auth=$(jq -r '"header = \("Authorization: Bearer " + (.access_token // error) | @json)"' "$WORK/token" 2>/dev/null) \
    || { reason="the metadata server gave no access_token"; return 1; }
  fetch "$WORK/response" "secret $GCP_SECRET_ID" \
    "https://secretmanager.googleapis.com/v1/projects/$GCP_PROJECT/secrets/$GCP_SECRET_ID/versions/latest:access" <<<"$auth" || return 1
  jq -r '.payload.data // error' "$WORK/response" 2>/dev/null | base64 -d >"$1" 2>/dev/null \
    || { reason="secret $GCP_SECRET_ID answered no base64 payload.data"; return 1; }
}
#@end

#@vault azure
# The vault's name from this VM's own tag (Key Vault names are global, so they carry a random part
# chosen at deploy and are not in this script), the IMDS managed-identity token for Key Vault, then
# the secret's latest version.
readonly AZURE_VAULT_TAG=@AZURE_VAULT_TAG@ AZURE_SECRET=@AZURE_SECRET@
# shellcheck disable=SC2317
fetch_config() {
  local auth vault imds=http://169.254.169.254/metadata
  fetch "$WORK/tags" 'instance tags' --noproxy '*' -H 'Metadata: true' \
    "$imds/instance/compute/tagsList?api-version=2021-02-01" </dev/null || return 1
  vault=$(jq -r --arg tag "$AZURE_VAULT_TAG" 'first(.[] | select(.name == $tag) | .value) // empty' "$WORK/tags" 2>/dev/null | one_line) || vault=''
  [[ $vault =~ ^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$ ]] || { reason="this VM's tag $AZURE_VAULT_TAG names no Key Vault"; return 1; }
  fetch "$WORK/token" 'managed identity token' --noproxy '*' -H 'Metadata: true' \
    "$imds/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net" </dev/null || return 1
  auth=$(jq -r '"header = \("Authorization: Bearer " + (.access_token // error) | @json)"' "$WORK/token" 2>/dev/null) \
    || { reason="IMDS gave no access_token for Key Vault"; return 1; }
  fetch "$WORK/response" "secret $AZURE_SECRET in $vault" \
    "https://$vault.vault.azure.net/secrets/$AZURE_SECRET?api-version=7.4" <<<"$auth" || return 1
  jq -j '.value // error' "$WORK/response" >"$1" 2>/dev/null || { reason="Key Vault $vault answered no value"; return 1; }
}
#@end

#@vault file
# The lab and the tests: a local file stands in for the vault, and the machine has its tools.
readonly SOURCE_FILE=@SOURCE_FILE@
# shellcheck disable=SC2317
ensure_tools() { :; }
# shellcheck disable=SC2317
fetch_config() {
  [[ -f $SOURCE_FILE && -r $SOURCE_FILE ]] || { reason="$SOURCE_FILE is missing"; return 1; }
  cp -- "$SOURCE_FILE" "$1"
}
#@end
# Applied only when wg-quick and wg would both take it, so a bad vault value never reaches the interface.
check_config() {
  local key line
  grep -q '[^[:space:]]' "$1" || { reason="the config in $SOURCE is empty"; return 1; }
  key=$(conf_values "$1" interface PrivateKey | tail -n 1)
  [[ -n $key ]] || { reason="the config in $SOURCE has no [Interface] PrivateKey"; return 1; }
  printf '%s\n' "$key" | wg pubkey >/dev/null 2>&1 || { reason="the PrivateKey in $SOURCE is not a WireGuard key"; return 1; }
  wg-quick strip "$1" >"$WORK/stripped" 2>/dev/null 9>&- || { reason="wg-quick strip rejects the config in $SOURCE"; return 1; }
  line=$(awk '{ sub(/#.*/, ""); gsub(/^[ \t\r]+|[ \t\r]+$/, ""); l = tolower($0); k = l; sub(/[ \t]*=.*/, "", k) }
    l == "" || l == "[interface]" || l == "[peer]" { next }
    index(l, "=") > 1 && k ~ /^(privatekey|listenport|fwmark|publickey|presharedkey|allowedips|endpoint|persistentkeepalive)$/ { next }
    { print NR; exit }' "$WORK/stripped")
  [[ -z $line ]] || { reason="the config in $SOURCE has a line wg does not know (line $line once stripped)"; return 1; }
}

interface_up() { ip link show dev "$IFACE" >/dev/null 2>&1; }
bring_up() { quiet wg-quick up "$1"; }

install_config() {
  cmp -s -- "$1" "$CONF" && return 0
  cp -- "$1" "$CONF.tmp" && chmod 600 -- "$CONF.tmp" && mv -f -- "$CONF.tmp" "$CONF"
}

# What wg syncconf cannot change: the first wg-quick setting that differs, or nothing.
restart_reason() {
  local key
  for key in Address MTU DNS Table PreUp PreDown SaveConfig; do
    if [[ "$(conf_values "$1" interface "$key")" != "$(conf_values "$2" interface "$key")" ]]; then
      printf '%s\n' "$key"
      return 0
    fi
  done
  # wg-quick routes a /0 through its own table and rules, made only at up.
  if [[ "$(conf_values "$1" peer AllowedIPs | grep '/0$')" != "$(conf_values "$2" peer AllowedIPs | grep '/0$')" ]]; then
    printf '%s\n' 'a /0 AllowedIPs'
  fi
}

hooks_of() {
  conf_values "$1" interface PostUp
  printf -- '--\n'
  conf_values "$1" interface PostDown
}

# As wg-quick runs them: %i is the interface, each line in a bash of its own.
run_hooks() {
  local hook
  while IFS= read -r hook; do
    hook=${hook//%i/$IFACE}
    log "[#] $hook"
    if ! (eval "$hook") </dev/null 9>&-; then
      log "$2 failed: $hook"
      status=1
    fi
  done < <(conf_values "$1" interface "$2")
}

# wg syncconf leaves routes alone: make IFACE's routes what a fresh wg-quick up would make from
# the AllowedIPs now in force (it skips a prefix that the interface's own subnet already covers).
reconcile_routes() {
  local table proto prefix dst rest
  local -a where=() items
  local -A wanted=() present=()
  table=$(conf_values "$1" interface Table | tail -n 1)
  [[ $table != off ]] || return 0
  if [[ -n $table && $table != auto ]]; then where=(table "$table"); fi
  while read -r _ rest; do
    read -ra items <<<"$rest"
    for prefix in "${items[@]}"; do
      [[ $prefix =~ ^[0-9a-f:.]+/[0-9]+$ && $prefix != */0 ]] || continue
      proto=-4
      if [[ $prefix == *:* ]]; then proto=-6; fi
      if ((${#where[@]} == 0)) && [[ -n $(ip "$proto" route show dev "$IFACE" proto kernel match "$prefix" 2>/dev/null) ]]; then
        continue
      fi
      wanted[$prefix]=$proto
    done
  done < <(wg show "$IFACE" allowed-ips)
  for proto in -4 -6; do
    while read -r dst rest; do
      [[ $dst != default && " $rest " != *' proto kernel '* ]] || continue
      if [[ $dst != */* ]]; then
        if [[ $proto == -4 ]]; then dst+=/32; else dst+=/128; fi
      fi
      if [[ -n ${wanted[$dst]:-} ]]; then
        present[$dst]=1
      elif quiet ip "$proto" route del "$dst" dev "$IFACE" "${where[@]}"; then
        log "removed route $dst dev $IFACE"
      else
        status=1
      fi
    done < <(ip "$proto" route show dev "$IFACE" "${where[@]}" 2>/dev/null)
  done
  for prefix in "${!wanted[@]}"; do
    [[ -z ${present[$prefix]:-} ]] || continue
    if quiet ip "${wanted[$prefix]}" route add "$prefix" dev "$IFACE" "${where[@]}"; then
      log "added route $prefix dev $IFACE"
    else
      status=1
    fi
  done
}

# What wg syncconf does, minus what has not changed. syncconf always sets ListenPort (and the
# PrivateKey and FwMark), and wireguard-go, which wg-quick runs where the kernel has no WireGuard
# module, rebinds its socket for that even when the port is the same, dropping what arrives
# meanwhile. So when those settings are unchanged only the peers are synced, as syncconf syncs
# them: the listed ones through wg addconf (which, like syncconf, replaces each listed peer's
# AllowedIPs and sets what the file gives), then the others are removed. addconf goes first
# because it reads the whole file before it changes anything, so a file wg rejects changes nothing.
sync_config() {
  local file=$1 key
  local -a gone=()
  local -A listed=()
  if [[ -n $(conf_values "$file" interface FwMark) || $(wg show "$IFACE" fwmark) != off ]] ||
    [[ $(conf_values "$file" interface ListenPort | tail -n 1) != "$(wg show "$IFACE" listen-port)" ]] ||
    [[ $(conf_values "$file" interface PrivateKey | tail -n 1) != "$(wg show "$IFACE" private-key)" ]]; then
    quiet wg syncconf "$IFACE" "$file"
    return
  fi
  awk 'tolower($0) ~ /^[ \t]*\[interface\]/ { print; skip = 1; next } /^[ \t]*\[/ { skip = 0 } !skip' "$file" >"$WORK/peers"
  quiet wg addconf "$IFACE" "$WORK/peers" || return 1
  while read -r key; do listed[$key]=1; done < <(conf_values "$file" peer PublicKey)
  while read -r key; do
    [[ -n ${listed[$key]:-} ]] || gone+=(peer "$key" remove)
  done < <(wg show "$IFACE" peers)
  if ((${#gone[@]})); then quiet wg set "$IFACE" "${gone[@]}"; fi
}

apply_in_place() {
  sync_config "$WORK/stripped" || fail "wg refused the config in $SOURCE; $IFACE keeps its current one"
  install_config "$2"
  reconcile_routes "$2"
  if [[ "$(hooks_of "$1")" != "$(hooks_of "$2")" ]]; then
    log "PostUp/PostDown changed: running the old PostDown, then the new PostUp"
    run_hooks "$1" PostDown
    run_hooks "$2" PostUp
  fi
  log "applied the new config to $IFACE in place"
}

restart() {
  log "$3 changed: restarting $IFACE"
  if [[ ! -f $1 ]] || ! quiet wg-quick down "$1"; then quiet ip link del dev "$IFACE" || true; fi
  # wireguard-go (no kernel module) takes a moment to let go of the interface's socket.
  for _ in {1..50}; do
    [[ -e /var/run/wireguard/$IFACE.sock ]] || break
    sleep 0.1
  done
  if bring_up "$2"; then
    install_config "$2"
    log "restarted $IFACE with the new config"
    return 0
  fi
  if [[ -f $1 ]] && bring_up "$1"; then log "brought $IFACE back up with its previous config"; fi
  fail "$IFACE did not come up with the config in $SOURCE"
}

# One line: what failed and what became of the interface.
fetch_failed() {
  local what="could not fetch the config from $SOURCE: $1"
  if interface_up; then
    log "$what; $IFACE keeps its current config"
  elif [[ -s $CONF ]]; then
    # After a reboot with the vault out of reach, the last applied config beats no mesh at all.
    log "$what; bringing $IFACE up with the last applied config meanwhile"
    bring_up "$CONF" || true
  else
    log "$what; $IFACE stays down until a fetch succeeds"
  fi
  exit 1
}

# ---- What wgmesh doctor and Prometheus read, and the key-rotation hold ----------------------------
# Every run leaves a state file (its result, last log line, the vault's config and the applied one)
# and a node_exporter textfile (per-peer handshakes and transfer, the config's version, the run's
# result). WGMESH_STATE_DIR and WGMESH_METRICS_DIR are for the lab and tests; with WGMESH_CONF_DIR
# alone, both live beside the config.
readonly STATE_DIR="${WGMESH_STATE_DIR:-${WGMESH_CONF_DIR:-/var/lib/wgmesh}}"
readonly STATE="$STATE_DIR/$IFACE.state"
readonly METRICS="${WGMESH_METRICS_DIR:-${WGMESH_CONF_DIR:-/var/lib/prometheus/node-exporter}}/wgmesh-$IFACE.prom"
# A run that fetches a new key epoch at most this many seconds before its time sleeps until then; an
# earlier one leaves it to a later run (the timer runs every minute; TimeoutStartSec is 5 minutes).
readonly HOLD_MAX=150
LAST_LOG='' PREVIOUS_LOG='' HELD_UNTIL='' SWITCH_AT=0 REKEYED=0 SETTLED=0 NOW_MS=0

# The switch is timed to the millisecond on a machine that may be busy, so the clock and the waits
# around it start no process: NOW_MS from bash's own EPOCHREALTIME, and a wait that is a read timing out.
now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  NOW_MS=${t:0:-3}
}

pause_ms() {
  local fd seconds
  [[ -p $WORK/pause ]] || mkfifo -- "$WORK/pause"
  exec {fd}<>"$WORK/pause"
  printf -v seconds '%d.%03d' "$(($1 / 1000))" "$(($1 % 1000))"
  read -rt "$seconds" -u "$fd" _ || :
  exec {fd}>&-
}

sha_of() { if [[ -f $1 ]]; then sha256sum -- "$1" | cut -c1-64; fi; }

# "EPOCH NOT-BEFORE" from the comment wg-mesh writes into a config (infra/rotation.ts), or nothing.
rotation_of() {
  if [[ -f $1 ]]; then
    sed -n -E 's/^# wg-mesh key epoch ([0-9]+), not before ([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)$/\1 \2/p' "$1" | head -n 1
  fi
}

# Milliseconds until a config's not-before time, negative once it has passed; nothing without one.
due_in_ms() {
  local rotation at
  rotation=$(rotation_of "$1")
  [[ -n $rotation ]] || return 0
  at=$(date -d "${rotation#* }" +%s) || return 0
  printf '%s\n' "$((at * 1000 - $(date +%s%3N)))"
}

# After a reboot during a key rotation: the applied config again until the new one's time comes.
resume_until_due() {
  local ms
  ms=$(due_in_ms "$1")
  if [[ -z $ms || ! -s $CONF ]] || ((ms <= 0)); then return 1; fi
  bring_up "$CONF" || return 1
  log "brought $IFACE up with its last applied config until the new key epoch's time"
}

# A new key epoch switches every node at one moment: its config waits for its not-before time, and
# one fetched late is applied at once. Too early to wait in this run, it is left to a later one. New
# keys without a restart are switched to first thing at that moment (wg syncconf, then the new
# handshakes); the rest of the apply follows.
hold_until_due() {
  local ms rotation restart due=''
  restart=$(restart_reason "$2" "$1")
  if [[ "$(conf_values "$1" interface PrivateKey | tail -n 1)" != "$(conf_values "$2" interface PrivateKey | tail -n 1)" ]]; then REKEYED=1; fi
  ms=$(due_in_ms "$1")
  if [[ -n $ms ]]; then
    rotation=$(rotation_of "$1")
    now_ms
    due=$((NOW_MS + ms))
  fi
  if [[ -n $ms ]] && ((ms > 0)); then
    if ((ms > HOLD_MAX * 1000)); then
      HELD_UNTIL=${rotation#* }
      log "holding the new config (key epoch ${rotation%% *}) until $HELD_UNTIL; a later run applies it"
      exit 0
    fi
    log "holding the new config (key epoch ${rotation%% *}) until ${rotation#* }"
    # Every node switches at this moment; a busy machine should not make this one late.
    renice -n -10 -p $$ >/dev/null 2>&1 || :
    now_ms
    if ((due > NOW_MS)); then pause_ms $((due - NOW_MS)); fi
  fi
  now_ms
  SWITCH_AT=$NOW_MS
  if ((REKEYED)) && [[ -z $restart ]] && quiet wg syncconf "$IFACE" "$WORK/stripped"; then
    if [[ -n $due ]]; then log "switched to key epoch ${rotation%% *} $((SWITCH_AT - due)) ms after its time"; fi
    settle_handshakes
  fi
}

# One [Peer] of the stripped config, by its PublicKey.
peer_section() {
  awk -v key="$1" '
    /^[ \t]*\[/ { if (hit) printf "%s", section; section = ""; hit = 0; peer = tolower($0) ~ /^[ \t]*\[peer\]/ }
    { section = section $0 "\n" }
    peer && tolower($0) ~ /^[ \t]*publickey[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t\r]+$/, "", v); if (v == key) hit = 1 }
    END { if (hit) printf "%s", section }' "$WORK/stripped"
}

# After a key change every link needs a new handshake, and both ends start one as they switch.
# Two initiations that cross in flight cancel each other, as does one that reaches a peer still on
# its old key, and WireGuard then waits its REKEY_TIMEOUT (5 s) before trying again. So for a few
# seconds a peer with no handshake since the switch is re-added, which starts a fresh initiation
# at once: by the end of the link with the lower public key on the clock's half seconds, by the
# other on its whole seconds, so that the two ends' re-adds never cross.
settle_handshakes() {
  local mine key at turn lower slot
  local -A dials=()
  ((REKEYED && !SETTLED)) || return 0
  SETTLED=1
  mine=$(wg show "$IFACE" public-key) || return 0
  while read -r key at; do
    if [[ $at != '(none)' ]]; then dials[$key]=1; fi
  done < <(wg show "$IFACE" endpoints)
  for _ in {1..20}; do
    now_ms
    pause_ms $((500 - NOW_MS % 500))
    slot=$(((NOW_MS / 500 + 1) % 2))
    turn=0
    while read -r key at; do
      ((at * 1000 < SWITCH_AT - SWITCH_AT % 1000)) || continue
      turn=1
      lower=0
      if [[ $mine < $key ]]; then lower=1; fi
      if [[ -n ${dials[$key]:-} ]] && ((lower == slot)); then
        peer_section "$key" >"$WORK/readd"
        if quiet wg set "$IFACE" peer "$key" remove; then quiet wg addconf "$IFACE" "$WORK/readd" || true; fi
      fi
    done < <(wg show "$IFACE" latest-handshakes)
    if ((turn == 0)); then
      now_ms
      log "every peer handshook with the new keys, $((NOW_MS - SWITCH_AT)) ms after the switch"
      return 0
    fi
  done
  log "some peers have not handshaken with the new keys 10 s after the switch; WireGuard keeps trying"
}

# Peers' names as the config's comments give them ("# hkg (pop, ...)" above [Peer]): "KEY NAME" lines.
peer_names() {
  [[ -f $1 ]] || return 0
  awk '
    { line = $0; sub(/\r$/, "", line) }
    line ~ /^[ \t]*#/ { if (comment == "") { comment = line; sub(/^[ \t]*#+[ \t]*/, "", comment) } next }
    tolower(line) ~ /^[ \t]*\[peer\]/ { name = comment; peer = 1; comment = ""; next }
    line ~ /^[ \t]*\[/ { peer = 0; comment = ""; next }
    line ~ /[^ \t]/ { comment = "" }
    peer && tolower(line) ~ /^[ \t]*publickey[ \t]*=/ {
      key = line; sub(/^[^=]*=[ \t]*/, "", key); sub(/[ \t]+$/, "", key)
      split(name, words, /[ \t(,]/); n = words[1]; gsub(/[^A-Za-z0-9_.:-]/, "", n)
      print key, (n == "" ? substr(key, 1, 8) : n)
    }' "$1"
}

# One metric's HELP and TYPE lines, then its samples (LABELS VALUE per line on stdin).
metric() {
  local labels value
  printf '# HELP %s %s\n# TYPE %s %s\n' "$1" "$3" "$1" "$2"
  while read -r labels value; do printf '%s{interface="%s"%s} %s\n' "$1" "$IFACE" "${labels#-}" "$value"; done
}

# node_exporter's textfile collector format, the file replaced whole as the collector asks.
write_metrics() {
  local result=$1 applied=$2 at=$3 epoch=$4 up=0 now key ts rx tx
  local -A names=() handshake=()
  now=$(date +%s)
  if interface_up; then up=1; fi
  while read -r key ts; do names[$key]=$ts; done < <(peer_names "$CONF")
  if ((up)); then
    while read -r key ts; do handshake[$key]=$ts; done < <(wg show "$IFACE" latest-handshakes 2>/dev/null)
  fi
  mkdir -p -- "${METRICS%/*}"
  {
    metric wgmesh_sync_last_run_timestamp_seconds gauge 'When wgmesh-sync last ran.' <<<"- $now"
    metric wgmesh_sync_success gauge 'Whether the last wgmesh-sync run succeeded (a config held for its time counts): 1 or 0.' \
      <<<"- $([[ $result == failed ]] && echo 0 || echo 1)"
    metric wgmesh_interface_up gauge 'Whether the WireGuard interface exists.' <<<"- $up"
    if [[ -n $applied ]]; then
      metric wgmesh_config_info gauge 'The applied config: its sha256 and key epoch.' <<<",sha256=\"$applied\"${epoch:+,key_epoch=\"$epoch\"} 1"
      metric wgmesh_config_applied_timestamp_seconds gauge 'When the applied config was applied.' <<<"- $at"
    fi
    if [[ -n $epoch ]]; then metric wgmesh_config_key_epoch gauge 'The key epoch of the applied config.' <<<"- $epoch"; fi
    if [[ -n $HELD_UNTIL ]]; then
      metric wgmesh_config_held_until_timestamp_seconds gauge 'When a fetched config of a new key epoch is due.' <<<"- $(date -d "$HELD_UNTIL" +%s)"
    fi
    if ((${#handshake[@]})); then
      for key in "${!handshake[@]}"; do
        printf ',peer="%s" %s\n' "${names[$key]:-${key:0:8}}" "${handshake[$key]}"
      done | sort | metric wgmesh_peer_last_handshake_timestamp_seconds gauge 'When the last handshake with the peer completed; 0 if none has.'
      for key in "${!handshake[@]}"; do
        ts=${handshake[$key]}
        if ((ts > 0)); then ts=$((now - ts)); else ts=+Inf; fi
        printf ',peer="%s" %s\n' "${names[$key]:-${key:0:8}}" "$ts"
      done | sort | metric wgmesh_peer_last_handshake_seconds gauge 'Seconds since the last handshake with the peer, as of this run.'
      while read -r key rx tx; do
        printf ',peer="%s" %s %s\n' "${names[$key]:-${key:0:8}}" "$rx" "$tx"
      done < <(wg show "$IFACE" transfer) | sort >"$WORK/transfer"
      awk '{ print $1, $2 }' "$WORK/transfer" | metric wgmesh_peer_receive_bytes_total counter 'Bytes received from the peer.'
      awk '{ print $1, $3 }' "$WORK/transfer" | metric wgmesh_peer_transmit_bytes_total counter 'Bytes sent to the peer.'
    fi
  } >"$METRICS.tmp"
  mv -f -- "$METRICS.tmp" "$METRICS"
}

# The run's outcome for wgmesh doctor and Prometheus, on every exit. Neither can change what the
# run did, so nothing here may fail it.
finish_run() {
  set +e
  local rc=$1 result=ok applied='' at=0 epoch line=$LAST_LOG vault=''
  # What this run fetched from the vault, if it got that far.
  if [[ -s $WORK/new/$IFACE.conf ]]; then vault=$(sha_of "$WORK/new/$IFACE.conf"); fi
  # A failure is logged as its cause, then what the run did about it.
  if ((rc != 0)); then
    result=failed
    line="${PREVIOUS_LOG:+$PREVIOUS_LOG; }$LAST_LOG"
  elif [[ -n $HELD_UNTIL ]]; then
    result=held
  fi
  if [[ -f $CONF ]]; then
    # The applied config's time is when it took effect.
    if ((rc == 0 && SWITCH_AT > 0)); then touch -d "@$((SWITCH_AT / 1000))" -- "$CONF"; fi
    applied=$(sha_of "$CONF")
    at=$(stat -c %Y -- "$CONF")
  fi
  epoch=$(rotation_of "$CONF")
  epoch=${epoch%% *}
  if mkdir -p -- "$STATE_DIR" && printf '%s\n' "run_at=$(date +%s)" "result=$result" "exit_code=$rc" \
    "log=${line//[[:cntrl:]]/ }" "vault_sha256=$vault" "applied_sha256=$applied" "applied_at=$at" \
    "key_epoch=$epoch" "held_until=$HELD_UNTIL" >"$STATE.tmp" && mv -f -- "$STATE.tmp" "$STATE"; then :; else
    log "could not write $STATE"
  fi
  write_metrics "$result" "$applied" "$at" "$epoch" 2>/dev/null || log "could not write $METRICS"
}

main() {
  local new="$WORK/new/$IFACE.conf" old="$WORK/old/$IFACE.conf" why
  exec 9>"$LOCK"
  flock -w 120 9 || fail "another wgmesh-sync has held $LOCK for 2 minutes; not running beside it"
  [[ -d $CONF_DIR ]] || mkdir -m 700 "$CONF_DIR"
  mkdir "$WORK/new" "$WORK/old"
  ensure_tools || fail "$reason; $IFACE is left as it is and the next run tries again"
  fetch_config "$new" || fetch_failed "$reason"
  check_config "$new" || fail "$reason; $IFACE keeps its current config"
  if ! interface_up && ! resume_until_due "$new"; then
    bring_up "$new" || fail "wg-quick up $IFACE failed; the next run tries again"
    install_config "$new"
    log "brought $IFACE up"
    return 0
  fi
  if cmp -s -- "$new" "$CONF"; then return 0; fi
  if [[ -f $CONF ]]; then cp -- "$CONF" "$old"; fi
  why=$(restart_reason "$old" "$new")
  hold_until_due "$new" "$old"
  if [[ -n $why ]]; then restart "$old" "$new" "$why"; else apply_in_place "$old" "$new"; fi
  settle_handshakes
}

# wgmesh (the node's doctor) reads this file for its functions and values without running it.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  trap 'finish_run $?; rm -rf -- "$WORK"' EXIT
  main
  exit "$status"
fi
