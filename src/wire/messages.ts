/**
 * The protocol's messages, as typed values. The codec (codec.ts) turns them into bytes and back;
 * nothing here is trusted until `decodePacket` has validated it.
 *
 * The set mirrors memberlist's (ping, ping-req, ack, nack, alive, suspect, dead, push-pull) so that a
 * memberlist-compatible codec can be added beside ours. A graceful leave is a `dead` message whose
 * `from` is the member itself, as in memberlist.
 */

import type { NodeDelta, NodeDigest } from '../state/types.js';

/** Where a member can be reached: the advertised host (IPv4, IPv6 or name) and port. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** Member status. Only the member itself raises its incarnation. */
export type MemberStatus = 'alive' | 'suspect' | 'dead' | 'left';

/**
 * What a member carries about itself in its alive message and push-pull record, versioned by its
 * incarnation: an opaque application payload (nil unless an embedder sets one). Since protocol 3
 * a node's tags are not here: they are an entry of its versioned state (state layer, key `t:`),
 * so a tag change costs one delta and no incarnation, and an alive stays small.
 */
export interface AliveState {
  readonly payload: Uint8Array | null;
}

/**
 * A member's state as views show it: its tags (node metadata, from its state-layer entry `t:`,
 * wire/tags-entry.ts) and its alive message's payload.
 */
export interface MemberState extends AliveState {
  readonly tags: Readonly<Record<string, string>>;
}

/** Direct probe. `target` lets a node that took over an address ignore pings meant for another. */
export interface PingMessage {
  readonly type: 'ping';
  readonly seq: number;
  readonly target: string;
  readonly source: string;
  readonly sourceAddr: Address;
}

/** Indirect probe request: "ping `target` for me and forward its ack (or a nack) to me". */
export interface PingReqMessage {
  readonly type: 'ping-req';
  readonly seq: number;
  readonly target: string;
  readonly targetAddr: Address;
  readonly source: string;
  readonly sourceAddr: Address;
  /** The requester wants a nack if the target does not answer in time (Lifeguard). */
  readonly nack: boolean;
}

export interface AckMessage {
  readonly type: 'ack';
  readonly seq: number;
  /**
   * The responder's membership digest (a 32-bit hash of its alive members and their
   * incarnations). A prober whose own digest differs once both views should have settled runs a
   * full-state exchange with the responder, so a node that missed a piece of gossip catches up in
   * seconds instead of waiting for the periodic push-pull.
   */
  readonly digest: number;
}

export interface NackMessage {
  readonly type: 'nack';
  readonly seq: number;
}

export interface AliveMessage {
  readonly type: 'alive';
  readonly node: string;
  readonly addr: Address;
  readonly incarnation: number;
  readonly state: AliveState;
}

export interface SuspectMessage {
  readonly type: 'suspect';
  readonly node: string;
  readonly incarnation: number;
  /** Who suspects; independent confirmations shorten the suspicion (Lifeguard). */
  readonly from: string;
}

/** `from === node` means the member left gracefully. */
export interface DeadMessage {
  readonly type: 'dead';
  readonly node: string;
  readonly incarnation: number;
  readonly from: string;
}

/** One member's entry in a full-state exchange. */
export interface MemberRecord {
  readonly node: string;
  readonly addr: Address;
  readonly incarnation: number;
  readonly status: MemberStatus;
  readonly state: AliveState;
}

/** Full-state exchange (anti-entropy), carried over a stream. */
export interface PushPullMessage {
  readonly type: 'push-pull';
  /** Sent by a node joining through the receiver. */
  readonly join: boolean;
  /** True on the answer; an answer is never answered. */
  readonly reply: boolean;
  readonly source: string;
  readonly members: readonly MemberRecord[];
}

/**
 * A push-pull as the core decodes it (`decodeCorePacket`): checked as a PushPullMessage would be,
 * its records left in the packet behind a cursor (wire/push-pull.ts), so that the records that
 * change nothing cost no object.
 */
