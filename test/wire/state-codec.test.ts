import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeDelta, decodeDigests, encodeDelta, encodeDigests, encodedEntryBytes, entrySigningBytes } from '../../src/wire/state-codec.js';
import type { NodeDelta, StateEntry } from '../../src/state/types.js';

const arbName = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => new TextEncoder().encode(s).length <= 255);
const arbVersion = fc.oneof(fc.nat(300), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const arbEntry: fc.Arbitrary<StateEntry> = fc.oneof(
  fc.record({ key: arbName, value: fc.uint8Array({ maxLength: 300 }), version: arbVersion, deleted: fc.constant(false) }),
  fc.record({ key: arbName, value: fc.constant(new Uint8Array(0)), version: arbVersion, deleted: fc.constant(true) }),
  // Signed by the owner (identity, issue 14): the fingerprint prefix and signature, 72 bytes.
  fc.record({ key: arbName, value: fc.uint8Array({ maxLength: 300 }), version: arbVersion, deleted: fc.boolean(), signature: fc.uint8Array({ minLength: 72, maxLength: 72 }) }).map((e) => (e.deleted ? { ...e, value: new Uint8Array(0) } : e)),
);
const arbDelta: fc.Arbitrary<NodeDelta> = fc.record({
  node: arbName,
  generation: arbVersion,
  fromVersion: arbVersion,
  toVersion: arbVersion,
  reset: fc.boolean(),
  collectedVersion: arbVersion,
  entries: fc.array(arbEntry, { maxLength: 20 }),
});

describe('the state codec', () => {
  it('round-trips any delta and any digest list, and sizes entries exactly', () => {
    fc.assert(
      fc.property(arbDelta, (d) => {
        const bytes = encodeDelta(d);
        expect(decodeDelta(bytes)).toEqual({ ok: true, value: d });
        const withoutEntries = encodeDelta({ ...d, entries: [] }).length;
        expect(bytes.length - withoutEntries - (uvLen(d.entries.length) - 1)).toBe(d.entries.reduce((s, e) => s + encodedEntryBytes(e), 0));
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.record({ node: arbName, generation: arbVersion, version: arbVersion }), { maxLength: 30 }), (ds) => {
        expect(decodeDigests(encodeDigests(ds))).toEqual({ ok: true, value: ds });
      }),
    );
  });

  it('has these exact bytes for a small delta', () => {
    const d: NodeDelta = { node: 'a', generation: 300, fromVersion: 1, toVersion: 3, reset: false, collectedVersion: 0, entries: [
      { key: 'k', value: new Uint8Array([7]), version: 2, deleted: false },
      { key: 'x', value: new Uint8Array(0), version: 3, deleted: true },
    ] };
    expect(Buffer.from(encodeDelta(d)).toString('hex')).toBe('4401' + '0161' + 'ac02' + '01' + '03' + '00' + '00' + '02' + '00016b020107' + '01017803');
  });

  it('writes a signed entry as flags bit 1 and its 72 bytes after the value, and entrySigningBytes never looks like a record', () => {
    const sig = new Uint8Array(72).fill(9);
    const d: NodeDelta = { node: 'a', generation: 1, fromVersion: 0, toVersion: 1, reset: false, collectedVersion: 0, entries: [{ key: 'k', value: new Uint8Array([7]), version: 1, deleted: false, signature: sig }] };
    expect(Buffer.from(encodeDelta(d)).toString('hex')).toBe('4401' + '0161' + '01' + '00' + '01' + '00' + '00' + '01' + '02016b010107' + '09'.repeat(72));
    const e: StateEntry = { key: 'k', value: new Uint8Array([7]), version: 1, deleted: false };
    const bytes = entrySigningBytes('a', 1, e);
    expect(bytes[0]).toBe(0x53); // not a msgpack array header (0x90..0x9f, 0xdc, 0xdd)
    expect(Buffer.from(bytes).toString('hex')).toBe('5301' + '0161' + '01' + '016b' + '01' + '00' + '01' + '07');
    expect(entrySigningBytes('a', 2, e)).not.toEqual(bytes);
  });

  it('returns a problem, never throws, for every truncation, random bytes and mutations', () => {
    const d = encodeDelta({ node: 'node', generation: 5, fromVersion: 0, toVersion: 9, reset: true, collectedVersion: 2, entries: [{ key: 'svc:1', value: new Uint8Array(40), version: 9, deleted: false }] });
    for (let n = 0; n < d.length; n++) expect(decodeDelta(d.subarray(0, n)).ok, `prefix of ${n}`).toBe(false);
    expect(decodeDelta(new Uint8Array([...d, 0])).ok).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(d.length - 1), fc.nat(255), (junk, at, byte) => {
        decodeDelta(junk);
        decodeDigests(junk);
        const m = Uint8Array.from(d);
        m[at] = byte;
        const r = decodeDelta(m);
        if (!r.ok) expect(['malformed', 'bad-version', 'too-large']).toContain(r.error.code);
      }),
    );
  });

  it('refuses counts that the bytes cannot hold and values over the limit before allocating', () => {
    // 2^40 entries claimed in a few bytes.
    const huge = Uint8Array.from([0x44, 1, 1, 0x61, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    expect(decodeDelta(huge)).toMatchObject({ ok: false, error: { code: 'too-large' } });
    const big = encodeDelta({ node: 'n', generation: 1, fromVersion: 0, toVersion: 1, reset: false, collectedVersion: 0, entries: [{ key: 'k', value: new Uint8Array(100), version: 1, deleted: false }] });
    expect(decodeDelta(big, { maxEntries: 10, maxValueBytes: 99, maxDigests: 10 })).toMatchObject({ ok: false, error: { code: 'too-large' } });
    expect(decodeDelta(Uint8Array.from([0x44, 2]))).toMatchObject({ ok: false, error: { code: 'bad-version' } });
  });
});

function uvLen(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}
