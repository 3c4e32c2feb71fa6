/**
 * No config message echoes key material (the guide: no private key in any message). A
 * WireGuard key, whole or cut the way a truncated file or a bad paste cuts it, is written into
 * every string field of a config and used as a map key; every path and message the checker
 * answers with is scanned for any 16 characters of it. Fuzz seed 790708352 found the first
 * leak: 25 characters of a key left in nodes.fra.gcp.zone by a file cut, echoed in full.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMeshConfig } from "../../infra/config";
import { formatPath } from "../../infra/config/issues";
import { meshSchema, schemaKeys } from "../../infra/config/schema";
import { MeshConfigError, type ConfigIssue } from "../../infra/model";
import { issueLines } from "../../infra/problem-lines";
import { baseRaw, type Raw } from "../support/raw-config";
import { rng } from "../support/random-mesh";

/** Keys from a seeded generator (32 random bytes in base64, as `wg genkey` prints), the same on every run. */
function seededKeys(count: number, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => Buffer.from(Array.from({ length: 32 }, () => Math.floor(r() * 256))).toString("base64"));
}

/** The seed's config with every optional string field filled, so each kind of field is there to break. */
function fullRaw(): Raw {
  const raw = baseRaw();
  raw.adminCidrs = ["10.255.0.0/24"];
  raw.peerStacks = ["acme/wg-mesh/prod-apac"];
  Object.assign(raw.nodes.ireland as Record<string, unknown>, { aws: { region: "eu-west-1", instanceType: "t3.micro", ami: "ami-0123456789abcdef0", vpcId: "vpc-0123456789abcdef0", subnetId: "subnet-0123456789abcdef0" } });
  Object.assign(raw.nodes.hkg as Record<string, unknown>, { gcp: { project: "edgeproxy-prod", zone: "asia-east2-a", region: "asia-east2", machineType: "e2-small", image: "ubuntu-os-cloud/ubuntu-2404-lts-amd64", network: "default", subnetwork: "edge-asia" } });
  Object.assign(raw.nodes.nrt as Record<string, unknown>, { azure: { location: "japaneast", vmSize: "Standard_B1s", image: "Canonical:ubuntu-24_04-lts:server:latest" }, links: [{ peer: "hkg", weight: 80 }, "ireland"] });
  raw.nodes.ext = { role: "backend", region: "apac", site: "sin", address: "10.50.4.9", cloud: "external", external: { endpoint: "vpn.example.com" } };
  return raw;
}

type Path = (string | number)[];

function stringPaths(value: unknown, at: Path = []): Path[] {
  if (typeof value === "string") return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringPaths(v, [...at, i]));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...at, k]));
  return [];
}

function setAt(root: unknown, path: Path, value: unknown): void {
  let at = root as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) at = at[seg] as Record<string | number, unknown>;
  at[path[path.length - 1] as string | number] = value;
}

/** The lines a person reads for this config: every issue and warning, repeats counted as the CLI counts them. */
function answer(raw: unknown): string {
  const warnings: ConfigIssue[] = [];
  try {
    parseMeshConfig(raw, warnings);
    return issueLines(warnings).join("\n");
  } catch (err) {
    if (!(err instanceof MeshConfigError)) throw err;
    return [...issueLines(err.issues), ...issueLines(warnings)].join("\n");
  }
}

function assertNoFragment(out: string, key: string, label: string): void {
  for (let i = 0; i + 16 <= key.length; i++) assert.ok(!out.includes(key.slice(i, i + 16)), `${label}: key material ${key.slice(i, i + 16)} in\n${out}`);
}

/** A key as it ends up in a field: whole, unpadded, the head a cut file leaves, the tail or middle a bad paste leaves, glued to text. */
function cuts(key: string, field: string): string[] {
  return [key, key.replace(/=$/, ""), key.slice(0, 16), key.slice(0, 25), key.slice(0, 33), key.slice(-16), key.slice(10, 36), `${field}${key.slice(0, 20)}`, `${key.slice(5, 30)}\u200b`];
}

