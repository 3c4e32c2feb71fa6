/**
 * What the components promise, as CrossGuard policies, so a hand edit cannot drift from it.
 * Each policy's enforcement level is its default; any can be set per stack with
 * `pulumi preview --policy-pack policy --policy-pack-config FILE` ({"wg-imdsv2": "advisory"},
 * or {"wg-ssh-admin-only": {"enforcementLevel": "mandatory", "adminCidrs": ["203.0.113.0/24"]}};
 * `npx tsx policy/stack-config.ts --stack prod` writes the one CI passes).
 *
 * Resource policies read a resource's inputs; stack policies see every resource and find each
 * one's mesh node through its parents (the wg-mesh:index:Hub, Pop or Backend component, whose
 * outputs name the node's publicIp), and the mesh's plan through the Mesh component's `nodes`
 * output (each node's cloud and planned peers with their endpoints).
 *
 * Every rule the program follows is the program's own function, imported: which sources count as
 * the world and when the WireGuard port must be open to it (infra/firewall.ts), the default port
 * (infra/config/schema.ts), the shape of a key (infra/keys.ts), user data as a node runs it
 * (infra/render/cloudinit.ts), the type tokens (./types.ts).
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { DEFAULT_LISTEN_PORT } from "../infra/config/schema";
import { endpointHost, sourceLimit, sourcesFromPeers } from "../infra/firewall";
import { KEY_TEXT } from "../infra/keys";
import type { NodeReport } from "../infra/mesh-report";
import { readableUserData } from "../infra/render/cloudinit";
import { AGENT_MAX_PARTS, agentPartNames, agentPartOf } from "../infra/render/agent-parts";
import { AZURE_AGENT_SECRET_NAME, AZURE_SECRET_NAME, awsSecretOf } from "../infra/vault";
import { coversPort, ingressRules, isOnlyPort, isWorld } from "./rules";
import { HOST_COMPONENTS, MESH, NODE_COMPONENTS, T } from "./types";
import { accessDeclaredIn, environmentListed } from "../infra/access/summary";
import { parseUrn } from "../stacks/synth/urns";

export const DEFAULT_WIREGUARD_PORT = DEFAULT_LISTEN_PORT;

const KEY_LINE = /^\s*(PrivateKey|PresharedKey)\s*=/im;

const wireguardPortSchema = { type: "integer", minimum: 1, maximum: 65535, default: DEFAULT_WIREGUARD_PORT } as const;

function nodeOf(r: PolicyResource): PolicyResource | undefined {
  for (let p = r.parent; p; p = p.parent) if (NODE_COMPONENTS.has(p.type)) return p;
  return undefined;
}

/** The node's name in its mesh: its component is named `<mesh>-<node>` beneath the Mesh. */
function nodeName(node: PolicyResource): string {
  const mesh = node.parent?.type === MESH ? node.parent.name : undefined;
  return mesh !== undefined && node.name.startsWith(`${mesh}-`) ? node.name.slice(mesh.length + 1) : node.name;
}

/** Nodes with no cloud host: external ones. */
function externalNodes(resources: PolicyResource[]): PolicyResource[] {
  const withHost = new Set(resources.filter((r) => HOST_COMPONENTS.has(r.type)).map((r) => r.parent?.urn));
  return resources.filter((r) => NODE_COMPONENTS.has(r.type) && !withHost.has(r.urn));
}

function publicIpOf(node: PolicyResource): string | undefined {
  const ip = node.props.publicIp;
  return typeof ip === "string" && /^\d+\.\d+\.\d+\.\d+$/.test(ip) ? ip : undefined;
}

/** The plan's view of a node, from its Mesh's `nodes` output; undefined for a node made outside a Mesh, or in a preview that does not know it yet. */
function reportOf(node: PolicyResource): NodeReport | undefined {
  const mesh = node.parent?.type === MESH ? node.parent : undefined;
  const nodes = mesh?.props.nodes as Record<string, NodeReport> | undefined;
  const report = nodes && typeof nodes === "object" ? nodes[nodeName(node)] : undefined;
  return report && Array.isArray(report.peers) ? report : undefined;
}

/** The SSH sources the node's own firewall admits: on AWS they share the security group's rule budget with WireGuard's. */
function sshSources(node: PolicyResource, resources: PolicyResource[]): string[] {
  const sources = new Set<string>();
  for (const r of resources) {
    if (nodeOf(r)?.urn !== node.urn) continue;
    for (const rule of ingressRules(r.type, r.props)) if (coversPort(rule, 22, "tcp")) for (const s of rule.sources) if (!isWorld(s)) sources.add(s);
  }
  return [...sources];
}

