/**
 * The column slabs member tables may share (column-slab.ts), and the lookups the speed work of
 * issue 12.5 added to the table (by registry id, by ASCII bytes): a table on slabs behaves exactly
 * as one on its own arrays, and every lookup agrees with `slotOf`.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ColumnSlab, columnBytes } from '../../src/membership/column-slab.js';
import { IdentityRegistry } from '../../src/membership/identity-registry.js';
import { MemberTable, NONE, tableColumnBytes } from '../../src/membership/member-table.js';
import { SeededRandom } from '../../src/util/random.js';
import type { MemberStatus } from '../../src/wire/messages.js';

const state = { tags: {}, payload: null };
const ident = (node: string) => ({ node, addr: { host: 'h', port: 1 }, state });
const STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

describe('a column slab', () => {
  it('hands out zeroed, aligned columns that never overlap, and sizes a slab to a reservation', () => {
    const slab = new ColumnSlab();
    const a = slab.uint8(3);
    const b = slab.float64(5);
    const c = slab.int32(7);
    expect([...a, ...b, ...c].every((v) => v === 0)).toBe(true);
    expect(b.byteOffset % 8).toBe(0);
    a.fill(255);
    b.fill(-1);
    c.fill(-1);
    expect(a.every((v) => v === 255) && b.every((v) => v === -1) && c.every((v) => v === -1)).toBe(true);
    expect(slab.bytes).toBe(64 * 1024); // the first unreserved slab
    const reserved = new ColumnSlab();
    reserved.reserve(3 * columnBytes(4 * 1000));
    for (let i = 0; i < 3; i++) reserved.int32(1000);
    expect(reserved.bytes).toBe(3 * columnBytes(4 * 1000));
  });

  it('gives a table the same behaviour as its own arrays (same slots, order, digest, counts)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), name: fc.string({ minLength: 1, maxLength: 4 }), status: fc.constantFrom(...STATUSES) }),
      fc.record({ kind: fc.constant('remove' as const), name: fc.string({ minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('status' as const), name: fc.string({ minLength: 1, maxLength: 4 }), status: fc.constantFrom(...STATUSES) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer(), (ops, seed) => {
        const slab = new ColumnSlab();
        const tables = [new MemberTable(new SeededRandom(seed)), new MemberTable(new SeededRandom(seed), new IdentityRegistry(), slab)];
        for (const o of ops) {
          for (const t of tables) {
            const slot = t.slotOf(o.name);
            if (o.kind === 'add' && slot === NONE) t.add(ident(o.name), 1, o.status, 0);
            else if (o.kind === 'remove' && slot !== NONE) t.remove(slot);
            else if (o.kind === 'status' && slot !== NONE) t.setStatus(slot, o.status, 1);
          }
        }
        const [plain, slabbed] = tables as [MemberTable, MemberTable];
        expect(slabbed.slots()).toEqual(plain.slots());
        expect(slabbed.records()).toEqual(plain.records());
        expect([slabbed.digest, slabbed.counts, slabbed.unheardCount]).toEqual([plain.digest, plain.counts, plain.unheardCount]);
      }),
      { numRuns: 200 },
    );
  });

  it('counts a table of known size in tableColumnBytes, so that a reservation for it is exact', () => {
    const slab = new ColumnSlab();
    slab.reserve(tableColumnBytes(1000));
    const t = new MemberTable(new SeededRandom(1), new IdentityRegistry(), slab);
    t.reserve(1000);
    expect(slab.bytes).toBe(tableColumnBytes(1000));
  });
});

describe('the member table lookups without a name string', () => {
  it('slotOfId and slotOfAscii find what slotOf finds', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 5, unit: 'grapheme-ascii' }), { maxLength: 60 }), fc.array(fc.string({ minLength: 1, maxLength: 5, unit: 'grapheme-ascii' }), { maxLength: 20 }), (names, probes) => {
        const reg = new IdentityRegistry();
        const t = new MemberTable(new SeededRandom(1), reg);
        for (const n of names) t.add(ident(n), 0, 'alive', 0);
        const bytes = new TextEncoder().encode(`xx${[...names, ...probes].join('')}`);
        let at = 2;
        for (const n of [...names, ...probes]) {
          expect(t.slotOfAscii(bytes, at, n.length)).toBe(t.slotOf(n));
          // Another identity object of the same name is found by id too.
          const other = reg.acquire(ident(n));
          expect(t.slotOfId(other)).toBe(t.slotOf(n));
          reg.release(other);
          at += n.length;
        }
      }),
      { numRuns: 200 },
    );
  });
});
