import { describe, expect, it } from 'vitest';
import { NodeState } from '../../src/state/node-state.js';
import { DEFAULT_STATE_LIMITS, type NodeDelta } from '../../src/state/types.js';

const v = (s: string): Uint8Array => new TextEncoder().encode(s);
const L = DEFAULT_STATE_LIMITS;
const owner = (): NodeState => new NodeState('x', 1);
const live = (s: NodeState): Record<string, string> => Object.fromEntries(s.entries().map((e) => [e.key, new TextDecoder().decode(e.value)]));

describe('one owner\'s versioned state', () => {
  it('gives every change the next version and keeps only the latest entry per key', () => {
    const s = owner();
    s.change('a', v('1'), 0, L);
    s.change('b', v('2'), 0, L);
    s.change('a', v('3'), 0, L);
    expect(s.version).toBe(3);
    expect(live(s)).toEqual({ b: '2', a: '3' });
    expect(s.change('zz', null, 0, L)).toBe('absent');
    s.change('b', null, 0, L);
    expect(s.version).toBe(4);
    expect(live(s)).toEqual({ a: '3' });
    expect(s.tombstones).toBe(1);
  });

  it('refuses changes past its limits, naming the limit, and changes nothing', () => {
    const s = owner();
    const small = { maxEntries: 2, maxEntryBytes: 8, maxNodeBytes: 12 };
    expect(s.change('k', v('123456789'), 0, small)).toBe('entry-too-large');
    s.change('a', v('12345'), 0, small);
    expect(s.change('b', v('1234567'), 0, small)).toBe('node-too-large');
    s.change('b', v('1'), 0, small);
    expect(s.change('c', v('1'), 0, small)).toBe('too-many-entries');
    expect(s.version).toBe(2);
  });

  it('a delta from v carries every latest entry above v in order, and any prefix of it is a consistent state', () => {
    const s = owner();
    for (let i = 0; i < 20; i++) s.change(`k${i % 7}`, v(`v${i}`), 0, L);
    const r = new NodeState('x', 1);
    // Budget of ~3 entries at a time: applied in pieces, it still ends equal.
    for (let round = 0; round < 10 && r.version < s.version; round++) {
      const d = s.deltaFor(r.digest(), 9) as NodeDelta;
      expect(d.entries.map((e) => e.version)).toEqual([...d.entries.map((e) => e.version)].sort((a, b) => a - b));
      expect(r.apply(d, 0, L).ok).toBe(true);
      // Every key r holds is at the value s had for it at r's version.
      for (const e of r.entries()) expect(e.version).toBeLessThanOrEqual(r.version);
    }
    expect(live(r)).toEqual(live(s));
    expect(s.deltaFor(r.digest(), 100)).toBeNull();
  });

  it('refuses a delta that would leave a gap, a malformed one, and one of another generation', () => {
    const s = owner();
    for (let i = 0; i < 5; i++) s.change(`k${i}`, v('x'), 0, L);
    const r = new NodeState('x', 1);
    const late = s.deltaFor({ node: 'x', generation: 1, version: 3 }, 100) as NodeDelta;
    expect(r.apply(late, 0, L)).toEqual({ ok: false, reason: 'gap' });
    const full = s.deltaFor(r.digest(), 100) as NodeDelta;
    expect(r.apply({ ...full, entries: [...full.entries].reverse() }, 0, L)).toEqual({ ok: false, reason: 'malformed' });
    expect(r.apply({ ...full, toVersion: 2 }, 0, L)).toEqual({ ok: false, reason: 'malformed' });
    expect(r.apply({ ...full, generation: 0 }, 0, L)).toEqual({ ok: false, reason: 'stale-generation' });
    expect(r.apply(full, 0, L).ok).toBe(true);
    expect(r.apply(full, 0, L)).toEqual({ ok: false, reason: 'nothing-new' });
  });

  it('a delete reaches a replica as a tombstone; once collected, a peer behind it gets the whole state, never the old value', () => {
    const s = owner();
    s.change('a', v('1'), 0, L);
    s.change('b', v('2'), 0, L);
    const stale = new NodeState('x', 1);
    stale.apply(s.deltaFor(stale.digest(), 100) as NodeDelta, 0, L);
    s.change('a', null, 10, L);
    s.change('c', v('3'), 10, L);
    const fresh = new NodeState('x', 1);
    fresh.apply(s.deltaFor(fresh.digest(), 100) as NodeDelta, 0, L);
    expect(live(fresh)).toEqual({ b: '2', c: '3' });
    expect(s.collect(9)).toBe(0);
    expect(s.collect(10)).toBe(1);
    expect(s.collectedVersion).toBe(3);
    const d = s.deltaFor(stale.digest(), 100) as NodeDelta;
    expect(d.reset).toBe(true);
    const r = stale.apply(d, 20, L);
    expect(r.ok && r.changed.filter((e) => e.deleted).map((e) => e.key)).toEqual(['a']);
    expect(live(stale)).toEqual({ b: '2', c: '3' });
    // A reset is never cut at a budget: when the whole state does not fit, it must go by stream.
    expect(s.deltaFor({ node: 'x', generation: 1, version: 1 }, 1)).toBe('stream');
  });

  it('refuses a delta that would take a replica past the limits', () => {
    const s = owner();
    for (let i = 0; i < 5; i++) s.change(`k${i}`, v('x'), 0, L);
    const r = new NodeState('x', 1);
    expect(r.apply(s.deltaFor(r.digest(), 100) as NodeDelta, 0, { ...L, maxEntries: 4 })).toEqual({ ok: false, reason: 'over-limit' });
    expect(r.version).toBe(0);
  });
});