export interface PushPullView {
  readonly type: 'push-pull-view';
  readonly join: boolean;
  readonly reply: boolean;
  readonly source: string;
  readonly records: PushPullRecordCursor;
}

/**
 * The records of a PushPullView, read one at a time from the packet. `seek(k)` makes record k
 * current and reads its scalar fields (no allocation); `record()` builds the current record as
 * `decodePacket` would have. Names and hosts are spans of `bytes`; an ASCII span's bytes are the
 * string's UTF-16 units, so it can be compared and hashed as the string without decoding it.
 */
export interface PushPullRecordCursor {
  /** The packet the records are in. */
  readonly bytes: Uint8Array;
  readonly count: number;
  readonly nameStart: number;
  readonly nameLength: number;
  readonly nameAscii: boolean;
  readonly hostStart: number;
  readonly hostLength: number;
  readonly hostAscii: boolean;
  /**
   * The record's node, host and port fields as they are in `bytes`: `[prefixStart, prefixEnd)`.
   * Equal to encodeRecordPrefix's bytes of a name, host and port, they are that name, host and port.
   */
  readonly prefixStart: number;
  readonly prefixEnd: number;
  readonly port: number;
  readonly incarnation: number;
  readonly status: MemberStatus;
  seek(k: number): void;
  record(): MemberRecord;
}

/**
 * Changes of owners' state (src/state/): piggybacked one delta at a time, or many in a repair.
 * An empty delta from and to an owner's version announces that version ("fetch it if you lack it").
 */
export interface StateDeltaMessage {
  readonly type: 'state-delta';
  readonly deltas: readonly NodeDelta[];
}

/**
 * What the sender holds of owners' state: "send me what I miss". With `full` the list is every
 * owner the sender holds (an owner it does not list, it lacks); without, it asks about the listed
 * owners only. With `exchange`, the receiver also sends its own full digests back (without
 * `exchange`), so that the sender can answer in turn. Generation 0 means "none held".
 */
export interface StateDigestMessage {
  readonly type: 'state-digest';
  readonly full: boolean;
  readonly exchange: boolean;
  readonly digests: readonly NodeDigest[];
}

/** The sender's state summary (the XOR of its digests' hashes): a cheap "do we differ?". */
export interface StateSummaryMessage {
  readonly type: 'state-summary';
  readonly summary: number;
}

/** A record a node signs: its alive, its leave (a dead from itself), or an accusation it makes. */
export type SignableMessage = AliveMessage | SuspectMessage | DeadMessage;

/**
 * A record signed by its author (identity, issue 14): the alive's node, the accusation's `from`.
 * `signed` is the inner message's exact bytes as they were signed and are relayed; `fingerprint`
 * is the first 8 bytes of the author's certificate's SHA-256, `signature` 64 bytes of Ed25519.
 */
export interface SignedMessage {
  readonly type: 'signed';
  readonly fingerprint: Uint8Array;
  readonly signature: Uint8Array;
  readonly signed: Uint8Array;
  readonly message: SignableMessage;
}

/** "Send me the certificate whose fingerprint starts with these 8 bytes." */
export interface CertRequestMessage {
  readonly type: 'cert-request';
  readonly fingerprint: Uint8Array;
}

/** A node certificate (DER), answering a cert-request or carried in a push-pull. */
export interface CertMessage {
  readonly type: 'cert';
  readonly certificate: Uint8Array;
}

export type Message =
  | PingMessage
  | PingReqMessage
  | AckMessage
  | NackMessage
  | AliveMessage
  | SuspectMessage
  | DeadMessage
  | PushPullMessage
  | StateDeltaMessage
  | StateDigestMessage
  | StateSummaryMessage
  | SignedMessage
  | CertRequestMessage
  | CertMessage;

export type MessageType = Message['type'];
