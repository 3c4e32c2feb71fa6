#!/bin/bash
# wgmesh-sync, the node agent: keeps a wg-mesh node's WireGuard interface, and the files riding with
# its config, in step with its vault, and keeps itself in step with the agent its config names. The
# bootstrap (/usr/local/sbin/wgmesh-sync, from the user data) runs it every minute from its place,
# /usr/local/lib/wgmesh/current/wgmesh-sync; it sources the bootstrap for the node's values.
#
# Each run fetches the node's entry (docs/node-agent.md): wg0.conf and the files riding with it, sealed
# by a sha256 over the whole entry, naming its node and the agent version and sha256 the node should
# run. An entry that is cut short, altered, another node's, or names an agent older than this one is
# refused whole: one log line says why, the interface keeps what it has. A newer agent is fetched,
# checked against that sha256 before a byte of it is decompressed, installed beside this one, made
# current and run through its own self-check there; if that fails, this agent is made current again
# (the rollback) and says why, and keeps applying configs. Otherwise the new agent does this run.
#
# It names no peer and holds no key. Peers, keys, endpoints and the MTU are applied in place (as wg
# syncconf does, without re-setting what has not changed, plus the routes wg-quick would make, and `ip
# link set mtu`); a new Address, DNS, Table, PreUp/PreDown or /0 AllowedIPs restarts the interface; new
# PostUp/PostDown lines swap the hooks. The files riding with the config are installed as one (a folder
# switched by one rename, next to the rename of wg0.conf), then handed to the agent's apply hook for
# each. A config that cannot be fetched or does not parse leaves the running interface alone, the run
# fails, and one log line says why. Nothing here prints the config or a key.
#
# A template: wg-mesh (infra/render/sync-script.ts) fills in the @NAME@ values. Variables for the lab
# and tests only, never set on a node: WGMESH_SYNC (where the bootstrap is), WGMESH_CONF_DIR (where
# wg0.conf lives), WGMESH_STATE_DIR, WGMESH_METRICS_DIR, WGMESH_LIB_DIR (where agents live),
# WGMESH_BIN_DIR (where the wgmesh command goes), WGMESH_UNIT_DIR (where units go; systemctl is left
# alone when it is set), WGMESH_CONSOLE and WGMESH_TEST_CURLRC (a curl config pointing the vaults'
# real host names at local stand-ins, trusting their CA, and shortening the timeouts).

# shellcheck source=bootstrap.sh
source "${WGMESH_SYNC:-/usr/local/sbin/wgmesh-sync}"
shopt -s extglob

readonly AGENT_VERSION=@AGENT_VERSION@
# Commands the agent and the configs it applies run, each with the Debian package that has it.
readonly NEEDS=@NEEDS@
AGENT_DIR=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
readonly AGENT_DIR
readonly CONF_DIR="${WGMESH_CONF_DIR:-/etc/wireguard}"
readonly CONF="$CONF_DIR/$IFACE.conf"
# The files riding with the config: a link to the folder of the set in force.
readonly FILES="$CONF_DIR/$IFACE.d"
readonly LOCK="/run/wgmesh-sync.$IFACE.lock"
readonly BIN_DIR="${WGMESH_BIN_DIR:-/usr/local/sbin}"
readonly UNIT_DIR="${WGMESH_UNIT_DIR:-/etc/systemd/system}"
readonly AGENT_LINE='^#@wgmesh agent ([0-9]+\.[0-9]+\.[0-9]+) ([0-9a-f]{64}) ([0-9]+) ([1-9])$'
# The first PostUp of every payload: what brings a node still on the sync script of its user data to
# the bootstrap (infra/render/payload.ts). An agent never runs it and never installs it.
readonly BOOTSTRAP_HOOK='PostUp = : wgmesh-bootstrap-hook;'

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
# ---- The vault ------------------------------------------------------------------------------------
# Text from outside (an error body, curl's message) as one short printable line.
one_line() { tr -d '\000-\037\177' | cut -c1-200; }

# cloud-init installs the tools at first boot; when apt failed then (a mirror hiccup, no route out
# yet), every run tries again. The lab's machine has them.
ensure_tools() {
  local need
  local -a missing=()
  [[ $VAULT_KIND != file ]] || return 0
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

# What a 401 or 403 for secret $1 means on this node's cloud.
denied_hint() {
  case $VAULT_KIND in
    aws) printf 'the instance role needs secretsmanager:GetSecretValue on %s' "$1" ;;
    gcp) printf "the VM's service account needs roles/secretmanager.secretAccessor on %s and the cloud-platform scope" "$1" ;;
    *) printf "the VM's managed identity needs Get on secrets in that Key Vault" ;;
  esac
}

