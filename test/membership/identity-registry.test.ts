import { describe, expect, it } from 'vitest';
import { IdentityRegistry, nameHash, type Identity } from '../../src/membership/identity-registry.js';
import { encodeRecordPrefix } from '../../src/wire/codec.js';

const state = { tags: {}, payload: null };
const ident = (node: string): Identity => ({ node, addr: { host: 'h', port: 1 }, state });

describe('the identity registry', () => {
  it('gives one object one id, counts its holders and frees the id with the last', () => {
    const r = new IdentityRegistry();
    const a = ident('a');
    const id = r.acquire(a);
    expect(r.acquire(a)).toBe(id);
    expect(r.refCount(id)).toBe(2);
    expect(r.get(id)).toBe(a);
    // Another object with the same fields is another identity.
    expect(r.acquire(ident('a'))).not.toBe(id);
    expect(r.size).toBe(2);
    r.release(id);
    expect(r.size).toBe(2);
    r.release(id);
    expect(r.refCount(id)).toBe(0);
    expect(r.size).toBe(1);
    // The freed id serves the next new object, so a long-running node keeps what it uses.
    const b = ident('b');
    expect(r.acquire(b)).toBe(id);
    expect(r.get(id)).toBe(b);
  });

  it('keeps the hash of each name for the tables', () => {
    const r = new IdentityRegistry();
    const ids = ['alpha', 'beta', '', 'ünïcode'].map((n) => r.acquire(ident(n)));
    expect(ids.map((id) => r.hash(id))).toEqual(['alpha', 'beta', '', 'ünïcode'].map(nameHash));
  });

  it('grows past its initial capacity without losing ids or hashes', () => {
    const r = new IdentityRegistry();
    const objects = Array.from({ length: 100 }, (_, i) => ident(`m${i}`));
    const ids = objects.map((o) => r.acquire(o));
    expect(new Set(ids).size).toBe(100);
    for (let i = 0; i < 100; i++) {
      expect(r.get(ids[i] as number)).toBe(objects[i]);
      expect(r.hash(ids[i] as number)).toBe(nameHash(`m${i}`));
      expect(r.refCount(ids[i] as number)).toBe(1);
    }
  });

  it('looks a batch up once: the same array again costs nothing, another lets go of the last', () => {
    const r = new IdentityRegistry();
    const batch = [ident('a'), ident('b'), ident('c')];
    const ids = r.idsOf(batch);
    expect(r.idsOf(batch)).toBe(ids);
    for (const id of ids) expect(r.refCount(id)).toBe(1); // held by the cache only
    r.retain(ids[0] as number); // a table keeps the first
    r.idsOf([ident('d')]);
    expect(r.refCount(ids[0] as number)).toBe(1);
    expect(r.refCount(ids[1] as number)).toBe(0);
    expect(r.size).toBe(2); // 'a' (held by the table) and 'd' (held by the cache)
  });

  it("keeps each id's record prefix (wire's encodeRecordPrefix) through frees, reuse and compaction", () => {
    const r = new IdentityRegistry();
    const live = new Map<number, Identity>();
    const make = (k: number): Identity => ({ node: k % 7 === 0 ? `nœud-${k}` : `n${k}`, addr: { host: `10.0.${k % 256}.${k % 13}`, port: 7000 + k }, state });
    const check = (): void => {
      for (const [id, obj] of live) {
        const expected = encodeRecordPrefix(obj.node, obj.addr.host, obj.addr.port);
        const at = r.prefixStart(id);
        expect(r.prefixLength(id)).toBe(expected.length);
        expect(Buffer.from(r.prefixBytes.subarray(at, at + expected.length)).equals(Buffer.from(expected))).toBe(true);
        expect(r.prefixEquals(id, expected, 0, expected.length)).toBe(true);
        const other = encodeRecordPrefix(obj.node, obj.addr.host, obj.addr.port + 1);
        expect(r.prefixEquals(id, other, 0, other.length)).toBe(false);
      }
    };
    // Enough churn that the arena fills with freed prefixes and is compacted several times.
    for (let k = 0; k < 3000; k++) {
      const obj = make(k);
      live.set(r.acquire(obj), obj);
      if (k % 3 !== 0) {
        const first = live.keys().next().value as number;
        r.release(first);
        live.delete(first);
      }
      if (k % 500 === 0) check();
    }
    check();
  });
});
