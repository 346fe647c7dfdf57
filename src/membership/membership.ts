/**
 * The SWIM + Lifeguard membership state machine, sans-I/O (as the Rust crate foca).
 *
 * Every input carries the time and returns Effects: packets to send, timers to schedule and events
 * to emit. The runtime (agent/ with UDP, TCP and setTimeout; sim/ with a virtual network and an
 * event heap) carries them out. Timers are data and stale ones are no-ops, so nothing is cancelled.
 *
 * The protocol, in brief (DESIGN.md, "Protocol essentials"):
 * - Probe: each interval the next member of a shuffled round-robin order gets a ping; no ack within
 *   the timeout → ping-req through `indirectChecks` members (who nack if they cannot reach it) and a
 *   stream ping; still nothing when the interval ends → suspect.
 * - Suspicion expires into dead after a Lifeguard timeout that shrinks with independent
 *   confirmations; the suspect refutes by raising its incarnation. A probe of a suspect carries
 *   the suspicion (the buddy rule) so that it can refute at once.
 * - Changes are queued and piggybacked on every datagram; a gossip timer sends piggyback-only
 *   packets to a few random members (and to recently dead ones).
 * - Full-state push-pull over a stream on join and periodically; dead (not left) members are
 *   contacted for `reconnectTimeoutMs` so that a healed partition merges back.
 */
import type {
  AliveMessage,
  Address,
  DeadMessage,
  MemberRecord,
  MemberState,
  MemberStatus,
  Message,
  PushPullMessage,
  SuspectMessage,
} from '../wire/messages.js';
import { decodePacket, encodeMessage, encodePacket, packetOverheadBytes } from '../wire/codec.js';
import type { Channel, Effect, MemberView, MembershipEvent, Random, Timer } from './types.js';
import type { ResolvedOptions } from './options.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { Member, MemberTable, type Suspicion } from './member-table.js';
import {
  expectedConfirmations,
  pushPullIntervalMs,
  retransmitLimit,
  suspicionMinTimeoutMs,
  suspicionTimeoutMs,
} from './math.js';
import { NotRunningError, StateTooLargeError } from '../errors.js';
import { stateEquals, sameAddress, EMPTY_STATE } from './state.js';

export interface MembershipConfig {
  /** Unique name of this node in the cluster. */
  readonly name: string;
  /** The address other members reach this node at (the advertise address). */
  readonly addr: Address;
  /** Initial tags and payload. */
  readonly state?: MemberState;
  /** Starting incarnation (a restarted node may pass the last one it knew). @default 0 */
  readonly incarnation?: number;
  readonly options: ResolvedOptions;
  readonly random: Random;
}

/** The probe in flight (at most one at a time). */
interface Probe {
  readonly seq: number;
  readonly target: string;
  readonly targetAddr: Address;
  acked: boolean;
  nacks: number;
  expectedNacks: number;
}

/** An indirect probe this node runs for another. */
interface Relay {
  readonly origin: Address;
  readonly originSeq: number;
  readonly nack: boolean;
}

/** Reap tombstones this often. */
const REAP_INTERVAL_MS = 5000;
/** Most indirect probes relayed at once; more are dropped and counted. */
const MAX_RELAYS = 1024;
/** Framing reserved in every datagram: version byte and the largest array header. */
const FRAMING_BYTES = packetOverheadBytes(0xffff);

/** Counter names, all present from the start. */
const COUNTER_NAMES = [
  'packetsIn',
  'packetsOut',
  'bytesIn',
  'bytesOut',
  'messagesIn',
  'probes',
  'probeFailures',
  'indirectProbes',
  'streamProbes',
  'relayedProbes',
  'nacksSent',
  'suspicionsRaised',
  'confirmations',
  'deathsDeclared',
  'refutations',
  'pushPullsSent',
  'pushPullsReceived',
  'reconnects',
  'gossipPackets',
  'reaped',
  'dropped.empty',
  'dropped.too-large',
  'dropped.bad-version',
  'dropped.malformed',
  'dropped.invalid-message',
  'dropped.too-many-messages',
  'dropped.too-many-members',
  'dropped.misdirected-ping',
  'dropped.push-pull-over-datagram',
  'dropped.relay-limit',
  'dropped.member-limit',
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];
export type MembershipCounters = Record<CounterName, number>;

