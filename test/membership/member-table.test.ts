import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemberTable, NONE } from '../../src/membership/member-table.js';
import { SeededRandom } from '../../src/util/random.js';
import type { MemberStatus } from '../../src/wire/messages.js';

const state = { tags: {}, payload: null };
const ident = (node: string) => ({ node, addr: { host: 'h', port: 1 }, state });

describe('the member table', () => {
  it('finds every member by name after any sequence of adds and removes (model: a Map)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), name: fc.string({ minLength: 1, maxLength: 6 }) }),
      fc.record({ kind: fc.constant('remove' as const), name: fc.string({ minLength: 1, maxLength: 6 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.integer(), (ops, seed) => {
        const t = new MemberTable(new SeededRandom(seed));
        const model = new Map<string, number>();
        for (const o of ops) {
          const slot = t.slotOf(o.name);
          expect(slot === NONE).toBe(!model.has(o.name));
          if (o.kind === 'add' && slot === NONE) model.set(o.name, t.add(ident(o.name), 0, 'alive', 0));
          if (o.kind === 'remove' && slot !== NONE) {
            t.remove(slot);
            model.delete(o.name);
          }
        }
        expect(t.size).toBe(model.size);
        for (const [name, slot] of model) {
          expect(t.slotOf(name)).toBe(slot);
          expect(t.name(slot)).toBe(name);
        }
        expect(t.slots().map((s) => t.name(s)).sort()).toEqual([...model.keys()].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('keeps status counts and the digest consistent with its entries', () => {
    const t = new MemberTable(new SeededRandom(1));
    const statuses: MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];
    const slots = Array.from({ length: 40 }, (_, i) => t.add(ident(`m${i}`), i, 'alive', 0));
    const digestOf = (alive: string[]): number => {
      const u = new MemberTable(new SeededRandom(2));
      for (const n of alive) u.add(ident(n), t.incarnation(t.slotOf(n)), 'alive', 0);
      return u.digest;
    };
    for (let i = 0; i < slots.length; i++) t.setStatus(slots[i] as number, statuses[i % 4] as MemberStatus, 1);
    t.setIncarnation(slots[0] as number, 99);
    expect(t.counts).toEqual({ alive: 10, suspect: 10, dead: 10, left: 10 });
    const alive = slots.filter((s) => t.status(s) === 'alive').map((s) => t.name(s));
    expect(t.digest).toBe(digestOf(alive));
    t.remove(slots[4] as number);
    expect(t.counts.alive).toBe(9);
    expect(t.digest).toBe(digestOf(alive.filter((n) => n !== 'm4')));
  });

  it('visits every active member once per probe round and skips tombstones and itself', () => {
    const t = new MemberTable(new SeededRandom(3));
    const self = t.add(ident('self'), 0, 'alive', 0);
    for (let i = 0; i < 10; i++) t.add(ident(`m${i}`), 0, i < 8 ? 'alive' : 'dead', 0);
    const seen = Array.from({ length: 8 }, () => t.name(t.nextProbeTarget(self))).sort();
    expect(seen).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
  });
});
