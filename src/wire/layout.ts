/**
 * The layout of every message on the wire: its type code and its fields in order. The encoder
 * writes these codes and fields, the decoder checks the same counts and names the same fields in
 * its errors ('ping: invalid sourceAddr.port'); test/wire/layout.test.ts holds both to this table.
 *
 * A packet is the version byte, then ONE msgpack array whose elements are messages. A message is a
 * msgpack array: the type code, then its fields positionally:
 *
 * | type      | layout                                                                         |
 * |-----------|--------------------------------------------------------------------------------|
 * | ping      | [1, seq, target, source, sourceHost, sourcePort]                               |
 * | ping-req  | [2, seq, target, targetHost, targetPort, source, sourceHost, sourcePort, nack] |
 * | ack       | [3, seq, digest]                                                               |
 * | nack      | [4, seq]                                                                       |
 * | alive     | [5, node, host, port, incarnation, payload]                                    |
 * | suspect   | [6, node, incarnation, from]                                                   |
 * | dead      | [7, node, incarnation, from]                                                   |
 * | push-pull | [8, join, reply, source, [member...]]                                          |
 * | state-delta   | [9, [delta...]]  (each delta a bin in state-codec.ts's format)              |
 * | state-digest  | [10, full, exchange, digests] (digests a bin in state-codec.ts's format)    |
 * | state-summary | [11, summary]                                                               |
 * | signed        | [12, fingerprint (bin 8), signature (bin 64), message (an alive, suspect or dead)] |
 * | cert-request  | [13, fingerprint (bin 8)]                                                   |
 * | cert          | [14, certificate (bin, DER)]                                                |
 *
 * A member is [node, host, port, incarnation, status, payload]; status is 0 alive, 1 suspect,
 * 2 dead, 3 left; payload is bin or nil. A node's tags are not in either: they are its state
 * entry `t:` (wire/tags-entry.ts), spread and repaired by the state layer. Integers take the smallest msgpack form, and only the types above are ever written.
 */
import type { MemberStatus, MessageType } from './messages.js';

/**
 * The first byte of every packet. Version 2 added the state layer's kinds (state-delta,
 * state-digest, state-summary) and moved the registry off the member payload; version 3 moved a
 * node's tags off its alive message and push-pull record into its state (entry `t:`), so an
 * alive and a record are one field shorter. A packet of an older version is refused as
 * 'old-protocol' (the peer runs an older hearsay: upgrade it), one of any other version as
 * 'bad-version'. A version-1 or -2 node refuses ours as its 'bad-version'.
 */
export const PROTOCOL_VERSION = 3;

/** Largest sequence number on the wire; senders wrap (or restart) below it. */
export const MAX_SEQ = 0xffff_ffff;
/** Largest incarnation on the wire. */
export const MAX_INCARNATION = 0xffff_ffff;

export const CODE_PING = 1;
export const CODE_PING_REQ = 2;
export const CODE_ACK = 3;
export const CODE_NACK = 4;
export const CODE_ALIVE = 5;
export const CODE_SUSPECT = 6;
export const CODE_DEAD = 7;
export const CODE_PUSH_PULL = 8;
export const CODE_STATE_DELTA = 9;
export const CODE_STATE_DIGEST = 10;
export const CODE_STATE_SUMMARY = 11;
export const CODE_SIGNED = 12;
export const CODE_CERT_REQUEST = 13;
export const CODE_CERT = 14;

/** Bytes of a certificate fingerprint prefix, a signature, and the largest certificate carried. */
export const FINGERPRINT_BYTES = 8;
export const SIGNATURE_BYTES = 64;
export const MAX_CERT_BYTES = 4096;

export interface MessageLayout {
  readonly code: number;
  /** The fields after the type code, in order, named as the message's properties are. */
  readonly fields: readonly string[];
}

/** Every message kind: its type code and fields (the table above, as data). */
export const LAYOUT: Readonly<Record<MessageType, MessageLayout>> = Object.freeze({
  ping: { code: CODE_PING, fields: ['seq', 'target', 'source', 'sourceAddr.host', 'sourceAddr.port'] },
  'ping-req': {
    code: CODE_PING_REQ,
    fields: ['seq', 'target', 'targetAddr.host', 'targetAddr.port', 'source', 'sourceAddr.host', 'sourceAddr.port', 'nack'],
  },
  ack: { code: CODE_ACK, fields: ['seq', 'digest'] },
  nack: { code: CODE_NACK, fields: ['seq'] },
  alive: { code: CODE_ALIVE, fields: ['node', 'addr.host', 'addr.port', 'incarnation', 'state.payload'] },
  suspect: { code: CODE_SUSPECT, fields: ['node', 'incarnation', 'from'] },
  dead: { code: CODE_DEAD, fields: ['node', 'incarnation', 'from'] },
  'push-pull': { code: CODE_PUSH_PULL, fields: ['join', 'reply', 'source', 'members'] },
  'state-delta': { code: CODE_STATE_DELTA, fields: ['deltas'] },
  'state-digest': { code: CODE_STATE_DIGEST, fields: ['full', 'exchange', 'digests'] },
  'state-summary': { code: CODE_STATE_SUMMARY, fields: ['summary'] },
  signed: { code: CODE_SIGNED, fields: ['fingerprint', 'signature', 'message'] },
  'cert-request': { code: CODE_CERT_REQUEST, fields: ['fingerprint'] },
  cert: { code: CODE_CERT, fields: ['certificate'] },
});

/** The fields of one push-pull member record, in order. */
export const MEMBER_FIELDS: readonly string[] = Object.freeze(['node', 'addr.host', 'addr.port', 'incarnation', 'status', 'state.payload']);

/** Elements of a message array of each kind: the type code and the fields. */
export const PING_LENGTH = 1 + LAYOUT.ping.fields.length;
export const PING_REQ_LENGTH = 1 + LAYOUT['ping-req'].fields.length;
export const ACK_LENGTH = 1 + LAYOUT.ack.fields.length;
export const NACK_LENGTH = 1 + LAYOUT.nack.fields.length;
export const ALIVE_LENGTH = 1 + LAYOUT.alive.fields.length;
/** suspect and dead share a layout. */
export const ACCUSATION_LENGTH = 1 + LAYOUT.suspect.fields.length;
export const PUSH_PULL_LENGTH = 1 + LAYOUT['push-pull'].fields.length;
export const STATE_DELTA_LENGTH = 1 + LAYOUT['state-delta'].fields.length;
export const STATE_DIGEST_LENGTH = 1 + LAYOUT['state-digest'].fields.length;
export const STATE_SUMMARY_LENGTH = 1 + LAYOUT['state-summary'].fields.length;
export const SIGNED_LENGTH = 1 + LAYOUT.signed.fields.length;
export const CERT_REQUEST_LENGTH = 1 + LAYOUT['cert-request'].fields.length;
export const CERT_LENGTH = 1 + LAYOUT.cert.fields.length;
export const MEMBER_LENGTH = MEMBER_FIELDS.length;

/** Message names by type code, for error details. */
export const TYPE_NAMES: readonly string[] = (() => {
  const names: string[] = [''];
  for (const [name, layout] of Object.entries(LAYOUT)) names[layout.code] = name;
  return Object.freeze(names);
})();

/** Member statuses by their code on the wire. */
export const STATUSES: readonly MemberStatus[] = Object.freeze(['alive', 'suspect', 'dead', 'left']);

export function statusCode(status: MemberStatus): number {
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