export class Membership {
  readonly name: string;
  readonly addr: Address;
  readonly counters: MembershipCounters;

  private readonly opts: ResolvedOptions;
  private readonly random: Random;
  private readonly table: MemberTable;
  private readonly self: Member;
  private readonly queue: BroadcastQueue;
  private readonly awareness: Awareness;
  private out: Effect[] = [];
  private seq = 0;
  private suspicionToken = 0;
  private probe: Probe | null = null;
  private readonly relays = new Map<number, Relay>();
  /** Lifeguard bookkeeping of the members currently suspect. */
  private readonly suspicions = new Map<string, Suspicion>();
  private started = false;
  private leaving = false;

  constructor(config: MembershipConfig) {
    this.name = config.name;
    this.addr = { host: config.addr.host, port: config.addr.port };
    this.opts = config.options;
    this.random = config.random;
    this.table = new MemberTable(config.random);
    this.awareness = new Awareness(config.options.awarenessMaxMultiplier);
    this.queue = new BroadcastQueue((_key, tag) => {
      if (tag === 'leave') this.emit({ type: 'leave-disseminated' });
    });
    const counters = {} as MembershipCounters;
    for (const c of COUNTER_NAMES) counters[c] = 0;
    this.counters = counters;
    const state = config.state ?? EMPTY_STATE;
    this.checkStateSize(state);
    this.self = new Member(this.name, this.addr, config.incarnation ?? 0, 'alive', state, 0);
    this.table.add(this.self);
  }

  // ---------------------------------------------------------------- queries

  get incarnation(): number {
    return this.self.incarnation;
  }

  /** True once leave() was called. */
  get left(): boolean {
    return this.leaving;
  }

  /** Lifeguard's local health score (0 is healthy). */
  get healthScore(): number {
    return this.awareness.healthScore;
  }

  /** Changes waiting to be piggybacked. */
  get queuedBroadcasts(): number {
    return this.queue.size;
  }

  /** Number of entries in the table, self and tombstones included. */
  get size(): number {
    return this.table.size;
  }

  /** Members that are alive or suspect, self included. */
  get activeCount(): number {
    return this.table.active;
  }

  /** Every entry, self and tombstones included, as copies. */
  members(): MemberView[] {
    const out: MemberView[] = [];
    for (const m of this.table.values()) out.push(m.view());
    return out;
  }

  member(name: string): MemberView | undefined {
    return this.table.get(name)?.view();
  }

  /** The status this node holds for `name`, without allocating. */
  statusOf(name: string): MemberStatus | undefined {
    return this.table.get(name)?.status;
  }

  /** The full state as push-pull records (also what a data-dir snapshot stores). */
  records(): MemberRecord[] {
    const out: MemberRecord[] = [];
    for (const m of this.table.values()) {
      out.push({ node: m.name, addr: m.addr, incarnation: m.incarnation, status: m.status, state: m.state });
    }
    return out;
  }

  // ---------------------------------------------------------------- inputs

  /** Starts the protocol timers, each with a random stagger so that nodes do not beat in step. */
  start(_now: number): Effect[] {
    if (!this.started) {
      this.started = true;
      const o = this.opts;
      this.schedule({ kind: 'probe' }, this.random.int(o.probeIntervalMs));
      this.schedule({ kind: 'gossip' }, this.random.int(o.gossipIntervalMs));
      if (o.pushPullIntervalMs > 0) this.schedule({ kind: 'push-pull' }, this.random.int(o.pushPullIntervalMs));
      if (o.reconnectIntervalMs > 0) this.schedule({ kind: 'reconnect' }, this.random.int(o.reconnectIntervalMs));
      this.schedule({ kind: 'reap' }, REAP_INTERVAL_MS);
    }
    return this.flush();
  }

  /** Sends a full-state join exchange to each seed; `push-pull-complete` events report answers. */
  join(seeds: readonly Address[], _now: number): Effect[] {
    if (this.leaving) throw new NotRunningError('join');
    for (const seed of seeds) {
      if (seed.host === this.addr.host && seed.port === this.addr.port) continue;
      this.sendPushPull(seed, true, false);
    }
    return this.flush();
  }

