/**
 * Every owner's state as one node holds it: its own (which it changes) and a replica of each peer's
 * (which only deltas change). Pure; the driver gives `now` for tombstone collection.
 *
 * Repair: a peer's digests (owner, generation, version) say what it holds; `deltasFor` answers with
 * what it misses, within a byte budget, owners furthest behind first. Any node that holds an
 * owner's state can answer for it, so a busy owner is not a fan-in point. `summary` folds every
 * digest into one 32-bit number, kept up to date as changes land, for a cheap "do we differ?".
 */
import { entryBytes, NodeState, type ApplyResult, type EntrySigner } from './node-state.js';
import { DEFAULT_STATE_LIMITS, type NodeDelta, type NodeDigest, type StateEntry, type StateLimits } from './types.js';

export type ChangeResult = { readonly ok: true; readonly entry: StateEntry } | { readonly ok: false; readonly reason: 'absent' | 'entry-too-large' | 'too-many-entries' | 'node-too-large' };

export type StoreApplyResult =
  | (ApplyResult & { readonly ok: true; readonly node: string; readonly replaced: boolean })
  | (ApplyResult & { readonly ok: false; readonly node: string });

/**
 * Whole states of many owners, frozen, shared by many stores as their converged base (a simulator
 * building a converged mesh: every node holds every owner's state, one object each, not a copy per
 * node). A store reads its base in place and copies an owner's state only to change it.
 */
export class SharedStates {
  readonly states: ReadonlyMap<string, NodeState>;
  /** The XOR of every owner's summary contribution. */
  readonly summary: number;
  /** The states holding tombstones: all that tombstone collection need look at in the base. */
  readonly withTombstones: readonly NodeState[];

  constructor(states: Iterable<NodeState>) {
    const map = new Map<string, NodeState>();
    let h = 0;
    for (const s of states) {
      if (map.has(s.node)) throw new Error(`two states of ${s.node}`);
      map.set(s.node, s.isFrozen ? s : s.copy().freeze());
      h ^= contribution(s.digest());
    }
    this.states = map;
    this.summary = h;
    this.withTombstones = [...map.values()].filter((st) => st.tombstones > 0);
  }
}

export class StateStore {
  private readonly own: NodeState;
  /** Replicas this store changed or added (null: forgotten, shadowing the base). */
  private readonly replicas = new Map<string, NodeState | null>();
  /** Replicas shared with other stores, read only; `replicas` shadows them. */
  private base: SharedStates | null = null;
  /** Owners held: the base's (this node aside) and the overlay's, net of forgotten ones. */
  private held = 0;
  private summaryHash = 0;

  constructor(
    readonly self: string,
    /** This start's generation: higher than any earlier start's (the driver picks it, e.g. a clock). */
    generation: number,
    readonly limits: StateLimits = DEFAULT_STATE_LIMITS,
  ) {
    this.own = new NodeState(self, generation);
    this.summaryHash = contribution(this.own.digest());
  }

  get generation(): number {
    return this.own.generation;
  }

  /** This node's own version (raised by every change). */
  get version(): number {
    return this.own.version;
  }

  /**
   * The XOR of every held owner's digest hash, owners at version 0 (nothing ever set) left out:
   * equal summaries almost surely mean equal digests, and nodes without state agree at once.
   */
  get summary(): number {
    return this.summaryHash >>> 0;
  }

  /** Owners held, this node included. */
  get owners(): number {
    return this.held + 1;
  }

  /**
   * Takes `shared` as the replicas held (before any other replica: a converged start). The base's
   * state of this node itself, if any, is ignored: only the owner changes its own state.
   */
  restore(shared: SharedStates): void {
    if (this.base !== null || this.replicas.size > 0) throw new Error('restore() is for a store that holds no replicas yet');
    this.base = shared;
    const mine = shared.states.get(this.self);
    this.held = shared.states.size - (mine === undefined ? 0 : 1);
    this.summaryHash ^= shared.summary ^ (mine === undefined ? 0 : contribution(mine.digest()));
  }

  /** This node's own state as it is now, frozen (for a SharedStates). */
  ownSnapshot(): NodeState {
    return this.own.copy().freeze();
  }

  /** Signs this node's entries as they are made (identity); unset, entries are unsigned. */
  signer: EntrySigner | undefined = undefined;

  private changeCount = 0;

  /**
   * A count raised by every change of what the store holds (an own change, a delta applied, a
   * replica forgotten): while it stays, every entry read gives what it gave. Views that show state
   * (a member's tags, `t:`) key their caches by it.
   */
  get changes(): number {
    return this.changeCount;
  }

  set(key: string, value: Uint8Array, now: number): ChangeResult {
    return this.change(key, value, now);
  }