# curl taking its credentials (curl config lines: header = "...", user = "...") on stdin, never on
# its command line, which any local user can read. The body goes to $1; anything but 200 fails and
# says why in $reason: curl's own error, or the status with the error the service gave.
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
  case $code in 401 | 403) reason+=": $(denied_hint "$SECRET")" ;; esac
  return 1
}

# IMDSv2 role credentials, then GetSecretValue signed by curl's SigV4 (curl >= 7.75; Ubuntu 22.04 has 7.81).
fetch_aws() {
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
  jq -cn --arg id "$SECRET" '{SecretId: $id}' >"$WORK/request"
  fetch "$WORK/response" "GetSecretValue $SECRET" --aws-sigv4 "aws:amz:$AWS_REGION:secretsmanager" \
    -H 'X-Amz-Target: secretsmanager.GetSecretValue' -H 'Content-Type: application/x-amz-json-1.1' \
    --data-binary "@$WORK/request" "https://secretsmanager.$AWS_REGION.amazonaws.com/" <<<"$auth" || return 1
  jq -j '.SecretString // error' "$WORK/response" >"$1" 2>/dev/null || { reason="GetSecretValue $SECRET answered no SecretString"; return 1; }
}

# The metadata server's token for the VM's service account, then versions/latest:access (payload is base64).
fetch_gcp() {
  local auth
  fetch "$WORK/token" 'metadata server token' --noproxy '*' -H 'Metadata-Flavor: Google' \
    http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token </dev/null || return 1
  auth=$(jq -r '"header = \("Authorization: Bearer " + (.access_token // error) | @json)"' "$WORK/token" 2>/dev/null) \
    || { reason="the metadata server gave no access_token"; return 1; }
  fetch "$WORK/response" "secret $SECRET" \
    "https://secretmanager.googleapis.com/v1/projects/$GCP_PROJECT/secrets/$SECRET/versions/latest:access" <<<"$auth" || return 1
  jq -r '.payload.data // error' "$WORK/response" 2>/dev/null | base64 -d >"$1" 2>/dev/null \
    || { reason="secret $SECRET answered no base64 payload.data"; return 1; }
}

# The vault's name from this VM's own tag (Key Vault names are global, so they carry a random part
# chosen at deploy), the IMDS managed-identity token for Key Vault, then the secret's latest version.
fetch_azure() {
  local auth vault imds=http://169.254.169.254/metadata
  fetch "$WORK/tags" 'instance tags' --noproxy '*' -H 'Metadata: true' \
    "$imds/instance/compute/tagsList?api-version=2021-02-01" </dev/null || return 1
  vault=$(jq -r --arg tag "$AZURE_VAULT_TAG" 'first(.[] | select(.name == $tag) | .value) // empty' "$WORK/tags" 2>/dev/null | one_line) || vault=''
  [[ $vault =~ ^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$ ]] || { reason="this VM's tag $AZURE_VAULT_TAG names no Key Vault"; return 1; }
  fetch "$WORK/token" 'managed identity token' --noproxy '*' -H 'Metadata: true' \
    "$imds/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net" </dev/null || return 1
  auth=$(jq -r '"header = \("Authorization: Bearer " + (.access_token // error) | @json)"' "$WORK/token" 2>/dev/null) \
    || { reason="IMDS gave no access_token for Key Vault"; return 1; }
  fetch "$WORK/response" "secret $SECRET in $vault" \
    "https://$vault.vault.azure.net/secrets/$SECRET?api-version=7.4" <<<"$auth" || return 1
  jq -j '.value // error' "$WORK/response" >"$1" 2>/dev/null || { reason="Key Vault $vault answered no value"; return 1; }
}

# The lab and the tests: a local file stands in for each secret.
fetch_file() {
  [[ -f $SECRET && -r $SECRET ]] || { reason="$SECRET is missing"; return 1; }
  cp -- "$SECRET" "$1"
}

# Secret $1 of the node's vault into file $2, or $reason says why not.
fetch_secret() {
  SECRET=$1
  case $VAULT_KIND in
    aws | gcp | azure | file) "fetch_$VAULT_KIND" "$2" ;;
    *) reason="the bootstrap names vault kind $VAULT_KIND, which agent $AGENT_VERSION does not know"; return 1 ;;
  esac
}

# ---- Entries: sealed texts of files (infra/render/fileset.ts) --------------------------------------
# A sealed text ends with "#@wgmesh end SHA256" over every byte before it: anything cut short or
# altered is refused before a line of it is read. $2 names it for $reason.
sealed() {
  local end re='^#@wgmesh end ([0-9a-f]{64})$'
  end=$(tail -n 1 -- "$1")
  [[ $end =~ $re ]] || { reason="$2 is truncated (it does not end with its end line)"; return 1; }
  [[ $(sed '$d' -- "$1" | sha256sum | cut -c1-64) == "${BASH_REMATCH[1]}" ]] || { reason="$2 does not match its sha256 (altered or truncated)"; return 1; }
}

