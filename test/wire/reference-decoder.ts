/**
 * The reference decoder: a general msgpack decoder (msgpackr) followed by the field-by-field
 * checks on the decoded tree. It is how the codec decoded every packet before wire/ read messages
 * straight from the bytes, kept here (not in src/) only to be compared against: the production
 * decoder (src/wire/decode.ts) must give the same result, message or error, for every input
 * (test/wire/differential.test.ts and codec.test.ts).
 *
 * The pre-scan and the limits are shared with production: this checks the decoding after them.
 */
import { Packr, Unpackr } from 'msgpackr';
import { DecodeFailure, failed, failure, type DecodeResult } from '../../src/wire/errors.js';
import {
  CODE_ACK,
  CODE_ALIVE,
  CODE_CERT,
  CODE_CERT_REQUEST,
  CODE_DEAD,
  CODE_NACK,
  CODE_PING,
  CODE_PING_REQ,
  CODE_PUSH_PULL,
  CODE_SIGNED,
  CODE_STATE_DELTA,
  CODE_STATE_DIGEST,
  CODE_STATE_SUMMARY,
  CODE_SUSPECT,
  FINGERPRINT_BYTES,
  MAX_CERT_BYTES,
  PROTOCOL_VERSION,
  SIGNATURE_BYTES,
  STATUSES,
  TYPE_NAMES,
} from '../../src/wire/layout.js';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../../src/wire/limits.js';
import type { Address, MemberRecord, Message } from '../../src/wire/messages.js';
import { scanBody } from '../../src/wire/prescan.js';
import { decodeDelta, decodeDigests } from '../../src/wire/state-codec.js';
import type { NodeDelta } from '../../src/state/types.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false, structuredClone: false, bundleStrings: false });
const isBin = (v: unknown, bytes: number): v is Uint8Array => v instanceof Uint8Array && v.length === bytes;
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, moreTypes: false, structuredClone: false, bundleStrings: false });

function fail(code: DecodeFailure['code'], detail: string): DecodeFailure {
  return new DecodeFailure(code, detail);
}

function invalid(typeCode: number, field: string): DecodeFailure {
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


/** A member state under construction: its payload is filled in once the whole packet is valid. */
interface PendingState {
  payload: Uint8Array | null;
}

/**
 * Payloads waiting to be copied out of the packet, with the states they belong to. Copying waits
 * until every message is valid so that payloads share a few slabs: a fresh `Uint8Array` over 64
 * bytes is an off-heap allocation (about a microsecond each), which would dominate a 10,000-member
 * push-pull.

/** A member state under construction: its payload is filled in once the whole packet is valid. */
interface PendingState {
  payload: Uint8Array | null;
}

/** The payloads of one packet, copied (one slab each, here) once the packet is valid. */
interface Pending {
  readonly sources: Uint8Array[];
  readonly states: PendingState[];
}

/** Checks a decoded payload field and builds the state; undefined if the payload is invalid. */
function decodeState(v: unknown, limits: DecodeLimits, pending: Pending): PendingState | undefined {
  if (v === null) return { payload: null };
  // The pre-scan admits no extensions, so a Uint8Array here is always a msgpack bin.
  if (!(v instanceof Uint8Array) || v.length > limits.maxPayloadBytes) return undefined;
  const state: PendingState = { payload: null };
  pending.sources.push(v);
  pending.states.push(state);
  return state;
}

function flush(pending: Pending): void {
  for (let i = 0; i < pending.sources.length; i++) pending.states[i]!.payload = pending.sources[i]!.slice();
}

function decodeOne(m: unknown, index: number, limits: DecodeLimits, pending: Pending): Message | DecodeFailure {
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
      if (len !== 6) return invalid(code, `length ${len}`);
      const node: unknown = m[1];
      const host: unknown = m[2];
      const port: unknown = m[3];
      const incarnation: unknown = m[4];
      if (!isName(node, limits.maxNameBytes)) return invalid(code, 'node');
      if (!isName(host, limits.maxHostBytes)) return invalid(code, 'addr.host');
      if (!isPort(port)) return invalid(code, 'addr.port');
      if (!isU32(incarnation)) return invalid(code, 'incarnation');
      const state = decodeState(m[5], limits, pending);
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
        const member = decodeMember(records[i], limits, pending);
        if (typeof member === 'string') return invalid(code, `members[${i}].${member}`);
        members[i] = member;
      }
      return { type: 'push-pull', join, reply, source, members };
    }
    case CODE_STATE_DELTA: {
      if (len !== 2) return invalid(code, `length ${len}`);
      const list: unknown = m[1];
      if (!Array.isArray(list)) return invalid(code, 'deltas');
      const deltas: NodeDelta[] = [];
      for (let i = 0; i < list.length; i++) {
        const bin: unknown = list[i];
        if (!(bin instanceof Uint8Array)) return invalid(code, `deltas[${i}]`);
        const d = decodeDelta(bin);
        if (!d.ok) return invalid(code, `deltas[${i}] (${d.error.detail})`);
        deltas.push(d.value);
      }
      return { type: 'state-delta', deltas };
    }
    case CODE_STATE_DIGEST: {
      if (len !== 4) return invalid(code, `length ${len}`);
      const full: unknown = m[1];
      const exchange: unknown = m[2];
      const bin: unknown = m[3];
      if (typeof full !== 'boolean') return invalid(code, 'full');
      if (typeof exchange !== 'boolean') return invalid(code, 'exchange');
      if (!(bin instanceof Uint8Array)) return invalid(code, 'digests');
      const d = decodeDigests(bin);
      if (!d.ok) return invalid(code, `digests (${d.error.detail})`);
      return { type: 'state-digest', full, exchange, digests: d.value };
    }
    case CODE_STATE_SUMMARY: {
      if (len !== 2) return invalid(code, `length ${len}`);
      const summary: unknown = m[1];
      if (!isU32(summary)) return invalid(code, 'summary');
      return { type: 'state-summary', summary };
    }
    case CODE_SIGNED: {
      if (len !== 4) return invalid(code, `length ${len}`);
      if (!isBin(m[1], FINGERPRINT_BYTES)) return invalid(code, 'fingerprint');
      if (!isBin(m[2], SIGNATURE_BYTES)) return invalid(code, 'signature');
      const inner: unknown = m[3];
      if (!Array.isArray(inner) || ![CODE_ALIVE, CODE_SUSPECT, CODE_DEAD].includes(inner[0] as number)) return invalid(code, 'message');
      const message = decodeOne(inner, index, limits, pending);
      if (message instanceof DecodeFailure) return fail(message.code, `signed: invalid message (${message.detail})`);
      // The inner message's bytes as msgpackr writes its tree: what the encoder wrote.
      const signed = Uint8Array.from(packr.pack(inner) as Uint8Array);
      return { type: 'signed', fingerprint: Uint8Array.from(m[1]), signature: Uint8Array.from(m[2]), signed, message: message as never };
    }
    case CODE_CERT_REQUEST: {
      if (len !== 2) return invalid(code, `length ${len}`);
      if (!isBin(m[1], FINGERPRINT_BYTES)) return invalid(code, 'fingerprint');
      return { type: 'cert-request', fingerprint: Uint8Array.from(m[1]) };
    }
    case CODE_CERT: {
      if (len !== 2) return invalid(code, `length ${len}`);
      const der: unknown = m[1];
      if (!(der instanceof Uint8Array) || der.length === 0 || der.length > MAX_CERT_BYTES) return invalid(code, 'certificate');
      return { type: 'cert', certificate: Uint8Array.from(der) };
    }
    default:
      return fail(
        'invalid-message',
        `message ${index} has unknown type code ${typeof code === 'number' ? code : `of type ${typeof code}`}`,
      );
  }
}

