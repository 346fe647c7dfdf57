/**
 * The push-pull message (the full-state exchange) both ways. It carries the whole member table
 * (10,000 records in a large cluster), so it is written by hand into the scratch Writer rather
 * than through msgpackr (building one array per record cost more than the protocol work around
 * it), and read record by record straight from the packet: either into MemberRecord objects
 * (`readPushPull`), or, for the core, checked whole and then left in the packet (`readPushPullView`,
 * `PushPullRecords`), so that merging the records nobody needs (most of a converged view) builds
 * no object at all.
 */
import { DecodeFailure, invalidField } from './errors.js';
import { CODE_PUSH_PULL, MEMBER_LENGTH, PROTOCOL_VERSION, PUSH_PULL_LENGTH, STATUSES, statusCode } from './layout.js';
import type { DecodeLimits } from './limits.js';
import type { AliveState, MemberRecord, MemberStatus, PushPullMessage, PushPullRecordCursor, PushPullView } from './messages.js';
import { Reader } from './reader.js';
import { isPort, isU32 } from './validation.js';
import { Writer } from './writer.js';

/**
 * The push-pull message as msgpack, or (framed) as a whole packet holding only it, which is what
 * encodePacket([encodePushPull(msg)]) gives, written in one pass without an intermediate copy.
 * Byte for byte what msgpackr would produce for
 * [8, join, reply, source, [[node, host, port, incarnation, status, payload], ...]]
 * (a test checks this), in the smallest msgpack forms.
 */
export function encodePushPull(msg: PushPullMessage, framed = false): Uint8Array {
  const members = msg.members;
  // Upper bound: UTF-8 is at most 3 bytes per UTF-16 unit; each header at most 5 bytes. Records
  // in a row often share one state object (in a simulation, all of them): it is measured once.
  let bound = 16 + 3 * msg.source.length + 5;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    bound += 1 + 8 + 3 * (m.node.length + m.addr.host.length) + 3 + 5 + 1 + stateBytesBound(m.state);
  }
  const w = new Writer(bound + 2);
  if (framed) {
    w.byte(PROTOCOL_VERSION);
    w.arrayHeader(1);
  }
  w.arrayHeader(PUSH_PULL_LENGTH);
  w.uint(CODE_PUSH_PULL);
  w.byte(msg.join ? 0xc3 : 0xc2);
  w.byte(msg.reply ? 0xc3 : 0xc2);
  w.str(msg.source);
  w.arrayHeader(members.length);
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    w.arrayHeader(MEMBER_LENGTH);
    w.str(m.node);
    w.str(m.addr.host);
    w.uint(m.addr.port);
    w.uint(m.incarnation);
    w.uint(statusCode(m.status));
    writeState(w, m.state);
  }
  return w.finish();
}

/**
 * A member record's first three fields (node, host, port) as encodePushPull writes them, in an
 * array of their own: what a table may keep per identity, to write a push-pull from
 * (encodePushPullFrom) and to recognise a record in a packet by comparing bytes.
 */
export function encodeRecordPrefix(node: string, host: string, port: number): Uint8Array {
  const w = new Writer(16 + 3 * (node.length + host.length), true);
  w.str(node);
  w.str(host);
  w.uint(port);
  return w.finish();
}

/**
 * The records of a push-pull to write, one at a time (encodePushPullFrom): `seek(i)` makes record
 * i current. Its node, host and port are bytes already encoded (encodeRecordPrefix's), at
 * `prefix[prefixStart, prefixEnd)`; a table that keeps them per identity writes no string.
 */
export interface PushPullRecordSource {
  readonly count: number;
  seek(i: number): void;
  readonly prefix: Uint8Array;
  readonly prefixStart: number;
  readonly prefixEnd: number;
  readonly incarnation: number;
  readonly status: MemberStatus;
  readonly state: AliveState;
}

/**
 * `encodePushPull` of { join, reply, source, members } where the members are `records`' (in
 * order): the same bytes, written from the records' encoded prefixes.
 */
