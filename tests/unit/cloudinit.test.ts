/** User data (the bootstrap) and the node scripts: what they contain, what they never contain, and shellcheck. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { gzipSync } from "node:zlib";
import { parse } from "yaml";
import { CLOUD_INIT_PACKAGES, cloudInitFiles, expandCloudInit, renderCloudInit, shippedBootstrap } from "../../infra/render/cloudinit";
import { SIZE_LIMITS } from "../../infra/limits";
import { countedUserDataBytes, USER_DATA_LIMITS, userDataProblem } from "../../infra/render/user-data-limits";
import { documentOfAwsUserData } from "../../infra/render/user-data";
import { BOOTSTRAP_TEMPLATE_PATH, fillTemplate, renderAgentSyncScript, renderBootstrap, SYNC_SCRIPT_PATH, SYNC_TEMPLATE_PATH } from "../../infra/render/sync-script";
import { DOCTOR_TEMPLATE_PATH, renderNodeCommand } from "../../infra/render/node-command";
import { planMesh } from "../../infra/plan";
import { renderAll, throwAwayKeys, offlineEndpoints } from "../../infra/render/mesh";
import { fileVault, vaultLocatorFor, type VaultLocator } from "../../infra/vault";
import { findOnPath } from "../../lab/preflight";
import { seedSpec } from "../support/seed-spec";
import { LONGEST_NODE, LONGEST_PLACEMENTS, LONGEST_PROJECT, LONGEST_STACK } from "../support/longest-names";

const AWS = vaultLocatorFor({ name: "ireland", cloud: "aws", aws: { region: "eu-west-1" } }, "wg-mesh", "prod") as Extract<VaultLocator, { kind: "aws-secretsmanager" }>;
const GCP = vaultLocatorFor({ name: "hkg", cloud: "gcp", gcp: { project: "edgeproxy-prod" } }, "wg-mesh", "prod") as Extract<VaultLocator, { kind: "gcp-secretmanager" }>;
const AZURE = vaultLocatorFor({ name: "lhr", cloud: "azure" }, "wg-mesh", "prod") as Extract<VaultLocator, { kind: "azure-keyvault" }>;
const FILE = fileVault("/srv/lab it's/wg0.conf");
const ALL: Record<string, VaultLocator> = { aws: AWS, gcp: GCP, azure: AZURE, file: FILE };

const WIREGUARD_KEY = /[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=/;

interface WriteFile {
  path: string;
  owner?: string;
  permissions?: string;
  encoding?: string;
  content: string;
}

interface CloudConfig {
  package_update: boolean;
  packages: string[];
  write_files: WriteFile[];
  runcmd: string[];
}

function parsed(text: string): CloudConfig {
  return parse(text) as CloudConfig;
}

function file(doc: CloudConfig, path: string): WriteFile {
  const f = doc.write_files.find((w) => w.path === path);
  assert.ok(f, `write_files has no ${path}`);
  return f;
}

function shellcheck(args: string[], input?: string): SpawnSyncReturns<string> {
  const tool = findOnPath("shellcheck");
  if (!tool) assert.fail("shellcheck not found: install it (scripts/setup.sh does)");
  return spawnSync(tool, ["--shell=bash", "--severity=style", ...args], { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
}

test("user data is #cloud-config YAML installing the packages, the bootstrap, its service and timer, and nothing else", () => {
  for (const [kind, vault] of Object.entries(ALL)) {
    const text = renderCloudInit({ node: "hkg", vault });
    assert.equal(text.split("\n")[0], "#cloud-config", kind);
    const doc = parsed(text);
    assert.equal(doc.package_update, true);
    assert.deepEqual(doc.packages, [...CLOUD_INIT_PACKAGES]);
    // iptables: a transit node's PostUp runs it, and any node may become one without a new VM; nftables
    // and ping: the agent's access ruleset hook and failover watchdog (REQUIRED_TOOLS).
    assert.deepEqual([...CLOUD_INIT_PACKAGES].sort(), ["curl", "iptables", "iputils-ping", "jq", "nftables", "wireguard-tools"]);
    assert.deepEqual(
      doc.write_files.map((f) => f.path),
      [SYNC_SCRIPT_PATH, "/etc/systemd/system/wgmesh-sync.service", "/etc/systemd/system/wgmesh-sync.timer"],
      "the bootstrap and its units: the agent comes from the vault",
    );
    const script = file(doc, SYNC_SCRIPT_PATH);
    assert.equal(script.permissions, "0755");
    assert.equal(script.owner, undefined, "root:root is cloud-init's default: not said again");
    assert.equal(script.encoding, undefined, "plain text on every cloud");
    assert.equal(cloudInitFiles(text).find((f) => f.path === SYNC_SCRIPT_PATH)?.content, shippedBootstrap({ node: "hkg", vault }), `${kind}: the bootstrap survives YAML unchanged`);

    const service = file(doc, "/etc/systemd/system/wgmesh-sync.service").content;
    assert.match(service, /^Type=oneshot$/m);
    assert.match(service, new RegExp(`^ExecStart=${SYNC_SCRIPT_PATH}$`, "m"));
    assert.match(service, /^After=network-online\.target$/m);
    assert.match(service, /^KillMode=process$/m);

    const timer = file(doc, "/etc/systemd/system/wgmesh-sync.timer").content;
    assert.match(timer, /^OnBootSec=\S+$/m);
    assert.match(timer, /^OnUnitActiveSec=60s$/m);
    assert.match(timer, /^WantedBy=timers\.target$/m);
    assert.deepEqual(doc.runcmd.slice(0, 2), ["systemctl daemon-reload", "systemctl enable --now wgmesh-sync.timer"]);
  }
});

test("the interface name and the node are baked into the bootstrap; the interface defaults to wg0", () => {
  assert.match(renderBootstrap({ node: "hkg", vault: GCP }), /^readonly BOOTSTRAP_FORMAT=1 VAULT_KIND='gcp' WGMESH_NODE='hkg' IFACE='wg0' SYNC_PERIOD='60'$/m);
  assert.match(renderBootstrap({ node: "hkg", vault: GCP, interfaceName: "wgsync-01" }), / IFACE='wgsync-01' /);
  assert.match(renderCloudInit({ node: "hkg", vault: GCP, interfaceName: "wgsync-01" }), /keep wgsync-01 and the node agent in step/);
});

test("the templates (bootstrap, agent, doctor) are real bash files, shellcheck clean as they stand", () => {
  for (const path of [BOOTSTRAP_TEMPLATE_PATH, SYNC_TEMPLATE_PATH, DOCTOR_TEMPLATE_PATH]) {
    const r = shellcheck(["--external-sources", "--source-path=SCRIPTDIR", path]);
    assert.equal(r.status, 0, `${path}: ${r.stdout}${r.stderr}`);
  }
});

test("a rendered bootstrap keeps its own vault's get() only, every value filled in and quoted, shellcheck clean", () => {
  for (const [kind, vault] of Object.entries(ALL)) {
    const script = renderBootstrap({ node: "hkg", vault });
    assert.doesNotMatch(script, /=@[A-Z_]+@|^#@/m, `${kind}: no placeholder or block marker left`);
    assert.equal(script.match(/^get\(\) \{/gm)?.length, 1, `${kind}: one get`);
    assert.equal(/^c\(\) \{/m.test(script), kind !== "file", `${kind}: the curl helper only for cloud vaults`);
    const r = shellcheck(["-"], script);
    assert.equal(r.status, 0, `${kind}:\n${r.stdout}${r.stderr}`);
  }
  assert.match(renderBootstrap({ node: "lab", vault: FILE }), /^readonly CONFIG_SECRET='\/srv\/lab it'\\''s\/wg0\.conf' AGENT_SECRET='\/srv\/lab it'\\''s\/wg0\.conf\.agent'$/m);
  // The agent is the same for every node: the bootstrap it sources says which vault.
  const agent = renderAgentSyncScript("1.2.3");
  assert.match(agent, /^readonly AGENT_VERSION='1\.2\.3'$/m);
  assert.doesNotMatch(agent, /=@[A-Z_]+@|^#@vault/m);
});

test("the template and its values cannot drift apart: a missing or unused value is refused", () => {
  const template = "#!/bin/bash\nreadonly A=@A@\n#@vault x\nreadonly B=@B@\n#@end\n";
  assert.equal(fillTemplate(template, "x", { A: "1", B: "it's" }), "#!/bin/bash\nreadonly A='1'\nreadonly B='it'\\''s'\n");
  assert.equal(fillTemplate(template, "y", { A: "1" }), "#!/bin/bash\nreadonly A='1'\n");
  assert.throws(() => fillTemplate(template, "x", { A: "1" }), /no value for @B@/);
  assert.throws(() => fillTemplate(template, "y", { A: "1", B: "2" }), /no @B@ in the kept text/);
  assert.throws(() => fillTemplate("#@vault x\n", "x", {}), /never closed/);
});

test("each vault kind fetches from its own API with the documented URLs and headers, in the bootstrap and in the agent", () => {
  const agent = renderAgentSyncScript("1.2.3");
  const aws = renderBootstrap({ node: "ireland", vault: AWS });
  for (const piece of [
    "-X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300'",
    "X-aws-ec2-metadata-token: ",
    '"$m/meta-data/iam/security-credentials/$r"',
    '--aws-sigv4 "aws:amz:$AWS_REGION:secretsmanager"',
    "-H 'X-Amz-Target: secretsmanager.GetSecretValue'",
    "-H 'Content-Type: application/x-amz-json-1.1'",
    '"x-amz-security-token: "',
    '"https://secretsmanager.$AWS_REGION.amazonaws.com/"',
    ".SecretString",
  ]) {
    assert.ok(aws.includes(piece), `aws bootstrap lacks ${piece}`);
  }
  assert.match(aws, /^readonly CONFIG_SECRET='wg-mesh\/prod\/ireland\/wg0\.conf' AGENT_SECRET='wg-mesh\/prod\/ireland\/agent'$/m);
  assert.match(aws, /^readonly AWS_REGION='eu-west-1'$/m);
  for (const piece of ["'X-aws-ec2-metadata-token-ttl-seconds: 300' \"$imds/api/token\"", '"$imds/meta-data/iam/security-credentials/$role"', "'{SecretId: $id}'", ".SecretString // error"]) {
    assert.ok(agent.includes(piece), `agent lacks ${piece}`);
  }

  const gcp = renderBootstrap({ node: "hkg", vault: GCP });
  for (const piece of [
    "-H 'Metadata-Flavor: Google'",
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
    '"Authorization: Bearer " + .access_token',
    '"https://secretmanager.googleapis.com/v1/projects/$GCP_PROJECT/secrets/$1/versions/latest:access"',
    ".payload.data | base64 -d",
  ]) {
    assert.ok(gcp.includes(piece), `gcp bootstrap lacks ${piece}`);
  }
  assert.match(gcp, /^readonly CONFIG_SECRET='wg-mesh-prod-hkg-wg0' AGENT_SECRET='wg-mesh-prod-hkg-agent'$/m);
  assert.ok(agent.includes('"https://secretmanager.googleapis.com/v1/projects/$GCP_PROJECT/secrets/$SECRET/versions/latest:access"'));

  const azure = renderBootstrap({ node: "lhr", vault: AZURE });
  for (const piece of [
    "-H 'Metadata: true'",
    '"$m/instance/compute/tagsList?api-version=2021-02-01"',
    "select(.name == $t) | .value",
    '"$m/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"',
    '"https://$v.vault.azure.net/secrets/$1?api-version=7.4"',
  ]) {
    assert.ok(azure.includes(piece), `azure bootstrap lacks ${piece}`);
  }
  // Key Vault names carry a random part chosen at deploy: the VM's tag names its vault, the script does not.
  assert.match(azure, /^readonly AZURE_VAULT_TAG='wg-mesh-vault'$/m);
  assert.match(azure, /^readonly CONFIG_SECRET='wg0-conf' AGENT_SECRET='wgmesh-agent'$/m);
  assert.ok(agent.includes('"https://$vault.vault.azure.net/secrets/$SECRET?api-version=7.4"'));

  const local = renderBootstrap({ node: "lab", vault: FILE });
  assert.doesNotMatch(local.replace(/^\s*#.*$/gm, ""), /\bcurl -|^c\(\)/m, "no curl call outside comments");
  // Each bootstrap talks to its own cloud only.
  assert.doesNotMatch(aws, /googleapis|vault\.azure\.net|Metadata-Flavor/);
  assert.doesNotMatch(gcp, /amazonaws|vault\.azure\.net|169\.254\.169\.254/);
  assert.doesNotMatch(azure, /amazonaws|googleapis|Metadata-Flavor/);
});

test("credentials go to curl on stdin, never on its command line, in the bootstrap and in the agent", () => {
  for (const vault of [AWS, GCP, AZURE]) {
    const script = renderBootstrap({ node: "n", vault });
    assert.match(script, /^c\(\) \{ curl -K- /m, "curl reads its config from stdin");
    const calls = script.replace(/\\\n\s*/g, " ").split("\n").filter((l) => /(^\s*|[|(]\s*)c /.test(l));
    assert.ok(calls.length >= 2, vault.kind);
    for (const call of calls) assert.doesNotMatch(call, /--user\b|\s-u\s|-H "Authorization|-H "X-aws-ec2-metadata-token|x-amz-security-token: \$/, call);
  }
  const agent = renderAgentSyncScript("1.2.3");
  const curlLines = agent.split("\n").filter((l) => /\bcurl\b/.test(l)).join("\n");
  assert.doesNotMatch(curlLines, /--user\b|\s-u\s|-H "Authorization/, "no credential in curl's argv");
  assert.match(agent, /curl --config - /);
  // Every call feeds curl's config explicitly: the credentials, or nothing at all.
  const calls = agent.replace(/\\\n\s*/g, " ").split("\n").filter((l) => /^\s*fetch "/.test(l));
  assert.ok(calls.length >= 8);
  for (const call of calls) assert.match(call, /(<\/dev\/null|<<<"\$auth") \|\| return 1$/, call);
});

