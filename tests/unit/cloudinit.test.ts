/** User data and the sync script: what they contain, what they never contain, and shellcheck. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { parse } from "yaml";
import { cloudInitFiles, CLOUD_INIT_PACKAGES, expandCloudInit, renderCloudInit } from "../../infra/render/cloudinit";
import { countedUserDataBytes, USER_DATA_LIMITS, userDataProblem } from "../../infra/render/user-data-limits";
import { awsUserDataBase64, documentOfAwsUserData } from "../../infra/render/user-data";
import { fillTemplate, renderSyncScript, SYNC_SCRIPT_PATH, SYNC_TEMPLATE_PATH } from "../../infra/render/sync-script";
import { DOCTOR_TEMPLATE_PATH, NODE_COMMAND_PATH, renderNodeCommand, shippedNodeCommand, shippedSyncScript } from "../../infra/render/node-command";
import { planMesh } from "../../infra/plan";
import { renderAll, throwAwayKeys, offlineEndpoints } from "../../infra/render/mesh";
import { vaultLocatorFor, type VaultLocator } from "../../infra/vault";
import { findOnPath } from "../../lab/preflight";
import { seedSpec } from "../support/seed-spec";

const AWS: VaultLocator = { kind: "aws-secretsmanager", region: "eu-west-1", secretName: "wg-mesh/prod/ireland/wg0.conf" };
const GCP: VaultLocator = { kind: "gcp-secretmanager", project: "edgeproxy-prod", secretId: "wg-mesh-prod-hkg-wg0" };
const AZURE: VaultLocator = { kind: "azure-keyvault", secretName: "wg0-conf" };
const FILE: VaultLocator = { kind: "file", path: "/srv/lab it's/wg0.conf" };
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

test("user data is #cloud-config YAML installing the packages, the script, the service and the timer", () => {
  for (const [kind, vault] of Object.entries(ALL)) {
    const text = renderCloudInit({ node: "hkg", vault });
    assert.equal(text.split("\n")[0], "#cloud-config", kind);
    const doc = parsed(text);
    assert.equal(doc.package_update, true);
    assert.deepEqual(doc.packages, [...CLOUD_INIT_PACKAGES]);
    // iptables: a transit node's PostUp runs it, and any node may become one without a new VM.
    assert.deepEqual([...CLOUD_INIT_PACKAGES].sort(), ["curl", "iptables", "jq", "wireguard-tools"]);

    const script = file(doc, SYNC_SCRIPT_PATH);
    assert.equal(script.permissions, "0755");
    assert.equal(script.owner, undefined, "root:root is cloud-init's default: not said again");
    assert.equal(script.encoding, undefined, "plain text: AWS gets the whole document compressed");
    assert.equal(cloudInitFiles(text).find((f) => f.path === SYNC_SCRIPT_PATH)?.content, shippedSyncScript({ node: "hkg", vault }), `${kind}: the script survives YAML unchanged`);

    const command = file(doc, NODE_COMMAND_PATH);
    assert.equal(command.permissions, "0755");
    assert.equal(cloudInitFiles(text).find((f) => f.path === NODE_COMMAND_PATH)?.content, shippedNodeCommand(), `${kind}: the node's wgmesh command, as the lab runs it`);

    const service = file(doc, "/etc/systemd/system/wgmesh-sync.service").content;
    assert.match(service, /^Type=oneshot$/m);
    assert.match(service, new RegExp(`^ExecStart=${SYNC_SCRIPT_PATH}$`, "m"));
    assert.match(service, /^After=network-online\.target$/m);

    const timer = file(doc, "/etc/systemd/system/wgmesh-sync.timer").content;
    assert.match(timer, /^OnBootSec=\S+$/m);
    assert.match(timer, /^OnUnitActiveSec=1min$/m);
    assert.match(timer, /^WantedBy=timers\.target$/m);

    assert.deepEqual(doc.runcmd.slice(0, 2), ["systemctl daemon-reload", "systemctl enable --now wgmesh-sync.timer"]);
  }
});

test("the interface name is baked in and defaults to wg0", () => {
  const byDefault = renderSyncScript({ node: "hkg", vault: GCP });
  assert.match(byDefault, /^readonly IFACE='wg0'$/m);
  const custom = renderSyncScript({ node: "hkg", vault: GCP, interfaceName: "wgsync-01" });
  assert.match(custom, /^readonly IFACE='wgsync-01'$/m);
  assert.match(renderCloudInit({ node: "hkg", vault: GCP, interfaceName: "wgsync-01" }), /keeps wgsync-01 in step/);
});

test("the template wgmesh-sync.sh is a real bash file, shellcheck clean as it stands", () => {
  const shellcheck: string | undefined = findOnPath("shellcheck");
  if (!shellcheck) assert.fail("shellcheck not found: install it (scripts/setup.sh does)");
  const r = spawnSync(shellcheck, ["--shell=bash", "--severity=style", SYNC_TEMPLATE_PATH], { encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

test("a rendered script keeps its own vault's fetch code only, with every value filled in and quoted", () => {
  for (const [kind, vault] of Object.entries(ALL)) {
    const script = renderSyncScript({ node: "hkg", vault });
    assert.doesNotMatch(script, /=@[A-Z_]+@|^#@/m, `${kind}: no placeholder or block marker left`);
    assert.equal(script.match(/^fetch_config\(\) \{$/gm)?.length, 1, `${kind}: one fetch_config`);
    assert.equal(/^fetch\(\) \{$/m.test(script), kind !== "file", `${kind}: the curl helper only for cloud vaults`);
  }
  assert.match(renderSyncScript({ node: "lab", vault: FILE }), /^readonly SOURCE_FILE='\/srv\/lab it'\\''s\/wg0.conf'$/m);
});

test("the template and its values cannot drift apart: a missing or unused value is refused", () => {
  const template = "#!/bin/bash\nreadonly A=@A@\n#@vault x\nreadonly B=@B@\n#@end\n";
  assert.equal(fillTemplate(template, "x", { A: "1", B: "it's" }), "#!/bin/bash\nreadonly A='1'\nreadonly B='it'\\''s'\n");
  assert.equal(fillTemplate(template, "y", { A: "1" }), "#!/bin/bash\nreadonly A='1'\n");
  assert.throws(() => fillTemplate(template, "x", { A: "1" }), /no value for @B@/);
  assert.throws(() => fillTemplate(template, "y", { A: "1", B: "2" }), /no @B@ in the kept text/);
  assert.throws(() => fillTemplate("#@vault x\n", "x", {}), /never closed/);
});

test("the script is shellcheck clean for every vault kind", () => {
  const shellcheck: string | undefined = findOnPath("shellcheck");
  if (!shellcheck) assert.fail("shellcheck not found: install it (scripts/setup.sh does)");
  for (const [kind, vault] of Object.entries(ALL)) {
    const r: SpawnSyncReturns<string> = spawnSync(shellcheck, ["--shell=bash", "--severity=style", "-"], { input: renderSyncScript({ node: "hkg", vault }), encoding: "utf8" });
    assert.equal(r.status, 0, `${kind}:\n${r.stdout}${r.stderr}`);
  }
});

test("each vault kind fetches from its own API, with the documented URLs and headers", () => {
  const aws = renderSyncScript({ node: "ireland", vault: AWS });
  for (const piece of [
    "-X PUT",
    "'X-aws-ec2-metadata-token-ttl-seconds: 300' \"$imds/api/token\"",
    '"X-aws-ec2-metadata-token: "',
    '"$imds/meta-data/iam/security-credentials/$role"',
    '--aws-sigv4 "aws:amz:$AWS_REGION:secretsmanager"',
    "-H 'X-Amz-Target: secretsmanager.GetSecretValue' -H 'Content-Type: application/x-amz-json-1.1'",
    '"x-amz-security-token: "',
    '"user = \\((.AccessKeyId // error) + ":" + (.SecretAccessKey // error)',
    "'{SecretId: $id}'",
    '"https://secretsmanager.$AWS_REGION.amazonaws.com/"',
    ".SecretString // error",
  ]) {
    assert.ok(aws.includes(piece), `aws script lacks ${piece}`);
  }
  assert.match(aws, /^readonly AWS_REGION='eu-west-1' AWS_SECRET_ID='wg-mesh\/prod\/ireland\/wg0\.conf'$/m);
  assert.ok(aws.includes("local imds=http://169.254.169.254/latest "));

  const gcp = renderSyncScript({ node: "hkg", vault: GCP });
  for (const piece of [
    "-H 'Metadata-Flavor: Google'",
    "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
    '"Authorization: Bearer " + (.access_token // error)',
    '"https://secretmanager.googleapis.com/v1/projects/$GCP_PROJECT/secrets/$GCP_SECRET_ID/versions/latest:access"',
    "'.payload.data // error'",
    "base64 -d",
  ]) {
    assert.ok(gcp.includes(piece), `gcp script lacks ${piece}`);
  }
  assert.match(gcp, /^readonly GCP_PROJECT='edgeproxy-prod' GCP_SECRET_ID='wg-mesh-prod-hkg-wg0'$/m);

  const azure = renderSyncScript({ node: "lhr", vault: AZURE });
  for (const piece of [
    "-H 'Metadata: true'",
    "local auth vault imds=http://169.254.169.254/metadata",
    '"$imds/instance/compute/tagsList?api-version=2021-02-01"',
    "select(.name == $tag) | .value",
    '"$imds/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"',
    '"Authorization: Bearer " + (.access_token // error)',
    '"https://$vault.vault.azure.net/secrets/$AZURE_SECRET?api-version=7.4"',
    "'.value // error'",
  ]) {
    assert.ok(azure.includes(piece), `azure script lacks ${piece}`);
  }
  // Key Vault names carry a random part chosen at deploy: the VM's tag names its vault, the script does not.
  assert.match(azure, /^readonly AZURE_VAULT_TAG='wg-mesh-vault' AZURE_SECRET='wg0-conf'$/m);

  const local = renderSyncScript({ node: "lab", vault: FILE });
  assert.match(local, /^readonly SOURCE_FILE='\/srv\/lab it'\\''s\/wg0\.conf'$/m, "a quote in the path is shell-quoted");
  assert.doesNotMatch(local.replace(/^\s*#.*$/gm, ""), /\bcurl\b/, "no curl call outside comments");

  // Each script talks to its own cloud only.
  assert.doesNotMatch(aws, /googleapis|vault\.azure\.net|Metadata-Flavor/);
  assert.doesNotMatch(gcp, /amazonaws|vault\.azure\.net|169\.254\.169\.254/);
  assert.doesNotMatch(azure, /amazonaws|googleapis|Metadata-Flavor/);
});

test("credentials go to curl on stdin, never on its command line", () => {
  for (const vault of [AWS, GCP, AZURE]) {
    const script = renderSyncScript({ node: "n", vault });
    const curlLines = script.split("\n").filter((l) => /\bcurl\b/.test(l)).join("\n");
    assert.doesNotMatch(curlLines, /--user\b|\s-u\s|-H "Authorization/, "no credential in curl's argv");
    assert.match(script, /curl --config - /);
    // Every call feeds curl's config explicitly: the credentials, or nothing at all.
    const calls = script.replace(/\\\n\s*/g, " ").split("\n").filter((l) => /^\s*fetch "/.test(l));
    assert.ok(calls.length >= 2, vault.kind);
    for (const call of calls) assert.match(call, /(<\/dev\/null|<<<"\$auth") \|\| return 1$/, call);
  }
});