export function encodePushPullFrom(join: boolean, reply: boolean, source: string, records: PushPullRecordSource, framed = false): Uint8Array {
  const count = records.count;
  // One pass: room is made record by record (a record's bound is its prefix, 11 bytes of header,
  // incarnation and status, and its state's bound), starting from a guess for small states.
  const w = new Writer(32 + 3 * source.length + 32 * count);
  if (framed) {
    w.byte(PROTOCOL_VERSION);
    w.arrayHeader(1);
  }
  w.arrayHeader(PUSH_PULL_LENGTH);
  w.uint(CODE_PUSH_PULL);
  w.byte(join ? 0xc3 : 0xc2);
  w.byte(reply ? 0xc3 : 0xc2);
  w.str(source);
  w.arrayHeader(count);
  for (let i = 0; i < count; i++) {
    records.seek(i);
    const state = records.state;
    w.ensure(11 + (records.prefixEnd - records.prefixStart) + stateBytesBound(state));
    w.arrayHeader(MEMBER_LENGTH);
    w.raw(records.prefix, records.prefixStart, records.prefixEnd);
    w.uint(records.incarnation);
    w.uint(statusCode(records.status));
    writeState(w, state);
  }
  return w.finish();
}

/** encodePushPull's bound of one state's bytes. */
function stateBytesBound(state: AliveState): number {
  const payload = state.payload;
  return payload === null ? 1 : 5 + payload.length;
}

/** A record's state (its payload; tags are a state-layer entry since protocol 3) as encodePushPull writes it. */
function writeState(w: Writer, state: AliveState): void {
  const payload = state.payload;
  if (payload === null) w.byte(0xc0);
  else w.bin(payload);
}

/** What readPushPull and readPushPullView check first: the fields before the records. */
interface PushPullHead {
  readonly join: boolean;
  readonly reply: boolean;
  readonly source: string;
  readonly count: number;
}

function readHead(r: Reader, length: number, limits: DecodeLimits): PushPullHead | DecodeFailure {
  if (length !== PUSH_PULL_LENGTH) return invalidField(CODE_PUSH_PULL, `length ${length}`);
  const join = r.bool();
  if (join === undefined) return invalidField(CODE_PUSH_PULL, 'join');
  const reply = r.bool();
  if (reply === undefined) return invalidField(CODE_PUSH_PULL, 'reply');
  const source = r.str(1, limits.maxNameBytes);
  if (source === undefined) return invalidField(CODE_PUSH_PULL, 'source');
  const count = r.arrayHeader();
  if (count < 0) return invalidField(CODE_PUSH_PULL, 'members');
  if (count > limits.maxMembers) {
    return new DecodeFailure('too-many-members', `push-pull: ${count} members, at most ${limits.maxMembers} allowed`);
  }
  return { join, reply, source, count };
}

/**
 * The push-pull message at the cursor, whose array of `length` elements and type code are read:
 * every field checked in order, the first invalid one named ('push-pull: invalid
 * members[3].addr.port'). Payloads are views into the packet until decodePacket copies them.
 */
export function readPushPull(r: Reader, length: number, limits: DecodeLimits): PushPullMessage | DecodeFailure {
  const head = readHead(r, length, limits);
  if (head instanceof DecodeFailure) return head;
  const count = head.count;
  const members = new Array<MemberRecord>(count);
  for (let i = 0; i < count; i++) {
    const member = readMember(r, limits);
    if (typeof member === 'string') return invalidField(CODE_PUSH_PULL, `members[${i}].${member}`);
    members[i] = member;
  }
  return { type: 'push-pull', join: head.join, reply: head.reply, source: head.source, members };
}

/**
 * `readPushPull` for the core: the same checks in the same order, with the same failures, but the
 * records stay in the packet, behind a PushPullRecords cursor (nothing is built for a record whose
 * strings are ASCII).
 */
export function readPushPullView(r: Reader, length: number, limits: DecodeLimits): PushPullView | DecodeFailure {
  const head = readHead(r, length, limits);
  if (head instanceof DecodeFailure) return head;
  const count = head.count;
  const offsets = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    offsets[i] = r.pos;
    const problem = checkMember(r, limits);
    if (problem !== null) return invalidField(CODE_PUSH_PULL, `members[${i}].${problem}`);
  }
  return { type: 'push-pull-view', join: head.join, reply: head.reply, source: head.source, records: new PushPullRecords(r.b, offsets, limits) };
}