test("a key, whole or cut, in any string field of a config is never echoed in a path or message", () => {
  const keys = seededKeys(3, 790708352);
  const fields = stringPaths(fullRaw());
  assert.ok(fields.length >= 30, `${fields.length} string fields`);
  let refused = 0;
  for (const [k, key] of keys.entries()) {
    for (const path of fields) {
      for (const form of cuts(key, String(path[path.length - 1]))) {
        const raw = fullRaw();
        setAt(raw, path, form);
        const out = answer(raw);
        assertNoFragment(out, key, `key ${k} as ${JSON.stringify(form)} in ${path.join(".")}`);
        if (out.includes("<base64, ")) refused++;
      }
    }
  }
  // Most forms make the field wrong and are answered, with the value hidden, not silently accepted.
  assert.ok(refused > (keys.length * fields.length * 9) / 2, `${refused} messages showed a hidden value`);
});

test("a key as a node or region name is never echoed in the path that names it", () => {
  for (const key of seededKeys(3, 1842997108)) {
    for (const name of [key, key.replace(/[+/=]/g, "A"), key.slice(0, 20)]) {
      const raw = fullRaw();
      raw.nodes[name] = raw.nodes.ext as Record<string, unknown>;
      raw.regions[name] = { subnet: "10.50.9.0/24", area: "apac" };
      const out = answer(raw);
      assert.match(out, /<base64, \d+ chars, not shown>/);
      assertNoFragment(out, name, `name ${name}`);
    }
  }
});

test("ordinary values in a message are still quoted in full", () => {
  const cases: [Path, string, RegExp][] = [
    [["nodes", "hkg", "gcp", "zone"], "asia-east2", /^nodes\.hkg\.gcp\.zone: "asia-east2" is not a GCP zone/m],
    [["nodes", "nrt", "azure", "location"], "northcentralusstagex", /^nodes\.nrt\.azure\.location: unknown Azure location "northcentralusstagex"/m],
    [["nodes", "nrt", "azure", "vmSize"], "standard_D16ds_v5", /^nodes\.nrt\.azure\.vmSize: "standard_D16ds_v5" is not a VM size/m],
    [["nodes", "ireland", "aws", "ami"], "ami-0123456789abcdef", /^nodes\.ireland\.aws\.ami: "ami-0123456789abcdef" is not an AMI id/m],
    [["nodes", "hkg", "region"], "asia-pacific-southeast", /^nodes\.hkg\.region: unknown region "asia-pacific-southeast"/m],
  ];
  for (const [path, value, expected] of cases) {
    const raw = fullRaw();
    setAt(raw, path, value);
    assert.match(answer(raw), expected);
  }
});

test("every key the declaration's schema names is written plainly in a path, however random it reads", () => {
  const keys = [...schemaKeys(meshSchema)];
  assert.ok(keys.includes("failoverMaxStretch") && keys.includes("persistentKeepalive") && keys.includes("adminFrom"), keys.join(" "));
  for (const key of keys) assert.equal(formatPath("", [key]), key);
  // A key cut into a map key is still hidden: the schema's words are the only exception.
  const [key] = seededKeys(1, 7) as [string];
  assert.doesNotMatch(formatPath("nodes", [key.slice(0, 20)]), new RegExp(key.slice(0, 20).replace(/[+/]/g, "\\$&")));
});

test("failoverMaxStretch: named in its message, and refused without resilience: node", () => {
  const lineOf = (raw: Raw): string => {
    try {
      parseMeshConfig(raw);
    } catch (err) {
      if (err instanceof MeshConfigError) return issueLines(err.issues).join("\n");
      throw err;
    }
    return "";
  };
  assert.match(lineOf({ ...baseRaw(), resilience: "node", failoverMaxStretch: -1 }), /^failoverMaxStretch: must be at least 1/m);
  assert.match(lineOf({ ...baseRaw(), failoverMaxStretch: 2 }), /^failoverMaxStretch: only resilience: node has failover paths to bound; remove it or set resilience: node$/m);
});