/** A decoded member record, or the name of its invalid field. */
function decodeMember(r: unknown, limits: DecodeLimits, pending: Pending): MemberRecord | string {
  if (!Array.isArray(r)) return 'record (not an array)';
  if (r.length !== 6) return `record (length ${r.length})`;
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
  const state = decodeState(r[5], limits, pending);
  if (state === undefined) return 'state.payload';
  const addr: Address = { host, port };
  return { node, addr, incarnation, status: statusName, state };
}

/** What `decodePacket` gives for `bytes`, by the general path. */
export function referenceDecode(bytes: Uint8Array, limits?: Partial<DecodeLimits>): DecodeResult {
  const lim: DecodeLimits = limits === undefined ? DEFAULT_DECODE_LIMITS : { ...DEFAULT_DECODE_LIMITS, ...limits };
  if (!(bytes instanceof Uint8Array)) return failure('malformed', 'packet is not a Uint8Array');
  const size = bytes.length;
  if (size === 0) return failure('empty', 'empty packet');
  if (size > lim.maxPacketBytes) return failure('too-large', `packet of ${size} bytes, at most ${lim.maxPacketBytes} allowed`);
  const version = bytes[0]!;
  if (version >= 1 && version < PROTOCOL_VERSION) {
    return failure('old-protocol', `protocol version ${version} from a node running an older hearsay (this node speaks ${PROTOCOL_VERSION}): upgrade that node`);
  }
  if (version !== PROTOCOL_VERSION) return failure('bad-version', `protocol version ${version}, expected ${PROTOCOL_VERSION}`);
  const count = scanBody(bytes, lim.maxMessages);
  if (count instanceof DecodeFailure) return failed(count);
  let root: unknown;
  try {
    // A fresh view: msgpackr caches a DataView on its source object, so never hand it the caller's.
    root = unpackr.unpack(bytes.subarray(1));
  } catch (error) {
    return failure('malformed', `msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(root) || root.length !== count) return failure('malformed', 'body is not the scanned array');
  const pending: Pending = { sources: [], states: [] };
  const messages = new Array<Message>(count);
  for (let i = 0; i < count; i++) {
    const message = decodeOne(root[i], i, lim, pending);
    if (message instanceof DecodeFailure) return failed(message);
    messages[i] = message;
  }
  flush(pending);
  return { ok: true, messages };
}
