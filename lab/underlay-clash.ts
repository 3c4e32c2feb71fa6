/**
 * The lab gives every node an underlay address from 198.18.0.0/15 and routes it outside the
 * tunnel. A mesh whose overlay or AllowedIPs overlap that range would route the lab's own
 * underlay into its tunnels (and the tunnels' packets into the underlay), so the lab refuses
 * it up front, naming the config path or file, instead of measuring nonsense.
 */
import { formatPrefix, overlaps, parseCidr, prefixOf, type Prefix } from "../infra/cidr";
import { MeshConfigError, type ConfigIssue, type MeshSpec, type WgQuickConfig } from "../infra/model";
import { quoteWg } from "../infra/quote";
import { UNDERLAY_PREFIX_LEN, UNDERLAY_GATEWAY } from "./naming";
import { ProblemsError } from "../infra/errors";

export const LAB_UNDERLAY = `198.18.0.0/${UNDERLAY_PREFIX_LEN}`;
const UNDERLAY = prefixOf(parseCidr(`${UNDERLAY_GATEWAY}/${UNDERLAY_PREFIX_LEN}`)?.ip as number, UNDERLAY_PREFIX_LEN);

function clashes(text: string): Prefix | undefined {
  const c = parseCidr(text, true);
  if (!c) return undefined;
  const p = prefixOf(c.ip, c.len);
  return overlaps(p, UNDERLAY) ? p : undefined;
}

const WHY = `the lab's own underlay (${LAB_UNDERLAY}); the lab cannot run this mesh (plan and lint still can)`;

/** A stack's overlay and regions clear of the lab's underlay, or MeshConfigError naming the file. */
export function assertStackClearOfLab(spec: MeshSpec, file: string): void {
  const issues: ConfigIssue[] = [];
  const overlay = clashes(spec.overlay);
  if (overlay) issues.push({ path: "overlay", message: `${formatPrefix(overlay)} overlaps ${WHY}` });
  for (const r of spec.regions) {
    const p = clashes(r.subnet);
    if (p && !overlay) issues.push({ path: `regions.${r.name}.subnet`, message: `${formatPrefix(p)} overlaps ${WHY}` });
  }
  if (issues.length > 0) throw new MeshConfigError(issues, file);
}

/** Every Address and AllowedIPs of a folder clear of the lab's underlay, or one line per clash naming the file. */
export function assertFolderClearOfLab(configs: ReadonlyMap<string, WgQuickConfig>, files: ReadonlyMap<string, string>): void {
  const lines: string[] = [];
  for (const [node, cfg] of configs) {
    const file = files.get(node) ?? node;
    for (const a of cfg.iface.addresses) if (clashes(a)) lines.push(`${file}: Address ${quoteWg(a)} overlaps ${WHY}`);
    for (const p of cfg.peers) for (const a of p.allowedIps) if (clashes(a)) lines.push(`${file}: AllowedIPs ${quoteWg(a)} overlaps ${WHY}`);
  }
  if (lines.length > 0) throw new ProblemsError(lines, `${lines.length} problem${lines.length === 1 ? "" : "s"}; nothing was brought up`);
}
