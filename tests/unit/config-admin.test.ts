/**
 * Who may reach the nodes: admin ranges no wider than a limit the declaration raises on purpose,
 * never the whole internet, and documentation ranges (RFC 5737, RFC 3849) in adminCidrs or
 * an Endpoint said out loud, since no real host has them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadStackConfig, parseMeshConfig } from "../../infra/config";
import type { ConfigIssue } from "../../infra/model";
import { runCliInProcess } from "../support/cli-in-process";
import { baseRaw, configIssuesOf, type Raw } from "../support/raw-config";

const REPO = join(__dirname, "..", "..");

function withAdmin(adminCidrs: unknown, extra: Record<string, unknown> = {}): Raw {
  return { ...baseRaw(), adminCidrs, ...extra };
}

function lines(raw: unknown): string[] {
  return configIssuesOf(raw).map((i) => `${i.path}: ${i.message}`);
}

function warningsOf(raw: unknown): string[] {
  const warnings: ConfigIssue[] = [];
  parseMeshConfig(raw, warnings);
  return warnings.map((w) => `${w.path}: ${w.message}`);
}

test("an admin range wider than /16 is refused, saying what it opens and how to allow it on purpose", () => {
  assert.deepEqual(lines(withAdmin(["0.0.0.0/1"])), [
    "adminCidrs[0]: 0.0.0.0/1 opens SSH (port 22 on every node) to 2,147,483,648 addresses, 50% of IPv4; admin ranges are at most /16 (65,536 addresses): list your office or VPN ranges, or set widestAdminCidr: 1 to open it on purpose",
  ]);
  assert.deepEqual(lines(withAdmin(["198.18.0.0/24", "10.0.0.0/15"])), [
    "adminCidrs[1]: 10.0.0.0/15 opens SSH (port 22 on every node) to 131,072 addresses; admin ranges are at most /16 (65,536 addresses): list your office or VPN ranges, or set widestAdminCidr: 15 to open it on purpose",
  ]);
  assert.deepEqual(parseMeshConfig(withAdmin(["10.0.0.0/16", "192.168.1.7/32"])).adminCidrs, ["10.0.0.0/16", "192.168.1.7/32"]);
  // Raised on purpose: taken, and a very wide one still warns.
  assert.equal(parseMeshConfig(withAdmin(["10.0.0.0/15"], { widestAdminCidr: 15 })).widestAdminCidr, 15);
  assert.deepEqual(warningsOf(withAdmin(["0.0.0.0/1"], { widestAdminCidr: 1 })), ["adminCidrs: admit 2,147,483,648 addresses (50% of IPv4) to SSH; list only your office or VPN ranges"]);
  // Never the whole internet, whatever the limit.
  assert.match(lines(withAdmin(["0.0.0.0/1", "128.0.0.0/1"], { widestAdminCidr: 1 })).join("\n"), /^adminCidrs: together they cover the whole internet \(0\.0\.0\.0\/1 \+ 128\.0\.0\.0\/1\)/);
  assert.match(lines(withAdmin(["0.0.0.0/0"], { widestAdminCidr: 1 })).join("\n"), /^adminCidrs\[0\]: 0\.0\.0\.0\/0 opens SSH to the whole internet/);
  assert.match(lines(withAdmin([], { widestAdminCidr: 0 })).join("\n"), /^widestAdminCidr: must be at least 1/);
});

test("documentation ranges warn, in adminCidrs and in an external node's Endpoint; IPv6's is refused with the rest of IPv6", () => {
  assert.deepEqual(warningsOf(withAdmin(["203.0.113.0/24", "10.1.0.0/24", "198.51.100.7/32"])), [
    "adminCidrs[0]: 203.0.113.0/24 is in TEST-NET-3 (203.0.113.0/24, RFC 5737), kept for examples in documentation: no real host has such an address, so SSH admits nobody and the nodes' ssh hints will not connect; list your office or VPN range",
    "adminCidrs[2]: 198.51.100.7/32 is in TEST-NET-2 (198.51.100.0/24, RFC 5737), kept for examples in documentation: no real host has such an address, so SSH admits nobody and the nodes' ssh hints will not connect; list your office or VPN range",
  ]);
  const ext = baseRaw();
  ext.nodes.office = { role: "backend", region: "central", site: "dub", address: "10.50.0.9", cloud: "external", external: { endpoint: "192.0.2.10" } };
  assert.deepEqual(warningsOf(ext), [
    "nodes.office.external.endpoint: 192.0.2.10 is in TEST-NET-1 (192.0.2.0/24, RFC 5737), kept for examples in documentation: no real host has it, so its peers' handshakes will not be answered; give the node's public address",
  ]);
  assert.deepEqual(lines(withAdmin(["2001:db8::/32"])), ['adminCidrs[0]: "2001:db8::/32" is IPv6, and 2001:db8::/32 is reserved for documentation (RFC 3849): no real host has it; list your office or VPN\'s IPv4 ranges']);
  assert.deepEqual(warningsOf(withAdmin(["100.64.9.0/24"])), [], "a range next to one is not one");
});

test("prod and staging plan without a warning: the main job stays quiet", () => {
  for (const stack of ["prod", "staging"]) {
    const warnings: ConfigIssue[] = [];
    const spec = loadStackConfig(readFileSync(join(REPO, `Pulumi.${stack}.yaml`)), `Pulumi.${stack}.yaml`, warnings);
    assert.deepEqual(warnings, [], stack);
    assert.ok(spec.adminCidrs.length > 0, `${stack} keeps an SSH rule`);
  }
});

test("wgmesh plan prints the warning on stderr, once per range, and still plans", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-docrange-"));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
  writeFileSync(join(dir, "Pulumi.docs.yaml"), readFileSync(join(REPO, "Pulumi.staging.yaml"), "utf8").replace("- 10.255.0.0/24", "- 203.0.113.0/24"));
  const r = await runCliInProcess(["plan", "--stack", "docs"], dir);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    r.stderr.trimEnd().split("\n"),
    [
      "warning: Pulumi.docs.yaml: adminCidrs[0]: 203.0.113.0/24 is in TEST-NET-3 (203.0.113.0/24, RFC 5737), kept for examples in documentation: no real host has such an address, so SSH admits nobody and the nodes' ssh hints will not connect; list your office or VPN range",
    ],
  );
  assert.match(r.stdout, /ordered pairs reachable/);
});
