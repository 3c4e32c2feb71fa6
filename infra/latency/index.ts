/** The latency model and its shipped data. */
export { LatencyModel, ROUTE_FIT, SAME_SITE_RTT_MS, latencyModelFor, type LatencySpec, type RttEstimate, type RttSource, type SiteMatrix } from "./model";
export { siteOfPlacement } from "./regions";
export { MEASURED_TABLES, SHIPPED_SITES, pairKey } from "./data";
