/**
 * The SWIM probe cycle, with Lifeguard's nacks and local health, and the indirect probes this node
 * relays for others.
 *
 * Each interval (scaled by the health score) the next member of the table's shuffled round-robin
 * order gets a ping; a suspect's ping carries the suspicion so that it can refute at once (the
 * buddy rule). No ack within the probe timeout: `indirectChecks` alive members are asked to ping it
 * (ping-req, nacking if they cannot reach it) and, with `streamFallbackProbe`, it is pinged over a
 * stream. Still no ack when the interval ends: the probe failed, and Membership suspects the target.
 * Expected nacks that did not come count against this node's own health.
 *
 * A relay pings the target under a sequence number of its own and forwards the ack; at most
 * MAX_RELAYS run at once. The prober owns its sequence numbers, the probe in flight and the relays;
 * it reads the member table and writes to the node's outbox, and tells Membership two things
 * through its context: a probe went unanswered, and an ack came with the target's digest.
 */
import type { AckMessage, Address, PingMessage, PingReqMessage } from '../wire/messages.js';
import { encodeMessage, encodePacket } from '../wire/codec.js';
import { sameAddress } from './state.js';
import type { AckPath, Channel } from './types.js';
import type { Awareness } from './awareness.js';
import type { MembershipCounters } from './counters.js';
import { NONE, type MemberTable } from './member-table.js';
import type { ResolvedOptions } from './options.js';
import type { Outbox } from './outbox.js';

/** Most indirect probes relayed at once; more are dropped and counted. */
export const MAX_RELAYS = 1024;

/** What the prober works with: Membership's table, options, health, outbox and counters. */
export interface ProbeContext {
  readonly name: string;
  readonly addr: Address;
  /** This node's slot in the table (never probed). */
  readonly self: number;
  readonly table: MemberTable;
  readonly opts: ResolvedOptions;
  readonly awareness: Awareness;
  readonly out: Outbox;
  readonly counters: MembershipCounters;
  /** The probe of `member` ended without an ack, direct or indirect. */
  readonly unanswered: (member: string, now: number) => void;
  /** The probed member answered (directly or through a relay) with its membership digest. */
  readonly acked: (peer: Address, digest: number, now: number) => void;
  /** Another address that claims this node's name answered a ping for it (checkOwner). */
  readonly ownerAnswered: (other: Address, now: number) => void;
  /** A ping shows `name` claimed from `other` while `holder` holds it (a name conflict). */
  readonly claimed: (name: string, holder: Address, other: Address, now: number) => void;
  /** With identity on: the buddy rule's suspect as it goes out (signed). */
  readonly accusation?: (name: string, incarnation: number) => Uint8Array;
}

/** The probe in flight (at most one at a time). */
interface Probe {
  readonly seq: number;
  readonly target: string;
  readonly targetAddr: Address;
  acked: boolean;
  /** The probe timeout fired: indirect and stream probes are out, so an ack may come through them. */
  timedOut: boolean;
  /** Suspected before the interval ended: its TCP ping was refused. */
  suspected: boolean;
  nacks: number;
  expectedNacks: number;
  /** Relays asked, heard from or not. */
  relays: number;
}

/** An indirect probe this node runs for another. */
interface Relay {
  readonly origin: Address;
  readonly originSeq: number;
  readonly nack: boolean;
}

export class Prober {
  private readonly name: string;
  private readonly addr: Address;
  private readonly self: number;
  private readonly table: MemberTable;
  private readonly opts: ResolvedOptions;
  private readonly awareness: Awareness;
  private readonly out: Outbox;
  private readonly counters: MembershipCounters;
  private readonly unanswered: ProbeContext['unanswered'];
  private readonly acked: ProbeContext['acked'];
  private readonly ownerAnswered: ProbeContext['ownerAnswered'];
  private readonly claimed: ProbeContext['claimed'];
  private readonly accusation: ((name: string, incarnation: number) => Uint8Array) | null;
  private seq = 0;
  /** The ping to another address that claims our name, awaiting its ack. */
  private ownerCheck: { readonly seq: number; readonly other: Address } | null = null;
  private probed = false;
  /** Accumulated share of probes owed to members not heard from (a probe is due at 1). */
  private unheardCredit = 0;
  private probe: Probe | null = null;
  /** The last failed probe, whose nacks are still counted until its nack-count timer. */
  private failed: Probe | null = null;
  private readonly relays = new Map<number, Relay>();
  private stopped = false;

