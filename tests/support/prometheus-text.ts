/**
 * Prometheus's text exposition format read by a real parser (parse-prometheus-text-format, a port of
 * the Prometheus Python client's), and promtool's own checks where Debian's prometheus package is
 * installed. The npm package ships no types; the shape below is what it returns.
 */
import { spawnSync } from "node:child_process";
import { findOnPath } from "../../lab/preflight";

export interface PromSample {
  value: string;
  labels?: Record<string, string>;
}

export interface PromFamily {
  name: string;
  help: string;
  /** Upper case, as the parser gives it: GAUGE, COUNTER, ... */
  type: string;
  metrics: PromSample[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const parser = require("parse-prometheus-text-format") as (text: string) => PromFamily[];

export function parsePrometheusText(text: string): PromFamily[] {
  return parser(text);
}

/** promtool from PATH; a test that needs it fails saying how to get it. */
export function promtool(args: string[], input?: string): { code: number; output: string } {
  const bin = findOnPath("promtool");
  if (!bin) throw new Error("promtool not found: install Debian's prometheus package (apt-get install prometheus)");
  const r = spawnSync(bin, args, { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
  return { code: r.status ?? 1, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}
