/** The look shared by the diagram, the Mermaid text and the map, so a role reads the same in each. */
import type { Role } from "../model";

export const FONT = "Helvetica,Arial,sans-serif";

export interface RoleStyle {
  fill: string;
  stroke: string;
  text: string;
  /** What the legend calls it. */
  label: string;
}

export const ROLE_STYLE: Record<Role, RoleStyle> = {
  hub: { fill: "#1f3b5c", stroke: "#0d2238", text: "#ffffff", label: "hub" },
  pop: { fill: "#f4a259", stroke: "#9c5a16", text: "#2e1d08", label: "POP" },
  backend: { fill: "#e4eef9", stroke: "#5377a6", text: "#17263a", label: "backend" },
};

/** Transit nodes (ip_forward on) get this outline everywhere. */
export const TRANSIT_STROKE = "#b8322a";

export const LINK_STROKE = "#5c6b7a";
export const MUTED_TEXT = "#4d5866";

/** Round-trip bands for colouring links: upper bound in ms (exclusive) and colour, fastest first. */
export const RTT_BANDS: readonly { below: number; colour: string; label: string }[] = [
  { below: 25, colour: "#1a7f4b", label: "under 25 ms" },
  { below: 75, colour: "#6aab3a", label: "25-75 ms" },
  { below: 150, colour: "#e0a10b", label: "75-150 ms" },
  { below: 250, colour: "#de5b2b", label: "150-250 ms" },
  { below: Infinity, colour: "#9e1a4f", label: "250 ms and more" },
];
export const UNKNOWN_RTT = { colour: "#8a8f96", label: "no figure" };

export function rttColour(ms: number | undefined): string {
  if (ms === undefined) return UNKNOWN_RTT.colour;
  return (RTT_BANDS.find((b) => ms < b.below) ?? (RTT_BANDS[RTT_BANDS.length - 1] as { colour: string })).colour;
}
