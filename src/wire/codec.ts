/**
 * The wire codec: messages to msgpack bytes and back, with packet framing.
 *
 * A message is a msgpack array: a type code, then its fields in a fixed order (see `encodeMessage`).
 * A packet is one version byte followed by ONE msgpack array whose elements are messages, so a
 * packet can be assembled from messages encoded earlier by writing an array header and copying
 * (`encodePacket`); the membership layer encodes each piece of gossip once and packs many into one
 * datagram.
 *
 * Nothing decoded is trusted. `decodePacket` never throws, checks the length before anything else,
 * then runs a structural pre-scan that admits only the msgpack types the protocol uses (nil, bool,
 * integers up to 32 bits, str, bin, array; no maps, floats, 64-bit integers or extensions), at most
 * five levels deep, with every declared length inside the buffer and no trailing bytes. Only then
 * is the tree built (by `readTree`, which knows only that subset, so its allocations are bounded by
 * the packet size), and every message is validated field by field into a fresh plain object.
 *
 * The msgpack here is our own, and only the subset above: the protocol needs nothing more, and a
 * general library (msgpackr) brought an optional native add-on whose install script every
 * consumer of the package was asked to approve. Its bytes are exactly msgpackr's for the same
 * values (msgpackr stays a devDependency, as the reference the tests compare with).
 */
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from './limits.js';
import type {
  Address,
  MemberRecord,
  MemberState,
  MemberStatus,
  Message,
  MessageType,
  PushPullMessage,
} from './messages.js';

export type { DecodeLimits } from './limits.js';
export { DEFAULT_DECODE_LIMITS } from './limits.js';

/** The first byte of every packet. A packet with another version is rejected ('bad-version'). */
export const PROTOCOL_VERSION = 1;

/** Largest sequence number on the wire; senders wrap (or restart) below it. */
export const MAX_SEQ = 0xffff_ffff;
/** Largest incarnation on the wire. */
export const MAX_INCARNATION = 0xffff_ffff;

export type DecodeErrorCode =
  | 'empty'
  | 'too-large'
  | 'bad-version'
  | 'malformed'
  | 'invalid-message'
  | 'too-many-messages'
  | 'too-many-members';

/** Why a packet was dropped. `detail` is for debug logs; `code` is for counters. */
export interface DecodeError {
  readonly code: DecodeErrorCode;
  readonly detail: string;
}

export type DecodeResult =
  | { readonly ok: true; readonly messages: Message[] }
  | { readonly ok: false; readonly error: DecodeError };

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

const CODE_PING = 1;
const CODE_PING_REQ = 2;
const CODE_ACK = 3;
const CODE_NACK = 4;
const CODE_ALIVE = 5;
const CODE_SUSPECT = 6;
const CODE_DEAD = 7;
const CODE_PUSH_PULL = 8;

/** Message names by type code, for error details. */
const TYPE_NAMES: readonly string[] = [
  '',
  'ping',
  'ping-req',
  'ack',
  'nack',
  'alive',
  'suspect',
  'dead',
  'push-pull',
] satisfies readonly ('' | MessageType)[];

const STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

function statusCode(status: MemberStatus): number {
  switch (status) {
    case 'alive':
      return 0;
    case 'suspect':
      return 1;
    case 'dead':
      return 2;
    case 'left':
      return 3;
  }
}

/** Tags as the flat array [k1, v1, k2, v2, ...] (never a msgpack map). */
function flatTags(tags: Readonly<Record<string, string>>): string[] {
  const keys = Object.keys(tags);
  const out = new Array<string>(keys.length * 2);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    out[2 * i] = key;
    out[2 * i + 1] = tags[key]!;
  }
  return out;
}

/**
 * A whole packet holding one push-pull message (what encodePacket([encodeMessage(msg)]) gives),
 * written in one pass: full-state exchanges are the largest thing encoded, so no intermediate copy.
 */
export function encodePushPullPacket(msg: PushPullMessage): Uint8Array {
  return encodePushPull(msg, true);
}

/**
 * The push-pull message written by hand: it carries the whole member table (10,000 records in a
 * large cluster), and building one array per record cost more than the protocol work around
 * it. Byte for byte what the generic `packCopy` (and msgpackr) would produce for
 * [8, join, reply, source, [[node, host, port, incarnation, status, [k, v, ...], payload], ...]]
 * (a test checks this), in the smallest msgpack forms.
 */
function encodePushPull(msg: PushPullMessage, framed = false): Uint8Array {
  const members = msg.members;
  // Upper bound: UTF-8 is at most 3 bytes per UTF-16 unit; each header at most 5 bytes. Records
  // in a row often share one state object (in a simulation, all of them): it is measured once.
  let bound = 16 + 3 * msg.source.length + 5;
  let measured: MemberState | null = null;
  let stateBound = 0;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    bound += 1 + 8 + 3 * (m.node.length + m.addr.host.length) + 3 + 5 + 1 + 5;
    if (m.state !== measured) {
      measured = m.state;
      stateBound = 0;
      const tags = m.state.tags;
      for (const k in tags) stateBound += 10 + 3 * (k.length + (tags[k] as string).length);
      const payload = m.state.payload;
      stateBound += payload === null ? 1 : 5 + payload.length;
    }
    bound += stateBound;
  }
  const w = new Writer(bound + 2);
  if (framed) {
    w.byte(PROTOCOL_VERSION);
    w.arrayHeader(1);
  }
  w.arrayHeader(5);
  w.uint(CODE_PUSH_PULL);
  w.byte(msg.join ? 0xc3 : 0xc2);
  w.byte(msg.reply ? 0xc3 : 0xc2);
  w.str(msg.source);
  w.arrayHeader(members.length);
  // A state object already written for the record before is copied from there (it is immutable,
  // and its bytes depend on nothing else).
  let written: MemberState | null = null;
  let stateStart = 0;
  let stateEnd = 0;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    w.arrayHeader(7);
    w.str(m.node);
    w.str(m.addr.host);
    w.uint(m.addr.port);
    w.uint(m.incarnation);
    w.uint(statusCode(m.status));
    if (m.state === written) {
      w.repeat(stateStart, stateEnd);
      continue;
    }
    written = m.state;
    stateStart = w.offset;
    const tags = m.state.tags;
    const keys = Object.keys(tags);
    w.arrayHeader(keys.length * 2);
    for (const k of keys) {
      w.str(k);
      w.str(tags[k] as string);
    }
    const payload = m.state.payload;
    if (payload === null) w.byte(0xc0);
    else w.bin(payload);
    stateEnd = w.offset;
  }
  return w.finish();
}

