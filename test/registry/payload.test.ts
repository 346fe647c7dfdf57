import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PAYLOAD_MAGIC,
  PAYLOAD_VERSION,
  MAX_PAYLOAD_INSTANCES,
  decodeInstances,
  encodeInstances,
  isRegistryPayload,
  type DecodeInstancesResult,
} from '../../src/registry/payload.js';
import { normalizeService } from '../../src/registry/local.js';
import { HEALTH_STATUSES, type HealthStatus, type LocalInstanceRecord } from '../../src/registry/types.js';
import {
  REGISTRY_LIMITS,
  addressProblem,
  idProblem,
  metaProblems,
  nameProblem,
  portProblem,
  tagsProblems,
  utf8Length,
} from '../../src/registry/validate.js';
import { arbRecords, bytes, instanceBytes, payloadBytes, record, type RawInstance } from './support.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

function encodeOk(records: readonly LocalInstanceRecord[]): Uint8Array {
  const b = encodeInstances(records);
  if (b === null) throw new Error('expected a payload, got null');
  return b;
}

function decodeOk(b: Uint8Array): readonly LocalInstanceRecord[] {
  const r = decodeInstances(b);
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}`);
  return r.records;
}

function expectRejected(r: DecodeInstancesResult, reason?: RegExp): void {
  if (r.ok) throw new Error(`expected a rejection, got ${r.records.length} records`);
  expect(typeof r.reason).toBe('string');
  expect(r.reason.length).toBeGreaterThan(0);
  if (reason !== undefined) expect(r.reason).toMatch(reason);
}

/** What decodeInstances promises of any record it returns: it passes every registration rule. */
function expectValidRecords(records: readonly LocalInstanceRecord[]): void {
  expect(records.length).toBeLessThanOrEqual(MAX_PAYLOAD_INSTANCES);
  const ids = new Set<string>();
  for (const r of records) {
    expect(idProblem(r.id)).toBeUndefined();
    expect(nameProblem(r.name)).toBeUndefined();
    if (r.address !== '') expect(addressProblem(r.address)).toBeUndefined();
    expect(portProblem(r.port)).toBeUndefined();
    expect(tagsProblems(r.tags)).toEqual([]);
    expect(metaProblems(r.meta)).toEqual([]);
    expect(HEALTH_STATUSES).toContain(r.status);
    expect(ids.has(r.id)).toBe(false);
    ids.add(r.id);
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.tags)).toBe(true);
    expect(Object.isFrozen(r.meta)).toBe(true);
  }
}

function roundTrip(records: readonly LocalInstanceRecord[]): readonly LocalInstanceRecord[] {
  return decodeOk(encodeOk(records));
}

const VALID: RawInstance = { id: 'web-1', name: 'web', address: '10.0.0.1', port: 8080, status: 0, tags: ['v2'], meta: [['version', '1.4.2']] };

// ---------------------------------------------------------------------------------------------
// round trip
// ---------------------------------------------------------------------------------------------

describe('encodeInstances / decodeInstances round trip', () => {
  it('encodes an empty list to null (a node without services carries no payload)', () => {
    expect(encodeInstances([])).toBeNull();
  });

  it('round-trips one simple instance, and the bytes follow the documented layout', () => {
    const r = record({ id: 'web-1', name: 'web', address: '10.0.0.1', port: 8080, tags: ['v2'], meta: { version: '1.4.2' } });
    const b = encodeOk([r]);
    expect([...b]).toEqual([...payloadBytes([VALID])]);
    expect(decodeOk(b)).toEqual([r]);
  });

  it('round-trips every health status with its documented code', () => {
    const statuses: HealthStatus[] = ['passing', 'warning', 'critical', 'maintenance'];
    const records = statuses.map((status, i) => record({ id: `i${i}`, status }));
    const b = encodeOk(records);
    expect(decodeOk(b).map((r) => r.status)).toEqual(statuses);
    statuses.forEach((status, code) => {
      const one = encodeOk([record({ status })]);
      expect([...one]).toEqual([...payloadBytes([{ ...VALID, id: 'a', name: 'svc', address: '', port: 80, status: code, tags: [], meta: [] }])]);
    });
  });

  it('round-trips an empty address (the node advertise address) in a single length byte', () => {
    const r = record({ address: '' });
    expect(roundTrip([r])).toEqual([r]);
  });

  it('round-trips the smallest valid instance (one-character id and name, nothing else)', () => {
    const r = record({ id: 'a', name: 'b', address: '', port: 1, tags: [], meta: {} });
    const b = encodeOk([r]);
    expect(b.length).toBe(3 + 10);
    expect(decodeOk(b)).toEqual([r]);
    // Many of them, so that the count bound is exercised at its tightest.
    const many = Array.from({ length: 255 }, (_, i) => record({ id: i < 10 ? String(i) : `id-${i}`, name: 'b', address: '', port: 1, tags: [], meta: {} }));
    const smallest = many.filter((m) => m.id.length === 1);
    expect(smallest).toHaveLength(10);
    const bs = encodeOk(smallest);
    expect(bs.length).toBe(3 + 10 * 10);
    expect(decodeOk(bs)).toEqual(smallest);
    expect(roundTrip(many)).toEqual(many);
  });

  it('round-trips unicode tags and meta values (addresses are IPs or ASCII host names)', () => {
    const r = record({
      address: 'xn--bcher-kva.example',
      tags: ['日本語', 'emoji-🚀', 'ß', 'mixed-Ωmega'],
      meta: { greeting: 'héllo wörld 👋', empty: '', cjk: '漢字' },
    });
    expect(roundTrip([r])).toEqual([r]);
  });

  it('keeps a leading U+FEFF (not a byte-order mark to strip)', () => {
    const r = record({ tags: ['\uFEFF', '\uFEFFx', 'x'], meta: { k: '\uFEFFv' } });
    const back = roundTrip([r]);
    expect(back).toEqual([r]);
    expect(back[0]!.tags[0]).toBe('\uFEFF');
  });

  it('every record normalizeService accepts round-trips unchanged, even from hostile JSON strings', () => {
    // Unpaired surrogate halves (JSON can carry "\\ud800"), a proper pair, a BOM, ASCII and Latin-1.
    const hostileChar = fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D\uDE80', '\uFEFF', '\uFFFD', 'a', 'é');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: hostileChar, minLength: 1, maxLength: 4 }), { maxLength: 4 }),
        fc.string({ unit: hostileChar, maxLength: 6 }),
        (tags, value) => {
          const n = normalizeService({ id: 'x', name: 'web', port: 80, tags, meta: { k: value } }, () => 'unused');
          if (!n.ok) return;
          expect(roundTrip([n.record])).toEqual([n.record]);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('round-trips every field at its maximum length', () => {
    const L = REGISTRY_LIMITS;
    const r = record({
      id: 'i'.repeat(L.maxIdBytes),
      name: `a${'b'.repeat(L.maxNameBytes - 2)}c`,
      address: [63, 63, 63, 61].map((n) => 'a'.repeat(n)).join('.'), // L.maxAddressBytes: 253
      port: 65_535,
      tags: Array.from({ length: L.maxTags }, (_, i) => `${String(i).padStart(2, '0')}${'é'.repeat((L.maxTagBytes - 3) / 2)}t`),
      meta: Object.fromEntries(
        Array.from({ length: L.maxMetaKeys }, (_, i) => [`${String(i).padStart(2, '0')}${'k'.repeat(L.maxMetaKeyBytes - 2)}`, '€'.repeat(170) + 'vv']),
      ),
    });
    // The generated fields really are at the limits.
    expect(r.name.length).toBe(L.maxNameBytes);
    expect(r.tags.every((t) => utf8Length(t) === L.maxTagBytes)).toBe(true);
    expect(Object.values(r.meta).every((v) => utf8Length(v) === L.maxMetaValueBytes)).toBe(true);
    expect(Object.keys(r.meta).every((k) => k.length === L.maxMetaKeyBytes)).toBe(true);
    expect(tagsProblems(r.tags)).toEqual([]);
    expect(metaProblems(r.meta)).toEqual([]);
    expect(roundTrip([r])).toEqual([r]);
  });

  it('round-trips the most instances a payload may hold, and refuses one more', () => {
    const max = MAX_PAYLOAD_INSTANCES;
    const records = Array.from({ length: max }, (_, i) => record({ id: `inst-${i}`, name: `svc-${i % 7}`, port: 1000 + i, tags: i % 2 === 0 ? ['even'] : [] }));
    const b = encodeOk(records);
    expect(b[2]).toBe(max);
    expect(roundTrip(records)).toEqual(records);
    expect(() => encodeInstances([...records, record({ id: 'one-more' })])).toThrow(RangeError);
  });

  it('keeps registration order and meta entries, and returns frozen records', () => {
    const records = [record({ id: 'z' }), record({ id: 'a' }), record({ id: 'm', meta: { b: '1', a: '2' } })];
    const back = roundTrip(records);
    expect(back.map((r) => r.id)).toEqual(['z', 'a', 'm']);
    expect(Object.keys(back[2]!.meta)).toEqual(['b', 'a']);
    expectValidRecords(back);
  });

  it('decodes a count of zero as no instances', () => {
    expect(decodeOk(bytes(PAYLOAD_MAGIC, PAYLOAD_VERSION, 0))).toEqual([]);
  });

  it('isRegistryPayload tells a registry payload from none or another application\'s', () => {
    expect(isRegistryPayload(null)).toBe(false);
    expect(isRegistryPayload(new Uint8Array(0))).toBe(false);
    expect(isRegistryPayload(bytes(PAYLOAD_MAGIC))).toBe(false);
    expect(isRegistryPayload(bytes(0x00, 0x01))).toBe(false);
    expect(isRegistryPayload(encodeOk([record()]))).toBe(true);
  });

  it('property: any valid set of records round-trips', () => {
    fc.assert(
      fc.property(arbRecords, (records) => {
        const b = encodeInstances(records);
        if (records.length === 0) {
          expect(b).toBeNull();
          return;
        }
        const back = decodeOk(b!);
        expect(back).toEqual(records);
        expectValidRecords(back);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// rejection
// ---------------------------------------------------------------------------------------------

describe('decodeInstances rejects malformed payloads without throwing', () => {
  const valid = encodeOk([
    record({ id: 'web-1', name: 'web', address: '10.0.0.1', tags: ['v2', 'ünïcode'], meta: { version: '1.4.2', region: 'eu' } }),
    record({ id: 'web-2', name: 'web', address: '', port: 9090, status: 'warning' }),
  ]);

  it('rejects the payload truncated at every byte offset', () => {
    for (let k = 0; k < valid.length; k++) {
      expectRejected(decodeInstances(valid.subarray(0, k)));
    }
    expect(decodeOk(valid)).toHaveLength(2);
  });

  it('rejects trailing bytes', () => {
    const longer = new Uint8Array(valid.length + 1);
    longer.set(valid);
    expectRejected(decodeInstances(longer), /trailing/);
    expectRejected(decodeInstances(bytes(PAYLOAD_MAGIC, PAYLOAD_VERSION, 0, 0)), /trailing/);
  });

  it('rejects a bad magic byte and an unknown version', () => {
    const m = valid.slice();
    m[0] = 0x54;
    expectRejected(decodeInstances(m), /not a registry payload/);
    for (const v of [0, 2, 255]) {
      const w = valid.slice();
      w[1] = v;
      expectRejected(decodeInstances(w), /version/);
    }
  });

  it('rejects status codes past maintenance', () => {
    expect(decodeOk(payloadBytes([{ ...VALID, status: 3 }]))[0]!.status).toBe('maintenance');
    for (const status of [4, 5, 128, 255]) expectRejected(decodeInstances(payloadBytes([{ ...VALID, status }])), /status/);
  });

  it('rejects invalid UTF-8 in any string', () => {
    const bad = [0xff];
    const overlong = [0xc0, 0xaf];
    const lone = [0xed, 0xa0, 0x80]; // an encoded surrogate
    const cut = [0xe2, 0x82]; // a three-byte sequence missing its last byte
    for (const seq of [bad, overlong, lone, cut]) {
      expectRejected(decodeInstances(payloadBytes([{ ...VALID, id: seq }])), /UTF-8/);
      expectRejected(decodeInstances(payloadBytes([{ ...VALID, name: seq }])), /UTF-8/);
      expectRejected(decodeInstances(payloadBytes([{ ...VALID, address: seq }])), /UTF-8/);
      expectRejected(decodeInstances(payloadBytes([{ ...VALID, tags: [seq] }])), /UTF-8/);
      expectRejected(decodeInstances(payloadBytes([{ ...VALID, meta: [[seq, 'v']] }])), /UTF-8/);
      expectRejected(decodeInstances(payloadBytes([{ ...VALID, meta: [['k', seq]] }])), /UTF-8/);
    }
  });

  it('rejects repeated instance ids and repeated meta keys', () => {
    expectRejected(decodeInstances(payloadBytes([VALID, { ...VALID, port: 9 }])), /repeats/);
    expectRejected(decodeInstances(payloadBytes([{ ...VALID, meta: [['a', '1'], ['a', '2']] }])), /repeats/);
    expectRejected(decodeInstances(payloadBytes([{ ...VALID, meta: [['__proto__', '1'], ['__proto__', '2']] }])), /repeats/);
    // Distinct ids for the same service are fine.
    expect(decodeOk(payloadBytes([VALID, { ...VALID, id: 'web-2' }]))).toHaveLength(2);
  });

  it('rejects invalid service names', () => {
    for (const name of ['Billing_API', 'billing_api', '', '-web', 'web-', 'a'.repeat(64), 'web.api', 'wéb']) {
      expectRejected(decodeInstances(payloadBytes([{ ...VALID, name }])), /service name/);
    }
    expect(decodeOk(payloadBytes([{ ...VALID, name: 'a'.repeat(63) }]))).toHaveLength(1);
  });

  it('rejects every other field a registration would refuse', () => {
    const cases: [Partial<RawInstance>, RegExp][] = [
      [{ id: '' }, /instance id/],
      [{ id: 'has space' }, /instance id/],
      [{ id: 'x'.repeat(129) }, /instance id/],
      [{ address: 'with space' }, /address/],
      [{ address: 'tab\there' }, /address/],
      [{ port: 0 }, /port 0/],
      [{ tags: [''] }, /tag/],
      [{ tags: ['a b'] }, /tag/],
      [{ tags: ['dup', 'dup'] }, /repeat/],
      [{ tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }, /65 tags/],
      [{ meta: [['bad key', 'v']] }, /meta key/],
      [{ meta: [['', 'v']] }, /meta key/],
      [{ meta: [['k'.repeat(129), 'v']] }, /meta key/],
      [{ meta: [['k', 'line\nbreak']] }, /meta value/],
      [{ meta: [['k', 'v'.repeat(513)]] }, /meta value/],
      [{ meta: Array.from({ length: 65 }, (_, i): [string, string] => [`k${i}`, 'v']) }, /65 meta keys/],
    ];
    for (const [patch, reason] of cases) expectRejected(decodeInstances(payloadBytes([{ ...VALID, ...patch }])), reason);
  });

  it('rejects a count the buffer cannot hold before reading any instance', () => {
    const b = payloadBytes([VALID]);
    b[2] = 255;
    expectRejected(decodeInstances(b), /count 255/);
  });

  it('rejects a string length that runs past the end', () => {
    const b = bytes(PAYLOAD_MAGIC, PAYLOAD_VERSION, 1, 200, ...new Array<number>(20).fill(0x61));
    expectRejected(decodeInstances(b), /past the end|does not fit/);
  });

  it('one bad instance drops the whole payload', () => {
    expectRejected(decodeInstances(payloadBytes([VALID, { ...VALID, id: 'web-2', port: 0 }])), /instance 1/);
  });
});

// ---------------------------------------------------------------------------------------------
// hostile input
// ---------------------------------------------------------------------------------------------

describe('decodeInstances on hostile input', () => {
  it('property: random bytes never throw, and any ok result is valid', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (raw, withHeader) => {
        const b = withHeader ? bytes(PAYLOAD_MAGIC, PAYLOAD_VERSION, ...raw) : raw;
        const r = decodeInstances(b);
        if (r.ok) expectValidRecords(r.records);
        else expect(r.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: single-byte mutations of valid payloads never throw, and any ok result is valid', () => {
    fc.assert(
      fc.property(
        arbRecords.filter((r) => r.length > 0),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (records, at, value) => {
          const b = encodeOk(records).slice();
          b[at % b.length] = value;
          const r = decodeInstances(b);
          if (!r.ok) return;
          expectValidRecords(r.records);
          // What decoded is itself encodable, and decodes back to the same records.
          if (r.records.length > 0) expect(roundTrip(r.records)).toEqual(r.records);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: records spliced from valid payloads (wrong counts, lengths) never throw', () => {
    fc.assert(
      fc.property(arbRecords.filter((r) => r.length > 0), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (records, cut, at, count) => {
        const b = encodeOk(records);
        const spliced = new Uint8Array(b.length);
        spliced.set(b);
        spliced[2] = count;
        const r = decodeInstances(spliced.subarray(0, b.length - (cut % b.length)));
        if (r.ok) expectValidRecords(r.records);
        const other = decodeInstances(bytes(...b.subarray(0, at % b.length), ...b));
        if (other.ok) expectValidRecords(other.records);
      }),
      { numRuns: 500 },
    );
  });

  it('__proto__, constructor and toString as meta keys are kept as own data properties', () => {
    const b = payloadBytes([{ ...VALID, meta: [['__proto__', 'polluted'], ['constructor', 'c'], ['toString', 't'], ['hasOwnProperty', 'h']] }]);
    const [r] = decodeOk(b);
    const meta = r!.meta;
    expect(Object.keys(meta)).toEqual(['__proto__', 'constructor', 'toString', 'hasOwnProperty']);
    expect(Object.getOwnPropertyDescriptor(meta, '__proto__')?.value).toBe('polluted');
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
    expect(Object.hasOwn(meta, '__proto__')).toBe(true);
    expect(metaProblems(meta)).toEqual([]);
    // And the record survives a second trip.
    const again = decodeOk(encodeOk([r!]));
    expect(Object.getOwnPropertyDescriptor(again[0]!.meta, '__proto__')?.value).toBe('polluted');
  });

  it('an encoded record whose meta carries an own __proto__ key round-trips it', () => {
    const meta = JSON.parse('{"__proto__": "x", "a": "b"}') as Record<string, string>;
    expect(Object.hasOwn(meta, '__proto__')).toBe(true);
    const [back] = roundTrip([record({ meta })]);
    expect(Object.hasOwn(back!.meta, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(back!.meta)).toBe(Object.prototype);
    expect(back!.meta.a).toBe('b');
  });

  it('encodes an instance in the documented byte layout, which the crafted bytes of these tests follow', () => {
    // id "x", name "y", empty address, port 513 (u16be), status critical (2), one tag "t", one
    // meta entry k=v (value str16): written out by hand from the layout in payload.ts.
    const layout = [1, 0x78, 1, 0x79, 0, 2, 1, 2, 1, 1, 0x74, 1, 1, 0x6b, 0, 1, 0x76];
    const encoded = encodeOk([record({ id: 'x', name: 'y', address: '', port: 513, status: 'critical', tags: ['t'], meta: { k: 'v' } })]);
    expect([...encoded]).toEqual([PAYLOAD_MAGIC, PAYLOAD_VERSION, 1, ...layout]);
    const raw: RawInstance = { id: 'x', name: 'y', address: '', port: 513, status: 2, tags: ['t'], meta: [['k', 'v']] };
    expect([...instanceBytes(raw)]).toEqual(layout);
  });
});