# The files of sealed text $1 into folder $2, each checked against its sha256 and given its mode; $3
# names the text for $reason. Names are one or two plain segments, so nothing lands outside $2.
unpack() {
  local name mode sha re='^(@bootstrap|[a-z0-9][a-z0-9._-]{0,62}(/[a-z0-9][a-z0-9._-]{0,62})?)$'
  grep '^#@wgmesh file ' -- "$1" >"$WORK/heads" || :
  mkdir -p -- "$2"
  while read -r _ _ name mode sha; do
    [[ $name =~ $re && $mode =~ ^0(755|644|600)$ && $sha =~ ^[0-9a-f]{64}$ && ! -e $2/$name ]] || { reason="$3 has a file line wg-mesh does not write"; return 1; }
    if [[ $name == */* ]]; then mkdir -p -- "$2/${name%/*}"; fi
    : >"$2/$name"
  done <"$WORK/heads"
  # Fields split on single spaces only, as the checks above read them: "#@wgmesh file<TAB>../x" is no file line.
  awk -F '[ ]' -v d="$2/" 'substr($0, 1, 9) == "#@wgmesh " { o = $2 == "file" ? d $3 : ""; next }
    o != "" && substr($0, 1, 2) == "#|" { print substr($0, 3) > o }' "$1"
  while read -r _ _ name mode sha; do
    [[ $(sha256sum <"$2/$name" | cut -c1-64) == "$sha" ]] || { reason="$3: file $name does not match its sha256"; return 1; }
    chmod "$mode" -- "$2/$name"
  done <"$WORK/heads"
}

# The fetched entry $1, checked and split: wg0.conf as installed into $WORK/new, the files riding with
# it into $WORK/files, the bootstrap's copy into $WORK/bootstrap, the agent it names into WANT_*.
read_payload() {
  local p
  if ! grep -q '^#@wgmesh ' -- "$1"; then
    reason="it has none of the #@wgmesh lines that seal an entry (cut short, or written by a wg-mesh from before node agents)"
    return 1
  fi
  sealed "$1" "it" || return 1
  p=$(grep -m 1 '^#@wgmesh payload ' -- "$1") || p=''
  if [[ $p != "#@wgmesh payload 1 $WGMESH_NODE $IFACE" ]]; then
    reason="it is not node $WGMESH_NODE's $IFACE but says $(one_line <<<"${p:-nothing}")"
    return 1
  fi
  p=$(grep -m 1 '^#@wgmesh agent ' -- "$1") || p=''
  [[ $p =~ $AGENT_LINE ]] || { reason="it names no agent"; return 1; }
  WANT_VERSION=${BASH_REMATCH[1]} WANT_SHA=${BASH_REMATCH[2]} WANT_BYTES=${BASH_REMATCH[3]} WANT_PARTS=${BASH_REMATCH[4]}
  mkdir -p -- "$WORK/new"
  strip_payload "$1" >"$WORK/new/$IFACE.conf"
  rm -rf -- "$WORK/files" "$WORK/bootstrap"
  unpack "$1" "$WORK/files" "it" || return 1
  if [[ -f $WORK/files/@bootstrap ]]; then mv -- "$WORK/files/@bootstrap" "$WORK/bootstrap"; fi
}

# A payload (or a wg0.conf) as an agent installs it: without the bootstrap hook and the lines after wg0.conf.
strip_payload() {
  awk -v hook="$BOOTSTRAP_HOOK" 'substr($0, 1, 9) == "#@wgmesh " { exit } index($0, hook) != 1' "$1"
}

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

# What neither wg syncconf nor ip can change in place: the first wg-quick setting that differs, or
# nothing. A new MTU is set in place (ip link set mtu); only one dropped altogether, which wg-quick
# would work out anew, takes a restart.
restart_reason() {
  local key
  for key in Address DNS Table PreUp PreDown SaveConfig; do
    if [[ "$(conf_values "$1" interface "$key")" != "$(conf_values "$2" interface "$key")" ]]; then
      printf '%s\n' "$key"
      return 0
    fi
  done
  if [[ -n "$(conf_values "$1" interface MTU)" && -z "$(conf_values "$2" interface MTU)" ]]; then
    printf '%s\n' MTU
    return 0
  fi
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

# The config's MTU on the running interface: packets in flight keep flowing, no handshake is lost.
set_mtu() {
  local want have
  want=$(conf_values "$1" interface MTU | tail -n 1)
  have=$(ip -o link show dev "$IFACE" | sed -E 's/.* mtu ([0-9]+) .*/\1/')
  [[ -n $want && $want != "$have" ]] || return 0
  if quiet ip link set dev "$IFACE" mtu "$want"; then log "set MTU $want on $IFACE in place (was $have)"; else status=1; fi
}

apply_in_place() {
  sync_config "$WORK/stripped" || fail "wg refused the config in $SOURCE; $IFACE keeps its current one"
  install_files
  install_config "$2"
  set_mtu "$2"
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
    install_files
    install_config "$2"
    rm -f -- "$APPLIED"
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
    strip_payload "$CONF" >"$WORK/last/$IFACE.conf"
    bring_up "$WORK/last/$IFACE.conf" || true
    rm -f -- "$APPLIED"
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
# The agent the config names, and anything that keeps this node from running it; whether the run refused the entry.
WANT_VERSION='' WANT_SHA='' WANT_BYTES='' WANT_PARTS=1 AGENT_PROBLEM='' REFUSED=0
declare -A LAST=()

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
  strip_payload "$CONF" >"$WORK/last/$IFACE.conf"
  bring_up "$WORK/last/$IFACE.conf" || return 1
  rm -f -- "$APPLIED"
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
  local result=$1 applied=$2 at=$3 epoch=$4 behind=$5 up=0 now key ts rx tx
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
      <<<"- $([[ $result == ok || $result == held ]] && echo 1 || echo 0)"
    metric wgmesh_sync_period_seconds gauge 'How often the timer runs wgmesh-sync.' <<<"- $SYNC_PERIOD"
    metric wgmesh_vault_entry_refused gauge "Whether the last run refused the vault's entry (truncated, altered, another node's, or an older agent): 1 or 0." \
      <<<"- $REFUSED"
    metric wgmesh_interface_up gauge 'Whether the WireGuard interface exists.' <<<"- $up"
    metric wgmesh_agent_info gauge 'The node agent running here: its version.' <<<",version=\"$AGENT_VERSION\" 1"
    if [[ -n $WANT_VERSION ]]; then
      metric wgmesh_agent_expected_info gauge "The node agent the vault's config names: its version." <<<",version=\"$WANT_VERSION\" 1"
      metric wgmesh_agent_problem gauge 'Whether the agent the config names cannot run here (failed its self-check and was rolled back, cannot be fetched, or differs from the running one of the same version): 1 or 0.' \
        <<<"- $([[ -n $AGENT_PROBLEM ]] && echo 1 || echo 0)"
    fi
    if [[ -n $behind ]]; then
      metric wgmesh_agent_behind_since_timestamp_seconds gauge 'Since when the node runs another agent than the one its config names.' <<<"- $behind"
    fi
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
  # node_exporter reads it as its own user.
  chmod 644 -- "$METRICS.tmp"
  mv -f -- "$METRICS.tmp" "$METRICS"
}

# The last run's state file, as the doctor reads it.
read_last_state() {
  local key value
  if [[ -f $STATE ]]; then
    while IFS='=' read -r key value; do LAST[$key]=$value; done <"$STATE"
  fi
}

# The run's outcome for wgmesh doctor and Prometheus, on every exit. Neither can change what the
# run did, so nothing here may fail it.
finish_run() {
  set +e
  local rc=$1 result=ok applied='' at=0 epoch line=$LAST_LOG vault='' behind='' expected=$WANT_VERSION
  # What this run fetched from the vault, if it got that far.
  if [[ -s $WORK/new/$IFACE.conf ]]; then vault=$(sha_of "$WORK/new/$IFACE.conf"); fi
  # A failure is logged as its cause, then what the run did about it.
  if ((REFUSED)); then
    result=refused
  elif ((rc != 0)); then
    result=failed
    line="${PREVIOUS_LOG:+$PREVIOUS_LOG; }$LAST_LOG"
  elif [[ -n $HELD_UNTIL ]]; then
    result=held
  fi
  # Whether this node runs the agent its config names, and since when not: from the last run's state
  # while the vault names the same agent (or, when this run could not read it, whatever the last did).
  if [[ -z $expected ]]; then expected=${LAST[agent_expected]:-}; fi
  if [[ -n $expected && $expected != "$AGENT_VERSION" ]]; then
    behind=$(date +%s)
    if [[ ${LAST[agent_expected]:-} == "$expected" && -n ${LAST[agent_behind_since]:-} ]]; then behind=${LAST[agent_behind_since]}; fi
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
    "key_epoch=$epoch" "held_until=$HELD_UNTIL" "agent_version=$AGENT_VERSION" "agent_expected=$expected" \
    "agent_behind_since=$behind" "agent_problem=${AGENT_PROBLEM//[[:cntrl:]]/ }" "sync_period=$SYNC_PERIOD" >"$STATE.tmp" &&
    mv -f -- "$STATE.tmp" "$STATE"; then :; else
    log "could not write $STATE"
  fi
  write_metrics "$result" "$applied" "$at" "$epoch" "$behind" 2>/dev/null || log "could not write $METRICS"
}

# ---- The agent itself: updates, rollback, self-check -----------------------------------------------
# Whether dotted version $1 is older than $2.
version_lt() {
  local -a a b
  local i
  IFS=. read -ra a <<<"$1"
  IFS=. read -ra b <<<"$2"
  for i in 0 1 2; do
    if ((10#${a[i]:-0} != 10#${b[i]:-0})); then ((10#${a[i]:-0} < 10#${b[i]:-0})) && return 0 || return 1; fi
  done
  return 1
}

# One line, and the run ends without touching the interface or the files.
refuse() {
  REFUSED=1
  log "refused the entry in $SOURCE: $1; $IFACE keeps its current config"
  exit 1
}

agent_problem() {
  AGENT_PROBLEM=$1
  log "$1"
}

# Points $LIB/$1 (current, previous) at $2 with one rename.
point() {
  ln -sfn -- "$2" "$LIB/$1.new"
  mv -Tf -- "$LIB/$1.new" "$LIB/$1"
}

# Agent $1 from the vault into $LIB/agents/$1.new, in $4 parts (infra/render/agent-parts.ts: the secret
# $AGENT_SECRET, then $AGENT_SECRET-2, ... joined in order): the joined value's sha256 must be $2 ($3
# bytes) before a byte of it is decompressed, and each file's its own.
stage_agent() {
  local got i what=$AGENT_SECRET
  fetch_secret "$AGENT_SECRET" "$WORK/agent" || return 1
  for ((i = 2; i <= $4; i++)); do
    fetch_secret "$AGENT_SECRET-$i" "$WORK/agent-part" || { reason="part $i of $4 of agent $1: $reason"; return 1; }
    cat -- "$WORK/agent-part" >>"$WORK/agent"
  done
  if (($4 > 1)); then what="$AGENT_SECRET and its parts 2-$4"; fi
  got=$(wc -c <"$WORK/agent")
  if [[ $(sha256sum <"$WORK/agent" | cut -c1-64) != "$2" ]]; then
    reason="agent secret $what ($got bytes) is not the agent $1 the config names ($3 bytes, sha256 ${2:0:12}): altered, truncated or not written yet"
    return 1
  fi
  base64 -d <"$WORK/agent" 2>/dev/null | gzip -dc >"$WORK/agent.set" 2>/dev/null || { reason="agent secret $AGENT_SECRET does not decompress"; return 1; }
  unpack_agent "$WORK/agent.set" "$1" "$2"
}

unpack_agent() {
  local d="$LIB/agents/$2.new"
  sealed "$1" "agent $2" || return 1
  [[ $(head -n 1 -- "$1") == "#@wgmesh agent-set 1 $2" ]] || { reason="agent secret $AGENT_SECRET does not hold agent $2"; return 1; }
  mkdir -p -- "$LIB/agents"
  rm -rf -- "$d"
  unpack "$1" "$d" "agent $2" || { rm -rf -- "$d"; return 1; }
  [[ -x $d/wgmesh-sync && -x $d/wgmesh ]] || { rm -rf -- "$d"; reason="agent $2 lacks wgmesh-sync or wgmesh"; return 1; }
  printf '%s\n' "$3" >"$d/.sha256"
}

# Staged agent $1 made current, then checked where it runs: `wgmesh-sync --self-check` on the fetched
# entry $2. If it fails, the agent current before is made current again (the rollback) and the failure
# is kept, so the same agent is not tried every minute. $3 is what the line calls the agent replaced.
activate() {
  local v=$1 d="$LIB/agents/$1" before why
  before=$(readlink -- "$LIB/current" 2>/dev/null) || before=''
  rm -rf -- "$d"
  mv -- "$d.new" "$d"
  point current "agents/$v"
  if ! "$LIB/current/wgmesh-sync" --self-check "$2" >"$WORK/check" 2>&1 9>&-; then
    why=$(grep -v '^[[:space:]]*$' "$WORK/check" | tail -n 1 | one_line)
    if [[ -n $before ]]; then point current "$before"; else rm -f -- "$LIB/current"; fi
    rm -rf -- "$d"
    printf '%s\n%s\n%s\n' "$WANT_SHA" "${why:-no reason given}" "$(date +%s)" >"$LIB/agents/.failed-$v"
    reason="agent $v failed its self-check (${why:-no reason given}) and was rolled back${3:+ to $3}"
    return 1
  fi
  if [[ -n $before && $before != "agents/$v" ]]; then point previous "$before"; fi
  # Old agents go; the current and the previous stay, and failure records of older versions.
  for d in "$LIB"/agents/*; do
    [[ $d == "$LIB/$(readlink -- "$LIB/current")" || $d == "$LIB/$(readlink -- "$LIB/previous" 2>/dev/null)" ]] || rm -rf -- "$d"
  done
  rm -f -- "$LIB/agents/.failed-$v" "$APPLIED"
  install_command
  install_units
}

# /usr/local/sbin/wgmesh (`sudo wgmesh doctor`) is the current agent's, through the link, and so is
# wgmesh-firewall (the access ruleset's hook, whose fixes name it). Only our own link is ever removed.
install_command() {
  local fw="$BIN_DIR/wgmesh-firewall"
  mkdir -p -- "$BIN_DIR"
  ln -sfn -- "$LIB/current/wgmesh" "$BIN_DIR/.wgmesh.new"
  mv -Tf -- "$BIN_DIR/.wgmesh.new" "$BIN_DIR/wgmesh"
  if [[ -x $LIB/current/hooks/wgmesh-access.nft ]]; then
    ln -sfn -- "$LIB/current/hooks/wgmesh-access.nft" "$fw.new"
    mv -Tf -- "$fw.new" "$fw"
  elif [[ $(readlink -- "$fw" 2>/dev/null) == "$LIB/current/"* ]]; then
    rm -f -- "$fw"
  fi
}

# systemctl only on a node, never in the lab or tests (they set WGMESH_UNIT_DIR).
systemd_here() { [[ -z ${WGMESH_UNIT_DIR:-} && -d /run/systemd/system ]]; }

# The current agent's units (its unit/ folder: a watchdog, say) into UNIT_DIR; a service that changed
# is restarted, one the agent no longer has is stopped and removed. wgmesh-sync's own units are the
# bootstrap's and never an agent's.
install_units() {
  local u name
  local -a changed=() gone=()
  local -A now=()
  mkdir -p -- "$UNIT_DIR"
  for u in "$LIB/current/unit"/*; do
    [[ -f $u ]] || continue
    name=${u##*/}
    now[$name]=1
    cmp -s -- "$u" "$UNIT_DIR/$name" && continue
    cp -- "$u" "$UNIT_DIR/.$name.new" && chmod 644 -- "$UNIT_DIR/.$name.new" && mv -f -- "$UNIT_DIR/.$name.new" "$UNIT_DIR/$name"
    changed+=("$name")
  done
  if [[ -f $LIB/units ]]; then
    while read -r name; do
      if [[ -n $name && -z ${now[$name]:-} ]]; then gone+=("$name"); fi
    done <"$LIB/units"
  fi
  printf '%s\n' "${!now[@]}" >"$LIB/units"
  if systemd_here; then
    for name in "${gone[@]}"; do quiet systemctl disable --now "$name" || status=1; done
  fi
  for name in "${gone[@]}"; do rm -f -- "$UNIT_DIR/$name"; done
  ((${#changed[@]} + ${#gone[@]})) || return 0
  log "units: ${changed[*]:+installed ${changed[*]}}${gone[*]:+ removed ${gone[*]}}"
  if systemd_here; then
    quiet systemctl daemon-reload || status=1
    for name in "${changed[@]}"; do
      if grep -q '^\[Install\]' -- "$UNIT_DIR/$name"; then quiet systemctl enable "$name" || status=1; fi
      # --no-block: a unit ordered after wgmesh-sync.service (the watchdog) would wait for this very run.
      case $name in *.service | *.timer) quiet systemctl --no-block restart "$name" || status=1 ;; esac
    done
  fi
}

# The agent the entry names against this one: the same (nothing to do), older (the entry is refused:
# versions never go backwards), or newer (installed, checked and made current, and then it does this
# run). An agent that cannot be installed leaves this one running and applying configs.
agent_step() {
  local mine failed="$LIB/agents/.failed-$WANT_VERSION"
  if [[ $WANT_VERSION == "$AGENT_VERSION" ]]; then
    mine=$(cat -- "$AGENT_DIR/.sha256" 2>/dev/null) || mine=''
    if [[ -n $mine && $mine != "$WANT_SHA" ]]; then
      agent_problem "the config names agent $WANT_VERSION with sha256 ${WANT_SHA:0:12}, but the agent $AGENT_VERSION running here is ${mine:0:12}: a changed agent needs a new version"
    fi
    return 0
  fi
  if version_lt "$WANT_VERSION" "$AGENT_VERSION"; then
    refuse "it names agent $WANT_VERSION, older than the running $AGENT_VERSION, and agents never go back (release that agent as a version above $AGENT_VERSION)"
  fi
  if [[ -f $failed && $(head -n 1 -- "$failed") == "$WANT_SHA" ]]; then
    agent_problem "agent $WANT_VERSION failed its self-check ($(sed -n 2p -- "$failed")) and was rolled back; running $AGENT_VERSION"
    return 0
  fi
  if ! stage_agent "$WANT_VERSION" "$WANT_SHA" "$WANT_BYTES" "$WANT_PARTS"; then
    agent_problem "agent $WANT_VERSION not installed: $reason; running $AGENT_VERSION"
    return 0
  fi
  if ! activate "$WANT_VERSION" "$WORK/payload" "$AGENT_VERSION"; then
    log "$reason"
    AGENT_PROBLEM="agent $WANT_VERSION failed its self-check ($(sed -n 2p -- "$failed")) and was rolled back; running $AGENT_VERSION"
    return 0
  fi
  log "agent $AGENT_VERSION -> $WANT_VERSION: installed, passed its self-check, current"
  # The new agent does the rest of this run (and writes its state); this one's scratch goes first.
  rm -rf -- "$WORK"
  trap - EXIT
  exec 9>&-
  WGMESH_AGENT_FROM=$AGENT_VERSION exec "$LIB/current/wgmesh-sync"
}

# The bootstrap's copy in the entry, put in place of the running bootstrap when they differ: checked
# (it parses, and names this node, interface and vault) before it replaces it, by one rename.
refresh_bootstrap() {
  local target
  [[ -s $WORK/bootstrap ]] || return 0
  target=$(readlink -f -- "${WGMESH_SYNC:-/usr/local/sbin/wgmesh-sync}")
  cmp -s -- "$WORK/bootstrap" "$target" && return 0
  if ! bash -n "$WORK/bootstrap" 2>/dev/null ||
    [[ $(bash -c 'source "$1"; printf "%s %s %s %s %s" "$WGMESH_NODE" "$IFACE" "$VAULT_KIND" "$CONFIG_SECRET" "$AGENT_SECRET"' _ "$WORK/bootstrap" 2>/dev/null) != \
      "$WGMESH_NODE $IFACE $VAULT_KIND $CONFIG_SECRET $AGENT_SECRET" ]]; then
    log "the bootstrap in $SOURCE does not name this node's vault; the bootstrap here stays as it is"
    status=1
    return 0
  fi
  cp -- "$WORK/bootstrap" "$target.new" && chmod 755 -- "$target.new" && mv -f -- "$target.new" "$target"
  log "updated the bootstrap ($target) from $SOURCE"
}

# `wgmesh-sync --self-check ENTRY`: what a new agent must pass where it is installed before it stays
# current: its scripts parse, it knows the bootstrap's values, and it reads the node's entry and finds
# a config wg and wg-quick take. It changes nothing.
self_check() {
  local f
  [[ -n ${1:-} && -f $1 ]] || fail "self-check: give the node's entry as a file"
  [[ $BOOTSTRAP_FORMAT == 1 ]] || fail "self-check: the bootstrap's values are format $BOOTSTRAP_FORMAT, which agent $AGENT_VERSION does not know"
  for f in "$AGENT_DIR"/wgmesh "$AGENT_DIR"/wgmesh-* "$AGENT_DIR"/hooks/*; do
    [[ -e $f ]] || continue
    bash -n -- "$f" 2>/dev/null || fail "self-check: ${f#"$AGENT_DIR"/} does not parse"
  done
  for f in "$AGENT_DIR"/unit/*; do
    [[ -e $f ]] || continue
    grep -q '^\[Unit\]' -- "$f" || fail "self-check: unit ${f##*/} has no [Unit] section"
  done
  read_payload "$1" || fail "self-check: the entry in $SOURCE: $reason"
  check_config "$WORK/new/$IFACE.conf" || fail "self-check: $reason"
  printf 'agent %s: self-check passed\n' "$AGENT_VERSION"
}

# `wgmesh-sync --install SET VERSION SHA256 ENTRY`: how the bootstrap installs the first agent, from the
# agent set it fetched and checked against the sha256 the config entry it fetched names.
install_from() {
  exec 9>"$LOCK"
  flock -w 120 9 || fail "another wgmesh-sync has held $LOCK for 2 minutes; not running beside it"
  if [[ $(readlink -- "$LIB/current" 2>/dev/null) == "agents/$2" ]]; then return 0; fi
  mkdir -p -- "$LIB"
  unpack_agent "$1" "$2" "$3" || fail "no node agent yet: $reason; the next run tries again"
  cp -- "$4" "$WORK/payload"
  WANT_SHA=$3
  activate "$2" "$WORK/payload" '' || fail "no node agent yet: $reason; the next run tries again"
  printf 'wgmesh-sync: node %s: installed agent %s from %s\n' "$WGMESH_NODE" "$2" "$SOURCE" | tee -a "${WGMESH_CONSOLE:-/dev/console}" >&2 2>/dev/null || :
}

# ---- Files riding with the config ---------------------------------------------------------------
# Each file's apply hook (the agent's hooks/NAME) ran for the content recorded here: "NAME SHA256".
readonly APPLIED="$STATE_DIR/$IFACE.applied"

# The entry's files as one set in force: a new folder, then the link to it switched by one rename.
install_files() {
  local key old new
  key=$({ grep '^#@wgmesh file [a-z0-9]' -- "$WORK/payload" || :; } | sha256sum | cut -c1-16)
  old=$(readlink -- "$FILES" 2>/dev/null) || old=''
  new=".$IFACE.d.$key"
  [[ $old != "$new" ]] || return 0
  if [[ -z $old && -z $(ls -A -- "$WORK/files") ]]; then return 0; fi
  rm -rf -- "${CONF_DIR:?}/$new"
  cp -R -- "$WORK/files" "$CONF_DIR/$new"
  chmod 700 -- "$CONF_DIR/$new"
  point_files "$new"
  if [[ -n $old && $old == .$IFACE.d.* ]]; then rm -rf -- "${CONF_DIR:?}/$old"; fi
}

point_files() {
  ln -sfn -- "$1" "$FILES.new"
  mv -Tf -- "$FILES.new" "$FILES"
}

# Each file new or changed since its hook last ran goes to the agent's hooks/NAME (`apply PATH`); a
# file gone, to `remove`. Hooks run after wg0.conf is applied, again after the interface comes up anew
# and once under a new agent, so they must be idempotent. A file without a hook is only installed.
apply_hooks() {
  local f name sha hook
  local -A ran=()
  [[ -e $FILES || -s $APPLIED ]] || return 0
  if [[ -f $APPLIED ]]; then
    while read -r name sha; do ran[$name]=$sha; done <"$APPLIED"
  fi
  : >"$WORK/applied"
  for f in "$FILES"/*; do
    [[ -f $f ]] || continue
    name=${f##*/}
    sha=$(sha256sum <"$f" | cut -c1-64)
    hook="$AGENT_DIR/hooks/$name"
    if [[ ${ran[$name]:-} == "$sha" ]]; then
      :
    elif [[ ! -x $hook ]]; then
      log "$name: installed in $FILES; agent $AGENT_VERSION has no apply hook for it"
    elif quiet env IFACE="$IFACE" WGMESH_NODE="$WGMESH_NODE" "$hook" apply "$f" </dev/null; then
      log "$name: applied by its hook"
    else
      log "$name: its apply hook failed; the next run tries again"
      status=1
      unset "ran[$name]"
      continue
    fi
    printf '%s %s\n' "$name" "$sha" >>"$WORK/applied"
    unset "ran[$name]"
  done
  for name in "${!ran[@]}"; do
    hook="$AGENT_DIR/hooks/$name"
    if [[ -x $hook ]] && ! quiet env IFACE="$IFACE" WGMESH_NODE="$WGMESH_NODE" "$hook" remove </dev/null; then
      log "$name: its remove hook failed; the next run tries again"
      printf '%s %s\n' "$name" "${ran[$name]}" >>"$WORK/applied"
      status=1
    fi
  done
  mkdir -p -- "$STATE_DIR"
  mv -f -- "$WORK/applied" "$APPLIED"
}

main() {
  local new="$WORK/new/$IFACE.conf" old="$WORK/old/$IFACE.conf" why
  exec 9>"$LOCK"
  flock -w 120 9 || fail "another wgmesh-sync has held $LOCK for 2 minutes; not running beside it"
  [[ -d $CONF_DIR ]] || mkdir -m 700 "$CONF_DIR"
  mkdir -p "$WORK/new" "$WORK/old" "$WORK/last"
  read_last_state
  if [[ -n ${WGMESH_AGENT_FROM:-} ]]; then log "agent $AGENT_VERSION takes over this run from agent $WGMESH_AGENT_FROM"; fi
  ensure_tools || fail "$reason; $IFACE is left as it is and the next run tries again"
  fetch_secret "$CONFIG_SECRET" "$WORK/payload" || fetch_failed "$reason"
  read_payload "$WORK/payload" || refuse "$reason"
  agent_step
  refresh_bootstrap
  check_config "$new" || fail "$reason; $IFACE keeps its current config"
  if ! interface_up && ! resume_until_due "$new"; then
    bring_up "$new" || fail "wg-quick up $IFACE failed; the next run tries again"
    install_files
    install_config "$new"
    rm -f -- "$APPLIED"
    apply_hooks
    log "brought $IFACE up"
    return 0
  fi
  if [[ -f $CONF ]]; then strip_payload "$CONF" >"$old"; fi
  if cmp -s -- "$new" "$old"; then
    # The same config (perhaps installed with the lines an old sync script kept): only the files may differ.
    install_files
    install_config "$new"
    apply_hooks
    return 0
  fi
  why=$(restart_reason "$old" "$new")
  hold_until_due "$new" "$old"
  if [[ -n $why ]]; then restart "$old" "$new" "$why"; else apply_in_place "$old" "$new"; fi
  apply_hooks
  settle_handshakes
}

# wgmesh (the node's doctor) reads this file for its functions and values without running it.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-} in
    --self-check) self_check "${2:-}" ;;
    --install) install_from "${2:-}" "${3:-}" "${4:-}" "${5:-}" ;;
    *)
      trap 'finish_run $?; rm -rf -- "$WORK"' EXIT
      main
      exit "$status"
      ;;
  esac
fi