test("user data of a seed mesh node holds no key, no overlay address and no peer; the same node renders the same bytes", () => {
  const plan = planMesh(seedSpec());
  const keys = throwAwayKeys(plan);
  const configs = renderAll(plan, keys, offlineEndpoints(plan));
  const secrets = [...Object.values(keys.privateKeys), ...Object.values(keys.publicKeys)];
  let rendered = 0;
  for (const node of plan.spec.nodes) {
    const vault = vaultLocatorFor(node, "wg-mesh", "prod");
    if (!vault) continue;
    const raw = renderCloudInit({ node: node.name, vault });
    const text = expandCloudInit(raw);
    assert.ok(text.includes("get()"), "the bootstrap itself is read");
    rendered++;
    assert.equal(renderCloudInit({ node: node.name, vault }), raw, "deterministic");
    assert.doesNotMatch(text, WIREGUARD_KEY, `${node.name}: key-like material`);
    for (const key of secrets) assert.ok(!text.includes(key), `${node.name}: a mesh key is in the user data`);
    assert.ok(!text.includes(node.address), `${node.name}: its overlay address is in the user data`);
    assert.doesNotMatch(text, /^\s*(PrivateKey|PublicKey|PresharedKey|AllowedIPs|Endpoint|Address)\s*=|^\s*\[(Peer|Interface)\]/im, node.name);
    // The only IPv4 literal is the link-local metadata service.
    const literals = new Set(text.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? []);
    for (const ip of literals) assert.equal(ip, "169.254.169.254", `${node.name}: ${ip} in the user data`);
    // Its own config does hold a key: the point is that it travels by the vault instead.
    assert.match(configs[node.name] as string, WIREGUARD_KEY);
  }
  assert.ok(rendered >= 3, "the seed has AWS, GCP and Azure nodes");
});

