/**
 * Membership options: what each does, what it costs, its unit and default. `lan` is the base;
 * `wan` and `local` are small deltas over it. `resolveOptions()` reports every violated constraint
 * at once.
 */
import { InvalidOptionsError } from '../errors.js';

export type ProfileName = 'lan' | 'wan' | 'local';

export interface MembershipOptions {
  /**
   * Time between two probes of this node (one member probed per interval). Lower detects failures
   * sooner at the cost of more packets; Lifeguard stretches it while this node is unhealthy.
   * @default 1000 (lan) · 5000 (wan) · 500 (local)
   */
  probeIntervalMs: number;
  /**
   * How long to wait for a direct ack before asking `indirectChecks` members to probe. Should be
   * near the 99th percentile round-trip time; must be below `probeIntervalMs`.
   * @default 500 (lan) · 3000 (wan) · 200 (local)
   */
  probeTimeoutMs: number;
  /**
   * How many members are asked to probe a member indirectly when it misses a direct ack. More
   * tolerates more lossy paths at the cost of packets. 0 disables indirect probes.
   * @default 3
   */
  indirectChecks: number;
  /**
   * Also probe over a stream (TCP) when the direct datagram probe times out, as memberlist does.
   * Protects against UDP-only loss at the cost of a connection per failed probe.
   * @default true
   */
  streamFallbackProbe: boolean;
  /**
   * Scales the suspicion timeout: min = suspicionMult × max(1, log10(N)) × probeIntervalMs.
   * Higher means fewer false deaths and slower detection.
   * @default 4 (lan) · 6 (wan) · 3 (local)
   */
  suspicionMult: number;
  /**
   * Lifeguard: the suspicion timeout starts at this multiple of its minimum and shrinks towards the
   * minimum as independent confirmations arrive.
   * @default 6
   */
  suspicionMaxTimeoutMult: number;
  /**
   * Each change is sent at most retransmitMult × ceil(log10(N + 1)) times. Higher spreads more
   * reliably under loss at the cost of bytes.
   * @default 4 (lan) · 4 (wan) · 3 (local)
   */
  retransmitMult: number;
  /**
   * Interval of the gossip timer that sends piggyback-only packets when changes are queued.
   * @default 200 (lan) · 500 (wan) · 100 (local)
   */
  gossipIntervalMs: number;
  /**
   * How many random members each gossip tick sends to.
   * @default 3 (lan) · 4 (wan) · 3 (local)
   */
  gossipNodes: number;
  /**
   * Dead members keep receiving gossip for this long, so that a member wrongly declared dead
   * learns of it and refutes.
   * @default 30000 (lan) · 60000 (wan) · 10000 (local)
   */
  gossipToTheDeadTimeMs: number;
  /**
   * Base interval of full-state anti-entropy with one random member; it stretches above 32
   * members as memberlist does (one more multiple per doubling). 0 disables it.
   * Costs one stream carrying the whole table per interval.
   * @default 30000 (lan) · 60000 (wan) · 10000 (local)
   */
  pushPullIntervalMs: number;
  /**
   * Compare membership digests on every probe ack, and when this node's view differs from the
   * responder's after both should have settled (retransmitLimit(N) × gossipIntervalMs +
   * probeIntervalMs without a change here), run a full-state exchange with it at once. A node
   * that missed a piece of gossip then catches up in seconds rather than at the next periodic
   * push-pull. Costs one push-pull per settle window at most, only while views disagree.
   * @default true
   */
  digestSync: boolean;
  /**
   * Interval at which one random dead (not left) member is contacted with a full-state exchange,
   * so that a healed partition merges back. 0 disables reconnection.
   * @default 30000 (lan) · 60000 (wan) · 2000 (local)
   */
  reconnectIntervalMs: number;
  /**
   * How long a dead member is retried (and kept as a tombstone) before it is reaped.
   * @default 86400000 (24 h; local: 600000)
   */
  reconnectTimeoutMs: number;
  /**
   * How long a member that left is kept as a tombstone, so that stale gossip cannot revive it.
   * @default 86400000 (24 h; local: 600000)
   */
  tombstoneTimeoutMs: number;
  /**
   * Lifeguard: the local health score ranges over [0, awarenessMaxMultiplier - 1]; intervals and
   * timeouts are multiplied by score + 1 while this node is the slow one.
   * @default 8
   */
  awarenessMaxMultiplier: number;
  /**
   * Byte budget of one datagram, including piggybacked gossip. Keep it below the path MTU.
   * @default 1400
   */
  maxPacketBytes: number;
  /**
   * Largest full-state (push-pull) packet accepted or sent over a stream, in bytes.
   * @default 33554432 (32 MiB)
   */
  maxStreamBytes: number;
  /**
   * Most members accepted in one view; records beyond it are dropped and counted.
   * @default 100000
   */
  maxMembers: number;
  /**
   * Largest member-state payload (the service registry's instances) accepted from a peer, in
   * bytes; a packet carrying a larger one is dropped whole and counted as
   * `dropped.invalid-message`. Tags are bounded separately (64 tags, 128-byte keys, 1 KiB values).
   * @default 65536
   */
  maxPayloadBytes: number;
  /**
   * Most members one full-state exchange may add to the view (never less than the members this
   * node has heard from, so a healing partition merges at once); more are dropped and counted
   * (`dropped.new-member-limit`). The answer to this node's own join is not limited. A peer that
   * pads its push-pulls with made-up members cannot fill the view at once.
   * @default 1024
   */
  maxNewMembersPerPushPull: number;
  /**
   * Most members the push-pulls of one peer (by name) may add per minute (never less than the
   * members this node has heard from); more are dropped and counted (`dropped.new-member-limit`).
   * @default 4096
   */
  maxNewMembersPerPeerPerMinute: number;
}

