/**
 * WAN round-trip times between sites, for the lab's relay. Accepts the shared data files
 * ({"rttMs": {"dub-gru": 172, ...}}) and a plain {"dub-gru": 172} map. Keys are symmetric:
 * "a-b" also answers b to a.
 */
import { formatPath } from "../infra/config/issues";
import { hasUnprintable, plainText, quote } from "../infra/quote";
import { LabError } from "./errors";

export interface LatencyTable {
  /** Where the numbers came from, for messages. */
  label: string;
  rttMs: ReadonlyMap<string, number>;
}

export function parseLatencyJson(text: string, label: string): LatencyTable {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LabError(`${label}: not valid JSON (${plainText(err instanceof Error ? err.message : String(err), 80)}); write {"rttMs": {"siteA-siteB": milliseconds}}`);
  }
  if (!isObject(raw)) throw new LabError(`${label}: expected an object of "siteA-siteB": milliseconds`);
  const table = "rttMs" in raw ? raw.rttMs : raw;
  const path = "rttMs" in raw ? "rttMs" : "";
  if (!isObject(table)) throw new LabError(`${label}: ${path || "the file"} must be an object of "siteA-siteB": milliseconds`);
  const rttMs = new Map<string, number>();
  for (const [key, value] of Object.entries(table)) {
    const where = `${label}: ${formatPath(path, [key])}`;
    if (!/^[^-]+-.+$/.test(key) || hasUnprintable(key)) throw new LabError(`${where}: a key names two sites as "siteA-siteB"`);
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new LabError(`${where}: must be a round-trip time in milliseconds (a number >= 0), got ${typeof value === "string" ? quote(value) : plainText(JSON.stringify(value) ?? String(value), 40)}`);
    }
    rttMs.set(key, value);
  }
  if (rttMs.size === 0) throw new LabError(`${label}: no round-trip times in it`);
  return { label, rttMs };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Round trip between two sites; undefined for a pair the table lacks (and for one site, unless the table gives "a-a"). */
export function rttBetween(table: LatencyTable, siteA: string, siteB: string): number | undefined {
  if (siteA === siteB) return table.rttMs.get(`${siteA}-${siteA}`);
  return table.rttMs.get(`${siteA}-${siteB}`) ?? table.rttMs.get(`${siteB}-${siteA}`);
}

export function parseScale(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new LabError(`--scale ${text}: must be a number >= 0 (e.g. 0.1 for a tenth of the real delays)`);
  return n;
}

/**
 * `--site NODE=SITE`, repeatable: which site code of the latency table a node stands for
 * (with --dir every node is its own site, and a seed hub called ireland is dub in the table).
 */
export function parseSites(values: readonly string[], nodes: readonly string[]): Map<string, string> {
  const sites = new Map<string, string>();
  for (const value of values) {
    const m = /^([^=]+)=(.+)$/.exec(value);
    if (!m) throw new LabError(`--site ${quote(value)}: write NODE=SITE, e.g. ireland=dub`);
    const [, node, site] = m as unknown as [string, string, string];
    if (!nodes.includes(node)) throw new LabError(`--site ${quote(value)}: there is no node ${quote(node)}; nodes: ${nodes.join(", ")}`);
    sites.set(node, site);
  }
  return sites;
}
