/**
 * The production decoder (src/wire/decode.ts, which reads messages straight from the bytes)
 * against the reference decoder (reference-decoder.ts: msgpackr, then checks on the decoded
 * tree): the same result, message for message or error for error, for every kind of message,
 * compound packets, any limits, any field replaced by a value of another type or form, and
 * mutated bytes. The core's decoder (decodeCorePacket, which leaves a push-pull's records in the
 * packet behind a cursor) is held to the same results: its records, built or read field by field
 * from the cursor, are the ones decodePacket builds, and it fails where and as decodePacket fails.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeCorePacket, decodePacket, encodeMessage, encodePacket, PROTOCOL_VERSION, type CoreDecodeResult, type DecodeResult } from '../../src/wire/codec.js';
import type { DecodeLimits } from '../../src/wire/limits.js';
import type { MemberRecord, Message } from '../../src/wire/messages.js';
import { referenceDecode } from './reference-decoder.js';
import { encodeDelta, encodeDigests } from '../../src/wire/state-codec.js';
import type { NodeDelta } from '../../src/state/types.js';

const rawPackr = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false, structuredClone: false, bundleStrings: false });

function rawPacket(body: unknown): Uint8Array {
  const packed: Uint8Array = rawPackr.pack(body);
  const out = new Uint8Array(packed.length + 1);
  out[0] = PROTOCOL_VERSION;
  out.set(packed, 1);
  return out;
}

function expectSame(bytes: Uint8Array, limits?: Partial<DecodeLimits>): void {
  const result = decodePacket(bytes, limits);
  expect(withoutSignedBytes(result)).toEqual(withoutSignedBytes(referenceDecode(bytes, limits)));
  // A signed message's `signed` is the inner message's bytes exactly as they came (a mutated
  // packet may write a value in a longer form than msgpackr would, and that is what was signed),
  // which the reference cannot see: they must decode, alone, to the inner message.
  if (result.ok) {
    for (const m of result.messages) {
      if (m.type !== 'signed') continue;
      const alone = decodePacket(Uint8Array.from([PROTOCOL_VERSION, 0x91, ...m.signed]), limits);
      expect(alone).toEqual({ ok: true, messages: [m.message] });
    }
  }
  expect(materialize(decodeCorePacket(bytes, limits))).toEqual(result);
}

const utf8 = new TextDecoder();

/** A result with every signed message's `signed` bytes left out (see expectSame). */
function withoutSignedBytes(result: DecodeResult): unknown {
  if (!result.ok) return result;
  return { ok: true, messages: result.messages.map((m) => (m.type === 'signed' ? { ...m, signed: null } : m)) };
}

/** decodeCorePacket's result with every push-pull view read back into a PushPullMessage. */
function materialize(result: CoreDecodeResult): DecodeResult {
  if (!result.ok) return result;
  const messages = result.messages.map((m): Message => {
    if (m.type !== 'push-pull-view') return m;
    const recs = m.records;
    const members: MemberRecord[] = [];
    for (let k = 0; k < recs.count; k++) {
      recs.seek(k);
      const r = recs.record();
      // The cursor's own fields say what the built record says.
      expect([recs.port, recs.incarnation, recs.status]).toEqual([r.addr.port, r.incarnation, r.status]);
      if (recs.nameAscii) expect(utf8.decode(recs.bytes.subarray(recs.nameStart, recs.nameStart + recs.nameLength))).toBe(r.node);
      if (recs.hostAscii) expect(utf8.decode(recs.bytes.subarray(recs.hostStart, recs.hostStart + recs.hostLength))).toBe(r.addr.host);
      members.push(r);
    }
    return { type: 'push-pull', join: m.join, reply: m.reply, source: m.source, members };
  });
  return { ok: true, messages };
}