  /** Handles one packet from the network. Bad packets are dropped and counted, never thrown. */
  handlePacket(from: Address, packet: Uint8Array, channel: Channel, now: number): Effect[] {
    this.counters.packetsIn++;
    this.counters.bytesIn += packet.length;
    const maxBytes = channel === 'stream' ? this.opts.maxStreamBytes : 65_535;
    const result = decodePacket(packet, { maxPacketBytes: maxBytes, maxMembers: this.opts.maxMembers });
    if (!result.ok) {
      this.counters[`dropped.${result.error.code}` as CounterName]++;
      return this.flush();
    }
    for (const msg of result.messages) {
      this.counters.messagesIn++;
      this.dispatch(from, msg, channel, now);
    }
    return this.flush();
  }

  handleTimer(timer: Timer, now: number): Effect[] {
    switch (timer.kind) {
      case 'probe':
        this.startProbe();
        break;
      case 'probe-timeout':
        this.onProbeTimeout(timer.seq);
        break;
      case 'probe-end':
        this.onProbeEnd(timer.seq, now);
        break;
      case 'relay-timeout':
        this.onRelayTimeout(timer.seq);
        break;
      case 'gossip':
        this.gossip(now);
        this.schedule({ kind: 'gossip' }, this.opts.gossipIntervalMs);
        break;
      case 'push-pull':
        if (!this.leaving) {
          const peer = this.table.randomMembers(1, (m) => m !== this.self && m.status === 'alive')[0];
          if (peer !== undefined) this.sendPushPull(peer.addr, false, false);
          this.schedule({ kind: 'push-pull' }, pushPullIntervalMs(this.opts.pushPullIntervalMs, this.table.active));
        }
        break;
      case 'reconnect':
        if (!this.leaving) {
          const window = this.opts.reconnectTimeoutMs;
          const peer = this.table.randomDead((m) => now - m.changedAt < window);
          if (peer !== null) {
            this.counters.reconnects++;
            this.sendPushPull(peer.addr, false, false);
          }
          this.schedule({ kind: 'reconnect' }, this.opts.reconnectIntervalMs);
        }
        break;
      case 'reap':
        this.reap(now);
        this.schedule({ kind: 'reap' }, REAP_INTERVAL_MS);
        break;
      case 'suspect-timeout':
        this.onSuspectTimeout(timer.member, timer.incarnation, timer.token, now);
        break;
    }
    return this.flush();
  }

  /**
   * Leaves gracefully: spreads `left` about this node (a `dead` whose `from` is itself) and stops
   * probing; it keeps gossiping so that the news gets out. `leave-disseminated` is emitted once the
   * message has been sent its full retransmit budget (at once when there is nobody to tell).
   */
  leave(now: number): Effect[] {
    if (this.leaving) return this.flush();
    this.leaving = true;
    this.probe = null;
    const msg: DeadMessage = { type: 'dead', node: this.name, incarnation: this.self.incarnation, from: this.name };
    this.table.setStatus(this.self, 'left', now);
    const othersActive = this.table.active > 0;
    if (othersActive) {
      this.queue.enqueue(this.name, encodeMessage(msg), 'leave');
      this.gossip(now);
    } else {
      this.emit({ type: 'leave-disseminated' });
    }
    return this.flush();
  }

  /**
   * Changes this node's tags and payload: a new incarnation, spread as an alive message.
   * Throws StateTooLargeError when it would not fit one datagram.
   */
  setLocalState(state: MemberState, now: number): Effect[] {
    if (this.leaving) throw new NotRunningError('setLocalState');
    this.checkStateSize(state);
    this.self.state = state;
    this.self.incarnation++;
    this.self.changedAt = now;
    this.broadcastSelfAlive();
    this.emit({ type: 'member-update', member: this.self.view() });
    return this.flush();
  }

