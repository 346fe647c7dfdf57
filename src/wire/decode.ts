/**
 * Packets to messages. Nothing decoded is trusted. `decodePacket` never throws: it checks the
 * length before anything else, then the version byte, then runs the structural pre-scan
 * (prescan.ts), and only then reads the messages straight from the bytes (reader.ts), one reader
 * per kind, checking every field in order and building each message as a fresh plain object. The
 * first problem drops the whole packet; no message of it is returned.
 */
import { DecodeFailure, failed, failure, invalidField, type CoreDecodeResult, type DecodeResult } from './errors.js';
import {
  ACCUSATION_LENGTH,
  ACK_LENGTH,
  ALIVE_LENGTH,
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
  CERT_LENGTH,
  CERT_REQUEST_LENGTH,
  FINGERPRINT_BYTES,
  MAX_CERT_BYTES,
  NACK_LENGTH,
  SIGNATURE_BYTES,
  SIGNED_LENGTH,
  PING_LENGTH,
  PING_REQ_LENGTH,
  PROTOCOL_VERSION,
  STATE_DELTA_LENGTH,
  STATE_DIGEST_LENGTH,
  STATE_SUMMARY_LENGTH,
} from './layout.js';
import { decodeDelta, decodeDigests } from './state-codec.js';
import type { NodeDelta } from '../state/types.js';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from './limits.js';
import { copyPayloads } from './member-state.js';
import type {
  AckMessage,
  AliveMessage,
  CertMessage,
  CertRequestMessage,
  SignedMessage,
  DeadMessage,
  Message,
  NackMessage,
  PingMessage,
  PingReqMessage,
  PushPullView,
  StateDeltaMessage,
  StateDigestMessage,
  StateSummaryMessage,
  SuspectMessage,
} from './messages.js';
import { scanBody } from './prescan.js';
import { readPushPull, readPushPullView } from './push-pull.js';
import { Reader } from './reader.js';
import { isPort, isU32 } from './validation.js';

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
  return decode(bytes, limits, false) as DecodeResult;
}

/**
 * `decodePacket` for the membership core: the same checks and the same failures, but a push-pull
 * comes as a PushPullView, its records left in the packet to be read one at a time (a 10,000-member
 * exchange then builds objects only for the records that change something).
 */
export function decodeCorePacket(bytes: Uint8Array, limits?: Partial<DecodeLimits>): CoreDecodeResult {
  return decode(bytes, limits, true);
}

function decode(bytes: Uint8Array, limits: Partial<DecodeLimits> | undefined, view: boolean): CoreDecodeResult {
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

  const r = new Reader(bytes, 1);
  r.arrayHeader(); // the packet's, which the pre-scan read as `count`
  const messages = new Array<Message | PushPullView>(count);
  try {
    for (let i = 0; i < count; i++) {
      const message = readMessage(r, i, lim, view);
      if (message instanceof DecodeFailure) return failed(message);
      messages[i] = message;
    }
  } catch (error) {
    // Unreachable by construction (reads stay inside the scanned structure); kept so that a bug
    // drops the packet instead of throwing at the caller.
    return failure('invalid-message', `validation: ${error instanceof Error ? error.message : String(error)}`);
  }
  copyPayloads(messages);
  return { ok: true, messages };
}

/** Message `index` of the packet, at the cursor. */
function readMessage(r: Reader, index: number, limits: DecodeLimits, view: boolean): Message | PushPullView | DecodeFailure {
  const length = r.arrayHeader();
  if (length < 0) return new DecodeFailure('invalid-message', `message ${index} is not an array`);
  if (length === 0) return new DecodeFailure('invalid-message', `message ${index} has unknown type code of type undefined`);
  const type = r.typeOf();
  const code = r.int();
  switch (code) {
    case CODE_PING:
      return readPing(r, length, limits);
    case CODE_PING_REQ:
      return readPingReq(r, length, limits);
    case CODE_ACK:
      return readAck(r, length);
    case CODE_NACK:
      return readNack(r, length);
    case CODE_ALIVE:
      return readAlive(r, length, limits);
    case CODE_SUSPECT:
    case CODE_DEAD:
      return readAccusation(r, code, length, limits);
    case CODE_PUSH_PULL:
      return view ? readPushPullView(r, length, limits) : readPushPull(r, length, limits);
    case CODE_STATE_DELTA:
      return readStateDelta(r, length);
    case CODE_STATE_DIGEST:
      return readStateDigest(r, length);
    case CODE_STATE_SUMMARY:
      return readStateSummary(r, length);
    case CODE_SIGNED:
      return readSigned(r, length, index, limits);
    case CODE_CERT_REQUEST:
      return readCertRequest(r, length);
    case CODE_CERT:
      return readCert(r, length);
    default:
      return new DecodeFailure('invalid-message', `message ${index} has unknown type code ${type === 'number' ? code : `of type ${type}`}`);
  }
}

