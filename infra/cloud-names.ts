/**
 * The names wg-mesh sends to the clouds, against each cloud's documented rule: one table per resource
 * type and name field, with how the provider names a resource the program leaves unnamed (Pulumi's
 * autonaming: the resource's name, a separator and random hex). Mocks accept any name; these rules are
 * what a real `pulumi up` would meet. Pure data and functions: the components choose names with it, and
 * `wgmesh synth` and the tests check every recorded resource with it.
 */
import { createHash } from "node:crypto";

export type NamedCloud = "aws" | "gcp" | "azure";

/** How a provider names a resource whose name field is left out (pulumi-terraform-bridge autonaming). */
export interface Autoname {
  separator: string;
  /** Random characters appended, from [0-9a-f]. */
  randomLength: number;
  /** Whether the provider lowercases the resource's name first. */
  lowercase: boolean;
}

export interface NameRule {
  cloud: NamedCloud;
  /** Pulumi type token. */
  type: string;
  /** The input that holds the name. */
  field: string;
  /** How messages name it. */
  what: string;
  min: number;
  max: number;
  /** The whole name must match (characters, first and last character). */
  pattern: RegExp;
  /** One character the name may hold. */
  allowed: RegExp;
  /** The rule in words, for messages. */
  rule: string;
  /** Prefixes the cloud refuses, compared without regard to case. */
  reservedPrefixes?: readonly string[];
  /** Where names must be unique; "global" means across every customer of the cloud. */
  uniqueIn: string;
  /** Set when the program may leave the name out and let the provider choose it. */
  autoname?: Autoname;
  /** An input that takes a prefix instead, to which the provider appends `prefixSuffixLength` characters. */
  prefixField?: string;
  prefixSuffixLength?: number;
  /** The longest prefix the provider takes (its own check, stricter than the cloud's length less the suffix). */
  prefixMax?: number;
  source: string;
}

/** Terraform's PrefixedUniqueId: a timestamp and a counter, 26 digits and hex letters. */
const AWS_PREFIX_SUFFIX = 26;
const AWS_AUTONAME: Autoname = { separator: "-", randomLength: 7, lowercase: false };
const GCP_AUTONAME: Autoname = { separator: "-", randomLength: 7, lowercase: false };
const AZURE_AUTONAME: Autoname = { separator: "", randomLength: 8, lowercase: true };

const IAM_NAME = /^[\w+=,.@-]+$/;
const GCP_RESOURCE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const AZURE_NETWORK = /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const AZURE_NETWORK_RULE = "letters, digits, _, . and -, starting with a letter or digit and ending with a letter, digit or _";

