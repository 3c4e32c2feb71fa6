/**
 * The watchdog's clock, one truth for the rendered tables, the node script and the simulator's
 * claims about recovery time.
 *
 * Every link of a resilient mesh carries a keepalive each second, so a live peer's received-bytes
 * counter grows at least once a second whatever the traffic. The watchdog reads the counters every
 * second; a peer whose counter has not moved for DOWN_AFTER seconds is lost. Five silent seconds
 * at 5% random loss happen with probability 0.05^5 (3e-7) per peer and second: a minute of a
 * hundred watched links misses that about once a year. Recovery is then at most DOWN_AFTER plus
 * one reading plus the time to apply a table (milliseconds), under the 10 s the mesh promises.
 * A lost peer is trusted again after its counter has moved in every reading for UP_AFTER seconds,
 * so a link that flickers does not flap the routes.
 */
export const FAILOVER_KEEPALIVE_SECONDS = 1;
export const WATCHDOG_INTERVAL_SECONDS = 1;
export const WATCHDOG_DOWN_AFTER_SECONDS = 5;
export const WATCHDOG_UP_AFTER_SECONDS = 15;
