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
import { decodePacket, encodeMessage, encodePacket, encodePushPullPacket, MAX_INCARNATION, packetOverheadBytes } from '../wire/codec.js';
import { DROP_REASONS, type Channel, type DropReason, type Effect, type MemberView, type MembershipEvent, type Report, type Timer } from './types.js';
import type { Random } from '../util/random.js';
import type { ResolvedOptions } from './options.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { IdentityRegistry } from './identity-registry.js';
import { MemberTable, NONE } from './member-table.js';
import { armSuspicion, confirmSuspicion, startSuspicion, suspicionExpiry, suspicionTimeoutOf, type Suspicion } from './suspicion.js';
import { expectedConfirmations, pushPullIntervalMs, retransmitLimit, suspicionMinTimeoutMs } from './math.js';
import { NotRunningError, StateTooLargeError } from '../errors.js';
import { stateEquals, sameAddress, EMPTY_STATE } from './state.js';
import { beats } from './precedence.js';

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
  /**
   * Where the member table keeps identity objects. Instances in one process may share one (the
   * simulator's nodes do, so 10^8 entries refer to 10^4 objects by id); by default each has its own.
   */
  readonly identities?: IdentityRegistry;
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
  'suspicionsDeferredAfterStall',
  'refutations',
  'pushPullsSent',
  'pushPullsReceived',
  'reconnects',
  'staleAccusationsAnswered',
  'digestSyncs',
  'gossipPackets',
  'reaped',
  'nameConflicts',
  ...DROP_REASONS.map((r) => `dropped.${r}` as const),
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
  /** This node's slot in the table. */
  private readonly self: number;
  private readonly queue: BroadcastQueue;
  private readonly awareness: Awareness;
  private out: Effect[] = [];
  private seq = 0;
  private suspicionToken = 0;
  private probe: Probe | null = null;
  private readonly relays = new Map<number, Relay>();
  /** Lifeguard bookkeeping of the members currently suspect. */
  private readonly suspicions = new Map<string, Suspicion>();
  /** Last conflict reported per name (bounded), so that retransmitted gossip reports it once. */
  private readonly conflictsSeen = new Map<string, string>();
  private started = false;
  private gossipScheduled = false;
  private leaving = false;
  /** The digest as last noted, when it changed, and when it last triggered a sync. */
  private digestSeen = 0;
  /** The packet handlePacket is working on, for reports of what it drops. */
  private packet: { readonly from: Address; readonly channel: Channel; readonly bytes: number } | null = null;
  private digestChangedAt = 0;
  private lastDigestSyncAt = Number.NEGATIVE_INFINITY;

  constructor(config: MembershipConfig) {
    this.name = config.name;
    this.addr = { host: config.addr.host, port: config.addr.port };
    this.opts = config.options;
    this.random = config.random;
    this.table = new MemberTable(config.random, config.identities ?? new IdentityRegistry());
    this.awareness = new Awareness(config.options.awarenessMaxMultiplier);
    this.queue = new BroadcastQueue((_key, tag) => {
      if (tag === 'leave') this.emit({ type: 'leave-disseminated' });
    });
    const counters = {} as MembershipCounters;
    for (const c of COUNTER_NAMES) counters[c] = 0;
    this.counters = counters;
    const state = config.state ?? EMPTY_STATE;
    this.checkStateSize(state);
    this.self = this.table.add({ node: this.name, addr: this.addr, state }, config.incarnation ?? 0, 'alive', 0);
  }

  // ---------------------------------------------------------------- queries

  get incarnation(): number {
    return this.table.incarnation(this.self);
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

  /** The membership digest this node's acks carry (see the `digestSync` option). */
  get digest(): number {
    return this.table.digest;
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
    for (const slot of this.table.slots()) out.push(this.table.view(slot));
    return out;
  }

  member(name: string): MemberView | undefined {
    const slot = this.table.slotOf(name);
    return slot === NONE ? undefined : this.table.view(slot);
  }

  /** The status this node holds for `name`, without allocating. */
  statusOf(name: string): MemberStatus | undefined {
    const slot = this.table.slotOf(name);
    return slot === NONE ? undefined : this.table.status(slot);
  }

  /** The full state as push-pull records (also what a data-dir snapshot stores). */
  records(): MemberRecord[] {
    // Called for every push-pull (10^4 records each in a large cluster): sized up front, and each
    // identity looked up once.
    const t = this.table;
    const n = t.size;
    const out = new Array<MemberRecord>(n);
    for (let i = 0; i < n; i++) {
      const slot = t.slotAt(i);
      const id = t.identity(slot);
      out[i] = { node: id.node, addr: id.addr, incarnation: t.incarnation(slot), status: t.status(slot), state: id.state };
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
      this.scheduleGossip(this.random.int(o.gossipIntervalMs));
      if (o.pushPullIntervalMs > 0) {
        // Staggered over the interval scaled to the cluster known now (a restored table), so that a
        // large cluster started at once does not run every full-state exchange in the first period.
        this.schedule({ kind: 'push-pull' }, this.random.int(pushPullIntervalMs(o.pushPullIntervalMs, this.table.active)));
      }
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
    const result = decodePacket(packet, { maxPacketBytes: maxBytes, maxMembers: this.opts.maxMembers, maxPayloadBytes: this.opts.maxPayloadBytes });
    this.packet = { from, channel, bytes: packet.length };
    if (!result.ok) {
      this.drop(result.error.code, result.error.detail);
    } else {
      for (const msg of result.messages) {
        this.counters.messagesIn++;
        this.dispatch(from, msg, channel, now);
      }
      this.noteDigest(now);
    }
    this.packet = null;
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
        this.gossipScheduled = false;
        this.gossip(now);
        // With nothing queued the timer stops; the next broadcast restarts it (ensureGossip), so an
        // idle cluster spends no events on empty gossip ticks.
        if (this.queue.size > 0) this.scheduleGossip(this.opts.gossipIntervalMs);
        break;
      case 'push-pull':
        if (!this.leaving) {
          const peer = this.table.randomMembers(1, (s) => s !== this.self && this.table.status(s) === 'alive')[0];
          if (peer !== undefined) this.sendPushPull(this.table.addr(peer), false, false);
          this.schedule({ kind: 'push-pull' }, pushPullIntervalMs(this.opts.pushPullIntervalMs, this.table.active));
        }
        break;
      case 'reconnect':
        if (!this.leaving) {
          const window = this.opts.reconnectTimeoutMs;
          // As Serf does: try with probability dead/alive, so that the mesh as a whole makes about
          // one attempt per dead member per interval (not one per node: at 10,000 nodes that was
          // 330 full-state push-pulls a second at a crashed node). In a partition the smaller
          // side (dead ≥ alive) always tries, which is what merges it back.
          const alive = Math.max(1, this.table.active);
          const dead = this.table.deadCount;
          const peer =
            dead > 0 && this.random.next() < dead / alive ? this.table.randomDead((s) => now - this.table.changedAt(s) < window) : NONE;
          if (peer !== NONE) {
            this.counters.reconnects++;
            this.sendPushPull(this.table.addr(peer), false, false);
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
    this.noteDigest(now);
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
    const msg: DeadMessage = { type: 'dead', node: this.name, incarnation: this.incarnation, from: this.name };
    this.table.setStatus(this.self, 'left', now);
    const othersActive = this.table.active > 0;
    if (othersActive) {
      this.queue.enqueue(this.name, encodeMessage(msg), 'leave');
      this.gossip(now);
      this.ensureGossip();
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
    this.table.setIdentity(this.self, { node: this.name, addr: this.addr, state });
    this.table.setIncarnation(this.self, Math.min(MAX_INCARNATION, this.incarnation + 1));
    this.table.touch(this.self, now);
    this.broadcastSelfAlive();
    this.emit({ type: 'member-update', member: this.table.view(this.self) });
    this.noteDigest(now);
    return this.flush();
  }

  /**
   * Seeds the table from records (a data-dir snapshot, or a simulator building a converged
   * cluster) through the precedence rules, without gossip, timers or events. A record about this
   * node is ignored. Suspect records are taken as alive: a suspicion is only ever raised live.
   */
  restore(records: readonly MemberRecord[], now: number): void {
    const t = this.table;
    t.reserve(records.length);
    // Each record is stored as its own identity; by id, so that restoring the same array into many
    // tables (a simulated cluster) looks each record up in the shared registry once.
    const ids = t.identities.idsOf(records);
    for (let k = 0; k < records.length; k++) {
      const r = records[k] as MemberRecord;
      if (r.node === this.name) continue;
      const status: MemberStatus = r.status === 'suspect' ? 'alive' : r.status;
      const slot = t.slotOf(r.node);
      if (slot === NONE) {
        if (t.size >= this.opts.maxMembers) {
          this.counters['dropped.member-limit']++;
          continue;
        }
        t.addShared(ids[k] as number, r.incarnation, status, now);
      } else if (r.incarnation > t.incarnation(slot)) {
        t.setIncarnation(slot, r.incarnation);
        t.setIdentityShared(slot, ids[k] as number);
        this.suspicions.delete(r.node);
        t.setStatus(slot, status, now);
      }
    }
    this.noteDigest(now);
  }

  // ---------------------------------------------------------------- dispatch

  private dispatch(from: Address, msg: Message, channel: Channel, now: number): void {
    switch (msg.type) {
      case 'ping':
        if (msg.target !== this.name) {
          this.drop('misdirected-ping');
          return;
        }
        this.reply(from, [encodeMessage({ type: 'ack', seq: msg.seq, digest: this.table.digest })], channel);
        return;
      case 'ping-req':
        this.onPingReq(from, msg.seq, msg.target, msg.targetAddr, msg.nack);
        return;
      case 'ack':
        this.onAck(msg.seq, msg.digest, channel, now);
        return;
      case 'nack':
        if (this.probe !== null && this.probe.seq === msg.seq) this.probe.nacks++;
        return;
      case 'alive':
        this.onAlive(msg, now);
        return;
      case 'suspect':
        this.onSuspect(msg, now, from);
        return;
      case 'dead':
        this.onDead(msg, now, from);
        return;
      case 'push-pull':
        if (channel !== 'stream') {
          this.drop('push-pull-over-datagram');
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
    const t = this.table;
    const target = t.nextProbeTarget(this.self);
    if (target === NONE) {
      this.schedule({ kind: 'probe' }, interval);
      return;
    }
    const seq = this.nextSeq();
    const targetName = t.name(target);
    const targetAddr = t.addr(target);
    this.probe = { seq, target: targetName, targetAddr, acked: false, nacks: 0, expectedNacks: 0 };
    this.counters.probes++;
    const parts: Uint8Array[] = [];
    if (t.status(target) === 'suspect') {
      // Buddy rule: tell the suspect, so that it can refute at once.
      parts.push(encodeMessage({ type: 'suspect', node: targetName, incarnation: t.incarnation(target), from: this.name }));
    }
    parts.push(this.encodePing(seq, targetName));
    this.sendDatagram(targetAddr, parts);
    this.schedule({ kind: 'probe-timeout', seq }, this.awareness.scale(this.opts.probeTimeoutMs));
    this.schedule({ kind: 'probe-end', seq }, interval);
  }

  private onProbeTimeout(seq: number): void {
    const p = this.probe;
    if (p === null || p.seq !== seq || p.acked) return;
    const t = this.table;
    const peers = t.randomMembers(
      this.opts.indirectChecks,
      (s) => s !== this.self && t.status(s) === 'alive' && t.name(s) !== p.target,
    );
    for (const peer of peers) {
      this.counters.indirectProbes++;
      this.sendDatagram(t.addr(peer), [
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
      const slot = this.table.slotOf(p.target);
      if (slot !== NONE && this.table.isActive(slot)) {
        this.onSuspect({ type: 'suspect', node: p.target, incarnation: this.table.incarnation(slot), from: this.name }, now, null);
      }
    }
    this.startProbe();
  }

  private onAck(seq: number, digest: number, channel: Channel, now: number): void {
    const p = this.probe;
    if (p !== null && p.seq === seq) {
      // Only the fallback after a probe timeout pings over a stream.
      if (channel === 'stream') this.report({ kind: 'stream-probe-acked', member: p.target, addr: p.targetAddr });
      if (!p.acked) {
        p.acked = true;
        this.compareDigest(p.targetAddr, digest, now);
      }
      return;
    }
    const relay = this.relays.get(seq);
    if (relay !== undefined) {
      this.relays.delete(seq);
      this.sendDatagram(relay.origin, [encodeMessage({ type: 'ack', seq: relay.originSeq, digest })]);
    }
  }

  /**
   * Anti-entropy on demand: when the responder's digest differs from ours although neither view
   * should still be moving, exchange full state with it now (at most once per settle window).
   */
  private compareDigest(peer: Address, digest: number, now: number): void {
    this.noteDigest(now);
    if (!this.opts.digestSync || this.leaving || digest === this.table.digest) return;
    const settleMs = this.limit() * this.opts.gossipIntervalMs + this.opts.probeIntervalMs;
    if (now - this.digestChangedAt < settleMs || now - this.lastDigestSyncAt < settleMs) return;
    this.lastDigestSyncAt = now;
    this.counters.digestSyncs++;
    this.sendPushPull(peer, false, false);
  }

  /** Remembers when this node's digest last changed. */
  private noteDigest(now: number): void {
    const d = this.table.digest;
    if (d !== this.digestSeen) {
      this.digestSeen = d;
      this.digestChangedAt = now;
    }
  }

  private onPingReq(from: Address, originSeq: number, target: string, targetAddr: Address, nack: boolean): void {
    if (this.relays.size >= MAX_RELAYS) {
      this.drop('relay-limit');
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
    const t = this.table;
    const slot = t.slotOf(msg.node);
    if (slot === NONE) {
      if (t.size >= this.opts.maxMembers) {
        this.drop('member-limit');
        return;
      }
      const added = t.add(msg, msg.incarnation, 'alive', now);
      this.broadcast(msg.node, msg);
      this.emit({ type: 'member-join', member: t.view(added) });
      return;
    }
    // alive(i) beats alive|suspect|dead|left(j) only if i > j.
    if (msg.incarnation <= t.incarnation(slot)) {
      // The same name at the same incarnation from another address: two nodes claim one name.
      // Rule: the address first seen keeps the name until its holder outbids (SECURITY.md).
      if (msg.incarnation === t.incarnation(slot) && !sameAddress(t.addr(slot), msg.addr)) this.conflict(msg.node, t.addr(slot), msg.addr, msg.incarnation);
      return;
    }
    const previous = t.status(slot);
    const moved = !sameAddress(t.addr(slot), msg.addr);
    const changed = moved || !stateEquals(t.state(slot), msg.state);
    t.setIncarnation(slot, msg.incarnation);
    t.setIdentity(slot, msg);
    this.suspicions.delete(msg.node);
    t.setStatus(slot, 'alive', now);
    this.broadcast(msg.node, msg);
    if (previous === 'dead' || previous === 'left') {
      this.emit({ type: 'member-join', member: t.view(slot) });
    } else {
      if (previous === 'suspect') this.emit({ type: 'member-alive', member: t.view(slot) });
      if (changed) this.emit({ type: 'member-update', member: t.view(slot) });
    }
  }

  private onAliveAboutSelf(msg: AliveMessage, _now: number): void {
    if (this.leaving || msg.incarnation < this.incarnation) return;
    const same =
      msg.incarnation === this.incarnation &&
      sameAddress(msg.addr, this.addr) &&
      stateEquals(msg.state, this.table.state(this.self));
    if (same) return;
    // Somebody spreads an alive about us that is not ours (an older instance of this node, or a
    // forgery): outbid it. From another address it is also a name conflict.
    if (!sameAddress(msg.addr, this.addr)) this.conflict(this.name, this.addr, msg.addr, msg.incarnation);
    this.refute(msg.incarnation, msg.node);
  }

  private onSuspect(msg: SuspectMessage, now: number, replyTo: Address | null): void {
    if (msg.node === this.name) {
      this.onAccusation(msg.incarnation, msg.from, replyTo);
      return;
    }
    const t = this.table;
    const slot = t.slotOf(msg.node);
    if (slot === NONE) return;
    const status = t.status(slot);
    if (status === 'suspect' && msg.incarnation === t.incarnation(slot)) {
      this.confirm(msg, now);
      return;
    }
    if (!beats(msg.incarnation, 'suspect', t.incarnation(slot), status)) return;
    // A member held dead or left that is suspect at a higher incarnation came back in between.
    const rejoined = status === 'dead' || status === 'left';
    t.setIncarnation(slot, msg.incarnation);
    t.setStatus(slot, 'suspect', now);
    const n = this.table.active;
    const minMs = suspicionMinTimeoutMs(this.opts.suspicionMult, n, this.opts.probeIntervalMs);
    const maxMs = this.opts.suspicionMaxTimeoutMult * minMs;
    const expected = expectedConfirmations(this.opts.suspicionMult, n);
    const s = startSuspicion(msg.from, msg.incarnation, minMs, maxMs, expected, now);
    this.suspicions.set(msg.node, s);
    this.armSuspicion(msg.node, s, suspicionTimeoutOf(s), now);
    this.counters.suspicionsRaised++;
    this.broadcast(msg.node, msg);
    if (rejoined) this.emit({ type: 'member-join', member: t.view(slot) });
    this.emit({ type: 'member-suspect', member: t.view(slot), from: msg.from });
  }

  /** Lifeguard: an independent confirmation shortens the suspicion and is passed on. */
  private confirm(msg: SuspectMessage, now: number): void {
    const s = this.suspicions.get(msg.node);
    if (s === undefined) return;
    const remaining = confirmSuspicion(s, msg.from, now);
    if (remaining === null) return;
    this.counters.confirmations++;
    this.armSuspicion(msg.node, s, remaining, now);
    this.broadcast(msg.node, msg);
  }

  /** Schedules the suspicion's timer `delayMs` from now; any earlier timer of it goes stale. */
  private armSuspicion(member: string, s: Suspicion, delayMs: number, now: number): void {
    const token = ++this.suspicionToken;
    armSuspicion(s, token, delayMs, now);
    this.schedule({ kind: 'suspect-timeout', member, incarnation: s.incarnation, token }, delayMs);
  }

  private onSuspectTimeout(name: string, incarnation: number, token: number, now: number): void {
    const slot = this.table.slotOf(name);
    if (slot === NONE || this.table.status(slot) !== 'suspect' || this.table.incarnation(slot) !== incarnation) return;
    const s = this.suspicions.get(name);
    if (s === undefined) return;
    switch (suspicionExpiry(s, token, now, this.opts.probeTimeoutMs)) {
      case 'stale':
        return;
      case 'defer':
        this.counters.suspicionsDeferredAfterStall++;
        this.armSuspicion(name, s, this.opts.probeTimeoutMs, now);
        return;
      case 'dead':
        this.counters.deathsDeclared++;
        this.onDead({ type: 'dead', node: name, incarnation, from: this.name }, now, null);
    }
  }

  private onDead(msg: DeadMessage, now: number, replyTo: Address | null): void {
    const isLeave = msg.from === msg.node;
    if (msg.node === this.name) {
      this.onAccusation(msg.incarnation, msg.from, replyTo);
      return;
    }
    const t = this.table;
    const slot = t.slotOf(msg.node);
    if (slot === NONE) return;
    const status = t.status(slot);
    const next = isLeave ? 'left' : 'dead';
    if (!beats(msg.incarnation, next, t.incarnation(slot), status)) return;
    t.setIncarnation(slot, msg.incarnation);
    this.suspicions.delete(msg.node);
    t.setStatus(slot, next, now);
    this.broadcast(msg.node, msg);
    if (status === next) return; // the same verdict at a newer incarnation: passed on, no event
    if (isLeave) this.emit({ type: 'member-leave', member: t.view(slot) });
    else this.emit({ type: 'member-dead', member: t.view(slot), from: msg.from });
  }

  /**
   * Somebody says this node is suspect or dead. A current accusation is refuted with a higher
   * incarnation; a stale one (an older incarnation) means the accuser missed our refutation, so
   * it is sent our current alive directly rather than left to hold its suspicion to the timeout.
   */
  private onAccusation(incarnation: number, from: string, replyTo: Address | null): void {
    if (this.leaving) return;
    if (incarnation >= this.incarnation) {
      this.refute(incarnation, from);
    } else if (replyTo !== null) {
      this.counters.staleAccusationsAnswered++;
      this.sendDatagram(replyTo, [encodeMessage(this.selfAlive())]);
    }
  }

  /** Reports a name claimed from two addresses, once per (name, other address, incarnation). */
  private conflict(name: string, holder: Address, other: Address, incarnation: number): void {
    const key = `${other.host}:${other.port}@${incarnation}`;
    if (this.conflictsSeen.get(name) === key) return;
    if (this.conflictsSeen.size >= 1024) this.conflictsSeen.clear();
    this.conflictsSeen.set(name, key);
    this.counters.nameConflicts++;
    this.emit({ type: 'member-conflict', name, holder: { host: holder.host, port: holder.port }, other: { host: other.host, port: other.port }, incarnation });
  }

  /** Outbids an accusation (or a foreign alive) about this node with a higher incarnation. */
  private refute(accused: number, by: string): void {
    // Incarnations are 32-bit on the wire; at the ceiling we can no longer outbid (a forged
    // maximal incarnation is a name conflict, for the operator to resolve).
    this.table.setIncarnation(this.self, Math.min(MAX_INCARNATION, Math.max(this.incarnation, accused) + 1));
    this.counters.refutations++;
    // Lifeguard: being suspected hints that we are the slow one.
    this.awareness.apply(1);
    this.broadcastSelfAlive();
    this.emit({ type: 'self-refute', incarnation: this.incarnation, accusedBy: by });
  }

  private broadcastSelfAlive(): void {
    this.broadcast(this.name, this.selfAlive());
  }

  private selfAlive(): AliveMessage {
    return { type: 'alive', node: this.name, addr: this.addr, incarnation: this.incarnation, state: this.table.state(this.self) };
  }

  // ---------------------------------------------------------------- full state

  private sendPushPull(to: Address, join: boolean, reply: boolean): void {
    const msg: PushPullMessage = { type: 'push-pull', join, reply, source: this.name, members: this.records() };
    this.counters.pushPullsSent++;
    this.send(to, encodePushPullPacket(msg), 'stream');
  }

  private onPushPull(from: Address, msg: PushPullMessage, now: number): void {
    this.counters.pushPullsReceived++;
    const before = this.incarnation;
    for (const r of msg.members) this.mergeRecord(r, msg.source, now);
    if (!msg.reply) {
      if (!this.leaving) this.sendPushPull(from, msg.join, true);
      return;
    }
    // If the peer held us dead or suspect we have just refuted; make sure the peer hears it even
    // if it is no gossip target of ours (a partition healing after gossipToTheDeadTimeMs).
    if (this.incarnation !== before) this.sendDatagram(from, [encodeMessage(this.selfAlive())]);
    this.emit({ type: 'push-pull-complete', peer: from, join: msg.join, members: msg.members.length });
  }

  /**
   * Merges one remote record. A remote `dead` becomes a local suspicion (the member may be alive
   * and able to refute; memberlist does the same), a remote `left` is a leave.
   */
  private mergeRecord(r: MemberRecord, source: string, now: number): void {
    switch (r.status) {
      case 'alive': {
        // Most records of a full-state exchange are news to nobody: answer onAlive's first question
        // (a known member at this incarnation or newer is left alone) before building a message.
        // The same incarnation from another address goes on: onAlive reports the name conflict.
        if (r.node !== this.name) {
          const slot = this.table.slotOf(r.node);
          if (slot !== NONE) {
            const known = this.table.incarnation(slot);
            if (r.incarnation < known || (r.incarnation === known && sameAddress(this.table.addr(slot), r.addr))) return;
          }
        }
        this.onAlive({ type: 'alive', node: r.node, addr: r.addr, incarnation: r.incarnation, state: r.state }, now);
        return;
      }
      case 'suspect':
      case 'dead':
        this.onSuspect({ type: 'suspect', node: r.node, incarnation: r.incarnation, from: source }, now, null);
        return;
      case 'left':
        this.onDead({ type: 'dead', node: r.node, incarnation: r.incarnation, from: r.node }, now, null);
        return;
    }
  }

  // ---------------------------------------------------------------- gossip and reaping

  private gossip(now: number): void {
    if (this.queue.size === 0) return;
    const deadWindow = this.opts.gossipToTheDeadTimeMs;
    const self = this.self;
    const t = this.table;
    const targets = t.randomMembers(this.opts.gossipNodes, (s) => {
      if (s === self) return false;
      if (t.isActive(s)) return true;
      return t.status(s) === 'dead' && now - t.changedAt(s) < deadWindow;
    });
    for (const target of targets) {
      const parts: Uint8Array[] = [];
      this.queue.take(this.opts.maxPacketBytes - FRAMING_BYTES, this.limit(), parts);
      if (parts.length === 0) break;
      this.counters.gossipPackets++;
      this.send(t.addr(target), encodePacket(parts), 'datagram');
    }
  }

  private reap(now: number): void {
    const t = this.table;
    for (const slot of t.tombstones()) {
      const keep = t.status(slot) === 'dead' ? this.opts.reconnectTimeoutMs : this.opts.tombstoneTimeoutMs;
      if (now - t.changedAt(slot) < keep) continue;
      const view = t.view(slot);
      t.remove(slot);
      this.queue.drop(view.name);
      this.suspicions.delete(view.name);
      this.counters.reaped++;
      this.emit({ type: 'member-reap', member: view });
    }
  }

  // ---------------------------------------------------------------- output helpers

  private limit(): number {
    return retransmitLimit(this.opts.retransmitMult, this.table.size);
  }

  private broadcast(key: string, msg: Message): void {
    this.queue.enqueue(key, encodeMessage(msg));
    this.ensureGossip();
  }

  /** Restarts the gossip timer if it stopped for want of anything to send. */
  private ensureGossip(): void {
    if (this.started && !this.gossipScheduled) this.scheduleGossip(1 + this.random.int(this.opts.gossipIntervalMs));
  }

  private scheduleGossip(delayMs: number): void {
    this.gossipScheduled = true;
    this.schedule({ kind: 'gossip' }, delayMs);
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

  private report(report: Report): void {
    this.out.push({ type: 'report', report });
  }

  /** Counts a dropped packet (or message) and, inside handlePacket, reports it with its source. */
  private drop(reason: DropReason, detail?: string): void {
    this.counters[`dropped.${reason}`]++;
    const p = this.packet;
    if (p !== null) this.report({ kind: 'packet-dropped', from: p.from, channel: p.channel, bytes: p.bytes, reason, ...(detail === undefined || detail === '' ? {} : { detail }) });
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

  /** Throws StateTooLargeError when an alive message with this state would not fit one datagram. */
  checkStateSize(state: MemberState): void {
    const alive: AliveMessage = { type: 'alive', node: this.name, addr: this.addr, incarnation: 0xffffffff, state };
    const bytes = encodeMessage(alive).length;
    const limit = this.opts.maxPacketBytes - FRAMING_BYTES;
    if (bytes > limit) throw new StateTooLargeError(bytes, limit);
  }
}