export const NAME_RULES: readonly NameRule[] = [
  {
    cloud: "aws",
    type: "aws:ec2/securityGroup:SecurityGroup",
    field: "name",
    what: "AWS security group name",
    min: 1,
    max: 255,
    pattern: /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]+$/,
    allowed: /[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]/,
    rule: "letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*, not starting with sg-",
    reservedPrefixes: ["sg-"],
    uniqueIn: "the VPC",
    autoname: AWS_AUTONAME,
    prefixField: "namePrefix",
    prefixSuffixLength: AWS_PREFIX_SUFFIX,
    prefixMax: 100,
    source: "EC2 API CreateSecurityGroup GroupName: up to 255 characters, cannot start with sg-",
  },
  {
    cloud: "aws",
    type: "aws:iam/role:Role",
    field: "name",
    what: "AWS IAM role name",
    min: 1,
    max: 64,
    pattern: IAM_NAME,
    allowed: /[\w+=,.@-]/,
    rule: "letters, digits and _+=,.@-",
    uniqueIn: "the account",
    autoname: AWS_AUTONAME,
    prefixField: "namePrefix",
    prefixSuffixLength: AWS_PREFIX_SUFFIX,
    prefixMax: 38,
    source: "IAM API CreateRole RoleName: 1-64 characters of [\\w+=,.@-]",
  },
  {
    cloud: "aws",
    type: "aws:iam/instanceProfile:InstanceProfile",
    field: "name",
    what: "AWS instance profile name",
    min: 1,
    max: 128,
    pattern: IAM_NAME,
    allowed: /[\w+=,.@-]/,
    rule: "letters, digits and _+=,.@-",
    uniqueIn: "the account",
    autoname: AWS_AUTONAME,
    prefixField: "namePrefix",
    prefixSuffixLength: AWS_PREFIX_SUFFIX,
    prefixMax: 100,
    source: "IAM API CreateInstanceProfile InstanceProfileName: 1-128 characters of [\\w+=,.@-]",
  },
  {
    cloud: "aws",
    type: "aws:iam/rolePolicy:RolePolicy",
    field: "name",
    what: "AWS IAM role policy name",
    min: 1,
    max: 128,
    pattern: IAM_NAME,
    allowed: /[\w+=,.@-]/,
    rule: "letters, digits and _+=,.@-",
    uniqueIn: "the role",
    autoname: AWS_AUTONAME,
    prefixField: "namePrefix",
    prefixSuffixLength: AWS_PREFIX_SUFFIX,
    prefixMax: 100,
    source: "IAM API PutRolePolicy PolicyName: 1-128 characters of [\\w+=,.@-]",
  },
  {
    cloud: "aws",
    type: "aws:secretsmanager/secret:Secret",
    field: "name",
    what: "AWS Secrets Manager secret name",
    min: 1,
    max: 512,
    pattern: /^[A-Za-z0-9/_+=.@-]+$/,
    allowed: /[A-Za-z0-9/_+=.@-]/,
    rule: "letters, digits and /_+=.@-",
    uniqueIn: "the account and region",
    source: "Secrets Manager API CreateSecret Name: 1-512 characters of [A-Za-z0-9/_+=.@-]",
  },
  {
    cloud: "gcp",
    type: "gcp:serviceaccount/account:Account",
    field: "accountId",
    what: "GCP service account id",
    min: 6,
    max: 30,
    pattern: /^[a-z]([-a-z0-9]*[a-z0-9])$/,
    allowed: /[-a-z0-9]/,
    rule: "lowercase letters, digits and -, starting with a letter, not ending with -",
    uniqueIn: "the project",
    source: "IAM API projects.serviceAccounts.create accountId: 6-30 characters, [a-z]([-a-z0-9]*[a-z0-9])",
  },
  ...(["address:Address", "firewall:Firewall", "instance:Instance"] as const).map(
    (t): NameRule => ({
      cloud: "gcp",
      type: `gcp:compute/${t}`,
      field: "name",
      what: `GCP ${t.split(":")[1]?.toLowerCase()} name`,
      min: 1,
      max: 63,
      pattern: GCP_RESOURCE,
      allowed: /[-a-z0-9]/,
      rule: "lowercase letters, digits and -, starting with a letter, not ending with -",
      uniqueIn: t.startsWith("firewall") ? "the project" : t.startsWith("address") ? "the project and region" : "the project and zone",
      autoname: GCP_AUTONAME,
      source: "Compute Engine resource names (RFC 1035): 1-63 characters, [a-z]([-a-z0-9]*[a-z0-9])?",
    }),
  ),
  {
    cloud: "gcp",
    type: "gcp:secretmanager/secret:Secret",
    field: "secretId",
    what: "GCP Secret Manager secret id",
    min: 1,
    max: 255,
    pattern: /^[A-Za-z0-9_-]+$/,
    allowed: /[A-Za-z0-9_-]/,
    rule: "letters, digits, _ and -",
    uniqueIn: "the project",
    source: "Secret Manager API projects.secrets.create secretId: 1-255 characters of [A-Za-z0-9_-]",
  },
  {
    cloud: "azure",
    type: "azure:core/resourceGroup:ResourceGroup",
    field: "name",
    what: "Azure resource group name",
    min: 1,
    max: 90,
    pattern: /^[\w.()-]*[\w()-]$/,
    allowed: /[\w.()-]/,
    rule: "letters, digits, _, -, ., ( and ), not ending with .",
    uniqueIn: "the subscription",
    autoname: AZURE_AUTONAME,
    source: "Azure resource name rules, Microsoft.Resources/resourcegroups: 1-90",
  },
  {
    cloud: "azure",
    type: "azure:network/virtualNetwork:VirtualNetwork",
    field: "name",
    what: "Azure virtual network name",
    min: 2,
    max: 64,
    pattern: AZURE_NETWORK,
    allowed: /[\w.-]/,
    rule: AZURE_NETWORK_RULE,
    uniqueIn: "the resource group",
    autoname: AZURE_AUTONAME,
    source: "Azure resource name rules, Microsoft.Network/virtualNetworks: 2-64",
  },
  ...(["network/subnet:Subnet", "network/publicIp:PublicIp", "network/networkSecurityGroup:NetworkSecurityGroup", "network/networkInterface:NetworkInterface"] as const).map(
    (t): NameRule => ({
      cloud: "azure",
      type: `azure:${t}`,
      field: "name",
      what: `Azure ${t.split(":")[1]} name`,
      min: 1,
      max: 80,
      pattern: AZURE_NETWORK,
      allowed: /[\w.-]/,
      rule: AZURE_NETWORK_RULE,
      uniqueIn: t.startsWith("network/subnet") ? "the virtual network" : "the resource group",
      autoname: AZURE_AUTONAME,
      source: "Azure resource name rules, Microsoft.Network: 1-80",
    }),
  ),
  {
    cloud: "azure",
    type: "azure:compute/linuxVirtualMachine:LinuxVirtualMachine",
    field: "name",
    what: "Azure Linux VM name (and its computer name)",
    min: 1,
    max: 64,
    pattern: /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/,
    allowed: /[A-Za-z0-9.-]/,
    rule: "letters, digits, . and -, starting and ending with a letter or digit",
    uniqueIn: "the resource group",
    autoname: AZURE_AUTONAME,
    source: "Azure resource name rules, Microsoft.Compute/virtualMachines: 1-64 on Linux, no _ or other symbols, not ending with . or -; the computer name defaults to it",
  },
  {
    cloud: "azure",
    type: "azure:keyvault/keyVault:KeyVault",
    field: "name",
    what: "Azure Key Vault name",
    min: 3,
    max: 24,
    pattern: /^[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]$/,
    allowed: /[A-Za-z0-9-]/,
    rule: "letters, digits and -, starting with a letter, ending with a letter or digit, no --",
    uniqueIn: "all of Azure, soft-deleted vaults included",
    source: "Azure resource name rules, Microsoft.KeyVault/vaults: 3-24, globally unique",
  },
  {
    cloud: "azure",
    type: "azure:keyvault/secret:Secret",
    field: "name",
    what: "Azure Key Vault secret name",
    min: 1,
    max: 127,
    pattern: /^[A-Za-z0-9-]+$/,
    allowed: /[A-Za-z0-9-]/,
    rule: "letters, digits and -",
    uniqueIn: "the vault",
    source: "Azure Key Vault, About keys, secrets and certificates: 1-127 characters of [0-9a-zA-Z-]",
  },
];