test("the node's wgmesh command reads the agent's wgmesh-sync beside it, and is shellcheck clean with it", () => {
  assert.match(renderNodeCommand(), /^source "\$AGENT_HERE\/wgmesh-sync"$/m);
  assert.match(renderAgentSyncScript("1.2.3"), new RegExp(`^source "\\$\\{WGMESH_SYNC:-${SYNC_SCRIPT_PATH}\\}"$`, "m"));
});

test("user data is at most 4 KB on every cloud, with the longest project, stack and node names there are", () => {
  const [project, stack, node, placements] = [LONGEST_PROJECT, LONGEST_STACK, LONGEST_NODE, LONGEST_PLACEMENTS];
  for (const p of placements) {
    const text = renderCloudInit({ node, vault: vaultLocatorFor(p, project, stack) as VaultLocator });
    const bytes = Buffer.byteLength(text);
    assert.ok(bytes <= SIZE_LIMITS.bootstrapUserData.bytes, `${p.cloud}: ${bytes} bytes`);
    assert.ok((countedUserDataBytes(p.cloud as "aws", text) as number) < USER_DATA_LIMITS[p.cloud as "aws"].bytes);
    assert.equal(userDataProblem(node, p.cloud as "aws", text), undefined);
  }
});

test("AWS user data is the document as it is, which cloud-init's own reader takes; older stacks' gzip is still read", () => {
  const text = renderCloudInit({ node: "ireland", vault: AWS });
  const py = "import sys; from cloudinit.user_data import convert_string; sys.stdout.write(convert_string(sys.stdin.read().encode()).get_payload(decode=True).decode())";
  const r = spawnSync("/usr/bin/python3", ["-c", py], { input: text, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, text);
  assert.equal(documentOfAwsUserData(Buffer.from(text).toString("base64")), text);
  assert.equal(documentOfAwsUserData(gzipSync(text).toString("base64")), text);
});

test("user data over the 4 KB budget is refused in one line naming the node, its size and the limit", () => {
  const big = `#cloud-config\n# ${"x".repeat(5000)}\n`;
  for (const cloud of ["aws", "gcp", "azure"] as const) {
    assert.match(userDataProblem("ireland", cloud, big) ?? "", /^nodes\.ireland: its user data is 5,017 bytes, over wg-mesh's budget for a node's user data, the bootstrap \(4 KB\): at most 4,096 bytes; shorten the project, stack or node name$/);
  }
  assert.equal(userDataProblem("laptop", "external", big), undefined);
});

test("bad input is refused with the field and the fix", () => {
  assert.throws(() => renderBootstrap({ node: "hkg", vault: GCP, interfaceName: "wg0; rm -rf /" }), /^Error: interfaceName "wg0; rm -rf \/" is not a wg-quick interface name: use 1-15/);
  assert.throws(() => renderBootstrap({ node: "hkg", vault: GCP, interfaceName: "a-very-long-name0" }), /interfaceName/);
  assert.throws(() => renderCloudInit({ node: "hkg\nruncmd: [reboot]", vault: GCP }), /node .* without spaces or control characters/);
  assert.throws(() => renderBootstrap({ node: "x", vault: { ...AWS, region: "eu-west-1'; reboot; '" } }), /vault\.region .* AWS region code/);
  assert.throws(() => renderBootstrap({ node: "x", vault: { ...AWS, secretName: "a b" } }), /vault\.secretName/);
  assert.throws(() => renderBootstrap({ node: "x", vault: { ...AWS, agentSecretName: "a b" } }), /vault\.agentSecretName/);
  assert.throws(() => renderBootstrap({ node: "x", vault: { ...GCP, project: "$(reboot)" } }), /vault\.project/);
  assert.throws(() => renderBootstrap({ node: "x", vault: { ...GCP, secretId: "a/b" } }), /vault\.secretId/);
  assert.throws(() => renderBootstrap({ node: "x", vault: { ...AZURE, secretName: "wg0.conf" } }), /vault\.secretName/);
  assert.throws(() => renderBootstrap({ node: "x", vault: { kind: "file", path: "relative/wg0.conf", agentPath: "/a" } }), /vault\.path .* absolute path/);
});
