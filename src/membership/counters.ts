/**
 * Membership's counters: one plain object of numbers per node, every name present from the start
 * (the agent exports them as metrics). Membership, the prober and the outbox increment them.
 */
import { DROP_REASONS } from './types.js';

const COUNTER_NAMES = [
  'packetsIn',
  'packetsOut',
  'bytesIn',
  'bytesOut',
  'messagesIn',
  'probes',
  'probeFailures',
  'indirectProbes',
  'streamProbes',
  'refusedStreamProbes',
  'relayedProbes',
  'nacksSent',
  'suspicionsRaised',
  'confirmations',
  'deathsDeclared',
  'suspicionsDeferredAfterStall',
  'refutations',
  'pushPullsSent',
  'pushPullsReceived',
  'reconnects',
  'staleAccusationsAnswered',
  'digestSyncs',
  'gossipPackets',
  'reaped',
  'nameConflicts',
  'nameConflictsLost',
  'stateDeltasApplied',
  'stateDeltasStale',
  'stateGaps',
  'stateAnnounces',
  'stateRequestsSent',
  'stateRequestsAnswered',
  'stateExchanges',
  'stateTombstonesCollected',
  'stateInvalidTags',
  'stateDeltaBytes.instance',
  'stateDeltaBytes.status',
  'stateDeltaBytes.checks',
  'stateDeltaBytes.tags',
  'stateDeltaBytes.other',
  'stateDeltaBytes.header',
  ...DROP_REASONS.map((r) => `dropped.${r}` as const),
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];
export type MembershipCounters = Record<CounterName, number>;

/** Every counter at 0, in the order above. */
export function newCounters(): MembershipCounters {
  const counters = {} as MembershipCounters;
  for (const c of COUNTER_NAMES) counters[c] = 0;
  return counters;
}
