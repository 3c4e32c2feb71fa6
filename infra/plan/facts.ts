/** What the planner knows of each node before planning, and how a link is named: shared by every planning stage. */
import type { NodeSpec } from "../model";

export interface NodeFacts {
  spec: NodeSpec;
  area: string;
  hasPublicEndpoint: boolean;
}

/** A link's id, "a--b" with a < b: the same whichever end names it. */
export function linkId(a: string, b: string): string {
  return a < b ? `${a}--${b}` : `${b}--${a}`;
}