  delete(key: string, now: number): ChangeResult {
    return this.change(key, null, now);
  }

  /** One owner's live entries (this node's own for `self`), or undefined when not held. */
  entriesOf(node: string): StateEntry[] | undefined {
    return this.stateOf(node)?.entries();
  }

  get(node: string, key: string): StateEntry | undefined {
    return this.stateOf(node)?.get(key);
  }

  digestOf(node: string): NodeDigest | undefined {
    return this.stateOf(node)?.digest();
  }

  /** Every owner's digest, this node's first. */
  digests(): NodeDigest[] {
    const out = [this.own.digest()];
    for (const s of this.replicaStates()) out.push(s.digest());
    return out;
  }

  /**
   * What a peer whose digests are `peer` misses, within `budget` bytes of entries: owners the peer
   * does not hold or holds at an older generation or version, those furthest behind first. An
   * owner whose whole state must go and does not fit is listed in `stream` instead. With `only`,
   * just the owners `peer` lists (a request about those owners, not a full digest).
   */
  deltasFor(peer: readonly NodeDigest[], budget: number, only = false): { deltas: NodeDelta[]; stream: string[] } {
    const theirs = new Map<string, NodeDigest>();
    for (const d of peer) theirs.set(d.node, d);
    const behind: { state: NodeState; by: number }[] = [];
    for (const s of only ? this.listed(peer) : this.all()) {
      const t = theirs.get(s.node);
      // An owner that never set anything is news only to a peer holding an older generation of it
      // (so that a mesh of nodes without state never fills with empty replicas).
      if (s.version === 0 && (t === undefined || t.generation >= s.generation)) continue;
      if (t !== undefined && (t.generation > s.generation || (t.generation === s.generation && t.version >= s.version))) continue;
      behind.push({ state: s, by: t === undefined || t.generation !== s.generation ? s.version + 1 : s.version - t.version });
    }
    behind.sort((a, b) => b.by - a.by);
    const deltas: NodeDelta[] = [];
    const stream: string[] = [];
    let left = budget;
    for (const { state } of behind) {
      if (left <= 0) break;
      const d = state.deltaFor(theirs.get(state.node), left);
      if (d === null) continue;
      if (d === 'stream') {
        stream.push(state.node);
        continue;
      }
      deltas.push(d);
      for (const e of d.entries) left -= e.key.length + e.value.length;
    }
    return { deltas, stream };
  }

  /** The changes of this node's own state above `fromVersion` (for piggybacking a fresh change). */
  ownDelta(fromVersion: number, budget: number): NodeDelta | 'stream' | null {
    return this.own.deltaFor({ node: this.self, generation: this.own.generation, version: fromVersion }, budget);
  }

  /**
   * Applies a delta from a peer. A delta about this node itself is ignored (only the owner
   * changes its state). A newer generation replaces what was held once a delta of it applies.
   */
  apply(delta: NodeDelta, now: number): StoreApplyResult {
    if (delta.node === this.self) return { ok: false, node: delta.node, reason: 'nothing-new' };
    const held = this.replicaOf(delta.node);
    if (held !== undefined && delta.generation < held.generation) return { ok: false, node: delta.node, reason: 'stale-generation' };
    const fresh = held === undefined || delta.generation > held.generation;
    // An owner at version 0 that this node holds nothing of: nothing to hold.
    if (held === undefined && delta.toVersion === 0 && delta.entries.length === 0) return { ok: true, node: delta.node, replaced: false, changed: [] };
    // A shared replica is changed as this store's own copy (made only once the delta is known to apply).
    if (!fresh && held.isFrozen) {
      const why = held.refusal(delta, this.limits);
      if (why !== null) return { ok: false, node: delta.node, reason: why };
    }
    const target = fresh ? new NodeState(delta.node, delta.generation) : held.isFrozen ? held.copy() : held;
    const before = held === undefined ? 0 : contribution(held.digest());
    let r = target.apply(delta, now, this.limits);
    // An owner that has changed nothing yet (version 0) is still an owner to hold.
    if (!r.ok && r.reason === 'nothing-new' && fresh && delta.toVersion === 0 && delta.entries.length === 0) r = { ok: true, changed: [] };
    if (!r.ok) return { ...r, node: delta.node };
    let changed = r.changed;
    if (fresh && held !== undefined) {
      // The old generation's live keys that the new one does not have are gone (as of the new
      // generation's version 0).
      const kept = new Set(changed.map((e) => e.key));
      const gone: StateEntry[] = held.entries().filter((e) => !kept.has(e.key)).map((e) => ({ key: e.key, value: new Uint8Array(0), version: 0, deleted: true }));
      changed = gone.concat(changed);
    }
    this.summaryHash ^= before;
    if (held === undefined) this.held++;
    if (target !== held) this.replicas.set(delta.node, target);
    this.summaryHash ^= contribution(target.digest());
    this.changeCount++;
    return { ok: true, node: delta.node, replaced: fresh && held !== undefined, changed };
  }

