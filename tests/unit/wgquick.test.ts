import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "../../infra/keys";
import type { WgQuickConfig } from "../../infra/model";
import { formatWgQuick, forwardingEnabled, parseWgQuick, parseWgQuickAll, stripForWg } from "../../infra/wgquick";

const hub = generateKeyPair();
const nrt = generateKeyPair();
const hkg = generateKeyPair();

const SEED_STYLE = `# /etc/wireguard/wg0.conf on EC2 Ireland
[Interface]
PrivateKey = ${hub.privateKey}
Address = 10.50.0.1/24
ListenPort = 51820

# Enable IP forwarding for routing
PostUp = sysctl -w net.ipv4.ip_forward=1
PostUp = iptables -A FORWARD -i wg0 -o wg0 -j ACCEPT
PostDown = iptables -D FORWARD -i wg0 -o wg0 -j ACCEPT

# NRT - Tokyo
[Peer]
PublicKey = ${nrt.publicKey}
AllowedIPs = 10.50.4.1/32
PersistentKeepalive = 25

# HKG POP - Hong Kong
[Peer]
PublicKey = ${hkg.publicKey}
AllowedIPs = 10.50.5.0/24
PersistentKeepalive = 25
`;

function parseError(text: string): string {
  try {
    parseWgQuick(text, "x.conf");
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail("expected a parse error");
}

test("parses the seed's hub config: sections, hooks in order, peer comments above [Peer]", () => {
  const cfg = parseWgQuick(SEED_STYLE, "ireland.conf");
  assert.deepEqual(cfg.iface, {
    privateKey: hub.privateKey,
    addresses: ["10.50.0.1/24"],
    listenPort: 51820,
    postUp: ["sysctl -w net.ipv4.ip_forward=1", "iptables -A FORWARD -i wg0 -o wg0 -j ACCEPT"],
    postDown: ["iptables -D FORWARD -i wg0 -o wg0 -j ACCEPT"],
    preUp: [],
    preDown: [],
    other: new Map(),
  });
  assert.deepEqual(cfg.peers, [
    { publicKey: nrt.publicKey, allowedIps: ["10.50.4.1/32"], persistentKeepalive: 25, comment: "NRT - Tokyo" },
    { publicKey: hkg.publicKey, allowedIps: ["10.50.5.0/24"], persistentKeepalive: 25, comment: "HKG POP - Hong Kong" },
  ]);
});

test("keys are case-insensitive, lists accumulate, inline comments and CRLF are ignored", () => {
  const text = [
    "[INTERFACE]",
    `privatekey=${hub.privateKey}`,
    "address = 10.0.0.1/24, fd00::1/64",
    "ADDRESS = 10.0.1.1   # second one",
    "mtu = 1380",
    "dns = 1.1.1.1",
    "postup = echo a",
    "PostUp = echo b",
    "[peer]",
    `publickey = ${nrt.publicKey}`,
    "allowedips = 10.0.0.2/32,10.0.2.0/24",
    "AllowedIPs = 10.0.3.0/24",
    "endpoint = [2001:db8::1]:51820",
    "persistentkeepalive = off",
  ].join("\r\n");
  const cfg = parseWgQuick(text, "a.conf");
  assert.deepEqual(cfg.iface.addresses, ["10.0.0.1/24", "fd00::1/64", "10.0.1.1"]);
  assert.equal(cfg.iface.mtu, 1380);
  assert.deepEqual(cfg.iface.other, new Map([["DNS", "1.1.1.1"]]));
  assert.deepEqual(cfg.iface.postUp, ["echo a", "echo b"]);
  const [peer] = cfg.peers;
  assert.deepEqual(peer?.allowedIps, ["10.0.0.2/32", "10.0.2.0/24", "10.0.3.0/24"]);
  assert.equal(peer?.endpoint, "[2001:db8::1]:51820");
  assert.equal(peer?.persistentKeepalive, undefined, "off means no keepalive");
});

test("a comment right below [Peer] (entrypoint.sh's style) is the peer's comment; a blank line detaches a comment above", () => {
  const text = `[Interface]\nPrivateKey = ${hub.privateKey}\n\n[Peer]\n# EC2 Ireland (hub)\nPublicKey = ${nrt.publicKey}\n\n# not about the next peer\n\n[Peer]\nPublicKey = ${hkg.publicKey}\n`;
  const cfg = parseWgQuick(text, "b.conf");
  assert.equal(cfg.peers[0]?.comment, "EC2 Ireland (hub)");
  assert.equal(cfg.peers[1]?.comment, undefined);
});

test("errors are one line, `source:line: message`, and name the fix", () => {
  const cases: [string, RegExp][] = [
    [`PrivateKey = ${hub.privateKey}\n`, /^x\.conf:1: "PrivateKey" comes before any section; put it under \[Interface\] or \[Peer\]$/],
    ["[Interface]\n[Wireguard]\n", /^x\.conf:2: unknown section "\[Wireguard\]"; a wg-quick file has one \[Interface\]/],
    ["[Interface]\nListenPort = 70000\n", /^x\.conf:2: ListenPort "70000" is not a UDP port; write a number 0-65535/],
    ["[Interface]\nAddress = 10.0.0.300/24\n", /^x\.conf:2: Address "10\.0\.0\.300\/24" is not an IP address or CIDR; write it like 10\.50\.5\.1\/24$/],
    ["[Interface]\nListenPort = 1\nlistenport = 2\n", /^x\.conf:3: ListenPort is given twice in this \[Interface\] \(also on line 2\); keep one$/],
    ["[Interface]\n\n[Peer]\nAllowedIPs = 10.0.0.0/24\n", /^x\.conf:3: \[Peer\] has no PublicKey; add PublicKey = /],
    [`[Interface]\n[Peer]\nPublicKey = ${nrt.publicKey}\nEndpoint = 10.0.0.1\n`, /^x\.conf:4: Endpoint "10\.0\.0\.1" is not host:port; write it like 203\.0\.113\.7:51820$/],
    [`[Interface]\n[Peer]\nPublicKey = ${nrt.publicKey}\nAllowedIP = 10.0.0.0/24\n`, /^x\.conf:4: unknown key "AllowedIP" in \[Peer\]; did you mean AllowedIPs\?$/],
    [`[Interface]\n[Peer]\nPublicKey = ${nrt.publicKey}\nAllowedIPs = 10.0.0.0/33\n`, /^x\.conf:4: AllowedIPs "10\.0\.0\.0\/33" is not a prefix/],
    ["[Interface]\nthis is not a setting\n", /^x\.conf:2: "this is not a setting" is not a "Key = value" line/],
    ["[Interface]\n[Interface]\n", /^x\.conf:2: a second \[Interface\] \(the first is on line 1\); merge them into one$/],
    ["# nothing here\n", /^x\.conf:1: no \[Interface\] section/],
  ];
  for (const [text, expected] of cases) {
    const message = parseError(text);
    assert.match(message, expected);
    assert.ok(!message.includes("\n"), `one line: ${message}`);
  }
});

test("a parse error never echoes a key: a PrivateKey written with ':' instead of '=' is redacted", () => {
  const message = parseError(`[Interface]\nPrivateKey: ${hub.privateKey}\n`);
  assert.equal(message, 'x.conf:2: "PrivateKey: <base64, 44 chars, not shown>" is not a "Key = value" line; fix it or comment it out with #');
  assert.ok(!message.includes(hub.privateKey.slice(0, 20)));
});

test("a key without its = padding, on a line of its own or in any value, is never echoed (issue 9)", () => {
  const bare = hub.privateKey.replace(/=$/, "");
  for (const text of [`[Interface]\n${bare}\n`, `[Interface]\nAddress = ${bare}\n`, `[Interface]\n[Peer]\nPublicKey = x\nEndpoint = ${bare}\n`, `[Interface]\n[Peer]\nPublicKey = x\nAllowedIPs = ${bare.slice(0, 30)}\n`, `[Interface]\n[Peer]\n${hub.privateKey}\n`]) {
    const { problems } = parseWgQuickAll(text, "x.conf");
    const message = problems.map((p) => p.message).join("\n");
    for (let i = 0; i + 16 <= hub.privateKey.length; i++) assert.ok(!message.includes(hub.privateKey.slice(i, i + 16)), message);
    assert.match(message, /<base64, \d+ chars, not shown>/);
  }
});

test("unknown [Interface] keys are kept, not dropped (the simulator reports them)", () => {
  const cfg = parseWgQuick(`[Interface]\nPrivateKey = ${hub.privateKey}\nTable = off\nFrobnicate = yes\n`, "c.conf");
  assert.deepEqual(cfg.iface.other, new Map([["Table", "off"], ["Frobnicate", "yes"]]));
});

test("formatWgQuick writes wg-quick's key names, a header, blank lines between sections, comments above [Peer]", () => {
  const cfg: WgQuickConfig = {
    iface: { privateKey: hub.privateKey, addresses: ["10.50.5.1/24"], listenPort: 51820, mtu: 1380, postUp: ["sysctl -w net.ipv4.ip_forward=1"], postDown: ["echo down"], preUp: [], preDown: [], other: new Map() },
    peers: [
      { comment: "ireland (hub, aws eu-west-1)", publicKey: nrt.publicKey, presharedKey: hkg.publicKey, endpoint: "54.171.48.207:51820", allowedIps: ["10.50.0.0/16", "10.50.9.1/32"], persistentKeepalive: 25 },
      { publicKey: hkg.publicKey, allowedIps: [] },
    ],
  };
  const text = formatWgQuick(cfg, { header: ["generated by wg-mesh", "MTU 1380: because"] });
  assert.equal(
    text,
    `# generated by wg-mesh
# MTU 1380: because

[Interface]
PrivateKey = ${hub.privateKey}
Address = 10.50.5.1/24
ListenPort = 51820
MTU = 1380
PostUp = sysctl -w net.ipv4.ip_forward=1
PostDown = echo down

# ireland (hub, aws eu-west-1)
[Peer]
PublicKey = ${nrt.publicKey}
PresharedKey = ${hkg.publicKey}
Endpoint = 54.171.48.207:51820
AllowedIPs = 10.50.0.0/16, 10.50.9.1/32
PersistentKeepalive = 25

[Peer]
PublicKey = ${hkg.publicKey}
`,
  );
  assert.deepEqual(parseWgQuick(text, "f.conf"), cfg);
});

test("formatWgQuick refuses a value that would inject lines", () => {
  const cfg = parseWgQuick(SEED_STYLE, "ireland.conf");
  cfg.iface.postUp.push("echo ok\n[Peer]\nPublicKey = x");
  assert.throws(() => formatWgQuick(cfg), /PostUp value "echo ok\\n\[Peer\]\\nPublicKey = x" holds a line break or control character/);
  for (const bad of ["a\rb", "a\u0000b", "a\u2028b", "a\u0085b"]) {
    const c = parseWgQuick(SEED_STYLE, "ireland.conf");
    c.iface.addresses = [`10.50.0.1${bad}/24`];
    assert.throws(() => formatWgQuick(c), /Address value .* holds a line break or control character/, JSON.stringify(bad));
  }
});

test("stripForWg keeps only what wg setconf accepts, like `wg-quick strip`", () => {
  const cfg = parseWgQuick(`${SEED_STYLE.replace("ListenPort = 51820", "ListenPort = 51820\nMTU = 1380\nDNS = 1.1.1.1\nFwMark = 0x42\nTable = off\nSaveConfig = true")}`, "ireland.conf");
  cfg.peers[0] = { ...(cfg.peers[0] as WgQuickConfig["peers"][number]), presharedKey: hkg.publicKey, endpoint: "198.18.0.2:51820" };
  const stripped = stripForWg(cfg);
  assert.equal(
    stripped,
    `[Interface]
PrivateKey = ${hub.privateKey}
ListenPort = 51820
FwMark = 0x42

[Peer]
PublicKey = ${nrt.publicKey}
PresharedKey = ${hkg.publicKey}
Endpoint = 198.18.0.2:51820
AllowedIPs = 10.50.4.1/32
PersistentKeepalive = 25

[Peer]
PublicKey = ${hkg.publicKey}
AllowedIPs = 10.50.5.0/24
PersistentKeepalive = 25
`,
  );
  for (const wgQuickOnly of ["Address", "MTU", "DNS", "Table", "SaveConfig", "PostUp", "PostDown", "#"]) assert.ok(!stripped.includes(wgQuickOnly), wgQuickOnly);
});

test("forwardingEnabled reads the ways people switch IPv4 forwarding on (and off) in hooks", () => {
  const iface = (postUp: string[], preUp: string[] = []) => ({ addresses: [], postUp, postDown: [], preUp, preDown: [], other: new Map() });
  const on = [
    ["sysctl -w net.ipv4.ip_forward=1"],
    ["sysctl -q -w net.ipv4.conf.all.forwarding=1"],
    ["echo 1 > /proc/sys/net/ipv4/ip_forward"],
    ["iptables -A FORWARD -i %i -j ACCEPT; sysctl -w net.ipv4.ip_forward=1"],
    ["sysctl -w net/ipv4/ip_forward=1"],
    ["sysctl  -w   net.ipv4.ip_forward=1 && iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE"],
  ];
  for (const hooks of on) assert.equal(forwardingEnabled(iface(hooks)), true, hooks.join(" | "));
  const off = [
    [],
    ["iptables -A FORWARD -i wg0 -o wg0 -j ACCEPT"],
    ["sysctl -w net.ipv4.ip_forward=0"],
    ["sysctl -w net.ipv4.ip_forward=1", "sysctl -w net.ipv4.ip_forward=0"],
    ["sysctl -w net.ipv6.conf.all.forwarding=1"],
    ["echo 1 > /tmp/ip_forward"],
  ];
  for (const hooks of off) assert.equal(forwardingEnabled(iface(hooks)), false, hooks.join(" | "));
  assert.equal(forwardingEnabled(iface([], ["sysctl -w net.ipv4.ip_forward=1"])), true, "PreUp counts too");
});
