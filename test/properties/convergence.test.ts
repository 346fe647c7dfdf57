/**
 * (a) Convergence through the real join path.
 *
 * Bound, from the moment joinAll() is called:
 *   S      = probeIntervalMs               joinAll's stagger: the last node starts its join by then
 *   J      = streamRoundTrip               its push-pull join with the seed (request + answer)
 *   D(N)   = R × (gossipIntervalMs + maxLatency) + gossipIntervalMs,  R = retransmitLimit(N)
 *            the seed (and every node it told) gossips the newcomer for R rounds: SWIM's
 *            λ·log N rounds of infection-style dissemination
 *   DR(N)  = settle(N) + probeIntervalMs + streamRoundTrip,  settle(N) = R × gossipIntervalMs + probeIntervalMs
 *            digest repair: a node that the infect-and-die gossip missed (probability about e^-R
 *            per node and change) sees a differing digest on its first probe ack after its view
 *            settled and runs a push-pull with that peer (the digestSync option)
 *   bound  = S + J + D(N) + DR(N)
 *
 * Gossip alone (S + J + D) misses this bound in about 1-5 % of mass joins (a rumour dies out
 * before one node hears it), and before digestSync only the periodic push-pull (tens of seconds)
 * repaired it. With DR the property held over 300 runs (HEARSAY_PROPERTY_RUNS=150).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { allAliveAmong, arbSeed, digestRepairMs, disseminationMs, makeWorld, streamRoundTripMs } from './support.js';

function joinAllConverges(seed: number, n: number): void {
  const world = makeWorld(seed);
  const o = world.options;
  const names = world.addNodes(n);
  world.joinAll();
  const bound = o.probeIntervalMs + streamRoundTripMs() + disseminationMs(o, n) + digestRepairMs(o, n);
  const at = world.runUntilTrue(() => allAliveAmong(world, names), bound, 50);
  expect(at, `seed ${seed}, N=${n}: not every view lists every node alive within ${bound} ms`).toBeDefined();
  // Nobody running was suspected to death on the way.
  expect(world.stats.falseDeaths, `seed ${seed}, N=${n}`).toBe(0);
}

describe('convergence after joining', () => {
  it('every view lists every node alive within the join, dissemination and digest-repair bound (N up to 60)', () => {
    fc.assert(
      fc.property(arbSeed, fc.integer({ min: 2, max: 60 }), (seed, n) => joinAllConverges(seed, n)),
      { numRuns: Number(process.env.HEARSAY_PROPERTY_RUNS ?? 40) },
    );
  });

  it('every view lists every node alive within the join, dissemination and digest-repair bound (N up to 200)', () => {
    fc.assert(
      fc.property(arbSeed, fc.integer({ min: 61, max: 200 }), (seed, n) => joinAllConverges(seed, n)),
      { numRuns: Number(process.env.HEARSAY_PROPERTY_RUNS ?? 10) },
    );
  });
});
