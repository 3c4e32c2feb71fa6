/**
 * Rendering a whole mesh at once: every node's wg0.conf from one key set. Used offline
 * (plan, render, lab) with throw-away keys; the stack program renders per node itself
 * because its keys are Pulumi outputs.
 */
import { generateKeyPair, generatePresharedKey } from "../keys";
import type { MeshPlan } from "../model";
import { renderFailover, type WatchdogClock } from "../failover/format";
import { placeholderEndpoint, placeholderPrivateKey, renderNodeConfig } from "./wgquick";

export interface MeshKeys {
  privateKeys: Record<string, string>;
  publicKeys: Record<string, string>;
  presharedKeys?: Record<string, string>;
}

/** Real keys nobody keeps: the configs can be brought up as they are, in the lab or tests. */
export function throwAwayKeys(plan: MeshPlan): MeshKeys {
  const privateKeys: Record<string, string> = {};
  const publicKeys: Record<string, string> = {};
  for (const node of plan.nodes) {
    const pair = generateKeyPair();
    privateKeys[node.name] = pair.privateKey;
    publicKeys[node.name] = pair.publicKey;
  }
  const keys: MeshKeys = { privateKeys, publicKeys };
  if (plan.spec.presharedKeys) keys.presharedKeys = Object.fromEntries(plan.links.map((l) => [l.id, generatePresharedKey()]));
  return keys;
}

/**
 * Keys for reading, not running: clearly marked placeholders. Public keys still need to be
 * distinct per node, so they are named after it.
 */
export function placeholderKeys(plan: MeshPlan): MeshKeys {
  return {
    privateKeys: Object.fromEntries(plan.nodes.map((n) => [n.name, placeholderPrivateKey(n.name)])),
    publicKeys: Object.fromEntries(plan.nodes.map((n) => [n.name, `<${n.name}-public-key>`])),
    ...(plan.spec.presharedKeys ? { presharedKeys: Object.fromEntries(plan.links.map((l) => [l.id, `<${l.id}-preshared-key>`])) } : {}),
  };
}

/** Declared endpoints where there are some, reserved never-resolving names for VMs not yet deployed. */
export function offlineEndpoints(plan: MeshPlan): Record<string, string> {
  const out: Record<string, string> = {};
  for (const node of plan.spec.nodes) {
    const declared = node.external?.endpoint;
    if (declared) out[node.name] = declared.replace(/:\d+$/, "");
    else if (node.cloud !== "external") out[node.name] = placeholderEndpoint(node.name);
  }
  return out;
}

export function renderAll(plan: MeshPlan, keys: MeshKeys, endpoints: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const node of plan.nodes) {
    const renderKeys = {
      privateKey: keys.privateKeys[node.name] as string,
      publicKeys: keys.publicKeys,
      endpoints,
      ...(keys.presharedKeys ? { presharedKeys: keys.presharedKeys } : {}),
    };
    out[node.name] = renderNodeConfig(plan, node.name, renderKeys);
  }
  return out;
}

/** Every node's failover.conf (nodes without failover have none). */
export function renderAllFailover(plan: MeshPlan, keys: Pick<MeshKeys, "publicKeys">, clock?: WatchdogClock): Record<string, string> {
  const out: Record<string, string> = {};
  for (const node of plan.nodes) {
    const text = renderFailover(node.name, node.failover, keys.publicKeys, clock);
    if (text !== undefined) out[node.name] = text;
  }
  return out;
}
