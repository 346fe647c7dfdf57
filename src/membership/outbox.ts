/**
 * Where one input's effects collect, in order, until the input returns them: packets to send,
 * timers to schedule, events to emit and reports for the runtime's log. Membership and its prober
 * write to the same outbox; it counts what goes out and what is dropped.
 */
import type { Address } from '../wire/messages.js';
import { encodePacket, packetOverheadBytes } from '../wire/codec.js';
import type { Channel, DropReason, Effect, MembershipEvent, Report, Timer } from './types.js';
import type { MembershipCounters } from './counters.js';
import type { ResolvedOptions } from './options.js';
import type { BroadcastQueue } from './broadcast-queue.js';
import { countStateBytes } from './state-bytes.js';
import type { MemberTable } from './member-table.js';
import { retransmitLimit } from './math.js';

/** Framing reserved in every datagram: version byte and the largest array header. */
export const FRAMING_BYTES = packetOverheadBytes(0xffff);

/** The packet being handled, for reports of what is dropped from it. */
export interface InboundPacket {
  readonly from: Address;
  readonly channel: Channel;
  readonly bytes: number;
}

export class Outbox {
  /** Set by handlePacket while it works on a packet. */
  packet: InboundPacket | null = null;
  private effects: Effect[] = [];
  private readonly opts: ResolvedOptions;
  private readonly table: MemberTable;
  private readonly queue: BroadcastQueue;
  private readonly counters: MembershipCounters;

  constructor(opts: ResolvedOptions, table: MemberTable, queue: BroadcastQueue, counters: MembershipCounters) {
    this.opts = opts;
    this.table = table;
    this.queue = queue;
    this.counters = counters;
  }

  /** How often each change is piggybacked, for the cluster known now. */
  retransmitLimit(): number {
    return retransmitLimit(this.opts.retransmitMult, this.table.size);
  }

  send(to: Address, packet: Uint8Array, channel: Channel): void {
    this.counters.packetsOut++;
    this.counters.bytesOut += packet.length;
    this.effects.push({ type: 'send', to, packet, channel });
  }

  /** Sends `parts` in one datagram, filling the rest of the budget with queued gossip. */
  sendDatagram(to: Address, parts: Uint8Array[]): void {
    let used = FRAMING_BYTES;
    for (const p of parts) used += p.length;
    this.queue.take(this.opts.maxPacketBytes - used, this.retransmitLimit(), parts);
    this.sendDirect(to, parts);
  }

  /**
   * Sends `parts` in one datagram as they are, adding no queued gossip (the gossip round's own
   * packets, already taken from the queue; and messages addressed to one node because of what it
   * asked or holds: state-layer requests and answers). Gossip piggybacked on the latter spends
   * its retransmit budget on whoever is catching up instead of random members: in a burst of joins
   * with state (every node announcing its tags), those sends made up enough of every change's
   * budget that some members never heard of a joiner until the digest sync's push-pull, 2.6 s
   * later (the simulator, N = 60 joining one seed 17 ms apart: half of 20 seeds converged about
   * 3 s after the last join, against 0.3 s with this). Probes and acks, whose targets are random,
   * still carry gossip.
   */
  sendDirect(to: Address, parts: readonly Uint8Array[]): void {
    for (const p of parts) countStateBytes(this.counters, p);
    this.send(to, encodePacket(parts), 'datagram');
  }

  /** Answers on the channel the request came in on (a stream ping is answered on the stream). */
  reply(to: Address, parts: Uint8Array[], channel: Channel): void {
    if (channel === 'datagram') this.sendDatagram(to, parts);
    else this.send(to, encodePacket(parts), 'stream');
  }

  schedule(timer: Timer, delayMs: number): void {
    this.effects.push({ type: 'schedule', timer, delayMs });
  }

  emit(event: MembershipEvent): void {
    this.effects.push({ type: 'emit', event });
  }

  report(report: Report): void {
    this.effects.push({ type: 'report', report });
  }

  /** Counts a dropped packet (or `count` messages or records of it) and, inside handlePacket, reports it with its source. */
  drop(reason: DropReason, detail?: string, count = 1): void {
    this.counters[`dropped.${reason}`] += count;
    const p = this.packet;
    if (p !== null) this.report({ kind: 'packet-dropped', from: p.from, channel: p.channel, bytes: p.bytes, reason, ...(detail === undefined || detail === '' ? {} : { detail }) });
  }

  /** The effects so far, in order; the outbox starts empty again. */
  flush(): Effect[] {
    const effects = this.effects;
    this.effects = [];
    return effects;
  }
}
