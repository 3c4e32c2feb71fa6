/**
 * The sync script's three vault paths for real: the generated script, real curl and jq, real
 * WireGuard, against stand-ins of the metadata services and vault APIs (tests/support/vault-standins.py)
 * inside a network namespace made here. The script keeps its production URLs; the test-only
 * WGMESH_TEST_CURLRC points their host names at the stand-ins on 198.18.0.0/15 (curl --connect-to) and
 * trusts this test's CA. The AWS request's SigV4 signature is checked by botocore in the stand-in.
 *
 * The namespace routes every address out through a veth pair that stays inside it, and its firewall accepts only
 * loopback and 198.18.0.0/15 and counts what it drops: the count must stay 0, so no packet went (or
 * tried to go) anywhere else, DNS included.
 *
 * Each path: the first run (the bootstrap, which reads the entry and the agent it names and installs
 * the agent, then the agent) brings the interface up; a later run reads the entry alone; then wrong
 * credentials, a 403, a vault that never answers, and a malformed secret each fail the run with
 * exactly one log line saying why, and leave the running interface and the installed config as they were.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_VERSION } from "../../infra/render/agent";
import { REQUIRED_PACKAGES } from "../../infra/render/sync-script";
import { agentDelivery, agentPartNames } from "../../infra/render/agent-parts";
import { vaultLocatorFor, type VaultLocator } from "../../infra/vault";
import { largeAgent } from "../support/large-agent";
import { findOnPath } from "../../lab/preflight";
import { assertNoKeyIn, config, must, sleepMs, syncTest, withBench, type Bench, type Run } from "../support/sync-bench";

const PYTHON = "/usr/bin/python3";
const STANDINS = join(__dirname, "..", "support", "vault-standins.py");
const HTTP_ADDR = "198.18.0.2";
const HTTPS_ADDR = "198.18.0.3";
const AZURE_VAULT = "wgm-lhr-0a1b2c3d";
const VAULT_HOSTS = ["secretsmanager.eu-west-1.amazonaws.com", "secretmanager.googleapis.com", `${AZURE_VAULT}.vault.azure.net`];

function toolsBlocker(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found: install python3 and python3-botocore from Debian`;
  if (spawnSync(PYTHON, ["-c", "import botocore"]).status !== 0) return "botocore not importable by /usr/bin/python3: apt-get install python3-botocore";
  for (const tool of ["openssl", "iptables", "ip6tables", "curl", "jq"]) if (!findOnPath(tool)) return `${tool} not found: bash scripts/setup.sh installs it`;
  return undefined;
}

const missing = toolsBlocker();

function vaultTest(name: string, fn: () => void): void {
  // Tools are installed by scripts/setup.sh: a missing one fails the test, it does not skip it.
  syncTest(
    name,
    () => {
      if (missing) assert.fail(missing);
      fn();
    },
    240_000,
  );
}

/** A CA of the test's own and a certificate for the three vault host names, signed by it. */
function makeCertificates(dir: string): void {
  const openssl = (args: string[]): void => {
    const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=wg-mesh test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
  openssl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=wg-mesh vault stand-in"]);
  writeFileSync(join(dir, "server.ext"), `subjectAltName=${VAULT_HOSTS.map((h) => `DNS:${h}`).join(",")}\nextendedKeyUsage=serverAuth\n`);
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"]);
}

interface Recorded {
  method: string;
  host: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  sigv4?: { verified: boolean; keyId: string; region: string; service: string; signedHeaders: string[] };
}

/** The stand-ins and the fenced namespace around one bench. */
class StandIns {
  readonly dir: string;
  readonly curlrc: string;
  private server: ChildProcess | undefined;

  constructor(private readonly bench: Bench) {
    this.dir = join(bench.dir, "standins");
    mkdirSync(this.dir);
    makeCertificates(this.dir);
    this.curlrc = join(this.dir, "curlrc");
    writeFileSync(
      this.curlrc,
      [
        `connect-to = "169.254.169.254:80:${HTTP_ADDR}:80"`,
        `connect-to = "metadata.google.internal:80:${HTTP_ADDR}:80"`,
        ...VAULT_HOSTS.map((h) => `connect-to = "${h}:443:${HTTPS_ADDR}:443"`),
        `cacert = "${join(this.dir, "ca.pem")}"`,
        // A vault that never answers fails in seconds, not the production 4 x 30 s.
        "connect-timeout = 2",
        "max-time = 3",
        "retry = 0",
        "",
      ].join("\n"),
    );
    this.scenario({});
    const ns = bench.ns;
    for (const addr of [HTTP_ADDR, HTTPS_ADDR]) must("ip", ["-n", ns, "addr", "add", `${addr}/32`, "dev", "lo"]);
    // Every destination is routable (through a veth pair whose both ends stay in this namespace), so a
    // packet meant for anywhere else reaches OUTPUT and is counted there; none can leave the namespace.
    // IPv6 off on the fence: the kernel's own link-local chatter (router solicitations, MLD) on the veths
    // would be counted; with it off, an IPv6 destination is unreachable and nothing is sent at all.
    for (const key of ["all", "default"]) must("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", `net.ipv6.conf.${key}.disable_ipv6=1`]);
    must("ip", ["-n", ns, "link", "add", "fence0", "type", "veth", "peer", "name", "fence1"]);
    for (const dev of ["fence0", "fence1"]) must("ip", ["-n", ns, "link", "set", dev, "up"]);
    must("ip", ["-n", ns, "route", "add", "default", "dev", "fence0"]);
    for (const [cmd, allowed] of [["iptables", "198.18.0.0/15"], ["ip6tables", undefined]] as const) {
      must("ip", ["netns", "exec", ns, cmd, "-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT"]);
      if (allowed) must("ip", ["netns", "exec", ns, cmd, "-A", "OUTPUT", "-d", allowed, "-j", "ACCEPT"]);
      must("ip", ["netns", "exec", ns, cmd, "-A", "OUTPUT", "-j", "DROP"]);
    }
  }

  start(): void {
    const log = openSync(join(this.dir, "server.log"), "w");
    this.server = spawn("ip", ["netns", "exec", this.bench.ns, PYTHON, STANDINS, this.dir, HTTP_ADDR, HTTPS_ADDR], { stdio: ["ignore", log, log] });
    closeSync(log);
    for (let i = 0; i < 100 && !existsSync(join(this.dir, "ready")); i++) sleepMs(100);
    assert.ok(existsSync(join(this.dir, "ready")), `the stand-ins did not start: ${readFileSync(join(this.dir, "server.log"), "utf8")}`);
    assert.equal(this.dropped(), 0, `setting up sent a packet out of bounds:\n${this.counters()}`);
  }

  stop(): void {
    if (this.server?.pid && this.server.exitCode === null) this.server.kill("SIGKILL");
  }

  scenario(s: Record<string, unknown>): void {
    writeFileSync(join(this.dir, "scenario.json"), JSON.stringify(s));
  }

  requests(): Recorded[] {
    const file = join(this.dir, "requests.jsonl");
    if (!existsSync(file)) return [];
    const all = readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Recorded);
    rmSync(file);
    return all;
  }

  /** Packets the namespace's firewall dropped: anything not to loopback or 198.18.0.0/15. */
  dropped(): number {
    let total = 0;
    for (const cmd of ["iptables", "ip6tables"]) {
      const out = must("ip", ["netns", "exec", this.bench.ns, cmd, "-L", "OUTPUT", "-v", "-n", "-x"]);
      const drop = out.split("\n").find((l) => /\sDROP\s/.test(l));
      total += Number(drop?.trim().split(/\s+/)[0] ?? "NaN");
    }
    return total;
  }

  /** The firewall's counters, for a failure message. */
  counters(): string {
    return ["iptables", "ip6tables"].map((cmd) => must("ip", ["netns", "exec", this.bench.ns, cmd, "-L", "OUTPUT", "-v", "-n", "-x"])).join("\n");
  }

  zero(): void {
    for (const cmd of ["iptables", "ip6tables"]) must("ip", ["netns", "exec", this.bench.ns, cmd, "-Z", "OUTPUT"]);
  }

  run(env: NodeJS.ProcessEnv = {}): Run {
    return this.bench.run({ WGMESH_TEST_CURLRC: this.curlrc, http_proxy: "", https_proxy: "", HTTPS_PROXY: "", HTTP_PROXY: "", ALL_PROXY: "", NO_PROXY: "", ...env });
  }
}

