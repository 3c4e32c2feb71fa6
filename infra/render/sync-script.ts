/**
 * The vault sync unit's script (/usr/local/sbin/wgmesh-sync): fetches the node's wg-quick file
 * from its vault with the VM's own identity and applies it. It depends only on the node, its
 * interface name and where its vault is, never on the mesh, so the user data that carries it is
 * the same for the life of the VM and a mesh change never replaces or restarts one.
 */
import type { VaultLocator } from "../vault";

export interface DeliveryOptions {
  node: string;
  vault: VaultLocator;
  /** wg-quick interface name; wg0 unless the lab or a test needs a machine-wide unique one. */
  interfaceName?: string;
}

export const DEFAULT_INTERFACE = "wg0";
export const SYNC_SCRIPT_PATH = "/usr/local/sbin/wgmesh-sync";
export const SYNC_UNIT = "wgmesh-sync";

/** wg-quick's own rule for an interface name (and so for the name of its .conf). */
const INTERFACE_NAME = /^[a-zA-Z0-9_=+.-]{1,15}$/;

interface VaultScript {
  /** For people reading the log: where the config comes from. */
  source: string;
  /** bash assignments of the vault's coordinates. */
  constants: string;
  /** What to fix when the vault says 401/403. */
  deniedHint?: string;
  /** bash: fetch_config() writing the config to "$1", returning non-zero after logging why. */
  fetchConfig: string;
}

export function renderSyncScript(opts: DeliveryOptions): string {
  const iface = checkedInterfaceName(opts.interfaceName);
  const node = checkedNodeName(opts.node);
  const vault = vaultScript(opts.vault);
  const cloud = vault.deniedHint !== undefined;
  return [
    header(node, iface, vault.source),
    settings(iface, vault),
    COMMON,
    cloud ? FETCH_HELPER : "",
    vault.fetchConfig,
    APPLY,
  ]
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .join("\n\n")
    .concat("\n");
}

/** Where the config comes from, in words: for logs, unit descriptions and comments. */
export function describeVault(vault: VaultLocator): string {
  return vaultScript(vault).source;
}

export function checkedInterfaceName(name: string | undefined): string {
  const iface = name ?? DEFAULT_INTERFACE;
  if (!INTERFACE_NAME.test(iface)) {
    throw new Error(`interfaceName ${JSON.stringify(iface)} is not a wg-quick interface name: use 1-15 letters, digits or _=+.-`);
  }
  return iface;
}

export function checkedNodeName(node: string): string {
  if (node.length === 0 || /[\p{Cc}\p{Cf}]/u.test(node)) {
    throw new Error(`node ${JSON.stringify(node)} is not a usable node name: give a non-empty name without control characters`);
  }
  return node;
}

/** A bash word that stands for exactly `text`. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function requireMatch(value: string, pattern: RegExp, field: string, rule: string): string {
  if (!pattern.test(value)) throw new Error(`${field} ${JSON.stringify(value)} is invalid: ${rule}`);
  return value;
}

function vaultScript(vault: VaultLocator): VaultScript {
  switch (vault.kind) {
    case "aws-secretsmanager": {
      const region = requireMatch(vault.region, /^[a-z]{2}(-[a-z]+)+-\d+$/, "vault.region", "use an AWS region code such as eu-west-1");
      const name = requireMatch(vault.secretName, /^[A-Za-z0-9/_+=.@-]{1,512}$/, "vault.secretName", "AWS secret names use letters, digits and /_+=.@-");
      return {
        source: `AWS Secrets Manager secret ${name} (${region})`,
        constants: `readonly AWS_REGION=${shellQuote(region)} AWS_SECRET_ID=${shellQuote(name)}`,
        deniedHint: `the instance role needs secretsmanager:GetSecretValue on ${name}`,
        fetchConfig: FETCH_AWS,
      };
    }
    case "gcp-secretmanager": {
      const project = requireMatch(vault.project, /^[a-z][a-z0-9.:-]{4,61}[a-z0-9]$/, "vault.project", "use the GCP project id");
      const id = requireMatch(vault.secretId, /^[A-Za-z0-9_-]{1,255}$/, "vault.secretId", "Secret Manager ids use letters, digits, _ and -");
      return {
        source: `GCP Secret Manager secret ${id} (project ${project})`,
        constants: `readonly GCP_PROJECT=${shellQuote(project)} GCP_SECRET_ID=${shellQuote(id)}`,
        deniedHint: `the VM's service account needs roles/secretmanager.secretAccessor on ${id} and the cloud-platform scope`,
        fetchConfig: FETCH_GCP,
      };
    }
    case "azure-keyvault": {
      const vaultName = requireMatch(vault.vaultName, /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/, "vault.vaultName", "Key Vault names are 3-24 letters, digits and -, starting with a letter");
      const secret = requireMatch(vault.secretName, /^[a-zA-Z0-9-]{1,127}$/, "vault.secretName", "Key Vault secret names use letters, digits and -");
      return {
        source: `Azure Key Vault secret ${secret} in ${vaultName}`,
        constants: `readonly AZURE_VAULT=${shellQuote(vaultName)} AZURE_SECRET=${shellQuote(secret)}`,
        deniedHint: `the VM's managed identity needs to read secrets in Key Vault ${vaultName}`,
        fetchConfig: FETCH_AZURE,
      };
    }
    case "file": {
      const path = requireMatch(vault.path, /^\/[^\p{Cc}\u2028\u2029]*$/u, "vault.path", "give an absolute path on one line, without control characters");
      return { source: `file ${path}`, constants: `readonly SOURCE_FILE=${shellQuote(path)}`, fetchConfig: FETCH_FILE };
    }
  }
}

/**
 * A template tag for bash text: everything stays as written, backslashes included; only `\${` and
 * a backtick need the backslash TypeScript asks for, and lose it here.
 */