export type ResolvedOptions = Readonly<MembershipOptions>;

const DAY_MS = 24 * 60 * 60 * 1000;

export const LAN: ResolvedOptions = Object.freeze({
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  streamFallbackProbe: true,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadTimeMs: 30_000,
  pushPullIntervalMs: 30_000,
  digestSync: true,
  reconnectIntervalMs: 30_000,
  reconnectTimeoutMs: DAY_MS,
  tombstoneTimeoutMs: DAY_MS,
  awarenessMaxMultiplier: 8,
  maxPacketBytes: 1400,
  maxStreamBytes: 32 * 1024 * 1024,
  maxMembers: 100_000,
  maxNewMembersPerPushPull: 1024,
  maxNewMembersPerPeerPerMinute: 4096,
  maxPayloadBytes: 65_536,
});

export const PROFILES: Readonly<Record<ProfileName, ResolvedOptions>> = Object.freeze({
  lan: LAN,
  wan: Object.freeze({
    ...LAN,
    probeIntervalMs: 5000,
    probeTimeoutMs: 3000,
    suspicionMult: 6,
    gossipIntervalMs: 500,
    gossipNodes: 4,
    gossipToTheDeadTimeMs: 60_000,
    pushPullIntervalMs: 60_000,
    reconnectIntervalMs: 60_000,
  }),
  local: Object.freeze({
    ...LAN,
    probeIntervalMs: 500,
    probeTimeoutMs: 200,
    suspicionMult: 3,
    retransmitMult: 3,
    gossipIntervalMs: 100,
    gossipToTheDeadTimeMs: 10_000,
    pushPullIntervalMs: 10_000,
    reconnectIntervalMs: 2000,
    reconnectTimeoutMs: 600_000,
    tombstoneTimeoutMs: 600_000,
  }),
});

export function isProfileName(value: unknown): value is ProfileName {
  return value === 'lan' || value === 'wan' || value === 'local';
}

type Check = readonly [keyof MembershipOptions, (v: number, o: MembershipOptions) => boolean, string];

const positiveInt = (v: number): boolean => Number.isInteger(v) && v > 0;
const nonNegativeInt = (v: number): boolean => Number.isInteger(v) && v >= 0;