/** A bench with the stand-ins around it; they are stopped before the bench is torn down. */
function withStandIns(body: (b: Bench, s: StandIns) => void): void {
  withBench((b) => {
    const s = new StandIns(b);
    try {
      s.start();
      body(b, s);
    } finally {
      s.stop();
    }
  });
}

/** One line of output, and nothing else changed: the interface, its config file. */
function failsAlone(b: Bench, s: StandIns, what: string, expected: RegExp, source: RegExp): void {
  const before = b.state();
  const installed = b.installedConfig();
  const r = s.run();
  assert.notEqual(r.code, 0, `${what}: the run must fail`);
  const lines = r.output.trim().split("\n");
  assert.equal(lines.length, 1, `${what}: one log line, got:\n${r.output}`);
  assert.match(lines[0] ?? "", expected, what);
  assert.match(lines[0] ?? "", source, `${what}: names where the config comes from`);
  assert.match(lines[0] ?? "", /; \S+ keeps its current config$/, what);
  assertNoKeyIn(r.output, b);
  assert.deepEqual(b.state(), before, `${what}: the interface changed`);
  assert.equal(b.installedConfig(), installed, `${what}: the installed config changed`);
}


interface VaultPath {
  vault: VaultLocator;
  /** The scenario's key for this cloud in the stand-ins. */
  cloud: "aws" | "gcp" | "azure";
  source: RegExp;
  failures: [what: string, scenario: Record<string, unknown>, why: RegExp][];
}

