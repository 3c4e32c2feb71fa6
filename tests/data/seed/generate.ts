/**
 * Writes the seed's mesh (shared/seeds/wireguard-overlay.en.txt) as the wg-quick files its
 * own templates produce: the EC2 Ireland hub config, the GCP HKG POP config, and every
 * backend's wg0.conf as entrypoint.sh writes it (REGION=<code>, WG_IP=<table IP>, bare).
 * The text is the seed's, byte for byte, with fresh throw-away keys in place of the
 * published ones, so `wgmesh lint` and the lab judge exactly what the seed deployed.
 *
 * Run: npx tsx tests/data/seed/generate.ts   (rewrites the *.conf files next to this script)
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, type KeyPair } from "../../../infra/keys";

interface Backend {
  code: string;
  /** The hub config's comment for it, e.g. "GRU - Sao Paulo". */
  label: string;
  /** The "WireGuard IP" column of the seed's backend table. */
  ip: string;
}

export const BACKENDS: readonly Backend[] = [
  { code: "gru", label: "GRU - Sao Paulo", ip: "10.50.1.1" },
  { code: "iad", label: "IAD - Virginia", ip: "10.50.2.1" },
  { code: "ord", label: "ORD - Chicago", ip: "10.50.2.2" },
  { code: "lax", label: "LAX - Los Angeles", ip: "10.50.2.3" },
  { code: "lhr", label: "LHR - London", ip: "10.50.3.1" },
  { code: "fra", label: "FRA - Frankfurt", ip: "10.50.3.2" },
  { code: "cdg", label: "CDG - Paris", ip: "10.50.3.3" },
  { code: "nrt", label: "NRT - Tokyo", ip: "10.50.4.1" },
  { code: "sin", label: "SIN - Singapore", ip: "10.50.4.2" },
  { code: "syd", label: "SYD - Sydney", ip: "10.50.4.3" },
];

/** The backends entrypoint.sh gives the extra HKG peer (`case "${REGION}" in nrt|sin|syd)`). */
export const APAC_BACKENDS: readonly string[] = ["nrt", "sin", "syd"];

const EC2_ENDPOINT = "54.171.48.207:51820";
const HKG_ENDPOINT = "35.241.112.61:51820";

function hubConfig(keys: Record<string, KeyPair>): string {
  const peers = [
    ...BACKENDS.map((b) => ({ label: b.label, key: keys[b.code] as KeyPair, allowed: `${b.ip}/32` })),
    { label: "HKG POP - Hong Kong", key: keys.hkg as KeyPair, allowed: "10.50.5.0/24" },
  ];
  return `# /etc/wireguard/wg0.conf on EC2 Ireland
[Interface]
PrivateKey = ${(keys.ireland as KeyPair).privateKey}
Address = 10.50.0.1/24
ListenPort = 51820

# Enable IP forwarding for routing
PostUp = sysctl -w net.ipv4.ip_forward=1
PostUp = iptables -A FORWARD -i wg0 -o wg0 -j ACCEPT
PostDown = iptables -D FORWARD -i wg0 -o wg0 -j ACCEPT
${peers
  .map(
    (p) => `
# ${p.label}
[Peer]
PublicKey = ${p.key.publicKey}
AllowedIPs = ${p.allowed}
PersistentKeepalive = 25
`,
  )
  .join("")}`;
}

function hkgConfig(keys: Record<string, KeyPair>): string {
  const direct = [
    { label: "NRT - Tokyo", code: "nrt", ip: "10.50.4.1" },
    { label: "SIN - Singapore", code: "sin", ip: "10.50.4.2" },
    { label: "SYD - Sydney", code: "syd", ip: "10.50.4.3" },
  ];
  return `# /etc/wireguard/wg0.conf on GCP HKG
[Interface]
PrivateKey = ${(keys.hkg as KeyPair).privateKey}
Address = 10.50.5.1/24
ListenPort = 51820

# Enable IP forwarding
PostUp = sysctl -w net.ipv4.ip_forward=1
PostUp = iptables -A FORWARD -i wg0 -o wg0 -j ACCEPT
PostDown = iptables -D FORWARD -i wg0 -o wg0 -j ACCEPT

# EC2 Ireland (for non-APAC backends: SA, NA, EU)
[Peer]
PublicKey = ${(keys.ireland as KeyPair).publicKey}
Endpoint = ${EC2_ENDPOINT}
AllowedIPs = 10.50.0.1/32, 10.50.1.0/24, 10.50.2.0/24, 10.50.3.0/24
PersistentKeepalive = 25
${direct
  .map(
    (d) => `
# ${d.label} (DIRECT MESH)
[Peer]
PublicKey = ${(keys[d.code] as KeyPair).publicKey}
AllowedIPs = ${d.ip}/32
PersistentKeepalive = 25
`,
  )
  .join("")}`;
}

/** entrypoint.sh's two heredocs, with WG_PRIVATE, WG_IP and REGION filled in. */
function backendConfig(b: Backend, keys: Record<string, KeyPair>): string {
  let text = `[Interface]
PrivateKey = ${(keys[b.code] as KeyPair).privateKey}
Address = ${b.ip}

[Peer]
# EC2 Ireland (hub for non-APAC traffic)
PublicKey = ${(keys.ireland as KeyPair).publicKey}
Endpoint = ${EC2_ENDPOINT}
AllowedIPs = 10.50.0.0/24, 10.50.1.0/24, 10.50.2.0/24, 10.50.3.0/24
PersistentKeepalive = 25
`;
  if (APAC_BACKENDS.includes(b.code)) {
    text += `
[Peer]
# GCP HKG (direct mesh for APAC)
PublicKey = ${(keys.hkg as KeyPair).publicKey}
Endpoint = ${HKG_ENDPOINT}
AllowedIPs = 10.50.5.0/24
PersistentKeepalive = 25
`;
  }
  return text;
}

/** node name -> wg0.conf text, with fresh keys every call. */
export function seedConfigs(): Record<string, string> {
  const nodes = ["ireland", "hkg", ...BACKENDS.map((b) => b.code)];
  const keys: Record<string, KeyPair> = Object.fromEntries(nodes.map((n) => [n, generateKeyPair()]));
  return {
    ireland: hubConfig(keys),
    hkg: hkgConfig(keys),
    ...Object.fromEntries(BACKENDS.map((b) => [b.code, backendConfig(b, keys)])),
  };
}

if (require.main === module) {
  for (const [node, text] of Object.entries(seedConfigs())) {
    writeFileSync(join(__dirname, `${node}.conf`), text, { mode: 0o600 });
  }
  console.log(`wrote ${join(__dirname, "*.conf")}`);
}