  constructor(ctx: ProbeContext) {
    this.name = ctx.name;
    this.addr = ctx.addr;
    this.self = ctx.self;
    this.table = ctx.table;
    this.opts = ctx.opts;
    this.awareness = ctx.awareness;
    this.out = ctx.out;
    this.counters = ctx.counters;
    this.unanswered = ctx.unanswered;
    this.acked = ctx.acked;
    this.ownerAnswered = ctx.ownerAnswered;
    this.claimed = ctx.claimed;
    this.accusation = ctx.accusation ?? null;
  }

  /**
   * True once a peer has pinged this node by name at its own address: some view holds this
   * address for the name. A second process claiming a name the mesh already gives to another
   * address is never pinged.
   */
  get probedByPeers(): boolean {
    return this.probed;
  }

  /**
   * Pings `other`, which claims this node's name, for that name (one check at a time): an ack means
   * a live process there answers to it.
   */
  checkOwner(other: Address): void {
    if (this.stopped || this.ownerCheck !== null) return;
    const seq = this.nextSeq();
    this.ownerCheck = { seq, other };
    this.out.sendDatagram(other, [this.encodePing(seq, this.name)]);
    this.out.schedule({ kind: 'owner-check', seq }, this.opts.probeIntervalMs);
  }

  /** One ping to each of `slots` from this address under our name (a node that lost its name). */
  announceConflict(slots: readonly number[]): void {
    for (const s of slots) this.out.sendDatagram(this.table.addr(s), [this.encodePing(this.nextSeq(), this.table.name(s))]);
  }

  onOwnerCheckTimeout(seq: number): void {
    if (this.ownerCheck !== null && this.ownerCheck.seq === seq) this.ownerCheck = null;
  }

  /** Indirect probes in flight for other members. */
  get relaying(): number {
    return this.relays.size;
  }

  /** Probes the next member (the `probe` timer); with nobody to probe, tries again an interval later. */
  start(): void {
    if (this.stopped) return;
    const interval = this.awareness.scale(this.opts.probeIntervalMs);
    const t = this.table;
    // Members not heard from get their share of the probes, as in one round-robin over everyone,
    // but never more than every other probe: a view padded with members that never answer (made
    // up, or unreachable) cannot push the real ones' turns back without bound.
    const unheard = t.unheardCount;
    const heard = t.active - unheard;
    let lane: 'heard' | 'unheard' = 'heard';
    if (unheard > 0 && heard <= 1) lane = 'unheard';
    else if (unheard > 0) {
      this.unheardCredit += Math.min(0.5, unheard / (t.active - 1));
      if (this.unheardCredit >= 1) {
        this.unheardCredit -= 1;
        lane = 'unheard';
      }
    }
    let target = t.nextProbeTarget(this.self, lane);
    if (target === NONE && unheard > 0 && heard > 1) target = t.nextProbeTarget(this.self, lane === 'heard' ? 'unheard' : 'heard');
    if (target === NONE) {
      this.out.schedule({ kind: 'probe' }, interval);
      return;
    }
    const seq = this.nextSeq();
    const targetName = t.name(target);
    const targetAddr = t.addr(target);
    this.probe = { seq, target: targetName, targetAddr, acked: false, timedOut: false, suspected: false, nacks: 0, expectedNacks: 0, relays: 0 };
    this.counters.probes++;
    this.out.report({ kind: 'probe-sent', seq, member: targetName });
    const parts: Uint8Array[] = [];
    if (t.status(target) === 'suspect') {
      // Buddy rule: tell the suspect, so that it can refute at once.
      const accusation = this.accusation;
      parts.push(accusation === null ? encodeMessage({ type: 'suspect', node: targetName, incarnation: t.incarnation(target), from: this.name }) : accusation(targetName, t.incarnation(target)));
    }
    parts.push(this.encodePing(seq, targetName));
    this.out.sendDatagram(targetAddr, parts);
    this.out.schedule({ kind: 'probe-timeout', seq }, this.awareness.scale(this.opts.probeTimeoutMs));
    this.out.schedule({ kind: 'probe-end', seq }, interval);
  }

