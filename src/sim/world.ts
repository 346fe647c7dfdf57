/**
 * A deterministic world: a virtual clock, an event heap, a virtual network and N membership
 * instances running the production state machine. Everything random comes from one seed, so the
 * same seed replays a run exactly.
 *
 * Hot path (millions of events): events are integers and references in an EventHeap (no closure
 * or object per event), nodes are array indices, counters are typed arrays, and nothing formats a
 * string. Observers get every emitted event through `onEvent` and can ask every live node's view
 * of a member with `countViews`.
 */
import type { Address, AliveState, MemberRecord, MemberState, MemberStatus } from '../wire/messages.js';
import type { Channel, Effect, MemberView, MembershipEvent, Timer } from '../membership/types.js';
import type { Random } from '../util/random.js';
import { resolveOptions, type MembershipOptions, type ProfileName, type ResolvedOptions } from '../membership/options.js';
import { IdentityRegistry } from '../membership/identity-registry.js';
import { ColumnSlab } from '../membership/column-slab.js';
import { tableColumnBytes } from '../membership/member-table.js';
import type { StateChange, StateConfig } from '../membership/state-sync.js';
import type { NodeState } from '../state/node-state.js';
import { SharedStates } from '../state/store.js';
import { SeededRandom } from '../util/random.js';
import { DEFAULT_PORT } from '../transport/address.js';
import { EventHeap } from './event-heap.js';
import { Network, type NetworkOptions } from './network.js';

/** What the world hands a node factory (the same shape as Membership's config). */
export interface SimMemberConfig {
  readonly name: string;
  readonly addr: Address;
  readonly state?: MemberState;
  readonly options: ResolvedOptions;
  readonly random: Random;
  /**
   * One registry of member identities for every node of the world: the tables of a converged
   * cluster then hold ids of the same N record objects instead of N² pointers for the garbage
   * collector to trace.
   */
  readonly identities: IdentityRegistry;
  /**
   * The slabs every node's member table carves its columns from: a few large off-heap allocations
   * instead of five per node (each batch of those cost V8 a full garbage collection).
   */
  readonly columns: ColumnSlab;
  /**
   * The state layer: the generation is the node's restart count + 1 (a restart replaces its old
   * state everywhere); entries it starts with, from restart(name, { entries }).
   */
  readonly stateLayer?: StateConfig;
}

/** The part of the Membership API the world drives (Membership implements it). */
export interface SimMember {
  readonly name: string;
  readonly addr: Address;
  readonly incarnation: number;
  readonly left: boolean;
  start(now: number): Effect[];
  join(seeds: readonly Address[], now: number): Effect[];
  handlePacket(from: Address, packet: Uint8Array, channel: Channel, now: number): Effect[];
  handleTimer(timer: Timer, now: number): Effect[];
  /** A stream this node sent to `to` was refused (nothing listens there). Optional: fakes may lack it. */
  handleStreamRefused?(to: Address, now: number): Effect[];
  leave(now: number): Effect[];
  setLocalState(state: MemberState, now: number): Effect[];
  /** Changes this node's state-layer entries (Membership.changeState); optional for fakes. */
  changeState?(changes: readonly StateChange[], now: number): Effect[];
  /** Marks a member whose certificate is revoked dead (Membership.revoke); optional for fakes. */
  revoke?(name: string, now: number): Effect[];
  restore(records: readonly MemberRecord[], now: number): void;
  /** Seeds the state layer before start (Membership.restoreState); optional for fakes. */
  restoreState?(opts: { readonly entries?: readonly StateChange[]; readonly replicas?: SharedStates }): void;
  /** This node's own state, frozen (Membership.stateSnapshot); optional for fakes. */
  stateSnapshot?(): NodeState;
  members(): MemberView[];
  member(name: string): MemberView | undefined;
  statusOf(name: string): MemberStatus | undefined;
  readonly counters: Readonly<Record<string, number>>;
}

export type MemberFactory = (config: SimMemberConfig) => SimMember;

export interface WorldOptions {
  /** Seeds every random draw: node randomness, latency, loss, staggers. @default 1 */
  readonly seed?: number;
  /** Builds a node; `createWorld` (sim/index.ts) passes the real Membership. */
  readonly factory: MemberFactory;
  /** Membership profile. @default 'lan' */
  readonly profile?: ProfileName;
  /** Membership option overrides over the profile. */
  readonly options?: Partial<MembershipOptions>;
  /** The virtual network's default link and stream model. */
  readonly network?: NetworkOptions;
  /** Datagrams queued for a paused node before further ones drop. @default 1000 */
  readonly pauseQueueLimit?: number;
  /**
   * A node that left keeps running until it reports `leave-disseminated`, or at most this long.
   * @default 5 × probeIntervalMs
   */
  readonly leaveTimeoutMs?: number;
  /** The state every node starts with. */
  readonly state?: MemberState;
}