function bash(strings: TemplateStringsArray, ...values: string[]): string {
  return strings.raw.reduce((out, raw, i) => out + raw.replace(/\\(\$\{|`)/g, "$1") + (values[i] ?? ""), "");
}

function header(node: string, iface: string, source: string): string {
  return bash`#!/bin/bash
# wgmesh-sync: keeps WireGuard interface ${iface} of wg-mesh node ${node} in step with its wg-quick
# file, kept in ${source}.
# Generated by wg-mesh. It names no peer and holds no key, so it stays the same whatever the mesh
# becomes: a mesh change updates the vault, never this VM. wgmesh-sync.timer runs it every minute.
#
# Peers, keys and endpoints are applied in place (as wg syncconf does, without re-setting what has
# not changed, plus the routes wg-quick would make); a new Address, MTU, DNS, Table, PreUp/PreDown
# or /0 AllowedIPs restarts the interface; new PostUp/PostDown lines swap the hooks. A config that
# cannot be fetched or does not parse leaves the running interface alone and the run fails.
# Nothing here prints the config or a key.
`;
}

function settings(iface: string, vault: VaultScript): string {
  return bash`set -euo pipefail
shopt -s extglob
umask 077
export LC_ALL=C
PATH="\${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"

readonly IFACE=${shellQuote(iface)}
# WGMESH_CONF_DIR is for tests only.
readonly CONF_DIR="\${WGMESH_CONF_DIR:-/etc/wireguard}"
readonly CONF="$CONF_DIR/$IFACE.conf"
readonly LOCK="/run/wgmesh-sync.$IFACE.lock"
readonly SOURCE=${shellQuote(vault.source)}
${vault.deniedHint !== undefined ? `readonly DENIED_HINT=${shellQuote(vault.deniedHint)}\n` : ""}${vault.constants}

status=0
WORK=$(mktemp -d)
trap 'rm -rf -- "$WORK"' EXIT
`;
}

const COMMON = bash`log() { printf '%s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

# wg and wg-quick quote the value they choke on (as in \`value'), and that value can be a key.
redact() {
  local q=$'\x60'
  sed -E "s/\${q}[^\${q}']*'/\${q}(value hidden)'/g"
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
  local section="[\${2,,}]" want=\${3,,} here='' line key value
  local -a items
  [[ -f $1 ]] || return 0
  while read -r line || [[ -n $line ]]; do
    line=\${line%%#*}
    key=\${line%%=*}; key=\${key##*([[:space:]])}; key=\${key%%*([[:space:]])}
    if [[ $key == \[* ]]; then here=\${key,,}; continue; fi
    [[ $here == "$section" && \${key,,} == "$want" && $line == *=* ]] || continue
    value=\${line#*=}; value=\${value##*([[:space:]])}; value=\${value%%*([[:space:]])}
    case $want in
      address | dns | allowedips)
        read -ra items <<<"\${value//,/ }"
        if ((\${#items[@]})); then printf '%s\n' "\${items[@]}"; fi ;;
      *) printf '%s\n' "$value" ;;
    esac
  done <"$1"
}
`;

const FETCH_HELPER = bash`
# curl taking its credentials (curl config lines: header = "...", user = "...") on stdin, never on
# its command line, which any local user can read. The body goes to $1; anything but 200 fails.
fetch() {
  local out=$1 what=$2 code
  shift 2
  code=$(curl --config - --silent --show-error --connect-timeout 5 --max-time 30 --retry 3 \
    --output "$out" --write-out '%{http_code}' "$@") || { log "$what: no answer"; return 1; }
  case $code in
    200) return 0 ;;
    401 | 403) log "$what: HTTP $code: $DENIED_HINT" ;;
    *) log "$what: HTTP $code" ;;
  esac
  return 1
}
`;

/** IMDSv2 role credentials, then GetSecretValue signed by curl's SigV4 (curl >= 7.75; Ubuntu 22.04 has 7.81). */
const FETCH_AWS = bash`
fetch_config() {
  local imds=http://169.254.169.254/latest auth role
  fetch "$WORK/imds-token" 'IMDSv2 token' --noproxy '*' -X PUT \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/api/token" </dev/null || return 1
  auth=$(jq -Rr '"header = \("X-aws-ec2-metadata-token: " + . | @json)"' "$WORK/imds-token") || return 1
  fetch "$WORK/roles" 'instance role' --noproxy '*' "$imds/meta-data/iam/security-credentials/" <<<"$auth" || return 1
  role=$(head -n 1 "$WORK/roles")
  [[ -n $role ]] || { log "this instance has no IAM role: attach the instance profile wg-mesh made for it"; return 1; }
  fetch "$WORK/credentials" "credentials of role $role" --noproxy '*' \
    "$imds/meta-data/iam/security-credentials/$role" <<<"$auth" || return 1
  auth=$(jq -r '"user = \((.AccessKeyId // error) + ":" + (.SecretAccessKey // error) | @json)",
    "header = \("x-amz-security-token: " + (.Token // error) | @json)"' "$WORK/credentials" 2>/dev/null) \
    || { log "IMDS gave no usable credentials for role $role"; return 1; }
  jq -cn --arg id "$AWS_SECRET_ID" '{SecretId: $id}' >"$WORK/request"
  fetch "$WORK/response" "GetSecretValue $AWS_SECRET_ID" --aws-sigv4 "aws:amz:$AWS_REGION:secretsmanager" \
    -H 'X-Amz-Target: secretsmanager.GetSecretValue' -H 'Content-Type: application/x-amz-json-1.1' \
    --data-binary "@$WORK/request" "https://secretsmanager.$AWS_REGION.amazonaws.com/" <<<"$auth" || return 1
  jq -j '.SecretString // empty' "$WORK/response" >"$1" 2>/dev/null || { log "GetSecretValue answered no SecretString"; return 1; }
}
`;

/** Metadata server token for the VM's service account, then versions/latest:access (payload is base64). */
const FETCH_GCP = bash`
fetch_config() {
  local auth
  fetch "$WORK/token" 'metadata server token' --noproxy '*' -H 'Metadata-Flavor: Google' \
    http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token </dev/null || return 1
  auth=$(jq -r '"header = \("Authorization: Bearer " + (.access_token // error) | @json)"' "$WORK/token" 2>/dev/null) \
    || { log "the metadata server gave no access_token"; return 1; }
  fetch "$WORK/response" "secret $GCP_SECRET_ID" \
    "https://secretmanager.googleapis.com/v1/projects/$GCP_PROJECT/secrets/$GCP_SECRET_ID/versions/latest:access" <<<"$auth" || return 1
  jq -r '.payload.data // empty' "$WORK/response" 2>/dev/null | base64 -d >"$1" 2>/dev/null \
    || { log "secret $GCP_SECRET_ID answered no base64 payload.data"; return 1; }
}
`;

/** IMDS managed identity token for Key Vault, then the secret's latest version. */
const FETCH_AZURE = bash`
fetch_config() {
  local auth
  fetch "$WORK/token" 'managed identity token' --noproxy '*' -H 'Metadata: true' \
    'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net' </dev/null || return 1
  auth=$(jq -r '"header = \("Authorization: Bearer " + (.access_token // error) | @json)"' "$WORK/token" 2>/dev/null) \
    || { log "IMDS gave no access_token for Key Vault"; return 1; }
  fetch "$WORK/response" "secret $AZURE_SECRET" \
    "https://$AZURE_VAULT.vault.azure.net/secrets/$AZURE_SECRET?api-version=7.4" <<<"$auth" || return 1
  jq -j '.value // empty' "$WORK/response" >"$1" 2>/dev/null || { log "Key Vault answered no value"; return 1; }
}
`;

const FETCH_FILE = bash`
fetch_config() {
  [[ -f $SOURCE_FILE && -r $SOURCE_FILE ]] || { log "$SOURCE_FILE is missing"; return 1; }
  cp -- "$SOURCE_FILE" "$1"
}
`;

const APPLY = bash`
# Applied only when wg-quick and wg would both take it, so a bad vault value never reaches the interface.
check_config() {
  local key line
  grep -q '[^[:space:]]' "$1" || { log "the config in $SOURCE is empty"; return 1; }
  key=$(conf_values "$1" interface PrivateKey | tail -n 1)
  [[ -n $key ]] || { log "the config in $SOURCE has no [Interface] PrivateKey"; return 1; }
  printf '%s\n' "$key" | wg pubkey >/dev/null 2>&1 || { log "the PrivateKey in $SOURCE is not a WireGuard key"; return 1; }
  quiet wg-quick strip "$1" >"$WORK/stripped" || { log "wg-quick strip rejects the config in $SOURCE"; return 1; }
  line=$(awk '{ sub(/#.*/, ""); gsub(/^[ \t\r]+|[ \t\r]+$/, ""); l = tolower($0); k = l; sub(/[ \t]*=.*/, "", k) }
    l == "" || l == "[interface]" || l == "[peer]" { next }
    index(l, "=") > 1 && k ~ /^(privatekey|listenport|fwmark|publickey|presharedkey|allowedips|endpoint|persistentkeepalive)$/ { next }
    { print NR; exit }' "$WORK/stripped")
  [[ -z $line ]] || { log "the config in $SOURCE has a line wg does not know (line $line once stripped)"; return 1; }
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
    hook=\${hook//%i/$IFACE}
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
    for prefix in "\${items[@]}"; do
      [[ $prefix =~ ^[0-9a-f:.]+/[0-9]+$ && $prefix != */0 ]] || continue
      proto=-4
      if [[ $prefix == *:* ]]; then proto=-6; fi
      if ((\${#where[@]} == 0)) && [[ -n $(ip "$proto" route show dev "$IFACE" proto kernel match "$prefix" 2>/dev/null) ]]; then
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
      if [[ -n \${wanted[$dst]:-} ]]; then
        present[$dst]=1
      elif quiet ip "$proto" route del "$dst" dev "$IFACE" "\${where[@]}"; then
        log "removed route $dst dev $IFACE"
      else
        status=1
      fi
    done < <(ip "$proto" route show dev "$IFACE" "\${where[@]}" 2>/dev/null)
  done
  for prefix in "\${!wanted[@]}"; do
    [[ -z \${present[$prefix]:-} ]] || continue
    if quiet ip "\${wanted[$prefix]}" route add "$prefix" dev "$IFACE" "\${where[@]}"; then
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
    [[ -n \${listed[$key]:-} ]] || gone+=(peer "$key" remove)
  done < <(wg show "$IFACE" peers)
  if ((\${#gone[@]})); then quiet wg set "$IFACE" "\${gone[@]}"; fi
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

fetch_failed() {
  log "could not fetch the config from $SOURCE"
  # After a reboot with the vault out of reach, the last applied config beats no mesh at all.
  if ! interface_up && [[ -s $CONF ]]; then
    log "bringing $IFACE up with the last applied config meanwhile"
    bring_up "$CONF" || true
  fi
  exit 1
}

main() {
  local new="$WORK/new/$IFACE.conf" old="$WORK/old/$IFACE.conf" reason
  exec 9>"$LOCK"
  flock -w 120 9 || fail "another wgmesh-sync has held $LOCK for 2 minutes; not running beside it"
  [[ -d $CONF_DIR ]] || mkdir -m 700 "$CONF_DIR"
  mkdir "$WORK/new" "$WORK/old"
  fetch_config "$new" || fetch_failed
  check_config "$new" || fail "$IFACE keeps its current config"
  if ! interface_up; then
    bring_up "$new" || fail "wg-quick up $IFACE failed; the next run tries again"
    install_config "$new"
    log "brought $IFACE up"
    return 0
  fi
  if cmp -s -- "$new" "$CONF"; then return 0; fi
  if [[ -f $CONF ]]; then cp -- "$CONF" "$old"; fi
  reason=$(restart_reason "$old" "$new")
  if [[ -n $reason ]]; then restart "$old" "$new" "$reason"; else apply_in_place "$old" "$new"; fi
}

main
exit "$status"
`;