function readPing(r: Reader, length: number, limits: DecodeLimits): PingMessage | DecodeFailure {
  if (length !== PING_LENGTH) return invalidField(CODE_PING, `length ${length}`);
  const seq = r.int();
  if (!isU32(seq)) return invalidField(CODE_PING, 'seq');
  const target = r.str(1, limits.maxNameBytes);
  if (target === undefined) return invalidField(CODE_PING, 'target');
  const source = r.str(1, limits.maxNameBytes);
  if (source === undefined) return invalidField(CODE_PING, 'source');
  const host = r.str(1, limits.maxHostBytes);
  if (host === undefined) return invalidField(CODE_PING, 'sourceAddr.host');
  const port = r.int();
  if (!isPort(port)) return invalidField(CODE_PING, 'sourceAddr.port');
  return { type: 'ping', seq, target, source, sourceAddr: { host, port } };
}

function readPingReq(r: Reader, length: number, limits: DecodeLimits): PingReqMessage | DecodeFailure {
  if (length !== PING_REQ_LENGTH) return invalidField(CODE_PING_REQ, `length ${length}`);
  const seq = r.int();
  if (!isU32(seq)) return invalidField(CODE_PING_REQ, 'seq');
  const target = r.str(1, limits.maxNameBytes);
  if (target === undefined) return invalidField(CODE_PING_REQ, 'target');
  const targetHost = r.str(1, limits.maxHostBytes);
  if (targetHost === undefined) return invalidField(CODE_PING_REQ, 'targetAddr.host');
  const targetPort = r.int();
  if (!isPort(targetPort)) return invalidField(CODE_PING_REQ, 'targetAddr.port');
  const source = r.str(1, limits.maxNameBytes);
  if (source === undefined) return invalidField(CODE_PING_REQ, 'source');
  const sourceHost = r.str(1, limits.maxHostBytes);
  if (sourceHost === undefined) return invalidField(CODE_PING_REQ, 'sourceAddr.host');
  const sourcePort = r.int();
  if (!isPort(sourcePort)) return invalidField(CODE_PING_REQ, 'sourceAddr.port');
  const nack = r.bool();
  if (nack === undefined) return invalidField(CODE_PING_REQ, 'nack');
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

function readAck(r: Reader, length: number): AckMessage | DecodeFailure {
  if (length !== ACK_LENGTH) return invalidField(CODE_ACK, `length ${length}`);
  const seq = r.int();
  if (!isU32(seq)) return invalidField(CODE_ACK, 'seq');
  const digest = r.int();
  if (!isU32(digest)) return invalidField(CODE_ACK, 'digest');
  return { type: 'ack', seq, digest };
}

function readNack(r: Reader, length: number): NackMessage | DecodeFailure {
  if (length !== NACK_LENGTH) return invalidField(CODE_NACK, `length ${length}`);
  const seq = r.int();
  if (!isU32(seq)) return invalidField(CODE_NACK, 'seq');
  return { type: 'nack', seq };
}

function readAlive(r: Reader, length: number, limits: DecodeLimits): AliveMessage | DecodeFailure {
  if (length !== ALIVE_LENGTH) return invalidField(CODE_ALIVE, `length ${length}`);
  const node = r.str(1, limits.maxNameBytes);
  if (node === undefined) return invalidField(CODE_ALIVE, 'node');
  const host = r.str(1, limits.maxHostBytes);
  if (host === undefined) return invalidField(CODE_ALIVE, 'addr.host');
  const port = r.int();
  if (!isPort(port)) return invalidField(CODE_ALIVE, 'addr.port');
  const incarnation = r.int();
  if (!isU32(incarnation)) return invalidField(CODE_ALIVE, 'incarnation');
  const payload = r.payload(limits.maxPayloadBytes);
  if (payload === undefined) return invalidField(CODE_ALIVE, 'state.payload');
  return { type: 'alive', node, addr: { host, port }, incarnation, state: { payload } };
}

/** A suspect or a dead (they share a layout). */
function readAccusation(r: Reader, code: number, length: number, limits: DecodeLimits): SuspectMessage | DeadMessage | DecodeFailure {
  if (length !== ACCUSATION_LENGTH) return invalidField(code, `length ${length}`);
  const node = r.str(1, limits.maxNameBytes);
  if (node === undefined) return invalidField(code, 'node');
  const incarnation = r.int();
  if (!isU32(incarnation)) return invalidField(code, 'incarnation');
  const from = r.str(1, limits.maxNameBytes);
  if (from === undefined) return invalidField(code, 'from');
  return code === CODE_SUSPECT ? { type: 'suspect', node, incarnation, from } : { type: 'dead', node, incarnation, from };
}

/** A state-delta: an array of deltas, each a bin in state-codec.ts's format (decoded as untrusted). */
function readStateDelta(r: Reader, length: number): StateDeltaMessage | DecodeFailure {
  if (length !== STATE_DELTA_LENGTH) return invalidField(CODE_STATE_DELTA, `length ${length}`);
  const count = r.arrayHeader();
  if (count < 0) return invalidField(CODE_STATE_DELTA, 'deltas');
  const deltas = new Array<NodeDelta>(count);
  for (let i = 0; i < count; i++) {
    const bin = r.payload(r.b.length);
    if (bin === undefined || bin === null) return invalidField(CODE_STATE_DELTA, `deltas[${i}]`);
    const d = decodeDelta(bin);
    if (!d.ok) return invalidField(CODE_STATE_DELTA, `deltas[${i}] (${d.error.detail})`);
    deltas[i] = d.value;
  }
  return { type: 'state-delta', deltas };
}

function readStateDigest(r: Reader, length: number): StateDigestMessage | DecodeFailure {
  if (length !== STATE_DIGEST_LENGTH) return invalidField(CODE_STATE_DIGEST, `length ${length}`);
  const full = r.bool();
  if (full === undefined) return invalidField(CODE_STATE_DIGEST, 'full');
  const exchange = r.bool();
  if (exchange === undefined) return invalidField(CODE_STATE_DIGEST, 'exchange');
  const bin = r.payload(r.b.length);
  if (bin === undefined || bin === null) return invalidField(CODE_STATE_DIGEST, 'digests');
  const d = decodeDigests(bin);
  if (!d.ok) return invalidField(CODE_STATE_DIGEST, `digests (${d.error.detail})`);
  return { type: 'state-digest', full, exchange, digests: d.value };
}

function readStateSummary(r: Reader, length: number): StateSummaryMessage | DecodeFailure {
  if (length !== STATE_SUMMARY_LENGTH) return invalidField(CODE_STATE_SUMMARY, `length ${length}`);
  const summary = r.int();
  if (!isU32(summary)) return invalidField(CODE_STATE_SUMMARY, 'summary');
  return { type: 'state-summary', summary };
}

/** An exact-length bin at the cursor, copied (never a view into the packet), or undefined. */
function exactBin(r: Reader, bytes: number): Uint8Array | undefined {
  const bin = r.payload(bytes);
  if (bin === undefined || bin === null || bin.length !== bytes) return undefined;
  return bin.slice();
}

/**
 * A signed message: fingerprint, signature, and an alive, suspect or dead read as its own kind
 * would be (never another signed one). `signed` is a copy of the inner message's bytes.
 */
function readSigned(r: Reader, length: number, index: number, limits: DecodeLimits): SignedMessage | DecodeFailure {
  if (length !== SIGNED_LENGTH) return invalidField(CODE_SIGNED, `length ${length}`);
  const fingerprint = exactBin(r, FINGERPRINT_BYTES);
  if (fingerprint === undefined) return invalidField(CODE_SIGNED, 'fingerprint');
  const signature = exactBin(r, SIGNATURE_BYTES);
  if (signature === undefined) return invalidField(CODE_SIGNED, 'signature');
  const start = r.pos;
  const t = r.b[start]!;
  // The inner message's code, peeked: an array header of 1 byte (fixarray) then a fixint code.
  const code = t >= 0x91 && t <= 0x9f ? r.b[start + 1]! : -1;
  if (code !== CODE_ALIVE && code !== CODE_SUSPECT && code !== CODE_DEAD) return invalidField(CODE_SIGNED, 'message');
  const inner = readMessage(r, index, limits, false);
  if (inner instanceof DecodeFailure) return new DecodeFailure(inner.code, `signed: invalid message (${inner.detail})`);
  const message = inner as AliveMessage | SuspectMessage | DeadMessage;
  return { type: 'signed', fingerprint, signature, signed: r.b.slice(start, r.pos), message };
}

function readCertRequest(r: Reader, length: number): CertRequestMessage | DecodeFailure {
  if (length !== CERT_REQUEST_LENGTH) return invalidField(CODE_CERT_REQUEST, `length ${length}`);
  const fingerprint = exactBin(r, FINGERPRINT_BYTES);
  if (fingerprint === undefined) return invalidField(CODE_CERT_REQUEST, 'fingerprint');
  return { type: 'cert-request', fingerprint };
}

function readCert(r: Reader, length: number): CertMessage | DecodeFailure {
  if (length !== CERT_LENGTH) return invalidField(CODE_CERT, `length ${length}`);
  const bin = r.payload(MAX_CERT_BYTES);
  if (bin === undefined || bin === null || bin.length === 0) return invalidField(CODE_CERT, 'certificate');
  return { type: 'cert', certificate: bin.slice() };
}
