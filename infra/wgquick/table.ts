/**
 * wg-quick's `Table`: where `wg-quick up` puts a route per AllowedIPs prefix. Absent, auto
 * or main means the main table; off means no routes at all; any other value is a table of its
 * own that wg-quick fills without adding a rule, so ordinary traffic never looks there.
 */
import type { WgInterface } from "../model";

export function routingTableOf(iface: WgInterface): "main" | "off" | string {
  const entry = [...iface.other].find(([k]) => k.toLowerCase() === "table");
  const value = entry?.[1].trim() ?? "auto";
  if (value === "auto" || value === "main" || value === "254") return "main";
  return value;
}
