/**
 * Faults people really make in wg-quick files, injected at random into rendered configs:
 * the simulator and the lab must then agree on exactly which pairs still work (and, for MTUs,
 * which still carry full-size packets).
 */
import { generatePresharedKey } from "../../infra/keys";
import type { WgQuickConfig } from "../../infra/model";
import { parseEndpoint } from "../../infra/simulate";
import { rng } from "./random-mesh";

export type FaultKind =
  | "peer-removed-one-side"
  | "prefix-dropped"
  | "forwarding-off"
  | "endpoint-removed-both-sides"
  | "mtu-mismatch"
  | "preshared-key-one-side"
  | "listen-port-changed"
  | "endpoint-wrong-node";
export const FAULT_KINDS: readonly FaultKind[] = [
  "peer-removed-one-side",
  "prefix-dropped",
  "forwarding-off",
  "endpoint-removed-both-sides",
  "mtu-mismatch",
  "preshared-key-one-side",
  "listen-port-changed",
  "endpoint-wrong-node",
];

/** Lab underlay is 1500 bytes; WireGuard adds 60 over IPv4, so any MTU up to 1440 fits it and only the mismatch shows. */
const FAULT_MTU_RANGE = [1280, 1440] as const;

export interface InjectedFault {
  kind: FaultKind;
  description: string;
}

type Configs = Record<string, WgQuickConfig>;

function clone(configs: Configs): Configs {
  return structuredClone(configs);
}

/**
 * Applies `count` random faults, re-picking the kind when the chosen one has nothing to act on
 * (no forwarding node, no Endpoint...), so a faulted topology really carries `count` faults.
 */
export function injectFaults(
  configs: Configs,
  seed: number,
  count: number,
  publicKeyOf: (node: string) => string,
  /** The kind to try first (a test cycling through kinds covers each); the rest are random. */
  firstKind?: FaultKind,
): { configs: Configs; faults: InjectedFault[] } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T | undefined => (xs.length ? xs[Math.floor(r() * xs.length)] : undefined);
  const out = clone(configs);
  const nodeOfKey = new Map(Object.keys(out).map((n) => [publicKeyOf(n), n]));
  const faults: InjectedFault[] = [];
  for (let i = 0, attempts = 0; i < count && attempts < 50; attempts++) {
    const kind = attempts === 0 && firstKind ? firstKind : (pick(FAULT_KINDS) as FaultKind);
    const fault = applyOne(kind, out, pick, r, nodeOfKey, publicKeyOf);
    if (fault) {
      faults.push(fault);
      i++;
    }
  }
  return { configs: out, faults };
}

type Pick = <T>(xs: readonly T[]) => T | undefined;