  /**
   * Seeds the table from records (a data-dir snapshot, or a simulator building a converged
   * cluster) through the precedence rules, without gossip, timers or events. A record about this
   * node is ignored. Suspect records are taken as alive: a suspicion is only ever raised live.
   */
  restore(records: readonly MemberRecord[], now: number): void {
    for (const r of records) {
      if (r.node === this.name) continue;
      const status: MemberStatus = r.status === 'suspect' ? 'alive' : r.status;
      const m = this.table.get(r.node);
      if (m === undefined) {
        if (this.table.size >= this.opts.maxMembers) {
          this.counters['dropped.member-limit']++;
          continue;
        }
        this.table.add(new Member(r.node, r.addr, r.incarnation, status, r.state, now));
      } else if (r.incarnation > m.incarnation) {
        m.incarnation = r.incarnation;
        m.addr = r.addr;
        m.state = r.state;
        this.suspicions.delete(m.name);
        this.table.setStatus(m, status, now);
      }
    }
  }

  // ---------------------------------------------------------------- dispatch

  private dispatch(from: Address, msg: Message, channel: Channel, now: number): void {
    switch (msg.type) {
      case 'ping':
        if (msg.target !== this.name) {
          this.counters['dropped.misdirected-ping']++;
          return;
        }
        this.reply(from, [encodeMessage({ type: 'ack', seq: msg.seq })], channel);
        return;
      case 'ping-req':
        this.onPingReq(from, msg.seq, msg.target, msg.targetAddr, msg.nack);
        return;
      case 'ack':
        this.onAck(msg.seq);
        return;
      case 'nack':
        if (this.probe !== null && this.probe.seq === msg.seq) this.probe.nacks++;
        return;
      case 'alive':
        this.onAlive(msg, now);
        return;
      case 'suspect':
        this.onSuspect(msg, now);
        return;
      case 'dead':
        this.onDead(msg, now);
        return;
      case 'push-pull':
        if (channel !== 'stream') {
          this.counters['dropped.push-pull-over-datagram']++;
          return;
        }
        this.onPushPull(from, msg, now);
        return;
    }
  }

  // ---------------------------------------------------------------- probing

  private startProbe(): void {
    if (this.leaving) return;
    const interval = this.awareness.scale(this.opts.probeIntervalMs);
    const target = this.table.nextProbeTarget(this.self);
    if (target === null) {
      this.schedule({ kind: 'probe' }, interval);
      return;
    }
    const seq = this.nextSeq();
    const targetAddr = target.addr;
    this.probe = { seq, target: target.name, targetAddr, acked: false, nacks: 0, expectedNacks: 0 };
    this.counters.probes++;
    const parts: Uint8Array[] = [];
    if (target.status === 'suspect') {
      // Buddy rule: tell the suspect, so that it can refute at once.
      parts.push(encodeMessage({ type: 'suspect', node: target.name, incarnation: target.incarnation, from: this.name }));
    }
    parts.push(this.encodePing(seq, target.name));
    this.sendDatagram(targetAddr, parts);
    this.schedule({ kind: 'probe-timeout', seq }, this.awareness.scale(this.opts.probeTimeoutMs));
    this.schedule({ kind: 'probe-end', seq }, interval);
  }

