/**
 * wg-quick's PreUp/PostUp/PreDown/PostDown are shell commands meant for a real host. The lab
 * runs none of them: it understands the forwarding pair the renderer writes (sysctl
 * ip_forward, the FORWARD ACCEPT rule, which a fresh namespace's ACCEPT policy already
 * grants) and reports everything else as skipped, so nothing unknown runs as root.
 */
import type { WgInterface } from "../infra/model";
import { forwardingEnabled } from "../infra/wgquick";

export type HookName = "PreUp" | "PostUp" | "PreDown" | "PostDown";

export interface SkippedHook {
  hook: HookName;
  command: string;
}

export interface HookInterpretation {
  forwarding: boolean;
  skipped: SkippedHook[];
}

const IP_FORWARD_SYSCTL = /^sysctl(\s+-[a-zA-Z]+)*\s+net\.ipv4\.ip_forward\s*=\s*[01]$/;
const FORWARD_ACCEPT_RULE = /^iptables\s+(-w\s+)?-[AID]\s+FORWARD\s+-i\s+\S+\s+-o\s+\S+\s+-j\s+ACCEPT$/;

export function isForwardingHook(command: string): boolean {
  const c = command.trim().replace(/\s+/g, " ");
  return IP_FORWARD_SYSCTL.test(c) || FORWARD_ACCEPT_RULE.test(c);
}

export function interpretHooks(iface: WgInterface): HookInterpretation {
  const lists: [HookName, string[]][] = [
    ["PreUp", iface.preUp],
    ["PostUp", iface.postUp],
    ["PreDown", iface.preDown],
    ["PostDown", iface.postDown],
  ];
  const skipped: SkippedHook[] = [];
  for (const [hook, commands] of lists) {
    for (const command of commands) if (!isForwardingHook(command)) skipped.push({ hook, command });
  }
  return { forwarding: forwardingEnabled(iface), skipped };
}
