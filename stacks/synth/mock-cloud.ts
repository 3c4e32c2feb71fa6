/**
 * A stand-in for the clouds and the Pulumi engine: every resource gets plausible outputs
 * (IDs, ARNs, public IPs, service account emails, managed identities) derived from the stack
 * and the resource's name alone, so two runs of one stack agree and two stacks never collide.
 * RandomBytes gets real-looking bytes from the same hash, so keys derive and can be searched for.
 * Where a cloud refuses what a mock would accept and the program must cope (Key Vault names taken
 * anywhere in Azure, soft-deleted ones included), the mock refuses it too.
 */
import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { formatIPv4, parseIPv4 } from "../../infra/cidr";
import { privateKeyFromBytes } from "../../infra/keys";

type State = Record<string, unknown>;

export interface MockCloudOptions {
  stack: string;
  /** Other stacks' outputs by the name a StackReference uses. */
  stackOutputs?: Readonly<Record<string, Record<string, unknown>>>;
  /** A reference to a stack not in stackOutputs: fail as Pulumi does ("fail"), or find it without outputs ("empty"). */
  unknownStacks?: "fail" | "empty";
  /** AWS regions whose default VPC was deleted. */
  noDefaultVpc?: readonly string[];
  /** Whether the run is a preview (set by runUnderMocks). */
  preview?: boolean;
  /**
   * A preview against existing state: the resources (by type and name, see `stateKey`) the stack already
   * has. They answer with the outputs they have; every other resource is to be created, so its computed
   * outputs are unknown, as in `pulumi preview`.
   */
  existing?: ReadonlySet<string>;
  /**
   * What the random resources (keys, vault name suffixes) draw from: a stack created anew (another
   * organisation's stack of the same name, or this one after a destroy) gets new values.
   */
  seed?: string;
  /** All of Azure's Key Vault names, shared by the runs of a test that play several deployments. */
  azureVaults?: AzureVaultNames;
}

/**
 * Key Vault names as Azure keeps them: unique across every subscription, and a deleted vault keeps its
 * name for its retention period unless it is purged (the provider purges on destroy by default, given
 * the purge permission).
 */
export class AzureVaultNames {
  readonly active = new Map<string, string>();
  readonly softDeleted = new Map<string, string>();

  create(name: string, owner: string): void {
    if (this.active.has(name)) throw new Error(`VaultAlreadyExists: the vault name '${name}' is already in use (by ${this.active.get(name)})`);
    if (this.softDeleted.has(name)) {
      // The provider recovers a soft-deleted vault of the same name, with its old access policies and
      // secret, which the stack's AccessPolicy and Secret then fail to create ("already exists").
      throw new Error(`a soft-deleted vault named '${name}' exists (from ${this.softDeleted.get(name)}); recovered, its access policy for the deployer "already exists - needs to be imported"`);
    }
    this.active.set(name, owner);
  }

  /** `pulumi destroy` of every vault `owner` holds: purged, or soft-deleted when purging is not allowed. */
  destroy(owner: string, purge: boolean): void {
    for (const [name, who] of [...this.active]) {
      if (who !== owner) continue;
      this.active.delete(name);
      if (!purge) this.softDeleted.set(name, owner);
    }
  }
}

/** How `existing` names a resource. */
export function stateKey(type: string, name: string): string {
  return `${type}::${name}`;
}

export const ACCOUNT_ID = "123456789012";
export const AZURE_TENANT = "00000000-0000-4000-8000-0000000000aa";
export const AZURE_DEPLOYER = "00000000-0000-4000-8000-0000000000bb";
export const MOCK_AMI = "ami-0ubuntu2404mock0";

