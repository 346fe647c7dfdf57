/**
 * The state layer (src/state/) carried by the membership core: this node's versioned key-value
 * state and its replicas of every peer's, spread and repaired through the same outbox and
 * piggyback queue as membership changes. Pure, like the rest of the core: every input takes the
 * time and leaves its effects in the outbox.
 *
 * - Spread. An owner's change becomes a small delta piggybacked like a membership change (least
 *   sent first, `retransmitLimit(N)` times). Successive changes extend the owner's open chunk while
 *   it fits half a datagram, so a burst goes as few pieces; a change too large to piggyback goes
 *   as an announcement (an empty delta at the new version). A receiver that applies a piggybacked
 *   delta queues it again (epidemic, as alive messages are).
 * - Repair. A delta a receiver cannot apply (it starts above what it holds: a piece it missed, or
 *   an announcement) makes it want that owner's version: it asks the packet's sender with a
 *   targeted digest (`state-digest`, datagram), which any holder answers: by datagram when the
 *   delta fits, over a stream when not. A holder asked for a version it is itself still fetching
 *   remembers the asker and answers once it has it, so fetches follow the gossip tree rather than
 *   converging on the owner. Wants not met are asked again, of the owner, then dropped (the
 *   summary exchange below catches up).
 * - Anti-entropy. Every `syncIntervalMs` a node sends its summary (XOR of its digests' hashes) to
 *   one random member; a member whose summary differs starts a digest exchange over a stream:
 *   full digests one way, the deltas the other misses and its digests back, then the deltas the
 *   first misses.
 * - Tombstones are collected `tombstoneGraceMs` after the delete (on the reap timer); a peer below
 *   a collected version is sent a reset, so a deleted key never comes back from a delta.
 */
import type { Address, StateDigestMessage } from '../wire/messages.js';
import { encodeMessage, encodePacket, encodeStateDeltaMessage } from '../wire/codec.js';
import { encodeDelta } from '../wire/state-codec.js';
import { StateStore } from '../state/store.js';
import type { EntrySigner } from '../state/node-state.js';
import type { IdentityDropReason } from './authenticator.js';
import { DEFAULT_STATE_LIMITS, type NodeDelta, type NodeDigest, type StateEntry, type StateLimits } from '../state/types.js';
import type { Random } from '../util/random.js';
import type { BroadcastQueue } from './broadcast-queue.js';
import type { MembershipCounters } from './counters.js';
import type { MemberTable } from './member-table.js';
import { NONE } from './member-table.js';
import type { ResolvedOptions } from './options.js';
import { FRAMING_BYTES, type Outbox } from './outbox.js';
import { countStateBytes, noteStateDelta } from './state-bytes.js';
import type { Channel } from './types.js';
import { StateLimitError } from '../errors.js';

/** How a driver configures the state layer of one core. */
export interface StateConfig {
  /**
   * This start's generation: higher than any earlier start's of this node (the agent uses the wall
   * clock in ms; a simulator its virtual time). A state replaced by a higher generation is dropped
   * everywhere. @default 1
   */
  readonly generation?: number;
  readonly limits?: StateLimits;
  /** Entries this node starts with (its registrations made before start). */
  readonly entries?: readonly { readonly key: string; readonly value: Uint8Array }[];
  /** How often a summary goes to one random member. @default 2 × probeIntervalMs */
  readonly syncIntervalMs?: number;
  /** How long a tombstone is kept before it is collected. @default max(reconnectTimeoutMs, 10 minutes) */
  readonly tombstoneGraceMs?: number;
}

/** A change to this node's state: set `key` to `value`, or delete it (`value` null). */
export interface StateChange {
  readonly key: string;
  readonly value: Uint8Array | null;
}

interface Want {
  generation: number;
  version: number;
  askedAt: number;
  tries: number;
  /** The announcement this node passed on while it wanted the version (passOnAnnouncement). */
  passedOn: { generation: number; version: number } | null;
}

interface Waiter {
  readonly to: Address;
  readonly digest: NodeDigest;
}

/** What a node that holds nothing of `node` says it holds (generation 0 is never a real one). */
function noneOf(node: string): NodeDigest {
  return { node, generation: 0, version: 0 };
}