  private onProbeTimeout(seq: number): void {
    const p = this.probe;
    if (p === null || p.seq !== seq || p.acked) return;
    const peers = this.table.randomMembers(
      this.opts.indirectChecks,
      (m) => m !== this.self && m.status === 'alive' && m.name !== p.target,
    );
    for (const peer of peers) {
      this.counters.indirectProbes++;
      this.sendDatagram(peer.addr, [
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
      this.send(p.targetAddr, encodePacket([this.encodePing(seq, p.target)]), 'stream');
    }
  }

  private onProbeEnd(seq: number, now: number): void {
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
      const m = this.table.get(p.target);
      if (m !== undefined && (m.status === 'alive' || m.status === 'suspect')) {
        this.onSuspect({ type: 'suspect', node: m.name, incarnation: m.incarnation, from: this.name }, now);
      }
    }
    this.startProbe();
  }

  private onAck(seq: number): void {
    const p = this.probe;
    if (p !== null && p.seq === seq) {
      p.acked = true;
      return;
    }
    const relay = this.relays.get(seq);
    if (relay !== undefined) {
      this.relays.delete(seq);
      this.sendDatagram(relay.origin, [encodeMessage({ type: 'ack', seq: relay.originSeq })]);
    }
  }

  private onPingReq(from: Address, originSeq: number, target: string, targetAddr: Address, nack: boolean): void {
    if (this.relays.size >= MAX_RELAYS) {
      this.counters['dropped.relay-limit']++;
      return;
    }
    const seq = this.nextSeq();
    this.relays.set(seq, { origin: from, originSeq, nack });
    this.counters.relayedProbes++;
    this.sendDatagram(targetAddr, [this.encodePing(seq, target)]);
    this.schedule({ kind: 'relay-timeout', seq }, this.opts.probeTimeoutMs);
  }

  private onRelayTimeout(seq: number): void {
    const relay = this.relays.get(seq);
    if (relay === undefined) return;
    this.relays.delete(seq);
    if (relay.nack) {
      this.counters.nacksSent++;
      this.sendDatagram(relay.origin, [encodeMessage({ type: 'nack', seq: relay.originSeq })]);
    }
  }

  // ---------------------------------------------------------------- state changes

  private onAlive(msg: AliveMessage, now: number): void {
    if (msg.node === this.name) {
      this.onAliveAboutSelf(msg, now);
      return;
    }
    const m = this.table.get(msg.node);
    if (m === undefined) {
      if (this.table.size >= this.opts.maxMembers) {
        this.counters['dropped.member-limit']++;
        return;
      }
      const added = new Member(msg.node, msg.addr, msg.incarnation, 'alive', msg.state, now);
      this.table.add(added);
      this.broadcast(msg.node, msg);
      this.emit({ type: 'member-join', member: added.view() });
      return;
    }
    // alive(i) beats alive|suspect|dead|left(j) only if i > j.
    if (msg.incarnation <= m.incarnation) return;
    const previous = m.status;
    const changed = !sameAddress(m.addr, msg.addr) || !stateEquals(m.state, msg.state);
    m.incarnation = msg.incarnation;
    if (!sameAddress(m.addr, msg.addr)) m.addr = msg.addr;
    m.state = msg.state;
    this.suspicions.delete(m.name);
    this.table.setStatus(m, 'alive', now);
    this.broadcast(msg.node, msg);
    if (previous === 'dead' || previous === 'left') {
      this.emit({ type: 'member-join', member: m.view() });
    } else {
      if (previous === 'suspect') this.emit({ type: 'member-alive', member: m.view() });
      if (changed) this.emit({ type: 'member-update', member: m.view() });
    }
  }

  private onAliveAboutSelf(msg: AliveMessage, _now: number): void {
    if (this.leaving || msg.incarnation < this.self.incarnation) return;
    const same =
      msg.incarnation === this.self.incarnation &&
      msg.addr.host === this.addr.host &&
      msg.addr.port === this.addr.port &&
      stateEquals(msg.state, this.self.state);
    if (same) return;
    // Somebody spreads an alive about us that is not ours (an older instance of this node, or a
    // forgery): outbid it.
    this.refute(msg.incarnation, msg.node);
  }

  private onSuspect(msg: SuspectMessage, now: number): void {
    if (msg.node === this.name) {
      if (!this.leaving && msg.incarnation >= this.self.incarnation) this.refute(msg.incarnation, msg.from);
      return;
    }
    const m = this.table.get(msg.node);
    if (m === undefined || msg.incarnation < m.incarnation) return;
    // dead|left(j) beat suspect(i) for i <= j; a higher incarnation would have come as an alive.
    if (m.status === 'dead' || m.status === 'left') return;
    if (m.status === 'suspect' && msg.incarnation === m.incarnation) {
      this.confirm(m, msg, now);
      return;
    }
    // suspect(i) beats alive(j) for i >= j and suspect(j) for i > j.
    m.incarnation = msg.incarnation;
    this.table.setStatus(m, 'suspect', now);
    const n = this.table.active;
    const minMs = suspicionMinTimeoutMs(this.opts.suspicionMult, n, this.opts.probeIntervalMs);
    const maxMs = this.opts.suspicionMaxTimeoutMult * minMs;
    const expected = expectedConfirmations(this.opts.suspicionMult, n);
    const token = ++this.suspicionToken;
    this.suspicions.set(m.name, { incarnation: m.incarnation, from: msg.from, confirmers: new Set(), startedAt: now, minMs, maxMs, expected, token });
    this.schedule(
      { kind: 'suspect-timeout', member: m.name, incarnation: m.incarnation, token },
      suspicionTimeoutMs(minMs, maxMs, 0, expected),
    );
    this.counters.suspicionsRaised++;
    this.broadcast(m.name, msg);
    this.emit({ type: 'member-suspect', member: m.view(), from: msg.from });
  }

  /** Lifeguard: an independent confirmation shortens the suspicion and is passed on. */
  private confirm(m: Member, msg: SuspectMessage, now: number): void {
    const s = this.suspicions.get(m.name);
    if (s === undefined || msg.from === s.from || s.confirmers.has(msg.from)) return;
    if (s.confirmers.size >= s.expected) return;
    s.confirmers.add(msg.from);
    this.counters.confirmations++;
    const timeout = suspicionTimeoutMs(s.minMs, s.maxMs, s.confirmers.size, s.expected);
    s.token = ++this.suspicionToken;
    this.schedule(
      { kind: 'suspect-timeout', member: m.name, incarnation: m.incarnation, token: s.token },
      Math.max(0, s.startedAt + timeout - now),
    );
    this.broadcast(m.name, msg);
  }

  private onSuspectTimeout(name: string, incarnation: number, token: number, now: number): void {
    const m = this.table.get(name);
    if (m === undefined || m.status !== 'suspect' || m.incarnation !== incarnation) return;
    const s = this.suspicions.get(name);
    if (s === undefined || s.token !== token) return;
    this.counters.deathsDeclared++;
    this.onDead({ type: 'dead', node: name, incarnation, from: this.name }, now);
  }

  private onDead(msg: DeadMessage, now: number): void {
    const isLeave = msg.from === msg.node;
    if (msg.node === this.name) {
      if (!this.leaving && msg.incarnation >= this.self.incarnation) this.refute(msg.incarnation, msg.from);
      return;
    }
    const m = this.table.get(msg.node);
    if (m === undefined || msg.incarnation < m.incarnation) return;
    if (m.status === 'left') return;
    if (m.status === 'dead' && !isLeave) return;
    // dead|left(i) beat anything with j <= i; a leave also turns a dead entry into left.
    m.incarnation = msg.incarnation;
    this.suspicions.delete(m.name);
    this.table.setStatus(m, isLeave ? 'left' : 'dead', now);
    this.broadcast(m.name, msg);
    if (isLeave) this.emit({ type: 'member-leave', member: m.view() });
    else this.emit({ type: 'member-dead', member: m.view(), from: msg.from });
  }

  /** Outbids an accusation (or a foreign alive) about this node with a higher incarnation. */
  private refute(accused: number, by: string): void {
    this.self.incarnation = Math.max(this.self.incarnation, accused) + 1;
    this.counters.refutations++;
    // Lifeguard: being suspected hints that we are the slow one.
    this.awareness.apply(1);
    this.broadcastSelfAlive();
    this.emit({ type: 'self-refute', incarnation: this.self.incarnation, accusedBy: by });
  }

  private broadcastSelfAlive(): void {
    this.broadcast(this.name, this.selfAlive());
  }

  private selfAlive(): AliveMessage {
    return { type: 'alive', node: this.name, addr: this.addr, incarnation: this.self.incarnation, state: this.self.state };
  }

  // ---------------------------------------------------------------- full state

  private sendPushPull(to: Address, join: boolean, reply: boolean): void {
    const msg: PushPullMessage = { type: 'push-pull', join, reply, source: this.name, members: this.records() };
    this.counters.pushPullsSent++;
    this.send(to, encodePacket([encodeMessage(msg)]), 'stream');
  }

  private onPushPull(from: Address, msg: PushPullMessage, now: number): void {
    this.counters.pushPullsReceived++;
    const before = this.self.incarnation;
    for (const r of msg.members) this.mergeRecord(r, msg.source, now);
    if (!msg.reply) {
      if (!this.leaving) this.sendPushPull(from, msg.join, true);
      return;
    }
    // If the peer held us dead or suspect we have just refuted; make sure the peer hears it even
    // if it is no gossip target of ours (a partition healing after gossipToTheDeadTimeMs).
    if (this.self.incarnation !== before) this.sendDatagram(from, [encodeMessage(this.selfAlive())]);
    this.emit({ type: 'push-pull-complete', peer: from, join: msg.join, members: msg.members.length });
  }

  /**
   * Merges one remote record. A remote `dead` becomes a local suspicion (the member may be alive
   * and able to refute; memberlist does the same), a remote `left` is a leave.
   */
  private mergeRecord(r: MemberRecord, source: string, now: number): void {
    switch (r.status) {
      case 'alive':
        this.onAlive({ type: 'alive', node: r.node, addr: r.addr, incarnation: r.incarnation, state: r.state }, now);
        return;
      case 'suspect':
      case 'dead':
        this.onSuspect({ type: 'suspect', node: r.node, incarnation: r.incarnation, from: source }, now);
        return;
      case 'left':
        this.onDead({ type: 'dead', node: r.node, incarnation: r.incarnation, from: r.node }, now);
        return;
    }
  }

  // ---------------------------------------------------------------- gossip and reaping

  private gossip(now: number): void {
    if (this.queue.size === 0) return;
    const deadWindow = this.opts.gossipToTheDeadTimeMs;
    const self = this.self;
    const targets = this.table.randomMembers(this.opts.gossipNodes, (m) => {
      if (m === self) return false;
      if (m.status === 'alive' || m.status === 'suspect') return true;
      return m.status === 'dead' && now - m.changedAt < deadWindow;
    });
    for (const t of targets) {
      const parts: Uint8Array[] = [];
      this.queue.take(this.opts.maxPacketBytes - FRAMING_BYTES, this.limit(), parts);
      if (parts.length === 0) break;
      this.counters.gossipPackets++;
      this.send(t.addr, encodePacket(parts), 'datagram');
    }
  }

  private reap(now: number): void {
    for (const m of this.table.tombstones()) {
      const keep = m.status === 'dead' ? this.opts.reconnectTimeoutMs : this.opts.tombstoneTimeoutMs;
      if (now - m.changedAt < keep) continue;
      this.table.remove(m);
      this.queue.drop(m.name);
      this.suspicions.delete(m.name);
      this.counters.reaped++;
      this.emit({ type: 'member-reap', member: m.view() });
    }
  }

  // ---------------------------------------------------------------- output helpers

  private limit(): number {
    return retransmitLimit(this.opts.retransmitMult, this.table.size);
  }

  private broadcast(key: string, msg: Message): void {
    this.queue.enqueue(key, encodeMessage(msg));
  }

  private encodePing(seq: number, target: string): Uint8Array {
    return encodeMessage({ type: 'ping', seq, target, source: this.name, sourceAddr: this.addr });
  }

  /** Sends `parts` in one datagram, filling the rest of the budget with queued gossip. */
  private sendDatagram(to: Address, parts: Uint8Array[]): void {
    let used = FRAMING_BYTES;
    for (const p of parts) used += p.length;
    this.queue.take(this.opts.maxPacketBytes - used, this.limit(), parts);
    this.send(to, encodePacket(parts), 'datagram');
  }

  /** Answers on the channel the request came in on (a stream ping is answered on the stream). */
  private reply(to: Address, parts: Uint8Array[], channel: Channel): void {
    if (channel === 'datagram') this.sendDatagram(to, parts);
    else this.send(to, encodePacket(parts), 'stream');
  }

  private send(to: Address, packet: Uint8Array, channel: Channel): void {
    this.counters.packetsOut++;
    this.counters.bytesOut += packet.length;
    this.out.push({ type: 'send', to, packet, channel });
  }

  private schedule(timer: Timer, delayMs: number): void {
    this.out.push({ type: 'schedule', timer, delayMs });
  }

  private emit(event: MembershipEvent): void {
    this.out.push({ type: 'emit', event });
  }

  private flush(): Effect[] {
    const effects = this.out;
    this.out = [];
    return effects;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private checkStateSize(state: MemberState): void {
    const alive: AliveMessage = { type: 'alive', node: this.name, addr: this.addr, incarnation: 0xffffffff, state };
    const bytes = encodeMessage(alive).length;
    const limit = this.opts.maxPacketBytes - FRAMING_BYTES;
    if (bytes > limit) throw new StateTooLargeError(bytes, limit);
  }
}
