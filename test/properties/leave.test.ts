/**
 * (f) Graceful leave: a node that leaves is `left`, never `dead`, in every live view.
 *
 * Bound from leave(): D(N) for the gossip of the `left` message (the leaver keeps gossiping until
 * it has sent it its full retransmit budget), plus AE(N): push-pull records carry `left`, which is
 * how a view the infect-and-die gossip missed learns it. "Never dead" is checked on every event
 * until a further suspicion maximum has passed, so a view that missed the news and probed the
 * stopped node would be caught if its suspicion expired before anti-entropy told it.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { antiEntropyMs, arbSeed, disseminationMs, makeWorld, recordDeaths, suspicionMaxMs } from './support.js';

describe('leave', () => {
  it('a node that leaves is left, never dead, in every live view within the dissemination and anti-entropy bound', () => {
    fc.assert(
      fc.property(arbSeed, fc.integer({ min: 2, max: 120 }), fc.nat(), (seed, n, at) => {
        const world = makeWorld(seed);
        const o = world.options;
        const names = world.buildConverged(n);
        world.runFor(2 * o.probeIntervalMs);
        const leaver = names[at % n] as string;
        const deaths = recordDeaths(world);
        world.leave(leaver);
        const bound = disseminationMs(o, n) + antiEntropyMs(o, n);
        const tag = `seed ${seed}, N=${n}, ${leaver}`;
        const allLeft = (): boolean => world.liveNames().every((v) => v === leaver || world.member(v).statusOf(leaver) === 'left');
        expect(world.runUntilTrue(allLeft, bound, 50), `${tag}: not left in every view within ${bound} ms`).toBeDefined();
        world.runFor(suspicionMaxMs(o, n) + disseminationMs(o, n));
        expect(allLeft(), `${tag}: no longer left everywhere`).toBe(true);
        expect(deaths.filter((d) => d.member === leaver), `${tag}: declared dead`).toEqual([]);
        expect(world.lifecycleOf(leaver), tag).toBe('left');
      }),
      { numRuns: 30 },
    );
  });
});