/** Gapped deltas kept per owner, waiting for the versions below them. */
const MAX_PENDING_PER_OWNER = 8;
/** Owners with pending deltas, wants or waiters, each map bounded. */
const MAX_TRACKED_OWNERS = 4096;
/** Askers remembered per owner (answered once this node has what they asked for). */
const MAX_WAITERS_PER_OWNER = 64;
/** Times a want is asked (the sender, then the owner) before it is left to anti-entropy. */
const MAX_TRIES = 3;
/** Key prefix of state broadcasts in the piggyback queue (member names never start with NUL). */
const KEY_PREFIX = '\u0000s\u0000';

/**
 * With identity, the entry every signing owner holds from its start, signed like any other (an
 * empty value, never changed or deleted; the registry reads only its own prefixes). An enforced
 * replica takes a reset or a new generation only with an entry its owner signed (`authentic`), so
 * that an empty forged one cannot wipe the owner's entries; without this one, an owner holding
 * nothing else (restarted with no services, or every entry deleted and its tombstone collected)
 * could never replace its old generation there: its old instances would stay listed, and every
 * exchange with it be counted as unsigned.
 */
export const SIGNED_GENERATION_KEY = 'g:';
const EMPTY = new Uint8Array(0);

export interface StateSyncContext {
  readonly name: string;
  readonly table: MemberTable;
  readonly self: number;
  readonly queue: BroadcastQueue;
  readonly out: Outbox;
  readonly opts: ResolvedOptions;
  readonly counters: MembershipCounters;
  readonly random: Random;
  /** Something was queued: membership's one queued path (the gossip timer restarted, a news round armed). */
  readonly queued: () => void;
  /** Identity (issue 14): signs this node's entries and checks peers' before a delta is applied. */
  readonly identity?: StateIdentity;
}

/** How the state layer signs and checks entries with identity on (membership.ts builds it). */
export interface StateIdentity {
  /** Signs this node's entries; absent during the first transition step (nothing signed yet). */
  readonly sign?: EntrySigner;
  /** `entry` of `owner`'s `generation`: 'ok', or why it is refused. */
  readonly verify: (owner: string, generation: number, entry: StateEntry) => 'ok' | IdentityDropReason;
  /** Unsigned entries are refused (identity enforced) rather than taken. */
  readonly enforce: boolean;
  /** Counts a refused delta (by reason) or an unsigned entry taken. */
  readonly dropped: (reason: IdentityDropReason) => void;
  readonly unsignedAccepted: () => void;
}

export class StateSync {
  readonly store: StateStore;
  readonly syncIntervalMs: number;
  readonly tombstoneGraceMs: number;
  private readonly ctx: StateSyncContext;
  /** Bytes of one piggybacked piece: half a datagram, so membership changes still fit beside it. */
  private readonly pieceBytes: number;
  /** The own chunk still being extended: its queue key and the version it starts after. */
  private open: { readonly key: string; readonly from: number } | null = null;
  private readonly wants = new Map<string, Want>();
  private readonly pending = new Map<string, NodeDelta[]>();
  private readonly waiters = new Map<string, Waiter[]>();
  private lastExchangeAt = Number.NEGATIVE_INFINITY;

  constructor(ctx: StateSyncContext, config: StateConfig = {}) {
    this.ctx = ctx;
    this.store = new StateStore(ctx.name, config.generation ?? 1, config.limits ?? DEFAULT_STATE_LIMITS);
    this.syncIntervalMs = config.syncIntervalMs ?? 2 * ctx.opts.probeIntervalMs;
    this.tombstoneGraceMs = config.tombstoneGraceMs ?? Math.max(ctx.opts.reconnectTimeoutMs, 600_000);
    this.pieceBytes = Math.floor((ctx.opts.maxPacketBytes - FRAMING_BYTES) / 2);
    if (ctx.identity?.sign !== undefined) this.store.signer = ctx.identity.sign;
    this.seed(config.entries ?? []);
    if (ctx.identity?.sign !== undefined) this.store.set(SIGNED_GENERATION_KEY, EMPTY, 0);
  }

