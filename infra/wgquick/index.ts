/** wg-quick files: read, write, strip to what `wg setconf` takes, and read the forwarding switch. */
export { parseWgQuick, WgQuickParseError } from "./parse";
export { formatWgQuick, type FormatOptions } from "./format";
export { stripForWg } from "./strip";
export { forwardingEnabled } from "./forwarding";
export { routingTableOf } from "./table";