/**
 * Why the program opens this node's WireGuard port to the world, by the program's own rule
 * (infra/firewall.ts sourcesFromPeers over the planned peers, with the cloud's rule limit), or
 * undefined when it admits each peer's /32 instead. A node made outside a Mesh falls back to the
 * mesh-wide reason: some node of it has no fixed address.
 */
function worldBecause(node: PolicyResource, resources: PolicyResource[]): string | undefined {
  const report = reportOf(node);
  if (report) {
    const peers = report.peers.map((p) => (typeof p.endpoint === "string" ? { name: p.name, endpoint: p.endpoint } : { name: p.name }));
    return sourcesFromPeers(peers, sourceLimit(report.cloud, sshSources(node, resources))).openBecause;
  }
  const unfixed = externalNodes(resources).filter((n) => publicIpOf(n) === undefined);
  return unfixed.length > 0 ? `${nodeName(unfixed[0] as PolicyResource)} has no fixed address` : undefined;
}

export const noWorldIngress: StackValidationPolicy = {
  name: "wg-no-world-ingress",
  description: "No ingress from 0.0.0.0/0, except the WireGuard UDP port of a node the program opens to the world: a peer without a fixed address (behind NAT, or known by a DNS name), or more peers than one firewall rule holds.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { wireguardPort: wireguardPortSchema } },
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const { wireguardPort } = args.getConfig<{ wireguardPort: number }>();
    for (const r of args.resources) {
      for (const rule of ingressRules(r.type, r.props)) {
        if (!rule.sources.some(isWorld)) continue;
        const node = nodeOf(r);
        if (isOnlyPort(rule, wireguardPort) && node !== undefined && worldBecause(node, args.resources) !== undefined) continue;
        const why = isOnlyPort(rule, wireguardPort)
          ? "every peer of this node has a fixed IP and they fit one rule, so the program admits each as /32 instead"
          : "only the WireGuard UDP port may ever be open to the world";
        report(`${r.name} ${rule.where}: admits ${rule.sources.filter(isWorld).join(", ")} (${rule.protocol}${rule.ports ? ` ${rule.ports.map(([a, b]) => (a === b ? a : `${a}-${b}`)).join(",")}` : ", every port"}); ${why}`, r.urn);
      }
    }
  },
};

export const sshAdminOnly: ResourceValidationPolicy = {
  name: "wg-ssh-admin-only",
  description: "SSH (TCP 22) only from the declared admin CIDRs (adminCidrs in the mesh config), never from the world.",
  enforcementLevel: "mandatory",
  // No default: without a config the pack cannot tell "no admin CIDRs" from "not told", and checks the world only.
  configSchema: { properties: { adminCidrs: { type: "array", items: { type: "string" }, description: "The stack's adminCidrs (policy/stack-config.ts writes them); [] means SSH is closed" } } },
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const { adminCidrs } = args.getConfig<{ adminCidrs?: string[] }>();
    for (const rule of ingressRules(args.type, args.props)) {
      if (!coversPort(rule, 22, "tcp")) continue;
      const world = rule.sources.filter(isWorld);
      if (world.length > 0) report(`${rule.where}: SSH is open to ${world.join(", ")}; list the admin CIDRs instead`);
      const stray = adminCidrs === undefined ? [] : rule.sources.filter((s) => !isWorld(s) && !adminCidrs.includes(s));
      if (stray.length > 0) {
        report(`${rule.where}: SSH admits ${stray.join(", ")}, ${adminCidrs && adminCidrs.length > 0 ? `which is not in adminCidrs (${adminCidrs.join(", ")})` : "but adminCidrs is empty, so SSH is closed in this stack"}`);
      }
    }
  },
};

export const imdsv2: ResourceValidationPolicy = {
  name: "wg-imdsv2",
  description: "EC2 instances require IMDSv2 (metadataOptions.httpTokens = required): the sync unit's credentials come from the metadata service.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.awsInstance) return;
    const tokens = (args.props.metadataOptions as { httpTokens?: unknown } | undefined)?.httpTokens;
    if (tokens !== "required") report(`metadataOptions.httpTokens is ${JSON.stringify(tokens ?? "unset")}; set it to "required" (IMDSv2 only)`);
  },
};