  /** Sets entries this node starts with, before start: nothing queued (announced at start, or restored). */
  seed(entries: readonly StateChange[]): void {
    const broken = this.store.wouldBreak(entries);
    if (broken !== null) throw new StateLimitError(broken.reason, broken.key, broken.value, this.store.limits);
    for (const e of entries) {
      if (e.value === null) this.store.delete(e.key, 0);
      else this.store.set(e.key, e.value, 0);
    }
  }

  // ---------------------------------------------------------------- this node's changes

  /**
   * Applies this node's changes, all or none: throws StateLimitError naming the limit the first
   * offending change would break. Returns the entries changed (unchanged deletes are skipped).
   */
  change(changes: readonly StateChange[], now: number): StateEntry[] {
    const broken = this.store.wouldBreak(changes);
    if (broken !== null) throw new StateLimitError(broken.reason, broken.key, broken.value, this.store.limits);
    const before = this.store.version;
    const changed: StateEntry[] = [];
    for (const c of changes) {
      const r = c.value === null ? this.store.delete(c.key, now) : this.store.set(c.key, c.value, now);
      if (r.ok) changed.push(r.entry);
    }
    if (this.store.version > before) this.spreadOwn(before);
    return changed;
  }

  /** Queues this node's changes above `before`: extending the open chunk, a new one, or an announcement. */
  private spreadOwn(before: number): void {
    const q = this.ctx.queue;
    const open = this.open;
    if (open !== null && q.has(open.key) && this.queueOwn(open.key, open.from)) return;
    const key = `${KEY_PREFIX}${this.ctx.name}\u0000${before}`;
    if (this.queueOwn(key, before)) {
      this.open = { key, from: before };
      return;
    }
    // Too large to piggyback: announce the version; peers fetch it from whoever has it.
    this.open = null;
    this.announce();
  }

  /** Queues the own delta from `from` under `key` if it fits one piece whole. */
  private queueOwn(key: string, from: number): boolean {
    const d = this.store.ownDelta(from, this.pieceBytes);
    if (d === null || d === 'stream' || d.toVersion !== this.store.version) return false;
    const bytes = noteStateDelta(encodeStateDeltaMessage([encodeDelta(d)]), [d]);
    if (bytes.length > this.pieceBytes) return false;
    this.ctx.queue.enqueue(key, bytes);
    this.ctx.queued();
    return true;
  }

  /** Queues an announcement of this node's version (an empty delta at it). */
  announce(): void {
    const s = this.store;
    const d: NodeDelta = { node: this.ctx.name, generation: s.generation, fromVersion: s.version, toVersion: s.version, reset: false, collectedVersion: 0, entries: [] };
    this.ctx.counters.stateAnnounces++;
    this.ctx.queue.enqueue(`${KEY_PREFIX}${this.ctx.name}\u0000announce`, noteStateDelta(encodeStateDeltaMessage([encodeDelta(d)]), [d]));
    this.ctx.queued();
  }

  // ---------------------------------------------------------------- inputs from peers

  /**
   * Deltas from a peer. Returns the owners whose entries changed and how, for the caller's events.
   * Piggybacked ones (one delta by datagram, small) are passed on; gaps are asked for.
   */
  onDeltas(from: Address, deltas: readonly NodeDelta[], channel: Channel, now: number): { node: string; changed: readonly StateEntry[] }[] {
    const updates: { node: string; changed: readonly StateEntry[] }[] = [];
    const piggybacked = channel === 'datagram' && deltas.length === 1;
    for (const d of deltas) this.applyOne(from, d, piggybacked, now, updates);
    return updates;
  }

