import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatIPv4 } from "../../infra/cidr";
import type { WgInterface, WgPeer, WgQuickConfig } from "../../infra/model";
import { formatWgQuick, parseWgQuick } from "../../infra/wgquick";

// Values as wg-quick can carry them: one line, no `#` (wg-quick cuts comments there), no edge spaces.
const word = fc.stringMatching(/^[A-Za-z0-9_.%/+-]{1,12}$/);
const command = fc.array(word, { minLength: 1, maxLength: 5 }).map((ws) => ws.join(" "));
const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("base64"));
const ipv4 = fc.integer({ min: 0, max: 0xffffffff }).map(formatIPv4);
const cidr = fc.tuple(ipv4, fc.option(fc.integer({ min: 0, max: 32 }), { nil: undefined })).map(([ip, len]) => (len === undefined ? ip : `${ip}/${len}`));
const endpoint = fc.oneof(
  fc.tuple(ipv4, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}(\.[a-z0-9-]{1,8}){0,3}$/), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
);
const commentLine = fc.array(word, { minLength: 1, maxLength: 4 }).map((ws) => ws.join(" "));
const comment = fc.array(commentLine, { minLength: 1, maxLength: 3 }).map((ls) => ls.join("\n"));
const otherKey = fc.constantFrom("DNS", "Table", "SaveConfig", "FwMark", "Frobnicate");

const iface: fc.Arbitrary<WgInterface> = fc.record(
  {
    privateKey: key,
    addresses: fc.array(cidr, { maxLength: 3 }),
    listenPort: fc.integer({ min: 0, max: 65535 }),
    mtu: fc.integer({ min: 68, max: 65535 }),
    postUp: fc.array(command, { maxLength: 3 }),
    postDown: fc.array(command, { maxLength: 3 }),
    preUp: fc.array(command, { maxLength: 2 }),
    preDown: fc.array(command, { maxLength: 2 }),
    other: fc.dictionary(otherKey, word, { maxKeys: 3 }).map((d) => new Map(Object.entries(d))),
  },
  { requiredKeys: ["addresses", "postUp", "postDown", "preUp", "preDown", "other"] },
).map((i) => ({ ...i })); // plain prototypes, as the parser makes them; other is a Map

const peer: fc.Arbitrary<WgPeer> = fc.record(
  {
    publicKey: key,
    presharedKey: key,
    endpoint,
    allowedIps: fc.array(cidr, { maxLength: 4 }),
    persistentKeepalive: fc.integer({ min: 0, max: 65535 }),
    comment,
  },
  { requiredKeys: ["publicKey", "allowedIps"] },
).map((p) => ({ ...p }));

const config: fc.Arbitrary<WgQuickConfig> = fc.record({ iface, peers: fc.array(peer, { maxLength: 5 }) }).map((c) => ({ ...c }));

test("parseWgQuick(formatWgQuick(x)) gives x back, with or without a header", () => {
  fc.assert(
    fc.property(config, fc.array(commentLine, { maxLength: 3 }), (cfg, header) => {
      assert.deepEqual(parseWgQuick(formatWgQuick(cfg, { header }), "prop.conf"), cfg);
    }),
    { numRuns: 500 },
  );
});

test("formatting is deterministic and a fixed point: format(parse(format(x))) === format(x)", () => {
  fc.assert(
    fc.property(config, (cfg) => {
      const text = formatWgQuick(cfg);
      assert.equal(formatWgQuick(parseWgQuick(text, "p.conf")), text);
      assert.equal(formatWgQuick(structuredClone(cfg)), text);
    }),
    { numRuns: 300 },
  );
});
