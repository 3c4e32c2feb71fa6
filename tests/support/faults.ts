/**
 * Faults people really make in wg-quick files, injected at random into rendered configs:
 * the simulator and the lab must then agree on exactly which pairs still work.
 */
import type { WgQuickConfig } from "../../infra/model";
import { rng } from "./random-mesh";

export type FaultKind = "peer-removed-one-side" | "prefix-dropped" | "forwarding-off" | "endpoint-removed-both-sides";
export const FAULT_KINDS: readonly FaultKind[] = ["peer-removed-one-side", "prefix-dropped", "forwarding-off", "endpoint-removed-both-sides"];

export interface InjectedFault {
  kind: FaultKind;
  description: string;
}

type Configs = Record<string, WgQuickConfig>;

function clone(configs: Configs): Configs {
  return structuredClone(configs);
}

/** Applies `count` random faults; a fault with nothing to act on is skipped and described as such. */
export function injectFaults(configs: Configs, seed: number, count: number, publicKeyOf: (node: string) => string): { configs: Configs; faults: InjectedFault[] } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T | undefined => (xs.length ? xs[Math.floor(r() * xs.length)] : undefined);
  const out = clone(configs);
  const nodeOfKey = new Map(Object.keys(out).map((n) => [publicKeyOf(n), n]));
  const faults: InjectedFault[] = [];
  for (let i = 0; i < count; i++) {
    const kind = pick(FAULT_KINDS) as FaultKind;
    const names = Object.keys(out).sort();
    switch (kind) {
      case "peer-removed-one-side": {
        const node = pick(names.filter((n) => (out[n]?.peers.length ?? 0) > 0));
        if (!node) break;
        const cfg = out[node] as WgQuickConfig;
        const idx = Math.floor(r() * cfg.peers.length);
        const [removed] = cfg.peers.splice(idx, 1);
        faults.push({ kind, description: `${node} no longer lists ${nodeOfKey.get(removed?.publicKey ?? "") ?? "?"}` });
        break;
      }
      case "prefix-dropped": {
        const candidates = names.flatMap((n) => (out[n] as WgQuickConfig).peers.filter((p) => p.allowedIps.length > 0).map((p) => ({ n, p })));
        const choice = pick(candidates);
        if (!choice) break;
        const idx = Math.floor(r() * choice.p.allowedIps.length);
        const [prefix] = choice.p.allowedIps.splice(idx, 1);
        faults.push({ kind, description: `${choice.n} dropped ${prefix} from peer ${nodeOfKey.get(choice.p.publicKey) ?? "?"}` });
        break;
      }
      case "forwarding-off": {
        const node = pick(names.filter((n) => (out[n] as WgQuickConfig).iface.postUp.length > 0));
        if (!node) break;
        const iface = (out[node] as WgQuickConfig).iface;
        iface.postUp = [];
        iface.postDown = [];
        faults.push({ kind, description: `${node} stopped forwarding` });
        break;
      }
      case "endpoint-removed-both-sides": {
        const dialled = names.flatMap((n) =>
          (out[n] as WgQuickConfig).peers.filter((p) => p.endpoint).map((p) => ({ n, peer: nodeOfKey.get(p.publicKey) })),
        );
        const choice = pick(dialled.filter((d) => d.peer !== undefined));
        if (!choice) break;
        const a = out[choice.n] as WgQuickConfig;
        const b = out[choice.peer as string] as WgQuickConfig;
        a.peers.filter((p) => p.publicKey === publicKeyOf(choice.peer as string)).forEach((p) => delete p.endpoint);
        b.peers.filter((p) => p.publicKey === publicKeyOf(choice.n)).forEach((p) => delete p.endpoint);
        faults.push({ kind, description: `no Endpoint between ${choice.n} and ${choice.peer}` });
        break;
      }
    }
  }
  return { configs: out, faults };
}
