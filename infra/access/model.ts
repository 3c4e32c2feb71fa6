/**
 * Access inside the mesh as the engine holds it once validated: named groups of nodes, allow rules
 * from groups to groups on services, assertions the policy must satisfy, and which ICMP echo needs
 * no rule. A mesh without `access` has none of this and stays flat (every flow allowed).
 */
import type { ServiceItem } from "./services";

/** Which ICMP echo (ping) passes without a rule. */
export const AccessEcho = {
  /** Between every pair of nodes: ping and the lab's matrix work everywhere (the default). */
  All: "all",
  /** Between direct neighbours only (the failover watchdog's probes), and where a rule allows icmp. */
  Neighbours: "neighbours",
} as const;
export type AccessEcho = (typeof AccessEcho)[keyof typeof AccessEcho];
export const ACCESS_ECHOES: readonly AccessEcho[] = Object.values(AccessEcho);

/** What selects a group's members: every attribute list given must match (any value within a list); plus nodes and groups named. */
export interface GroupSelector {
  roles?: string[];
  regions?: string[];
  areas?: string[];
  clouds?: string[];
  sites?: string[];
  nodes?: string[];
  groups?: string[];
}

export interface AccessGroup {
  name: string;
  selector: GroupSelector;
}

/** A rule or test end: a group, a node, or "*" (every node); kept as written. */
export type EndRef = string;

/** Every node, in rules and tests. */
export const EVERY_NODE = "*";

export interface AccessRule {
  /** Position in access.rules, from 0. */
  index: number;
  from: EndRef[];
  to: EndRef[];
  services: ServiceItem[];
}

export interface AccessTest {
  index: number;
  from: EndRef[];
  to: EndRef[];
  /** Each must be allowed for every ordered pair (from, to) of distinct nodes. */
  accept: ServiceItem[];
  /** Each must be denied for every such pair. */
  deny: ServiceItem[];
}

export interface AccessSpec {
  echo: AccessEcho;
  groups: AccessGroup[];
  rules: AccessRule[];
  tests: AccessTest[];
  /** Nodes admins SSH from over the overlay: each must reach every other node on tcp/22. */
  adminFrom: EndRef[];
}

/** What a group selector reads of a node. */
export interface NodeFacts {
  name: string;
  role: string;
  region: string;
  area: string;
  cloud: string;
  site: string;
}

/** A rule's one-based number, as plans and rulesets show it. */
export function ruleNumber(rule: Pick<AccessRule, "index">): number {
  return rule.index + 1;
}
