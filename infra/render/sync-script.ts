/**
 * What a node runs, rendered from the real bash files beside this module, a handful of quoted values
 * filled in: the bootstrap (bootstrap.sh, /usr/local/sbin/wgmesh-sync, the one script user data
 * installs, with only its own vault's fetch code kept) and the node agent (wgmesh-sync.sh and
 * wgmesh-doctor.sh, delivered through the vault like the config: ./agent.ts). The bootstrap depends
 * only on the node's name, interface and vault, never on the mesh or the agent, so the user data that
 * carries it is the same for the life of the VM.
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
/** Where the bootstrap lives: the path wgmesh-sync.service has always run, on every node old and new. */
export const SYNC_SCRIPT_PATH = "/usr/local/sbin/wgmesh-sync";
export const SYNC_UNIT = "wgmesh-sync";
/** How often wgmesh-sync.timer runs the sync, in seconds. */
export const SYNC_PERIOD_SECONDS = 60;

/** The templates ship with the code, like a JSON data file; reading them is not I/O on anyone's data. */
export const BOOTSTRAP_TEMPLATE_PATH = join(__dirname, "bootstrap.sh");
export const SYNC_TEMPLATE_PATH = join(__dirname, "wgmesh-sync.sh");
const BOOTSTRAP_TEMPLATE = readFileSync(BOOTSTRAP_TEMPLATE_PATH, "utf8");
const SYNC_TEMPLATE = readFileSync(SYNC_TEMPLATE_PATH, "utf8");

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
  // The access ruleset's hook (wgmesh-firewall) and the failover watchdog's probes.
  ["nft", "nftables"],
  ["ping", "iputils-ping"],
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

/** The node's bootstrap (bootstrap.sh) for its name, interface and vault. */
export function renderBootstrap(opts: DeliveryOptions): string {
  const iface = checkedInterfaceName(opts.interfaceName);
  const node = checkedNodeName(opts.node);
  const vault = vaultScript(opts.vault);
  const values = { VAULT_KIND: vault.kind, NODE: node, IFACE: iface, SYNC_PERIOD: String(SYNC_PERIOD_SECONDS), PACKAGES: REQUIRED_PACKAGES.join(" "), ...vault.values };
  return fillTemplate(BOOTSTRAP_TEMPLATE, vault.kind, values, "bootstrap.sh");
}

/** The agent's sync script (wgmesh-sync.sh): the same on every node, whatever its cloud; the bootstrap it sources says which. */
export function renderAgentSyncScript(version: string): string {
  return fillTemplate(SYNC_TEMPLATE, "agent", { AGENT_VERSION: version, NEEDS }, "wgmesh-sync.sh");
}

/**
 * Keeps the `#@vault` blocks that name `kind` (dropping their marker lines) and the text outside any
 * block, then replaces each @NAME@ with its quoted value. Every value must be used and every
 * placeholder filled, so the template and this module cannot drift apart unnoticed.
 */
export function fillTemplate(template: string, kind: string, values: Readonly<Record<string, string>>, what = "template"): string {
  const kept: string[] = [];
  let block: string[] | undefined;
  for (const line of template.split("\n")) {
    const open = /^#@vault\s+(.+)$/.exec(line);
    if (open) {
      if (block) throw new Error(`${what}: a #@vault block opens inside another`);
      block = (open[1] as string).trim().split(/\s+/);
      continue;
    }
    if (line === "#@end") {
      if (!block) throw new Error(`${what}: #@end without a #@vault`);
      block = undefined;
      continue;
    }
    if (!block || block.includes(kind)) kept.push(line);
  }
  if (block) throw new Error(`${what}: a #@vault block is never closed`);
  const unused = new Set(Object.keys(values));
  // Only `=@NAME@` is a placeholder: the template's comments may mention the convention itself.
  const filled = kept.join("\n").replace(/=@([A-Z_]+)@/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${what}: no value for @${name}@`);
    unused.delete(name);
    return `=${shellQuote(value)}`;
  });
  if (unused.size > 0) throw new Error(`${what}: no @${[...unused].join("@, @")}@ in the kept text`);
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
  if (node.length === 0 || /[\p{Cc}\p{Cf}\s]/u.test(node)) {
    throw new Error(`node ${JSON.stringify(node)} is not a usable node name: give a non-empty name without spaces or control characters`);
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
      const agent = requireMatch(vault.agentSecretName, /^[A-Za-z0-9/_+=.@-]{1,512}$/, "vault.agentSecretName", "AWS secret names use letters, digits and /_+=.@-");
      return {
        kind: "aws",
        source: `AWS Secrets Manager secret ${name} (${region})`,
        values: { AWS_REGION: region, CONFIG_SECRET: name, AGENT_SECRET: agent },
      };
    }
    case "gcp-secretmanager": {
      const project = requireMatch(vault.project, /^[a-z][a-z0-9.:-]{4,61}[a-z0-9]$/, "vault.project", "use the GCP project id");
      const id = requireMatch(vault.secretId, /^[A-Za-z0-9_-]{1,255}$/, "vault.secretId", "Secret Manager ids use letters, digits, _ and -");
      const agent = requireMatch(vault.agentSecretId, /^[A-Za-z0-9_-]{1,255}$/, "vault.agentSecretId", "Secret Manager ids use letters, digits, _ and -");
      return {
        kind: "gcp",
        source: `GCP Secret Manager secret ${id} (project ${project})`,
        values: { GCP_PROJECT: project, CONFIG_SECRET: id, AGENT_SECRET: agent },
      };
    }
    case "azure-keyvault": {
      const secret = requireMatch(vault.secretName, /^[a-zA-Z0-9-]{1,127}$/, "vault.secretName", "Key Vault secret names use letters, digits and -");
      const agent = requireMatch(vault.agentSecretName, /^[a-zA-Z0-9-]{1,127}$/, "vault.agentSecretName", "Key Vault secret names use letters, digits and -");
      return {
        kind: "azure",
        source: `Azure Key Vault secret ${secret} in the vault this VM's tag ${AZURE_VAULT_TAG} names`,
        values: { AZURE_VAULT_TAG, CONFIG_SECRET: secret, AGENT_SECRET: agent },
      };
    }
    case "file": {
      const rule = "give an absolute path on one line, without control characters";
      const path = requireMatch(vault.path, /^\/[^\p{Cc}\u2028\u2029]*$/u, "vault.path", rule);
      const agent = requireMatch(vault.agentPath, /^\/[^\p{Cc}\u2028\u2029]*$/u, "vault.agentPath", rule);
      return { kind: "file", source: `file ${path}`, values: { CONFIG_SECRET: path, AGENT_SECRET: agent } };
    }
  }
}