/** Where a node is in its life. A node that left and stopped is `left`; a leaving one is `running`. */
export type NodeLifecycle = 'idle' | 'running' | 'paused' | 'crashed' | 'left';

/** Packets and bytes, per channel and direction. */
export interface Traffic {
  readonly sent: { readonly datagram: PacketCount; readonly stream: PacketCount };
  readonly received: { readonly datagram: PacketCount; readonly stream: PacketCount };
}
export interface PacketCount {
  readonly packets: number;
  readonly bytes: number;
}

/** World-wide counters. `packets` are what the network carries (one may hold several messages). */
export interface WorldStats {
  /** Events taken off the heap. */
  events: number;
  packetsSent: number;
  bytesSent: number;
  packetsDelivered: number;
  bytesDelivered: number;
  /** Sent to an address no node has. */
  undeliverable: number;
  /** Arrived at a crashed, stopped or never-started node. */
  droppedAtDeadNode: number;
  /** Streams to a crashed, left or not yet started node, refused back to their sender. */
  streamsRefused: number;
  /** Datagrams dropped because a paused node's queue was full. */
  droppedPauseOverflow: number;
  /** `member-dead` events about a node that was running (not crashed, paused or leaving). */
  falseDeaths: number;
  /** `member-suspect` events about a node that was running. */
  suspicionsOfLiveNodes: number;
  /** `self-refute` events. */
  refutes: number;
}

export type EventListener = (node: string, event: MembershipEvent, time: number) => void;

const K_DATAGRAM = 1;
const K_STREAM = 2;
const K_TIMER = 3;
const K_START = 4;
const K_JOIN = 5;
const K_RESUME = 6;
const K_SHUTDOWN = 7;
const K_ACTION = 8;

const S_IDLE = 0;
const S_RUNNING = 1;
const S_PAUSED = 2;
const S_CRASHED = 3;
const S_LEFT = 4;
const LIFECYCLE: readonly NodeLifecycle[] = ['idle', 'running', 'paused', 'crashed', 'left'];

// Per-node counter columns: each names a packets column; its bytes column is the next one.
const C_DG_SENT_P = 0;
const C_ST_SENT_P = 2;
const C_DG_RECV_P = 4;
const C_ST_RECV_P = 6;
const STRIDE = 8;

const EMPTY_STATE: MemberState = Object.freeze({ tags: Object.freeze({}), payload: null });
const EMPTY_ALIVE: AliveState = Object.freeze({ payload: null });

/** Held by a paused node: what arrived for it, in order. */
interface PauseQueue {
  kinds: number[];
  auxs: number[];
  refs: unknown[];
  datagrams: number;
}

/** The fake address of node number `k` (1-based): 10.x.y.z:7946, unique up to 16 million nodes. */
export function simAddress(k: number): Address {
  return { host: `10.${(k >>> 16) & 255}.${(k >>> 8) & 255}.${k & 255}`, port: DEFAULT_PORT };
}

export class World {
  /** The virtual clock, in milliseconds. */
  now = 0;
  readonly seed: number;
  readonly options: ResolvedOptions;
  readonly network: Network;
  readonly stats: WorldStats = {
    events: 0,
    packetsSent: 0,
    bytesSent: 0,
    packetsDelivered: 0,
    bytesDelivered: 0,
    undeliverable: 0,
    droppedAtDeadNode: 0,
    streamsRefused: 0,
    droppedPauseOverflow: 0,
    falseDeaths: 0,
    suspicionsOfLiveNodes: 0,
    refutes: 0,
  };
  /**
   * A 32-bit hash over every event processed (time, kind, node, aux): two runs with the same
   * seed have the same hash, so it is a cheap check that a run replayed exactly.
   */
  traceHash = 0x811c9dc5;

  private readonly root: SeededRandom;
  /** Staggers and choices the world makes itself. */
  readonly random: SeededRandom;
  private readonly factory: MemberFactory;
  private readonly heap = new EventHeap<unknown>(4096);
  private readonly pauseQueueLimit: number;
  private readonly leaveTimeoutMs: number;
  private readonly defaultState: MemberState;
  /** What a prebuilt record carries of defaultState: its payload (tags are a state entry, seeded per node). */
  private readonly defaultAlive: AliveState;
  /** seedConvergedState ran (it can run once: a store restores its replicas once). */
  private stateSeeded = false;
  private readonly identities = new IdentityRegistry();
  private readonly columns = new ColumnSlab();

  private readonly names: string[] = [];
  private readonly addrs: Address[] = [];
  private readonly members: (SimMember | null)[] = [];
  private readonly lifecycle: number[] = [];
  private readonly generation: number[] = [];
  private readonly started: boolean[] = [];
  private readonly leaving: boolean[] = [];
  private readonly pauseToken: number[] = [];
  private readonly pauseQueues: (PauseQueue | null)[] = [];
  private readonly index = new Map<string, number>();
  private readonly byHost = new Map<string, Map<number, number>>();
  private counters = new Float64Array(STRIDE * 64);
  private readonly listeners: EventListener[] = [];
  /** Staggered joins (joinAll) scheduled but not yet run (isConverged is false meanwhile). */
  private pendingStarts = 0;

