/**
 * (h) State updates: a node's new tags (world.setLocalState, a new incarnation spread as `alive`)
 * reach every live view.
 *
 * Bound from the change: D(N) for the gossip of the new `alive`, plus AE(N) for a view the
 * infect-and-die gossip missed (push-pull records carry the state).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { tagsEqual } from '../../src/membership/state.js';
import { antiEntropyMs, arbSeed, disseminationMs, makeWorld } from './support.js';

const arbTags = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-') }),
  fc.string({ maxLength: 12 }),
  { maxKeys: 5 },
);

describe('state updates', () => {
  it("a node's new tags reach every live view within the dissemination and anti-entropy bound", () => {
    fc.assert(
      fc.property(arbSeed, fc.integer({ min: 2, max: 120 }), fc.nat(), fc.array(arbTags, { minLength: 1, maxLength: 3 }), (seed, n, at, updates) => {
        const world = makeWorld(seed);
        const o = world.options;
        const names = world.buildConverged(n);
        world.runFor(2 * o.probeIntervalMs);
        const node = names[at % n] as string;
        // Several updates in a row: only the last one may be what every view ends with.
        for (const tags of updates) {
          world.setLocalState(node, { tags, payload: null });
          world.runFor(o.gossipIntervalMs);
        }
        const last = updates[updates.length - 1] as Record<string, string>;
        const incarnation = world.member(node).incarnation;
        const reached = (): boolean =>
          world.liveNames().every((v) => {
            if (v === node) return true;
            const view = world.member(v).member(node);
            return view !== undefined && view.status === 'alive' && view.incarnation === incarnation && tagsEqual(view.state.tags, last);
          });
        const bound = disseminationMs(o, n) + antiEntropyMs(o, n);
        expect(world.runUntilTrue(reached, bound, 50), `seed ${seed}, N=${n}, ${node}: tags not in every view within ${bound} ms`).toBeDefined();
      }),
      { numRuns: 30 },
    );
  });
});
