/** Periods and timeouts of the node, in milliseconds, matching stock ZeroTier One 1.x where it has one. */
export const Timing = {
  /** Keepalive on each direct path (stock: ZT_PATH_HEARTBEAT_PERIOD). */
  pathHeartbeat: 14_000,
  /** A path with nothing received for this long is no longer alive. */
  pathActivityTimeout: 33_000,
  /** HELLO to each peer with a live session (stock: ZT_PEER_PING_PERIOD). */
  peerPing: 60_000,
  /** Paths silent for this long are forgotten. */
  pathExpiration: 243_000,
  /** Peers with no traffic for this long are forgotten (roots never are). */
  peerExpiration: 500_000,
  /** WHOIS retry interval and how many tries before queued packets are dropped. */
  whoisRetry: 500,
  whoisMaxRetries: 4,
  /** Network config refresh (stock: ZT_NETWORK_AUTOCONF_DELAY). */
  networkRefresh: 60_000,
  /** While waiting for a first config, requests are repeated this often… */
  networkRequestRetry: 5_000,
  /** …after the first few, repeated sooner: the controller may have dropped one before it had a path back to us. */
  networkFirstRequests: 4,
  networkFirstRequestRetry: 1_000,
  /** MULTICAST_LIKE announcement period and subscription lifetime. */
  multicastAnnounce: 120_000,
  multicastLikeExpire: 600_000,
  /** Gathers for a group at most this often. */
  multicastGatherDelay: 60_000,
  /** How often the node's housekeeping runs. */
  tick: 1_000,
} as const;
