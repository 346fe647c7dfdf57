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
}

/** The probe in flight (at most one at a time). */
interface Probe {
  readonly seq: number;
  readonly target: string;
  readonly targetAddr: Address;
  acked: boolean;
  /** The probe timeout fired: indirect and stream probes are out, so an ack may come through them. */
  timedOut: boolean;
  nacks: number;
  expectedNacks: number;
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
  private seq = 0;
  private probe: Probe | null = null;
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
    const target = t.nextProbeTarget(this.self);
    if (target === NONE) {
      this.out.schedule({ kind: 'probe' }, interval);
      return;
    }
    const seq = this.nextSeq();
    const targetName = t.name(target);
    const targetAddr = t.addr(target);
    this.probe = { seq, target: targetName, targetAddr, acked: false, timedOut: false, nacks: 0, expectedNacks: 0 };
    this.counters.probes++;
    this.out.report({ kind: 'probe-sent', seq, member: targetName });
    const parts: Uint8Array[] = [];
    if (t.status(target) === 'suspect') {
      // Buddy rule: tell the suspect, so that it can refute at once.
      parts.push(encodeMessage({ type: 'suspect', node: targetName, incarnation: t.incarnation(target), from: this.name }));
    }
    parts.push(this.encodePing(seq, targetName));
    this.out.sendDatagram(targetAddr, parts);
    this.out.schedule({ kind: 'probe-timeout', seq }, this.awareness.scale(this.opts.probeTimeoutMs));
    this.out.schedule({ kind: 'probe-end', seq }, interval);
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
    const peers = t.randomMembers(
      this.opts.indirectChecks,
      (s) => s !== this.self && t.status(s) === 'alive' && t.name(s) !== p.target,
    );
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
    p.expectedNacks = peers.length;
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
      // Lifeguard: missing nacks mean our own messages are not getting out; with nobody to nack,
      // any failed probe counts against our own health.
      const missed = p.expectedNacks > 0 ? p.expectedNacks - p.nacks : 1;
      if (missed > 0) this.awareness.apply(missed);
      this.unanswered(p.target, now);
    }
    this.start();
  }

  /** Answers a ping for this node with an ack carrying the digest, on the channel it came on. */
  onPing(from: Address, msg: PingMessage, channel: Channel): void {
    if (msg.target !== this.name) {
      this.out.drop('misdirected-ping');
      return;
    }
    this.out.reply(from, [encodeMessage({ type: 'ack', seq: msg.seq, digest: this.table.digest })], channel);
  }

  /** An ack from `from`: for the probe in flight, or for a relay, which forwards it to whoever asked. */
  onAck(from: Address, msg: AckMessage, channel: Channel, now: number): void {
    const p = this.probe;
    if (p !== null && p.seq === msg.seq) {
      // Only the fallback after a probe timeout pings over a stream.
      if (channel === 'stream') this.out.report({ kind: 'stream-probe-acked', member: p.target, addr: p.targetAddr });
      if (!p.acked) {
        p.acked = true;
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
