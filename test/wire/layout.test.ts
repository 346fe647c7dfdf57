/**
 * The layout table (src/wire/layout.ts) is what both directions follow: the encoder writes each
 * kind as its type code and exactly the listed fields, and the decoder, given a wrong value in
 * field i, names field i of the table in its error.
 */
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodePacket, encodeMessage, PROTOCOL_VERSION } from '../../src/wire/codec.js';
import { LAYOUT, MEMBER_FIELDS, TYPE_NAMES } from '../../src/wire/layout.js';
import type { Message, MessageType } from '../../src/wire/messages.js';

const options = { useRecords: false, mapsAsObjects: false, moreTypes: false, structuredClone: false, bundleStrings: false } as const;
const packr = new Packr(options);
const unpackr = new Unpackr(options);

const addr = { host: '10.0.0.1', port: 7946 };
const SAMPLES: Readonly<Record<MessageType, Message>> = {
  ping: { type: 'ping', seq: 1, target: 'b', source: 'a', sourceAddr: addr },
  'ping-req': { type: 'ping-req', seq: 2, target: 'c', targetAddr: addr, source: 'a', sourceAddr: addr, nack: true },
  ack: { type: 'ack', seq: 3, digest: 4 },
  nack: { type: 'nack', seq: 5 },
  alive: { type: 'alive', node: 'a', addr, incarnation: 6, state: { payload: new Uint8Array([1]) } },
  suspect: { type: 'suspect', node: 'a', incarnation: 7, from: 'b' },
  dead: { type: 'dead', node: 'a', incarnation: 8, from: 'b' },
  'push-pull': {
    type: 'push-pull',
    join: true,
    reply: false,
    source: 'a',
    members: [{ node: 'n', addr, incarnation: 9, status: 'suspect', state: { payload: null } }],
  },
  'state-delta': {
    type: 'state-delta',
    deltas: [
      {
        node: 'a',
        generation: 10,
        fromVersion: 1,
        toVersion: 3,
        reset: false,
        collectedVersion: 0,
        entries: [
          { key: 'i:x', value: new Uint8Array([1, 2]), version: 2, deleted: false },
          { key: 'i:y', value: new Uint8Array(0), version: 3, deleted: true },
        ],
      },
    ],
  },
  'state-digest': { type: 'state-digest', full: true, exchange: false, digests: [{ node: 'a', generation: 11, version: 12 }] },
  'state-summary': { type: 'state-summary', summary: 13 },
  signed: {
    type: 'signed',
    fingerprint: new Uint8Array(8).fill(1),
    signature: new Uint8Array(64).fill(2),
    signed: encodeMessage({ type: 'dead', node: 'a', incarnation: 8, from: 'a' }),
    message: { type: 'dead', node: 'a', incarnation: 8, from: 'a' },
  },
  'cert-request': { type: 'cert-request', fingerprint: new Uint8Array(8).fill(3) },
  cert: { type: 'cert', certificate: new Uint8Array([0x30, 0x03, 1, 2, 3]) },
};

/** Values no field accepts all of: each field rejects at least one. */
const WRONG: readonly unknown[] = [true, null, -1, []];

function packet(fields: unknown[]): Uint8Array {
  const packed: Uint8Array = packr.pack([fields]);
  return Uint8Array.from([PROTOCOL_VERSION, ...packed]);
}

const kinds = Object.keys(LAYOUT) as MessageType[];

describe('the layout table', () => {
  it('names every kind by its code', () => {
    for (const kind of kinds) expect(TYPE_NAMES[LAYOUT[kind].code]).toBe(kind);
    expect(new Set(kinds.map((k) => LAYOUT[k].code)).size).toBe(kinds.length);
  });

  it.each(kinds)('%s: the encoder writes the code and exactly the listed fields', (kind) => {
    const fields = unpackr.unpack(encodeMessage(SAMPLES[kind])) as unknown[];
    expect(fields[0]).toBe(LAYOUT[kind].code);
    expect(fields.length).toBe(1 + LAYOUT[kind].fields.length);
    expect(decodePacket(packet(fields))).toEqual({ ok: true, messages: [SAMPLES[kind]] });
  });

  it.each(kinds)('%s: the decoder names the listed field that is wrong, and the length', (kind) => {
    const fields = unpackr.unpack(encodeMessage(SAMPLES[kind])) as unknown[];
    LAYOUT[kind].fields.forEach((field, i) => {
      let rejected = 0;
      for (const wrong of WRONG) {
        const copy = [...fields];
        copy[i + 1] = wrong;
        const result = decodePacket(packet(copy));
        if (result.ok) continue;
        rejected++;
        expect(result.error.detail.startsWith(`${kind}: invalid ${field}`), `${result.error.detail} names ${field}`).toBe(true);
      }
      expect(rejected, `some value is wrong for ${kind}.${field}`).toBeGreaterThan(0);
    });
    const result = decodePacket(packet([...fields, null]));
    expect(result.ok ? '' : result.error.detail).toBe(`${kind}: invalid length ${fields.length + 1}`);
  });

  it('push-pull: the decoder names the member field that is wrong', () => {
    const fields = unpackr.unpack(encodeMessage(SAMPLES['push-pull'])) as unknown[];
    const record = (fields[4] as unknown[][])[0]!;
    expect(record.length).toBe(MEMBER_FIELDS.length);
    MEMBER_FIELDS.forEach((field, i) => {
      let rejected = 0;
      for (const wrong of WRONG) {
        const copy = [...record];
        copy[i] = wrong;
        const result = decodePacket(packet([...fields.slice(0, 4), [copy]]));
        if (result.ok) continue;
        rejected++;
        expect(result.error.detail.startsWith(`push-pull: invalid members[0].${field}`), `${result.error.detail} names ${field}`).toBe(true);
      }
      expect(rejected, `some value is wrong for a member's ${field}`).toBeGreaterThan(0);
    });
  });
});