// Names and integers around every limit and form boundary, valid or not: the encoder writes what
// it is given, so these reach the decoder as a hostile peer would send them.
const arbName = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
  fc.constantFrom('a', 'node-1', 'x'.repeat(31), 'x'.repeat(32), '東'.repeat(85), '東'.repeat(86), 'x'.repeat(256), 'x'.repeat(257), '\ud800', '\ufeffa', '\ufeff' + 'a'.repeat(40)),
);
const arbInt = fc.oneof(
  fc.integer({ min: -40_000, max: 70_000 }),
  fc.constantFrom(0, 1, 127, 128, 255, 256, 65535, 65536, 0xffff_ffff, -1, -32, -33, -128, -129, -32768, -32769, -0x8000_0000),
);
const arbStateName = fc.string({ minLength: 1, maxLength: 12 });
const arbAddr = fc.record({ host: arbName, port: arbInt });
const arbState = fc.record({ payload: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }) });
const arbMember = fc.record({ node: arbName, addr: arbAddr, incarnation: arbInt, status: fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const, 'left' as const), state: arbState });
function arbDelta(): fc.Arbitrary<NodeDelta> {
  const signature = fc.uint8Array({ minLength: 72, maxLength: 72 });
  const entry = fc.oneof(
    fc.record({ key: arbStateName, value: fc.uint8Array({ maxLength: 20 }), version: fc.nat(), deleted: fc.constant(false) }),
    fc.record({ key: arbStateName, value: fc.constant(new Uint8Array(0)), version: fc.nat(), deleted: fc.constant(true) }),
    // Identity's signed entries (issue 14).
    fc.record({ key: arbStateName, value: fc.uint8Array({ maxLength: 20 }), version: fc.nat(), deleted: fc.constant(false), signature }),
    fc.record({ key: arbStateName, value: fc.constant(new Uint8Array(0)), version: fc.nat(), deleted: fc.constant(true), signature }),
  );
  return fc.record({ node: arbStateName, generation: fc.nat(), fromVersion: fc.nat(), toVersion: fc.nat(), reset: fc.boolean(), collectedVersion: fc.nat(), entries: fc.array(entry, { maxLength: 3 }) });
}
const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('ping' as const), seq: arbInt, target: arbName, source: arbName, sourceAddr: arbAddr }),
  fc.record({ type: fc.constant('ping-req' as const), seq: arbInt, target: arbName, targetAddr: arbAddr, source: arbName, sourceAddr: arbAddr, nack: fc.boolean() }),
  fc.record({ type: fc.constant('ack' as const), seq: arbInt, digest: arbInt }),
  fc.record({ type: fc.constant('nack' as const), seq: arbInt }),
  fc.record({ type: fc.constant('alive' as const), node: arbName, addr: arbAddr, incarnation: arbInt, state: arbState }),
  fc.record({ type: fc.constantFrom('suspect' as const, 'dead' as const), node: arbName, incarnation: arbInt, from: arbName }),
  fc.record({ type: fc.constant('push-pull' as const), join: fc.boolean(), reply: fc.boolean(), source: arbName, members: fc.array(arbMember, { maxLength: 4 }) }),
  // The state layer's kinds (their inner bytes are state-codec.ts's, which encodes valid names only).
  fc.record({ type: fc.constant('state-delta' as const), deltas: fc.array(arbDelta(), { maxLength: 3 }) }),
  fc.record({
    type: fc.constant('state-digest' as const),
    full: fc.boolean(),
    exchange: fc.boolean(),
    digests: fc.array(fc.record({ node: arbStateName, generation: fc.nat(), version: fc.nat() }), { maxLength: 4 }),
  }),
  fc.record({ type: fc.constant('state-summary' as const), summary: arbInt }),
  // Identity's kinds (issue 14): a signed record around an alive, suspect or dead, with
  // fingerprints and signatures mostly of the right length, and sometimes not.
  fc
    .record({
      fingerprint: fc.oneof(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ maxLength: 10 })),
      signature: fc.oneof(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ minLength: 60, maxLength: 66 })),
      message: fc.oneof(
        fc.record({ type: fc.constant('alive' as const), node: arbName, addr: arbAddr, incarnation: arbInt, state: arbState }),
        fc.record({ type: fc.constantFrom('suspect' as const, 'dead' as const), node: arbName, incarnation: arbInt, from: arbName }),
      ),
    })
    .map(({ fingerprint, signature, message }): Message => ({ type: 'signed', fingerprint, signature, signed: encodeMessage(message), message })),
  fc.record({ type: fc.constant('cert-request' as const), fingerprint: fc.oneof(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ maxLength: 10 })) }),
  fc.record({ type: fc.constant('cert' as const), certificate: fc.uint8Array({ maxLength: 40 }) }),
);
const arbLimits = fc.option(
  fc.record(
    {
      maxNameBytes: fc.integer({ min: 1, max: 300 }),
      maxHostBytes: fc.integer({ min: 1, max: 300 }),
      maxTags: fc.integer({ min: 0, max: 5 }),
      maxTagKeyBytes: fc.integer({ min: 0, max: 10 }),
      maxTagValueBytes: fc.integer({ min: 0, max: 50 }),
      maxPayloadBytes: fc.integer({ min: 0, max: 50 }),
      maxMembers: fc.integer({ min: 0, max: 5 }),
      maxMessages: fc.integer({ min: 0, max: 6 }),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

/** Any value the pre-scan admits, in every form: what a hostile peer may put in any field. */
const arbValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    arbInt,
    arbName,
    fc.uint8Array({ maxLength: 8 }),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
})).value;

