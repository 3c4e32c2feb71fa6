import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatPrefix, parseIPv4, parsePrefix, type Prefix } from "../../infra/cidr";
import { aggregate, lookup } from "../../infra/plan/allowedips";

const p = (s: string): Prefix => parsePrefix(s) ?? assert.fail(s);
const ip = (s: string): number => parseIPv4(s) ?? assert.fail(s);
const plan = { roots: [p("10.50.0.0/16")], regions: ["10.50.0.0/24", "10.50.1.0/24", "10.50.4.0/24", "10.50.5.0/24"].map(p) };

test("a spoke: one overlay-wide prefix to the hub, the region of its POP whole", () => {
  const entries = aggregate(
    [
      { ip: ip("10.50.0.1"), nextHop: "hub" },
      { ip: ip("10.50.1.1"), nextHop: "hub" },
      { ip: ip("10.50.1.2"), nextHop: "hub" },
      { ip: ip("10.50.4.2"), nextHop: "pop" },
      { ip: ip("10.50.4.3"), nextHop: "pop" },
      { ip: ip("10.50.5.1"), nextHop: "pop" },
    ],
    plan,
    "hub",
  );
  assert.deepEqual(
    entries.map((e) => `${formatPrefix(e.prefix)} ${e.nextHop}`),
    ["10.50.0.0/16 hub", "10.50.4.0/24 pop", "10.50.5.0/24 pop"],
  );
});

test("a tie for most destinations goes to nobody unless one of them is the hub", () => {
  const dests = [
    { ip: ip("10.50.1.1"), nextHop: "a" },
    { ip: ip("10.50.1.2"), nextHop: "a" },
    { ip: ip("10.50.4.1"), nextHop: "b" },
    { ip: ip("10.50.4.2"), nextHop: "b" },
  ];
  assert.ok(aggregate(dests, plan).every((e) => e.prefix.len === 24));
  assert.deepEqual(aggregate(dests, plan, "b").map((e) => `${formatPrefix(e.prefix)} ${e.nextHop}`), ["10.50.0.0/16 b", "10.50.1.0/24 a"]);
});

test("no dominant peer: no overlay-wide prefix at all, only regions and addresses", () => {
  const entries = aggregate(
    [
      { ip: ip("10.50.1.1"), nextHop: "a" },
      { ip: ip("10.50.1.2"), nextHop: "b" },
      { ip: ip("10.50.4.1"), nextHop: "c" },
    ],
    plan,
  );
  assert.ok(entries.every((e) => e.prefix.len >= 24));
  assert.deepEqual(entries.map((e) => `${formatPrefix(e.prefix)} ${e.nextHop}`), ["10.50.1.1/32 a", "10.50.1.2/32 b", "10.50.4.0/24 c"]);
});

test("property: every destination is routed to its next hop, and tables stay small", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 1023 }), { minLength: 1, maxLength: 200 }),
      fc.array(fc.constantFrom("hub", "p1", "p2", "p3"), { minLength: 200, maxLength: 200 }),
      (hosts, hops) => {
        const dests = hosts.map((h, i) => ({ ip: ip("10.50.0.0") + h, nextHop: hops[i] as string }));
        const entries = aggregate(dests, plan);
        for (const d of dests) assert.equal(lookup(entries, d.ip), d.nextHop);
        assert.ok(entries.length <= dests.length + 1);
      },
    ),
    { numRuns: 300 },
  );
});