/** readMember's checks, in its order and with its answers, without building the record (null: valid). */
function checkMember(r: Reader, limits: DecodeLimits): string | null {
  const length = r.arrayHeader();
  if (length < 0) return 'record (not an array)';
  if (length !== MEMBER_LENGTH) return `record (length ${length})`;
  if (!r.skipStr(1, limits.maxNameBytes)) return 'node';
  if (!r.skipStr(1, limits.maxHostBytes)) return 'addr.host';
  if (!isPort(r.int())) return 'addr.port';
  if (!isU32(r.int())) return 'incarnation';
  if (STATUSES[r.int()] === undefined) return 'status';
  if (!r.skipPayload(limits.maxPayloadBytes)) return 'state.payload';
  return null;
}

/**
 * The records of a checked push-pull, read where the packet holds them (messages.ts,
 * PushPullRecordCursor). A record built by `record()` has a payload copy of its own.
 */
export class PushPullRecords implements PushPullRecordCursor {
  /** The packet. */
  readonly bytes: Uint8Array;
  readonly count: number;
  nameStart = 0;
  nameLength = 0;
  nameAscii = true;
  hostStart = 0;
  hostLength = 0;
  hostAscii = true;
  prefixStart = 0;
  prefixEnd = 0;
  port = 0;
  incarnation = 0;
  status: MemberStatus = 'alive';
  private index = -1;
  private readonly r: Reader;

  constructor(
    bytes: Uint8Array,
    /** Where each record starts in `bytes`. */
    private readonly offsets: Int32Array,
    private readonly limits: DecodeLimits,
  ) {
    this.bytes = bytes;
    this.count = offsets.length;
    this.r = new Reader(bytes, 0);
  }

  /** Makes record `k` (0 <= k < count) the current one. */
  seek(k: number): void {
    const r = this.r;
    const b = this.bytes;
    this.index = k;
    r.pos = (this.offsets[k] as number) + 1; // the record's fixarray header (6 fields)
    this.prefixStart = r.pos;
    let n = r.strHeader();
    let at = r.pos;
    this.nameStart = at;
    this.nameLength = n;
    this.nameAscii = isAscii(b, at, n);
    r.pos = at + n;
    n = r.strHeader();
    at = r.pos;
    this.hostStart = at;
    this.hostLength = n;
    this.hostAscii = isAscii(b, at, n);
    r.pos = at + n;
    this.port = r.int();
    this.prefixEnd = r.pos;
    this.incarnation = r.int();
    this.status = STATUSES[r.int()] as MemberStatus;
  }

  /** The current record as a fresh MemberRecord, its payload (if any) copied out of the packet. */
  record(): MemberRecord {
    const r = this.r;
    r.pos = this.offsets[this.index] as number;
    const m = readMember(r, this.limits) as MemberRecord;
    const payload = m.state.payload;
    return payload === null ? m : { ...m, state: { payload: payload.slice() } };
  }
}

function isAscii(b: Uint8Array, start: number, length: number): boolean {
  const end = start + length;
  for (let i = start; i < end; i++) if (b[i]! >= 0x80) return false;
  return true;
}

/** The member record at the cursor, or the name of its first invalid field. */
function readMember(r: Reader, limits: DecodeLimits): MemberRecord | string {
  const length = r.arrayHeader();
  if (length < 0) return 'record (not an array)';
  if (length !== MEMBER_LENGTH) return `record (length ${length})`;
  const node = r.str(1, limits.maxNameBytes);
  if (node === undefined) return 'node';
  const host = r.str(1, limits.maxHostBytes);
  if (host === undefined) return 'addr.host';
  const port = r.int();
  if (!isPort(port)) return 'addr.port';
  const incarnation = r.int();
  if (!isU32(incarnation)) return 'incarnation';
  const status = STATUSES[r.int()];
  if (status === undefined) return 'status';
  const payload = r.payload(limits.maxPayloadBytes);
  if (payload === undefined) return 'state.payload';
  return { node, addr: { host, port }, incarnation, status, state: { payload } };
}