  constructor(options: WorldOptions) {
    this.seed = options.seed ?? 1;
    if (!Number.isFinite(this.seed)) throw new RangeError(`seed must be a finite number (got ${String(options.seed)})`);
    this.factory = options.factory;
    this.options = resolveOptions(options.options ?? {}, options.profile ?? 'lan');
    this.root = new SeededRandom(this.seed);
    this.network = new Network(this.root.fork(), options.network ?? {});
    this.random = this.root.fork();
    this.pauseQueueLimit = options.pauseQueueLimit ?? 1000;
    this.leaveTimeoutMs = options.leaveTimeoutMs ?? 5 * this.options.probeIntervalMs;
    this.defaultState = options.state ?? EMPTY_STATE;
    this.defaultAlive = this.defaultState.payload === null ? EMPTY_ALIVE : Object.freeze({ payload: this.defaultState.payload });
  }

  // ------------------------------------------------------------------ nodes

  /** Number of nodes ever created (crashed and left ones included). */
  get size(): number {
    return this.names.length;
  }

  /** Events waiting in the heap. */
  get pending(): number {
    return this.heap.size;
  }

  /**
   * Creates a node (not started). Node number k (1-based) is named `n${k}` unless a name is given,
   * and reachable at `simAddress(k)`. Returns its name.
   */
  addNode(name?: string, state?: MemberState): string {
    const i = this.names.length;
    const nodeName = name ?? `n${i + 1}`;
    if (this.index.has(nodeName)) throw new Error(`a node named "${nodeName}" already exists: pick another name or restart() it`);
    const addr = simAddress(i + 1);
    this.names.push(nodeName);
    this.addrs.push(addr);
    this.index.set(nodeName, i);
    let ports = this.byHost.get(addr.host);
    if (ports === undefined) {
      ports = new Map();
      this.byHost.set(addr.host, ports);
    }
    ports.set(addr.port, i);
    this.lifecycle.push(S_IDLE);
    this.generation.push(0);
    this.started.push(false);
    this.leaving.push(false);
    this.pauseToken.push(0);
    this.pauseQueues.push(null);
    this.members.push(this.create(i, state));
    if (this.counters.length < (i + 1) * STRIDE) {
      const c = new Float64Array(this.counters.length * 2);
      c.set(this.counters);
      this.counters = c;
    }
    return nodeName;
  }

  /** Creates `count` nodes; returns their names. */
  addNodes(count: number): string[] {
    const out: string[] = [];
    for (let k = 0; k < count; k++) out.push(this.addNode());
    return out;
  }

  /** Every node's name, in creation order. */
  nodeNames(): string[] {
    return this.names.slice();
  }