export function rulesFor(type: string): NameRule[] {
  return NAME_RULES.filter((r) => r.type === type);
}

export function ruleFor(type: string, field = "name"): NameRule {
  const rule = NAME_RULES.find((r) => r.type === type && r.field === field);
  if (!rule) throw new Error(`no name rule for ${type} ${field}`);
  return rule;
}

/** Why the cloud would refuse `name`, or undefined when it takes it. */
export function nameProblem(rule: NameRule, name: string): string | undefined {
  const why: string[] = [];
  if (name.length < rule.min || name.length > rule.max) why.push(`${name.length} characters, the limit is ${rule.min}-${rule.max}`);
  if (!rule.pattern.test(name)) why.push(`use ${rule.rule}`);
  const reserved = rule.reservedPrefixes?.find((p) => name.toLowerCase().startsWith(p));
  if (reserved) why.push(`it must not start with ${reserved}`);
  return why.length > 0 ? `${rule.what} ${JSON.stringify(name)}: ${why.join("; ")}` : undefined;
}

/** The names the provider may choose from `resourceName`, each random character at its extremes. */
export function autonames(rule: NameRule, resourceName: string): string[] {
  const auto = rule.autoname;
  if (!auto) return [];
  const base = auto.lowercase ? resourceName.toLowerCase() : resourceName;
  return ["0", "f"].map((c) => `${base}${auto.separator}${c.repeat(auto.randomLength)}`);
}