  private applyOne(from: Address, d: NodeDelta, passOn: boolean, now: number, updates: { node: string; changed: readonly StateEntry[] }[]): void {
    const c = this.ctx.counters;
    if (d.node === this.ctx.name) return;
    if (d.node.length === 0) return;
    if (this.ctx.identity !== undefined && !this.authentic(d, this.ctx.identity)) return;
    const r = this.store.apply(d, now);
    if (r.ok) {
      c.stateDeltasApplied++;
      if (r.changed.length > 0) updates.push({ node: d.node, changed: r.changed });
      if (passOn) {
        const bytes = noteStateDelta(encodeStateDeltaMessage([encodeDelta(d)]), [d]);
        if (bytes.length <= this.pieceBytes) {
          this.ctx.queue.enqueue(`${KEY_PREFIX}${d.node}\u0000${d.entries.length === 0 ? 'announce' : d.fromVersion}`, bytes);
          this.ctx.queued();
        }
      }
      this.afterAdvance(d.node, now, updates);
      return;
    }
    switch (r.reason) {
      case 'gap':
        c.stateGaps++;
        this.stash(d);
        this.want(d.node, d.generation, d.toVersion, from, now);
        if (passOn && d.entries.length === 0) this.passOnAnnouncement(d);
        return;
      case 'nothing-new':
      case 'stale-generation':
        c.stateDeltasStale++;
        return;
      case 'malformed':
      case 'over-limit':
        this.ctx.out.drop('state-refused', `a delta about ${d.node}: ${r.reason}`);
        return;
    }
  }

  /**
   * With identity: every entry this delta would apply is signed by its owner and allowed by the
   * owner's certificate (else the whole delta is dropped, counted by reason); with identity
   * enforced, one that would replace or reset the replica must carry a verified entry, so that an
   * empty forged reset or new generation cannot wipe an owner's entries. A new generation that
   * starts above version 0 and is no reset replaces nothing: the store finds it a gap (a fresh
   * replica starts at 0) and fetches the generation whole, whose entries are verified then. That
   * is an owner's announcement at its start (restored entries, a new generation), which every
   * enforced replica would otherwise drop and count as unsigned on every restart.
   */
  private authentic(d: NodeDelta, id: StateIdentity): boolean {
    const held = this.store.digestOf(d.node);
    const replaces = d.reset || (held !== undefined && d.generation > held.generation && d.fromVersion === 0);
    const above = held !== undefined && held.generation === d.generation && !d.reset ? held.version : -1;
    let verified = 0;
    let unsigned = 0;
    for (const e of d.entries) {
      if (e.version <= above) continue;
      if (e.signature === undefined) {
        if (id.enforce) {
          id.dropped('identity-unsigned');
          return false;
        }
        unsigned++;
        continue;
      }
      const outcome = id.verify(d.node, d.generation, e);
      if (outcome !== 'ok') {
        id.dropped(outcome);
        return false;
      }
      verified++;
    }
    if (id.enforce && replaces && verified === 0) {
      id.dropped('identity-unsigned');
      return false;
    }
    for (let k = 0; k < unsigned; k++) id.unsignedAccepted();
    return true;
  }

  /** The replica of `node` advanced: retry its pending deltas, settle the want, answer waiters. */
  private afterAdvance(node: string, now: number, updates: { node: string; changed: readonly StateEntry[] }[]): void {
    const pend = this.pending.get(node);
    if (pend !== undefined) {
      this.pending.delete(node);
      for (const p of pend.sort((a, b) => a.fromVersion - b.fromVersion)) {
        const r = this.store.apply(p, now);
        if (r.ok && r.changed.length > 0) updates.push({ node, changed: r.changed });
      }
    }
    const held = this.store.digestOf(node);
    const w = this.wants.get(node);
    if (w !== undefined && held !== undefined && (held.generation > w.generation || (held.generation === w.generation && held.version >= w.version))) this.wants.delete(node);
    const waiting = this.waiters.get(node);
    if (waiting !== undefined && !this.wants.has(node)) {
      this.waiters.delete(node);
      for (const wt of waiting) this.answerOwners(wt.to, [wt.digest], 'datagram');
    }
  }

  /**
   * An announcement this node cannot serve yet is still news to pass on, once per version heard:
   * re-queued at every copy that came in, it would start its retransmit budget over each time, so
   * that while the fetches of a mass join are under way every node kept relaying every owner's
   * announcement and the copies kept coming (bench:identity, N = 200, all joining at once: 36
   * gapped copies of each owner's at each node, 1.8 with this).
   */
  private passOnAnnouncement(d: NodeDelta): void {
    const w = this.wants.get(d.node);
    if (w !== undefined) {
      if (w.passedOn !== null && w.passedOn.generation === d.generation && w.passedOn.version >= d.toVersion) return;
      w.passedOn = { generation: d.generation, version: d.toVersion };
    }
    this.ctx.queue.enqueue(`${KEY_PREFIX}${d.node}\u0000announce`, noteStateDelta(encodeStateDeltaMessage([encodeDelta(d)]), [d]));
    this.ctx.queued();
  }