  /**
   * The TCP ping of the probe in flight was refused: the member's host answered that nothing
   * listens at its address, which is what a crashed agent process (kill -9, a crash, an OOM kill)
   * on a live host looks like. With the UDP probe already timed out, that is an answer, so the
   * member is suspected now rather than when the interval ends (half an interval sooner in the
   * lan profile). Only a refusal counts: a dial that times out (a host down, a partition) proves
   * nothing, and waits for the interval as SWIM does. An ack that still arrives (a relay got
   * through) ends the probe as answered, and the member, told by the buddy rule, refutes. The
   * probing rate does not change: the next probe still starts when the interval ends.
   */
  onStreamRefused(to: Address, now: number): void {
    const p = this.probe;
    if (p === null || !p.timedOut || p.acked || p.suspected || !sameAddress(p.targetAddr, to)) return;
    p.suspected = true;
    this.counters.refusedStreamProbes++;
    this.unanswered(p.target, now);
  }

  /** Probes no more (a leave); the probe in flight is forgotten. Relays for others go on. */
  stop(): void {
    this.stopped = true;
    this.probe = null;
  }

  /** No direct ack within the probe timeout: ask others to probe, and try the stream. */
  onTimeout(seq: number): void {
    const p = this.probe;
    if (p === null || p.seq !== seq || p.acked) return;
    p.timedOut = true;
    const t = this.table;
    // Relays among members heard from: a relay that never answers would count against our health.
    const usable = (s: number): boolean => s !== this.self && t.status(s) === 'alive' && t.name(s) !== p.target;
    const peers = t.randomMembers(this.opts.indirectChecks, (s) => usable(s) && t.heard(s));
    const expected = peers.length;
    if (peers.length < this.opts.indirectChecks) {
      for (const s of t.randomMembers(this.opts.indirectChecks - peers.length, (x) => usable(x) && !t.heard(x))) peers.push(s);
    }
    for (const peer of peers) {
      this.counters.indirectProbes++;
      this.out.sendDatagram(t.addr(peer), [
        encodeMessage({
          type: 'ping-req',
          seq,
          target: p.target,
          targetAddr: p.targetAddr,
          source: this.name,
          sourceAddr: this.addr,
          nack: true,
        }),
      ]);
    }
    // Only the nacks of members heard from are expected: the others may not exist.
    p.expectedNacks = expected;
    p.relays = peers.length;
    if (this.opts.streamFallbackProbe) {
      this.counters.streamProbes++;
      this.out.send(p.targetAddr, encodePacket([this.encodePing(seq, p.target)]), 'stream');
    }
  }

  /** The interval is over: the probe succeeded or failed, Lifeguard's health learns which, and the next starts. */
  onEnd(seq: number, now: number): void {
    const p = this.probe;
    if (p === null || p.seq !== seq) return;
    this.probe = null;
    if (p.acked) {
      this.awareness.apply(-1);
    } else {
      this.counters.probeFailures++;
      if (!p.suspected) this.unanswered(p.target, now);
      // Lifeguard's verdict on our own health waits for the nacks: a relay nacks one probe timeout
      // after it was asked, which is about when this interval ends, so counting them now would
      // miss most of them and blame ourselves for every real failure.
      this.countNacks(this.failed);
      this.failed = p;
      this.out.schedule({ kind: 'nack-count', seq }, Math.ceil(this.opts.probeTimeoutMs / 2));
    }
    this.start();
  }

  /** Answers a ping for this node with an ack carrying the digest, on the channel it came on. */
  onPing(from: Address, msg: PingMessage, channel: Channel, now: number): void {
    if (msg.target !== this.name) {
      this.out.drop('misdirected-ping');
      return;
    }
    if (msg.source === this.name) {
      // Another process with our name checks whether we answer to it (checkOwner): we do.
      if (!sameAddress(msg.sourceAddr, this.addr)) this.claimed(msg.source, this.addr, msg.sourceAddr, now);
    } else {
      this.probed = true;
      const slot = this.table.slotOf(msg.source);
      // A member whose ping comes from where our view holds it (the datagram's own source) is there.
      if (slot !== NONE && sameAddress(this.table.addr(slot), from)) this.table.setHeard(slot);
      // A member pinging from an address other than the one our view holds for its name.
      else if (slot !== NONE) {
        const status = this.table.status(slot);
        if (status === 'alive' || status === 'suspect') this.claimed(msg.source, this.table.addr(slot), msg.sourceAddr, now);
      }
    }
    this.out.reply(from, [encodeMessage({ type: 'ack', seq: msg.seq, digest: this.table.digest })], channel);
  }

