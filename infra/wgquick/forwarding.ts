/**
 * Whether a node forwards other nodes' packets, read from its hooks. Linux drops a packet
 * that is not addressed to the host unless IPv4 forwarding is on, and in these configs the
 * only place that switches it on is a PreUp/PostUp command. Commands run in order, so the
 * last setting wins; shell lists (`a; b && c`) are read piece by piece.
 */
import type { WgInterface } from "../model";

// net.ipv4.ip_forward and net.ipv4.conf.all.forwarding are the same switch; sysctl takes `.` or `/`.
const FORWARD_KEY = String.raw`net[./]ipv4[./](?:ip_forward|conf[./]all[./]forwarding)`;
const SYSCTL_SET = new RegExp(String.raw`^(?:sudo\s+)?sysctl\b.*?\s${FORWARD_KEY}=([01])\b`);
const PROC_WRITE = new RegExp(String.raw`^(?:sudo\s+)?echo\s+(?:-n\s+)?["']?([01])["']?\s*>\s*/proc/sys/${FORWARD_KEY.replace(/\[\.\/\]/g, "/")}\s*$`);

/** 1 or 0 when the command sets IPv4 forwarding, undefined when it does not touch it. */
function forwardingSetBy(command: string): boolean | undefined {
  let result: boolean | undefined;
  for (const part of command.split(/;|&&|\|\|/)) {
    const c = part.trim().replace(/\s+/g, " ");
    const m = SYSCTL_SET.exec(c) ?? PROC_WRITE.exec(c);
    if (m) result = m[1] === "1";
  }
  return result;
}

export function forwardingEnabled(iface: WgInterface): boolean {
  let on = false;
  for (const command of [...iface.preUp, ...iface.postUp]) {
    const set = forwardingSetBy(command);
    if (set !== undefined) on = set;
  }
  return on;
}