const TIMEOUT = /: no answer \(curl error 28: Operation timed out after \d+ milliseconds with 0 bytes received\)/;

const PATHS: VaultPath[] = [
  {
    cloud: "aws",
    vault: vaultLocatorFor({ name: "ireland", cloud: "aws", aws: { region: "eu-west-1" } }, "wg-mesh", "lab") as VaultLocator,
    source: /AWS Secrets Manager secret wg-mesh\/lab\/ireland\/wg0\.conf \(eu-west-1\)/,
    failures: [
      ["an access key AWS does not know", { credentials: "unknown-key" }, /HTTP 400 \(UnrecognizedClientException: The security token included in the request is invalid\.\)/],
      ["a wrong secret key (the signature does not verify)", { credentials: "wrong-secret" }, /HTTP 400 \(InvalidSignatureException: The request signature we calculated does not match/],
      [
        "a 403",
        { mode: "status", status: 403, body: { __type: "AccessDeniedException", Message: "User: arn:aws:sts::123456789012:assumed-role/wgmesh-ireland/i-0abc is not authorized to perform: secretsmanager:GetSecretValue" } },
        /HTTP 403 \(AccessDeniedException: User: \S+ is not authorized to perform: secretsmanager:GetSecretValue\): the instance role needs secretsmanager:GetSecretValue on wg-mesh\/lab\/ireland\/wg0\.conf;/,
      ],
      ["a vault that never answers", { mode: "hang" }, TIMEOUT],
      ["an answer that is not the API's", { mode: "raw", raw: "<html>502 Bad Gateway</html>" }, /GetSecretValue wg-mesh\/lab\/ireland\/wg0\.conf answered no SecretString;/],
      ["a secret that is not an entry", { secret: "wg0.conf goes here\n" }, /^refused the entry in AWS Secrets Manager secret \S+ \(eu-west-1\): it has none of the #@wgmesh lines that seal an entry/],
    ],
  },
  {
    cloud: "gcp",
    vault: vaultLocatorFor({ name: "hkg", cloud: "gcp", gcp: { project: "edgeproxy-lab" } }, "wg-mesh", "lab") as VaultLocator,
    source: /GCP Secret Manager secret wg-mesh-lab-hkg-wg0 \(project edgeproxy-lab\)/,
    failures: [
      ["a token Secret Manager does not take", { token: "revoked" }, /HTTP 401 \(UNAUTHENTICATED: Request had invalid authentication credentials\. .*\): the VM's service account needs roles\/secretmanager\.secretAccessor/],
      [
        "a 403",
        { mode: "status", status: 403, body: { error: { code: 403, status: "PERMISSION_DENIED", message: "Permission 'secretmanager.versions.access' denied for resource 'projects/edgeproxy-lab/secrets/wg-mesh-lab-hkg-wg0/versions/latest'" } } },
        /HTTP 403 \(PERMISSION_DENIED: Permission 'secretmanager\.versions\.access' denied/,
      ],
      ["a vault that never answers", { mode: "hang" }, TIMEOUT],
      ["a payload that is not base64", { mode: "raw", raw: JSON.stringify({ payload: { data: "%%% not base64 %%%" } }) }, /secret wg-mesh-lab-hkg-wg0 answered no base64 payload\.data;/],
      ["a secret that is not an entry", { secret: "[Interface]\nAddress = 10.50.5.1/24\n" }, /^refused the entry in GCP Secret Manager secret \S+ \(project edgeproxy-lab\): it has none of the #@wgmesh lines/],
    ],
  },
  {
    cloud: "azure",
    vault: vaultLocatorFor({ name: "lhr", cloud: "azure" }, "wg-mesh", "lab") as VaultLocator,
    source: /Azure Key Vault secret wg0-conf in the vault this VM's tag wg-mesh-vault names/,
    failures: [
      ["a token for another audience", { token: "wrong" }, /HTTP 401 \(Unauthorized: AKV10022: Invalid audience\..*\): the VM's managed identity needs Get on secrets in that Key Vault/],
      [
        "a 403",
        { mode: "status", status: 403, body: { error: { code: "Forbidden", message: `The user, group or application 'appid=0000;oid=1111' does not have secrets get permission on key vault '${AZURE_VAULT};location=uksouth'.` } } },
        /HTTP 403 \(Forbidden: The user, group or application .* does not have secrets get permission/,
      ],
      ["a VM without its vault tag", { vault: "" }, /: this VM's tag wg-mesh-vault names no Key Vault;/],
      ["a vault that never answers", { mode: "hang" }, TIMEOUT],
      ["an answer without a value", { mode: "raw", raw: JSON.stringify({ id: "https://x/secrets/wg0-conf" }) }, new RegExp(`Key Vault ${AZURE_VAULT} answered no value;`)],
      ["an empty secret", { secret: "" }, /^refused the entry in Azure Key Vault secret wg0-conf .*: it has none of the #@wgmesh lines/],
    ],
  },
];

function checkGoodRequests(cloud: VaultPath["cloud"], requests: Recorded[]): void {
  const urls = requests.map((r) => `${r.method} ${r.host}${r.path}`);
  if (cloud === "aws") {
    assert.deepEqual(urls, [
      "PUT 169.254.169.254/latest/api/token",
      "GET 169.254.169.254/latest/meta-data/iam/security-credentials/",
      "GET 169.254.169.254/latest/meta-data/iam/security-credentials/wgmesh-ireland",
      "POST secretsmanager.eu-west-1.amazonaws.com/",
    ]);
    const get = requests[3] as Recorded;
    // botocore, not curl, decided this: the signature verifies with the role's secret key.
    assert.equal(get.sigv4?.verified, true, JSON.stringify(get.sigv4));
    assert.deepEqual([get.sigv4?.region, get.sigv4?.service], ["eu-west-1", "secretsmanager"]);
    for (const h of ["host", "x-amz-date", "x-amz-target", "content-type"]) assert.ok(get.sigv4?.signedHeaders.includes(h), `${h} is signed: ${get.sigv4?.signedHeaders.join(";")}`);
    assert.deepEqual(JSON.parse(get.body), { SecretId: "wg-mesh/lab/ireland/wg0.conf" });
    assert.equal(get.headers["X-Amz-Target"], "secretsmanager.GetSecretValue");
  } else if (cloud === "gcp") {
    assert.deepEqual(urls, [
      "GET metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
      "GET secretmanager.googleapis.com/v1/projects/edgeproxy-lab/secrets/wg-mesh-lab-hkg-wg0/versions/latest:access",
    ]);
  } else {
    assert.deepEqual(urls, [
      "GET 169.254.169.254/metadata/instance/compute/tagsList?api-version=2021-02-01",
      "GET 169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net",
      `GET ${AZURE_VAULT}.vault.azure.net/secrets/wg0-conf?api-version=7.4`,
    ]);
  }
}

/** The names of the secrets a run asked its vault for, in order. */
function secretsAsked(requests: ReturnType<StandIns["requests"]>): string[] {
  return requests
    .filter((r) => !r.host.startsWith("169.254.") && r.host !== "metadata.google.internal")
    .map((r) => (r.body ? (JSON.parse(r.body) as { SecretId: string }).SecretId : (/\/secrets\/([^/?]+)/.exec(r.path)?.[1] ?? r.path)));
}

/** The cloud's names for the node's two secrets. */
function secretNames(vault: VaultLocator): [config: string, agent: string] {
  switch (vault.kind) {
    case "aws-secretsmanager":
      return [vault.secretName, vault.agentSecretName];
    case "gcp-secretmanager":
      return [vault.secretId, vault.agentSecretId];
    case "azure-keyvault":
      return [vault.secretName, vault.agentSecretName];
    default:
      throw new Error("no cloud vault");
  }
}

for (const path of PATHS) {
  vaultTest(`${path.cloud}: the real bootstrap and agent, curl and jq fetch the entry and the agent through the stand-ins and bring the interface up; every failure leaves it alone with one line; no packet leaves 198.18.0.0/15`, () => {
    withStandIns((b, s) => {
      // The fence works: a request to the real metadata address is dropped and counted.
      const probe = spawnSync("ip", ["netns", "exec", b.ns, "curl", "-sS", "--max-time", "2", "http://169.254.169.254/"], { encoding: "utf8" });
      assert.notEqual(probe.status, 0);
      assert.ok(s.dropped() > 0, "the probe was counted");
      s.zero();

      b.useVault(path.vault);
      const [configName, agentName] = secretNames(path.vault);
      const serve = (conf: string, extra: Record<string, unknown> = {}): void =>
        s.scenario({ [path.cloud]: { secrets: { [configName]: b.entry(conf), [agentName]: b.agent.value }, ...extra } });
      serve(config(b, { port: 51910 }));
      const up = s.run();
      assert.equal(up.code, 0, up.output);
      assertNoKeyIn(up.output, b);
      assert.equal(b.state().listenPort, 51910);
      assert.equal(b.installedConfig(), config(b, { port: 51910 }));
      assert.equal(b.agentVersion(), AGENT_VERSION);
      // The bootstrap reads the entry and the agent it names; the agent reads the entry.
      const first = s.requests().filter((r) => !r.host.startsWith("169.254.") && r.host !== "metadata.google.internal");
      assert.deepEqual(secretsAsked(first), [configName, agentName, configName]);
      if (path.cloud === "aws") for (const r of first) assert.equal(r.sigv4?.verified, true, JSON.stringify(r.sigv4));

      // A later run reads the entry alone, and applies what changed.
      const conf = config(b, { port: 51920 });
      serve(conf);
      const later = s.run();
      assert.equal(later.code, 0, later.output);
      assert.equal(b.state().listenPort, 51920);
      checkGoodRequests(path.cloud, s.requests());

      for (const [what, scenario, why] of path.failures) {
        serve(conf, scenario);
        if ("secret" in scenario) s.scenario({ [path.cloud]: scenario });
        failsAlone(b, s, what, why, path.source);
        s.requests();
      }

      // The agent in two parts (infra/render/agent-parts.ts), as this cloud's vault holds one too large
      // for a secret: the running agent fetches both by name, joins them and moves to it; a new node's
      // bootstrap does the same, and without part 2 installs nothing and tries again next run.
      const next = largeAgent("0.99.0", path.cloud === "azure" ? 30_000 : 70_000);
      b.vaultCloud = path.cloud;
      const parts = agentDelivery(next, path.cloud).values;
      assert.equal(parts.length, 2);
      const partNames = agentPartNames(agentName, 2);
      const serveParts = (conf: string, served: number[]): void =>
        s.scenario({ [path.cloud]: { secrets: { [configName]: b.entry(conf, {}, next), ...Object.fromEntries(served.map((i) => [partNames[i - 1], parts[i - 1]])) } } });
      const askedAgent = (): string[] => secretsAsked(s.requests()).filter((n) => n !== configName);
      serveParts(config(b, { port: 51921 }), [1, 2]);
      s.requests();
      const moved = s.run();
      assert.equal(moved.code, 0, moved.output);
      assert.equal(b.agentVersion(), "0.99.0");
      assert.equal(b.state().listenPort, 51921);
      assert.deepEqual(askedAgent(), partNames);
      rmSync(b.lib, { recursive: true, force: true });
      serveParts(config(b, { port: 51922 }), [1]);
      const short = s.run();
      assert.notEqual(short.code, 0, short.output);
      assert.equal(b.agentVersion(), undefined, "no agent from part 1 alone");
      assert.deepEqual(askedAgent(), partNames, "part 2 asked for, and not there");
      serveParts(config(b, { port: 51922 }), [1, 2]);
      const fresh = s.run();
      assert.equal(fresh.code, 0, fresh.output);
      assert.equal(b.agentVersion(), "0.99.0");
      assert.equal(b.state().listenPort, 51922);
      assert.deepEqual(askedAgent(), partNames);
      assert.equal(s.dropped(), 0, `a packet went somewhere other than loopback and 198.18.0.0/15:\n${s.counters()}`);
    });
  });
}

vaultTest("a package the first boot failed to install is installed by the next run, by the bootstrap and by the agent alike; a failed run says why", () => {
  withStandIns((b, s) => {
    // A PATH with every tool of this machine but jq, and an apt-get that fails once (a mirror hiccup), then installs it.
    const bin = join(b.dir, "bin");
    mkdirSync(bin);
    for (const tool of readdirSync("/usr/bin")) if (tool !== "jq" && tool !== "apt-get") symlinkSync(join("/usr/bin", tool), join(bin, tool));
    const calls = join(b.dir, "apt-calls");
    writeFileSync(
      join(bin, "apt-get"),
      `#!/bin/bash\nprintf '%s\\n' "$*" >>${JSON.stringify(calls)}\nif [[ ! -e ${JSON.stringify(`${calls}.failed`)} ]]; then touch ${JSON.stringify(`${calls}.failed`)}; echo "E: Failed to fetch http://archive.ubuntu.com/ubuntu/dists/noble/InRelease  Temporary failure resolving 'archive.ubuntu.com'" >&2; exit 100; fi\nif [[ " $* " == *" install "* ]]; then ln -sf /usr/bin/jq ${JSON.stringify(join(bin, "jq"))}; fi\n`,
      { mode: 0o755 },
    );
    const env = { PATH: `${bin}:/usr/sbin:/sbin` };
    const aptCalls = (): string[] => readFileSync(calls, "utf8").trim().split("\n");
    const vault = vaultLocatorFor({ name: "ireland", cloud: "aws", aws: { region: "eu-west-1" } }, "wg-mesh", "lab") as Extract<VaultLocator, { kind: "aws-secretsmanager" }>;
    b.useVault(vault);
    const serve = (conf: string): void => s.scenario({ aws: { secrets: { [vault.secretName]: b.entry(conf), [vault.agentSecretName]: b.agent.value } } });
    serve(config(b, { port: 51911 }));

    // First boot: the bootstrap, whose apt failed, says apt's own line and fetches nothing.
    const failed = s.run(env);
    assert.notEqual(failed.code, 0);
    assert.match(failed.output, /E: Failed to fetch .*Temporary failure resolving 'archive\.ubuntu\.com'/);
    assert.deepEqual(s.requests(), [], "nothing fetched without the tools");
    assert.equal(b.installedConfig(), undefined);
    assert.equal(b.agentVersion(), undefined);

    const recovered = s.run(env);
    assert.equal(recovered.code, 0, recovered.output);
    assert.equal(b.agentVersion(), AGENT_VERSION);
    assert.equal(b.state().listenPort, 51911);
    assert.deepEqual(aptCalls(), ["-qq update", "-qq update", `-qq install -y --no-install-recommends ${REQUIRED_PACKAGES.join(" ")}`]);

    // Later the agent finds a tool missing (a newer agent may need a new one): it installs what is
    // missing, and a failed apt fails the run with one line.
    rmSync(join(bin, "jq"));
    rmSync(`${calls}.failed`);
    rmSync(calls);
    s.requests();
    serve(config(b, { port: 51912 }));
    const agentFailed = s.run(env);
    assert.notEqual(agentFailed.code, 0);
    assert.equal(agentFailed.output.trim().split("\n").length, 1, agentFailed.output);
    assert.match(agentFailed.output.trim(), /^apt-get could not install jq: E: Failed to fetch .*Temporary failure resolving 'archive\.ubuntu\.com'; \S+ is left as it is and the next run tries again$/);
    assert.deepEqual(s.requests(), [], "nothing fetched without the tools");
    const agentRecovered = s.run(env);
    assert.equal(agentRecovered.code, 0, agentRecovered.output);
    assert.match(agentRecovered.output, /^installed jq, which the first boot left out$/m);
    assert.equal(b.state().listenPort, 51912);
    assert.deepEqual(aptCalls(), ["-qq -o DPkg::Lock::Timeout=120 update", "-qq -o DPkg::Lock::Timeout=120 update", "-qq -o DPkg::Lock::Timeout=120 install -y --no-install-recommends jq"]);
    // With everything there, apt is not called again.
    serve(config(b, { port: 51913 }));
    assert.equal(s.run(env).code, 0);
    assert.equal(aptCalls().length, 3);
    assert.equal(s.dropped(), 0, s.counters());
  });
});