/** Scratch space the Writer reuses, grown on demand, so that encoding allocates only its result. */
let scratch = Buffer.allocUnsafe(64 * 1024);
/** The same memory as a plain Uint8Array: what `finish` copies out is a Uint8Array, not a Buffer. */
let scratchBytes = new Uint8Array(scratch.buffer, scratch.byteOffset, scratch.length);

/** Big-endian 16 and 32-bit writes without Buffer's argument checks (the bound is known). */
function put16(buf: Uint8Array, at: number, n: number): void {
  buf[at] = n >>> 8;
  buf[at + 1] = n;
}

function put32(buf: Uint8Array, at: number, n: number): void {
  buf[at] = n >>> 24;
  buf[at + 1] = n >>> 16;
  buf[at + 2] = n >>> 8;
  buf[at + 3] = n;
}

/** A msgpack writer into a reused buffer of at least the given bound. */
class Writer {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(bound: number) {
    if (scratch.length < bound) {
      scratch = Buffer.allocUnsafe(Math.ceil(bound * 1.25));
      scratchBytes = new Uint8Array(scratch.buffer, scratch.byteOffset, scratch.length);
    }
    this.buf = scratch;
  }

  /** Bytes written so far. */
  get offset(): number {
    return this.pos;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** Writes again the bytes written at [start, end). */
  repeat(start: number, end: number): void {
    const buf = this.buf;
    const n = end - start;
    if (n <= 16) {
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = buf[i]!;
    } else {
      buf.copyWithin(this.pos, start, end);
    }
    this.pos += n;
  }

  uint(n: number): void {
    const buf = this.buf;
    if (n < 0x80) buf[this.pos++] = n;
    else if (n < 0x100) {
      buf[this.pos++] = 0xcc;
      buf[this.pos++] = n;
    } else if (n < 0x10000) {
      buf[this.pos++] = 0xcd;
      put16(buf, this.pos, n);
      this.pos += 2;
    } else {
      buf[this.pos++] = 0xce;
      put32(buf, this.pos, n);
      this.pos += 4;
    }
  }

  arrayHeader(n: number): void {
    const buf = this.buf;
    if (n < 16) buf[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      buf[this.pos++] = 0xdc;
      put16(buf, this.pos, n);
      this.pos += 2;
    } else {
      buf[this.pos++] = 0xdd;
      put32(buf, this.pos, n);
      this.pos += 4;
    }
  }

  str(s: string): void {
    const buf = this.buf;
    const n = s.length;
    if (n < 32) {
      // Short strings (names, hosts, tags) are almost always ASCII: write them here rather than
      // crossing into the UTF-8 encoder, which costs more than the copy for a few bytes.
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[this.pos] = 0xa0 | n;
        this.pos = p;
        return;
      }
    }
    // Reserve the largest header that the byte length could need, write, then fix up.
    const maxBytes = s.length * 3;
    const headerBytes = maxBytes < 32 ? 1 : maxBytes < 0x100 ? 2 : maxBytes < 0x10000 ? 3 : 5;
    const start = this.pos + headerBytes;
    const len = buf.write(s, start, 'utf8');
    const exactHeader = len < 32 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
    if (exactHeader !== headerBytes) buf.copy(buf, this.pos + exactHeader, start, start + len);
    const p = this.pos;
    if (exactHeader === 1) buf[p] = 0xa0 | len;
    else if (exactHeader === 2) {
      buf[p] = 0xd9;
      buf[p + 1] = len;
    } else if (exactHeader === 3) {
      buf[p] = 0xda;
      put16(buf, p + 1, len);
    } else {
      buf[p] = 0xdb;
      put32(buf, p + 1, len);
    }
    this.pos = p + exactHeader + len;
  }

  bin(b: Uint8Array): void {
    const buf = this.buf;
    const n = b.length;
    if (n < 0x100) {
      buf[this.pos++] = 0xc4;
      buf[this.pos++] = n;
    } else if (n < 0x10000) {
      buf[this.pos++] = 0xc5;
      put16(buf, this.pos, n);
      this.pos += 2;
    } else {
      buf[this.pos++] = 0xc6;
      put32(buf, this.pos, n);
      this.pos += 4;
    }
    buf.set(b, this.pos);
    this.pos += n;
  }

  /** Any number as msgpackr writes it: a 32-bit integer in its smallest form, anything else a float64. */
  number(n: number): void {
    if (n >>> 0 === n) {
      this.uint(n);
      return;
    }
    const buf = this.buf;
    if (n >> 0 === n) {
      if (n >= -0x20) buf[this.pos++] = 0x100 + n;
      else if (n >= -0x80) {
        buf[this.pos++] = 0xd0;
        buf[this.pos++] = n + 0x100;
      } else if (n >= -0x8000) {
        buf[this.pos++] = 0xd1;
        put16(buf, this.pos, n & 0xffff);
        this.pos += 2;
      } else {
        buf[this.pos++] = 0xd2;
        put32(buf, this.pos, n >>> 0);
        this.pos += 4;
      }
      return;
    }
    buf[this.pos++] = 0xcb;
    buf.writeDoubleBE(n, this.pos);
    this.pos += 8;
  }

  /** A value of the subset, arrays recursively. */
  value(v: Packable): void {
    if (v === null) this.byte(0xc0);
    else if (v === true) this.byte(0xc3);
    else if (v === false) this.byte(0xc2);
    else if (typeof v === 'number') this.number(v);
    else if (typeof v === 'string') this.str(v);
    else if (v instanceof Uint8Array) this.bin(v);
    else {
      this.arrayHeader(v.length);
      for (let i = 0; i < v.length; i++) this.value(v[i]!);
    }
  }

  /** The written bytes, copied out of the scratch buffer. */
  finish(): Uint8Array {
    return scratchBytes.slice(0, this.pos);
  }
}

