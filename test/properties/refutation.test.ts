/**
 * (e) Refutation: a node that is falsely suspected (it stalls until somebody suspects it, then
 * carries on) raises its incarnation and is alive, at that higher incarnation, in every view.
 *
 * Bound from the resume:
 *   D(N)    the accusation reaches the suspect (buddy-rule suspects on probes, gossip, which also
 *           targets suspect members; usually already queued for it while it stalled)
 *   D(N)    its refutation `alive(i + 1)` spreads to every view
 *   AE(N)   anti-entropy for a view the infect-and-die gossip missed (see support.ts)
 *   bound = 2 × D(N) + AE(N)
 * Then it must stay alive in every view for a further suspicion maximum plus dissemination: no
 * stale suspicion timer may kill it afterwards.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { antiEntropyMs, arbSeed, disseminationMs, makeWorld, suspicionMaxMs } from './support.js';

describe('refutation', () => {
  it('a falsely suspected node refutes and is alive with a higher incarnation in every view afterwards', () => {
    fc.assert(
      fc.property(arbSeed, fc.integer({ min: 3, max: 80 }), fc.nat(), fc.nat({ max: 999 }), (seed, n, victimAt, extraFrac) => {
        const world = makeWorld(seed);
        const o = world.options;
        const names = world.buildConverged(n);
        world.runFor(2 * o.probeIntervalMs);
        const victim = names[victimAt % n] as string;
        const before = world.member(victim).incarnation;
        let suspected = false;
        let refuted = false;
        world.onEvent((node, event) => {
          if (event.type === 'member-suspect' && event.member.name === victim) suspected = true;
          if (event.type === 'self-refute' && node === victim) refuted = true;
        });
        world.pause(victim);
        // Stall until somebody suspects it (a probe of it must fail; bounded like detection in (b)).
        const suspectedAt = world.runUntilTrue(() => suspected, 2 * o.probeIntervalMs + (n - 1) * o.probeIntervalMs, 10);
        expect(suspectedAt, `seed ${seed}, N=${n}: ${victim} was never suspected while stalled`).toBeDefined();
        // Stay stalled a little longer (below one probe interval, far below the suspicion minimum).
        world.runFor((extraFrac / 1000) * o.probeIntervalMs);
        world.resume(victim);
        const aliveHigher = (): boolean =>
          world.liveNames().every((v) => {
            if (v === victim) return true;
            const view = world.member(v).member(victim);
            return view !== undefined && view.status === 'alive' && view.incarnation > before;
          });
        const bound = 2 * disseminationMs(o, n) + antiEntropyMs(o, n);
        const at = world.runUntilTrue(aliveHigher, bound, 50);
        const tag = `seed ${seed}, N=${n}, victim ${victim}`;
        expect(refuted, tag).toBe(true);
        expect(at, `${tag}: not alive above incarnation ${before} in every view within ${bound} ms`).toBeDefined();
        world.runFor(suspicionMaxMs(o, n) + disseminationMs(o, n));
        expect(aliveHigher(), `${tag}: no longer alive everywhere afterwards`).toBe(true);
      }),
      { numRuns: 25 },
    );
  });
});