  /** The names of the nodes that are running or paused (not crashed, left or idle). */
  liveNames(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.names.length; i++) if (this.isLiveIdx(i)) out.push(this.names[i] as string);
    return out;
  }

  /** Number of running or paused nodes. */
  liveCount(): number {
    let n = 0;
    for (let i = 0; i < this.names.length; i++) if (this.isLiveIdx(i)) n++;
    return n;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  /** The node's membership instance (the current one after a restart). */
  member(name: string): SimMember {
    return this.members[this.idx(name)] as SimMember;
  }

  addressOf(name: string): Address {
    return this.addrs[this.idx(name)] as Address;
  }

  /** The node's index (stable; used by the network's node sets). */
  indexOf(name: string): number {
    return this.idx(name);
  }

  /** Indices of the named nodes, for Network rules. */
  indicesOf(names: Iterable<string>): number[] {
    const out: number[] = [];
    for (const n of names) out.push(this.idx(n));
    return out;
  }

  lifecycleOf(name: string): NodeLifecycle {
    return LIFECYCLE[this.lifecycle[this.idx(name)] as number] as NodeLifecycle;
  }

  /** Running or paused. */
  isLive(name: string): boolean {
    return this.isLiveIdx(this.idx(name));
  }

  /** Whether the node called leave() (it may still be running to spread the news). */
  isLeaving(name: string): boolean {
    return this.leaving[this.idx(name)] === true;
  }

  // -------------------------------------------------------------- lifecycle

  /** Starts the named nodes' protocol timers now (idle nodes only; others are left alone). */
  start(...names: string[]): void {
    for (const name of names) this.startIdx(this.idx(name));
  }

  /**
   * Starts `name` (if idle) and joins it through `seeds` (names; default: the first other live
   * node). The join goes over the network as a stream push-pull.
   */
  join(name: string, seeds?: readonly string[]): void {
    const i = this.idx(name);
    const addrs = this.seedAddrs(i, seeds);
    if (this.lifecycle[i] === S_IDLE) this.startIdx(i);
    this.joinIdx(i, addrs);
  }

  /**
   * The real join path for every idle node: each starts and joins through `via` (default: the
   * first node) at a random moment within `staggerMs` (default: one probe interval). The first
   * node just starts. Returns the number of nodes scheduled.
   */
  joinAll(opts: { readonly via?: string; readonly staggerMs?: number } = {}): number {
    const stagger = opts.staggerMs ?? this.options.probeIntervalMs;
    let viaIdx = opts.via === undefined ? -1 : this.idx(opts.via);
    if (viaIdx < 0) {
      for (let i = 0; i < this.names.length; i++) {
        const s = this.lifecycle[i];
        if (s === S_RUNNING || s === S_PAUSED || s === S_IDLE) {
          viaIdx = i;
          break;
        }
      }
    }
    if (viaIdx < 0) return 0;
    if (this.lifecycle[viaIdx] === S_IDLE) this.startIdx(viaIdx);
    const seeds: readonly Address[] = Object.freeze([this.addrs[viaIdx] as Address]);
    let n = 0;
    for (let i = 0; i < this.names.length; i++) {
      if (this.lifecycle[i] !== S_IDLE) continue;
      this.heap.push(this.now + this.random.next() * stagger, K_JOIN, i, this.generation[i] as number, seeds);
      this.pendingStarts++;
      n++;
    }
    return n;
  }

  /**
   * Creates `count` nodes and makes them (and every live node already here) a converged cluster
   * without any traffic: every table is seeded through `restore()` with one shared array of
   * shared MemberRecord objects. Each node then starts at a random moment within `staggerMs`
   * (default: one probe interval). Returns the new names.
   */
  buildConverged(count: number, opts: { readonly staggerMs?: number } = {}): string[] {
    const stagger = opts.staggerMs ?? this.options.probeIntervalMs;
    const existing: number[] = [];
    for (let i = 0; i < this.names.length; i++) if (this.isLiveIdx(i) && !this.leaving[i]) existing.push(i);
    const added: number[] = [];
    for (let k = 0; k < count; k++) added.push(this.idx(this.addNode()));
    const recordOf = (i: number): MemberRecord => {
      const m = this.members[i] as SimMember;
      return { node: m.name, addr: this.addrs[i] as Address, incarnation: m.incarnation, status: 'alive', state: this.defaultAlive };
    };
    const newRecords = added.map(recordOf);
    const all = existing.map(recordOf).concat(newRecords);
    // Each new table is restored to its full size at once (itself and every record): its slabs are
    // allocated to fit, all of them now.
    this.columns.reserve(added.length * tableColumnBytes(all.length + 1));
    for (const i of existing) (this.members[i] as SimMember).restore(newRecords, this.now);
    for (const i of added) {
      (this.members[i] as SimMember).restore(all, this.now);
      this.lifecycle[i] = S_RUNNING;
      this.heap.push(this.now + this.random.next() * stagger, K_START, i, this.generation[i] as number, undefined);
    }
    // Node tags are state entries (t:) since protocol 3: a converged world holds every node's as
    // well (a world built on running nodes leaves the new ones to announce theirs).
    if (existing.length === 0 && Object.keys(this.defaultState.tags).length > 0) this.seedConvergedState(() => []);
    return added.map((i) => this.names[i] as string);
  }

  /**
   * Gives every live node, before it starts (right after buildConverged), its own state-layer
   * entries and a converged replica of every other node's, without traffic and without events,
   * as buildConverged seeds the tables. Each owner's replica is one frozen object shared by every
   * node, which a node copies only when it changes it: N x N x K replica entries are N x K objects
   * (10^5, not 10^8, at N = 1,000 and K = 100) until the run changes them.
   */
  seedConvergedState(entriesOf: (name: string) => readonly StateChange[]): void {
    if (this.stateSeeded) throw new Error('seedConvergedState: the state layer is seeded already (buildConverged seeds the t: entries of the world\'s default tags); seed once, with the tags among the entries');
    this.stateSeeded = true;
    const live: SimMember[] = [];
    for (let i = 0; i < this.names.length; i++) if (this.isLiveIdx(i)) live.push(this.members[i] as SimMember);
    for (const m of live) {
      if (m.restoreState === undefined || m.stateSnapshot === undefined) throw new Error(`${m.name}'s factory builds members without a state layer`);
      m.restoreState({ entries: entriesOf(m.name) });
    }
    const shared = new SharedStates(live.map((m) => (m.stateSnapshot as () => NodeState)()).filter((s) => s.version > 0));
    for (const m of live) (m.restoreState as NonNullable<SimMember['restoreState']>)({ replicas: shared });
  }

  /** The node stops for good: everything sent to it, and its own timers, are dropped. */
  crash(name: string): void {
    const i = this.idx(name);
    const s = this.lifecycle[i];
    if (s === S_CRASHED || s === S_LEFT) return;
    this.lifecycle[i] = S_CRASHED;
    this.pauseQueues[i] = null;
  }

  /**
   * The node freezes: packets (datagrams up to the queue limit, streams always) and timers for it
   * are queued and delivered in order on resume. With `ms` it resumes by itself after that long.
   */
  pause(name: string, ms?: number): void {
    const i = this.idx(name);
    if (this.lifecycle[i] !== S_RUNNING) throw new Error(`cannot pause ${name}: it is ${this.lifecycleOf(name)}, not running`);
    this.lifecycle[i] = S_PAUSED;
    const token = (this.pauseToken[i] as number) + 1;
    this.pauseToken[i] = token;
    this.pauseQueues[i] = { kinds: [], auxs: [], refs: [], datagrams: 0 };
    if (ms !== undefined) {
      if (!(ms >= 0)) throw new RangeError(`pause duration must be >= 0 ms (got ${ms})`);
      this.heap.push(this.now + ms, K_RESUME, i, token, undefined);
    }
  }

  /** A paused node carries on; what queued for it is delivered now, in arrival order. */
  resume(name: string): void {
    this.resumeIdx(this.idx(name));
  }

  /**
   * Graceful leave: the node broadcasts its departure and keeps running until it reports
   * `leave-disseminated` (or `leaveTimeoutMs` passes), then stops.
   */
  leave(name: string): void {
    const i = this.idx(name);
    if (this.lifecycle[i] !== S_RUNNING) throw new Error(`cannot leave from ${name}: it is ${this.lifecycleOf(name)}, not running`);
    if (this.leaving[i]) return;
    this.leaving[i] = true;
    this.applyEffects(i, (this.members[i] as SimMember).leave(this.now));
    this.heap.push(this.now + this.leaveTimeoutMs, K_SHUTDOWN, i, this.generation[i] as number, undefined);
  }

  /**
   * A new process under the same name and address: a fresh membership instance (fresh timers;
   * stale ones of the old instance are ignored). By default it starts and joins through the
   * first other live node; pass `join: []` not to join, or names to join through.
   */
  restart(name: string, opts: { readonly join?: readonly string[]; readonly state?: MemberState; readonly entries?: readonly { readonly key: string; readonly value: Uint8Array }[] } = {}): void {
    const i = this.idx(name);
    this.generation[i] = (this.generation[i] as number) + 1;
    this.lifecycle[i] = S_IDLE;
    this.started[i] = false;
    this.leaving[i] = false;
    this.pauseQueues[i] = null;
    this.members[i] = this.create(i, opts.state, opts.entries);
    const seeds = opts.join;
    if (seeds !== undefined && seeds.length === 0) this.startIdx(i);
    else this.join(name, seeds);
  }

  /** Changes a running node's state (tags, payload); it spreads as a new incarnation. */
  setLocalState(name: string, state: MemberState): void {
    const i = this.idx(name);
    if (!this.isLiveIdx(i)) throw new Error(`cannot set the state of ${name}: it is ${this.lifecycleOf(name)}`);
    this.applyEffects(i, (this.members[i] as SimMember).setLocalState(state, this.now));
  }

  /**
   * Changes a running node's state-layer entries (a set, or a delete with value null): spread as
   * deltas, no new incarnation. Throws what the node throws (StateLimitError over a limit).
   */
  changeState(name: string, changes: readonly StateChange[]): void {
    const i = this.idx(name);
    if (!this.isLiveIdx(i)) throw new Error(`cannot change the state of ${name}: it is ${this.lifecycleOf(name)}`);
    const m = this.members[i] as SimMember;
    if (m.changeState === undefined) throw new Error(`${name}'s factory builds members without a state layer`);
    this.applyEffects(i, m.changeState(changes, this.now));
  }

  /** `name` adopting a revocation list that revokes `target`: it marks the member dead (Membership.revoke). */
  revoke(name: string, target: string): void {
    const i = this.idx(name);
    if (!this.isLiveIdx(i)) throw new Error(`cannot revoke on ${name}: it is ${this.lifecycleOf(name)}`);
    const m = this.members[i] as SimMember;
    if (m.revoke === undefined) throw new Error(`${name}'s factory builds members without revoke`);
    this.applyEffects(i, m.revoke(target, this.now));
  }

  /** Two-way (or a → b only) partition between node sets given by name; returns an id for heal. */
  partition(a: Iterable<string>, b: Iterable<string>, oneWay = false): number {
    return this.network.partition(this.indicesOf(a), this.indicesOf(b), oneWay);
  }

  /** Heals one partition or all. */
  heal(id?: number): number {
    return this.network.heal(id);
  }

  // -------------------------------------------------------------- the clock

  /** Runs `fn` when the clock reaches `time` (after events already queued for that time). */
  at(time: number, fn: () => void): void {
    this.heap.push(Math.max(time, this.now), K_ACTION, 0, 0, fn);
  }

  /** Runs `fn` after `ms`. */
  after(ms: number, fn: () => void): void {
    this.at(this.now + ms, fn);
  }

  /** Processes every event up to and including `time`; the clock ends at `time`. */
  runUntil(time: number): void {
    const heap = this.heap;
    while (heap.size > 0 && heap.peekTime() <= time) this.step();
    if (time > this.now) this.now = time;
  }

  /** Runs for `ms` of simulated time. */
  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /**
   * Runs until `done()` holds, checking every `everyMs` (default 100), for at most `maxMs`.
   * Returns the time at which it held, or undefined if it never did.
   */
  runUntilTrue(done: () => boolean, maxMs: number, everyMs = 100): number | undefined {
    const end = this.now + maxMs;
    if (done()) return this.now;
    while (this.now < end) {
      this.runUntil(Math.min(end, this.now + everyMs));
      if (done()) return this.now;
    }
    return undefined;
  }

  /** Processes one event; returns false when none is left. */
  step(): boolean {
    const h = this.heap;
    if (!h.pop()) return false;
    const t = h.time;
    if (t > this.now) this.now = t;
    const kind = h.kind;
    const i = h.node;
    const aux = h.aux;
    const ref = h.ref;
    this.stats.events++;
    let x = Math.imul(this.traceHash ^ kind, 0x01000193);
    x = Math.imul(x ^ i, 0x01000193);
    x = Math.imul(x ^ aux, 0x01000193);
    x = Math.imul(x ^ ((t * 1024) | 0), 0x01000193);
    this.traceHash = x >>> 0;

    switch (kind) {
      case K_DATAGRAM:
      case K_STREAM:
        this.deliver(kind, i, aux, ref as Uint8Array);
        break;
      case K_TIMER: {
        if (aux !== this.generation[i]) break;
        const s = this.lifecycle[i];
        if (s === S_RUNNING) this.applyEffects(i, (this.members[i] as SimMember).handleTimer(ref as Timer, this.now));
        else if (s === S_PAUSED) this.enqueue(i, kind, aux, ref);
        break;
      }
      case K_START:
        if (aux === this.generation[i] && this.lifecycle[i] !== S_CRASHED && this.lifecycle[i] !== S_LEFT) {
          this.startIdx(i);
        }
        break;
      case K_JOIN:
        this.pendingStarts--;
        if (aux === this.generation[i] && (this.lifecycle[i] === S_IDLE || this.lifecycle[i] === S_RUNNING)) {
          this.startIdx(i);
          this.joinIdx(i, ref as readonly Address[]);
        }
        break;
      case K_RESUME:
        if (aux === this.pauseToken[i] && this.lifecycle[i] === S_PAUSED) this.resumeIdx(i);
        break;
      case K_SHUTDOWN:
        if (aux === this.generation[i] && this.leaving[i] && this.lifecycle[i] !== S_CRASHED) {
          this.lifecycle[i] = S_LEFT;
          this.pauseQueues[i] = null;
        }
        break;
      case K_ACTION:
        (ref as () => void)();
        break;
    }
    return true;
  }

  // -------------------------------------------------------------- observing

  /**
   * Subscribes to every event every node emits (with the node's name and the time). Returns an
   * unsubscribe function. Listeners run inside the event loop: keep them cheap.
   */
  onEvent(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const k = this.listeners.indexOf(listener);
      if (k >= 0) this.listeners.splice(k, 1);
    };
  }

  /**
   * How many live nodes other than `name` itself hold `name` with `status` (no allocation).
   * Pass `status` undefined to count the live nodes that do not know `name` at all.
   */
  countViews(name: string, status: MemberStatus | undefined): number {
    let n = 0;
    const self = this.index.get(name) ?? -1;
    for (let i = 0; i < this.members.length; i++) {
      if (i === self || !this.isLiveIdx(i)) continue;
      if ((this.members[i] as SimMember).statusOf(name) === status) n++;
    }
    return n;
  }

  /** Whether every live node other than `name` holds it with `status`. */
  allSee(name: string, status: MemberStatus): boolean {
    const self = this.index.get(name) ?? -1;
    for (let i = 0; i < this.members.length; i++) {
      if (i === self || !this.isLiveIdx(i)) continue;
      if ((this.members[i] as SimMember).statusOf(name) !== status) return false;
    }
    return true;
  }

  /**
   * Whether the cluster has converged: every live, not-leaving node holds every other such node
   * as alive, and every crashed or left node as `dead` or `left` (or has reaped it), and no
   * staggered join (joinAll) is still to come. O(N²).
   */
  isConverged(): boolean {
    if (this.pendingStarts > 0) return false;
    const n = this.members.length;
    for (let i = 0; i < n; i++) {
      if (!this.isLiveIdx(i) || this.leaving[i]) continue;
      const m = this.members[i] as SimMember;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const s = this.lifecycle[j];
        const view = m.statusOf(this.names[j] as string);
        if ((s === S_RUNNING || s === S_PAUSED) && !this.leaving[j]) {
          if (view !== 'alive') return false;
        } else if (s !== S_IDLE && (view === 'alive' || view === 'suspect')) {
          return false;
        }
      }
    }
    return true;
  }

  /** Packets and bytes the node sent and received, per channel. */
  traffic(name: string): Traffic {
    const o = this.idx(name) * STRIDE;
    const c = this.counters;
    const pc = (k: number): PacketCount => ({ packets: c[o + k] as number, bytes: c[o + k + 1] as number });
    return {
      sent: { datagram: pc(C_DG_SENT_P), stream: pc(C_ST_SENT_P) },
      received: { datagram: pc(C_DG_RECV_P), stream: pc(C_ST_RECV_P) },
    };
  }

  /** The same, summed over every node. */
  totalTraffic(): Traffic {
    const sums = new Float64Array(STRIDE);
    const c = this.counters;
    for (let i = 0; i < this.names.length; i++) for (let k = 0; k < STRIDE; k++) sums[k] = (sums[k] as number) + (c[i * STRIDE + k] as number);
    const pc = (k: number): PacketCount => ({ packets: sums[k] as number, bytes: sums[k + 1] as number });
    return {
      sent: { datagram: pc(C_DG_SENT_P), stream: pc(C_ST_SENT_P) },
      received: { datagram: pc(C_DG_RECV_P), stream: pc(C_ST_RECV_P) },
    };
  }

  /** Every node's membership counters (current instances), summed by name. */
  membershipCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.members) {
      if (m === null) continue;
      for (const [k, v] of Object.entries(m.counters)) out[k] = (out[k] ?? 0) + v;
    }
    return out;
  }

  // ---------------------------------------------------------------- internals

  private create(i: number, state: MemberState | undefined, entries?: readonly { readonly key: string; readonly value: Uint8Array }[]): SimMember {
    return this.factory({
      name: this.names[i] as string,
      addr: this.addrs[i] as Address,
      state: state ?? this.defaultState,
      options: this.options,
      random: this.root.fork(),
      identities: this.identities,
      columns: this.columns,
      stateLayer: { generation: (this.generation[i] as number) + 1, ...(entries === undefined ? {} : { entries }) },
    });
  }

  private idx(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) {
      const n = this.names.length;
      const hint = n === 0 ? 'the world has no nodes yet: add some first' : `nodes are ${this.names[0]}..${this.names[n - 1]}`;
      throw new Error(`no node named "${name}": ${hint}`);
    }
    return i;
  }

  private isLiveIdx(i: number): boolean {
    const s = this.lifecycle[i];
    return s === S_RUNNING || s === S_PAUSED;
  }

  private seedAddrs(i: number, seeds: readonly string[] | undefined): Address[] {
    if (seeds !== undefined) return seeds.map((s) => this.addrs[this.idx(s)] as Address);
    for (let j = 0; j < this.names.length; j++) {
      if (j !== i && this.isLiveIdx(j) && !this.leaving[j]) return [this.addrs[j] as Address];
    }
    return [];
  }

  private startIdx(i: number): void {
    const s = this.lifecycle[i];
    if (s === S_CRASHED || s === S_LEFT) return;
    if (s === S_IDLE) this.lifecycle[i] = S_RUNNING;
    if (this.started[i]) return;
    this.started[i] = true;
    this.applyEffects(i, (this.members[i] as SimMember).start(this.now));
  }

  private joinIdx(i: number, seeds: readonly Address[]): void {
    if (this.lifecycle[i] !== S_RUNNING || seeds.length === 0) return;
    this.applyEffects(i, (this.members[i] as SimMember).join(seeds, this.now));
  }

  private resumeIdx(i: number): void {
    if (this.lifecycle[i] !== S_PAUSED) return;
    this.lifecycle[i] = S_RUNNING;
    const q = this.pauseQueues[i];
    this.pauseQueues[i] = null;
    if (q === null || q === undefined) return;
    // As a real event loop does after a stall: timers that expired meanwhile run first (Node's
    // timers phase), then the I/O that queued up (its poll phase), each in arrival order. So a
    // stalled node does time out probes whose acks sat unread in its socket buffer.
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < q.kinds.length; k++) {
        if ((q.kinds[k] === K_TIMER) !== (pass === 0)) continue;
        this.heap.push(this.now, q.kinds[k] as number, i, q.auxs[k] as number, q.refs[k]);
      }
    }
  }

  private enqueue(i: number, kind: number, aux: number, ref: unknown): void {
    const q = this.pauseQueues[i] as PauseQueue;
    if (kind === K_DATAGRAM) {
      if (q.datagrams >= this.pauseQueueLimit) {
        this.stats.droppedPauseOverflow++;
        return;
      }
      q.datagrams++;
    }
    q.kinds.push(kind);
    q.auxs.push(aux);
    q.refs.push(ref);
  }

  private deliver(kind: number, to: number, from: number, packet: Uint8Array): void {
    const s = this.lifecycle[to];
    if (s === S_PAUSED) {
      this.enqueue(to, kind, from, packet);
      return;
    }
    if (s !== S_RUNNING) {
      this.stats.droppedAtDeadNode++;
      // A crash here is the process dying on a live host: its host answers a connection attempt
      // with a reset, which reaches the sender one trip later (a partition drops instead).
      if (kind === K_STREAM && !this.network.isBlocked(to, from)) {
        this.stats.streamsRefused++;
        const at = this.now + this.network.sample(this.network.linkFor(to, from).latency);
        const addr = this.addrs[to] as Address;
        const generation = this.generation[from] as number;
        this.heap.push(at, K_ACTION, from, 0, () => this.refused(from, generation, addr));
      }
      return;
    }
    const bytes = packet.length;
    this.tally(to, kind === K_DATAGRAM ? C_DG_RECV_P : C_ST_RECV_P, bytes);
    this.stats.packetsDelivered++;
    this.stats.bytesDelivered += bytes;
    const channel: Channel = kind === K_DATAGRAM ? 'datagram' : 'stream';
    this.applyEffects(to, (this.members[to] as SimMember).handlePacket(this.addrs[from] as Address, packet, channel, this.now));
  }

  private refused(i: number, generation: number, to: Address): void {
    if (this.generation[i] !== generation || this.lifecycle[i] !== S_RUNNING) return;
    const m = this.members[i] as SimMember;
    if (m.handleStreamRefused !== undefined) this.applyEffects(i, m.handleStreamRefused(to, this.now));
  }

  /**
   * Hands `packet` to a running node as if it came from `from` (an address no node need have): an
   * attacker's packet, crafted by a test. The node's effects are carried out as for any packet.
   */
  inject(name: string, from: Address, packet: Uint8Array, channel: Channel): void {
    const i = this.indexOf(name);
    if (this.lifecycle[i] !== S_RUNNING) return;
    this.applyEffects(i, (this.members[i] as SimMember).handlePacket(from, packet, channel, this.now));
  }

  /** Counts one packet of `bytes` in node i's column pair starting at `packetsColumn`. */
  private tally(i: number, packetsColumn: number, bytes: number): void {
    const c = this.counters;
    const o = i * STRIDE + packetsColumn;
    c[o] = (c[o] as number) + 1;
    c[o + 1] = (c[o + 1] as number) + bytes;
  }

  private applyEffects(i: number, effects: readonly Effect[]): void {
    for (let k = 0; k < effects.length; k++) {
      const e = effects[k] as Effect;
      switch (e.type) {
        case 'send':
          this.send(i, e.to, e.packet, e.channel);
          break;
        case 'schedule': {
          const d = e.delayMs;
          if (!(d >= 0) || d === Infinity) {
            throw new RangeError(`${this.names[i]} scheduled ${e.timer.kind} with delayMs ${d}: delays must be finite and >= 0`);
          }
          this.heap.push(this.now + d, K_TIMER, i, this.generation[i] as number, e.timer);
          break;
        }
        case 'emit':
          this.emit(i, e.event);
          break;
        case 'report':
          break; // diagnostics for a runtime's log; the counters already hold them
      }
    }
  }

  private send(i: number, to: Address, packet: Uint8Array, channel: Channel): void {
    const bytes = packet.length;
    const stream = channel === 'stream';
    this.tally(i, stream ? C_ST_SENT_P : C_DG_SENT_P, bytes);
    this.stats.packetsSent++;
    this.stats.bytesSent += bytes;
    const j = this.byHost.get(to.host)?.get(to.port);
    if (j === undefined) {
      this.stats.undeliverable++;
      return;
    }
    const net = this.network;
    const copies = net.route(i, j, channel, bytes);
    if (copies === 0) return;
    const kind = stream ? K_STREAM : K_DATAGRAM;
    this.heap.push(this.now + net.delay0, kind, j, i, packet);
    if (copies === 2) this.heap.push(this.now + net.delay1, kind, j, i, packet);
  }

  private emit(i: number, event: MembershipEvent): void {
    switch (event.type) {
      case 'member-dead':
      case 'member-suspect': {
        const j = this.index.get(event.member.name);
        if (j !== undefined && this.lifecycle[j] === S_RUNNING && !this.leaving[j]) {
          if (event.type === 'member-dead') this.stats.falseDeaths++;
          else this.stats.suspicionsOfLiveNodes++;
        }
        break;
      }
      case 'self-refute':
        this.stats.refutes++;
        break;
      case 'leave-disseminated':
        if (this.leaving[i]) this.heap.push(this.now, K_SHUTDOWN, i, this.generation[i] as number, undefined);
        break;
      default:
        break;
    }
    const ls = this.listeners;
    if (ls.length === 0) return;
    const name = this.names[i] as string;
    for (let k = 0; k < ls.length; k++) (ls[k] as EventListener)(name, event, this.now);
  }
}