export const disksEncrypted: ResourceValidationPolicy = {
  name: "wg-disk-encrypted",
  description: "Disks are encrypted at rest: EC2 root and EBS volumes explicitly (GCP persistent disks and Azure managed disks always are).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type === T.awsInstance) {
      const root = args.props.rootBlockDevice as { encrypted?: unknown } | undefined;
      if (root?.encrypted !== true) report("rootBlockDevice.encrypted is not true; encrypt the root disk");
      const ebs = Array.isArray(args.props.ebsBlockDevices) ? (args.props.ebsBlockDevices as { encrypted?: unknown; deviceName?: unknown }[]) : [];
      for (const d of ebs) if (d.encrypted !== true) report(`ebsBlockDevices ${String(d.deviceName ?? "")}: encrypted is not true`);
    }
    if (args.type === T.awsEbsVolume && args.props.encrypted !== true) report("encrypted is not true; encrypt the volume");
  },
};

interface Statement {
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
}

function statements(policy: unknown): Statement[] | undefined {
  if (typeof policy !== "string") return undefined;
  try {
    const doc = JSON.parse(policy) as { Statement?: Statement | Statement[] };
    return Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
  } catch {
    return undefined;
  }
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const DEPLOYER_POLICY = /-kv-deployer$/;

/** A Secrets Manager ARN's secret name (ARNs end in "-" and six random characters). */
function secretNameOfArn(arn: string): string | undefined {
  return /^arn:aws[\w-]*:secretsmanager:[^:]*:[^:]*:secret:(.+)-[A-Za-z0-9]{6}$/.exec(arn)?.[1];
}

/**
 * Kept under its first name, so stack configs that set its level keep working: a node reads its own
 * secrets, its config and its node agent (in parts where its vault needs them: docs/node-agent.md), and nothing else.
 */
export const vaultReadOneSecret: ResourceValidationPolicy = {
  name: "wg-vault-read-one-secret",
  description: "A node's identity may read its own secrets only, its config and its node agent: Secrets Manager GetSecretValue only, on exact ARNs of one node's <project>/<stack>/<node>/wg0.conf and /agent (and /agent-2 ... /agent-${AGENT_MAX_PARTS}, the agent's parts); Secret Manager access granted on secrets, never the project; Key Vault access Get on secrets only.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    switch (args.type) {
      case T.awsRolePolicy:
      case T.awsIamPolicy: {
        const st = statements(args.props.policy);
        if (!st) return; // unknown until the secret's ARN exists
        for (const s of st) {
          const actions = list(s.Action);
          if (s.Effect === "Deny" || !actions.some((a) => /^secretsmanager:|^\*$/i.test(a))) continue;
          const resources = list(s.Resource);
          const secrets = resources.map((r) => (r.includes("*") ? undefined : awsSecretOf(secretNameOfArn(r) ?? "")));
          const nodes = new Set(secrets.map((x) => x?.node));
          const distinct = new Set(secrets.map((x) => `${x?.which} ${x?.part}`)).size === resources.length;
          if (resources.length === 0 || resources.length > 1 + AGENT_MAX_PARTS || secrets.some((x) => x === undefined) || nodes.size !== 1 || !distinct) {
            report(`grants ${actions.join(", ")} on ${resources.join(", ") || "nothing named"}; name the exact ARNs of one node's own secrets, <project>/<stack>/<node>/wg0.conf and /agent (with its parts /agent-2 ...)`);
          }
          const extra = actions.filter((a) => a !== "secretsmanager:GetSecretValue");
          if (extra.length > 0) report(`grants ${extra.join(", ")}; a node needs secretsmanager:GetSecretValue only`);
        }
        return;
      }
      case T.gcpProjectIamMember:
      case T.gcpProjectIamBinding:
        if (/^roles\/(secretmanager\.|owner$|editor$|viewer$)/.test(String(args.props.role))) report(`${String(args.props.role)} on the whole project reaches every secret; grant roles/secretmanager.secretAccessor on the one secret`);
        return;
      case T.azureAccessPolicy: {
        for (const key of ["keyPermissions", "certificatePermissions", "storagePermissions"]) {
          const granted = list(args.props[key] as string[] | undefined);
          if (granted.length > 0) report(`${key} ${granted.join(", ")}: the vault holds the node's config and agent; grant nothing else`);
        }
        const secrets = list(args.props.secretPermissions as string[] | undefined);
        if (!DEPLOYER_POLICY.test(args.name) && secrets.some((p) => p.toLowerCase() !== "get")) report(`secretPermissions ${secrets.join(", ")}: a node reads its config and agent with Get only`);
        return;
      }
    }
  },
};

/**
 * Kept under its first name (stack configs may set its level); a node's vault holds its config and its
 * agent, the agent in 1-AGENT_MAX_PARTS parts named by infra/render/agent-parts.ts, each named.
 */
