/**
 * The SWIM + Lifeguard membership state machine, sans-I/O (as the Rust crate foca). Every input
 * carries the time and returns Effects: packets to send, timers to schedule, events to emit. The
 * runtime (agent/ with UDP, TCP and setTimeout; sim/ with a virtual network and an event heap)
 * carries them out. Timers are data and stale ones are no-ops, so nothing is cancelled.
 *
 * This file dispatches inputs and holds the rules that change the view: alive, suspect, dead and
 * left by precedence (precedence.ts), refutation, the push-pull merge, gossip and reaping. It
 * delegates the probe cycle and relays to probe.ts (a probe that ends unanswered comes back here
 * as a suspicion), Lifeguard's suspicion timeouts to suspicion.ts, the view to member-table.ts and
 * identity-registry.ts, and what goes out to outbox.ts. DESIGN.md, "Protocol essentials", has the
 * protocol; in brief: changes are piggybacked on every datagram and a gossip timer sends them to a
 * few members (and to recently dead ones); full state is exchanged over a stream on join and
 * periodically; dead (not left) members are contacted for `reconnectTimeoutMs` so that a healed
 * partition merges back.
 */
import type {
  AliveMessage,
  AliveState,
  Address,
  DeadMessage,
  MemberRecord,
  MemberState,
  MemberStatus,
  Message,
  PushPullRecordCursor,
  PushPullView,
  SignableMessage,
  SignedMessage,
  SuspectMessage,
} from '../wire/messages.js';
import { decodeCorePacket, decodeTagsEntry, encodeMessage, encodePacket, encodePushPullFrom, encodeSigned, encodeTagsEntry, TAGS_KEY, tagsProblem } from '../wire/codec.js';
import { newIdentityCounters, SIGNED_OVERHEAD_BYTES, type IdentityConfig, type IdentityCounters, type IdentityDropReason, type IdentityTransition, type RecordAuthenticator } from './authenticator.js';
import { newer, newest, nextIncarnation } from './incarnation.js';
import type { Channel, Effect, MemberView, Timer } from './types.js';
import type { Random } from '../util/random.js';
import type { ResolvedOptions } from './options.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { newCounters, type MembershipCounters } from './counters.js';
import { IdentityRegistry, RECORD_STATUSES, nameHash } from './identity-registry.js';
import { MemberTable, NONE, NO_TAGS } from './member-table.js';
import type { ColumnSlab } from './column-slab.js';
import { FRAMING_BYTES, Outbox } from './outbox.js';
import { Prober } from './probe.js';
import { Suspicions } from './suspicion.js';
import { pushPullIntervalMs } from './math.js';
import { InvalidOptionsError, MemberAliveError, NotRunningError, StateLimitError, StateTooLargeError, UnknownMemberError } from '../errors.js';
import { stateEquals, sameAddress, compareAddress, tagsEqual, EMPTY_ALIVE_STATE, EMPTY_STATE } from './state.js';
import { asciiEquals } from '../util/bytes.js';
import { beats } from './precedence.js';
import { StateSync, type StateChange, type StateConfig, type StateIdentity } from './state-sync.js';
import { ENTRY_SIGNATURE_BYTES, entrySigningBytes } from '../wire/state-codec.js';
import type { StateEntry, StateLimits } from '../state/types.js';
import type { NodeState } from '../state/node-state.js';
import type { SharedStates } from '../state/store.js';

export type { CounterName, MembershipCounters } from './counters.js';

export interface MembershipConfig {
  /** Unique name of this node in the cluster. */
  readonly name: string;
  /** The address other members reach this node at (the advertise address). */
  readonly addr: Address;
  /**
   * Initial tags and payload. The payload rides in this node's alive message; the tags are its
   * state-layer entry `t:` (wire/tags-entry.ts), spread as deltas like any other entry.
   */
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
  /**
   * Where the member table's columns come from. Instances in one process may share slabs (the
   * simulator's 10^4 tables do: far fewer, larger off-heap allocations); by default the table
   * allocates its own typed arrays.
   */
  readonly columns?: ColumnSlab;
  /** The state layer: this start's generation, limits, the entries it starts with, timers. */
  readonly stateLayer?: StateConfig;
  /**
   * Node identity (issue 14): sign the records this node authors, verify the ones it receives
   * (authenticator.ts). Without it nothing is signed or checked and no byte is added.
   */
  readonly identity?: IdentityConfig;
}

/** The push-pull being merged, with identity on: its signed records come before it in the packet. */
interface PushPullContext {
  readonly source: string;
  readonly ourJoin: boolean;
  readonly budget: number;
  added: number;
  refused: number;
}

/** RECORD_STATUSES' indices of the two statuses restore tells apart (a suspect is taken as alive). */
const ALIVE_CODE = 0;
const SUSPECT_CODE = 1;

/** Reap tombstones this often. */
const REAP_INTERVAL_MS = 5000;
/** A name conflict between the same two addresses is reported at most once in this window. */
const CONFLICT_REPORT_MS = 60_000;
/**
 * A node may lose its name to another live claimant at the lower address only this many probe
 * intervals after it started (two processes started at once in two parts of the mesh); later, only
 * a node that no peer probes under its name loses it. So an established node is never stopped by
 * someone who merely answers pings for its name.
 */