/** What the encoder writes: the msgpack subset the protocol uses (plus floats, which it never sends). */
type Packable = null | boolean | number | string | Uint8Array | readonly Packable[];

/** An upper bound of a value's encoded size (UTF-8 is at most 3 bytes per UTF-16 unit). */
function packedBound(v: Packable): number {
  if (typeof v === 'string') return 5 + 3 * v.length;
  if (v instanceof Uint8Array) return 5 + v.length;
  if (Array.isArray(v)) {
    let n = 5;
    for (let i = 0; i < v.length; i++) n += packedBound(v[i]!);
    return n;
  }
  return 9;
}

/** A value as msgpack, in a fresh array of its own (never a view into the scratch buffer). */
function packCopy(value: Packable): Uint8Array {
  const w = new Writer(packedBound(value));
  w.value(value);
  return w.finish();
}

/**
 * One message as msgpack bytes (an array: type code, then the fields positionally):
 *
 * | type      | layout                                                                    |
 * |-----------|---------------------------------------------------------------------------|
 * | ping      | [1, seq, target, source, sourceHost, sourcePort]                          |
 * | ping-req  | [2, seq, target, targetHost, targetPort, source, sourceHost, sourcePort, nack] |
 * | ack       | [3, seq, digest]                                                          |
 * | nack      | [4, seq]                                                                  |
 * | alive     | [5, node, host, port, incarnation, tags, payload]                         |
 * | suspect   | [6, node, incarnation, from]                                              |
 * | dead      | [7, node, incarnation, from]                                              |
 * | push-pull | [8, join, reply, source, [member...]]                                     |
 *
 * A member is [node, host, port, incarnation, status, tags, payload]; status is 0 alive,
 * 1 suspect, 2 dead, 3 left; tags is [k1, v1, k2, v2, ...]; payload is bin or nil.
 *
 * The input is trusted (it is ours): it is not validated here. Messages that `decodePacket` would
 * reject (seq or incarnation outside 0..0xFFFFFFFF, port outside 1..65535, empty or oversized
 * names, strings that are not well-formed UTF-16) encode, but are dropped by the receiver.
 */
export function encodeMessage(msg: Message): Uint8Array {
  switch (msg.type) {
    case 'ping':
      return packCopy([CODE_PING, msg.seq, msg.target, msg.source, msg.sourceAddr.host, msg.sourceAddr.port]);
    case 'ping-req':
      return packCopy([
        CODE_PING_REQ,
        msg.seq,
        msg.target,
        msg.targetAddr.host,
        msg.targetAddr.port,
        msg.source,
        msg.sourceAddr.host,
        msg.sourceAddr.port,
        msg.nack,
      ]);
    case 'ack':
      return packCopy([CODE_ACK, msg.seq, msg.digest]);
    case 'nack':
      return packCopy([CODE_NACK, msg.seq]);
    case 'alive':
      return packCopy([
        CODE_ALIVE,
        msg.node,
        msg.addr.host,
        msg.addr.port,
        msg.incarnation,
        flatTags(msg.state.tags),
        msg.state.payload,
      ]);
    case 'suspect':
      return packCopy([CODE_SUSPECT, msg.node, msg.incarnation, msg.from]);
    case 'dead':
      return packCopy([CODE_DEAD, msg.node, msg.incarnation, msg.from]);
    case 'push-pull':
      return encodePushPull(msg);
  }
}

/** Bytes of a string's encoding: header and UTF-8. */
function strBytes(s: string): number {
  const len = Buffer.byteLength(s, 'utf8');
  return (len < 32 ? 1 : len < 0x100 ? 2 : len < 0x1_0000 ? 3 : 5) + len;
}

/** Size of the msgpack array header for `count` elements. */
function arrayHeaderBytes(count: number): number {
  return count < 16 ? 1 : count < 0x1_0000 ? 3 : 5;
}

/** Bytes `encodePacket` adds to `count` parts: the version byte and the array header. */
export function packetOverheadBytes(count: number): number {
  return 1 + arrayHeaderBytes(count);
}

/**
 * A packet from messages encoded by `encodeMessage`: the version byte, a msgpack array header for
 * `parts.length` elements, then the parts as they are. Its length is exactly
 * `packetOverheadBytes(parts.length) + sum of part lengths`.
 *
 * Packets are short-lived (built, sent, dropped), so the result is a plain `Uint8Array` view into
 * Node's Buffer pool: a fresh `Uint8Array` over 64 bytes costs an off-heap allocation, about fifteen
 * times as much. Every byte of it is written; its `.buffer` is shared with other pool users.
 */
