import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Random } from '../../src/util/random.js';
import { RandomPicker, RoundRobinPicker } from '../../src/registry/pickers.js';
import type { HealthStatus, ServiceInstance } from '../../src/registry/types.js';
import { SeededRandom } from '../../src/util/random.js';
import { instance } from './support.js';

const inst = (id: string, status: HealthStatus = 'passing', node = 'n1'): ServiceInstance => instance({ id, status, node });

const suspectNodes =
  (...nodes: string[]) =>
  (i: ServiceInstance): boolean =>
    nodes.includes(i.node);

function picks(n: number, pick: () => ServiceInstance | undefined): (string | undefined)[] {
  return Array.from({ length: n }, () => pick()?.id);
}

describe('RoundRobinPicker', () => {
  it('cycles through every candidate in order, and again', () => {
    const p = new RoundRobinPicker();
    const list = [inst('a'), inst('b'), inst('c')];
    expect(picks(7, () => p.pick('web', list))).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('keeps one cursor per key', () => {
    const p = new RoundRobinPicker();
    const list = [inst('a'), inst('b'), inst('c')];
    expect(p.pick('web', list)?.id).toBe('a');
    expect(p.pick('web', list)?.id).toBe('b');
    expect(p.pick('web|tag=v2', list)?.id).toBe('a');
    expect(p.pick('db', list)?.id).toBe('a');
    expect(p.pick('web', list)?.id).toBe('c');
    expect(p.pick('web|tag=v2', list)?.id).toBe('b');
  });

  it('skips instances that are not passing', () => {
    const p = new RoundRobinPicker();
    const list = [inst('a'), inst('w', 'warning'), inst('b'), inst('c', 'critical'), inst('m', 'maintenance'), inst('d')];
    expect(picks(8, () => p.pick('web', list))).toEqual(['a', 'b', 'd', 'a', 'b', 'd', 'a', 'b']);
  });

  it('prefers instances on alive nodes; picks suspect ones only when no alive node has one', () => {
    const p = new RoundRobinPicker();
    const list = [inst('s1', 'passing', 'sus'), inst('a', 'passing', 'n1'), inst('s2', 'passing', 'sus'), inst('b', 'passing', 'n2')];
    expect(picks(4, () => p.pick('web', list, suspectNodes('sus')))).toEqual(['a', 'b', 'a', 'b']);
    // The only alive-node instance is not passing: the suspect node's passing ones are used.
    const q = new RoundRobinPicker();
    const onlySuspect = [inst('s1', 'passing', 'sus'), inst('x', 'critical', 'n1'), inst('s2', 'passing', 'sus')];
    expect(picks(4, () => q.pick('web', onlySuspect, suspectNodes('sus')))).toEqual(['s1', 's2', 's1', 's2']);
  });

  it('returns undefined for an empty list or one with no passing instance, without disturbing the cursor', () => {
    const p = new RoundRobinPicker();
    expect(p.pick('web', [])).toBeUndefined();
    expect(p.pick('web', [inst('c', 'critical'), inst('w', 'warning')])).toBeUndefined();
    expect(p.pick('web', [inst('m', 'maintenance')], suspectNodes('n1'))).toBeUndefined();
    expect(p.pick('web', [inst('a'), inst('b')])?.id).toBe('a');
  });

  it('property: over k * n picks of a stable list, each candidate is picked exactly k times', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ status: fc.constantFrom<HealthStatus>('passing', 'passing', 'warning', 'critical', 'maintenance'), suspect: fc.boolean() }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        (specs, k) => {
          const list = specs.map((s, i) => inst(`i${i}`, s.status, s.suspect ? 'sus' : 'ok'));
          const passing = list.filter((i) => i.status === 'passing');
          const alive = passing.filter((i) => i.node === 'ok');
          const expected = alive.length > 0 ? alive : passing;
          const p = new RoundRobinPicker();
          const counts = new Map<string, number>();
          for (let j = 0; j < k * Math.max(expected.length, 1); j++) {
            const got = p.pick('key', list, suspectNodes('sus'));
            if (expected.length === 0) {
              expect(got).toBeUndefined();
              continue;
            }
            expect(expected).toContain(got);
            counts.set(got!.id, (counts.get(got!.id) ?? 0) + 1);
          }
          for (const e of expected) expect(counts.get(e.id)).toBe(k);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('RandomPicker', () => {
  it('covers every candidate and never returns a non-passing instance', () => {
    const p = new RandomPicker(new SeededRandom(42));
    const list = [inst('a'), inst('w', 'warning'), inst('b'), inst('c', 'critical'), inst('d'), inst('m', 'maintenance')];
    const seen = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const got = p.pick(list)!;
      expect(got.status).toBe('passing');
      seen.set(got.id, (seen.get(got.id) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['a', 'b', 'd']);
    // Roughly uniform: each of the three is picked well over a fifth of the time (deterministic for the seed).
    for (const n of seen.values()) expect(n).toBeGreaterThan(400);
  });

  it('prefers instances on alive nodes', () => {
    const p = new RandomPicker(new SeededRandom(7));
    const list = [inst('s1', 'passing', 'sus'), inst('a', 'passing', 'n1'), inst('b', 'passing', 'n2'), inst('s2', 'passing', 'sus')];
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 500; i++) seen.add(p.pick(list, suspectNodes('sus'))?.id);
    expect([...seen].sort()).toEqual(['a', 'b']);
    const fallback = new Set<string | undefined>();
    for (let i = 0; i < 500; i++) fallback.add(p.pick([inst('s1', 'passing', 'sus'), inst('s2', 'passing', 'sus'), inst('x', 'warning')], suspectNodes('sus'))?.id);
    expect([...fallback].sort()).toEqual(['s1', 's2']);
  });

  it('returns undefined for an empty list or one with no passing instance', () => {
    const p = new RandomPicker(new SeededRandom(1));
    expect(p.pick([])).toBeUndefined();
    expect(p.pick([inst('c', 'critical'), inst('m', 'maintenance')])).toBeUndefined();
  });

  it('draws one integer below the number of candidates per pick, and uses it as the index', () => {
    const asked: number[] = [];
    const fixed: Random = {
      next: () => 0,
      int: (n) => {
        asked.push(n);
        return n - 1;
      },
    };
    const p = new RandomPicker(fixed);
    expect(p.pick([inst('a'), inst('x', 'critical'), inst('b'), inst('c')])?.id).toBe('c');
    expect(p.pick([inst('a')])?.id).toBe('a');
    expect(p.pick([])).toBeUndefined();
    expect(asked).toEqual([3, 1]);
  });

  it('is reproducible for a seed', () => {
    const list = Array.from({ length: 10 }, (_, i) => inst(`i${i}`));
    const run = (seed: number): (string | undefined)[] => {
      const p = new RandomPicker(new SeededRandom(seed));
      return picks(50, () => p.pick(list));
    };
    expect(run(123)).toEqual(run(123));
    expect(run(123)).not.toEqual(run(124));
  });

  it('property: any seed and list, the pick is a passing candidate, alive-node ones first', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.array(fc.record({ status: fc.constantFrom<HealthStatus>('passing', 'warning', 'critical', 'maintenance'), suspect: fc.boolean() }), { maxLength: 10 }),
        (seed, specs) => {
          const list = specs.map((s, i) => inst(`i${i}`, s.status, s.suspect ? 'sus' : 'ok'));
          const got = new RandomPicker(new SeededRandom(seed)).pick(list, suspectNodes('sus'));
          const passing = list.filter((i) => i.status === 'passing');
          if (passing.length === 0) {
            expect(got).toBeUndefined();
            return;
          }
          expect(got?.status).toBe('passing');
          if (passing.some((i) => i.node === 'ok')) expect(got?.node).toBe('ok');
        },
      ),
      { numRuns: 500 },
    );
  });
});
