/**
 * Prod (Pulumi.prod.yaml) with an access policy: backends reach only the hub and the POPs of their
 * area, on tcp/443 and icmp; the hub reaches every node on tcp/22; ICMP echo needs a rule except
 * between direct neighbours. Its tests say the same, so a change that breaks it fails them.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { parseMeshConfig } from "../../infra/config";
import type { MeshPlan } from "../../infra/model";
import { planMesh } from "../../infra/plan";

const REPO = resolve(__dirname, "..", "..");

export const PROD_POLICY = {
  echo: "neighbours",
  groups: {
    backends: { roles: ["backend"] },
    "apac-backends": { roles: ["backend"], areas: ["apac"] },
    "apac-pops": { roles: ["pop"], areas: ["apac"] },
    hub: ["ireland"],
  },
  rules: [
    { from: "backends", to: "hub", allow: ["tcp/443", "icmp"] },
    { from: "apac-backends", to: "apac-pops", allow: ["tcp/443", "icmp"] },
    { from: "hub", to: "*", allow: ["tcp/22"] },
  ],
  tests: [
    { from: "nrt", to: "hkg", accept: ["tcp/443", "icmp"], deny: ["tcp/22"] },
    { from: "backends", to: "backends", deny: ["tcp/22", "tcp/443", "icmp"] },
    { from: "hub", to: "*", accept: ["tcp/22"] },
  ],
};

/** Prod's raw `wg-mesh:mesh` value. */
export function prodRaw(): Record<string, unknown> {
  const doc = parse(readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> };
  return { ...doc.config["wg-mesh:mesh"] };
}

/** Prod planned with `access` (PROD_POLICY unless given). */
export function prodWith(access: unknown = PROD_POLICY): MeshPlan {
  return planMesh(parseMeshConfig({ ...prodRaw(), access }));
}
