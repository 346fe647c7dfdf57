/**
 * What the membership state machine consumes and produces. The core is sans-I/O: every input
 * carries the time explicitly and every output is an Effect the runtime (agent/ or sim/) carries out.
 */
import type { Address, MemberState, MemberStatus } from '../wire/messages.js';
import type { StateEntry } from '../state/types.js';

/** How a packet travels: a datagram (UDP, lossy) or a stream (TCP, reliable, unbounded size). */
export type Channel = 'datagram' | 'stream';

/**
 * Timers are data. A timer that has become stale (the probe it belongs to is over, the suspicion
 * was refuted) is a no-op when it fires, so nothing ever has to be cancelled.
 */
export type Timer =
  | { readonly kind: 'probe' }
  | { readonly kind: 'probe-timeout'; readonly seq: number }
  | { readonly kind: 'probe-end'; readonly seq: number }
  /** A failed probe's nacks are counted for Lifeguard's health: late ones (relays wait a whole probe timeout) included. */
  | { readonly kind: 'nack-count'; readonly seq: number }
  | { readonly kind: 'relay-timeout'; readonly seq: number }
  /** The ping sent to another address that claims this node's name went unanswered. */
  | { readonly kind: 'owner-check'; readonly seq: number }
  | { readonly kind: 'gossip' }
  /** News was queued: a gossip round now, or as soon as the news rate limit allows (see Membership.broadcast). */
  | { readonly kind: 'gossip-news' }
  | { readonly kind: 'push-pull' }
  | { readonly kind: 'reconnect' }
  | { readonly kind: 'reap' }
  /** The state layer's anti-entropy: a summary to one member, wants asked again. */
  | { readonly kind: 'state-sync' }
  | {
      readonly kind: 'suspect-timeout';
      readonly member: string;
      readonly incarnation: number;
      readonly token: number;
    };

export type TimerKind = Timer['kind'];

/** A point-in-time copy of one member's entry, safe to keep. */
export interface MemberView {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly incarnation: number;
  readonly status: MemberStatus;
  readonly state: MemberState;
  /** The `now` at which the status last changed. */
  readonly changedAt: number;
}

/**
 * Membership events, in the order the state machine emits them. For one member the order is the
 * order of its transitions; `member-join` always precedes any other event about that member.
 */
export type MembershipEvent =
  /** A member appeared (or came back after dead/left with a higher incarnation). */
  | { readonly type: 'member-join'; readonly member: MemberView }
  /** Its address or state changed. */
  | { readonly type: 'member-update'; readonly member: MemberView }
  | { readonly type: 'member-suspect'; readonly member: MemberView; readonly from: string }
  /** A suspect member was confirmed alive again (it refuted). */
  | { readonly type: 'member-alive'; readonly member: MemberView }
  | { readonly type: 'member-dead'; readonly member: MemberView; readonly from: string }
  | { readonly type: 'member-leave'; readonly member: MemberView }
  /** Its tombstone was removed from the table. */
  | { readonly type: 'member-reap'; readonly member: MemberView }
  /**
   * A name is claimed from two addresses: `holder` keeps it (the address already in the table
   * while that member is alive or suspect, or this node when `name` is its own), `other` is
   * ignored. With `lost`, this node is `other`: another live process answers for its name and
   * keeps it, and this node has stopped (it sends nothing more); give it another name.
   */
  | { readonly type: 'member-conflict'; readonly name: string; readonly holder: Address; readonly other: Address; readonly incarnation: number; readonly lost?: true }
  /** This node heard itself suspected or declared dead and refuted with a higher incarnation. */
  | { readonly type: 'self-refute'; readonly incarnation: number; readonly accusedBy: string }
  /** A full-state exchange with `peer` completed; `join` is true for the answer to a join. */
  | { readonly type: 'push-pull-complete'; readonly peer: Address; readonly join: boolean; readonly members: number }
  /** The `left` message about this node has been sent its full retransmit budget. */
  | { readonly type: 'leave-disseminated' }
  /**
   * Entries of another node's state (src/state/) changed in this node's replica: each as it is
   * now, or a tombstone (`deleted`) for a key that is gone. The registry reads its instances here.
   * `member` is the node's entry in this node's table, when it has one (its liveness and address).
   */
  | { readonly type: 'state-update'; readonly node: string; readonly changed: readonly StateEntry[]; readonly member?: MemberView };

export type MembershipEventType = MembershipEvent['type'];

/** Why the core dropped a packet or a message in it (each also counted as `dropped.<reason>`). */
export const DROP_REASONS = [
  'empty',
  'too-large',
  'bad-version',
  'old-protocol',
  'malformed',
  'invalid-message',
  'too-many-messages',
  'too-many-members',
  'misdirected-ping',
  'push-pull-over-datagram',
  'relay-limit',
  'member-limit',
  'new-member-limit',
  'state-refused',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/**
 * What the core tells its runtime for diagnosis only (logs, warnings): never a change of the view,
 * so a runtime may ignore every report (the simulator does). Reports are not MembershipEvents, which
 * are the public, ordered history of the view.
 */
export type Report =
  /** A packet (or one message in it) was dropped; `detail` names the field when the codec knows it. */
  | { readonly kind: 'packet-dropped'; readonly from: Address; readonly channel: Channel; readonly bytes: number; readonly reason: DropReason; readonly detail?: string }
  /**
   * The probe of `member` got no ack over UDP within the probe timeout, and then an ack over the
   * stream fallback: UDP between the two nodes is probably blocked or an advertise address is wrong.
   */
  | { readonly kind: 'stream-probe-acked'; readonly member: string; readonly addr: Address }
  /**
   * Identity enforced: `count` unsigned records (alive, suspect, dead, push-pull records, state
   * entries) from `from` were dropped, as `identity.dropped.identity-unsigned` counts. A node that
   * signs nothing sent them (no identity, or `send-unsigned`), or a forger did. `source` is the
   * name a push-pull gave (a stream's `from` is its connection's port, not the gossip port).
   */
  | { readonly kind: 'unsigned-dropped'; readonly from: Address; readonly channel: Channel; readonly count: number; readonly source?: string }
  /**
   * The probe `seq` of `member` started: its ping went out in this input. With 'probe-acked' a
   * runtime times the round trip on its own clock (the core reads none).
   */
  | { readonly kind: 'probe-sent'; readonly seq: number; readonly member: string }
  /** The first ack of the probe `seq` arrived, by `path`. */
  | { readonly kind: 'probe-acked'; readonly seq: number; readonly member: string; readonly path: AckPath };

/**
 * How the ack of a probe came back: `direct` from the target over UDP (before the probe timeout,
 * or from the target's address), `indirect` through a ping-req relay after the timeout, `stream`
 * over the TCP fallback ping.
 */
export type AckPath = 'direct' | 'indirect' | 'stream';
export const ACK_PATHS: readonly AckPath[] = ['direct', 'indirect', 'stream'];

export type Effect =
  | { readonly type: 'send'; readonly to: Address; readonly packet: Uint8Array; readonly channel: Channel }
  | { readonly type: 'schedule'; readonly timer: Timer; readonly delayMs: number }
  | { readonly type: 'emit'; readonly event: MembershipEvent }
  | { readonly type: 'report'; readonly report: Report };
