/**
 * Writing wg-quick files: one canonical layout, so the same config always gives the same
 * bytes and `parseWgQuick(formatWgQuick(x))` gives x back.
 */
import type { WgInterface, WgPeer, WgQuickConfig } from "../model";
import { escapeUnprintable, quote } from "../quote";

export interface FormatOptions {
  /** Lines written as `# ...` comments at the top of the file. */
  header?: string[];
}

/**
 * A value with a line break would smuggle extra lines (keys, sections) into the file, and other
 * control characters would hide what it says; the validator refuses them, and so does this.
 * A tab inside a hook command is only whitespace, so it stays.
 */
function setting(key: string, value: string | number): string {
  const text = String(value);
  const hook = /^(Pre|Post)(Up|Down)$/.test(key);
  if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(hook ? text.replace(/\t/g, "") : text)) {
    throw new Error(`${key} value ${quote(text)} holds a line break or control character; a wg-quick value is one plain line`);
  }
  return `${key} = ${text}`;
}

/** Comment text is stored without its `#`; one already there is not doubled. */
function commentLines(text: string): string[] {
  return text.split(/\r?\n/).map((line) => escapeUnprintable(line)).map((line) => {
    const body = line.replace(/^#\s*/, "").trimEnd();
    return body ? `# ${body}` : "#";
  });
}

function interfaceLines(iface: WgInterface): string[] {
  const out = ["[Interface]"];
  if (iface.privateKey !== undefined) out.push(setting("PrivateKey", iface.privateKey));
  if (iface.addresses.length > 0) out.push(setting("Address", iface.addresses.join(", ")));
  if (iface.listenPort !== undefined) out.push(setting("ListenPort", iface.listenPort));
  if (iface.mtu !== undefined) out.push(setting("MTU", iface.mtu));
  for (const [key, value] of iface.other) out.push(setting(key, value));
  for (const c of iface.preUp) out.push(setting("PreUp", c));
  for (const c of iface.postUp) out.push(setting("PostUp", c));
  for (const c of iface.preDown) out.push(setting("PreDown", c));
  for (const c of iface.postDown) out.push(setting("PostDown", c));
  return out;
}

function peerLines(peer: WgPeer): string[] {
  const out = peer.comment !== undefined ? commentLines(peer.comment) : [];
  out.push("[Peer]", setting("PublicKey", peer.publicKey));
  if (peer.presharedKey !== undefined) out.push(setting("PresharedKey", peer.presharedKey));
  if (peer.endpoint !== undefined) out.push(setting("Endpoint", peer.endpoint));
  if (peer.allowedIps.length > 0) out.push(setting("AllowedIPs", peer.allowedIps.join(", ")));
  if (peer.persistentKeepalive !== undefined) out.push(setting("PersistentKeepalive", peer.persistentKeepalive));
  return out;
}

export function formatWgQuick(cfg: WgQuickConfig, opts: FormatOptions = {}): string {
  const blocks: string[][] = [];
  if (opts.header && opts.header.length > 0) blocks.push(opts.header.flatMap(commentLines));
  blocks.push(interfaceLines(cfg.iface));
  for (const peer of cfg.peers) blocks.push(peerLines(peer));
  return `${blocks.map((b) => b.join("\n")).join("\n\n")}\n`;
}