const CHECKS: readonly Check[] = [
  ['probeIntervalMs', positiveInt, 'must be a positive integer number of milliseconds'],
  ['probeTimeoutMs', (v, o) => positiveInt(v) && v < o.probeIntervalMs, 'must be a positive integer below probeIntervalMs'],
  ['indirectChecks', (v) => nonNegativeInt(v) && v <= 16, 'must be an integer in [0, 16]'],
  ['suspicionMult', (v) => positiveInt(v) && v <= 100, 'must be an integer in [1, 100]'],
  ['suspicionMaxTimeoutMult', (v) => positiveInt(v) && v <= 100, 'must be an integer in [1, 100]'],
  ['retransmitMult', (v) => positiveInt(v) && v <= 100, 'must be an integer in [1, 100]'],
  ['gossipIntervalMs', positiveInt, 'must be a positive integer number of milliseconds'],
  ['gossipNodes', (v) => nonNegativeInt(v) && v <= 64, 'must be an integer in [0, 64]'],
  ['gossipToTheDeadTimeMs', nonNegativeInt, 'must be a non-negative integer number of milliseconds'],
  ['pushPullIntervalMs', nonNegativeInt, 'must be a non-negative integer number of milliseconds (0 disables)'],
  ['reconnectIntervalMs', nonNegativeInt, 'must be a non-negative integer number of milliseconds (0 disables)'],
  ['reconnectTimeoutMs', nonNegativeInt, 'must be a non-negative integer number of milliseconds'],
  ['tombstoneTimeoutMs', nonNegativeInt, 'must be a non-negative integer number of milliseconds'],
  ['awarenessMaxMultiplier', (v) => positiveInt(v) && v <= 64, 'must be an integer in [1, 64]'],
  ['maxPacketBytes', (v) => Number.isInteger(v) && v >= 512 && v <= 65_000, 'must be an integer in [512, 65000] (keep it below the path MTU)'],
  ['maxStreamBytes', (v, o) => Number.isInteger(v) && v >= o.maxPacketBytes && v <= 1 << 30, 'must be an integer in [maxPacketBytes, 1 GiB]'],
  ['maxMembers', (v) => positiveInt(v) && v <= 10_000_000, 'must be an integer in [1, 10000000]'],
  ['maxNewMembersPerPushPull', (v) => positiveInt(v) && v <= 10_000_000, 'must be an integer in [1, 10000000]'],
  ['maxNewMembersPerPeerPerMinute', (v) => positiveInt(v) && v <= 10_000_000, 'must be an integer in [1, 10000000]'],
  ['maxPayloadBytes', (v) => nonNegativeInt(v) && v <= 16 * 1024 * 1024, 'must be an integer in [0, 16 MiB]'],
];

/**
 * Merges `overrides` over the named profile and validates the result, reporting every violated
 * constraint at once in one `InvalidOptionsError`.
 */
export function resolveOptions(
  overrides: Partial<MembershipOptions> = {},
  profile: ProfileName = 'lan',
): ResolvedOptions {
  const problems: string[] = [];
  if (!isProfileName(profile)) {
    problems.push(`profile "${String(profile)}" is unknown: use one of lan, wan, local`);
  }
  const base = PROFILES[isProfileName(profile) ? profile : 'lan'];
  const merged: MembershipOptions = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in base)) {
      problems.push(`option "${key}" is unknown`);
      continue;
    }
    if (value === undefined) continue;
    (merged as unknown as Record<string, unknown>)[key] = value;
  }
  for (const [key, ok, rule] of CHECKS) {
    const value = merged[key];
    if (typeof value !== 'number' || !ok(value, merged)) {
      problems.push(`${key} ${rule} (got ${JSON.stringify(value)})`);
    }
  }
  for (const key of ['streamFallbackProbe', 'digestSync'] as const) {
    if (typeof merged[key] !== 'boolean') problems.push(`${key} must be a boolean (got ${JSON.stringify(merged[key])})`);
  }
  if (problems.length > 0) throw new InvalidOptionsError(problems);
  return Object.freeze(merged);
}