/** Public IPs come from 198.18.0.0/15 (benchmarking space: no real host has one). */
const IP_BASE = parseIPv4("198.18.0.0") as number;
const IP_SPACE = 2 ** 17;
const ipOwners = new Map<string, string>();

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A public IP per (stack, resource), the same on every run, unique within the process. */
function publicIpFor(owner: string): string {
  let n = parseInt(hash(owner).slice(0, 8), 16) % IP_SPACE;
  for (;;) {
    const ip = formatIPv4(IP_BASE + (n === 0 ? 1 : n));
    const held = ipOwners.get(ip);
    if (held === undefined || held === owner) {
      ipOwners.set(ip, owner);
      return ip;
    }
    n = (n + 1) % IP_SPACE;
  }
}

function uuidFrom(h: string): string {
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A value as the program sent it, with Pulumi's secret wrappers taken off. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

export class MockCloud implements pulumi.runtime.Mocks {
  private readonly providerRegions = new Map<string, string>();
  /** Base64 of every RandomBytes made, by resource name. */
  readonly randomBytes = new Map<string, string>();
  readonly unknownCalls: string[] = [];
  /** Every invoke (data source) the program made, with its arguments. */
  readonly calls: { token: string; inputs: Record<string, unknown> }[] = [];

  constructor(private readonly options: MockCloudOptions) {}

  /** Every secret the mock handed out and everything derived from it: raw base64, hex, clamped private keys. */
  keyMaterial(): string[] {
    const wireguard = [...this.randomBytes.values()].flatMap((b64) => {
      const bytes = Buffer.from(b64, "base64");
      return [b64, bytes.toString("hex"), privateKeyFromBytes(bytes)];
    });
    return [...wireguard, ...this.tlsPrivateKeys.values()];
  }

  /** The private half the mock tls.PrivateKey gave each key, by resource name (marker text, searched for by leak tests). */
  readonly tlsPrivateKeys = new Map<string, string>();

  private seeded(text: string): string {
    return hash(`${this.options.seed ?? ""}/${this.options.stack}/${text}`);
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    this.calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
    switch (args.token) {
      case "aws:ec2/getAmi:getAmi":
        return { id: MOCK_AMI, imageId: MOCK_AMI, name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250101" };
      case "aws:ec2/getSubnet:getSubnet":
        return { id: args.inputs.id, vpcId: `vpc-of-${String(args.inputs.id)}` };
      case "aws:ec2/getSubnets:getSubnets":
        return { ids: ["subnet-0mockb", "subnet-0mocka"] };
      case "aws:ec2/getVpcs:getVpcs": {
        const region = this.regionOf(args.provider);
        const wantsDefault = JSON.stringify(args.inputs.filters ?? []).includes('"is-default"');
        return { ids: wantsDefault && this.options.noDefaultVpc?.includes(region) ? [] : [`vpc-default-${region}`] };
      }
      case "azure:core/getClientConfig:getClientConfig":
        return { tenantId: AZURE_TENANT, objectId: AZURE_DEPLOYER, clientId: AZURE_DEPLOYER, subscriptionId: "00000000-0000-4000-8000-0000000000cc" };
      case "gcp:compute/getSubnetwork:getSubnetwork":
        return { network: `projects/${String(args.inputs.project ?? "p")}/global/networks/of-${String(args.inputs.name ?? "subnet")}` };
      default:
        this.unknownCalls.push(args.token);
        return {};
    }
  }

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } {
    const inputs = unwrapSecrets(args.inputs) as State;
    if (!args.custom) return { id: undefined, state: {} };
    if (this.options.preview && this.options.existing && !this.options.existing.has(stateKey(args.type, args.name))) {
      // To be created: what the program sent is known, what the cloud assigns (id, IPs, keys) is not.
      if (args.type === "pulumi:providers:aws") this.providerRegions.set(args.name, String(inputs.region ?? ""));
      return { id: "", state: inputs };
    }
    const h = hash(`${this.options.stack}/${args.type}/${args.name}`);
    const id = (suffix = `${args.name}-id`): { id: string; state: State } => ({ id: args.id || suffix, state: inputs });
    const out = (idValue: string, extra: State): { id: string; state: State } => ({ id: idValue, state: { ...inputs, ...extra } });
    const owner = `${this.options.stack}/${args.name}`;
    const region = this.regionOf(args.provider);

    switch (args.type) {
      case "pulumi:providers:aws":
        this.providerRegions.set(args.name, String(inputs.region ?? ""));
        return id();
      case "pulumi:pulumi:StackReference":
        return this.stackReference(String(inputs.name ?? args.name));
      case "random:index/randomString:RandomString": {
        const result = randomText(this.seeded(`${args.name}/${JSON.stringify(inputs.keepers ?? {})}`), inputs);
        return out(result, { result });
      }
      case "tls:index/privateKey:PrivateKey": {
        const key = mockTlsKey(String(inputs.algorithm ?? "RSA"), Number(inputs.rsaBits ?? 2048), this.seeded(args.name));
        const marker = `-----BEGIN PRIVATE KEY-----\nmock-private-key-${this.seeded(`${args.name}/private`).slice(0, 40)}\n-----END PRIVATE KEY-----\n`;
        this.tlsPrivateKeys.set(args.name, marker);
        return out(`${args.name}-${h.slice(0, 8)}`, { ...key, privateKeyPem: marker, privateKeyOpenssh: marker, privateKeyPemPkcs8: marker });
      }
      case "command:local:Command": {
        // The rotation clock (infra/rotation.ts ROTATION_CLOCK_SCRIPT) as it runs on create: the instant
        // carried over when it is for this epoch, or the time of the update that creates it, which a
        // mock stands in for with one drawn from the stack, the name and the epoch. (The script itself is
        // run for real in tests/unit/rotation-clock.test.ts.)
        const env = (inputs.environment ?? {}) as Record<string, string>;
        const epoch = String(env.WGMESH_KEY_EPOCH ?? "");
        const [keptEpoch, keptAt] = String(env.WGMESH_ROTATION_KEPT ?? "").split(" ");
        if (keptEpoch === epoch && keptAt) return out(`${args.name}-${h.slice(0, 8)}`, { stdout: `${epoch} ${keptAt}`, stderr: "" });
        const seconds = parseInt(createHash("sha256").update(`${this.options.stack}/${args.name}/${epoch}`).digest("hex").slice(0, 7), 16) % (365 * 86400);
        const at = new Date(Date.UTC(2025, 0, 1) + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
        return out(`${args.name}-${h.slice(0, 8)}`, { stdout: `${epoch} ${at}`, stderr: "" });
      }
      case "random:index/randomBytes:RandomBytes": {
        const keepers = JSON.stringify(inputs.keepers ?? {});
        const bytes = createHash("sha256").update(`${this.options.seed ? `${this.options.seed}/` : ""}${this.options.stack}/${args.name}/${keepers}`).digest();
        this.randomBytes.set(args.name, bytes.toString("base64"));
        // Plain on purpose: the program must keep these secret itself, whatever the provider marks.
        return out(`${args.name}-${h.slice(0, 8)}`, { base64: bytes.toString("base64"), hex: bytes.toString("hex") });
      }

      case "aws:ec2/eip:Eip":
        return out(`eipalloc-${h.slice(0, 17)}`, { publicIp: publicIpFor(owner), allocationId: `eipalloc-${h.slice(0, 17)}` });
      case "aws:ec2/instance:Instance":
        return out(`i-${h.slice(0, 17)}`, { arn: `arn:aws:ec2:${region}:${ACCOUNT_ID}:instance/i-${h.slice(0, 17)}` });
      case "aws:ec2/securityGroup:SecurityGroup":
        return out(`sg-${h.slice(0, 17)}`, { arn: `arn:aws:ec2:${region}:${ACCOUNT_ID}:security-group/sg-${h.slice(0, 17)}` });
      case "aws:secretsmanager/secret:Secret": {
        const arn = `arn:aws:secretsmanager:${region}:${ACCOUNT_ID}:secret:${String(inputs.name ?? args.name)}-${h.slice(0, 6)}`;
        return out(arn, { arn });
      }
      case "aws:iam/role:Role":
      case "aws:iam/instanceProfile:InstanceProfile": {
        const name = String(inputs.name ?? `${args.name}-${h.slice(0, 7)}`);
        const kind = args.type.endsWith("Role") ? "role" : "instance-profile";
        return out(name, { name, arn: `arn:aws:iam::${ACCOUNT_ID}:${kind}/${name}` });
      }

      case "gcp:compute/address:Address":
        return out(`projects/${String(inputs.project)}/regions/${String(inputs.region)}/addresses/${args.name}`, { address: publicIpFor(owner) });
      case "gcp:serviceaccount/account:Account": {
        const email = `${String(inputs.accountId)}@${String(inputs.project)}.iam.gserviceaccount.com`;
        return out(`projects/${String(inputs.project)}/serviceAccounts/${email}`, { email, member: `serviceAccount:${email}` });
      }
      case "gcp:secretmanager/secret:Secret": {
        const name = `projects/${String(inputs.project)}/secrets/${String(inputs.secretId)}`;
        return out(name, { name });
      }
      case "gcp:compute/instance:Instance": {
        const name = String(inputs.name ?? `${args.name}-${h.slice(0, 7)}`);
        return out(`projects/${String(inputs.project)}/zones/${String(inputs.zone)}/instances/${name}`, { name });
      }

      case "azure:core/resourceGroup:ResourceGroup":
      case "azure:network/virtualNetwork:VirtualNetwork":
      case "azure:compute/linuxVirtualMachine:LinuxVirtualMachine": {
        const name = String(inputs.name ?? `${args.name}${h.slice(0, 8)}`);
        const identity = args.type.endsWith("LinuxVirtualMachine") ? { identity: { type: "SystemAssigned", principalId: uuidFrom(h), tenantId: AZURE_TENANT } } : {};
        return out(`/subscriptions/mock/resourceGroups/${name}`, { name, ...identity });
      }
      case "azure:network/publicIp:PublicIp":
        return out(`/subscriptions/mock/publicIPAddresses/${args.name}`, { ipAddress: publicIpFor(owner) });
      case "azure:keyvault/keyVault:KeyVault":
        this.options.azureVaults?.create(String(inputs.name), this.deployment());
        return out(`/subscriptions/mock/providers/Microsoft.KeyVault/vaults/${String(inputs.name)}`, { vaultUri: `https://${String(inputs.name)}.vault.azure.net/` });
      case "azure:keyvault/secret:Secret": {
        const vault = String(inputs.keyVaultId ?? "").split("/").pop();
        const versionlessId = `https://${vault}.vault.azure.net/secrets/${String(inputs.name)}`;
        return out(`${versionlessId}/${h.slice(0, 32)}`, { versionlessId });
      }
      default:
        return id(`${args.name}-${h.slice(0, 8)}`);
    }
  }

  /** Who owns what this run creates, for the shared Azure name registry. */
  deployment(): string {
    return `${this.options.stack}${this.options.seed ? ` (${this.options.seed})` : ""}`;
  }

  private regionOf(provider: string | undefined): string {
    // A provider reference is "<urn>::<id>"; the urn ends in the provider's name.
    const name = provider?.split("::")[3];
    return (name && this.providerRegions.get(name)) || "us-east-1";
  }

  private stackReference(name: string): { id: string; state: State } {
    const outputs = this.options.stackOutputs?.[name];
    if (outputs === undefined && this.options.unknownStacks !== "empty") {
      throw new Error(`unknown stack "${name}": a StackReference must name a stack that exists`);
    }
    return { id: name, state: { name, outputs: outputs ?? {}, secretOutputNames: [] } };
  }
}

/** A RandomString's result from a hash: its length, from the character classes its inputs allow. */
function randomText(h: string, inputs: State): string {
  let chars = "";
  if (inputs.lower !== false) chars += "abcdefghijklmnopqrstuvwxyz";
  if (inputs.upper !== false) chars += "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (inputs.numeric !== false && inputs.number !== false) chars += "0123456789";
  if (inputs.special !== false) chars += "!@#$%&*()-_=+[]{}<>:?";
  const length = Number(inputs.length ?? 16);
  let out = "";
  for (let i = 0; out.length < length; i++) {
    const block = createHash("sha256").update(`${h}/${i}`).digest();
    for (const byte of block) if (out.length < length) out += chars[byte % chars.length];
  }
  return out;
}

const RSA_4096 = (JSON.parse(readFileSync(join(__dirname, "mock-rsa-4096.json"), "utf8")) as { publicKeysOpenssh: string[] }).publicKeysOpenssh;
const generated = new Map<string, string>();

/**
 * A tls.PrivateKey's public outputs. RSA-4096 comes from a few real keys made once (making one takes
 * seconds, and every synth would pay it); other sizes are made here, once per process and name.
 */
function mockTlsKey(algorithm: string, bits: number, h: string): { publicKeyOpenssh: string; publicKeyPem: string; algorithm: string; rsaBits: number } {
  if (algorithm !== "RSA") throw new Error(`the mock makes RSA keys only, not ${algorithm}`);
  let openssh: string;
  if (bits === 4096) openssh = RSA_4096[parseInt(h.slice(0, 8), 16) % RSA_4096.length] as string;
  else {
    openssh = generated.get(`${bits}/${h}`) ?? generatedRsa(bits);
    generated.set(`${bits}/${h}`, openssh);
  }
  const [e, n] = sshRsaParts(openssh);
  const pem = createPublicKey({ key: { kty: "RSA", n: n.toString("base64url"), e: e.toString("base64url") }, format: "jwk" }).export({ format: "pem", type: "spki" }) as string;
  return { publicKeyOpenssh: `${openssh}\n`, publicKeyPem: pem, algorithm, rsaBits: bits };
}

/**
 * The job encodes the key itself and it is read back: exporting a generated KeyObject as JWK can
 * hang Node 20 for good (see infra/keys.ts).
 */
function generatedRsa(bits: number): string {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: bits, publicKeyEncoding: { type: "spki", format: "der" }, privateKeyEncoding: { type: "pkcs8", format: "der" } });
  return opensshRsa(createPublicKey({ key: publicKey, format: "der", type: "spki" }).export({ format: "jwk" }) as { n: string; e: string });
}

function sshString(bytes: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function opensshRsa(jwk: { n: string; e: string }): string {
  const mpint = (b: Buffer): Buffer => sshString((b[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
  return `ssh-rsa ${Buffer.concat([sshString(Buffer.from("ssh-rsa")), mpint(Buffer.from(jwk.e, "base64url")), mpint(Buffer.from(jwk.n, "base64url"))]).toString("base64")}`;
}

/** The exponent and modulus of an ssh-rsa public key, leading zero bytes dropped. */
export function sshRsaParts(openssh: string): [e: Buffer, n: Buffer] {
  const blob = Buffer.from(openssh.trim().split(/\s+/)[1] ?? "", "base64");
  const parts: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    const len = blob.readUInt32BE(at);
    parts.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  const strip = (b: Buffer | undefined): Buffer => {
    let i = 0;
    while (b && i < b.length - 1 && b[i] === 0) i++;
    return (b ?? Buffer.alloc(0)).subarray(i);
  };
  if (parts[0]?.toString() !== "ssh-rsa" || parts.length !== 3) throw new Error("not an ssh-rsa public key");
  return [strip(parts[1]), strip(parts[2])];
}