function applyOne(kind: FaultKind, out: Configs, pick: Pick, r: () => number, nodeOfKey: Map<string, string>, publicKeyOf: (node: string) => string): InjectedFault | undefined {
  const names = Object.keys(out).sort();
  const cfg = (n: string) => out[n] as WgQuickConfig;
  /** Mutual links: both ends list each other. */
  const links = names.flatMap((a) =>
    cfg(a)
      .peers.map((p) => nodeOfKey.get(p.publicKey))
      .filter((b): b is string => b !== undefined && b > a && cfg(b).peers.some((q) => q.publicKey === publicKeyOf(a)))
      .map((b) => [a, b] as const),
  );
  switch (kind) {
    case "peer-removed-one-side": {
      const node = pick(names.filter((n) => cfg(n).peers.length > 0));
      if (!node) return undefined;
      const idx = Math.floor(r() * cfg(node).peers.length);
      const [removed] = cfg(node).peers.splice(idx, 1);
      return { kind, description: `${node} no longer lists ${nodeOfKey.get(removed?.publicKey ?? "") ?? "?"}` };
    }
    case "prefix-dropped": {
      const candidates = names.flatMap((n) => cfg(n).peers.filter((p) => p.allowedIps.length > 0).map((p) => ({ n, p })));
      const choice = pick(candidates);
      if (!choice) return undefined;
      const idx = Math.floor(r() * choice.p.allowedIps.length);
      const [prefix] = choice.p.allowedIps.splice(idx, 1);
      return { kind, description: `${choice.n} dropped ${prefix} from peer ${nodeOfKey.get(choice.p.publicKey) ?? "?"}` };
    }
    case "forwarding-off": {
      const node = pick(names.filter((n) => cfg(n).iface.postUp.length > 0));
      if (!node) return undefined;
      cfg(node).iface.postUp = [];
      cfg(node).iface.postDown = [];
      return { kind, description: `${node} stopped forwarding` };
    }
    case "endpoint-removed-both-sides": {
      const dialled = names.flatMap((n) => cfg(n).peers.filter((p) => p.endpoint).map((p) => ({ n, peer: nodeOfKey.get(p.publicKey) })));
      const choice = pick(dialled.filter((d) => d.peer !== undefined));
      if (!choice) return undefined;
      cfg(choice.n).peers.filter((p) => p.publicKey === publicKeyOf(choice.peer as string)).forEach((p) => delete p.endpoint);
      cfg(choice.peer as string).peers.filter((p) => p.publicKey === publicKeyOf(choice.n)).forEach((p) => delete p.endpoint);
      return { kind, description: `no Endpoint between ${choice.n} and ${choice.peer}` };
    }
    case "mtu-mismatch": {
      // Either a forwarding node gets a smaller MTU (it then drops others' full-size packets), or
      // any node a larger one (its full-size packets die at the first forwarder): both are real mistakes.
      const forwarders = names.filter((n) => cfg(n).iface.postUp.length > 0 && cfg(n).peers.length > 0);
      const lower = forwarders.length > 0 && r() < 0.5;
      const node = pick(lower ? forwarders : names.filter((n) => cfg(n).peers.length > 0));
      if (!node) return undefined;
      const before = cfg(node).iface.mtu ?? 1420;
      const [lo, hi] = lower || before >= FAULT_MTU_RANGE[1] ? [FAULT_MTU_RANGE[0], before - 1] : [before + 1, FAULT_MTU_RANGE[1]];
      const mtu = lo + Math.floor(r() * (hi - lo + 1));
      cfg(node).iface.mtu = mtu;
      return { kind, description: `${node} has MTU ${mtu} (the others ${before})` };
    }
    case "preshared-key-one-side": {
      const link = pick(links);
      if (!link) return undefined;
      const [a, b] = r() < 0.5 ? link : ([link[1], link[0]] as const);
      const entry = cfg(a).peers.find((p) => p.publicKey === publicKeyOf(b)) as WgQuickConfig["peers"][number];
      if (entry.presharedKey !== undefined) {
        delete entry.presharedKey;
        return { kind, description: `${a} dropped the PresharedKey for ${b}; ${b} kept its` };
      }
      entry.presharedKey = generatePresharedKey();
      return { kind, description: `${a} has a PresharedKey for ${b}; ${b} has none` };
    }
    case "listen-port-changed": {
      const node = pick(names.filter((n) => cfg(n).iface.listenPort !== undefined));
      if (!node) return undefined;
      const before = cfg(node).iface.listenPort as number;
      cfg(node).iface.listenPort = before + 1 + Math.floor(r() * 100);
      return { kind, description: `${node} listens on ${cfg(node).iface.listenPort}, its peers dial ${before}` };
    }
    case "endpoint-wrong-node": {
      // Hosts the mesh agrees on: dialled by at least two nodes, so one wrong use cannot outvote them.
      const voters = new Map<string, { node: string; from: Set<string>; port: number }>();
      for (const n of names) {
        for (const p of cfg(n).peers) {
          const to = nodeOfKey.get(p.publicKey);
          const at = p.endpoint === undefined ? undefined : parseEndpoint(p.endpoint);
          if (!to || !at) continue;
          const v = voters.get(at.host) ?? { node: to, from: new Set<string>(), port: at.port };
          v.from.add(n);
          voters.set(at.host, v);
        }
      }
      const choices = names.flatMap((n) =>
        cfg(n)
          .peers.filter((p) => p.endpoint !== undefined)
          .flatMap((p) =>
            [...voters.entries()]
              .filter(([, v]) => v.node !== n && v.node !== nodeOfKey.get(p.publicKey) && [...v.from].filter((f) => f !== n).length >= 2)
              .map(([host, v]) => ({ n, p, host, v })),
          ),
      );
      const choice = pick(choices);
      if (!choice) return undefined;
      const port = parseEndpoint(choice.p.endpoint as string)?.port ?? choice.v.port;
      choice.p.endpoint = `${choice.host}:${port}`;
      return { kind, description: `${choice.n}'s Endpoint for ${nodeOfKey.get(choice.p.publicKey) ?? "?"} names ${choice.v.node}'s host` };
    }
  }
}
