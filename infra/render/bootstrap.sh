#!/bin/bash
# wgmesh-sync, the bootstrap: the one script a wg-mesh node's user data installs, and one that never
# has to change. wgmesh-sync.timer runs it at boot and every minute. It names the node, its interface
# and its vault; with a node agent installed it hands the run to it, and without one it installs the
# agent the node's config names, from the node's own vault: the agent secret's sha256 must be the one
# the config gives before a byte of it is decompressed, and the agent's own installer (its wgmesh-sync
# --install) then checks every file, runs the agent's self-check and only then makes it current.
#
# Every agent sources this file for the node's values (docs/node-agent.md, "The bootstrap's values"),
# with the run at the bottom left out: VAULT_KIND, WGMESH_NODE, IFACE, SOURCE, CONFIG_SECRET,
# AGENT_SECRET, SYNC_PERIOD, LIB, BOOTSTRAP_FORMAT, and per vault AWS_REGION, GCP_PROJECT or
# AZURE_VAULT_TAG. It is kept small (user data of at most 4 KB on every cloud): errors say little here,
# curl's own line in the journal, since the agent, which has the room, fetches with every detail.
#
# A template like the agent's: wg-mesh (infra/render/sync-script.ts) replaces every @NAME@ with a quoted
# value and keeps of the "#@vault KIND..." blocks only those of the node's vault. Test-only variables,
# never set on a node: WGMESH_LIB_DIR (where agents live) and WGMESH_TEST_CURLRC (a curl config pointing
# the vault's real host names at local stand-ins).
# The values are for the agent, which sources this file; the template defines get() once per vault.
# shellcheck disable=SC2034,SC2086,SC2317
set -euo pipefail
umask 077
export LC_ALL=C
PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
readonly BOOTSTRAP_FORMAT=1 VAULT_KIND=@VAULT_KIND@ WGMESH_NODE=@NODE@ IFACE=@IFACE@ SYNC_PERIOD=@SYNC_PERIOD@
readonly CONFIG_SECRET=@CONFIG_SECRET@ AGENT_SECRET=@AGENT_SECRET@
readonly LIB="${WGMESH_LIB_DIR:-/usr/local/lib/wgmesh}" PACKAGES=@PACKAGES@
#@vault aws gcp azure
# curl with what a request needs (credentials as curl config lines) on stdin, never on its command line.
c() { curl -K- -sSf --connect-timeout 5 --max-time 30 --retry 3 ${WGMESH_TEST_CURLRC:+-K "$WGMESH_TEST_CURLRC"} "$@"; }
#@end
#@vault aws
readonly AWS_REGION=@AWS_REGION@
readonly SOURCE="AWS Secrets Manager secret $CONFIG_SECRET ($AWS_REGION)"
# Secret $1 to stdout: IMDSv2 role credentials, then GetSecretValue signed by curl's SigV4.
get() {
  local m=http://169.254.169.254/latest h r
  h="header = \"X-aws-ec2-metadata-token: $(c --noproxy '*' -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$m/api/token" </dev/null)\""
  r=$(c --noproxy '*' "$m/meta-data/iam/security-credentials/" <<<"$h" | head -n 1)
  c --noproxy '*' "$m/meta-data/iam/security-credentials/$r" <<<"$h" |
    jq -r '"user = \(.AccessKeyId + ":" + .SecretAccessKey | @json)", "header = \("x-amz-security-token: " + .Token | @json)"' |
    c --aws-sigv4 "aws:amz:$AWS_REGION:secretsmanager" -H 'X-Amz-Target: secretsmanager.GetSecretValue' \
      -H 'Content-Type: application/x-amz-json-1.1' -d "{\"SecretId\":\"$1\"}" "https://secretsmanager.$AWS_REGION.amazonaws.com/" | jq -j .SecretString
}
#@end
#@vault gcp
readonly GCP_PROJECT=@GCP_PROJECT@
readonly SOURCE="GCP Secret Manager secret $CONFIG_SECRET (project $GCP_PROJECT)"
# Secret $1 to stdout: the metadata server's token for the VM's service account, then versions/latest:access.
get() {
  c --noproxy '*' -H 'Metadata-Flavor: Google' http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token </dev/null |
    jq -r '"header = \("Authorization: Bearer " + .access_token | @json)"' |
    c "https://secretmanager.googleapis.com/v1/projects/$GCP_PROJECT/secrets/$1/versions/latest:access" | jq -r .payload.data | base64 -d
}
#@end
#@vault azure
readonly AZURE_VAULT_TAG=@AZURE_VAULT_TAG@
readonly SOURCE="Azure Key Vault secret $CONFIG_SECRET in the vault this VM's tag $AZURE_VAULT_TAG names"
# Secret $1 to stdout: the vault named by this VM's tag, the managed identity's token, the secret's latest version.
get() {
  local m=http://169.254.169.254/metadata v
  v=$(c --noproxy '*' -H 'Metadata: true' "$m/instance/compute/tagsList?api-version=2021-02-01" </dev/null | jq -r --arg t "$AZURE_VAULT_TAG" 'first(.[] | select(.name == $t) | .value)')
  [[ $v =~ ^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$ ]] || { echo "this VM's tag $AZURE_VAULT_TAG names no Key Vault" >&2; return 1; }
  c --noproxy '*' -H 'Metadata: true' "$m/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net" </dev/null |
    jq -r '"header = \("Authorization: Bearer " + .access_token | @json)"' | c "https://$v.vault.azure.net/secrets/$1?api-version=7.4" | jq -j .value
}
#@end
#@vault file
# The lab and the tests: local files stand in for the vault's secrets.
readonly SOURCE="file $CONFIG_SECRET"
get() { cat -- "$1"; }
#@end

# Sourced (by an agent, for the values above): nothing more. Run (by the timer): the run.
[[ ${BASH_SOURCE[0]} == "$0" ]] || return 0
if [[ ! -x $LIB/current/wgmesh-sync ]]; then
  WORK=$(mktemp -d)
  trap 'rm -rf -- "$WORK"' EXIT
  cd "$WORK"
  # What the first boot's apt may have failed to install (a mirror hiccup, no route out yet); hash
  # fails when any of the commands is missing.
  hash jq wg-quick 2>/dev/null ||
    { apt-get -qq update && apt-get -qq install -y --no-install-recommends $PACKAGES; } >/dev/null || exit 1
  get "$CONFIG_SECRET" >config
  read -r v s n < <(sed -n -E 's/^#@wgmesh agent ([0-9]+\.[0-9]+\.[0-9]+) ([0-9a-f]{64}) [0-9]+ ([1-9])$/\1 \2 \3/p' config) ||
    { echo "no node agent: $SOURCE names none" >&2; exit 1; }
  # The agent in n parts (infra/render/agent-parts.ts): $AGENT_SECRET, then $AGENT_SECRET-2, ... joined
  # in order; the sha256 is of the joined value. A part missing fails the run (set -e): the next tries again.
  { get "$AGENT_SECRET"; for ((i = 2; i <= n; i++)); do get "$AGENT_SECRET-$i"; done; } >agent
  [[ $(sha256sum <agent) == "$s  -" ]] ||
    { echo "no node agent: $AGENT_SECRET is not agent $v" >&2; exit 1; }
  base64 -d agent | gzip -dc >agent.set
  awk '/^#@wgmesh /{o=$3=="wgmesh-sync";next} o&&/^#[|]/{print substr($0,3)}' agent.set >install
  bash install --install "$WORK/agent.set" "$v" "$s" "$WORK/config"
  cd / && rm -rf -- "$WORK"
fi
exec "$LIB/current/wgmesh-sync" "$@"
