import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IdentityRegistry, type Identity } from '../../src/membership/identity-registry.js';
import { MemberTable, NONE } from '../../src/membership/member-table.js';
import { SeededRandom } from '../../src/util/random.js';
import { encodeRecordPrefix } from '../../src/wire/codec.js';
import type { MemberStatus } from '../../src/wire/messages.js';

const state = { tags: {}, payload: null };
const ident = (node: string) => ({ node, addr: { host: 'h', port: 1 }, state });

describe('the member table', () => {
  it('changes its version whenever what slots() and view() show changes (the API caches the member list by it)', () => {
    const statuses: MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), name: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant('remove' as const), name: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant('status' as const), name: fc.integer({ min: 0, max: 9 }), to: fc.constantFrom(...statuses) }),
      fc.record({ kind: fc.constant('incarnation' as const), name: fc.integer({ min: 0, max: 9 }), to: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('identity' as const), name: fc.integer({ min: 0, max: 9 }), port: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('heard' as const), name: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant('touch' as const), name: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant('probe' as const) }),
    );
    const shown = (t: MemberTable): string =>
      JSON.stringify(t.slots().map((slot) => { const { changedAt: _, ...rest } = t.view(slot); return rest; }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.integer(), (ops, seed) => {
        const t = new MemberTable(new SeededRandom(seed));
        let now = 0;
        for (const o of ops) {
          const before = shown(t);
          const version = t.version;
          const name = 'name' in o ? `m${o.name}` : '';
          const slot = name === '' ? NONE : t.slotOf(name);
          now++;
          if (o.kind === 'add' && slot === NONE) t.add(ident(name), 0, 'alive', now);
          if (o.kind === 'remove' && slot !== NONE) t.remove(slot);
          if (o.kind === 'status' && slot !== NONE) t.setStatus(slot, o.to, now);
          if (o.kind === 'incarnation' && slot !== NONE) t.setIncarnation(slot, o.to);
          if (o.kind === 'identity' && slot !== NONE) t.setIdentity(slot, { node: name, addr: { host: 'h', port: o.port }, state });
          if (o.kind === 'heard' && slot !== NONE) t.setHeard(slot);
          if (o.kind === 'touch' && slot !== NONE) t.touch(slot, now);
          if (o.kind === 'probe') t.nextProbeTarget(NONE);
          if (t.version === version) expect(shown(t)).toBe(before);
        }
      }),
      { numRuns: 300 },
    );
  });

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

  it('lists every entry as a push-pull record, in probe order', () => {
    const t = new MemberTable(new SeededRandom(4));
    const a = ident('a');
    t.add(a, 3, 'alive', 0);
    t.add(ident('b'), 1, 'suspect', 0);
    t.setStatus(t.add(ident('c'), 0xfffffffe, 'alive', 0), 'dead', 5);
    const records = t.records();
    expect(records.map((r) => r.node)).toEqual(t.slots().map((s) => t.name(s)));
    expect(records.find((r) => r.node === 'a')).toEqual({ node: 'a', addr: a.addr, incarnation: 3, status: 'alive', state });
    expect(records.find((r) => r.node === 'b')?.status).toBe('suspect');
    expect(records.find((r) => r.node === 'c')).toMatchObject({ status: 'dead', incarnation: 0xfffffffe });
  });

  it('visits every active member once per probe round and skips tombstones and itself', () => {
    const t = new MemberTable(new SeededRandom(3));
    const self = t.add(ident('self'), 0, 'alive', 0);
    for (let i = 0; i < 10; i++) t.add(ident(`m${i}`), 0, i < 8 ? 'alive' : 'dead', 0);
    // Nobody heard yet: all of them are in the unheard lane, each once a round.
    const unheard = Array.from({ length: 8 }, () => t.name(t.nextProbeTarget(self, 'unheard'))).sort();
    expect(unheard).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    expect(t.nextProbeTarget(self, 'heard')).toBe(NONE);
    expect(t.unheardCount).toBe(9); // self too: Membership marks itself
    for (let i = 0; i < 4; i++) t.setHeard(t.slotOf(`m${i}`));
    expect(t.unheardCount).toBe(5);
    const heard = Array.from({ length: 4 }, () => t.name(t.nextProbeTarget(self, 'heard'))).sort();
    expect(heard).toEqual(['m0', 'm1', 'm2', 'm3']);
  });

  it('forgets that a member was heard once it dies or leaves, and counts the unheard active members', () => {
    const t = new MemberTable(new SeededRandom(3));
    const m = t.add(ident('m'), 0, 'alive', 0);
    t.setHeard(m);
    expect([t.heard(m), t.unheardCount]).toEqual([true, 0]);
    t.setStatus(m, 'suspect', 1);
    expect([t.heard(m), t.unheardCount]).toEqual([true, 0]); // still the member we heard
    t.setStatus(m, 'dead', 2);
    expect([t.heard(m), t.unheardCount, t.status(m)]).toEqual([false, 0, 'dead']);
    t.setStatus(m, 'alive', 3); // back, maybe a new process: must answer again
    expect([t.heard(m), t.unheardCount]).toEqual([false, 1]);
    t.setHeard(t.slotOf('m'));
    t.remove(m);
    expect(t.unheardCount).toBe(0);
  });

  it('holds identities by id in a registry that tables share, counting references (model: a Map)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), table: fc.nat(2), name: fc.constantFrom('a', 'b', 'c', 'd'), obj: fc.nat(5) }),
      fc.record({ kind: fc.constant('set' as const), table: fc.nat(2), name: fc.constantFrom('a', 'b', 'c', 'd'), obj: fc.nat(5) }),
      fc.record({ kind: fc.constant('remove' as const), table: fc.nat(2), name: fc.constantFrom('a', 'b', 'c', 'd'), obj: fc.nat(5) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const registry = new IdentityRegistry();
        const tables = [0, 1, 2].map((k) => new MemberTable(new SeededRandom(k), registry));
        // A few distinct objects per name, as the same member's identity from different messages.
        const objects = new Map<string, Identity[]>();
        for (const n of ['a', 'b', 'c', 'd']) objects.set(n, Array.from({ length: 6 }, () => ident(n)));
        const model = tables.map(() => new Map<string, Identity>());
        for (const o of ops) {
          const t = tables[o.table] as MemberTable;
          const m = model[o.table] as Map<string, Identity>;
          const obj = (objects.get(o.name) as Identity[])[o.obj] as Identity;
          const slot = t.slotOf(o.name);
          if (o.kind === 'add' && slot === NONE) {
            t.add(obj, 0, 'alive', 0);
            m.set(o.name, obj);
          } else if (o.kind === 'set' && slot !== NONE) {
            t.setIdentity(slot, obj);
            m.set(o.name, obj);
          } else if (o.kind === 'remove' && slot !== NONE) {
            t.remove(slot);
            m.delete(o.name);
          }
        }
        const held = new Map<Identity, number>();
        for (let k = 0; k < tables.length; k++) {
          const t = tables[k] as MemberTable;
          for (const [name, obj] of model[k] as Map<string, Identity>) {
            expect(t.identity(t.slotOf(name))).toBe(obj);
            held.set(obj, (held.get(obj) ?? 0) + 1);
          }
        }
        // Exactly the objects some table holds are registered, each counted once per holder.
        expect(registry.size).toBe(held.size);
        for (const [obj, n] of held) expect(registry.refCount(registry.acquire(obj)) - 1).toBe(n);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same table from shared ids (addShared, setIdentityShared) as from the objects', () => {
    const records = Array.from({ length: 300 }, (_, i) => ident(`m${i}`));
    const newer = records.slice(0, 50).map((r) => ident(r.node));
    const own = new MemberTable(new SeededRandom(9));
    const registry = new IdentityRegistry();
    registry.idsOf([ident('elsewhere')]); // ids in the shared registry need not start at 0
    const shared = new MemberTable(new SeededRandom(9), registry);
    for (const r of records) own.add(r, 1, 'alive', 5);
    const ids = registry.idsOf(records);
    for (let i = 0; i < records.length; i++) shared.addShared(ids[i] as number, 1, 'alive', 5);
    for (const r of newer) own.setIdentity(own.slotOf(r.node), r);
    const newerIds = registry.idsOf(newer);
    for (let i = 0; i < newer.length; i++) shared.setIdentityShared(shared.slotOf((newer[i] as Identity).node), newerIds[i] as number);
    const dump = (t: MemberTable): unknown[] => t.slots().map((s) => [s, t.identity(s), t.incarnation(s), t.status(s), t.changedAt(s)]);
    expect(dump(shared)).toEqual(dump(own));
    for (let i = 0; i < records.length; i++) {
      const slot = shared.slotOf(`m${i}`);
      expect(shared.identity(slot)).toBe(i < 50 ? newer[i] : records[i]);
    }
    expect(shared.digest).toBe(own.digest);
    const self = 0;
    for (let k = 0; k < 600; k++) expect(shared.nextProbeTarget(self)).toBe(own.nextProbeTarget(self));
    // The idsOf cache lets go of the earlier batch: only what the table holds stays registered.
    registry.idsOf([]);
    expect(registry.size).toBe(records.length);
  });

  it('lists the same records as records() through recordSource, and finds records by their prefix bytes', () => {
    const reg = new IdentityRegistry();
    const t = new MemberTable(new SeededRandom(3), reg);
    const tagged = { tags: { a: 'b' }, payload: null };
    const statuses: MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];
    for (let k = 0; k < 50; k++) t.add({ node: `m${k}`, addr: { host: `10.0.0.${k}`, port: 7946 }, state: k % 2 ? state : tagged }, k * 5, statuses[k % 4] as MemberStatus, 0);
    t.remove(t.slotOf('m7'));
    const records = t.records();
    const src = t.recordSource();
    expect(src.count).toBe(records.length);
    for (let i = 0; i < records.length; i++) {
      src.seek(i);
      const m = records[i]!;
      const expected = encodeRecordPrefix(m.node, m.addr.host, m.addr.port);
      expect(Buffer.from(src.prefix.subarray(src.prefixStart, src.prefixEnd)).equals(Buffer.from(expected))).toBe(true);
      expect([src.incarnation, src.status, src.state]).toEqual([m.incarnation, m.status, m.state]);
      // The record's own bytes find its slot, as the same prefix; another port finds it by name only.
      const nameStart = 1; // the name's fixstr header
      expect(t.slotOfRecord(expected, nameStart, m.node.length, 0, expected.length)).toBe(t.slotOf(m.node));
      expect(t.foundSamePrefix).toBe(true);
      const moved = encodeRecordPrefix(m.node, m.addr.host, 1);
      expect(t.slotOfRecord(moved, nameStart, m.node.length, 0, moved.length)).toBe(t.slotOf(m.node));
      expect(t.foundSamePrefix).toBe(false);
    }
    const unknown = encodeRecordPrefix('m7', '10.0.0.7', 7946);
    expect(t.slotOfRecord(unknown, 1, 2, 0, unknown.length)).toBe(NONE);
  });

  it('answers changedAt as a column would, before and after most entries changed at their own times', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(300), fc.constantFrom(0, 0, 5, 7.5), fc.constantFrom('add', 'status', 'touch', 'remove')), { maxLength: 600 }), (ops) => {
        const t = new MemberTable(new SeededRandom(1));
        const model = new Map<string, number>();
        let clock = 0;
        for (const [k, step, op] of ops) {
          clock += step;
          const name = `m${k}`;
          const slot = t.slotOf(name);
          if (slot === NONE) {
            if (op !== 'remove') model.set(name, (t.add(ident(name), 0, 'alive', clock), clock));
            continue;
          }
          if (op === 'status') {
            const before = t.status(slot);
            t.setStatus(slot, before === 'alive' ? 'suspect' : 'alive', clock);
            model.set(name, clock);
          } else if (op === 'touch') {
            t.touch(slot, clock);
            model.set(name, clock);
          } else if (op === 'remove') {
            t.remove(slot);
            model.delete(name);
          }
        }
        for (const [name, time] of model) expect(t.changedAt(t.slotOf(name))).toBe(time);
      }),
      { numRuns: 200 },
    );
  });

  it('restoreEntry builds the very table that slotOfId, addShared and setHeard build', () => {
    const statuses: MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(80), fc.nat(3), fc.nat(9)), { maxLength: 200 }), fc.nat(150), fc.boolean(), fc.integer(), (recs, limit, reserve, seed) => {
        const reg = new IdentityRegistry();
        const objects = Array.from({ length: 81 }, (_, k) => ident(`m${k}`));
        const ids = objects.map((o) => reg.acquire(o));
        const a = new MemberTable(new SeededRandom(seed), reg);
        const b = new MemberTable(new SeededRandom(seed), reg);
        if (reserve) {
          a.reserve(recs.length);
          b.reserve(recs.length);
        }
        for (const [k, st, inc] of recs) {
          const id = ids[k] as number;
          const status = statuses[st] as MemberStatus;
          const got = a.restoreEntry(id, inc, status, 1, limit);
          let want = b.slotOfId(id);
          let added = false;
          if (want === NONE && b.size < limit) {
            want = b.addShared(id, inc, status, 1);
            b.setHeard(want);
            added = true;
          }
          expect([got, a.restoreAdded]).toEqual([want, added]);
        }
        expect(a.records()).toEqual(b.records());
        expect([a.digest, a.size, a.unheardCount, a.counts, a.tombstones()]).toEqual([b.digest, b.size, b.unheardCount, b.counts, b.tombstones()]);
        expect(a.slots().map((x) => a.heard(x))).toEqual(b.slots().map((x) => b.heard(x)));
      }),
      { numRuns: 300 },
    );
  });
});
