/**
 * Ingress rules of the three clouds' firewalls in one shape, so each policy states its rule once.
 * Only what admits traffic counts: AWS security group ingress (inline or as rule resources), GCP
 * firewall `allows` on INGRESS rules that are not disabled, Azure NSG Inbound Allow rules.
 * A value Pulumi does not know yet (preview) is skipped, as the policy SDK recommends.
 */
import { isWorldSource } from "../infra/firewall";
import { T } from "./types";

export interface IngressRule {
  /** "tcp", "udp", or "all". */
  protocol: string;
  /** Inclusive port ranges; undefined means every port. */
  ports?: [number, number][];
  sources: string[];
  /** Where it came from, for messages. */
  where: string;
}

/** What counts as the whole internet is the program's own definition (infra/firewall.ts). */
export const isWorld = isWorldSource;

type Props = Record<string, unknown>;

function strings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function protocolOf(p: unknown): string {
  const s = String(p ?? "all").toLowerCase();
  return s === "-1" || s === "*" || s === "all" ? "all" : s === "17" ? "udp" : s === "6" ? "tcp" : s;
}

/** "22", "1000-2000", "*" */
function portRange(text: string): [number, number] | undefined {
  if (text === "*") return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) return [0, 65535];
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

function awsRule(r: Props, where: string): IngressRule {
  const from = typeof r.fromPort === "number" ? r.fromPort : 0;
  const to = typeof r.toPort === "number" ? r.toPort : 65535;
  const protocol = protocolOf(r.protocol ?? r.ipProtocol);
  return {
    protocol,
    ...(protocol === "all" ? {} : { ports: [[from, to] as [number, number]] }),
    sources: [...strings(r.cidrBlocks), ...strings(r.ipv6CidrBlocks), ...strings(r.cidrIpv4), ...strings(r.cidrIpv6)],
    where,
  };
}

export function ingressRules(type: string, props: Props): IngressRule[] {
  switch (type) {
    case T.awsSecurityGroup:
      return (Array.isArray(props.ingress) ? (props.ingress as Props[]) : []).map((r, i) => awsRule(r, `ingress[${i}]`));
    case T.awsSecurityGroupRule:
      return props.type === "ingress" ? [awsRule(props, "rule")] : [];
    case T.awsSecurityGroupIngressRule:
      return [awsRule(props, "rule")];
    case T.gcpFirewall: {
      if (props.disabled === true || String(props.direction ?? "INGRESS").toUpperCase() !== "INGRESS") return [];
      const sources = strings(props.sourceRanges);
      return (Array.isArray(props.allows) ? (props.allows as Props[]) : []).map((a, i) => {
        const ports = strings(a.ports);
        const protocol = protocolOf(a.protocol);
        return { protocol, ...(ports.length > 0 ? { ports: ports.map((p) => portRange(p) ?? [0, 65535]) } : {}), sources, where: `allows[${i}]` };
      });
    }
    case T.azureNetworkSecurityGroup:
      return (Array.isArray(props.securityRules) ? (props.securityRules as Props[]) : []).flatMap((r, i) => azureRule(r, `securityRules[${i}] ${String(r.name ?? "")}`.trim()));
    case T.azureNetworkSecurityRule:
      return azureRule(props, "rule");
    default:
      return [];
  }
}

function azureRule(r: Props, where: string): IngressRule[] {
  if (String(r.direction).toLowerCase() !== "inbound" || String(r.access).toLowerCase() !== "allow") return [];
  const ranges = [...strings(r.destinationPortRange), ...strings(r.destinationPortRanges)].map(portRange);
  const all = ranges.length === 0 || ranges.some((x) => x === undefined);
  return [
    {
      protocol: protocolOf(r.protocol),
      ...(all ? {} : { ports: ranges as [number, number][] }),
      sources: [...strings(r.sourceAddressPrefix), ...strings(r.sourceAddressPrefixes)],
      where,
    },
  ];
}

export function coversPort(rule: IngressRule, port: number, protocol: "tcp" | "udp"): boolean {
  if (rule.protocol !== "all" && rule.protocol !== protocol) return false;
  return rule.ports === undefined || rule.ports.some(([a, b]) => a <= port && port <= b);
}

/** Exactly one UDP port, this one. */
export function isOnlyPort(rule: IngressRule, port: number): boolean {
  return rule.protocol === "udp" && rule.ports !== undefined && rule.ports.every(([a, b]) => a === port && b === port);
}
