/**
 * A planned mesh as the files `wgmesh render` writes: `<node>/wg0.conf` for every node, the files
 * riding with it as a node installs them (`<node>/wg0.d/failover.conf` for a resilient mesh's
 * failover table, `<node>/wg0.d/wgmesh-access.nft` for an access policy's ruleset: nodeFiles),
 * `<node>/wg0.d/wgmesh-access.iptables` for an external node (the same ruleset for a host with
 * iptables and no nft; cloud nodes always have nft, so it is not in their vault entry), and
 * `<node>/cloud-init.yaml` for every cloud node, with the key handling the caller chose.
 */
import { ACCESS_IPTABLES_FILE, renderAccessIptablesRulesets } from "../access/files";
import type { MeshPlan } from "../model";
import { vaultLocatorFor } from "../vault";
import { renderCloudInit } from "./cloudinit";
import { offlineEndpoints, placeholderKeys, renderAll, throwAwayKeys } from "./mesh";
import { nodeFiles } from "./node-files";

export interface RenderedFile {
  /** Relative, `/`-separated. */
  path: string;
  content: string;
  /** Holds a private key: written mode 600. */
  secret: boolean;
}

/** `ephemeralKeys`: real throw-away keys (lab and tests); otherwise clearly marked placeholders. */
export function renderMeshFiles(plan: MeshPlan, opts: { project: string; stack: string; ephemeralKeys: boolean }): RenderedFile[] {
  const keys = opts.ephemeralKeys ? throwAwayKeys(plan) : placeholderKeys(plan);
  const configs = renderAll(plan, keys, offlineEndpoints(plan));
  const files: RenderedFile[] = [];
  const iptables = renderAccessIptablesRulesets(plan, new Set(plan.spec.nodes.filter((n) => n.cloud === "external").map((n) => n.name)));
  for (const node of plan.spec.nodes) {
    files.push({ path: `${node.name}/wg0.conf`, content: configs[node.name] as string, secret: opts.ephemeralKeys });
    for (const [name, content] of Object.entries(nodeFiles(plan, node.name, keys.publicKeys))) files.push({ path: `${node.name}/wg0.d/${name}`, content, secret: false });
    const iptablesRuleset = iptables.get(node.name);
    if (iptablesRuleset) files.push({ path: `${node.name}/wg0.d/${ACCESS_IPTABLES_FILE}`, content: iptablesRuleset, secret: false });
    const vault = vaultLocatorFor(node, opts.project, opts.stack);
    if (vault) files.push({ path: `${node.name}/cloud-init.yaml`, content: renderCloudInit({ node: node.name, vault }), secret: false });
  }
  return files;
}
