/**
 * (i) Merge: applying the same membership updates in any order, with duplicates, gives the same
 * table. Straight on Membership instances through handlePacket (the real decode and precedence
 * path), no simulator.
 *
 * Both receivers start from the same table: one `alive(0)` for every member name, delivered first.
 * Without that, `suspect` and `dead` about an unknown member are dropped (they carry no address
 * to create the entry with), so "dead(1) then alive(0)" and "alive(0) then dead(1)" differ by
 * design, not by a precedence bug.
 *
 * DESIGN.md's rules are a total order on (incarnation, status) with alive < suspect < dead < left
 * at one incarnation and the higher incarnation first (src/membership/precedence.ts); a merge
 * that keeps the maximum is commutative and idempotent. These properties found that an earlier
 * version ignored newer news about a dead or left entry (dead(1), dead(2) kept dead@1 while the
 * reverse order kept dead@2); the minimal counterexample stays as a regression test.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Membership } from '../../src/membership/membership.js';
import { resolveOptions } from '../../src/membership/options.js';
import { SeededRandom } from '../../src/util/random.js';
import { encodeMessage, encodePacket } from '../../src/wire/codec.js';
import type { Address, Message } from '../../src/wire/messages.js';

const MEMBERS = ['a', 'b', 'c'] as const;
const OTHERS = ['x', 'y'] as const;
const EMPTY = { tags: {}, payload: null };
const addrOf = (name: string): Address => ({ host: `10.0.0.${name.charCodeAt(0)}`, port: 7946 });

type Kind = 'alive' | 'suspect' | 'dead' | 'left';
interface Update {
  readonly kind: Kind;
  readonly node: string;
  readonly incarnation: number;
  readonly from: string;
}

function toMessage(u: Update): Message {
  switch (u.kind) {
    case 'alive':
      return { type: 'alive', node: u.node, addr: addrOf(u.node), incarnation: u.incarnation, state: EMPTY };
    case 'suspect':
      return { type: 'suspect', node: u.node, incarnation: u.incarnation, from: u.from };
    case 'dead':
      return { type: 'dead', node: u.node, incarnation: u.incarnation, from: u.from };
    case 'left':
      return { type: 'dead', node: u.node, incarnation: u.incarnation, from: u.node };
  }
}

/** A fresh receiver, seeded with alive(0) for every member, then fed `updates` in packets of `groups` sizes. */
function apply(updates: readonly Update[], groups: readonly number[]): string[] {
  const m = new Membership({ name: 'r', addr: addrOf('r'), options: resolveOptions(), random: new SeededRandom(1) });
  const from = addrOf('x');
  let now = 0;
  for (const node of MEMBERS) m.handlePacket(from, encodePacket([encodeMessage(toMessage({ kind: 'alive', node, incarnation: 0, from: 'x' }))]), 'datagram', now++);
  let k = 0;
  let g = 0;
  while (k < updates.length) {
    const size = Math.max(1, Math.min(groups[g++ % Math.max(1, groups.length)] ?? 1, updates.length - k));
    const parts = updates.slice(k, k + size).map((u) => encodeMessage(toMessage(u)));
    k += size;
    m.handlePacket(from, encodePacket(parts), 'datagram', now++);
  }
  return m
    .members()
    .filter((v) => v.name !== 'r')
    .map((v) => `${v.name}:${v.status}@${v.incarnation}`)
    .sort();
}

const arbUpdate = (kinds: readonly Kind[]): fc.Arbitrary<Update> =>
  fc.record({
    kind: fc.constantFrom(...kinds),
    node: fc.constantFrom(...MEMBERS),
    incarnation: fc.integer({ min: 0, max: 4 }),
    from: fc.constantFrom(...MEMBERS, ...OTHERS),
  });

/** The updates, two independent shuffles of them each with random duplicates, and packet groupings. */
const arbOrders = (kinds: readonly Kind[]) =>
  fc.array(arbUpdate(kinds), { minLength: 1, maxLength: 12 }).chain((us) =>
    fc.tuple(
      fc.shuffledSubarray(us, { minLength: us.length, maxLength: us.length }),
      fc.array(fc.constantFrom(...us), { maxLength: 4 }),
      fc.shuffledSubarray(us, { minLength: us.length, maxLength: us.length }),
      fc.array(fc.constantFrom(...us), { maxLength: 4 }),
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
    ),
  );

/** Inserts each duplicate at a position derived from its index, deterministically. */
function withDuplicates(order: readonly Update[], dups: readonly Update[]): Update[] {
  const out = order.slice();
  dups.forEach((d, i) => out.splice((i * 7) % (out.length + 1), 0, d));
  return out;
}

function sameTable(kinds: readonly Kind[], numRuns: number): void {
  fc.assert(
    fc.property(arbOrders(kinds), ([one, dupsOne, two, dupsTwo, groupsOne, groupsTwo]) => {
      const first = apply(withDuplicates(one, dupsOne), groupsOne);
      const second = apply(withDuplicates(two, dupsTwo), groupsTwo);
      expect(second).toEqual(first);
    }),
    { numRuns },
  );
}

describe('merge', () => {
  it('applying alive and suspect updates in any order, with duplicates, gives the same table', () => {
    sameTable(['alive', 'suspect'], 500);
  });

  it('applying alive, suspect, dead and left updates in any order, with duplicates, gives the same table', () => {
    sameTable(['alive', 'suspect', 'dead', 'left'], 500);
  });

  it('dead(1) then dead(2) gives the same table as dead(2) then dead(1) (minimal counterexample)', () => {
    const d = (incarnation: number): Update => ({ kind: 'dead', node: 'b', incarnation, from: 'x' });
    expect(apply([d(1), d(2)], [1])).toEqual(apply([d(2), d(1)], [1]));
  });
});
