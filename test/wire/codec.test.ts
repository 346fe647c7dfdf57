import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DECODE_LIMITS,
  PROTOCOL_VERSION,
  decodeCorePacket,
  decodePacket,
  encodeMessage,
  encodePacket,
  encodePushPullFrom,
  encodePushPullPacket,
  encodeRecordPrefix,
  encodedStateSize,
  packetOverheadBytes,
  type DecodeErrorCode,
  type DecodeResult,
} from '../../src/wire/codec.js';
import type { AliveState, MemberRecord, MemberStatus, Message, PushPullMessage, PushPullView } from '../../src/wire/messages.js';
import { referenceDecode as decodePacketReference } from './reference-decoder.js';
import { encodeDelta, encodeDigests } from '../../src/wire/state-codec.js';

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** Packs arbitrary values (maps included) to craft hostile bodies. */
const rawPackr = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false, structuredClone: false });

function concat(...chunks: (Uint8Array | readonly number[])[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** A packet whose body is `body` packed as-is (version byte first). */
function rawPacket(body: unknown): Uint8Array {
  return concat([PROTOCOL_VERSION], rawPackr.pack(body));
}

/** A packet of one crafted message (given as its positional array). */
function rawMessage(fields: unknown[]): Uint8Array {
  return rawPacket([fields]);
}

function packetOf(messages: readonly Message[]): Uint8Array {
  return encodePacket(messages.map(encodeMessage));
}

function roundTrip(messages: readonly Message[]): DecodeResult {
  return decodePacket(packetOf(messages));
}

function expectError(result: DecodeResult, code: DecodeErrorCode): string {
  if (result.ok) throw new Error(`expected ${code}, got ok with ${result.messages.length} messages`);
  expect(result.error.code).toBe(code);
  expect(typeof result.error.detail).toBe('string');
  expect(result.error.detail.length).toBeGreaterThan(0);
  return result.error.detail;
}

function expectOk(result: DecodeResult): Message[] {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.detail}`);
  return result.messages;
}

const addr = { host: '10.0.0.1', port: 7946 };
const emptyState: AliveState = { payload: null };

function member(i: number, status: MemberStatus = 'alive'): MemberRecord {
  return {
    node: `node-${i}`,
    addr: { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 7946 + (i % 100) },
    incarnation: i * 3,
    status,
    state: {
      payload: i % 4 === 0 ? null : new Uint8Array([i & 255, (i >> 8) & 255, 42]),
    },
  };
}

const STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

// ---------------------------------------------------------------------------------------------
// arbitraries
// ---------------------------------------------------------------------------------------------

const arbName = fc.string({ minLength: 1, maxLength: 16, unit: 'grapheme' }).filter((s) => Buffer.byteLength(s) <= 256);
const arbHost = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain());
const arbAddr = fc.record({ host: arbHost, port: fc.integer({ min: 1, max: 65535 }) });
const arbU32 = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffff_ffff }));
const arbState: fc.Arbitrary<AliveState> = fc.record({
  payload: fc.option(fc.uint8Array({ maxLength: 24 }), { nil: null }),
});
const arbMember: fc.Arbitrary<MemberRecord> = fc.record({
  node: arbName,
  addr: arbAddr,
  incarnation: arbU32,
  status: fc.constantFrom(...STATUSES),
  state: arbState,
});

const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('ping' as const), seq: arbU32, target: arbName, source: arbName, sourceAddr: arbAddr }),
  fc.record({
    type: fc.constant('ping-req' as const),
    seq: arbU32,
    target: arbName,
    targetAddr: arbAddr,
    source: arbName,
    sourceAddr: arbAddr,
    nack: fc.boolean(),
  }),
  fc.record({ type: fc.constant('ack' as const), seq: arbU32, digest: arbU32 }),
  fc.record({ type: fc.constant('nack' as const), seq: arbU32 }),
  fc.record({ type: fc.constant('alive' as const), node: arbName, addr: arbAddr, incarnation: arbU32, state: arbState }),
  fc.record({ type: fc.constant('suspect' as const), node: arbName, incarnation: arbU32, from: arbName }),
  fc.record({ type: fc.constant('dead' as const), node: arbName, incarnation: arbU32, from: arbName }),
  fc.record({
    type: fc.constant('push-pull' as const),
    join: fc.boolean(),
    reply: fc.boolean(),
    source: arbName,
    members: fc.array(arbMember, { maxLength: 4 }),
  }),
);

type Mutation = { kind: 'flip' | 'insert' | 'delete' | 'truncate' | 'set'; at: number; byte: number };
const arbMutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'set'),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
});

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = bytes;
  for (const { kind, at, byte } of mutations) {
    const i = out.length === 0 ? 0 : at % (kind === 'insert' ? out.length + 1 : out.length);
    switch (kind) {
      case 'flip':
        if (out.length > 0) {
          out = out.slice();
          out[i] = out[i]! ^ (1 << (byte & 7));
        }
        break;
      case 'set':
        if (out.length > 0) {
          out = out.slice();
          out[i] = byte;
        }
        break;
      case 'insert':
        out = concat(out.subarray(0, i), [byte], out.subarray(i));
        break;
      case 'delete':
        if (out.length > 0) out = concat(out.subarray(0, i), out.subarray(i + 1));
        break;
      case 'truncate':
        out = out.slice(0, i);
        break;
    }
  }
  return out;
}

/** Anything decodePacket accepts re-encodes to bytes that decode to equal messages. */
function expectStableIfOk(result: DecodeResult): void {
  if (!result.ok) return;
  const again = roundTrip(result.messages);
  expect(again).toEqual(result);
}

// ---------------------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------------------

describe('wire codec', () => {
  describe('round trip', () => {
    const cases: [string, Message][] = [
      ['a ping', { type: 'ping', seq: 1, target: 'b', source: 'a', sourceAddr: addr }],
      [
        'a ping with unicode names and the largest seq and port',
        { type: 'ping', seq: 0xffff_ffff, target: 'nœud-ß-東京', source: '🦜 parrot', sourceAddr: { host: '::1', port: 65535 } },
      ],
      ['a ping with seq 0 and port 1', { type: 'ping', seq: 0, target: 't', source: 's', sourceAddr: { host: 'h', port: 1 } }],
      [
        'a ping-req asking for a nack',
        {
          type: 'ping-req',
          seq: 77,
          target: 'c',
          targetAddr: { host: '10.0.0.3', port: 7000 },
          source: 'a',
          sourceAddr: { host: 'fe80::1', port: 7001 },
          nack: true,
        },
      ],
      [
        'a ping-req not asking for a nack',
        { type: 'ping-req', seq: 78, target: 'c', targetAddr: addr, source: 'a', sourceAddr: addr, nack: false },
      ],
      ['an ack', { type: 'ack', seq: 123_456, digest: 0xdead_beef }],
      ['a nack', { type: 'nack', seq: 0xffff_fffe }],
      ['an alive with no payload', { type: 'alive', node: 'a', addr, incarnation: 0, state: emptyState }],
      [
        'an alive with a payload',
        {
          type: 'alive',
          node: 'ünïcødé',
          addr: { host: 'node-a.example.internal', port: 8301 },
          incarnation: 42,
          state: { payload: new Uint8Array([0, 1, 2, 255]) },
        },
      ],
      ['an alive with an empty payload', { type: 'alive', node: 'a', addr, incarnation: 1, state: { payload: new Uint8Array(0) } }],
      ['a suspect', { type: 'suspect', node: 'b', incarnation: 9, from: 'a' }],
      ['a dead', { type: 'dead', node: 'b', incarnation: 10, from: 'a' }],
      ['a graceful leave (dead from itself)', { type: 'dead', node: 'b', incarnation: 11, from: 'b' }],
      ['an empty push-pull', { type: 'push-pull', join: true, reply: false, source: 'a', members: [] }],
      [
        'a push-pull with every status',
        { type: 'push-pull', join: false, reply: true, source: 'a', members: STATUSES.map((s, i) => member(i, s)) },
      ],
      [
        'a push-pull with 2000 members',
        {
          type: 'push-pull',
          join: false,
          reply: false,
          source: 'seed',
          members: Array.from({ length: 2000 }, (_, i) => member(i, STATUSES[i % 4]!)),
        },
      ],
    ];

    it.each(cases)('round-trips %s', (_name, message) => {
      const messages = expectOk(roundTrip([message]));
      expect(messages).toEqual([message]);
    });

    it('decodes a compound packet with several messages in order', () => {
      const sent: Message[] = cases.map(([, m]) => m).slice(0, 14);
      const messages = expectOk(roundTrip(sent));
      expect(messages.map((m) => m.type)).toEqual(sent.map((m) => m.type));
      expect(messages).toEqual(sent);
    });

    it('decodes a packet with no messages', () => {
      expect(expectOk(decodePacket(encodePacket([])))).toEqual([]);
    });

    it('returns fresh plain objects and payloads that do not alias the packet', () => {
      const sent: Message = {
        type: 'alive',
        node: 'a',
        addr,
        incarnation: 1,
        state: { payload: new Uint8Array([5, 6, 7]) },
      };
      const packet = packetOf([sent]);
      const [decoded] = expectOk(decodePacket(packet));
      if (decoded?.type !== 'alive') throw new Error('expected an alive');
      expect(Object.keys(decoded).sort()).toEqual(['addr', 'incarnation', 'node', 'state', 'type']);
      const payload = decoded.state.payload;
      expect(payload).toBeInstanceOf(Uint8Array);
      packet.fill(0);
      expect(Array.from(payload ?? [])).toEqual([5, 6, 7]);
    });

    it('copies many payloads, large and small, each to its own bytes', () => {
      const sizes = [0, 1, 64, 65, 40_000, 40_000, 65_536, 3, 30_000];
      const members = sizes.map((size, i) => ({
        ...member(i),
        state: { payload: Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) & 255) },
      }));
      const sent: Message = { type: 'push-pull', join: false, reply: false, source: 'a', members };
      const [decoded] = expectOk(roundTrip([sent]));
      expect(decoded).toEqual(sent);
      if (decoded?.type !== 'push-pull') throw new Error('expected a push-pull');
      // writing one payload leaves the others alone
      decoded.members[1]!.state.payload!.fill(0);
      expect(Array.from(decoded.members[2]!.state.payload!.subarray(0, 2))).toEqual([(2 * 31) & 255, (2 * 31 + 1) & 255]);
    });

    it('leaves nothing behind from a rejected packet', () => {
      const good: Message = { type: 'alive', node: 'a', addr, incarnation: 1, state: { payload: new Uint8Array([1, 2, 3]) } };
      const bad = rawPacket([
        [5, 'x', 'h', 1, 1, [], new Uint8Array([9, 9, 9])],
        [3, -1],
      ]);
      expectError(decodePacket(bad), 'invalid-message');
      expect(expectOk(roundTrip([good]))).toEqual([good]);
    });

    it('encodes each message as an array led by its type code', () => {
      const codes: [Message, number][] = [
        [{ type: 'ping', seq: 1, target: 'b', source: 'a', sourceAddr: addr }, 1],
        [{ type: 'ping-req', seq: 1, target: 'b', targetAddr: addr, source: 'a', sourceAddr: addr, nack: false }, 2],
        [{ type: 'ack', seq: 1, digest: 0 }, 3],
        [{ type: 'nack', seq: 1 }, 4],
        [{ type: 'alive', node: 'a', addr, incarnation: 1, state: emptyState }, 5],
        [{ type: 'suspect', node: 'a', incarnation: 1, from: 'b' }, 6],
        [{ type: 'dead', node: 'a', incarnation: 1, from: 'b' }, 7],
        [{ type: 'push-pull', join: false, reply: false, source: 'a', members: [] }, 8],
      ];
      for (const [message, code] of codes) {
        const bytes = encodeMessage(message);
        expect(bytes[0]! & 0xf0).toBe(0x90); // fixarray
        expect(bytes[1]).toBe(code);
      }
      expect(Array.from(encodeMessage({ type: 'ack', seq: 5, digest: 7 }))).toEqual([0x93, 3, 5, 7]);
    });
  });

  describe('framing', () => {
    it.each([0, 1, 15, 16, 300, 65535, 65536])('packetOverheadBytes matches encodePacket for %i parts', (count) => {
      const part = encodeMessage({ type: 'ack', seq: 1, digest: 1 });
      const parts = new Array<Uint8Array>(count).fill(part);
      const packet = encodePacket(parts);
      expect(packet.length).toBe(packetOverheadBytes(count) + count * part.length);
      expect(packet[0]).toBe(PROTOCOL_VERSION);
    });

    it('writes the array header msgpack uses for the part count', () => {
      for (const count of [0, 1, 15, 16, 300]) {
        const parts = new Array<Uint8Array>(count).fill(encodeMessage({ type: 'ack', seq: 1, digest: 1 }));
        const expected = rawPacket(new Array(count).fill([3, 1, 1]));
        expect(encodePacket(parts)).toEqual(expected);
      }
    });

    it('encodedStateSize is what the state adds to an alive message', () => {
      const states: AliveState[] = [emptyState, { payload: new Uint8Array(3) }, { payload: new Uint8Array(300) }, { payload: new Uint8Array(70_000) }];
      const base = encodeMessage({ type: 'alive', node: 'a', addr, incarnation: 1, state: emptyState }).length;
      expect(encodedStateSize(emptyState)).toBe(1);
      for (const state of states) {
        const size = encodeMessage({ type: 'alive', node: 'a', addr, incarnation: 1, state }).length;
        expect(size - base).toBe(encodedStateSize(state) - encodedStateSize(emptyState));
      }
    });
  });

  describe('errors', () => {
    it('reports an empty packet as empty', () => {
      expectError(decodePacket(new Uint8Array(0)), 'empty');
    });

    it('reports a packet over maxPacketBytes as too-large before decoding it', () => {
      const packet = packetOf([{ type: 'ping', seq: 1, target: 'b', source: 'a', sourceAddr: addr }]);
      expectError(decodePacket(packet, { maxPacketBytes: packet.length - 1 }), 'too-large');
      expectOk(decodePacket(packet, { maxPacketBytes: packet.length }));
      // garbage is not even looked at when it is too large
      expectError(decodePacket(new Uint8Array(2000).fill(0xff), { maxPacketBytes: 1400 }), 'too-large');
    });

    it('reports another version byte as bad-version', () => {
      const packet = packetOf([{ type: 'ack', seq: 1, digest: 1 }]);
      for (const version of [0, PROTOCOL_VERSION + 1, 0x92, 255]) {
        const copy = packet.slice();
        copy[0] = version;
        expectError(decodePacket(copy), 'bad-version');
      }
    });

    it('refuses the previous protocol (versions 1 and 2: before the state layer, tags in alive) as old-protocol, saying to upgrade', () => {
      const packet = packetOf([{ type: 'ack', seq: 1, digest: 1 }]);
      for (const version of [1, 2]) {
        const copy = packet.slice();
        copy[0] = version;
        const r = decodePacket(copy);
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error.code).toBe('old-protocol');
          expect(r.error.detail).toMatch(new RegExp(`protocol version ${version} from a node running an older hearsay \\(this node speaks 3\\): upgrade that node`));
        }
      }
      {
        const r = decodePacket(packet);
        expect(r.ok).toBe(true);
      }
    });

    const ok = packetOf([{ type: 'ack', seq: 1, digest: 1 }]);
    const malformed: [string, Uint8Array][] = [
      ['a version byte alone', new Uint8Array([PROTOCOL_VERSION])],
      ['a body that is not an array', rawPacket('hello')],
      ['a body that is a map', rawPacket(new Map([[1, 2]]))],
      ['trailing bytes after the body', concat(ok, [0xc0])],
      ['two bodies', concat(ok, ok.subarray(1))],
      ['a truncated body', ok.subarray(0, ok.length - 1)],
      ['a truncated string', concat([PROTOCOL_VERSION, 0x91, 0x93, 6, 0xa5], [0x61, 0x62])],
      ['a reserved 0xc1 byte', concat([PROTOCOL_VERSION, 0x91, 0x92, 3, 0xc1])],
      ['a float', concat([PROTOCOL_VERSION, 0x91, 0x92, 3, 0xcb], new Uint8Array(8))],
      ['a float32', concat([PROTOCOL_VERSION, 0x91, 0x92, 3, 0xca, 0x3f, 0x80, 0, 0])],
      ['a seq over 32 bits (a 64-bit integer)', rawMessage([3, 0x1_0000_0000, 0])],
      ['a 64-bit integer', concat([PROTOCOL_VERSION, 0x91, 0x92, 3, 0xcf], [0, 0, 0, 0, 0, 0, 0, 1])],
      ['a fixext (msgpackr undefined)', concat([PROTOCOL_VERSION, 0x91, 0x92, 3, 0xd4, 0x00, 0x00])],
      ['a timestamp extension', concat([PROTOCOL_VERSION, 0x91, 0x92, 3, 0xd6, 0xff, 0, 0, 0, 1])],
      ['a record definition', concat([PROTOCOL_VERSION, 0x91, 0x92, 3, 0xd4, 0x72, 0x40])],
      ['arrays nested too deep', concat([PROTOCOL_VERSION, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x90])],
      ['a fixmap inside a message', concat([PROTOCOL_VERSION, 0x91, 0x92, 3, 0x80])],
    ];

    it.each(malformed)('reports %s as malformed', (_name, bytes) => {
      expectError(decodePacket(bytes), 'malformed');
    });

    it('never lets an extension stand in for a valid value', () => {
      // ext 0x74 (typed array) holding a Uint8Array, where a payload goes
      const typedArrayExt = concat([0xc7, 4, 0x74, 1], [1, 2, 3]);
      // ext 0x65 (error) whose "class" is `constructor`: msgpackr would return the inner array
      const errorExt = concat([0xd4, 0x65, 0x00], rawPackr.pack(['constructor', ['a', 'b']]));
      // ext 0x65 whose "class" is `toString`: msgpackr would return a string
      const stringExt = concat([0xd4, 0x65, 0x00], rawPackr.pack(['toString', 'x']));
      // sanity: the plain version of the same layout is accepted
      const head = [PROTOCOL_VERSION, 0x91, 0x96, 5];
      const hostPort = concat(rawPackr.pack('h'), [0x01, 0x01]); // host 'h', port 1, incarnation 1
      expectOk(decodePacket(concat(head, rawPackr.pack('n'), hostPort, [0xc0])));
      const withPayload = concat(head, rawPackr.pack('n'), hostPort, typedArrayExt);
      const withHost = concat(head, rawPackr.pack('n'), errorExt, [0x01, 0x01, 0xc0]);
      const withNode = concat(head, stringExt, hostPort, [0xc0]);
      for (const bytes of [withPayload, withHost, withNode]) expectError(decodePacket(bytes), 'malformed');
    });

    const invalid: [string, unknown[]][] = [
      ['a message that is not an array', ['ack']],
      ['an unknown type code', [[9, 1]]],
      ['type code 0', [[0, 1]]],
      ['a string type code', [['ack', 1]]],
      ['an empty message', [[]]],
      ['a ping with a missing field', [[1, 1, 'b', 'a', 'h']]],
      ['a ping with an extra field', [[1, 1, 'b', 'a', 'h', 1, 0]]],
      ['a negative seq', [[3, -1, 0]]],
      ['a seq of -2^31', [[3, -0x8000_0000, 0]]],
      ['a port over 16 bits', [[1, 1, 'b', 'a', 'h', 0x1_0000_0]]],
      ['a string seq', [[3, '1', 0]]],
      ['an ack without a digest', [[3, 1]]],
      ['an ack with a negative digest', [[3, 1, -1]]],
      ['a nil seq', [[4, null]]],
      ['a ping with port 0', [[1, 1, 'b', 'a', 'h', 0]]],
      ['a ping with port 65536', [[1, 1, 'b', 'a', 'h', 65536]]],
      ['a ping with an empty target', [[1, 1, '', 'a', 'h', 1]]],
      ['a ping with an empty host', [[1, 1, 'b', 'a', '', 1]]],
      ['a ping with a numeric source', [[1, 1, 'b', 7, 'h', 1]]],
      ['a ping with a 257-byte target', [[1, 1, 'x'.repeat(257), 'a', 'h', 1]]],
      ['a ping with a target of 86 three-byte characters (258 bytes)', [[1, 1, '東'.repeat(86), 'a', 'h', 1]]],
      ['a ping-req with a numeric nack', [[2, 1, 'b', 'h', 1, 'a', 'h', 1, 1]]],
      ['a ping-req with port 0 for the target', [[2, 1, 'b', 'h', 0, 'a', 'h', 1, true]]],
      ['an alive with a negative incarnation', [[5, 'a', 'h', 1, -5, null]]],
      ['an alive with a string payload', [[5, 'a', 'h', 1, 1, 'payload']]],
      ['an alive with a payload over the limit', [[5, 'a', 'h', 1, 1, new Uint8Array(65_537)]]],
      ['a suspect with an empty from', [[6, 'a', 1, '']]],
      ['a dead with a boolean incarnation', [[7, 'a', true, 'b']]],
      ['a push-pull with a numeric join', [[8, 1, false, 'a', []]]],
      ['a push-pull with members given as nil', [[8, false, false, 'a', null]]],
      ['a push-pull with status 4', [[8, false, false, 'a', [['n', 'h', 1, 1, 4, [], null]]]]],
      ['a push-pull with status -1', [[8, false, false, 'a', [['n', 'h', 1, 1, -1, [], null]]]]],
      ['a push-pull with a short record', [[8, false, false, 'a', [['n', 'h', 1, 1, 0, []]]]]],
      ['a push-pull with a record that is a string', [[8, false, false, 'a', ['n']]]],
      ['one good message then a bad one', [[3, 1, 1], [3, -1, 1]]],
    ];

    it.each(invalid)('reports %s as invalid-message', (_name, body) => {
      expectError(decodePacket(rawPacket(body)), 'invalid-message');
    });

    it('names the message type and the field in the detail', () => {
      expect(expectError(decodePacket(rawMessage([1, 1, 'b', 'a', 'h', 0])), 'invalid-message')).toMatch(/ping.*sourceAddr\.port/);
      expect(
        expectError(decodePacket(rawMessage([8, false, false, 'a', [['n', 'h', 1, 1, 0, null], ['n', '', 1, 1, 0, null]]])), 'invalid-message'),
      ).toMatch(/push-pull.*members\[1\]\.addr\.host/);
    });

    it('reports more than maxMessages messages as too-many-messages', () => {
      const parts = new Array<Uint8Array>(257).fill(encodeMessage({ type: 'ack', seq: 1, digest: 1 }));
      expectError(decodePacket(encodePacket(parts)), 'too-many-messages');
      expectOk(decodePacket(encodePacket(parts.slice(0, 256))));
      expectError(decodePacket(encodePacket(parts.slice(0, 4)), { maxMessages: 3 }), 'too-many-messages');
    });

    it('reports a push-pull over maxMembers as too-many-members', () => {
      const message: Message = {
        type: 'push-pull',
        join: false,
        reply: false,
        source: 'a',
        members: Array.from({ length: 11 }, (_, i) => member(i)),
      };
      expectError(decodePacket(packetOf([message]), { maxMembers: 10 }), 'too-many-members');
      expectOk(decodePacket(packetOf([message]), { maxMembers: 11 }));
    });

    it('applies every limit given to it', () => {
      const alive: Message = {
        type: 'alive',
        node: 'node-a',
        addr: { host: 'host-a', port: 1 },
        incarnation: 1,
        state: { payload: new Uint8Array(10) },
      };
      const packet = packetOf([alive]);
      expectOk(decodePacket(packet, { maxNameBytes: 6, maxHostBytes: 6, maxPayloadBytes: 10 }));
      for (const limits of [{ maxNameBytes: 5 }, { maxHostBytes: 5 }, { maxPayloadBytes: 9 }]) {
        expectError(decodePacket(packet, limits), 'invalid-message');
      }
    });

    it('has frozen, documented defaults', () => {
      expect(Object.isFrozen(DEFAULT_DECODE_LIMITS)).toBe(true);
      expect(DEFAULT_DECODE_LIMITS).toEqual({
        maxPacketBytes: 32 * 1024 * 1024,
        maxMembers: 100_000,
        maxMessages: 256,
        maxNameBytes: 256,
        maxHostBytes: 256,
        maxTags: 64,
        maxTagKeyBytes: 128,
        maxTagValueBytes: 1024,
        maxPayloadBytes: 65_536,
      });
    });
  });

  describe('bounded allocation', () => {
    const huge: [string, number[]][] = [
      ['an array32 of 4 billion messages', [0xdd, 0xff, 0xff, 0xff, 0xff]],
      ['an array16 of 65535 messages', [0xdc, 0xff, 0xff, 0x93]],
      ['a message array32 of 4 billion fields', [0x91, 0xdd, 0xff, 0xff, 0xff, 0xff, 3, 1]],
      ['a str32 of 4 GiB', [0x91, 0x96, 1, 1, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]],
      ['a bin32 of 4 GiB', [0x91, 0x97, 5, 0xa1, 0x61, 0xa1, 0x68, 1, 1, 0x90, 0xc6, 0xff, 0xff, 0xff, 0xff, 0]],
      ['a str16 of 64 KiB', [0x91, 0x96, 1, 1, 0xda, 0xff, 0xff, 0x61]],
      ['nested array16s of 65535 each', [0x91, 0x95, 8, 0xc2, 0xc2, 0xa1, 0x61, 0xdc, 0xff, 0xff, 0xdc, 0xff, 0xff, 0xdc, 0xff, 0xff]],
    ];

    it.each(huge)('rejects %s in a tiny buffer before decoding it', (_name, body) => {
      const result = decodePacket(concat([PROTOCOL_VERSION], body));
      if (result.ok) throw new Error('expected an error');
      if (result.error.code === 'too-many-messages') return; // the top-level count is checked first
      expect(result.error.code).toBe('malformed');
      // the pre-scan, not msgpackr, caught it: nothing was built
      expect(result.error.detail).toMatch(/runs past the end|declared in/);
    });

    it('rejects a declared length past the end even with a generous maxMessages', () => {
      const bytes = concat([PROTOCOL_VERSION], [0xdd, 0x7f, 0xff, 0xff, 0xff]);
      expect(expectError(decodePacket(bytes, { maxMessages: 0xffff_ffff }), 'malformed')).toMatch(/declared in/);
    });
  });

  describe('properties', () => {
    it('round-trips any valid compound packet', () => {
      fc.assert(
        fc.property(fc.array(arbMessage, { maxLength: 6 }), (messages) => {
          expect(expectOk(roundTrip(messages))).toEqual(messages);
        }),
        { numRuns: 2000 },
      );
    });

    it('never throws on arbitrary bytes, and what it accepts re-encodes to the same messages', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc.uint8Array({ maxLength: 64 }).map((b) => concat([PROTOCOL_VERSION], b)),
            fc.uint8Array({ maxLength: 64 }).map((b) => concat([PROTOCOL_VERSION, 0x91], b)),
          ),
          (bytes) => {
            const result = decodePacket(bytes);
            expectStableIfOk(result);
          },
        ),
        { numRuns: 20_000 },
      );
    });

    it('never throws on mutated valid packets, and what it accepts re-encodes to the same messages', () => {
      fc.assert(
        fc.property(
          fc.array(arbMessage, { minLength: 1, maxLength: 4 }),
          fc.array(arbMutation, { minLength: 1, maxLength: 4 }),
          (messages, mutations) => {
            const bytes = mutate(packetOf(messages), mutations);
            const result = decodePacket(bytes);
            expectStableIfOk(result);
          },
        ),
        { numRuns: 20_000 },
      );
    });
  });
});

describe('the hand-written push-pull encoder', () => {
  const msgpackr = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false, structuredClone: false, bundleStrings: false });
  const arbName = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' });
  const arbRecord = fc.record({
    node: arbName,
    addr: fc.record({ host: fc.string({ minLength: 1, maxLength: 300 }), port: fc.integer({ min: 1, max: 65535 }) }),
    incarnation: fc.integer({ min: 0, max: 0xffff_ffff }),
    status: fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const, 'left' as const),
    state: fc.record({
      payload: fc.option(fc.uint8Array({ maxLength: 70000 }), { nil: null }),
    }),
  });

  it('writes exactly the bytes msgpackr writes for the same arrays', () => {
    const codes = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
    fc.assert(
      fc.property(fc.array(arbRecord, { maxLength: 40 }), fc.boolean(), fc.boolean(), arbName, (members, join, reply, source) => {
        const mine = encodeMessage({ type: 'push-pull', join, reply, source, members });
        const reference = msgpackr.pack([
          8,
          join,
          reply,
          source,
          members.map((m) => [
            m.node,
            m.addr.host,
            m.addr.port,
            m.incarnation,
            codes[m.status],
            m.state.payload === null ? null : Buffer.from(m.state.payload),
          ]),
        ]);
        expect(Buffer.from(mine).equals(Buffer.from(reference))).toBe(true);
        const framed = encodePushPullPacket({ type: 'push-pull', join, reply, source, members });
        expect(Buffer.from(framed).equals(Buffer.from(encodePacket([mine])))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the same bytes when records share state objects (each written once, then copied)', () => {
    const codes = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
    const arbStates = fc.array(arbRecord.map((r) => r.state), { minLength: 1, maxLength: 4 });
    const arbShared = fc.tuple(arbStates, fc.array(fc.tuple(arbRecord, fc.nat()), { maxLength: 60 }));
    fc.assert(
      fc.property(arbShared, ([states, picks]) => {
        const members = picks.map(([r, k]) => ({ ...r, state: states[k % states.length]! }));
        const mine = encodeMessage({ type: 'push-pull', join: false, reply: true, source: 's', members });
        const reference = msgpackr.pack([
          8,
          false,
          true,
          's',
          members.map((m) => [
            m.node,
            m.addr.host,
            m.addr.port,
            m.incarnation,
            codes[m.status],
            m.state.payload === null ? null : Buffer.from(m.state.payload),
          ]),
        ]);
        expect(Buffer.from(mine).equals(Buffer.from(reference))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('writes the same bytes from encoded record prefixes (encodePushPullFrom), and a decoded cursor spans them', () => {
    const arbStates = fc.array(arbRecord.map((r) => r.state), { minLength: 1, maxLength: 3 });
    const arbCase = fc.tuple(arbStates, fc.array(fc.tuple(arbRecord, fc.nat()), { maxLength: 40 }), fc.boolean(), fc.boolean(), arbName);
    fc.assert(
      fc.property(arbCase, ([states, picks, join, reply, source]) => {
        const members = picks.map(([r, k]) => ({ ...r, state: states[k % states.length]! }));
        const prefixes = members.map((m) => encodeRecordPrefix(m.node, m.addr.host, m.addr.port));
        // Prefixes side by side in one array, as a registry keeps them.
        const all = concat(...prefixes);
        const starts: number[] = [];
        let at = 0;
        for (const p of prefixes) {
          starts.push(at);
          at += p.length;
        }
        const cursor = {
          count: members.length,
          prefix: all,
          prefixStart: 0,
          prefixEnd: 0,
          incarnation: 0,
          status: 'alive' as MemberStatus,
          state: emptyState,
          seek(i: number): void {
            const m = members[i]!;
            this.prefixStart = starts[i]!;
            this.prefixEnd = starts[i]! + prefixes[i]!.length;
            this.incarnation = m.incarnation;
            this.status = m.status;
            this.state = m.state;
          },
        };
        for (const framed of [false, true]) {
          const mine = encodePushPullFrom(join, reply, source, cursor, framed);
          const expected = framed ? encodePushPullPacket({ type: 'push-pull', join, reply, source, members }) : encodeMessage({ type: 'push-pull', join, reply, source, members });
          expect(Buffer.from(mine).equals(Buffer.from(expected))).toBe(true);
        }
        const packet = encodePushPullPacket({ type: 'push-pull', join, reply, source, members });
        const decoded = decodeCorePacket(packet, {
          maxPacketBytes: packet.length,
          maxNameBytes: 1000,
          maxHostBytes: 1000,
          maxTagValueBytes: 1_000_000,
          maxTags: 100,
          maxPayloadBytes: 1_000_000,
        });
        if (!decoded.ok) throw new Error(decoded.error.detail);
        const view = decoded.messages[0] as PushPullView;
        for (let i = 0; i < members.length; i++) {
          view.records.seek(i);
          const span = packet.subarray(view.records.prefixStart, view.records.prefixEnd);
          expect(Buffer.from(span).equals(Buffer.from(prefixes[i]!))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('the direct push-pull decoder', () => {
  const asciiName = fc.string({ minLength: 1, maxLength: 12, unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) });
  const arbAsciiState: fc.Arbitrary<AliveState> = fc.record({
    payload: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
  });
  const arbAsciiMember: fc.Arbitrary<MemberRecord> = fc.record({
    node: fc.oneof(asciiName, arbName),
    addr: fc.record({ host: fc.oneof(fc.ipV4(), fc.domain(), fc.string({ maxLength: 40 })), port: fc.integer({ min: 0, max: 65535 }) }),
    incarnation: arbU32,
    status: fc.constantFrom(...STATUSES),
    state: arbAsciiState,
  });
  const arbPushPull = fc.record({
    type: fc.constant('push-pull' as const),
    join: fc.boolean(),
    reply: fc.boolean(),
    source: fc.oneof(asciiName, arbName, fc.constant('')),
    members: fc.array(arbAsciiMember, { maxLength: 12 }),
  });
  const arbLimits = fc.record(
    {
      maxNameBytes: fc.integer({ min: 1, max: 16 }),
      maxHostBytes: fc.integer({ min: 1, max: 40 }),
      maxTags: fc.integer({ min: 0, max: 4 }),
      maxTagKeyBytes: fc.integer({ min: 0, max: 12 }),
      maxTagValueBytes: fc.integer({ min: 0, max: 40 }),
      maxPayloadBytes: fc.integer({ min: 0, max: 300 }),
      maxMembers: fc.integer({ min: 0, max: 12 }),
    },
    { requiredKeys: [] },
  );

  it('gives what the general path gives for any push-pull, limits, and mutations of it', () => {
    fc.assert(
      fc.property(arbPushPull, arbLimits, fc.array(arbMutation, { maxLength: 3 }), (msg, limits, mutations) => {
        // Invalid fields (port 0, empty or long names, reserved tag keys) are written as given: the
        // encoder trusts its input. Mutations bring in other types and forms.
        const bytes = mutate(encodePushPullPacket(msg as PushPullMessage), mutations);
        expect(decodePacket(bytes, limits)).toEqual(decodePacketReference(bytes, limits));
      }),
      { numRuns: 20_000 },
    );
  });

  it('reads a 10,000-member push-pull to the same records as the general path', () => {
    const members = Array.from({ length: 10_000 }, (_, i) => member(i, STATUSES[i % 4]));
    const bytes = encodePushPullPacket({ type: 'push-pull', join: true, reply: false, source: 'a', members });
    const direct = decodePacket(bytes);
    expect(direct).toEqual(decodePacketReference(bytes));
    expect(expectOk(direct)).toEqual([{ type: 'push-pull', join: true, reply: false, source: 'a', members }]);
  });
});

describe('the msgpack subset, against msgpackr', () => {
  const msgpackr = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false, structuredClone: false, bundleStrings: false });
  const codes = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
  const payloadOf = (s: AliveState): Buffer | null => (s.payload === null ? null : Buffer.from(s.payload));
  /** A message as the positional array the codec documents. */
  const layout = (m: Message): unknown[] => {
    switch (m.type) {
      case 'ping':
        return [1, m.seq, m.target, m.source, m.sourceAddr.host, m.sourceAddr.port];
      case 'ping-req':
        return [2, m.seq, m.target, m.targetAddr.host, m.targetAddr.port, m.source, m.sourceAddr.host, m.sourceAddr.port, m.nack];
      case 'ack':
        return [3, m.seq, m.digest];
      case 'nack':
        return [4, m.seq];
      case 'alive':
        return [5, m.node, m.addr.host, m.addr.port, m.incarnation, payloadOf(m.state)];
      case 'suspect':
        return [6, m.node, m.incarnation, m.from];
      case 'dead':
        return [7, m.node, m.incarnation, m.from];
      case 'push-pull':
        return [8, m.join, m.reply, m.source, m.members.map((r) => [r.node, r.addr.host, r.addr.port, r.incarnation, codes[r.status], payloadOf(r.state)])];
      case 'state-delta':
        return [9, m.deltas.map((d) => Buffer.from(encodeDelta(d)))];
      case 'state-digest':
        return [10, m.full, m.exchange, Buffer.from(encodeDigests(m.digests))];
      case 'state-summary':
        return [11, m.summary];
      case 'signed':
        return [12, Buffer.from(m.fingerprint), Buffer.from(m.signature), layout(m.message)];
      case 'cert-request':
        return [13, Buffer.from(m.fingerprint)];
      case 'cert':
        return [14, Buffer.from(m.certificate)];
    }
  };

  it('encodes every message type to exactly the bytes msgpackr writes for its layout', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        expect(Buffer.from(encodeMessage(m)).equals(Buffer.from(msgpackr.pack(layout(m))))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('writes any number as msgpackr does, also those the receiver refuses (negative, 64-bit, fractions)', () => {
    const arbNumber = fc.oneof(
      fc.integer({ min: -0x8000_0000, max: 0xffff_ffff }),
      fc.constantFrom(-1, -32, -33, -128, -129, -32768, -32769, -0x8000_0000, -0x8000_0001, 0x1_0000_0000, 2 ** 53, -0, 0.5, NaN, Infinity, -Infinity),
      fc.double(),
    );
    fc.assert(
      fc.property(arbNumber, (n) => {
        const mine = encodeMessage({ type: 'nack', seq: n });
        expect(Buffer.from(mine).equals(Buffer.from(msgpackr.pack([4, n])))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('sizes a state as msgpackr encodes its payload', () => {
    const arbBigState = fc.record({
      payload: fc.option(fc.uint8Array({ maxLength: 70_000 }), { nil: null }),
    });
    fc.assert(
      fc.property(fc.oneof(arbState, arbBigState), (state) => {
        expect(encodedStateSize(state)).toBe(msgpackr.pack(payloadOf(state)).length);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a leading U+FEFF in names', () => {
    const alive = { type: 'alive' as const, node: '\ufeffn', addr, incarnation: 1, state: { payload: null } };
    expect(expectOk(roundTrip([alive]))).toEqual([alive]);
  });
});
