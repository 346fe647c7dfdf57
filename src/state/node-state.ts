/**
 * One owner's versioned key-value state, as its owner or any replica holds it (types.ts says what
 * the versions mean). Pure: time is given by the caller, for tombstone collection only.
 *
 * Entries live in a map by key and in a log in ascending version order. A change appends to the log
 * and leaves the superseded log entry behind (skipped when read, compacted once stale entries
 * outnumber live ones), so a set is O(1) amortised however many entries the node has, and a delta
 * from version v is a binary search and a scan of what changed since.
 */
import type { DeltaRefusal, NodeDelta, NodeDigest, StateEntry, StateLimits } from './types.js';

const encoder = new TextEncoder();

/** Bytes an entry accounts for (key and value); the codec adds its own framing. */
export function entryBytes(key: string, value: Uint8Array): number {
  return encoder.encode(key).length + value.length;
}

/**
 * An entry as held: immutable, so that every replica given the same delta object holds the same
 * entries, not copies (a simulated mesh of 1,000 nodes with 100 entries each holds 10^5 entries,
 * not 10^8). When a tombstone was deleted is the holder's own (`NodeState.deletedAt`).
 */
class Held implements StateEntry {
  constructor(
    readonly key: string,
    readonly value: Uint8Array,
    readonly version: number,
    readonly deleted: boolean,
    readonly bytes: number,
  ) {}
}

/** An entry version signed by its owner (identity): a second shape only where entries are signed. */
class SignedHeld extends Held {
  constructor(key: string, value: Uint8Array, version: number, deleted: boolean, bytes: number, readonly signature: Uint8Array) {
    super(key, value, version, deleted, bytes);
  }
}

export type ApplyResult = { readonly ok: true; readonly changed: readonly StateEntry[] } | { readonly ok: false; readonly reason: DeltaRefusal };

/** Signs an owner's entry version (identity): the fingerprint prefix and signature, 72 bytes. */
export type EntrySigner = (owner: string, generation: number, entry: StateEntry) => Uint8Array;

export class NodeState {
  private readonly byKey = new Map<string, Held>();
  private log: Held[] = [];
  private stale = 0;
  private liveEntries = 0;
  private liveBytesHeld = 0;
  /** The highest version whose changes this holds (all of them, as their latest entries). */
  private versionHeld = 0;
  /** The highest tombstone version collected here: a peer below it needs a reset. */
  private collected = 0;
  /** When each tombstone held was deleted, in the caller's clock (made on the first one). */
  private deletedAt: Map<string, number> | null = null;
  /**
   * Shared between stores (StateStore's converged base): read only. A holder that must change it
   * changes a `copy()`.
   */
  private frozen = false;

  constructor(
    readonly node: string,
    readonly generation: number,
  ) {}

  get version(): number {
    return this.versionHeld;
  }

  get collectedVersion(): number {
    return this.collected;
  }

  /** Live (not deleted) entries. */
  get size(): number {
    return this.liveEntries;
  }

  get liveBytes(): number {
    return this.liveBytesHeld;
  }

  get tombstones(): number {
    return this.byKey.size - this.liveEntries;
  }

