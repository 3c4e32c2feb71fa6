/**
 * The vault sync unit's script (/usr/local/sbin/wgmesh-sync), rendered from the real bash file
 * beside this module (wgmesh-sync.sh): a handful of quoted values filled in, and only the fetch code
 * of the node's own vault kept. It depends only on the node's interface name and where its vault is,
 * never on the mesh, so the user data that carries it is the same for the life of the VM and a mesh
 * change never replaces or restarts one.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AZURE_VAULT_TAG, type VaultLocator } from "../vault";

export interface DeliveryOptions {
  node: string;
  vault: VaultLocator;
  /** wg-quick interface name; wg0 unless the lab or a test needs a machine-wide unique one. */
  interfaceName?: string;
}

export const DEFAULT_INTERFACE = "wg0";
export const SYNC_SCRIPT_PATH = "/usr/local/sbin/wgmesh-sync";
export const SYNC_UNIT = "wgmesh-sync";

/** The template ships with the code, like a JSON data file; reading it is not I/O on anyone's data. */
export const SYNC_TEMPLATE_PATH = join(__dirname, "wgmesh-sync.sh");
const TEMPLATE = readFileSync(SYNC_TEMPLATE_PATH, "utf8");

/**
 * What runs on a node, by command, with the Debian/Ubuntu package that has it: wg-quick and wg, curl
 * (--aws-sigv4 needs >= 7.75) and jq for the vault APIs, iptables for a transit node's PostUp. Every
 * node gets them all: whether a node forwards is the mesh's to decide, and can change without its VM.
 */
export const REQUIRED_TOOLS: readonly (readonly [command: string, pkg: string])[] = [
  ["wg", "wireguard-tools"],
  ["wg-quick", "wireguard-tools"],
  ["curl", "curl"],
  ["jq", "jq"],
  ["iptables", "iptables"],
];

export const REQUIRED_PACKAGES: readonly string[] = [...new Set(REQUIRED_TOOLS.map(([, pkg]) => pkg))];

const NEEDS = REQUIRED_TOOLS.map(([command, pkg]) => `${command}:${pkg}`).join(" ");

/** wg-quick's own rule for an interface name (and so for the name of its .conf). */
const INTERFACE_NAME = /^[a-zA-Z0-9_=+.-]{1,15}$/;

type VaultKind = "aws" | "gcp" | "azure" | "file";

interface VaultScript {
  kind: VaultKind;
  /** For people reading the log: where the config comes from. */
  source: string;
  /** The template's @NAME@ values for this vault. */
  values: Record<string, string>;
}

export function renderSyncScript(opts: DeliveryOptions): string {
  const iface = checkedInterfaceName(opts.interfaceName);
  checkedNodeName(opts.node);
  const vault = vaultScript(opts.vault);
  return fillTemplate(TEMPLATE, vault.kind, { IFACE: iface, SOURCE: vault.source, ...vault.values });
}

/**
 * Keeps the `#@vault` blocks that name `kind` (dropping their marker lines) and the text outside any
 * block, then replaces each @NAME@ with its quoted value. Every value must be used and every
 * placeholder filled, so the template and this module cannot drift apart unnoticed.
 */
export function fillTemplate(template: string, kind: string, values: Readonly<Record<string, string>>): string {
  const kept: string[] = [];
  let block: string[] | undefined;
  for (const line of template.split("\n")) {
    const open = /^#@vault\s+(.+)$/.exec(line);
    if (open) {
      if (block) throw new Error("wgmesh-sync.sh: a #@vault block opens inside another");
      block = (open[1] as string).trim().split(/\s+/);
      continue;
    }
    if (line === "#@end") {
      if (!block) throw new Error("wgmesh-sync.sh: #@end without a #@vault");
      block = undefined;
      continue;
    }
    if (!block || block.includes(kind)) kept.push(line);
  }
  if (block) throw new Error("wgmesh-sync.sh: a #@vault block is never closed");
  const unused = new Set(Object.keys(values));
  // Only `=@NAME@` is a placeholder: the template's comments may mention the convention itself.
  const filled = kept.join("\n").replace(/=@([A-Z_]+)@/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`wgmesh-sync.sh: no value for @${name}@`);
    unused.delete(name);
    return `=${shellQuote(value)}`;
  });
  if (unused.size > 0) throw new Error(`wgmesh-sync.sh: no @${[...unused].join("@, @")}@ in the kept text`);
  return filled;
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
        kind: "aws",
        source: `AWS Secrets Manager secret ${name} (${region})`,
        values: { AWS_REGION: region, AWS_SECRET_ID: name, NEEDS, DENIED_HINT: `the instance role needs secretsmanager:GetSecretValue on ${name}` },
      };
    }
    case "gcp-secretmanager": {
      const project = requireMatch(vault.project, /^[a-z][a-z0-9.:-]{4,61}[a-z0-9]$/, "vault.project", "use the GCP project id");
      const id = requireMatch(vault.secretId, /^[A-Za-z0-9_-]{1,255}$/, "vault.secretId", "Secret Manager ids use letters, digits, _ and -");
      return {
        kind: "gcp",
        source: `GCP Secret Manager secret ${id} (project ${project})`,
        values: {
          GCP_PROJECT: project,
          GCP_SECRET_ID: id,
          NEEDS,
          DENIED_HINT: `the VM's service account needs roles/secretmanager.secretAccessor on ${id} and the cloud-platform scope`,
        },
      };
    }
    case "azure-keyvault": {
      const secret = requireMatch(vault.secretName, /^[a-zA-Z0-9-]{1,127}$/, "vault.secretName", "Key Vault secret names use letters, digits and -");
      return {
        kind: "azure",
        source: `Azure Key Vault secret ${secret} in the vault this VM's tag ${AZURE_VAULT_TAG} names`,
        values: { AZURE_VAULT_TAG, AZURE_SECRET: secret, NEEDS, DENIED_HINT: `the VM's managed identity needs Get on secrets in that Key Vault` },
      };
    }
    case "file": {
      const path = requireMatch(vault.path, /^\/[^\p{Cc}\u2028\u2029]*$/u, "vault.path", "give an absolute path on one line, without control characters");
      return { kind: "file", source: `file ${path}`, values: { SOURCE_FILE: path } };
    }
  }
}