export const oneSecretPerVault: StackValidationPolicy = {
  name: "wg-one-secret-per-vault",
  description: `A Key Vault a node may read holds exactly its config (${AZURE_SECRET_NAME}) and its node agent (${AZURE_AGENT_SECRET_NAME}, and ${AZURE_AGENT_SECRET_NAME}-2 ... where the agent is in parts), so its vault-wide Get reaches those only.`,
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const vaults = args.resources.filter((r) => r.type === T.azureKeyVault);
    for (const v of vaults) {
      const inside = args.resources.filter((r) => r.type === T.azureKeyVaultSecret && (r.dependencies.some((d) => d.urn === v.urn) || r.props.keyVaultId === v.props.id));
      const names = inside.map((r) => String(r.props.name ?? r.name)).sort();
      // The agent's parts are 1..k, as the engine names them; anything else is not a node's.
      const parts = names.filter((n) => agentPartOf(n, AZURE_AGENT_SECRET_NAME) !== undefined).length;
      const allowed = [AZURE_SECRET_NAME, ...agentPartNames(AZURE_AGENT_SECRET_NAME, Math.max(parts, 1))].sort();
      if (names.length !== allowed.length || names.some((n, i) => n !== allowed[i])) {
        report(`${v.name} holds ${inside.length === 0 ? "no secret" : names.join(", ")}; a node's vault holds its ${AZURE_SECRET_NAME} and ${AZURE_AGENT_SECRET_NAME} (with its parts ${AZURE_AGENT_SECRET_NAME}-2 ...) and nothing else`, v.urn);
      }
    }
  },
};

function decoded(value: unknown, base64: boolean): string | undefined {
  if (typeof value !== "string") return undefined;
  return readableUserData(base64 ? Buffer.from(value, "base64") : Buffer.from(value, "utf8"));
}

export const noKeyInUserData: ResourceValidationPolicy = {
  name: "wg-no-key-in-user-data",
  description: "No key material in user data, instance metadata or custom data: the vault is the only way a node gets its wg0.conf.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const fields: [string, string | undefined][] = [];
    const p = args.props;
    switch (args.type) {
      case T.awsInstance:
        fields.push(["userData", decoded(p.userData, false)], ["userDataBase64", decoded(p.userDataBase64, true)]);
        break;
      case T.awsLaunchTemplate:
        fields.push(["userData", decoded(p.userData, true)]);
        break;
      case T.gcpInstance:
      case T.gcpInstanceTemplate:
        fields.push(["metadataStartupScript", decoded(p.metadataStartupScript, false)]);
        for (const [k, v] of Object.entries((p.metadata as Record<string, unknown> | undefined) ?? {})) fields.push([`metadata.${k}`, decoded(v, false)]);
        break;
      case T.azureLinuxVirtualMachine:
      case T.azureVirtualMachine:
        fields.push(["customData", decoded(p.customData, true)], ["userData", decoded(p.userData, true)]);
        break;
    }
    for (const [field, text] of fields) {
      if (text === undefined) continue;
      if (KEY_LINE.test(text)) report(`${field} has a wg-quick ${KEY_LINE.exec(text)?.[1]} line; deliver wg0.conf through the vault`);
      else if (KEY_TEXT.test(text)) report(`${field} holds a value shaped like a WireGuard key; keys belong in the vault only`);
    }
  },
};

/** Every peer address the plan gives the mesh's nodes, those of peerStacks' nodes included: the IPs its firewalls may admit. */
function plannedPeerIps(nodes: PolicyResource[]): string[] {
  return nodes.flatMap((n) => (reportOf(n)?.peers ?? []).flatMap((p) => (typeof p.endpoint === "string" ? [endpointHost(p.endpoint).replace(/^\[|\]$/g, "")] : [])));
}

export const wireguardSourcesArePeers: StackValidationPolicy = {
  name: "wg-wireguard-sources-are-peers",
  description: "A node's WireGuard port admits its peers' public IPs, one /32 each: never its own, never an address that is not a node of the mesh.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      wireguardPort: wireguardPortSchema,
      extraPeerIps: { type: "array", items: { type: "string" }, default: [], description: "Public IPs of peers the plan does not name (nodes made outside a Mesh); peerStacks' nodes are read from the Mesh's plan" },
    },
  },
  validateStack: (args, report) => {
    const { wireguardPort, extraPeerIps } = args.getConfig<{ wireguardPort: number; extraPeerIps: string[] }>();
    const nodes = args.resources.filter((r) => NODE_COMPONENTS.has(r.type));
    const ipOf = new Map(nodes.map((n) => [n.urn, publicIpOf(n)]));
    const meshIps = new Set([...[...ipOf.values()].filter((x): x is string => x !== undefined), ...plannedPeerIps(nodes), ...extraPeerIps]);
    for (const r of args.resources) {
      const node = nodeOf(r);
      if (!node) continue;
      for (const rule of ingressRules(r.type, r.props)) {
        if (!rule.protocol.match(/^(udp|all)$/) || !coversPort(rule, wireguardPort, "udp") || rule.sources.some(isWorld)) continue;
        const own = ipOf.get(node.urn);
        for (const s of rule.sources) {
          const ip = /^(\d+\.\d+\.\d+\.\d+)\/32$/.exec(s)?.[1];
          if (ip === undefined) report(`${r.name} ${rule.where}: WireGuard admits ${s}; a peer is one /32`, r.urn);
          else if (ip === own) report(`${r.name} ${rule.where}: WireGuard admits ${nodeName(node)}'s own IP ${ip}; only its peers dial it`, r.urn);
          else if (meshIps.size > 0 && !meshIps.has(ip)) report(`${r.name} ${rule.where}: WireGuard admits ${ip}, which is no node of this mesh`, r.urn);
        }
      }
    }
  },
};

