/**
 * The inputs of the golden test (golden.test.ts): messages of every kind to encode, and packets to
 * decode (malformed, invalid, or valid in unusual forms). The expected bytes and results live in
 * golden.test.ts, captured from the codec as it was before wire/ was split into files; these inputs
 * must not change without a reason, or the golden values stop meaning anything.
 */
import { createHash } from 'node:crypto';
import type { DecodeResult } from '../../src/wire/codec.js';
import type { DecodeLimits } from '../../src/wire/limits.js';
import type { AliveState, MemberRecord, MemberStatus, Message } from '../../src/wire/messages.js';

/** Bytes from hex, spaces allowed: `hex('01 91 93')`. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex: ${text}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concat(...chunks: (Uint8Array | readonly number[])[]): Uint8Array {
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

/** A msgpack str header and bytes (the smallest form) for raw, hand-built packets. */
export function str(s: string | Uint8Array): Uint8Array {
  const b = typeof s === 'string' ? new TextEncoder().encode(s) : s;
  const n = b.length;
  const head = n < 32 ? [0xa0 | n] : n < 0x100 ? [0xd9, n] : n < 0x10000 ? [0xda, n >> 8, n & 255] : [0xdb, n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  return concat(head, b);
}

/** A msgpack bin header and bytes (the smallest form). */
export function bin(b: Uint8Array): Uint8Array {
  const n = b.length;
  const head = n < 0x100 ? [0xc4, n] : n < 0x10000 ? [0xc5, n >> 8, n & 255] : [0xc6, n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  return concat(head, b);
}

/** A msgpack array header (the smallest form). */
export function arr(n: number): number[] {
  return n < 16 ? [0x90 | n] : n < 0x10000 ? [0xdc, n >> 8, n & 255] : [0xdd, n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** A packet: version byte 1, an array header for `messages.length`, then the messages' bytes. */
export function packet(...messages: (Uint8Array | readonly number[])[]): Uint8Array {
  return concat([1], arr(messages.length), ...messages);
}

/** One message as a msgpack array of already-encoded elements. */
export function msg(...elements: (Uint8Array | readonly number[])[]): Uint8Array {
  return concat(arr(elements.length), ...elements);
}

const addr = { host: '10.0.0.1', port: 7946 };
const empty: AliveState = { payload: null };
const STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

/** Deterministic payload bytes. */
function bytes(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed * 13 + (i >> 8)) & 255);
}

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

const shared: AliveState = { payload: new Uint8Array([1, 2, 3]) };

/**
 * Packets to encode: each is `encodePacket(messages.map(encodeMessage))`. A case whose messages
 * decode back to themselves has `roundTrip: true`.
 */
export interface EncodeCase {
  readonly name: string;
  readonly messages: readonly Message[];
  readonly roundTrip: boolean;
}

const ok = (name: string, ...messages: Message[]): EncodeCase => ({ name, messages, roundTrip: true });

export const ENCODE_CASES: readonly EncodeCase[] = [
  ok('ping, smallest values', { type: 'ping', seq: 0, target: 't', source: 's', sourceAddr: { host: 'h', port: 1 } }),
  ok('ping, largest seq and port, unicode names', {
    type: 'ping',
    seq: 0xffff_ffff,
    target: 'nœud-ß-東京',
    source: '🦜 parrot',
    sourceAddr: { host: '::1', port: 65535 },
  }),
  ok(
    'pings at the integer form boundaries',
    ...[127, 128, 255, 256, 65535, 65536].map((seq): Message => ({ type: 'ping', seq, target: 'b', source: 'a', sourceAddr: { host: 'h', port: seq % 65535 || 1 } })),
  ),
  ok('ping, 256-byte names and host (the limits)', {
    type: 'ping',
    seq: 7,
    target: 't'.repeat(256),
    source: 's'.repeat(256),
    sourceAddr: { host: 'h'.repeat(256), port: 7946 },
  }),
  ok(
    'pings with strings at the str form boundaries',
    ...['a'.repeat(31), 'a'.repeat(32), 'b'.repeat(255), '東'.repeat(10), '東'.repeat(11), '東'.repeat(85), 'é'.repeat(16)].map(
      (name): Message => ({ type: 'ping', seq: 1, target: name, source: 'a', sourceAddr: addr }),
    ),
  ),
  ok('ping-req asking for a nack', {
    type: 'ping-req',
    seq: 77,
    target: 'c',
    targetAddr: { host: '10.0.0.3', port: 7000 },
    source: 'a',
    sourceAddr: { host: 'fe80::1', port: 7001 },
    nack: true,
  }),
  ok('ping-req not asking for a nack, largest seq', {
    type: 'ping-req',
    seq: 0xffff_ffff,
    target: 'ターゲット',
    targetAddr: { host: 'node-c.example.internal', port: 65535 },
    source: 'a',
    sourceAddr: { host: '2001:db8::1', port: 1 },
    nack: false,
  }),
  ok('acks', { type: 'ack', seq: 0, digest: 0 }, { type: 'ack', seq: 123_456, digest: 0xdead_beef }, { type: 'ack', seq: 0xffff_ffff, digest: 0xffff_ffff }),
  ok('nacks', { type: 'nack', seq: 0 }, { type: 'nack', seq: 200 }, { type: 'nack', seq: 0xffff_ffff }),
  ok('alive, empty state, incarnation 0', { type: 'alive', node: 'a', addr, incarnation: 0, state: empty }),
  ok('alive, largest incarnation', { type: 'alive', node: 'a', addr, incarnation: 0xffff_ffff, state: empty }),
  ok('alive, unicode names and a payload', {
    type: 'alive',
    node: 'ünïcødé',
    addr: { host: 'node-a.example.internal', port: 8301 },
    incarnation: 42,
    state: { payload: new Uint8Array([0, 1, 2, 255]) },
  }),
  ok('alive, empty payload', { type: 'alive', node: 'a', addr, incarnation: 1, state: { payload: new Uint8Array(0) } }),
  ok(
    'alives with payloads at the bin form boundaries',
    ...[255, 256, 65535].map((n): Message => ({ type: 'alive', node: `n${n}`, addr, incarnation: n, state: { payload: bytes(n, n) } })),
  ),
  ok('alive, every limit at once (256-byte names, 65536-byte payload)', {
    type: 'alive',
    node: 'n'.repeat(256),
    addr: { host: 'h'.repeat(256), port: 65535 },
    incarnation: 0xffff_ffff,
    state: { payload: bytes(65_536, 1) },
  }),
  ok('suspect', { type: 'suspect', node: 'b', incarnation: 9, from: 'a' }),
  ok('suspect and push-pull with names that start with a byte order mark', { type: 'suspect', node: '\ufeffb', incarnation: 1, from: '\ufeff' + 'a'.repeat(40) }, { type: 'push-pull', join: false, reply: false, source: '\ufeffs', members: [{ ...member(1), node: '\ufeffn' }] }),
  ok('suspect, unicode names, largest incarnation', { type: 'suspect', node: 'узел', incarnation: 0xffff_ffff, from: '節点' }),
  ok('dead', { type: 'dead', node: 'b', incarnation: 10, from: 'a' }),
  ok('graceful leave (dead from itself), incarnation 0', { type: 'dead', node: 'b', incarnation: 0, from: 'b' }),
  ok('push-pull, empty, join', { type: 'push-pull', join: true, reply: false, source: 'a', members: [] }),
  ok('push-pull, reply, every status', { type: 'push-pull', join: false, reply: true, source: 'a', members: STATUSES.map((s, i) => member(i, s)) }),
  ok('push-pull, join and reply, unicode and limits', {
    type: 'push-pull',
    join: true,
    reply: true,
    source: '源',
    members: [
      { node: 'ünïcødé', addr: { host: '::1', port: 65535 }, incarnation: 0xffff_ffff, status: 'suspect', state: { payload: new Uint8Array(0) } },
      { node: 'n'.repeat(256), addr: { host: 'h'.repeat(256), port: 1 }, incarnation: 0, status: 'left', state: { payload: bytes(300, 2) } },
    ],
  }),
  ok('push-pull, 16 members sharing one state object', {
    type: 'push-pull',
    join: false,
    reply: false,
    source: 'seed',
    members: Array.from({ length: 16 }, (_, i) => ({ ...member(i, STATUSES[i % 4]!), state: shared })),
  }),
  ok('push-pull, every limit at once (256-byte names, 65536-byte payload)', {
    type: 'push-pull',
    join: false,
    reply: true,
    source: 's'.repeat(256),
    members: [{ node: 'n'.repeat(256), addr: { host: 'h'.repeat(256), port: 65535 }, incarnation: 0xffff_ffff, status: 'dead', state: { payload: bytes(65_536, 3) } }],
  }),
  ok('push-pull, 10,000 members', {
    type: 'push-pull',
    join: true,
    reply: false,
    source: 'a',
    members: Array.from({ length: 10_000 }, (_, i) => member(i, STATUSES[i % 4]!)),
  }),
  ok('no messages'),
  ok('a compound packet of every kind', ...compound()),
  ok('15 acks (a fixarray packet)', ...Array.from({ length: 15 }, (_, i): Message => ({ type: 'ack', seq: i, digest: i * 1000 }))),
  ok('16 acks (an array16 packet)', ...Array.from({ length: 16 }, (_, i): Message => ({ type: 'ack', seq: i, digest: i * 1000 }))),
  ok('256 messages (the limit)', ...Array.from({ length: 256 }, (_, i): Message => (i % 2 === 0 ? { type: 'nack', seq: i } : { type: 'suspect', node: `n${i}`, incarnation: i, from: 'x' }))),
  // The encoder trusts its input: values the receiver rejects still encode (and are dropped there).
  { name: 'untrusted: ping with seq -1, 2^32 and 1.5', roundTrip: false, messages: [-1, 0x1_0000_0000, 1.5].map((seq): Message => ({ type: 'ping', seq, target: 'b', source: 'a', sourceAddr: addr })) },
  { name: 'untrusted: ping with port 0 and empty names', roundTrip: false, messages: [{ type: 'ping', seq: 1, target: '', source: '', sourceAddr: { host: '', port: 0 } }] },
  { name: 'untrusted: alive with a lone surrogate in its name', roundTrip: false, messages: [{ type: 'alive', node: 'a\ud800b', addr, incarnation: 1, state: empty }] },
  {
    name: 'untrusted: push-pull with a lone surrogate in a name',
    roundTrip: false,
    messages: [{ type: 'push-pull', join: false, reply: false, source: 'a', members: [{ ...member(1), node: 'x\udc00' }] }],
  },
];

function compound(): Message[] {
  return [
    { type: 'ping', seq: 1, target: 'b', source: 'a', sourceAddr: addr },
    { type: 'ping-req', seq: 78, target: 'c', targetAddr: addr, source: 'a', sourceAddr: addr, nack: false },
    { type: 'ack', seq: 123_456, digest: 0xdead_beef },
    { type: 'nack', seq: 0xffff_fffe },
    { type: 'alive', node: 'a', addr, incarnation: 1, state: { payload: new Uint8Array([5, 6, 7]) } },
    { type: 'suspect', node: 'b', incarnation: 9, from: 'a' },
    { type: 'dead', node: 'b', incarnation: 10, from: 'a' },
    { type: 'push-pull', join: false, reply: true, source: 'a', members: [member(1), member(2, 'dead')] },
    { type: 'alive', node: 'z', addr, incarnation: 2, state: { payload: new Uint8Array([9]) } },
  ];
}

/** States whose encodedStateSize is pinned. */
export const STATE_SIZE_CASES: readonly [string, AliveState][] = [
  ['empty', empty],
  ['a 3-byte payload', { payload: new Uint8Array(3) }],
  ['a 300-byte payload', { payload: new Uint8Array(300) }],
  ['a 65536-byte payload', { payload: new Uint8Array(65_536) }],
];

/** Packets to decode, each with the limits to decode it under (if not the defaults). */
export interface DecodeCase {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly limits?: Partial<DecodeLimits>;
}

const ackOk = packet(msg([3], [1], [1]));
const h = str('h');
const a = str('a');
const b = str('b');
const nil = [0xc0];
const F = [0xc2];
const T = [0xc3];
const emptyArr = [0x90];
const u = (n: number): number[] => (n < 0x80 ? [n] : n < 0x100 ? [0xcc, n] : n < 0x10000 ? [0xcd, n >> 8, n & 255] : [0xce, n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255]);
const neg = (n: number): number[] => (n >= -32 ? [n & 255] : n >= -128 ? [0xd0, n & 255] : n >= -32768 ? [0xd1, (n >> 8) & 255, n & 255] : [0xd2, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255]);
const ping = (...fields: (Uint8Array | readonly number[])[]): Uint8Array => packet(msg([1], ...fields));
const alive = (...fields: (Uint8Array | readonly number[])[]): Uint8Array => packet(msg([5], ...fields));
const record = (...fields: (Uint8Array | readonly number[])[]): Uint8Array => msg(...fields);
const goodRecord = record(str('n'), h, [1], [1], [0], nil);
const pushPull = (...records: (Uint8Array | readonly number[])[]): Uint8Array => packet(msg([8], F, F, a, msg(...records)));
const ff = (n: number): Uint8Array => new Uint8Array(n).fill(0xff);

const d = (name: string, bytes: Uint8Array, limits?: Partial<DecodeLimits>): DecodeCase => (limits === undefined ? { name, bytes } : { name, bytes, limits });

export const DECODE_CASES: readonly DecodeCase[] = [
  // before any decoding
  d('empty', new Uint8Array(0)),
  d('too large for maxPacketBytes', new Uint8Array(2000).fill(0xff), { maxPacketBytes: 1400 }),
  d('exactly maxPacketBytes', ackOk, { maxPacketBytes: ackOk.length }),
  d('one byte over maxPacketBytes', ackOk, { maxPacketBytes: ackOk.length - 1 }),
  d('version 0', concat([0], ackOk.subarray(1))),
  d('version 2', concat([2], ackOk.subarray(1))),
  d('version 3', concat([3], ackOk.subarray(1))),
  d('version 255', concat([255], ackOk.subarray(1))),
  // the structural pre-scan
  d('a version byte alone', hex('01')),
  d('a body that is a string', concat([1], str('hello'))),
  d('a body that is a fixmap', hex('01 81 01 02')),
  d('a truncated array16 header', hex('01 dc 00')),
  d('a truncated array32 header', hex('01 dd 00 00')),
  d('trailing bytes after the body', concat(ackOk, [0xc0])),
  d('two bodies', concat(ackOk, ackOk.subarray(1))),
  d('a truncated body', ackOk.subarray(0, ackOk.length - 1)),
  d('a truncated string', hex('01 91 93 06 a5 61 62')),
  d('a truncated str8 length', hex('01 91 92 06 d9')),
  d('a truncated bin16 length', hex('01 91 92 06 c5 00')),
  d('a truncated array32 length', hex('01 91 92 06 dd 00 00 00')),
  d('a reserved 0xc1 byte', hex('01 91 92 03 c1')),
  d('a float64', concat(hex('01 91 92 03 cb'), new Uint8Array(8))),
  d('a float32', hex('01 91 92 03 ca 3f 80 00 00')),
  d('a uint64', hex('01 91 93 03 cf 00 00 00 01 00 00 00 00 00')),
  d('an int64', hex('01 91 93 03 d3 ff ff ff ff ff ff ff ff 00')),
  d('a fixext', hex('01 91 92 03 d4 00 00')),
  d('a timestamp extension', hex('01 91 92 03 d6 ff 00 00 00 01')),
  d('an ext8', hex('01 91 92 03 c7 01 05 00')),
  d('a map16', hex('01 91 92 03 de 00 00')),
  d('a fixmap inside a message', hex('01 91 92 03 80')),
  d('arrays nested six deep', hex('01 91 91 91 91 91 91 90')),
  d('arrays nested five deep (allowed by the scan)', hex('01 91 91 91 91 90')),
  d('an array32 of 4 billion messages', hex('01 dd ff ff ff ff')),
  d('an array32 of 2^31 messages under a generous maxMessages', hex('01 dd 7f ff ff ff'), { maxMessages: 0xffff_ffff }),
  d('an array16 of 65535 messages', hex('01 dc ff ff 93')),
  d('3 messages declared in 2 bytes', hex('01 93 c0 c0')),
  d('a message array32 of 4 billion fields', hex('01 91 dd ff ff ff ff 03 01')),
  d('a str32 of 4 GiB', hex('01 91 96 01 01 db ff ff ff ff 61')),
  d('a bin32 of 4 GiB', hex('01 91 97 05 a1 61 a1 68 01 01 90 c6 ff ff ff ff 00')),
  d('nested array16s of 65535 each', hex('01 91 95 08 c2 c2 a1 61 dc ff ff dc ff ff dc ff ff')),
  d('257 messages', packet(...Array.from({ length: 257 }, () => msg([3], [1], [1])))),
  d('4 messages under maxMessages 3', packet(...Array.from({ length: 4 }, () => msg([3], [1], [1]))), { maxMessages: 3 }),
  // the message list
  d('a message that is a string', packet(str('ack'))),
  d('a message that is a number', packet([3])),
  d('a message that is nil', packet(nil)),
  d('an empty message', packet(msg())),
  d('type code 9', packet(msg([9], [1]))),
  d('type code 15', packet(msg([15], [1]))),
  d('type code 0', packet(msg([0], [1]))),
  d('type code -1', packet(msg([0xff], [1]))),
  d('type code 200', packet(msg([0xcc, 200], [1]))),
  d('a string type code', packet(msg(str('ack'), [1]))),
  d('a nil type code', packet(msg(nil, [1]))),
  d('a boolean type code', packet(msg(T, [1]))),
  d('an array type code', packet(msg(emptyArr, [1]))),
  d('a bin type code', packet(msg(bin(new Uint8Array([3])), [1]))),
  d('one good message then a bad one', packet(msg([3], [1], [1]), msg([3], [0xff], [1]))),
  d('one good message then an unknown one', packet(msg([3], [1], [1]), msg([42]))),
  d('a good alive with a payload then a bad ack', packet(msg([5], str('x'), h, [1], [1], bin(new Uint8Array([9, 9, 9]))), msg([3], [0xff], [1]))),
  // ping
  d('ping with a missing field', ping([1], b, a, h)),
  d('ping with an extra field', ping([1], b, a, h, [1], [0])),
  d('ping with a negative seq', ping([0xff], b, a, h, [1])),
  d('ping with seq -2^31', ping(neg(-0x8000_0000), b, a, h, [1])),
  d('ping with a string seq', ping(str('1'), b, a, h, [1])),
  d('ping with an empty target', ping([1], str(''), a, h, [1])),
  d('ping with a numeric target', ping([1], [7], a, h, [1])),
  d('ping with a 257-byte target', ping([1], str('x'.repeat(257)), a, h, [1])),
  d('ping with a target of 86 three-byte characters (258 bytes)', ping([1], str('東'.repeat(86)), a, h, [1])),
  d('ping with a target of 85 three-byte characters (255 bytes)', ping([1], str('東'.repeat(85)), a, h, [1])),
  d('ping with a nil source', ping([1], b, nil, h, [1])),
  d('ping with a numeric source', ping([1], b, [7], h, [1])),
  d('ping with an empty host', ping([1], b, a, str(''), [1])),
  d('ping with a 257-byte host', ping([1], b, a, str('h'.repeat(257)), [1])),
  d('ping with port 0', ping([1], b, a, h, [0])),
  d('ping with port 65536', ping([1], b, a, h, u(65536))),
  d('ping with port -1', ping([1], b, a, h, [0xff])),
  d('ping with a boolean port', ping([1], b, a, h, T)),
  d('ping with a name under maxNameBytes 1', ping([1], str('bb'), a, h, [1]), { maxNameBytes: 1 }),
  d('ping with a host under maxHostBytes 1', ping([1], b, a, str('hh'), [1]), { maxHostBytes: 1 }),
  // ping-req
  d('ping-req with a missing field', packet(msg([2], [1], b, h, [1], a, h, [1]))),
  d('ping-req with a negative seq', packet(msg([2], [0xe0], b, h, [1], a, h, [1], T))),
  d('ping-req with an empty target', packet(msg([2], [1], str(''), h, [1], a, h, [1], T))),
  d('ping-req with an empty target host', packet(msg([2], [1], b, str(''), [1], a, h, [1], T))),
  d('ping-req with target port 0', packet(msg([2], [1], b, h, [0], a, h, [1], T))),
  d('ping-req with a numeric source', packet(msg([2], [1], b, h, [1], [5], h, [1], T))),
  d('ping-req with a nil source host', packet(msg([2], [1], b, h, [1], a, nil, [1], T))),
  d('ping-req with source port 70000', packet(msg([2], [1], b, h, [1], a, h, u(70000), T))),
  d('ping-req with a numeric nack', packet(msg([2], [1], b, h, [1], a, h, [1], [1]))),
  d('ping-req with a nil nack', packet(msg([2], [1], b, h, [1], a, h, [1], nil))),
  // ack, nack
  d('ack with a missing digest', packet(msg([3], [1]))),
  d('ack with a negative seq', packet(msg([3], [0xff], [0]))),
  d('ack with a negative digest', packet(msg([3], [1], neg(-100)))),
  d('ack with a string digest', packet(msg([3], [1], str('0')))),
  d('nack with an extra field', packet(msg([4], [1], [1]))),
  d('nack with a nil seq', packet(msg([4], nil))),
  // alive
  d('alive with a short message', alive(a, h, [1], [1])),
  d('alive with an empty node', alive(str(''), h, [1], [1], nil)),
  d('alive with a 257-byte host', alive(a, str('h'.repeat(257)), [1], [1], nil)),
  d('alive with port 0', alive(a, h, [0], [1], nil)),
  d('alive with a negative incarnation', alive(a, h, [1], [0xfb], nil)),
  d('alive with a boolean incarnation', alive(a, h, [1], F, nil)),
  d('alive with a string payload', alive(a, h, [1], [1], str('payload'))),
  d('alive with a boolean payload', alive(a, h, [1], [1], F)),
  d('alive with an array payload', alive(a, h, [1], [1], emptyArr)),
  d('alive with a 65537-byte payload', alive(a, h, [1], [1], bin(new Uint8Array(65_537)))),
  d('alive with a 10-byte payload under maxPayloadBytes 9', alive(a, h, [1], [1], bin(new Uint8Array(10))), { maxPayloadBytes: 9 }),
  d('alive under every limit exactly', alive(str('node-a'), str('host-a'), [1], [1], bin(new Uint8Array(10))), {
    maxNameBytes: 6,
    maxHostBytes: 6,
    maxTags: 2,
    maxTagKeyBytes: 3,
    maxTagValueBytes: 5,
    maxPayloadBytes: 10,
  }),
  // suspect, dead
  d('suspect with a missing field', packet(msg([6], a, [1]))),
  d('suspect with an empty node', packet(msg([6], str(''), [1], b))),
  d('suspect with a negative incarnation', packet(msg([6], a, neg(-300), b))),
  d('suspect with an empty from', packet(msg([6], a, [1], str('')))),
  d('dead with a boolean incarnation', packet(msg([7], a, T, b))),
  d('dead with a numeric from', packet(msg([7], a, [1], [2]))),
  d('dead with an extra field', packet(msg([7], a, [1], b, nil))),
  // push-pull
  d('push-pull with a missing field', packet(msg([8], F, F, a))),
  d('push-pull with a numeric join', packet(msg([8], [1], F, a, emptyArr))),
  d('push-pull with a nil reply', packet(msg([8], F, nil, a, emptyArr))),
  d('push-pull with an empty source', packet(msg([8], F, F, str(''), emptyArr))),
  d('push-pull with members given as nil', packet(msg([8], F, F, a, nil))),
  d('push-pull with members given as a string', packet(msg([8], F, F, a, str('m')))),
  d('push-pull with 11 members under maxMembers 10', pushPull(...Array.from({ length: 11 }, () => goodRecord)), { maxMembers: 10 }),
  d('push-pull with 11 members under maxMembers 11', pushPull(...Array.from({ length: 11 }, () => goodRecord)), { maxMembers: 11 }),
  d('push-pull with 2 members, the second bad, under maxMembers 1', pushPull(goodRecord, record(str(''))), { maxMembers: 1 }),
  d('push-pull with a record that is a string', pushPull(str('n'))),
  d('push-pull with a record that is nil', pushPull(nil)),
  d('push-pull with a short record', pushPull(record(str('n'), h, [1], [1], [0]))),
  d('push-pull with a long record', pushPull(record(str('n'), h, [1], [1], [0], nil, nil))),
  d('push-pull with an empty node', pushPull(goodRecord, record(str(''), h, [1], [1], [0], nil))),
  d('push-pull with an empty host', pushPull(goodRecord, record(str('n'), str(''), [1], [1], [0], nil))),
  d('push-pull with port 0', pushPull(record(str('n'), h, [0], [1], [0], nil))),
  d('push-pull with a negative incarnation', pushPull(record(str('n'), h, [1], [0xff], [0], nil))),
  d('push-pull with status 4', pushPull(record(str('n'), h, [1], [1], [4], nil))),
  d('push-pull with status -1', pushPull(record(str('n'), h, [1], [1], [0xff], nil))),
  d('push-pull with a string status', pushPull(record(str('n'), h, [1], [1], str('alive'), nil))),
  d('push-pull with status 3 as a uint16', pushPull(record(str('n'), h, [1], [1], [0xcd, 0, 3], nil))),
  d('push-pull with a string payload', pushPull(record(str('n'), h, [1], [1], [0], str('p')))),
  d('push-pull with a 65537-byte payload', pushPull(record(str('n'), h, [1], [1], [0], bin(new Uint8Array(65_537))))),
  d('push-pull in a compound packet, with a bad record', packet(msg([3], [1], [1]), msg([8], F, F, a, msg(record(str('n'), h, [1], [1], [9], nil))))),
  d('push-pull then an ack', packet(msg([8], T, F, a, msg(goodRecord)), msg([3], [1], [1]))),
  d('two push-pulls', packet(msg([8], T, F, a, msg(goodRecord)), msg([8], F, T, b, msg()))),
  // unusual but valid forms, and strings that are not ASCII or not UTF-8
  d('an ack with every integer in its widest form', packet(msg([0xce, 0, 0, 0, 3], [0xce, 0, 0, 0, 5], [0xce, 0, 0, 0, 7]))),
  d('an ack with its type code as an int8', packet(msg([0xd0, 3], [0xd1, 0, 5], [0xd2, 0, 0, 0, 7]))),
  d('a ping with str8, str16 and str32 headers for short strings', ping([1], [0xd9, 1, 0x62], [0xda, 0, 1, 0x61], [0xdb, 0, 0, 0, 1, 0x68], [1])),
  d('an alive with a bin32 payload', alive(a, h, [0xcd, 0, 1], [1], [0xc6, 0, 0, 0, 2, 1, 2])),
  d('a packet as an array32 and a message as an array16', concat([1, 0xdd, 0, 0, 0, 1, 0xdc, 0, 2, 4, 9])),
  d('a push-pull with the widest forms everywhere', packet(msg([0xd0, 8], T, T, [0xda, 0, 1, 0x73], concat([0xdd, 0, 0, 0, 1, 0xdc, 0, 7], [0xd9, 1, 0x6e], [0xdb, 0, 0, 0, 1, 0x68], [0xce, 0, 0, 0, 1], [0xcd, 0, 2], [0xcc, 2], [0xdd, 0, 0, 0, 2, 0xa1, 0x6b, 0xd9, 1, 0x76], [0xc6, 0, 0, 0, 1, 0xaa])))),
  d('a push-pull with non-ASCII names', pushPull(record(str('ünïcødé'), str('хост'), [1], [1], [1], bin(new Uint8Array([1]))))),
  d('a ping whose target is one invalid UTF-8 byte', ping([1], str(ff(1)), a, h, [1])),
  d('a ping whose target is 5 invalid UTF-8 bytes', ping([1], str(ff(5)), a, h, [1])),
  d('a ping whose target is 20 invalid UTF-8 bytes', ping([1], str(ff(20)), a, h, [1])),
  d('a ping whose target is 70 invalid UTF-8 bytes', ping([1], str(ff(70)), a, h, [1])),
  d('a ping whose target is 86 invalid UTF-8 bytes (258 bytes once decoded)', ping([1], str(ff(86)), a, h, [1])),
  d('a ping whose target is 85 invalid UTF-8 bytes (255 bytes once decoded)', ping([1], str(ff(85)), a, h, [1])),
  d('a ping whose names mix truncated and overlong UTF-8', ping([1], str(hex('61 e3 81 62 c0 af 63 f0 9f 98')), str(hex('ed a0 80 e2 82 ac f4 90 80 80')), h, [1])),
  d('a ping whose names start with a byte order mark', ping([1], str('\ufeffb'), str('\ufeff' + 'a'.repeat(40)), str('\ufeffh'), [1])),
  d('a push-pull whose names start with a byte order mark', pushPull(record(str('\ufeffn'), str('\ufeff' + 'h'.repeat(40)), [1], [1], [0], nil))),
  d('a push-pull whose node is invalid UTF-8', pushPull(record(str(hex('6e ff fe 80')), h, [1], [1], [0], nil))),
  d('a push-pull whose node is 86 invalid UTF-8 bytes', pushPull(record(str(ff(86)), h, [1], [1], [0], nil))),
];

/** Bytes as the golden tables hold them: hex up to 512 bytes, else the length and a SHA-256. */
export function bytesKey(bytes: Uint8Array): string {
  if (bytes.length <= 512) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
  return `${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A decode result as plain JSON-able data (payloads as bytesKey), for the golden tables. */
export function normalize(result: DecodeResult): unknown {
  if (!result.ok) return { error: { code: result.error.code, detail: result.error.detail } };
  return { messages: JSON.parse(JSON.stringify(result.messages, (_key, value: unknown) => (value instanceof Uint8Array ? `bytes:${bytesKey(value)}` : value))) as unknown };
}