test("user data of a seed mesh node holds no key, no overlay address and no peer, its script decoded; the same node renders the same bytes", () => {
  const plan = planMesh(seedSpec());
  const keys = throwAwayKeys(plan);
  const configs = renderAll(plan, keys, offlineEndpoints(plan));
  const secrets = [...Object.values(keys.privateKeys), ...Object.values(keys.publicKeys)];
  let rendered = 0;
  for (const node of plan.spec.nodes) {
    const vault = vaultLocatorFor(node, "wg-mesh", "prod");
    if (!vault) continue;
    const raw = renderCloudInit({ node: node.name, vault });
    // Compressed text hides what it holds: read it as cloud-init will write it.
    const text = expandCloudInit(raw);
    assert.ok(text.includes("fetch_config()"), "the script itself is read");
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

test("the node's wgmesh command reads the sync script from where cloud-init puts it, and is shellcheck clean with it", () => {
  assert.match(renderNodeCommand(), new RegExp(`^source "\\$\\{WGMESH_SYNC:-${SYNC_SCRIPT_PATH}\\}"$`, "m"));
  const shellcheck: string | undefined = findOnPath("shellcheck");
  if (!shellcheck) assert.fail("shellcheck not found: install it (scripts/setup.sh does)");
  const r = spawnSync(shellcheck, ["--shell=bash", "--severity=style", "--external-sources", DOCTOR_TEMPLATE_PATH], { encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

test("user data stays well under every cloud's limit with the longest project, stack and node names", () => {
  // Pulumi allows project and stack names of 100 characters; node names are at most 24.
  const project = `p${"r".repeat(98)}j`;
  const stack = `s${"t".repeat(98)}k`;
  const node = `n${"o".repeat(22)}d`;
  const long: [keyof typeof USER_DATA_LIMITS, VaultLocator][] = [
    ["aws", { kind: "aws-secretsmanager", region: "ap-southeast-4", secretName: `${project}/${stack}/${node}/wg0.conf` }],
    ["gcp", { kind: "gcp-secretmanager", project: `a${"b".repeat(28)}c`, secretId: `${project}-${stack}-${node}-wg0` }],
    ["azure", { kind: "azure-keyvault", secretName: "wg0-conf" }],
  ];
  for (const [cloud, vault] of long) {
    const text = renderCloudInit({ node, vault, interfaceName: "wg-mesh-transit" });
    const counted = countedUserDataBytes(cloud, text) as number;
    const limit = USER_DATA_LIMITS[cloud].bytes;
    // At least 3 KB of each limit to spare: room for the scripts to grow.
    assert.ok(counted < limit - 3 * 1024, `${cloud}: ${counted} of ${limit} bytes`);
    assert.equal(userDataProblem(node, cloud, text), undefined);
  }
});

test("AWS user data is the document gzip-compressed, and cloud-init's own reader gives the document back", () => {
  const text = renderCloudInit({ node: "ireland", vault: AWS });
  const packed = awsUserDataBase64(text);
  assert.equal(awsUserDataBase64(text), packed, "the same bytes every time");
  assert.equal(documentOfAwsUserData(packed), text);
  // cloud-init (installed from Debian here) reads user data with convert_string, which unpacks gzip.
  const py = "import base64,sys; from cloudinit.user_data import convert_string; sys.stdout.write(convert_string(base64.b64decode(sys.stdin.read())).get_payload(decode=True).decode())";
  const r = spawnSync("/usr/bin/python3", ["-c", py], { input: packed, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, text);
});

test("user data over a cloud's limit is refused in one line naming the node, its size and the limit", () => {
  // Text that does not compress (hex of a hash chain), as AWS counts the compressed bytes.
  let noise = "";
  for (let h = "seed"; noise.length < 40_000; ) noise += h = createHash("sha256").update(h).digest("hex");
  const big = `#cloud-config\n# ${noise}\n`;
  assert.match(
    userDataProblem("ireland", "aws", big) ?? "",
    /^nodes\.ireland: its user data is \d\d,\d{3} bytes gzip-compressed, over AWS user data \(16 KB\): at most 16,384 bytes; shorten the project, stack or node name$/,
  );
  assert.equal(userDataProblem("ireland", "aws", `#cloud-config\n# ${"x".repeat(40_000)}\n`), undefined, "what compresses fits");
  assert.equal(userDataProblem("ireland", "gcp", big), undefined, "GCP takes 256 KB");
  const azure = `#cloud-config\n# ${"x".repeat(49_200)}\n`;
  assert.match(userDataProblem("lhr", "azure", azure) ?? "", /^nodes\.lhr: its user data is 65,624 bytes base64-encoded, over Azure custom data \(64 KB, base64\): at most 65,536 bytes;/);
  assert.equal(userDataProblem("laptop", "external", big), undefined);
});

test("bad input is refused with the field and the fix", () => {
  assert.throws(() => renderSyncScript({ node: "hkg", vault: GCP, interfaceName: "wg0; rm -rf /" }), /^Error: interfaceName "wg0; rm -rf \/" is not a wg-quick interface name: use 1-15/);
  assert.throws(() => renderSyncScript({ node: "hkg", vault: GCP, interfaceName: "a-very-long-name0" }), /interfaceName/);
  assert.throws(() => renderCloudInit({ node: "hkg\nruncmd: [reboot]", vault: GCP }), /node .* without control characters/);
  assert.throws(() => renderSyncScript({ node: "x", vault: { ...AWS, region: "eu-west-1'; reboot; '" } }), /vault\.region .* AWS region code/);
  assert.throws(() => renderSyncScript({ node: "x", vault: { ...AWS, secretName: "a b" } }), /vault\.secretName/);
  assert.throws(() => renderSyncScript({ node: "x", vault: { ...GCP, project: "$(reboot)" } }), /vault\.project/);
  assert.throws(() => renderSyncScript({ node: "x", vault: { ...GCP, secretId: "a/b" } }), /vault\.secretId/);
  assert.throws(() => renderSyncScript({ node: "x", vault: { ...AZURE, secretName: "wg0.conf" } }), /vault\.secretName/);
  assert.throws(() => renderSyncScript({ node: "x", vault: { kind: "file", path: "relative/wg0.conf" } }), /vault\.path .* absolute path/);
});
