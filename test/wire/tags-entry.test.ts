import { describe, expect, it } from 'vitest';
import { decodeTagsEntry, encodeTagsEntry, TAGS_KEY, tagsProblem } from '../../src/wire/tags-entry.js';
import { DEFAULT_DECODE_LIMITS } from '../../src/wire/limits.js';

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
/** A tags entry written by hand: magic, count, then (u16 length, UTF-8) for each key and value. */
function raw(pairs: readonly (readonly [string, string])[], count = pairs.length): Uint8Array {
  const out: number[] = [0x54, count];
  const put = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    out.push(b.length >> 8, b.length & 255, ...b);
  };
  for (const [k, v] of pairs) {
    put(k);
    put(v);
  }
  return new Uint8Array(out);
}

describe('node tags as the state entry t:', () => {
  it('is the key t:', () => {
    expect(TAGS_KEY).toBe('t:');
  });

  it('round-trips tags in their key order, unicode and empty strings included', () => {
    const tags = { dc: 'eu-west', role: 'web', 'ключ': 'значение', '': 'empty key', e: '' };
    const value = encodeTagsEntry(tags);
    const back = decodeTagsEntry(value);
    expect(back).toEqual(tags);
    expect(Object.keys(back)).toEqual(Object.keys(tags));
    expect(Object.isFrozen(back)).toBe(true);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('pins the bytes of a typical tag set', () => {
    expect(Buffer.from(encodeTagsEntry({ dc: 'eu', role: 'web' })).toString('hex')).toBe('5402' + '0002' + '6463' + '0002' + '6575' + '0004' + '726f6c65' + '0003' + '776562');
  });

  it('refuses what the wire always refused in tags, naming it', () => {
    expect(tagsProblem({ __proto__x: 'ok' })).toBeNull();
    for (const key of ['constructor', 'prototype']) expect(tagsProblem({ [key]: 'x' })).toMatch(/reserved tag key/);
    expect(tagsProblem(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])))).toMatch(/65 tags, at most 64/);
    expect(tagsProblem({ ['k'.repeat(129)]: 'v' })).toMatch(/over 128 bytes/);
    expect(tagsProblem({ k: 'v'.repeat(1025) })).toMatch(/over 1024 bytes/);
    expect(() => encodeTagsEntry({ k: 'v'.repeat(1025) })).toThrow(/node tags: tag "k"'s value over 1024 bytes/);
  });

  it('reads a peer entry only when it is whole and within the limits', () => {
    expect(decodeTagsEntry(raw([['a', 'b']]))).toEqual({ a: 'b' });
    const cases: [string, Uint8Array][] = [
      ['empty', bytes()],
      ['another magic', bytes(0x53, 0)],
      ['a count over the pairs', raw([['a', 'b']], 2)],
      ['trailing bytes', new Uint8Array([...raw([['a', 'b']]), 0])],
      ['a truncated value', raw([['a', 'bcd']]).subarray(0, 8)],
      ['a reserved key', raw([['__proto__', 'x']])],
      ['a duplicate key', raw([['k', '1'], ['k', '2']])],
      ['too many tags', raw(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'] as const))],
      ['a 129-byte key', raw([['k'.repeat(129), 'v']])],
      ['a 1025-byte value', raw([['k', 'v'.repeat(1025)]])],
      ['invalid UTF-8', bytes(0x54, 1, 0, 1, 0xff, 0, 0)],
    ];
    for (const [what, value] of cases) expect(typeof decodeTagsEntry(value), what).toBe('string');
    expect(typeof decodeTagsEntry(raw([['k', 'v'.repeat(6)]]), { ...DEFAULT_DECODE_LIMITS, maxTagValueBytes: 5 })).toBe('string');
  });

  it('keeps keys that only look like Object.prototype members as own data', () => {
    const back = decodeTagsEntry(raw([['toString', 'x'], ['hasOwnProperty', 'y']]));
    if (typeof back === 'string') throw new Error(back);
    expect(Object.keys(back)).toEqual(['toString', 'hasOwnProperty']);
    expect(back['toString']).toBe('x');
  });
});
