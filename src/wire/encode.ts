/**
 * Messages to bytes. Every kind but the push-pull is a short positional array (layout.ts) packed
 * by the Writer's generic `packCopy` (writer.ts); the push-pull is written by hand (push-pull.ts). A packet is assembled from
 * messages encoded earlier by writing the version byte and an array header and copying
 * (`encodePacket`): the membership layer encodes each piece of gossip once and packs many into one
 * datagram.
 *
 * The input is trusted (it is ours): it is not validated here. Messages that `decodePacket` would
 * reject (seq or incarnation outside 0..0xFFFFFFFF, port outside 1..65535, empty or oversized
 * names, strings that are not well-formed UTF-16) encode, but are dropped by the receiver.
 */
import {
  CODE_ACK,
  CODE_ALIVE,
  CODE_CERT,
  CODE_CERT_REQUEST,
  CODE_DEAD,
  CODE_NACK,
  CODE_PING,
  CODE_PING_REQ,
  CODE_SIGNED,
  CODE_STATE_DELTA,
  CODE_STATE_DIGEST,
  CODE_STATE_SUMMARY,
  CODE_SUSPECT,
  PROTOCOL_VERSION,
} from './layout.js';
import { encodeDelta, encodeDigests } from './state-codec.js';
import type { AliveState, Message, PushPullMessage } from './messages.js';
import { encodePushPull } from './push-pull.js';
import { packCopy } from './writer.js';



/** A state-delta message of deltas already encoded by state-codec.ts's encodeDelta. */
export function encodeStateDeltaMessage(encodedDeltas: readonly Uint8Array[]): Uint8Array {
  return packCopy([CODE_STATE_DELTA, encodedDeltas]);
}

/** One message as msgpack bytes: an array of its type code and its fields (layout.ts). */
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
        msg.state.payload,
      ]);
    case 'suspect':
      return packCopy([CODE_SUSPECT, msg.node, msg.incarnation, msg.from]);
    case 'dead':
      return packCopy([CODE_DEAD, msg.node, msg.incarnation, msg.from]);
    case 'push-pull':
      return encodePushPull(msg);
    case 'state-delta':
      return packCopy([CODE_STATE_DELTA, msg.deltas.map(encodeDelta)]);
    case 'state-digest':
      return packCopy([CODE_STATE_DIGEST, msg.full, msg.exchange, encodeDigests(msg.digests)]);
    case 'state-summary':
      return packCopy([CODE_STATE_SUMMARY, msg.summary]);
    case 'signed':
      return encodeSigned(msg.fingerprint, msg.signature, msg.signed);
    case 'cert-request':
      return packCopy([CODE_CERT_REQUEST, msg.fingerprint]);
    case 'cert':
      return packCopy([CODE_CERT, msg.certificate]);
  }
}

/**
 * A signed message around `signed`, an encoded alive, suspect or dead (the bytes its author
 * signed): [12, fingerprint, signature, message], the message's bytes copied as they are, so that
 * a relay forwards exactly what was signed. Fingerprint and signature are short bins (< 256 B).
 */
export function encodeSigned(fingerprint: Uint8Array, signature: Uint8Array, signed: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + 2 + fingerprint.length + 2 + signature.length + signed.length);
  out[0] = 0x94;
  out[1] = CODE_SIGNED;
  out[2] = 0xc4;
  out[3] = fingerprint.length;
  out.set(fingerprint, 4);
  let pos = 4 + fingerprint.length;
  out[pos++] = 0xc4;
  out[pos++] = signature.length;
  out.set(signature, pos);
  pos += signature.length;
  out.set(signed, pos);
  return out;
}

/**
 * A whole packet holding one push-pull message (what encodePacket([encodeMessage(msg)]) gives),
 * written in one pass: full-state exchanges are the largest thing encoded, so no intermediate copy.
 */
export function encodePushPullPacket(msg: PushPullMessage): Uint8Array {
  return encodePushPull(msg, true);
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
 * Bytes a member state adds to an alive message (its payload: tags are a state-layer entry since
 * protocol 3), used to keep the local state small enough for an alive message to fit the packet budget.
 */
export function encodedStateSize(state: AliveState): number {
  const payload = state.payload;
  if (payload === null) return 1;
  const len = payload.length;
  return (len < 0x100 ? 2 : len < 0x1_0000 ? 3 : 5) + len;
}