export function encodePacket(parts: readonly Uint8Array[]): Uint8Array {
  const count = parts.length;
  let total = packetOverheadBytes(count);
  for (let i = 0; i < count; i++) total += parts[i]!.length;
  const pooled = Buffer.allocUnsafe(total);
  // A plain Uint8Array view, so callers (and deep-equality in tests) never see a Buffer.
  const out = new Uint8Array(pooled.buffer, pooled.byteOffset, total);
  out[0] = PROTOCOL_VERSION;
  let pos: number;
  if (count < 16) {
    out[1] = 0x90 | count;
    pos = 2;
  } else if (count < 0x1_0000) {
    out[1] = 0xdc;
    out[2] = count >>> 8;
    out[3] = count & 0xff;
    pos = 4;
  } else {
    out[1] = 0xdd;
    out[2] = count >>> 24;
    out[3] = (count >>> 16) & 0xff;
    out[4] = (count >>> 8) & 0xff;
    out[5] = count & 0xff;
    pos = 6;
  }
  for (let i = 0; i < count; i++) {
    const part = parts[i]!;
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/**
 * Bytes a member state adds to an alive message (its tags array and its payload), used to keep
 * the local state small enough for an alive message to fit the packet budget.
 */
export function encodedStateSize(state: MemberState): number {
  const tags = state.tags;
  let n = 0;
  let count = 0;
  for (const k in tags) {
    n += strBytes(k) + strBytes(tags[k]!);
    count += 2;
  }
  const payload = state.payload;
  n += arrayHeaderBytes(count);
  if (payload === null) return n + 1;
  const len = payload.length;
  return n + (len < 0x100 ? 2 : len < 0x1_0000 ? 3 : 5) + len;
}

// ---------------------------------------------------------------------------------------------
// Decoding: structural pre-scan
// ---------------------------------------------------------------------------------------------

/** Array nesting: packet, message, push-pull members, member record, tags. */
const MAX_DEPTH = 5;
const scanStack = new Float64Array(MAX_DEPTH);

const SCAN_TOO_MANY_MESSAGES = -2;
const SCAN_MALFORMED = -1;
/** Set when `scanBody` fails; read at once by `decodePacket`. */
let scanDetail = '';

function scanMalformed(detail: string): number {
  scanDetail = detail;
  return SCAN_MALFORMED;
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Walks the msgpack body after the version byte without building anything. Returns the number of
 * messages, or SCAN_MALFORMED / SCAN_TOO_MANY_MESSAGES. Admits only nil, bool, int (≤ 32 bits),
 * str, bin and array, at most MAX_DEPTH arrays deep, every declared length within the buffer,
 * exactly one top-level array and no trailing bytes. After it succeeds the whole tree has fewer
 * values than the packet has bytes, so decoding allocates in proportion to the packet.
 */
function scanBody(b: Uint8Array, maxMessages: number): number {
  const end = b.length;
  let pos = 1;
  if (pos >= end) return scanMalformed('no body after the version byte');
  const first = b[pos++]!;
  let count: number;
  if (first >= 0x90 && first <= 0x9f) {
    count = first & 0x0f;
  } else if (first === 0xdc) {
    if (pos + 2 > end) return scanMalformed('truncated array header');
    count = (b[pos]! << 8) | b[pos + 1]!;
    pos += 2;
  } else if (first === 0xdd) {
    if (pos + 4 > end) return scanMalformed('truncated array header');
    count = b[pos]! * 0x100_0000 + ((b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!);
    pos += 4;
  } else {
    return scanMalformed(`body is not an array (first byte ${hex(first)})`);
  }
  if (count > maxMessages) {
    scanDetail = `${count} messages, at most ${maxMessages} allowed`;
    return SCAN_TOO_MANY_MESSAGES;
  }
  if (count > end - pos) return scanMalformed(`array of ${count} declared in ${end - pos} bytes`);

  const stack = scanStack;
  let depth = 0;
  stack[0] = count;
  while (true) {
    const left = stack[depth]!;
    if (left === 0) {
      if (depth === 0) break;
      depth--;
      continue;
    }
    stack[depth] = left - 1;
    if (pos >= end) return scanMalformed('truncated');
    const t = b[pos++]!;
    if (t < 0x80 || t >= 0xe0) continue; // positive or negative fixint
    let n: number;
    let isArray = false;
    if (t < 0x90) {
      return scanMalformed(`map at offset ${pos - 1} (maps are never used)`);
    } else if (t < 0xa0) {
      n = t & 0x0f;
      isArray = true;
    } else if (t < 0xc0) {
      n = t & 0x1f; // fixstr
    } else {
      switch (t) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          continue;
        case 0xcc: // uint8
        case 0xd0: // int8
          n = 1;
          break;
        case 0xcd: // uint16
        case 0xd1: // int16
          n = 2;
          break;
        case 0xce: // uint32
        case 0xd2: // int32
          n = 4;
          break;
        case 0xc4: // bin8
        case 0xd9: // str8
          if (pos + 1 > end) return scanMalformed('truncated length');
          n = b[pos]!;
          pos += 1;
          break;
        case 0xc5: // bin16
        case 0xda: // str16
          if (pos + 2 > end) return scanMalformed('truncated length');
          n = (b[pos]! << 8) | b[pos + 1]!;
          pos += 2;
          break;
        case 0xc6: // bin32
        case 0xdb: // str32
          if (pos + 4 > end) return scanMalformed('truncated length');
          n = b[pos]! * 0x100_0000 + ((b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!);
          pos += 4;
          break;
        case 0xdc: // array16
          if (pos + 2 > end) return scanMalformed('truncated length');
          n = (b[pos]! << 8) | b[pos + 1]!;
          pos += 2;
          isArray = true;
          break;
        case 0xdd: // array32
          if (pos + 4 > end) return scanMalformed('truncated length');
          n = b[pos]! * 0x100_0000 + ((b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!);
          pos += 4;
          isArray = true;
          break;
        default:
          // 0xc1 (never used), ext*, fixext*, float32/64, (u)int64, map16/32
          return scanMalformed(`unsupported msgpack type ${hex(t)} at offset ${pos - 1}`);
      }
    }
    if (n > end - pos) return scanMalformed(`length ${n} at offset ${pos} runs past the end (${end} bytes)`);
    if (isArray) {
      if (depth + 1 >= MAX_DEPTH) return scanMalformed(`arrays nested deeper than ${MAX_DEPTH}`);
      depth++;
      stack[depth] = n;
    } else {
      pos += n;
    }
  }
  if (pos !== end) return scanMalformed(`${end - pos} trailing bytes after the body`);
  return count;
}

// ---------------------------------------------------------------------------------------------
// Decoding: validation
// ---------------------------------------------------------------------------------------------

/** Set when a message fails validation; read at once by `decodePacket`. */
let failCode: DecodeErrorCode = 'invalid-message';
let failDetail = '';

function fail(code: DecodeErrorCode, detail: string): undefined {
  failCode = code;
  failDetail = detail;
  return undefined;
}

function invalid(typeCode: number, field: string): undefined {
  return fail('invalid-message', `${TYPE_NAMES[typeCode] ?? '?'}: invalid ${field}`);
}

/** A string of at most `maxBytes` UTF-8 bytes; measures bytes only when the length can't decide. */
function isStr(v: unknown, maxBytes: number): v is string {
  if (typeof v !== 'string') return false;
  const n = v.length;
  if (n * 3 <= maxBytes) return true;
  if (n > maxBytes) return false;
  return Buffer.byteLength(v, 'utf8') <= maxBytes;
}

/** A non-empty string of at most `maxBytes` UTF-8 bytes. */
function isName(v: unknown, maxBytes: number): v is string {
  return typeof v === 'string' && v.length > 0 && isStr(v, maxBytes);
}

/** An integer in 0..0xFFFFFFFF. */
function isU32(v: unknown): v is number {
  return typeof v === 'number' && v >>> 0 === v;
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && v >= 1 && v <= 65535 && (v | 0) === v;
}

/** Decoded tags, or the reason they are invalid. */
function decodeTags(v: unknown, limits: DecodeLimits): Record<string, string> | string {
  if (!Array.isArray(v)) return 'tags (not an array)';
  const n = v.length;
  if ((n & 1) !== 0) return 'tags (odd length)';
  if (n > limits.maxTags * 2) return `tags (${n / 2} tags, at most ${limits.maxTags})`;
  const tags: Record<string, string> = {};
  for (let i = 0; i < n; i += 2) {
    const key: unknown = v[i];
    const value: unknown = v[i + 1];
    if (!isStr(key, limits.maxTagKeyBytes)) return `tags (key ${i / 2})`;
    if (!isStr(value, limits.maxTagValueBytes)) return `tags (value ${i / 2})`;
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return `tags (reserved key ${key})`;
    if (Object.hasOwn(tags, key)) return `tags (duplicate key ${JSON.stringify(key)})`;
    tags[key] = value;
  }
  return tags;
}

/** A member state under construction: its payload is filled in once the whole packet is valid. */
interface PendingState {
  tags: Record<string, string>;
  payload: Uint8Array | null;
}

/**
 * Payloads waiting to be copied out of the packet, with the states they belong to. Copying waits
 * until every message is valid so that payloads share a few slabs: a fresh `Uint8Array` over 64
 * bytes is an off-heap allocation (about a microsecond each), which would dominate a 10,000-member
 * push-pull.
 */
const pendingSources: Uint8Array[] = [];
const pendingStates: PendingState[] = [];

/** Most bytes in one payload slab; a retained payload keeps at most this much memory (or itself). */
const SLAB_BYTES = 64 * 1024;

/** Checks a decoded payload field and builds the state; undefined if the payload is invalid. */
function decodeState(tags: Record<string, string>, v: unknown, limits: DecodeLimits): PendingState | undefined {
  if (v === null) return { tags, payload: null };
  // The pre-scan admits no extensions, so a Uint8Array here is always a msgpack bin.
  if (!(v instanceof Uint8Array) || v.length > limits.maxPayloadBytes) return undefined;
  const state: PendingState = { tags, payload: null };
  pendingSources.push(v);
  pendingStates.push(state);
  return state;
}

/** Copies the pending payloads into slabs of at most SLAB_BYTES (or one payload) and assigns them. */
function flushPayloads(): void {
  const sources = pendingSources;
  const states = pendingStates;
  const n = sources.length;
  let i = 0;
  while (i < n) {
    let size = sources[i]!.length;
    let j = i + 1;
    while (j < n && size + sources[j]!.length <= SLAB_BYTES) size += sources[j++]!.length;
    const slab = new Uint8Array(size);
    let offset = 0;
    for (; i < j; i++) {
      const source = sources[i]!;
      const length = source.length;
      slab.set(source, offset);
      states[i]!.payload = slab.subarray(offset, offset + length);
      offset += length;
    }
  }
  clearPending();
}

function clearPending(): void {
  pendingSources.length = 0;
  pendingStates.length = 0;
}

function decodeOne(m: unknown, index: number, limits: DecodeLimits): Message | undefined {
  if (!Array.isArray(m)) return fail('invalid-message', `message ${index} is not an array`);
  const code: unknown = m[0];
  const len = m.length;
  switch (code) {
    case CODE_PING: {
      if (len !== 6) return invalid(code, `length ${len}`);
      const seq: unknown = m[1];
      const target: unknown = m[2];
      const source: unknown = m[3];
      const host: unknown = m[4];
      const port: unknown = m[5];
      if (!isU32(seq)) return invalid(code, 'seq');
      if (!isName(target, limits.maxNameBytes)) return invalid(code, 'target');
      if (!isName(source, limits.maxNameBytes)) return invalid(code, 'source');
      if (!isName(host, limits.maxHostBytes)) return invalid(code, 'sourceAddr.host');
      if (!isPort(port)) return invalid(code, 'sourceAddr.port');
      return { type: 'ping', seq, target, source, sourceAddr: { host, port } };
    }
    case CODE_PING_REQ: {
      if (len !== 9) return invalid(code, `length ${len}`);
      const seq: unknown = m[1];
      const target: unknown = m[2];
      const targetHost: unknown = m[3];
      const targetPort: unknown = m[4];
      const source: unknown = m[5];
      const sourceHost: unknown = m[6];
      const sourcePort: unknown = m[7];
      const nack: unknown = m[8];
      if (!isU32(seq)) return invalid(code, 'seq');
      if (!isName(target, limits.maxNameBytes)) return invalid(code, 'target');
      if (!isName(targetHost, limits.maxHostBytes)) return invalid(code, 'targetAddr.host');
      if (!isPort(targetPort)) return invalid(code, 'targetAddr.port');
      if (!isName(source, limits.maxNameBytes)) return invalid(code, 'source');
      if (!isName(sourceHost, limits.maxHostBytes)) return invalid(code, 'sourceAddr.host');
      if (!isPort(sourcePort)) return invalid(code, 'sourceAddr.port');
      if (typeof nack !== 'boolean') return invalid(code, 'nack');
      return {
        type: 'ping-req',
        seq,
        target,
        targetAddr: { host: targetHost, port: targetPort },
        source,
        sourceAddr: { host: sourceHost, port: sourcePort },
        nack,
      };
    }
    case CODE_ACK: {
      if (len !== 3) return invalid(code, `length ${len}`);
      const seq: unknown = m[1];
      const digest: unknown = m[2];
      if (!isU32(seq)) return invalid(code, 'seq');
      if (!isU32(digest)) return invalid(code, 'digest');
      return { type: 'ack', seq, digest };
    }
    case CODE_NACK: {
      if (len !== 2) return invalid(code, `length ${len}`);
      const seq: unknown = m[1];
      if (!isU32(seq)) return invalid(code, 'seq');
      return { type: 'nack', seq };
    }
    case CODE_ALIVE: {
      if (len !== 7) return invalid(code, `length ${len}`);
      const node: unknown = m[1];
      const host: unknown = m[2];
      const port: unknown = m[3];
      const incarnation: unknown = m[4];
      if (!isName(node, limits.maxNameBytes)) return invalid(code, 'node');
      if (!isName(host, limits.maxHostBytes)) return invalid(code, 'addr.host');
      if (!isPort(port)) return invalid(code, 'addr.port');
      if (!isU32(incarnation)) return invalid(code, 'incarnation');
      const tags = decodeTags(m[5], limits);
      if (typeof tags === 'string') return invalid(code, `state.${tags}`);
      const state = decodeState(tags, m[6], limits);
      if (state === undefined) return invalid(code, 'state.payload');
      return { type: 'alive', node, addr: { host, port }, incarnation, state };
    }
    case CODE_SUSPECT:
    case CODE_DEAD: {
      if (len !== 4) return invalid(code, `length ${len}`);
      const node: unknown = m[1];
      const incarnation: unknown = m[2];
      const from: unknown = m[3];
      if (!isName(node, limits.maxNameBytes)) return invalid(code, 'node');
      if (!isU32(incarnation)) return invalid(code, 'incarnation');
      if (!isName(from, limits.maxNameBytes)) return invalid(code, 'from');
      return code === CODE_SUSPECT
        ? { type: 'suspect', node, incarnation, from }
        : { type: 'dead', node, incarnation, from };
    }
    case CODE_PUSH_PULL: {
      if (len !== 5) return invalid(code, `length ${len}`);
      const join: unknown = m[1];
      const reply: unknown = m[2];
      const source: unknown = m[3];
      const records: unknown = m[4];
      if (typeof join !== 'boolean') return invalid(code, 'join');
      if (typeof reply !== 'boolean') return invalid(code, 'reply');
      if (!isName(source, limits.maxNameBytes)) return invalid(code, 'source');
      if (!Array.isArray(records)) return invalid(code, 'members');
      const count = records.length;
      if (count > limits.maxMembers) {
        return fail('too-many-members', `push-pull: ${count} members, at most ${limits.maxMembers} allowed`);
      }
      const members = new Array<MemberRecord>(count);
      for (let i = 0; i < count; i++) {
        const member = decodeMember(records[i], limits);
        if (typeof member === 'string') return invalid(code, `members[${i}].${member}`);
        members[i] = member;
      }
      return { type: 'push-pull', join, reply, source, members };
    }
    default:
      return fail(
        'invalid-message',
        `message ${index} has unknown type code ${typeof code === 'number' ? code : `of type ${typeof code}`}`,
      );
  }
}

/** A decoded member record, or the name of its invalid field. */
function decodeMember(r: unknown, limits: DecodeLimits): MemberRecord | string {
  if (!Array.isArray(r)) return 'record (not an array)';
  if (r.length !== 7) return `record (length ${r.length})`;
  const node: unknown = r[0];
  const host: unknown = r[1];
  const port: unknown = r[2];
  const incarnation: unknown = r[3];
  const status: unknown = r[4];
  if (!isName(node, limits.maxNameBytes)) return 'node';
  if (!isName(host, limits.maxHostBytes)) return 'addr.host';
  if (!isPort(port)) return 'addr.port';
  if (!isU32(incarnation)) return 'incarnation';
  if (typeof status !== 'number') return 'status';
  const statusName = STATUSES[status];
  if (statusName === undefined) return 'status';
  const tags = decodeTags(r[5], limits);
  if (typeof tags === 'string') return `state.${tags}`;
  const state = decodeState(tags, r[6], limits);
  if (state === undefined) return 'state.payload';
  const addr: Address = { host, port };
  return { node, addr, incarnation, status: statusName, state };
}

function failure(code: DecodeErrorCode, detail: string): DecodeResult {
  return { ok: false, error: { code, detail } };
}

/**
 * Decodes and validates a packet. Never throws: any problem gives `{ok: false, error}` and no
 * message of the packet is returned (one invalid message invalidates the packet). Checks, in
 * order: length ('empty', 'too-large' against `limits.maxPacketBytes`, before any decoding), the
 * version byte ('bad-version'), the msgpack structure ('malformed'), the message count
 * ('too-many-messages'), then every message ('invalid-message', 'too-many-members').
 * Returned messages are fresh plain objects. Payloads are copies, never views into `bytes`; the
 * payloads of one packet share slabs of up to 64 KiB, so use `byteOffset`/`byteLength` (not the
 * whole `.buffer`) if you reach for the underlying ArrayBuffer.
 */
export function decodePacket(bytes: Uint8Array, limits?: Partial<DecodeLimits>): DecodeResult {
  return decode(bytes, limits, true);
}

/**
 * `decodePacket` without its direct push-pull path: every packet through `readTree` and the
 * field-by-field validation. The reference the fast path is tested against; same results.
 */
export function decodePacketReference(bytes: Uint8Array, limits?: Partial<DecodeLimits>): DecodeResult {
  return decode(bytes, limits, false);
}

function decode(bytes: Uint8Array, limits: Partial<DecodeLimits> | undefined, direct: boolean): DecodeResult {
  const lim: DecodeLimits = limits === undefined ? DEFAULT_DECODE_LIMITS : { ...DEFAULT_DECODE_LIMITS, ...limits };
  if (!(bytes instanceof Uint8Array)) return failure('malformed', 'packet is not a Uint8Array');
  const size = bytes.length;
  if (size === 0) return failure('empty', 'empty packet');
  if (size > lim.maxPacketBytes) {
    return failure('too-large', `packet of ${size} bytes, at most ${lim.maxPacketBytes} allowed`);
  }
  const version = bytes[0]!;
  if (version !== PROTOCOL_VERSION) {
    return failure('bad-version', `protocol version ${version}, expected ${PROTOCOL_VERSION}`);
  }
  const count = scanBody(bytes, lim.maxMessages);
  if (count === SCAN_MALFORMED) return failure('malformed', scanDetail);
  if (count === SCAN_TOO_MANY_MESSAGES) return failure('too-many-messages', scanDetail);

  // A packet that is one push-pull (a full-state exchange, up to 10^4 records) is read straight
  // from the bytes. Anything that path does not take as plainly valid goes the general way below,
  // which then gives the same message or says exactly what is wrong.
  if (direct && count === 1 && bytes[1] === 0x91 && bytes[2] === 0x95 && bytes[3] === CODE_PUSH_PULL) {
    clearPending();
    try {
      const message = readPushPull(bytes, lim);
      if (message !== undefined) {
        flushPayloads();
        return { ok: true, messages: [message] };
      }
    } catch {
      // Unreachable by construction (reads stay inside the scanned structure); the general path decides.
    } finally {
      clearPending();
    }
  }

  let root: unknown;
  try {
    root = readTree(bytes);
  } catch (error) {
    return failure('malformed', `msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(root) || root.length !== count) return failure('malformed', 'body is not the scanned array');

  const messages = new Array<Message>(count);
  clearPending();
  try {
    for (let i = 0; i < count; i++) {
      const message = decodeOne(root[i], i, lim);
      if (message === undefined) return failure(failCode, failDetail);
      messages[i] = message;
    }
    flushPayloads();
  } catch (error) {
    // Unreachable by construction; kept so that a validation bug drops the packet instead of throwing.
    return failure('invalid-message', `validation: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearPending(); // never keep a view into the caller's packet
  }
  return { ok: true, messages };
}

// ---------------------------------------------------------------------------------------------
// Decoding: the tree of a scanned packet
// ---------------------------------------------------------------------------------------------

/** Decodes any UTF-8, keeping a leading U+FEFF (a default TextDecoder would drop it). */
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The body of a packet that scanBody accepted, as plain values: arrays, strings, numbers,
 * booleans, null, and bin as views into `b` (decodeState copies the ones it keeps). Strings that
 * are not valid UTF-8 get U+FFFD for each bad sequence. Throws only on a type scanBody refuses,
 * which cannot reach it.
 */
function readTree(b: Uint8Array): unknown {
  const r = cursor;
  r.pos = 1;
  return readNode(r, b);
}

/**
 * The body of a packet as plain values, through the same pre-scan and tree reader as
 * `decodePacket` but with no message validation: what the tests compare with msgpackr.
 */
export function decodeBodyTree(bytes: Uint8Array): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly detail: string } {
  if (bytes.length === 0 || bytes[0] !== PROTOCOL_VERSION) return { ok: false, detail: 'not a packet' };
  const count = scanBody(bytes, Number.MAX_SAFE_INTEGER);
  if (count < 0) return { ok: false, detail: scanDetail };
  return { ok: true, value: readTree(bytes) };
}

function readNode(r: Cursor, b: Uint8Array): unknown {
  const p = r.pos;
  const t = b[p]!;
  if (t < 0x80) {
    r.pos = p + 1;
    return t;
  }
  if (t >= 0xe0) {
    r.pos = p + 1;
    return t - 0x100;
  }
  if (t >= 0x90 && t < 0xa0) {
    r.pos = p + 1;
    return readItems(r, b, t & 0x0f);
  }
  if (t >= 0xa0 && t < 0xc0) return readString(r, b, p + 1, t & 0x1f);
  switch (t) {
    case 0xc0:
      r.pos = p + 1;
      return null;
    case 0xc2:
      r.pos = p + 1;
      return false;
    case 0xc3:
      r.pos = p + 1;
      return true;
    case 0xcc:
      r.pos = p + 2;
      return b[p + 1]!;
    case 0xcd:
      r.pos = p + 3;
      return (b[p + 1]! << 8) | b[p + 2]!;
    case 0xce:
      r.pos = p + 5;
      return u32At(b, p + 1);
    case 0xd0:
      r.pos = p + 2;
      return (b[p + 1]! << 24) >> 24;
    case 0xd1:
      r.pos = p + 3;
      return (((b[p + 1]! << 8) | b[p + 2]!) << 16) >> 16;
    case 0xd2:
      r.pos = p + 5;
      return u32At(b, p + 1) | 0;
    case 0xc4:
      return readBin(r, b, p + 2, b[p + 1]!);
    case 0xc5:
      return readBin(r, b, p + 3, (b[p + 1]! << 8) | b[p + 2]!);
    case 0xc6:
      return readBin(r, b, p + 5, u32At(b, p + 1));
    case 0xd9:
      return readString(r, b, p + 2, b[p + 1]!);
    case 0xda:
      return readString(r, b, p + 3, (b[p + 1]! << 8) | b[p + 2]!);
    case 0xdb:
      return readString(r, b, p + 5, u32At(b, p + 1));
    case 0xdc:
      r.pos = p + 3;
      return readItems(r, b, (b[p + 1]! << 8) | b[p + 2]!);
    case 0xdd:
      r.pos = p + 5;
      return readItems(r, b, u32At(b, p + 1));
    default:
      throw new Error(`unsupported msgpack type ${hex(t)} at offset ${p}`);
  }
}

function u32At(b: Uint8Array, at: number): number {
  return b[at]! * 0x100_0000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

function readItems(r: Cursor, b: Uint8Array, n: number): unknown[] {
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = readNode(r, b);
  return out;
}

function readBin(r: Cursor, b: Uint8Array, start: number, n: number): Uint8Array {
  r.pos = start + n;
  return b.subarray(start, start + n);
}

function readString(r: Cursor, b: Uint8Array, start: number, n: number): string {
  const end = start + n;
  r.pos = end;
  if (n <= SHORT_STRING_BYTES) {
    const codes = charCodes[n]!;
    let i = 0;
    for (; i < n; i++) {
      const c = b[start + i]!;
      if (c >= 0x80) break;
      codes[i] = c;
    }
    if (i === n) return String.fromCharCode.apply(null, codes);
  }
  return utf8Decoder.decode(b.subarray(start, end));
}

// ---------------------------------------------------------------------------------------------
// Decoding: a push-pull straight from the bytes
// ---------------------------------------------------------------------------------------------

/** Where readPushPull and its helpers are in the packet (an object field: cheaper than a module-level let). */
class Cursor {
  pos = 0;
}
const cursor = new Cursor();

/** Strings of up to this many bytes are built from char codes (cheaper than a decoder call). */
const SHORT_STRING_BYTES = 32;
/** Char-code arrays by exact length, reused to build short strings. */
const charCodes: number[][] = Array.from({ length: SHORT_STRING_BYTES + 1 }, (_, n) => new Array<number>(n).fill(0));
const asciiDecoder = new TextDecoder('utf-8');

/**
 * An ASCII str of at most `maxBytes` bytes at rp (at least `minBytes`), or undefined for anything
 * else (another type, a longer or shorter string, a byte over 0x7f: the general path decides).
 * For ASCII, bytes and UTF-16 units agree, so the length check is isStr's.
 */
function readAscii(r: Cursor, b: Uint8Array, minBytes: number, maxBytes: number): string | undefined {
  const rp = r.pos;
  const t = b[rp]!;
  let n: number;
  let start: number;
  if (t >= 0xa0 && t <= 0xbf) {
    n = t & 0x1f;
    start = rp + 1;
  } else if (t === 0xd9) {
    n = b[rp + 1]!;
    start = rp + 2;
  } else if (t === 0xda) {
    n = (b[rp + 1]! << 8) | b[rp + 2]!;
    start = rp + 3;
  } else {
    return undefined;
  }
  if (n < minBytes || n > maxBytes || start + n > b.length) return undefined;
  const end = start + n;
  r.pos = end;
  if (n > SHORT_STRING_BYTES) {
    for (let i = start; i < end; i++) if (b[i]! >= 0x80) return undefined;
    return asciiDecoder.decode(b.subarray(start, end));
  }
  const codes = charCodes[n]!;
  for (let i = 0; i < n; i++) {
    const c = b[start + i]!;
    if (c >= 0x80) return undefined;
    codes[i] = c;
  }
  return String.fromCharCode.apply(null, codes);
}

/** An unsigned integer (fixint, uint8/16/32) at rp, or -1 for any other type. */
function readUint(r: Cursor, b: Uint8Array): number {
  const rp = r.pos;
  const t = b[rp]!;
  if (t < 0x80) {
    r.pos = rp + 1;
    return t;
  }
  if (t === 0xcc) {
    r.pos = rp + 2;
    return b[rp + 1]!;
  }
  if (t === 0xcd) {
    r.pos = rp + 3;
    return (b[rp + 1]! << 8) | b[rp + 2]!;
  }
  if (t === 0xce) {
    r.pos = rp + 5;
    return b[rp + 1]! * 0x100_0000 + ((b[rp + 2]! << 16) | (b[rp + 3]! << 8) | b[rp + 4]!);
  }
  return -1;
}

/** An array header at rp: its length, or -1 for any other type. */
function readArrayHeader(r: Cursor, b: Uint8Array): number {
  const rp = r.pos;
  const t = b[rp]!;
  if (t >= 0x90 && t <= 0x9f) {
    r.pos = rp + 1;
    return t & 0x0f;
  }
  if (t === 0xdc) {
    r.pos = rp + 3;
    return (b[rp + 1]! << 8) | b[rp + 2]!;
  }
  if (t === 0xdd) {
    r.pos = rp + 5;
    return b[rp + 1]! * 0x100_0000 + ((b[rp + 2]! << 16) | (b[rp + 3]! << 8) | b[rp + 4]!);
  }
  return -1;
}

/**
 * The push-pull message of a packet that scanBody accepted and that holds exactly one message,
 * a push-pull (bytes 1..3 are 0x91 0x95 8), read without `readTree` or intermediate arrays: the same
 * object decodeOne builds, field for field and check for check, or undefined whenever anything is
 * other than plainly valid (non-ASCII strings, unusual integer forms, any invalid field), so that
 * the general path decides. Payloads are queued like decodeState's, as views into `b`.
 */
function readPushPull(b: Uint8Array, lim: DecodeLimits): PushPullMessage | undefined {
  const r = cursor;
  r.pos = 4;
  const join = b[r.pos++];
  if (join !== 0xc2 && join !== 0xc3) return undefined;
  const reply = b[r.pos++];
  if (reply !== 0xc2 && reply !== 0xc3) return undefined;
  const source = readAscii(r, b, 1, lim.maxNameBytes);
  if (source === undefined) return undefined;
  const count = readArrayHeader(r, b);
  if (count < 0 || count > lim.maxMembers) return undefined;
  const members = new Array<MemberRecord>(count);
  for (let i = 0; i < count; i++) {
    if (b[r.pos++] !== 0x97) return undefined;
    const node = readAscii(r, b, 1, lim.maxNameBytes);
    if (node === undefined) return undefined;
    const host = readAscii(r, b, 1, lim.maxHostBytes);
    if (host === undefined) return undefined;
    const port = readUint(r, b);
    if (port < 1 || port > 65535) return undefined;
    const incarnation = readUint(r, b);
    if (incarnation < 0) return undefined;
    const statusName = STATUSES[b[r.pos++]!];
    if (statusName === undefined) return undefined;
    const n = readArrayHeader(r, b);
    if (n < 0 || (n & 1) !== 0 || n > lim.maxTags * 2) return undefined;
    const tags: Record<string, string> = {};
    for (let k = 0; k < n; k += 2) {
      const key = readAscii(r, b, 0, lim.maxTagKeyBytes);
      if (key === undefined) return undefined;
      const value = readAscii(r, b, 0, lim.maxTagValueBytes);
      if (value === undefined) return undefined;
      if (key === '__proto__' || key === 'constructor' || key === 'prototype' || Object.hasOwn(tags, key)) return undefined;
      tags[key] = value;
    }
    let rp = r.pos;
    const t = b[rp++];
    let state: PendingState | undefined;
    if (t === 0xc0) {
      state = decodeState(tags, null, lim);
    } else {
      let len: number;
      if (t === 0xc4) {
        len = b[rp]!;
        rp += 1;
      } else if (t === 0xc5) {
        len = (b[rp]! << 8) | b[rp + 1]!;
        rp += 2;
      } else if (t === 0xc6) {
        len = b[rp]! * 0x100_0000 + ((b[rp + 1]! << 16) | (b[rp + 2]! << 8) | b[rp + 3]!);
        rp += 4;
      } else {
        return undefined;
      }
      if (rp + len > b.length) return undefined;
      state = decodeState(tags, b.subarray(rp, rp + len), lim);
      rp += len;
    }
    r.pos = rp;
    if (state === undefined) return undefined;
    members[i] = { node, addr: { host, port }, incarnation, status: statusName, state };
  }
  if (r.pos !== b.length) return undefined;
  return { type: 'push-pull', join: join === 0xc3, reply: reply === 0xc3, source, members };
}
