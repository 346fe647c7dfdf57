/**
 * (g) Partition heal: after a two-way partition long enough for each side to declare the other
 * dead, healing brings every node back alive in every view.
 *
 * Bound from the heal:
 *   reconnectIntervalMs   every node's reconnect timer fires within one interval and starts a
 *                         push-pull with a random dead (other-side) member
 *   streamRoundTrip       that exchange; each end now holds the other's `dead` records, refutes
 *                         about itself at once, and turns the other side's view of its own side
 *                         into suspicions (a remote dead merges as a suspect)
 *   suspicionMax(N)       the refutation round: a member suspected that way must hear it and
 *                         refute; if it does not in time, the suspicion runs out (at most the
 *                         Lifeguard maximum) and the resulting `dead` reaches it and it refutes
 *   2 × D(N)              the accusation reaching the accused and the refutation reaching every view
 *   AE(N)                 anti-entropy for a view the infect-and-die gossip missed
 *   bound = reconnectIntervalMs + streamRoundTrip + suspicionMax(N) + 2 × D(N) + AE(N)
 *
 * Both profiles are run: `lan` (the default) and `local` (probe 500 ms, reconnect 2 s, push-pull
 * 10 s, suspicion mult 3). `lan` stays cheap in wall time here (N ≤ 30, a few simulated minutes per
 * run), so `local` is not needed for speed; it is kept because its reconnect interval is shorter
 * than its suspicion timeouts, the opposite of `lan`, which exercises another interleaving.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { allAliveAmong, antiEntropyMs, arbSeed, disseminationMs, makeWorld, streamRoundTripMs, suspicionMaxMs } from './support.js';

describe('partition', () => {
  it('healing a two-way partition brings every node back alive in every view within the reconnect, refutation and anti-entropy bound', () => {
    fc.assert(
      fc.property(arbSeed, fc.integer({ min: 2, max: 30 }), fc.nat(), fc.constantFrom('lan' as const, 'local' as const), (seed, n, cut, profile) => {
        const world = makeWorld(seed, { profile });
        const o = world.options;
        const names = world.buildConverged(n);
        world.runFor(2 * o.probeIntervalMs);
        const k = 1 + (cut % (n - 1));
        const a = names.slice(0, k);
        const b = names.slice(k);
        world.partition(a, b);
        // Precondition (not the property): each side holds every node of the other dead. Each
        // node of a side must be probed or hear of it; a side of one, probing alone with its
        // Lifeguard score at the maximum, needs up to (N - 1) stretched probe intervals, then a
        // suspicion maximum, then dissemination.
        const declared = (): boolean =>
          a.every((x) => b.every((y) => world.member(x).statusOf(y) === 'dead')) &&
          b.every((y) => a.every((x) => world.member(y).statusOf(x) === 'dead'));
        const detect = (n + 1) * o.awarenessMaxMultiplier * o.probeIntervalMs + suspicionMaxMs(o, n) + disseminationMs(o, n);
        const tag = `seed ${seed}, ${profile}, N=${n}, sides ${a.length}/${b.length}`;
        expect(world.runUntilTrue(declared, detect, 100), `${tag}: sides did not declare each other dead`).toBeDefined();
        world.heal();
        const bound =
          o.reconnectIntervalMs + streamRoundTripMs() + suspicionMaxMs(o, n) + 2 * disseminationMs(o, n) + antiEntropyMs(o, n);
        expect(world.runUntilTrue(() => allAliveAmong(world, names), bound, 50), `${tag}: not all alive within ${bound} ms of the heal`).toBeDefined();
      }),
      { numRuns: 30 },
    );
  });
});
