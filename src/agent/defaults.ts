/**
 * Every default of the agent, in one frozen object: what `createAgent()` and `hearsay agent` use for
 * an option left unset. Option types (types.ts, security/options.ts, config.ts) document each field
 * and point here for the value; nothing else in the agent writes a default literal.
 */

import { DEFAULT_CHECK_OUTPUT_INTERVAL_MS } from '../registry/check-entries.js';
import { DEFAULT_PORT } from '../transport/address.js';

export { DEFAULT_PORT };

/** Deeply frozen: a caller cannot change a default for every agent in the process. */
function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (typeof v === 'object' && v !== null) deepFreeze(v);
  return Object.freeze(value);
}

export const AGENT_DEFAULTS = deepFreeze({
  /** Where the UDP and TCP listeners bind: loopback, so a first agent exposes nothing. */
  bind: { host: '127.0.0.1', port: DEFAULT_PORT },
  /** Where `hearsay agent` serves the HTTP API (beyond loopback only with a token). */
  http: { host: '127.0.0.1', port: 7947 },
  /** Where `hearsay agent` serves DNS (UDP and TCP). */
  dns: { host: '127.0.0.1', port: 7953 },
  /** The datacenter the Consul-compatible HTTP API and DNS name (Consul's default too). */
  datacenter: 'dc1',
  /** Membership timing profile (membership/options.ts). */
  profile: 'lan' as const,
  /** `hearsay agent`'s log level. */
  logLevel: 'info' as const,
  /** TCP connect timeout for push-pulls, stream probes and key operations, ms. */
  tcpConnectTimeoutMs: 5000,
  /** TCP read timeout for a whole message, ms (cuts slow clients). */
  tcpReadTimeoutMs: 10_000,
  /** Rejoin through the data-dir snapshot's peers when join() is not called soon after start(). */
  autoRejoin: true,
  /** How long start() waits for a join() before rejoining from the snapshot, ms. */
  autoRejoinDelayMs: 1000,
  /** How often the data-dir snapshot is written when it changed, ms. */
  snapshotIntervalMs: 5000,
  /** Most one "UDP seems blocked" warning per peer per this long, ms. */
  udpWarningIntervalMs: 60_000,
  /** join(): attempts per seed, first backoff (doubling), and the whole join's deadline, ms. */
  join: { attempts: 3, backoffMs: 500, timeoutMs: 10_000 },
  /** leave(): how long to wait for the leave to be sent its retransmit budget, ms. */
  leaveTimeoutMs: 5000,
  /** Shortest time between two publications of this node's service state, ms. */
  serviceUpdateIntervalMs: 1000,
  /** How often a check's output alone is published again, ms (a status change goes at once). */
  checkOutputIntervalMs: DEFAULT_CHECK_OUTPUT_INTERVAL_MS,
  /** Most service instances one agent may register. */
  maxInstancesPerNode: 1000,
  /** Most bytes of one instance's state entry. */
  maxInstanceBytes: 4096,
});

export type AgentDefaults = typeof AGENT_DEFAULTS;