  /** Makes this state read only from here on (it is to be shared); returns it. */
  freeze(): this {
    this.frozen = true;
    return this;
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  /** A changeable copy (sharing the immutable entries). */
  copy(): NodeState {
    const c = new NodeState(this.node, this.generation);
    for (const [k, e] of this.byKey) c.byKey.set(k, e);
    c.log = this.log.slice();
    c.stale = this.stale;
    c.liveEntries = this.liveEntries;
    c.liveBytesHeld = this.liveBytesHeld;
    c.versionHeld = this.versionHeld;
    c.collected = this.collected;
    c.deletedAt = this.deletedAt === null ? null : new Map(this.deletedAt);
    return c;
  }

  digest(): NodeDigest {
    return { node: this.node, generation: this.generation, version: this.versionHeld };
  }

  get(key: string): StateEntry | undefined {
    const e = this.byKey.get(key);
    return e === undefined || e.deleted ? undefined : e;
  }

  /** Live entries, in version order. */
  entries(): StateEntry[] {
    const out: StateEntry[] = [];
    for (const e of this.log) if (this.byKey.get(e.key) === e && !e.deleted) out.push(e);
    return out;
  }

  /**
   * The owner's change: `value` for `key` at the next version (or a tombstone when `value` is
   * null). Returns the new entry, or the limit it would break (nothing changes then).
   */
  change(key: string, value: Uint8Array | null, now: number, limits: StateLimits, sign?: EntrySigner): StateEntry | 'absent' | 'entry-too-large' | 'too-many-entries' | 'node-too-large' {
    const old = this.byKey.get(key);
    this.assertChangeable();
    if (value === null && (old === undefined || old.deleted)) return 'absent';
    if (value !== null) {
      const bytes = entryBytes(key, value);
      if (bytes > limits.maxEntryBytes) return 'entry-too-large';
      const adds = old === undefined || old.deleted ? 1 : 0;
      if (this.liveEntries + adds > limits.maxEntries) return 'too-many-entries';
      if (this.liveBytesHeld - (old !== undefined && !old.deleted ? old.bytes : 0) + bytes > limits.maxNodeBytes) return 'node-too-large';
    }
    const entry: StateEntry = { key, value: value ?? EMPTY, version: this.versionHeld + 1, deleted: value === null };
    const bytes = entryBytes(key, entry.value);
    return this.put(
      sign === undefined ? new Held(key, entry.value, entry.version, entry.deleted, bytes) : new SignedHeld(key, entry.value, entry.version, entry.deleted, bytes, sign(this.node, this.generation, entry)),
      now,
    );
  }

  /**
   * Applies a peer's delta about this owner (same generation; the caller replaces the NodeState on
   * a newer one). Entries at or below the version held are skipped; the rest must ascend within
   * (fromVersion, toVersion], and fromVersion must not be above the version held (no gap).
   */
  /** Why `apply(delta)` would refuse it, or null: the checks alone, changing nothing (a shared state is copied only for a delta that applies). */
  refusal(delta: NodeDelta, limits: StateLimits): DeltaRefusal | null {
    if (delta.generation !== this.generation) return delta.generation < this.generation ? 'stale-generation' : 'gap';
    if (!delta.reset && delta.fromVersion > this.versionHeld) return 'gap';
    if (!wellFormed(delta)) return 'malformed';
    if (delta.toVersion <= this.versionHeld) return 'nothing-new';
    // Limits: count what the node would hold after the delta, before changing anything.
    let live = delta.reset ? 0 : this.liveEntries;
    let bytes = delta.reset ? 0 : this.liveBytesHeld;
    for (const e of delta.entries) {
      if (!delta.reset && e.version <= this.versionHeld) continue;
      const b = entryBytes(e.key, e.value);
      if (!e.deleted && b > limits.maxEntryBytes) return 'over-limit';
      const old = delta.reset ? undefined : this.byKey.get(e.key);
      if (old !== undefined && !old.deleted) {
        live--;
        bytes -= old.bytes;
      }
      if (!e.deleted) {
        live++;
        bytes += b;
      }
    }
    if (live > limits.maxEntries || bytes > limits.maxNodeBytes) return 'over-limit';
    return null;
  }

  apply(delta: NodeDelta, now: number, limits: StateLimits): ApplyResult {
    this.assertChangeable();
    const refused = this.refusal(delta, limits);
    if (refused !== null) return { ok: false, reason: refused };
    const changed: StateEntry[] = [];
    if (delta.reset) {
      const incoming = new Set(delta.entries.map((d) => d.key));
      for (const e of this.byKey.values()) if (!e.deleted && !incoming.has(e.key)) changed.push({ key: e.key, value: EMPTY, version: delta.toVersion, deleted: true });
      this.byKey.clear();
      this.deletedAt = null;
      this.log = [];
      this.stale = 0;
      this.liveEntries = 0;
      this.liveBytesHeld = 0;
      this.versionHeld = 0;
    }
    for (const e of delta.entries) {
      if (e.version <= this.versionHeld) continue;
      changed.push(this.put(e, now));
    }
    this.versionHeld = Math.max(this.versionHeld, delta.toVersion);
    this.collected = Math.max(this.collected, delta.reset ? delta.collectedVersion : 0);
    return { ok: true, changed };
  }

  /**
   * What a peer holding `peer` of this owner misses, within `budget` bytes of entries (at least one
   * entry whatever its size, so that a large entry still moves): null when it misses nothing.
   * A reset (a peer of another generation, or below the tombstones collected here) is never cut:
   * what a peer held before a reset may include keys deleted since, so only a whole state may
   * replace it; when it does not fit `budget`, the answer is 'stream' (send it over a stream).
   */
  deltaFor(peer: NodeDigest | undefined, budget: number): NodeDelta | 'stream' | null {
    const known = peer !== undefined && peer.generation === this.generation ? peer.version : -1;
    if (peer !== undefined && peer.generation > this.generation) return null;
    if (known >= this.versionHeld) return null;
    // A peer of another generation, or below what this node has collected, gets the whole state.
    const reset = known < 0 || (known < this.collected && known < this.versionHeld);
    const from = reset ? 0 : known;
    const entries: StateEntry[] = [];
    let used = 0;
    let last = from;
    let complete = true;
    for (let i = reset ? 0 : this.firstAbove(from); i < this.log.length; i++) {
      const e = this.log[i] as Held;
      if (this.byKey.get(e.key) !== e) continue;
      if (entries.length > 0 && used + e.bytes > budget) {
        if (reset) return 'stream';
        complete = false;
        break;
      }
      entries.push(e);
      used += e.bytes;
      last = e.version;
    }
    return { node: this.node, generation: this.generation, fromVersion: from, toVersion: complete ? this.versionHeld : last, reset, collectedVersion: this.collected, entries };
  }

  /** Tombstones whose deletion time this holds (what collect() looks at). */
  get deletedCount(): number {
    return this.deletedAt === null ? 0 : this.deletedAt.size;
  }

  /** Whether `collect(before)` would drop anything (so that a shared state is copied only then). */
  hasCollectable(before: number): boolean {
    if (this.deletedAt === null) return false;
    for (const when of this.deletedAt.values()) if (when <= before) return true;
    return false;
  }

  /** Drops tombstones deleted at or before `before` (the caller's clock); returns how many. */
  collect(before: number): number {
    const at = this.deletedAt;
    if (at === null) return 0;
    this.assertChangeable();
    let n = 0;
    for (const [key, when] of at) {
      if (when > before) continue;
      const e = this.byKey.get(key);
      at.delete(key);
      if (e === undefined || !e.deleted) continue;
      this.byKey.delete(key);
      this.stale++;
      this.collected = Math.max(this.collected, e.version);
      n++;
    }
    if (n > 0) this.compact();
    return n;
  }

  private put(e: StateEntry, now: number): Held {
    const old = this.byKey.get(e.key);
    if (old !== undefined) {
      this.stale++;
      if (!old.deleted) {
        this.liveEntries--;
        this.liveBytesHeld -= old.bytes;
      }
    }
    // An entry this node already holds elsewhere (the same delta object applied to many replicas,
    // or an owner's own entry) is kept as it is: shared, not copied. Identity's signature rides along.
    const held =
      e instanceof Held
        ? e
        : e.signature === undefined
          ? new Held(e.key, e.value, e.version, e.deleted, entryBytes(e.key, e.value))
          : new SignedHeld(e.key, e.value, e.version, e.deleted, entryBytes(e.key, e.value), e.signature);
    this.byKey.set(e.key, held);
    if (held.deleted) (this.deletedAt ??= new Map()).set(held.key, now);
    else if (this.deletedAt !== null) this.deletedAt.delete(held.key);
    this.log.push(held);
    if (!held.deleted) {
      this.liveEntries++;
      this.liveBytesHeld += held.bytes;
    }
    this.versionHeld = Math.max(this.versionHeld, held.version);
    if (this.stale > 64 && this.stale > this.byKey.size) this.compact();
    return held;
  }

  private assertChangeable(): void {
    if (this.frozen) throw new Error(`the state of ${this.node} is shared and read only: change a copy()`);
  }

  private compact(): void {
    this.log = this.log.filter((e) => this.byKey.get(e.key) === e);
    this.stale = 0;
  }

  /** Index of the first log entry above `version` (the log ascends). */
  private firstAbove(version: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.log[mid] as Held).version <= version) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

const EMPTY = new Uint8Array(0);

function wellFormed(d: NodeDelta): boolean {
  if (!(d.fromVersion >= 0 && d.toVersion >= d.fromVersion)) return false;
  let prev = d.fromVersion;
  const keys = new Set<string>();
  for (const e of d.entries) {
    if (e.version <= prev || e.version > d.toVersion || keys.has(e.key)) return false;
    if (e.deleted && e.value.length > 0) return false;
    keys.add(e.key);
    prev = e.version;
  }
  return true;
}