/** A message as its positional array (what the layout says), for replacing one field. */
function positional(message: Message): unknown[] {
  const codes = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
  switch (message.type) {
    case 'ping':
      return [1, message.seq, message.target, message.source, message.sourceAddr.host, message.sourceAddr.port];
    case 'ping-req':
      return [2, message.seq, message.target, message.targetAddr.host, message.targetAddr.port, message.source, message.sourceAddr.host, message.sourceAddr.port, message.nack];
    case 'ack':
      return [3, message.seq, message.digest];
    case 'nack':
      return [4, message.seq];
    case 'alive':
      return [5, message.node, message.addr.host, message.addr.port, message.incarnation, message.state.payload];
    case 'suspect':
      return [6, message.node, message.incarnation, message.from];
    case 'dead':
      return [7, message.node, message.incarnation, message.from];
    case 'push-pull':
      return [
        8,
        message.join,
        message.reply,
        message.source,
        message.members.map((m) => [m.node, m.addr.host, m.addr.port, m.incarnation, codes[m.status], m.state.payload]),
      ];
    case 'state-delta':
      return [9, message.deltas.map(encodeDelta)];
    case 'state-digest':
      return [10, message.full, message.exchange, encodeDigests(message.digests)];
    case 'state-summary':
      return [11, message.summary];
    case 'signed':
      return [12, message.fingerprint, message.signature, positional(message.message)];
    case 'cert-request':
      return [13, message.fingerprint];
    case 'cert':
      return [14, message.certificate];
  }
}

describe('the production decoder against the reference decoder', () => {
  it('agrees on any compound packet the encoder writes, under any limits', () => {
    fc.assert(
      fc.property(fc.array(arbMessage, { maxLength: 5 }), arbLimits, (messages, limits) => {
        expectSame(encodePacket(messages.map(encodeMessage)), limits);
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees when any field, or any part of a member record, is replaced by another value', () => {
    fc.assert(
      fc.property(arbMessage, fc.nat(), fc.nat(), arbValue, arbLimits, (message, at, inner, value, limits) => {
        const fields = positional(message);
        const i = at % (fields.length + 1);
        const members = fields[4];
        if (message.type === 'push-pull' && Array.isArray(members) && members.length > 0 && i === fields.length) {
          // a field inside a record
          const record = members[inner % members.length] as unknown[];
          record[inner % 7] = value;
        } else if (i === fields.length) {
          fields.push(value); // one field too many
        } else {
          fields[i] = value;
        }
        expectSame(rawPacket([fields]), limits);
      }),
      { numRuns: 10_000 },
    );
  });

  it('agrees on mutated packets and on arbitrary bytes after the version byte', () => {
    const interesting = [0x00, 0x01, 0x08, 0x7f, 0x80, 0x91, 0x95, 0x97, 0xa0, 0xbf, 0xc0, 0xc2, 0xc3, 0xc4, 0xc6, 0xcc, 0xce, 0xd0, 0xd2, 0xd9, 0xdb, 0xdc, 0xdd, 0xe0, 0xff];
    const arbEdit = fc.record({ at: fc.nat(), kind: fc.nat(3), byte: fc.oneof(fc.constantFrom(...interesting), fc.integer({ min: 0, max: 255 })) });
    fc.assert(
      fc.property(fc.array(arbMessage, { minLength: 1, maxLength: 3 }), fc.array(arbEdit, { minLength: 1, maxLength: 4 }), arbLimits, (messages, edits, limits) => {
        let bytes = encodePacket(messages.map(encodeMessage)).slice();
        for (const { at, kind, byte } of edits) {
          const i = at % bytes.length;
          if (kind === 0) bytes[i] = byte;
          else if (kind === 1) bytes = Uint8Array.from([...bytes.subarray(0, i), byte, ...bytes.subarray(i)]);
          else if (kind === 2 && bytes.length > 1) bytes = Uint8Array.from([...bytes.subarray(0, i), ...bytes.subarray(i + 1)]);
          else bytes[i] = bytes[i]! ^ (1 << (byte & 7));
        }
        expectSame(bytes, limits);
      }),
      { numRuns: 10_000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (body) => {
        expectSame(Uint8Array.from([PROTOCOL_VERSION, ...body]));
        expectSame(Uint8Array.from([PROTOCOL_VERSION, 0x91, ...body]));
      }),
      { numRuns: 10_000 },
    );
  });
});
