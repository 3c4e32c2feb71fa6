/** wg-quick files: read, write, strip to what `wg setconf` takes, and read the forwarding switch. */
export { parseWgQuick, parseWgQuickAll, WgQuickParseError, type WgQuickParse } from "./parse";
export { formatWgQuick, type FormatOptions } from "./format";
export { stripForWg } from "./strip";
export { forwardingEnabled } from "./forwarding";
export { routingTableOf } from "./table";