  private stash(d: NodeDelta): void {
    if (d.entries.length === 0) return;
    let list = this.pending.get(d.node);
    if (list === undefined) {
      if (this.pending.size >= MAX_TRACKED_OWNERS) this.pending.delete(this.pending.keys().next().value as string);
      list = [];
      this.pending.set(d.node, list);
    }
    if (list.some((p) => p.generation === d.generation && p.fromVersion === d.fromVersion && p.toVersion === d.toVersion)) return;
    if (list.length >= MAX_PENDING_PER_OWNER) list.shift();
    list.push(d);
  }

  /** This node knows `node` is at (generation, version), ahead of what it holds: ask `from`. */
  private want(node: string, generation: number, version: number, from: Address, now: number): void {
    let w = this.wants.get(node);
    if (w !== undefined && (generation > w.generation || (generation === w.generation && version > w.version))) {
      w.generation = generation;
      w.version = version;
    }
    if (w !== undefined && now - w.askedAt < this.retryMs()) return;
    if (w === undefined) {
      if (this.wants.size >= MAX_TRACKED_OWNERS) this.wants.delete(this.wants.keys().next().value as string);
      w = { generation, version, askedAt: now, tries: 0, passedOn: null };
      this.wants.set(node, w);
    }
    w.askedAt = now;
    w.tries++;
    this.ask(node, from);
  }

  /** Asks `to` for what this node misses of `node`. */
  private ask(node: string, to: Address): void {
    const held = this.store.digestOf(node) ?? noneOf(node);
    this.ctx.counters.stateRequestsSent++;
    this.sendDigest(to, { type: 'state-digest', full: false, exchange: false, digests: [held] }, 'datagram');
  }

  /**
   * A peer's digests: answer with what it misses (any holder answers, not only the owner), and with
   * `exchange` send this node's digests back so that the peer answers in turn.
   */
  onDigest(from: Address, msg: StateDigestMessage, channel: Channel): void {
    this.ctx.counters.stateRequestsAnswered++;
    if (msg.full) this.answerAll(from, msg.digests, channel);
    else {
      this.answerOwners(from, msg.digests, channel);
      // Asked about owners this node is itself still fetching: answer once it has them.
      for (const d of msg.digests) {
        const w = this.wants.get(d.node);
        if (w === undefined || !(d.generation < w.generation || (d.generation === w.generation && d.version < w.version))) continue;
        let list = this.waiters.get(d.node);
        if (list === undefined) {
          if (this.waiters.size >= MAX_TRACKED_OWNERS) this.waiters.delete(this.waiters.keys().next().value as string);
          list = [];
          this.waiters.set(d.node, list);
        }
        if (list.length < MAX_WAITERS_PER_OWNER) list.push({ to: from, digest: d });
      }
    }
    if (msg.exchange) this.sendDigest(from, { type: 'state-digest', full: true, exchange: false, digests: this.store.digests() }, channel);
  }

  /** A peer's summary: when it differs from ours, start a digest exchange with it over a stream. */
  onSummary(from: Address, summary: number, now: number): void {
    if (summary === this.store.summary) return;
    if (now - this.lastExchangeAt < this.syncIntervalMs / 4) return;
    this.exchangeWith(from, now);
  }

  /** A full digest exchange with `to` over a stream (on join, and when summaries differ). */
  exchangeWith(to: Address, now: number): void {
    this.lastExchangeAt = now;
    this.ctx.counters.stateExchanges++;
    this.sendDigest(to, { type: 'state-digest', full: true, exchange: true, digests: this.store.digests() }, 'stream');
  }

  // ---------------------------------------------------------------- timers