  /** Drops a peer's replica (the member was reaped). */
  forget(node: string): void {
    const held = this.replicaOf(node);
    if (held === undefined) return;
    this.summaryHash ^= contribution(held.digest());
    this.held--;
    this.changeCount++;
    if (this.base?.states.has(node) === true && node !== this.self) this.replicas.set(node, null);
    else this.replicas.delete(node);
  }

  /** Collects tombstones deleted at or before `before` in every state held; returns how many. */
  collect(before: number): number {
    let n = this.own.collect(before);
    // Of the base, only the states with tombstones (not every owner of a large mesh on every reap).
    const shared = this.base === null ? [] : this.base.withTombstones.filter((st) => st.node !== this.self && !this.replicas.has(st.node));
    for (const st of shared) {
      if (!st.hasCollectable(before)) continue;
      const copy = st.copy();
      this.replicas.set(st.node, copy);
      n += copy.collect(before);
    }
    for (const st of this.replicas.values()) if (st !== null && st.deletedCount > 0) n += st.collect(before);
    return n;
  }

  private change(key: string, value: Uint8Array | null, now: number): ChangeResult {
    const before = contribution(this.own.digest());
    const r = this.own.change(key, value, now, this.limits, this.signer);
    if (typeof r === 'string') return { ok: false, reason: r };
    this.summaryHash ^= before ^ contribution(this.own.digest());
    this.changeCount++;
    return { ok: true, entry: r };
  }

  /**
   * The first limit that this node's own state would break after `changes` (in order; a null
   * value deletes), or null: a dry run of set/delete, so that a caller can refuse a change whole.
   */
  wouldBreak(changes: readonly { readonly key: string; readonly value: Uint8Array | null }[]): { readonly reason: 'entry-too-large' | 'too-many-entries' | 'node-too-large'; readonly key: string; readonly value: number } | null {
    const after = new Map<string, number>();
    let live = this.own.size;
    let bytes = this.own.liveBytes;
    for (const c of changes) {
      const held = after.has(c.key) ? after.get(c.key) : this.own.get(c.key) === undefined ? undefined : entryBytes(c.key, (this.own.get(c.key) as StateEntry).value);
      if (held !== undefined && held >= 0) {
        live--;
        bytes -= held;
      }
      if (c.value === null) {
        after.set(c.key, -1);
        continue;
      }
      const b = entryBytes(c.key, c.value);
      if (b > this.limits.maxEntryBytes) return { reason: 'entry-too-large', key: c.key, value: b };
      live++;
      bytes += b;
      after.set(c.key, b);
      if (live > this.limits.maxEntries) return { reason: 'too-many-entries', key: c.key, value: live };
      if (bytes > this.limits.maxNodeBytes) return { reason: 'node-too-large', key: c.key, value: bytes };
    }
    return null;
  }

  private *listed(peer: readonly NodeDigest[]): Iterable<NodeState> {
    for (const d of peer) {
      const s = this.stateOf(d.node);
      if (s !== undefined) yield s;
    }
  }

  private stateOf(node: string): NodeState | undefined {
    return node === this.self ? this.own : this.replicaOf(node);
  }

  private replicaOf(node: string): NodeState | undefined {
    const r = this.replicas.get(node);
    if (r !== undefined) return r ?? undefined;
    if (this.base === null || node === this.self) return undefined;
    return this.base.states.get(node);
  }

  /** Every replica held: the base's not shadowed, then this store's own. */
  private *replicaStates(): Iterable<NodeState> {
    const base = this.base;
    if (base !== null) {
      for (const [node, s] of base.states) if (node !== this.self && !this.replicas.has(node)) yield s;
    }
    for (const s of this.replicas.values()) if (s !== null) yield s;
  }

  private *all(): Iterable<NodeState> {
    yield this.own;
    yield* this.replicaStates();
  }
}

/** What one owner adds to the summary: its digest's hash, or nothing at version 0. */
function contribution(d: NodeDigest): number {
  return d.version === 0 ? 0 : digestHash(d);
}

/** FNV-1a over the node name, then generation and version mixed in (32 bits). */
export function digestHash(d: NodeDigest): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < d.node.length; i++) {
    h ^= d.node.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  for (const v of [d.generation, d.version]) {
    h ^= v >>> 0;
    h = Math.imul(h, 0x01000193);
    h ^= Math.floor(v / 0x1_0000_0000);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
