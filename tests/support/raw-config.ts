/** A raw `wg-mesh:mesh` declaration (the seed's three nodes) and the config checker's refusals, for config tests. */
import assert from "node:assert/strict";
import { parseMeshConfig } from "../../infra/config";
import { MeshConfigError, type ConfigIssue } from "../../infra/model";

export type Raw = Record<string, unknown> & { nodes: Record<string, Record<string, unknown>>; regions: Record<string, Record<string, unknown>> };

export function baseRaw(): Raw {
  return {
    overlay: "10.50.0.0/16",
    topology: "regional",
    hub: "ireland",
    regions: {
      central: { subnet: "10.50.0.0/24", area: "europe" },
      apac: { subnet: "10.50.4.0/24", area: "apac" },
      "apac-pop": { subnet: "10.50.5.0/24", area: "apac" },
    },
    nodes: {
      ireland: { role: "hub", region: "central", site: "dub", address: "10.50.0.1", cloud: "aws", aws: { region: "eu-west-1" } },
      hkg: { role: "pop", region: "apac-pop", site: "hkg", address: "10.50.5.1", cloud: "gcp", gcp: { project: "edgeproxy-prod", zone: "asia-east2-a" } },
      nrt: { role: "backend", region: "apac", site: "nrt", address: "10.50.4.1", cloud: "azure", azure: { location: "japaneast" } },
    },
  };
}

/** The issues `step` refuses its input with; fails the test when it is accepted. */
export function refusalIssues(step: () => unknown, what: string): ConfigIssue[] {
  try {
    step();
  } catch (err) {
    if (err instanceof MeshConfigError) return err.issues;
    throw err;
  }
  return assert.fail(`expected ${what} to be refused`);
}

/** The issues a config is refused with; fails the test when it is accepted. */
export function configIssuesOf(raw: unknown): ConfigIssue[] {
  return refusalIssues(() => parseMeshConfig(raw), "the config");
}
