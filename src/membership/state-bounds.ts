/**
 * The state layer's arithmetic (state-sync.ts): how long a node's state takes to be visible
 * everywhere. Pure, apart, and table-tested (test/membership/state-bounds.test.ts); the simulator
 * properties hold the protocol to these bounds.
 *
 * A big join (a node J arriving with S bytes of state, too large to piggyback):
 *
 * 1. J joins through a seed (a push-pull: two stream trips) and runs a digest exchange with it at
 *    once (three stream trips: J's digests, the seed's answer and digests, J's deltas): the seed
 *    holds J's state after JOIN = 5 stream trips.
 * 2. J's announcement (an empty delta at its version) spreads as any piggybacked change does: it
 *    is relayed R = retransmitLimit(retransmitMult, N) rounds, and reaches every node within
 *    D(N) = R × (gossipIntervalMs + oneWayMs) + gossipIntervalMs (the membership bound).
 * 3. A node that hears of the version asks the node it heard it from (one datagram one-way) and is
 *    answered over a stream (one stream trip, the whole state). The sender may itself be still
 *    fetching: it answers when its own fetch lands, so the fetches follow the announcement's
 *    path, at most R hops deep: FETCH = R × (oneWayMs + streamTripMs).
 * 4. On a lossy network an ask or its answer may be lost: the ask is repeated after retryMs, of
 *    the owner, up to `tries` times; and every syncIntervalMs each node's summary goes to a
 *    random member, which starts a digest exchange (3 stream trips) when they differ. A node the
 *    announcement missed altogether is repaired by that backstop: REPAIR = tries × (retryMs +
 *    oneWayMs + streamTripMs) + syncRounds × syncIntervalMs + 3 × streamTripMs.
 *
 *   bigJoinBound = JOIN + D(N) + FETCH (+ REPAIR: for a node the epidemic missed, and for losses)
 */
import { retransmitLimit } from './math.js';

export interface StateBoundInputs {
  /** Members of the mesh. */
  readonly n: number;
  readonly retransmitMult: number;
  readonly gossipIntervalMs: number;
  /** The worst one-way latency of a datagram. */
  readonly oneWayMs: number;
  /** The worst time of one stream trip (latency and transfer of the largest answer). */
  readonly streamTripMs: number;
  /** A want not met is asked again after this long (state-sync.ts: 2 × probeTimeoutMs). */
  readonly retryMs: number;
  /** Times a want is asked (state-sync.ts: 3). */
  readonly tries: number;
  /** The summary interval (state-sync.ts: 2 × probeIntervalMs). */
  readonly syncIntervalMs: number;
  /**
   * Summary rounds allowed for the backstop: 0 gives the bound when the announcement reaches every
   * node, which an epidemic with a finite retransmit budget does with high probability only; at
   * least 1 covers a node it missed even without loss, more the losses of a lossy network.
   */
  readonly syncRounds: number;
}

/** D(N): the rounds a piggybacked change is relayed, each a gossip interval and a one-way trip. */
export function stateDisseminationMs(i: StateBoundInputs): number {
  return retransmitLimit(i.retransmitMult, i.n) * (i.gossipIntervalMs + i.oneWayMs) + i.gossipIntervalMs;
}

/** The fetches along the announcement's path: R hops of an ask and a stream answer. */
export function stateFetchChainMs(i: StateBoundInputs): number {
  return retransmitLimit(i.retransmitMult, i.n) * (i.oneWayMs + i.streamTripMs);
}

/** The repair of a lost ask or a missed announcement: retries, then the summary backstop. */
export function stateRepairMs(i: StateBoundInputs): number {
  if (i.syncRounds <= 0) return 0;
  return i.tries * (i.retryMs + i.oneWayMs + i.streamTripMs) + i.syncRounds * i.syncIntervalMs + 3 * i.streamTripMs;
}

/** A node joining with a state too large to piggyback is visible everywhere within this. */
export function bigJoinBoundMs(i: StateBoundInputs): number {
  return 5 * i.streamTripMs + stateDisseminationMs(i) + stateFetchChainMs(i) + stateRepairMs(i);
}

/** A small change (one piggybacked piece) is visible everywhere within this. */
export function smallChangeBoundMs(i: StateBoundInputs): number {
  // Spread as a delta: D(N); a node that missed it is repaired by the backstop (a gap it noticed
  // is an ask like a fetch, one hop deep).
  return stateDisseminationMs(i) + (i.syncRounds <= 0 ? 0 : i.oneWayMs + i.streamTripMs) + stateRepairMs(i);
}