export const accessPolicyRequired: StackValidationPolicy = {
  name: "wg-access-policy-required",
  description: "In the stacks named in environments (a * matches any run of characters), every Mesh declares an access policy (access under wg-mesh:mesh); without one every node reaches every other on every port.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { environments: { type: "array", items: { type: "string" }, default: [], description: "Stack names (such as prod, or prod-*) whose meshes must declare access" } },
  },
  validateStack: (args, report) => {
    const { environments } = args.getConfig<{ environments: string[] }>();
    if (environments.length === 0) return;
    for (const r of args.resources) {
      if (r.type !== MESH) continue;
      const { stack } = parseUrn(r.urn);
      if (!environmentListed(stack, environments)) continue;
      // Unknown until the plan is (a mesh with peerStacks, in preview): judged at update, when it is.
      if (accessDeclaredIn(r.props.summary) !== false) continue;
      report(`${r.name}: stack ${stack} is one of the environments that must declare access (${environments.join(", ")}), but its mesh has no access policy, so every node reaches every other on every port; declare access under wg-mesh:mesh (docs/access.md)`, r.urn);
    }
  },
};

/**
 * A mesh with a single point of failure: a node (or, asked, a link) whose loss cuts pairs until
 * someone redeploys. Read from the Mesh's summary, which the stack program fills from the same walk
 * of every single failure that `wgmesh plan` prints. In the stacks named in environments it makes
 * `resilience: node` (or another layout without one) a requirement; elsewhere it checks nothing.
 */
export const noSinglePointOfFailure: StackValidationPolicy = {
  name: "wg-no-single-point-of-failure",
  description: "In the stacks named in environments (a * matches any run of characters), no node of a mesh is a single point of failure (its loss cuts other pairs); with links: true, no link either. resilience: node gives a mesh none.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      environments: { type: "array", items: { type: "string" }, default: [], description: "Stack names (such as prod, or prod-*) whose meshes must survive any single node failure" },
      links: { type: "boolean", default: false, description: "Count links whose loss cuts pairs too" },
    },
  },
  validateStack: (args, report) => {
    const { environments, links } = args.getConfig<{ environments: string[]; links: boolean }>();
    if (environments.length === 0) return;
    for (const r of args.resources) {
      if (r.type !== MESH) continue;
      const { stack } = parseUrn(r.urn);
      if (!environmentListed(stack, environments)) continue;
      const summary = r.props.summary as { resilience?: { singlePoints?: unknown; mode?: unknown } } | undefined;
      const points = summary?.resilience?.singlePoints;
      // Unknown in a preview that cannot plan yet (a mesh with peerStacks): judged at update.
      if (!Array.isArray(points)) continue;
      const counted = points.filter((p): p is string => typeof p === "string" && (links || / down: /.test(p)));
      if (counted.length === 0) continue;
      const fix = summary?.resilience?.mode === "node" ? "resilience: node repairs node failures; a link between a node and its primary home cannot be repaired by its two ends alone (docs/failover.md)" : "declare resilience: node (docs/failover.md)";
      report(`stack ${stack} must survive any single failure (${environments.join(", ")}), but its mesh has ${counted.length} single point${counted.length === 1 ? "" : "s"} of failure (${counted.slice(0, 5).join("; ")}${counted.length > 5 ? "; ..." : ""}); ${fix}`, r.urn);
    }
  },
};

export const policies = [noWorldIngress, sshAdminOnly, imdsv2, disksEncrypted, vaultReadOneSecret, oneSecretPerVault, noKeyInUserData, wireguardSourcesArePeers, accessPolicyRequired, noSinglePointOfFailure];