  /** The sync timer: a summary to one random member, and wants not met asked again. */
  tick(now: number): void {
    const t = this.ctx.table;
    const self = this.ctx.self;
    const peer = t.randomMembers(1, (s) => s !== self && t.status(s) === 'alive')[0];
    if (peer !== undefined) this.ctx.out.sendDatagram(t.addr(peer), [encodeMessage({ type: 'state-summary', summary: this.store.summary })]);
    for (const [node, w] of this.wants) {
      if (now - w.askedAt < this.retryMs()) continue;
      if (w.tries >= MAX_TRIES) {
        this.wants.delete(node);
        continue;
      }
      // Asked of the owner now (the sender that told us may not have had it).
      const slot = t.slotOf(node);
      const to = slot !== NONE && t.status(slot) === 'alive' ? t.addr(slot) : peer === undefined ? null : t.addr(peer);
      if (to === null) continue;
      w.askedAt = now;
      w.tries++;
      this.ask(node, to);
    }
  }

  /** Collects tombstones past the grace (the reap timer). */
  collect(now: number): void {
    this.ctx.counters.stateTombstonesCollected += this.store.collect(now - this.tombstoneGraceMs);
  }

  /** The member was reaped: its state goes too. */
  forget(node: string): void {
    this.store.forget(node);
    this.wants.delete(node);
    this.pending.delete(node);
    this.waiters.delete(node);
  }

  // ---------------------------------------------------------------- answers

  private retryMs(): number {
    return Math.max(this.ctx.opts.probeTimeoutMs * 2, 200);
  }

  /** What the peer misses of the owners it lists. */
  private answerOwners(to: Address, digests: readonly NodeDigest[], channel: Channel): void {
    this.answer(to, digests, channel, true);
  }

  /** What the peer misses of every owner this node holds. */
  private answerAll(to: Address, digests: readonly NodeDigest[], channel: Channel): void {
    this.answer(to, digests, channel, false);
  }

  /**
   * Sends the deltas `to` misses: within one datagram when asked by datagram (what does not fit goes
   * over a stream), or on the stream it asked on.
   */
  private answer(to: Address, digests: readonly NodeDigest[], channel: Channel, only: boolean): void {
    const opts = this.ctx.opts;
    if (channel === 'datagram') {
      const room = opts.maxPacketBytes - FRAMING_BYTES - 8;
      const { deltas, stream } = this.store.deltasFor(digests, room, only);
      const parts: Uint8Array[] = [];
      const sent: NodeDelta[] = [];
      let used = 0;
      const rest = new Set(stream);
      for (const d of deltas) {
        const bytes = encodeDelta(d);
        // A delta cut short goes whole over the stream instead (with what did not fit at all).
        const complete = d.toVersion === this.store.digestOf(d.node)?.version;
        if (complete && used + bytes.length + 5 <= room) {
          parts.push(bytes);
          sent.push(d);
          used += bytes.length + 5;
        } else rest.add(d.node);
      }
      if (parts.length > 0) this.ctx.out.sendDirect(to, [noteStateDelta(encodeStateDeltaMessage(parts), sent)]);
      if (rest.size > 0) {
        const theirs = new Map(digests.map((d) => [d.node, d] as const));
        this.sendStreamDeltas(to, [...rest].map((n) => theirs.get(n) ?? noneOf(n)));
      }
      return;
    }
    this.sendStreamDeltas(to, digests, only);
  }

  /** The deltas `to` misses of the owners listed (or all), in one stream frame. */
  private sendStreamDeltas(to: Address, digests: readonly NodeDigest[], only = true): void {
    const budget = Math.max(0, this.ctx.opts.maxStreamBytes - 4096);
    const { deltas, stream } = this.store.deltasFor(digests, budget, only);
    if (stream.length > 0) this.ctx.out.drop('state-refused', `${stream.length} owners' state over maxStreamBytes for ${to.host}:${to.port}`, stream.length);
    if (deltas.length === 0) return;
    const message = noteStateDelta(encodeStateDeltaMessage(deltas.map(encodeDelta)), deltas);
    countStateBytes(this.ctx.counters, message);
    this.ctx.out.send(to, encodePacket([message]), 'stream');
  }

  private sendDigest(to: Address, msg: StateDigestMessage, channel: Channel): void {
    const bytes = encodeMessage(msg);
    if (channel === 'datagram' && bytes.length + FRAMING_BYTES <= this.ctx.opts.maxPacketBytes) this.ctx.out.sendDirect(to, [bytes]);
    else this.ctx.out.send(to, encodePacket([bytes]), 'stream');
  }
}