/** Whether every name the provider may choose from `resourceName` is one the cloud takes. */
export function autonameWorks(rule: NameRule, resourceName: string): boolean {
  const names = autonames(rule, resourceName);
  return names.length > 0 && names.every((n) => nameProblem(rule, n) === undefined);
}

/** A short stable hash: keeps names that were shortened or cleaned apart from each other. */
export function nameHash(text: string, length: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

const HASH_LENGTH = 7;

/**
 * A name the cloud takes, made from `resourceName` when the provider's own would not do: only the
 * characters the rule allows, a letter first, no reserved prefix, short enough to leave room for the
 * `suffix` characters a provider appends to a name prefix, and a hash of the original so two names that
 * clean up alike stay apart. With `suffix` > 0 it is a name prefix (ending in "-"), otherwise the name.
 */
export function cleanName(rule: NameRule, resourceName: string, suffix = 0): string {
  const lowerOnly = !rule.allowed.test("A");
  let text = [...(lowerOnly ? resourceName.toLowerCase() : resourceName)].map((ch) => (rule.allowed.test(ch) ? ch : "-")).join("");
  text = text.replace(/-{2,}/g, "-").replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  if (!/^[A-Za-z]/.test(text) || rule.reservedPrefixes?.some((p) => text.toLowerCase().startsWith(p))) text = `wg-${text}`;
  const hash = nameHash(resourceName, HASH_LENGTH);
  // A name: stem-hash within the rule's length. A prefix: stem-hash- within what the provider takes as a prefix.
  const room = suffix > 0 ? Math.min(rule.max - suffix, rule.prefixMax ?? Infinity) - hash.length - 2 : rule.max - hash.length - 1;
  const stem = text.slice(0, Math.max(1, room)).replace(/[^A-Za-z0-9]+$/, "");
  return suffix > 0 ? `${stem}-${hash}-` : `${stem}-${hash}`;
}

/** A resource as the program registers it: its type, its Pulumi name and its inputs. */
export interface NamedResource {
  type: string;
  name: string;
  inputs: Readonly<Record<string, unknown>>;
}

/**
 * Why the cloud would refuse a name this resource gets: the name given, the prefix given with the
 * provider's suffix, or the provider's own choice when neither is. A name not known yet (a preview) is
 * passed over.
 */
export function resourceNameProblems(r: NamedResource): string[] {
  const problems: string[] = [];
  for (const rule of rulesFor(r.type)) {
    const given = r.inputs[rule.field];
    const prefix = rule.prefixField ? r.inputs[rule.prefixField] : undefined;
    let candidates: string[];
    if (typeof prefix === "string" && rule.prefixMax !== undefined && prefix.length > rule.prefixMax) {
      problems.push(`${rule.what} prefix ${JSON.stringify(prefix)}: ${prefix.length} characters, the provider takes at most ${rule.prefixMax}`);
    }
    if (typeof given === "string") candidates = [given];
    else if (typeof prefix === "string") candidates = ["0", "f"].map((c) => `${prefix}${c.repeat(rule.prefixSuffixLength ?? 0)}`);
    else if (given === undefined && prefix === undefined) candidates = autonames(rule, r.name);
    else candidates = [];
    if (candidates.length === 0 && given === undefined && prefix === undefined && !rule.autoname) problems.push(`${rule.what}: none given, and the provider does not choose one`);
    const first = candidates.map((c) => nameProblem(rule, c)).find((p) => p !== undefined);
    if (first) problems.push(typeof given === "string" ? first : `${first} (${typeof prefix === "string" ? "the name prefix given" : "the provider's own name"} plus its random suffix)`);
  }
  return problems;
}