const NAME_CLAIM_WINDOW_PROBES = 30;
/** Most members a node that lost its name tells so on its way out. */
const MAX_CONFLICT_ANNOUNCE = 4096;

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
  private readonly out: Outbox;
  private readonly prober: Prober;
  /** Lifeguard bookkeeping of the members currently suspect. */
  private readonly suspicions: Suspicions;
  /** This node's versioned state and its replicas of every peer's (state-sync.ts). */
  private readonly stateSync: StateSync;
  /** Last conflict reported per name (bounded), so that retransmitted gossip reports it once. */
  private readonly conflictsSeen = new Map<string, { key: string; at: number }>();
  private started = false;
  private gossipScheduled = false;
  /** The state layer was seeded by restoreState(): nothing to announce at start. */
  private stateRestored = false;
  /** A `gossip-news` timer is pending. */
  private newsScheduled = false;
  /** When the last gossip round went out (-Infinity before the first). */
  private lastGossipAt = Number.NEGATIVE_INFINITY;
  private leaving = false;
  /** Another live process holds this node's name and keeps it: this node sends nothing more. */
  private halted = false;
  private startedAt = 0;
  /** The digest as last noted, when it changed, and when it last triggered a sync. */
  private digestSeen = 0;
  private digestChangedAt = 0;
  private lastDigestSyncAt = Number.NEGATIVE_INFINITY;
  /** Identity (null without): the authenticator, the transition step and their counters. */
  private readonly auth: RecordAuthenticator | null;
  private readonly transition: IdentityTransition;
  private readonly idCounters: IdentityCounters | null;
  /**
   * With identity: the latest signed alive, and signed verdict (suspect, dead, leave), applied per
   * member, and when each unknown certificate fingerprint (hex) was last asked for. Null without
   * (a simulated node without identity carries no maps).
   */
  private readonly signed: { readonly alive: Map<string, Uint8Array>; readonly verdict: Map<string, Uint8Array>; readonly certAsked: Map<string, number> } | null;
  /** The verified signed message whose inner record is being applied (relayed as it came). */
  private relay: SignedMessage | null = null;
  /** This node's signed alive, for the incarnation and state it was signed at. */
  private selfSigned: { incarnation: number; state: AliveState; wire: Uint8Array } | null = null;
  private pushPullContext: PushPullContext | null = null;

  constructor(config: MembershipConfig) {
    this.name = config.name;
    this.addr = { host: config.addr.host, port: config.addr.port };
    this.opts = config.options;
    this.random = config.random;
    this.auth = config.identity?.authenticator ?? null;
    this.transition = config.identity?.transition ?? 'off';
    this.idCounters = this.auth === null ? null : newIdentityCounters();
    this.signed = this.auth === null ? null : { alive: new Map(), verdict: new Map(), certAsked: new Map() };
    this.table = new MemberTable(config.random, config.identities ?? new IdentityRegistry(), config.columns ?? null);
    this.awareness = new Awareness(config.options.awarenessMaxMultiplier);
    this.queue = new BroadcastQueue((_key, tag) => {
      if (tag === 'leave') this.out.emit({ type: 'leave-disseminated' });
    });
    this.counters = newCounters();
    this.out = new Outbox(this.opts, this.table, this.queue, this.counters);
    this.suspicions = new Suspicions(this.opts, this.out);
    const state = config.state ?? EMPTY_STATE;
    this.checkStateSize(state);
    this.self = this.table.add({ node: this.name, addr: this.addr, state: aliveState(state) }, config.incarnation ?? 0, 'alive', 0);
    this.table.tagsOf = this.tagsOfMember.bind(this);
    this.table.setHeard(this.self); // this node knows it is there
    this.stateSync = new StateSync(
      {
        name: this.name,
        table: this.table,
        self: this.self,
        queue: this.queue,
        out: this.out,
        opts: this.opts,
        counters: this.counters,
        random: this.random,
        queued: this.queued.bind(this),
        ...(this.auth === null ? {} : { identity: this.stateIdentity(this.auth) }),
      },
      config.stateLayer,
    );
    const tags = tagsChange(state.tags, NO_TAGS);
    if (tags !== null) this.stateSync.seed([tags]);
    this.prober = new Prober({
      name: this.name,
      addr: this.addr,
      self: this.self,
      table: this.table,
      opts: this.opts,
      awareness: this.awareness,
      out: this.out,
      counters: this.counters,
      // Bound methods, not arrows: under tsx (how the simulator runs) an arrow stored in a property
      // is given a `name` property, and with it a property store of its own: ~300 bytes a node.
      unanswered: this.suspectUnanswered.bind(this),
      acked: this.compareDigest.bind(this),
      ownerAnswered: this.ownerAnswered.bind(this),
      claimed: this.claimedElsewhere.bind(this),
      ...(this.auth === null ? {} : { accusation: this.signedAccusation.bind(this) }),
    });
  }

  /** Identity's counters (signed, verified, drops by reason), or null without identity. */
  get identityCounters(): Readonly<IdentityCounters> | null {
    return this.idCounters;
  }

  // ---------------------------------------------------------------- queries

  get incarnation(): number {
    return this.table.incarnation(this.self);
  }

  /** True once leave() was called (or the node lost its name to another live process). */
  get left(): boolean {
    return this.leaving;
  }

  /** True once another live process was found holding this node's name and keeping it. */
  get conflicted(): boolean {
    return this.halted;
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

  /**
   * Changes whenever `members()` would list other entries, or another order, status, incarnation,
   * address or state: the member table's version (MemberTable.version) plus the state store's
   * change count, since a member's tags are its state entry `t:` (both only grow, so their sum
   * changes when either does).
   */
  get viewVersion(): number {
    return this.table.version + this.stateSync.store.changes;
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

  /** Whether `name` has answered this node's probe (members learned only from others have not). */
  hasHeard(name: string): boolean {
    const slot = this.table.slotOf(name);
    return slot !== NONE && this.table.heard(slot);
  }

  /** The status this node holds for `name`, without allocating. */
  statusOf(name: string): MemberStatus | undefined {
    const slot = this.table.slotOf(name);
    return slot === NONE ? undefined : this.table.status(slot);
  }

  /** The full state as push-pull records (also what a data-dir snapshot stores). */
  records(): MemberRecord[] {
    return this.table.records();
  }

  // ---------------------------------------------------------------- inputs

  /** Starts the protocol timers, each with a random stagger so that nodes do not beat in step. */
  start(now: number): Effect[] {
    if (!this.started) {
      this.started = true;
      this.startedAt = now;
      const o = this.opts;
      this.out.schedule({ kind: 'probe' }, this.random.int(o.probeIntervalMs));
      this.scheduleGossip(this.random.int(o.gossipIntervalMs));
      if (o.pushPullIntervalMs > 0) {
        // Staggered over the interval scaled to the cluster known now (a restored table), so that a
        // large cluster started at once does not run every full-state exchange in the first period.
        this.out.schedule({ kind: 'push-pull' }, this.random.int(pushPullIntervalMs(o.pushPullIntervalMs, this.table.active)));
      }
      if (o.reconnectIntervalMs > 0) this.out.schedule({ kind: 'reconnect' }, this.random.int(o.reconnectIntervalMs));
      this.out.schedule({ kind: 'reap' }, REAP_INTERVAL_MS);
      this.out.schedule({ kind: 'state-sync' }, this.random.int(this.stateSync.syncIntervalMs));
      // Entries made before start: announced, and fetched by whoever hears of them (not when the
      // state was restored converged: every peer restored holds it already).
      if (this.stateSync.store.version > 0 && !this.stateRestored) this.stateSync.announce();
    }
    return this.out.flush();
  }

  /** Sends a full-state join exchange to each seed; `push-pull-complete` events report answers. */
  join(seeds: readonly Address[], _now: number): Effect[] {
    if (this.leaving) throw new NotRunningError('join');
    for (const seed of seeds) {
      if (seed.host === this.addr.host && seed.port === this.addr.port) continue;
      if (this.joining.length >= 256) this.joining.shift();
      this.joining.push(seed);
      this.sendPushPull(seed, true, false);
    }
    return this.out.flush();
  }

  /** Handles one packet from the network. Bad packets are dropped and counted, never thrown. */
  handlePacket(from: Address, packet: Uint8Array, channel: Channel, now: number): Effect[] {
    if (this.halted) return this.out.flush();
    this.counters.packetsIn++;
    this.counters.bytesIn += packet.length;
    const maxBytes = channel === 'stream' ? this.opts.maxStreamBytes : 65_535;
    // A stream may carry, with identity, a signed alive and verdict per member beside the push-pull.
    const limits =
      channel === 'stream'
        ? { maxPacketBytes: maxBytes, maxMembers: this.opts.maxMembers, maxPayloadBytes: this.opts.maxPayloadBytes, maxMessages: 2 * this.opts.maxMembers + 4096 }
        : { maxPacketBytes: maxBytes, maxMembers: this.opts.maxMembers, maxPayloadBytes: this.opts.maxPayloadBytes };
    const result = decodeCorePacket(packet, limits);
    this.out.packet = { from, channel, bytes: packet.length };
    if (!result.ok) {
      this.out.drop(result.error.code, result.error.detail);
    } else {
      const messages = result.messages;
      // Signed records before a push-pull (identity) are merged under its new-member budget, also by
      // a node without identity during a transition. A push-pull alone (identity off) never comes here.
      if (channel === 'stream' && messages.length > 1) this.preparePushPull(from, messages, now);
      for (const msg of messages) {
        this.counters.messagesIn++;
        this.dispatch(from, msg, channel, now);
      }
      this.pushPullContext = null;
      this.noteDigest(now);
    }
    this.out.packet = null;
    return this.out.flush();
  }

  /**
   * A stream (TCP) this node sent to `to` was refused: nothing listens there. The runtime says so
   * for dials that fail with a connection refused; the prober uses it (Prober.onStreamRefused).
   */
  handleStreamRefused(to: Address, now: number): Effect[] {
    if (this.halted) return this.out.flush();
    this.prober.onStreamRefused(to, now);
    return this.out.flush();
  }

  handleTimer(timer: Timer, now: number): Effect[] {
    if (this.halted) return this.out.flush();
    switch (timer.kind) {
      case 'owner-check':
        this.prober.onOwnerCheckTimeout(timer.seq);
        break;
      case 'probe':
        this.prober.start();
        break;
      case 'probe-timeout':
        this.prober.onTimeout(timer.seq);
        break;
      case 'probe-end':
        this.prober.onEnd(timer.seq, now);
        break;
      case 'relay-timeout':
        this.prober.onRelayTimeout(timer.seq);
        break;
      case 'nack-count':
        this.prober.onNackCount(timer.seq);
        break;
      case 'gossip':
        this.gossipScheduled = false;
        this.gossip(now);
        // With nothing queued the timer stops; the next broadcast restarts it (ensureGossip), so an
        // idle cluster spends no events on empty gossip ticks.
        if (this.queue.size > 0) this.scheduleGossip(this.opts.gossipIntervalMs);
        break;
      case 'gossip-news': {
        this.newsScheduled = false;
        const wait = this.lastGossipAt + this.newsSpacingMs() - now;
        if (wait > 0) {
          this.newsScheduled = true;
          this.out.schedule({ kind: 'gossip-news' }, wait);
        } else this.gossip(now);
        break;
      }
      case 'push-pull':
        this.pushPullTick();
        break;
      case 'reconnect':
        this.reconnectTick(now);
        break;
      case 'reap':
        this.reap(now);
        this.stateSync.collect(now);
        this.out.schedule({ kind: 'reap' }, REAP_INTERVAL_MS);
        break;
      case 'state-sync':
        if (this.leaving) break;
        this.stateSync.tick(now);
        this.out.schedule({ kind: 'state-sync' }, this.stateSync.syncIntervalMs);
        break;
      case 'suspect-timeout':
        this.onSuspectTimeout(timer.member, timer.incarnation, timer.token, now);
        break;
    }
    this.noteDigest(now);
    return this.out.flush();
  }

  /**
   * Leaves gracefully: spreads `left` about this node (a `dead` whose `from` is itself) and stops
   * probing; it keeps gossiping so that the news gets out. `leave-disseminated` is emitted once the
   * message has been sent its full retransmit budget (at once when there is nobody to tell).
   */
  leave(now: number): Effect[] {
    if (this.leaving) return this.out.flush();
    this.leaving = true;
    this.prober.stop();
    const msg: DeadMessage = { type: 'dead', node: this.name, incarnation: this.incarnation, from: this.name };
    this.table.setStatus(this.self, 'left', now);
    const othersActive = this.table.active > 0;
    if (othersActive) {
      this.queue.enqueue(this.name, this.auth === null ? encodeMessage(msg) : this.wireOf(msg), 'leave');
      this.gossip(now);
      this.ensureGossip();
    } else {
      this.out.emit({ type: 'leave-disseminated' });
    }
    return this.out.flush();
  }

  /**
   * Removes a failed member from every view, as Serf's and Consul's force-leave: a member held
   * dead or suspect is marked left (at its incarnation) and the leave is gossiped, so its tombstone
   * is reaped instead of being retried for reconnectTimeoutMs. If the member is in fact alive it
   * refutes with a higher incarnation, as for any accusation. Throws UnknownMemberError for a name
   * not in the table and MemberAliveError for a member held alive (run leave on it instead).
   */
  forceLeave(name: string, now: number): Effect[] {
    const slot = this.table.slotOf(name);
    if (slot === NONE || name === this.name) throw new UnknownMemberError(name);
    const status = this.table.status(slot);
    if (status === 'alive') throw new MemberAliveError(name);
    // With identity, a leave is the member's own to sign: this node accuses it instead (dead,
    // signed by this node, attributable), which others take; without, a leave on its behalf.
    const from = this.signsRecords() ? this.name : name;
    if (status !== 'left' && !(from !== name && status === 'dead')) this.onDead({ type: 'dead', node: name, incarnation: this.table.incarnation(slot), from }, now, null);
    return this.out.flush();
  }

  /**
   * Removes a member whose certificate the CA has revoked (issue 14.3), whatever its status: it is
   * marked dead by this node's accusation at its current incarnation (signed by this node with
   * identity on, attributable) and the verdict is gossiped. Its refutation cannot bring it back on
   * a node holding the list, since that node drops every record the revoked certificate signs.
   * Changes nothing for an unknown name, this node, or a member dead or left already.
   */
  revoke(name: string, now: number): Effect[] {
    const slot = this.table.slotOf(name);
    if (slot !== NONE && name !== this.name) {
      const status = this.table.status(slot);
      if (status === 'alive' || status === 'suspect') this.onDead({ type: 'dead', node: name, incarnation: this.table.incarnation(slot), from: this.name }, now, null);
    }
    return this.out.flush();
  }

  /**
   * Changes this node's tags and payload. New tags change one state entry (`t:`, spread as a
   * delta; no new incarnation); a new payload is a new incarnation, spread as an alive message.
   * Throws InvalidOptionsError for tags the wire refuses, StateLimitError (naming the limit) when
   * the tags entry would break a state limit, StateTooLargeError when the payload would not fit
   * one datagram; nothing changes then.
   */
  setLocalState(state: MemberState, now: number): Effect[] {
    if (this.leaving) throw new NotRunningError('setLocalState');
    this.checkStateSize(state);
    const tags = tagsChange(state.tags, this.tagsOfMember(this.name));
    if (tags !== null) {
      const broken = this.checkStateChanges([tags]);
      if (broken !== null) throw broken;
    }
    const payloadChanged = !stateEquals(this.table.state(this.self), state);
    if (tags !== null) this.stateSync.change([tags], now);
    if (payloadChanged) {
      this.table.setIdentity(this.self, { node: this.name, addr: this.addr, state: aliveState(state) });
      this.table.setIncarnation(this.self, nextIncarnation(this.incarnation));
      this.table.touch(this.self, now);
      this.broadcastSelfAlive();
      this.noteDigest(now);
    }
    if (tags !== null || payloadChanged) this.out.emit({ type: 'member-update', member: this.table.view(this.self) });
    return this.out.flush();
  }

  /** The tags `name`'s state entry `t:` holds in this node's store (no tags without one, or an invalid one). */
  private tagsOfMember(name: string): Readonly<Record<string, string>> {
    const entry = this.stateSync.store.get(name, TAGS_KEY);
    if (entry === undefined || entry.deleted) return NO_TAGS;
    let tags = decodedTags.get(entry);
    if (tags === undefined) {
      const decoded = decodeTagsEntry(entry.value);
      if (typeof decoded === 'string') this.counters.stateInvalidTags++;
      tags = typeof decoded === 'string' || Object.keys(decoded).length === 0 ? NO_TAGS : decoded;
      decodedTags.set(entry, tags);
    }
    return tags;
  }

  // ---------------------------------------------------------------- the state layer

  /**
   * Changes this node's state (src/state/): each change sets a key or deletes it (value null), all
   * at once or none. Spread as deltas (state-sync.ts); no new incarnation. Throws StateLimitError,
   * naming the limit, when a change would break one (nothing changes then).
   */
  changeState(changes: readonly StateChange[], now: number): Effect[] {
    if (this.leaving) throw new NotRunningError('changeState');
    this.stateSync.change(changes, now);
    return this.out.flush();
  }

  /**
   * Seeds the state layer before start, without gossip, timers or events (a simulator building a
   * converged mesh, as restore() seeds the table): `entries` become this node's own state, as if
   * set before start, and `replicas` (whole states of many owners, frozen, one object shared by
   * every node) are held as they are, each copied only when this node changes it. This node is not
   * announced at start: the peers restored from the same replicas hold it already.
   */
  restoreState(opts: { readonly entries?: readonly StateChange[]; readonly replicas?: SharedStates }): void {
    if (this.started) throw new Error('restoreState() is for a node that has not started');
    this.stateSync.seed(opts.entries ?? []);
    if (opts.replicas !== undefined) this.stateSync.store.restore(opts.replicas);
    this.stateRestored = true;
  }

  /** This node's own state as it is now, frozen: what a simulator gathers into SharedStates. */
  stateSnapshot(): NodeState {
    return this.stateSync.store.ownSnapshot();
  }

  /** The limit `changes` would break (as changeState would throw it), or null when they fit. */
  checkStateChanges(changes: readonly StateChange[]): StateLimitError | null {
    const s = this.stateSync.store;
    const broken = s.wouldBreak(changes);
    return broken === null ? null : new StateLimitError(broken.reason, broken.key, broken.value, s.limits);
  }

  /** The live entries this node holds of `node`'s state (its own for its name), or undefined. */
  stateEntries(node: string): StateEntry[] | undefined {
    return this.stateSync.store.entriesOf(node);
  }

  /** This node's own state entry `key`, or undefined. */
  stateEntry(node: string, key: string): StateEntry | undefined {
    return this.stateSync.store.get(node, key);
  }

  /** What this node holds of `node`'s state: generation and version. */
  stateDigestOf(node: string): { readonly generation: number; readonly version: number } | undefined {
    return this.stateSync.store.digestOf(node);
  }

  /** The XOR of every held owner's digest hash (equal summaries: almost surely equal state). */
  get stateSummary(): number {
    return this.stateSync.store.summary;
  }

  get stateLimits(): StateLimits {
    return this.stateSync.store.limits;
  }

  /**
   * Seeds the table from records (a data-dir snapshot, or a simulator building a converged
   * cluster) through the precedence rules, without gossip, timers or events. A record about this
   * node is ignored. Suspect records are taken as alive: a suspicion is only ever raised live.
   * Restored members count as heard from (they answered before); see MemberTable.heard.
   */
  restore(records: readonly MemberRecord[], now: number): void {
    const t = this.table;
    t.reserve(records.length);
    // Each record is stored as its own identity; by id, so that restoring the same array into many
    // tables (a simulated cluster) looks each record up in the shared registry once.
    // Read as columns: the same batch restored into 10^4 tables is visited once, not once a table.
    const reg = t.identities;
    const { ids, incarnations, statuses } = reg.recordsOf(records);
    const selfHash = nameHash(this.name);
    for (let k = 0; k < records.length; k++) {
      const id = ids[k] as number;
      if (reg.hash(id) === selfHash && (records[k] as MemberRecord).node === this.name) continue;
      const code = statuses[k] as number;
      const status = RECORD_STATUSES[code === SUSPECT_CODE ? ALIVE_CODE : code] as MemberStatus;
      const incarnation = incarnations[k] as number;
      // Members a snapshot (or a prebuilt converged table) names were heard from before: a new
      // entry is added heard.
      const slot = t.restoreEntry(id, incarnation, status, now, this.opts.maxMembers);
      if (t.restoreAdded) continue;
      if (slot === NONE) {
        this.counters['dropped.member-limit']++;
      } else if (newer(incarnation, t.incarnation(slot))) {
        t.setIncarnation(slot, incarnation);
        t.setIdentityShared(slot, id);
        this.suspicions.delete((records[k] as MemberRecord).node);
        t.setStatus(slot, status, now);
      }
    }
    this.noteDigest(now);
  }

  // ---------------------------------------------------------------- dispatch

  private dispatch(from: Address, msg: Message | PushPullView, channel: Channel, now: number): void {
    switch (msg.type) {
      case 'ping':
        this.prober.onPing(from, msg, channel, now);
        return;
      case 'ping-req':
        this.prober.onPingReq(from, msg);
        return;
      case 'ack':
        this.prober.onAck(from, msg, channel, now);
        return;
      case 'nack':
        this.prober.onNack(msg.seq);
        return;
      case 'alive':
        if (this.auth !== null && !this.acceptUnsigned()) return;
        this.onAlive(msg, now);
        return;
      case 'suspect':
        if (this.auth !== null && !this.acceptUnsigned()) return;
        this.onSuspect(msg, now, from);
        return;
      case 'dead':
        if (this.auth !== null && !this.acceptUnsigned()) return;
        this.onDead(msg, now, from);
        return;
      case 'signed':
        this.onSigned(from, msg, channel, now);
        return;
      case 'cert-request':
        this.onCertRequest(from, msg.fingerprint);
        return;
      case 'cert':
        if (this.auth !== null) this.onCert(msg.certificate);
        return;
      case 'push-pull-view': // decodeCorePacket gives every push-pull as a view
        if (channel !== 'stream') {
          this.out.drop('push-pull-over-datagram');
          return;
        }
        this.onPushPull(from, msg, now);
        return;
      case 'state-delta':
        for (const u of this.stateSync.onDeltas(from, msg.deltas, channel, now)) {
          const slot = this.table.slotOf(u.node);
          this.out.emit({ type: 'state-update', node: u.node, changed: u.changed, ...(slot === NONE ? {} : { member: this.table.view(slot) }) });
          // A node's tags are its entry `t:`: views show them, and a change is a member-update.
          if (slot !== NONE && u.changed.some((e) => e.key === TAGS_KEY)) this.out.emit({ type: 'member-update', member: this.table.view(slot) });
        }
        return;
      case 'state-digest':
        if (this.leaving) return;
        this.stateSync.onDigest(from, msg, channel);
        return;
      case 'state-summary':
        if (this.leaving) return;
        this.stateSync.onSummary(from, msg.summary, now);
        return;
    }
  }

  /** The prober's target answered nothing in a whole interval: suspect it, if it is still active. */
  private suspectUnanswered(member: string, now: number): void {
    const slot = this.table.slotOf(member);
    if (slot !== NONE && this.table.isActive(slot)) {
      this.onSuspect({ type: 'suspect', node: member, incarnation: this.table.incarnation(slot), from: this.name }, now, null);
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
        this.out.drop('member-limit');
        return;
      }
      const added = t.add(msg, msg.incarnation, 'alive', now);
      this.broadcast(msg.node, msg);
      this.out.emit({ type: 'member-join', member: t.view(added) });
      return;
    }
    const previous = t.status(slot);
    const moved = !sameAddress(t.addr(slot), msg.addr);
    // One name, one owner: while the member is alive or suspect, its address keeps the name, at any
    // incarnation (as memberlist does); a claim from elsewhere that is not older is a name
    // conflict. A member held dead or left may come back from a new address (a restart moved).
    if (moved && (previous === 'alive' || previous === 'suspect')) {
      if (!newer(t.incarnation(slot), msg.incarnation)) this.conflict(msg.node, t.addr(slot), msg.addr, msg.incarnation, now);
      return;
    }
    // alive(i) beats alive|suspect|dead|left(j) only if i > j.
    if (!newer(msg.incarnation, t.incarnation(slot))) return;
    const changed = moved || !stateEquals(t.state(slot), msg.state);
    t.setIncarnation(slot, msg.incarnation);
    t.setIdentity(slot, msg);
    this.suspicions.delete(msg.node);
    t.setStatus(slot, 'alive', now);
    this.broadcast(msg.node, msg);
    if (previous === 'dead' || previous === 'left') {
      this.out.emit({ type: 'member-join', member: t.view(slot) });
    } else {
      if (previous === 'suspect') this.out.emit({ type: 'member-alive', member: t.view(slot) });
      if (changed) this.out.emit({ type: 'member-update', member: t.view(slot) });
    }
  }

  private onAliveAboutSelf(msg: AliveMessage, now: number): void {
    if (this.leaving || newer(this.incarnation, msg.incarnation)) return;
    const same =
      msg.incarnation === this.incarnation &&
      sameAddress(msg.addr, this.addr) &&
      stateEquals(msg.state, this.table.state(this.self));
    if (same) return;
    // Somebody spreads an alive about us that is not ours (an older instance of this node, or a
    // forgery): outbid it. From another address it is also a name conflict, and whether we keep
    // the name depends on whether that address answers for it (see ownerAnswered).
    if (!sameAddress(msg.addr, this.addr)) {
      this.conflict(this.name, this.addr, msg.addr, msg.incarnation, now);
      this.prober.checkOwner(msg.addr);
    }
    this.refute(msg.incarnation, msg.node);
  }

  private onSuspect(msg: SuspectMessage, now: number, replyTo: Address | null): void {
    const slot = this.accused(msg, replyTo);
    if (slot === NONE) return;
    const t = this.table;
    const status = t.status(slot);
    if (status === 'suspect' && msg.incarnation === t.incarnation(slot)) {
      // Lifeguard: an independent confirmation shortens the suspicion and is passed on.
      if (this.suspicions.confirm(msg.node, msg.from, now)) {
        this.counters.confirmations++;
        this.broadcast(msg.node, msg);
      }
      return;
    }
    if (!beats(msg.incarnation, 'suspect', t.incarnation(slot), status)) return;
    // A member held dead or left that is suspect at a higher incarnation came back in between.
    const rejoined = status === 'dead' || status === 'left';
    t.setIncarnation(slot, msg.incarnation);
    t.setStatus(slot, 'suspect', now);
    this.suspicions.start(msg.node, msg.incarnation, msg.from, t.active, now);
    this.counters.suspicionsRaised++;
    this.broadcast(msg.node, msg);
    if (rejoined) this.out.emit({ type: 'member-join', member: t.view(slot) });
    this.out.emit({ type: 'member-suspect', member: t.view(slot), from: msg.from });
  }

  private onSuspectTimeout(name: string, incarnation: number, token: number, now: number): void {
    const slot = this.table.slotOf(name);
    if (slot === NONE || this.table.status(slot) !== 'suspect' || this.table.incarnation(slot) !== incarnation) return;
    const verdict = this.suspicions.expire(name, token, now);
    if (verdict === 'defer') this.counters.suspicionsDeferredAfterStall++;
    if (verdict !== 'dead') return;
    this.counters.deathsDeclared++;
    this.onDead({ type: 'dead', node: name, incarnation, from: this.name }, now, null);
  }

  private onDead(msg: DeadMessage, now: number, replyTo: Address | null): void {
    const slot = this.accused(msg, replyTo);
    if (slot === NONE) return;
    const t = this.table;
    const status = t.status(slot);
    const isLeave = msg.from === msg.node;
    const next = isLeave ? 'left' : 'dead';
    if (!beats(msg.incarnation, next, t.incarnation(slot), status)) return;
    t.setIncarnation(slot, msg.incarnation);
    this.suspicions.delete(msg.node);
    t.setStatus(slot, next, now);
    this.broadcast(msg.node, msg);
    if (status === next) return; // the same verdict at a newer incarnation: passed on, no event
    if (isLeave) this.out.emit({ type: 'member-leave', member: t.view(slot) });
    else this.out.emit({ type: 'member-dead', member: t.view(slot), from: msg.from });
  }

  /**
   * The slot of the member a suspect or dead message is about, or NONE: unknown, or this node
   * (whose answer to the accusation is given here).
   */
  private accused(msg: SuspectMessage | DeadMessage, replyTo: Address | null): number {
    if (msg.node !== this.name) return this.table.slotOf(msg.node);
    this.onAccusation(msg.incarnation, msg.from, replyTo);
    return NONE;
  }

  /**
   * Somebody says this node is suspect or dead. A current accusation is refuted with a higher
   * incarnation; a stale one (an older incarnation) means the accuser missed our refutation, so
   * it is sent our current alive directly rather than left to hold its suspicion to the timeout.
   */
  private onAccusation(incarnation: number, from: string, replyTo: Address | null): void {
    if (this.leaving) return;
    if (!newer(this.incarnation, incarnation)) {
      this.refute(incarnation, from);
    } else if (replyTo !== null) {
      this.counters.staleAccusationsAnswered++;
      this.out.sendDatagram(replyTo, [this.selfAliveWire()]);
    }
  }

  /**
   * Reports a name claimed from two addresses: once per (name, other address) a minute, however
   * many incarnations the claim climbs through meanwhile.
   */
  private conflict(name: string, holder: Address, other: Address, incarnation: number, now: number): void {
    const key = `${other.host}:${other.port}`;
    const seen = this.conflictsSeen.get(name);
    if (seen !== undefined && seen.key === key && now - seen.at < CONFLICT_REPORT_MS) return;
    if (this.conflictsSeen.size >= 1024) this.conflictsSeen.clear();
    this.conflictsSeen.set(name, { key, at: now });
    this.counters.nameConflicts++;
    this.out.emit({ type: 'member-conflict', name, holder: { host: holder.host, port: holder.port }, other: { host: other.host, port: other.port }, incarnation });
  }

  /** A ping came from `other` under a name `holder` holds: reported as a conflict (no incarnation). */
  private claimedElsewhere(name: string, holder: Address, other: Address, now: number): void {
    const slot = name === this.name ? this.self : this.table.slotOf(name);
    this.conflict(name, holder, other, slot === NONE ? 0 : this.table.incarnation(slot), now);
  }

  /**
   * The address that claims our name answered a ping for it: two live processes hold one name.
   * The mesh keeps the incumbent (peers never move a live member's address), so the claimant that
   * no peer probes under this name has lost; when both are probed (each took the name in part of
   * the mesh), the lower address keeps it, a rule both evaluate alike. The loser stops claiming
   * the name: it sends nothing more, not even a leave (which would be about the winner's name).
   */
  private ownerAnswered(other: Address, now: number): void {
    if (this.leaving) return;
    const young = now - this.startedAt < NAME_CLAIM_WINDOW_PROBES * this.opts.probeIntervalMs;
    const lost = !this.prober.probedByPeers || (young && compareAddress(other, this.addr) < 0);
    if (!lost) return;
    // Before falling silent, one ping to every member we know under our name from this address:
    // each sees the name claimed from two addresses and reports it (Prober.onPing).
    this.prober.announceConflict(this.table.randomMembers(MAX_CONFLICT_ANNOUNCE, (s) => s !== this.self && this.table.status(s) === 'alive'));
    this.halted = true;
    this.leaving = true;
    this.prober.stop();
    this.queue.clear();
    this.counters.nameConflictsLost++;
    this.out.emit({ type: 'member-conflict', name: this.name, holder: { host: other.host, port: other.port }, other: { host: this.addr.host, port: this.addr.port }, incarnation: this.incarnation, lost: true });
  }

  /** Outbids an accusation (or a foreign alive) about this node with a higher incarnation. */
  private refute(accused: number, by: string): void {
    // Serial order (incarnation.ts): there is no ceiling, so any claim can be outbid.
    this.table.setIncarnation(this.self, nextIncarnation(newest(this.incarnation, accused)));
    this.counters.refutations++;
    // Lifeguard: being suspected hints that we are the slow one.
    this.awareness.apply(1);
    this.broadcastSelfAlive();
    this.out.emit({ type: 'self-refute', incarnation: this.incarnation, accusedBy: by });
  }

  private broadcastSelfAlive(): void {
    if (this.signsRecords()) {
      this.queue.enqueue(this.name, this.selfAliveWire());
      this.ensureGossip();
      if (this.started && !this.newsScheduled) {
        this.newsScheduled = true;
        this.out.schedule({ kind: 'gossip-news' }, 0);
      }
      return;
    }
    this.broadcast(this.name, this.selfAlive());
  }

  private selfAlive(): AliveMessage {
    return { type: 'alive', node: this.name, addr: this.addr, incarnation: this.incarnation, state: this.table.state(this.self) };
  }

  // ---------------------------------------------------------------- full state and anti-entropy

  private sendPushPull(to: Address, join: boolean, reply: boolean): void {
    // encodePushPullPacket({ type: 'push-pull', join, reply, source: this.name, members: this.records() }),
    // written from the table's columns and the registry's encoded prefixes (no record objects).
    this.counters.pushPullsSent++;
    if (this.auth === null || this.transition === 'send-unsigned') {
      this.out.send(to, encodePushPullFrom(join, reply, this.name, this.table.recordSource(), true), 'stream');
      return;
    }
    // With identity: the certificates (in a join every one held, else this node's), then every
    // signed record held, then the push-pull itself, whose records are not signed.
    const parts: Uint8Array[] = [];
    for (const certificate of join ? this.auth.certificates() : [this.auth.certificate]) parts.push(encodeMessage({ type: 'cert', certificate }));
    if (!this.leaving) parts.push(this.selfAliveWire());
    const held = this.signed as NonNullable<Membership['signed']>;
    for (const wire of held.alive.values()) parts.push(wire);
    for (const wire of held.verdict.values()) parts.push(wire);
    parts.push(encodePushPullFrom(join, reply, this.name, this.table.recordSource()));
    this.out.send(to, encodePacket(parts), 'stream');
  }

  private onPushPull(from: Address, msg: PushPullView, now: number): void {
    this.counters.pushPullsReceived++;
    const before = this.incarnation;
    // New members one exchange (and one peer, per minute) may add: the answer to our own join is
    // the one that legitimately brings a whole cluster; anything else is bounded.
    const ctx = this.pushPullContext;
    const ourJoin = ctx !== null ? ctx.ourJoin : msg.join && msg.reply && this.answersOurJoin(from);
    const budget = ctx !== null ? ctx.budget : ourJoin ? Infinity : this.newMemberBudget(msg.source, now);
    let added = ctx !== null ? ctx.added : 0;
    let refused = ctx !== null ? ctx.refused : 0;
    const t = this.table;
    const recs = msg.records;
    const bytes = recs.bytes;
    // Identity enforced: the records are not signed, so only the signed ones before them count. A
    // push-pull that came alone (no context: no certificate or signed record with it) is from a
    // node that signs nothing: its records are dropped as unsigned, counted and reported.
    const enforced = this.auth !== null && this.transition === 'off';
    if (enforced && ctx === null && recs.count > 0) this.unsignedDropped(recs.count, msg.source);
    const count = enforced ? 0 : recs.count;
    for (let k = 0; k < count; k++) {
      recs.seek(k);
      // One lookup per record, from the packet's bytes while the name is ASCII (its bytes are its
      // UTF-16 units): most records of a full-state exchange are news to nobody, and those build
      // no object. Anything else is built as decodePacket builds it and merged as a record.
      let r: MemberRecord | null = null;
      let self: boolean;
      let slot: number;
      if (recs.nameAscii) {
        self = asciiEquals(this.name, bytes, recs.nameStart, recs.nameLength);
        slot = self ? NONE : t.slotOfRecord(bytes, recs.nameStart, recs.nameLength, recs.prefixStart, recs.prefixEnd);
      } else {
        r = recs.record();
        self = r.node === this.name;
        slot = self ? NONE : t.slotOf(r.node);
      }
      if (recs.status !== 'alive') {
        this.mergeRecord(r ?? recs.record(), slot, msg.source, now);
        continue;
      }
      if (!self && slot === NONE) {
        if (added >= budget) {
          refused++;
          continue;
        }
        added++;
      }
      // mergeRecord's first question (a known member at this address, at this incarnation or
      // older, is left alone), answered from the bytes.
      // (The entry's identity with this record's very name, host and port bytes has its address.)
      const known =
        slot !== NONE && recs.hostAscii && ((r === null && t.foundSamePrefix) || this.sameAddressAt(slot, recs)) && !newer(recs.incarnation, t.incarnation(slot));
      if (!known) {
        r ??= recs.record();
        this.mergeRecord(r, slot, msg.source, now);
      }
      // The seed we chose vouches for its alive members, as a snapshot does (restore): heard, so
      // a joiner's first rounds probe them as one round-robin, not at most every other probe.
      if (ourJoin && !self) {
        if (slot === NONE) slot = t.slotOf((r ?? recs.record()).node);
        if (slot !== NONE && (known || sameAddress(t.addr(slot), (r ?? recs.record()).addr))) t.setHeard(slot);
      }
    }
    // The peer answered over a stream from its own address: it is there.
    const peer = this.table.slotOf(msg.source);
    if (peer !== NONE && sameAddress(this.table.addr(peer), from)) this.table.setHeard(peer);
    if (added > 0) this.chargeNewMembers(msg.source, added, now);
    if (refused > 0) this.out.drop('new-member-limit', `${refused} new members from ${msg.source} over the limit`, refused);
    if (!msg.reply) {
      if (!this.leaving) this.sendPushPull(from, msg.join, true);
      return;
    }
    // If the peer held us dead or suspect we have just refuted; make sure the peer hears it even
    // if it is no gossip target of ours (a partition healing after gossipToTheDeadTimeMs).
    if (this.incarnation !== before) this.out.sendDatagram(from, [this.selfAliveWire()]);
    // A joiner fetches the state of the mesh from its seed (and hands it its own) at once.
    if (ourJoin && !this.leaving) this.stateSync.exchangeWith(from, now);
    this.out.emit({ type: 'push-pull-complete', peer: from, join: msg.join, members: recs.count });
  }

  /** Whether the member at `slot` has the current record's address (its host ASCII). */
  private sameAddressAt(slot: number, recs: PushPullRecordCursor): boolean {
    const a = this.table.addr(slot);
    return a.port === recs.port && asciiEquals(a.host, recs.bytes, recs.hostStart, recs.hostLength);
  }

  /**
   * Merges one remote record. A remote `dead` becomes a local suspicion (the member may be alive
   * and able to refute; memberlist does the same), a remote `left` is a leave.
   */
  private mergeRecord(r: MemberRecord, slot: number, source: string, now: number): void {
    switch (r.status) {
      case 'alive': {
        // Most records of a full-state exchange are news to nobody: answer onAlive's first question
        // (a known member at this incarnation or newer is left alone) before building a message.
        // The same incarnation from another address goes on: onAlive reports the name conflict.
        // `slot` is the record's entry (NONE for this node itself or an unknown member).
        const t = this.table;
        if (slot !== NONE && sameAddress(t.addr(slot), r.addr) && !newer(r.incarnation, t.incarnation(slot))) return;
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

  /** Seeds this node sent a join to and has not heard back from (bounded). */
  private readonly joining: Address[] = [];
  /** Per peer: when its minute began and how many new members its push-pulls added in it. */
  private readonly newMembersBy = new Map<string, { start: number; used: number }>();

  /** Whether `from` is a seed this node asked to join through (each answer counts once). */
  private answersOurJoin(from: Address): boolean {
    const i = this.joining.findIndex((a) => sameAddress(a, from));
    if (i < 0) return false;
    this.joining.splice(i, 1);
    return true;
  }

  /** How many new members a push-pull from `source` may add now. */
  private newMemberBudget(source: string, now: number): number {
    // Never less than the members this node has heard from: a healing partition of a similar size
    // merges at once, while members that were only ever claimed (and never answered) do not count.
    const floor = this.table.active - this.table.unheardCount;
    const w = this.newMembersBy.get(source);
    const used = w === undefined || now - w.start >= 60_000 ? 0 : w.used;
    return Math.max(0, Math.min(Math.max(this.opts.maxNewMembersPerPushPull, floor), Math.max(this.opts.maxNewMembersPerPeerPerMinute, floor) - used));
  }

  /** Charges `n` new members to `source`'s current minute. */
  private chargeNewMembers(source: string, n: number, now: number): void {
    let w = this.newMembersBy.get(source);
    if (w === undefined || now - w.start >= 60_000) {
      if (this.newMembersBy.size >= 1024) this.newMembersBy.clear();
      w = { start: now, used: 0 };
      this.newMembersBy.set(source, w);
    }
    w.used += n;
  }

  /** The periodic full-state exchange with a random alive member. */
  private pushPullTick(): void {
    if (this.leaving) return;
    const peer = this.table.randomMembers(1, (s) => s !== this.self && this.table.status(s) === 'alive')[0];
    if (peer !== undefined) this.sendPushPull(this.table.addr(peer), false, false);
    this.out.schedule({ kind: 'push-pull' }, pushPullIntervalMs(this.opts.pushPullIntervalMs, this.table.active));
  }

  /** A full-state exchange with a recently dead member, so that a healed partition merges back. */
  private reconnectTick(now: number): void {
    if (this.leaving) return;
    const window = this.opts.reconnectTimeoutMs;
    // As Serf does: try with probability dead/alive, so that the mesh as a whole makes about one
    // attempt per dead member per interval (not one per node: at 10,000 nodes that was 330
    // full-state push-pulls a second at a crashed node). In a partition the smaller side
    // (dead ≥ alive) always tries, which is what merges it back.
    const alive = Math.max(1, this.table.active);
    const dead = this.table.deadCount;
    const peer = dead > 0 && this.random.next() < dead / alive ? this.table.randomDead((s) => now - this.table.changedAt(s) < window) : NONE;
    if (peer !== NONE) {
      this.counters.reconnects++;
      this.sendPushPull(this.table.addr(peer), false, false);
    }
    this.out.schedule({ kind: 'reconnect' }, this.opts.reconnectIntervalMs);
  }

  /**
   * Anti-entropy on demand: when the responder's digest differs from ours although neither view
   * should still be moving, exchange full state with it now (at most once per settle window).
   */
  private compareDigest(peer: Address, digest: number, now: number): void {
    this.noteDigest(now);
    if (!this.opts.digestSync || this.leaving || digest === this.table.digest) return;
    const settleMs = this.out.retransmitLimit() * this.opts.gossipIntervalMs + this.opts.probeIntervalMs;
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

  // ---------------------------------------------------------------- gossip and reaping

  private gossip(now: number): void {
    if (this.queue.size === 0) return;
    this.lastGossipAt = now;
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
      this.queue.take(this.opts.maxPacketBytes - FRAMING_BYTES, this.out.retransmitLimit(), parts);
      if (parts.length === 0) break;
      this.counters.gossipPackets++;
      this.out.sendDirect(t.addr(target), parts);
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
      this.stateSync.forget(view.name);
      if (this.signed !== null) {
        this.signed.alive.delete(view.name);
        this.signed.verdict.delete(view.name);
      }
      this.counters.reaped++;
      this.out.emit({ type: 'member-reap', member: view });
    }
  }

  // ---------------------------------------------------------------- broadcasting

  /**
   * Queues `msg` for dissemination and sends the news out at once: a gossip round within the same
   * turn (a zero-delay timer, so that news arriving together leaves together), not at the next
   * tick of the gossip timer, which is up to one gossip interval away on every hop. memberlist
   * waits for the tick; hearsay's suspicions, deaths, refutations and joins reach every view
   * sooner by about half a gossip interval a hop. The rounds news adds are spaced at least
   * `newsSpacingMs` apart, so a burst of changes costs at most twice the gossip rate, and a
   * message is still sent no more times in all (the retransmit limit counts every round).
   */
  private broadcast(key: string, msg: Message): void {
    this.queue.enqueue(key, this.auth === null ? encodeMessage(msg) : this.wireOf(msg));
    this.queued();
  }

  /**
   * Something was queued for dissemination (a membership change, or the state layer's delta or
   * announcement): the one path both take, so state news gets the same zero-delay round as
   * membership news, and the gossip timer is restarted if it had stopped.
   */
  private queued(): void {
    this.ensureGossip();
    if (this.started && !this.newsScheduled) {
      this.newsScheduled = true;
      this.out.schedule({ kind: 'gossip-news' }, 0);
    }
  }

  /** The least time between a gossip round and one that news adds: half a gossip interval. */
  private newsSpacingMs(): number {
    return this.opts.gossipIntervalMs / 2;
  }

  /** Restarts the gossip timer if it stopped for want of anything to send. */
  private ensureGossip(): void {
    if (this.started && !this.gossipScheduled) this.scheduleGossip(1 + this.random.int(this.opts.gossipIntervalMs));
  }

  private scheduleGossip(delayMs: number): void {
    this.gossipScheduled = true;
    this.out.schedule({ kind: 'gossip' }, delayMs);
  }

  // ---------------------------------------------------------------- identity (authenticator.ts)

  /** The state layer's signer and checker of entries (state-sync.ts), over the authenticator. */
  private stateIdentity(auth: RecordAuthenticator): StateIdentity {
    const counters = this.idCounters as IdentityCounters;
    const sign = (owner: string, generation: number, entry: StateEntry): Uint8Array => {
      counters.signed++;
      const out = new Uint8Array(ENTRY_SIGNATURE_BYTES);
      out.set(auth.fingerprint, 0);
      out.set(auth.sign(entrySigningBytes(owner, generation, entry)), 8);
      return out;
    };
    return {
      ...(this.transition === 'send-unsigned' ? {} : { sign }),
      verify: (owner, generation, e) => {
        const s = e.signature as Uint8Array;
        if (s.length !== ENTRY_SIGNATURE_BYTES) return 'bad-signature';
        const outcome = auth.verifyEntry(owner, s.subarray(0, 8), s.subarray(8), entrySigningBytes(owner, generation, e), e.key, e.deleted ? null : e.value);
        if (outcome === 'ok') counters.verified++;
        return outcome;
      },
      enforce: this.transition === 'off',
      dropped: (reason) => {
        if (reason === 'identity-unsigned') this.unsignedDropped(1);
        else counters[`dropped.${reason}`]++;
      },
      unsignedAccepted: () => {
        counters.unsignedAccepted++;
      },
    };
  }

  /** Whether this node signs what it authors (identity on, past the transition's first step). */
  private signsRecords(): boolean {
    return this.auth !== null && this.transition !== 'send-unsigned';
  }

  private identityDrop(reason: IdentityDropReason): void {
    const c = this.idCounters as IdentityCounters;
    c[`dropped.${reason}`]++;
  }

  /**
   * Identity enforced: `count` unsigned records of the packet being handled dropped, counted and
   * reported with its sender ('unsigned-dropped'; `source`, a push-pull's sender's name), so that
   * the runtime can say which node still signs nothing (a rollout step skipped) rather than leave
   * a partition unexplained.
   */
  private unsignedDropped(count: number, source?: string): void {
    (this.idCounters as IdentityCounters)['dropped.identity-unsigned'] += count;
    const p = this.out.packet;
    if (p !== null) this.out.report({ kind: 'unsigned-dropped', from: p.from, channel: p.channel, count, ...(source === undefined ? {} : { source }) });
  }

  /** An unsigned alive, suspect or dead with identity on: taken during a transition, else dropped. */
  private acceptUnsigned(): boolean {
    if (this.transition === 'off') {
      this.unsignedDropped(1);
      return false;
    }
    (this.idCounters as IdentityCounters).unsignedAccepted++;
    return true;
  }

  /**
   * A signed record: verified by its author's certificate before it goes through the usual rules
   * (without identity, taken as its inner message, unverified, so that a mesh turns identity on
   * node by node without a partition). An unknown certificate is asked of the sender.
   */
  private onSigned(from: Address, msg: SignedMessage, channel: Channel, now: number): void {
    const inner = msg.message;
    if (this.auth !== null) {
      const author = inner.type === 'alive' ? inner.node : inner.from;
      const outcome = this.auth.verify(author, msg.fingerprint, msg.signature, msg.signed);
      if (outcome !== 'ok') {
        this.identityDrop(outcome);
        if (outcome === 'unknown-cert') this.askCertificate(from, channel, msg.fingerprint, now);
        return;
      }
      (this.idCounters as IdentityCounters).verified++;
    }
    const replyTo = channel === 'datagram' ? from : null;
    this.relay = msg;
    try {
      switch (inner.type) {
        case 'alive':
          this.onSignedAlive(inner, now);
          return;
        case 'suspect':
          this.onSuspect(inner, now, replyTo);
          return;
        case 'dead':
          this.onDead(inner, now, replyTo);
          return;
      }
    } finally {
      this.relay = null;
    }
  }

  /** A verified alive; in a push-pull, charged to its new-member budget as a record would be. */
  private onSignedAlive(msg: AliveMessage, now: number): void {
    const ctx = this.pushPullContext;
    if (ctx === null || msg.node === this.name) {
      this.onAlive(msg, now);
      return;
    }
    let slot = this.table.slotOf(msg.node);
    if (slot === NONE) {
      if (ctx.added >= ctx.budget) {
        ctx.refused++;
        return;
      }
      ctx.added++;
    }
    this.onAlive(msg, now);
    if (ctx.ourJoin) {
      if (slot === NONE) slot = this.table.slotOf(msg.node);
      if (slot !== NONE && sameAddress(this.table.addr(slot), msg.addr)) this.table.setHeard(slot);
    }
  }

  /** Before a stream packet's messages: the push-pull among them, whose signed records precede it. */
  private preparePushPull(from: Address, messages: readonly (Message | PushPullView)[], now: number): void {
    const last = messages[messages.length - 1] as Message | PushPullView;
    if (last.type !== 'push-pull-view') return;
    const ourJoin = last.join && last.reply && this.answersOurJoin(from);
    this.pushPullContext = { source: last.source, ourJoin, budget: ourJoin ? Infinity : this.newMemberBudget(last.source, now), added: 0, refused: 0 };
  }

  /** Asks for the certificate `fingerprint` names: of the datagram's sender, or the push-pull's. */
  private askCertificate(from: Address, channel: Channel, fingerprint: Uint8Array, now: number): void {
    let to: Address | null = from;
    if (channel === 'stream') {
      const ctx = this.pushPullContext;
      const slot = ctx === null ? NONE : this.table.slotOf(ctx.source);
      to = slot === NONE ? null : this.table.addr(slot);
    }
    if (to === null) return;
    let key = '';
    for (let i = 0; i < fingerprint.length; i++) key += (fingerprint[i] as number).toString(16).padStart(2, '0');
    const certAsked = (this.signed as NonNullable<Membership['signed']>).certAsked;
    const asked = certAsked.get(key);
    if (asked !== undefined && now - asked < 1000) return;
    if (certAsked.size >= 4096) certAsked.clear();
    certAsked.set(key, now);
    (this.idCounters as IdentityCounters).certRequestsSent++;
    this.out.sendDatagram(to, [encodeMessage({ type: 'cert-request', fingerprint })]);
  }

  private onCertRequest(from: Address, fingerprint: Uint8Array): void {
    if (this.auth === null) return;
    const certificate = this.auth.certificateOf(fingerprint);
    if (certificate === undefined) return;
    (this.idCounters as IdentityCounters).certsSent++;
    const part = encodeMessage({ type: 'cert', certificate });
    if (part.length + FRAMING_BYTES <= this.opts.maxPacketBytes) this.out.sendDatagram(from, [part]);
    else this.out.send(from, encodePacket([part]), 'stream');
  }

  private onCert(der: Uint8Array): void {
    const outcome = (this.auth as RecordAuthenticator).addCertificate(der);
    if (outcome === 'new') (this.idCounters as IdentityCounters).certsLearned++;
    else if (outcome !== 'known') this.identityDrop(outcome);
  }

  /**
   * The bytes a record goes out as, with identity on: the verified signed message it came in (as
   * it came), this node's own signature when it is the author, else (a record taken unsigned
   * during a transition) unsigned. Signed ones are kept per member for push-pulls.
   */
  private wireOf(msg: Message): Uint8Array {
    if (msg.type !== 'alive' && msg.type !== 'suspect' && msg.type !== 'dead') return encodeMessage(msg);
    const r = this.relay;
    let wire: Uint8Array | null = null;
    if (r !== null && r.message === msg) wire = encodeSigned(r.fingerprint, r.signature, r.signed);
    else if ((msg.type === 'alive' ? msg.node : msg.from) === this.name && this.signsRecords()) wire = this.sign(msg);
    if (wire === null) return encodeMessage(msg);
    const held = this.signed as NonNullable<Membership['signed']>;
    if (msg.node !== this.name) {
      if (msg.type === 'alive') {
        held.alive.set(msg.node, wire);
        held.verdict.delete(msg.node);
      } else {
        held.verdict.set(msg.node, wire);
      }
    } else if (msg.type === 'dead') {
      held.verdict.set(msg.node, wire); // this node's leave
    }
    return wire;
  }

  private sign(msg: SignableMessage): Uint8Array {
    const auth = this.auth as RecordAuthenticator;
    const bytes = encodeMessage(msg);
    (this.idCounters as IdentityCounters).signed++;
    return encodeSigned(auth.fingerprint, auth.sign(bytes), bytes);
  }

  /** This node's alive as it goes out: signed once per incarnation and state when identity is on. */
  private selfAliveWire(): Uint8Array {
    const msg = this.selfAlive();
    if (!this.signsRecords()) return encodeMessage(msg);
    const c = this.selfSigned;
    if (c !== null && c.incarnation === msg.incarnation && c.state === msg.state) return c.wire;
    const wire = this.sign(msg);
    this.selfSigned = { incarnation: msg.incarnation, state: msg.state, wire };
    return wire;
  }

  /** The buddy rule's suspect about `name` (probe.ts): the signed one held, or this node's own. */
  private signedAccusation(name: string, incarnation: number): Uint8Array {
    const held = this.signed?.verdict.get(name);
    if (held !== undefined) return held;
    const msg: SuspectMessage = { type: 'suspect', node: name, incarnation, from: this.name };
    return this.signsRecords() ? this.sign(msg) : encodeMessage(msg);
  }

  /**
   * Throws StateTooLargeError when an alive message with this state's payload would not fit one
   * datagram, InvalidOptionsError for tags the wire refuses (their size is the state layer's:
   * checkStateChanges).
   */
  checkStateSize(state: MemberState): void {
    const problem = tagsProblem(state.tags);
    if (problem !== null) throw new InvalidOptionsError([`tags: ${problem}`]);
    const alive: AliveMessage = { type: 'alive', node: this.name, addr: this.addr, incarnation: 0xffffffff, state: aliveState(state) };
    const bytes = encodeMessage(alive).length + (this.signsRecords() ? SIGNED_OVERHEAD_BYTES : 0);
    const limit = this.opts.maxPacketBytes - FRAMING_BYTES;
    if (bytes > limit) throw new StateTooLargeError(bytes, limit);
  }
}

/** The alive state of a member state: its payload only (tags are the state entry `t:`). */
function aliveState(state: AliveState): AliveState {
  return state.payload === null ? EMPTY_ALIVE_STATE : { payload: state.payload };
}

/** The state change that makes `current` tags `next` (no tags: the entry deleted), or null when they are equal. */
function tagsChange(next: Readonly<Record<string, string>>, current: Readonly<Record<string, string>>): StateChange | null {
  if (tagsEqual(next, current)) return null;
  return { key: TAGS_KEY, value: Object.keys(next).length === 0 ? null : encodeTagsEntry(next) };
}

/** Decoded tags by entry object: entries are immutable (and shared between simulated nodes), so each is decoded once. */
const decodedTags = new WeakMap<StateEntry, Readonly<Record<string, string>>>();