  /** An ack from `from`: for the probe in flight, or for a relay, which forwards it to whoever asked. */
  onAck(from: Address, msg: AckMessage, channel: Channel, now: number): void {
    const check = this.ownerCheck;
    if (check !== null && check.seq === msg.seq) {
      this.ownerCheck = null;
      this.ownerAnswered(check.other, now);
      return;
    }
    const p = this.probe;
    if (p !== null && p.seq === msg.seq) {
      // Only the fallback after a probe timeout pings over a stream.
      if (channel === 'stream') this.out.report({ kind: 'stream-probe-acked', member: p.target, addr: p.targetAddr });
      if (!p.acked) {
        p.acked = true;
        const slot = this.table.slotOf(p.target);
        if (slot !== NONE) this.table.setHeard(slot);
        // Relays are asked only once the probe timed out, and forward the ack from their own address.
        const path: AckPath = channel === 'stream' ? 'stream' : !p.timedOut || sameAddress(from, p.targetAddr) ? 'direct' : 'indirect';
        this.out.report({ kind: 'probe-acked', seq: p.seq, member: p.target, path });
        this.acked(p.targetAddr, msg.digest, now);
      }
      return;
    }
    const relay = this.relays.get(msg.seq);
    if (relay !== undefined) {
      this.relays.delete(msg.seq);
      this.out.sendDatagram(relay.origin, [encodeMessage({ type: 'ack', seq: relay.originSeq, digest: msg.digest })]);
    }
  }

  /** A relay could not reach the target of our probe in time: the failure is more likely the target's. */
  onNack(seq: number): void {
    if (this.probe !== null && this.probe.seq === seq) this.probe.nacks++;
    else if (this.failed !== null && this.failed.seq === seq) this.failed.nacks++;
  }

  /** The nack-count timer of a failed probe. */
  onNackCount(seq: number): void {
    if (this.failed === null || this.failed.seq !== seq) return;
    this.countNacks(this.failed);
    this.failed = null;
  }

  /**
   * Lifeguard: missing nacks mean our own messages are not getting out; with nobody to ask, any
   * failed probe counts against our own health. Relays not heard from are asked, but their silence
   * is no evidence against us (they may not exist).
   */
  private countNacks(p: Probe | null): void {
    if (p === null) return;
    const missed = p.expectedNacks > 0 ? p.expectedNacks - p.nacks : p.relays > 0 ? 0 : 1;
    if (missed > 0) this.awareness.apply(missed);
  }

  /** Another member asks this node to probe `msg.target` for it. */
  onPingReq(from: Address, msg: PingReqMessage): void {
    if (this.relays.size >= MAX_RELAYS) {
      this.out.drop('relay-limit');
      return;
    }
    const seq = this.nextSeq();
    this.relays.set(seq, { origin: from, originSeq: msg.seq, nack: msg.nack });
    this.counters.relayedProbes++;
    this.out.sendDatagram(msg.targetAddr, [this.encodePing(seq, msg.target)]);
    this.out.schedule({ kind: 'relay-timeout', seq }, this.opts.probeTimeoutMs);
  }

  /** The relayed probe got no ack in time: nack if asked to. */
  onRelayTimeout(seq: number): void {
    const relay = this.relays.get(seq);
    if (relay === undefined) return;
    this.relays.delete(seq);
    if (relay.nack) {
      this.counters.nacksSent++;
      this.out.sendDatagram(relay.origin, [encodeMessage({ type: 'nack', seq: relay.originSeq })]);
    }
  }

  private encodePing(seq: number, target: string): Uint8Array {
    return encodeMessage({ type: 'ping', seq, target, source: this.name, sourceAddr: this.addr });
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }
}
