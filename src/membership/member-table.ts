/**
 * The member table: every known member (self included) by name, in a shuffled round-robin probe
 * order, with counts per status.
 *
 * It is laid out as columns indexed by a slot number (struct of arrays), not as one object per
 * member: a simulation of 10,000 nodes holds 10^8 entries, and per-entry objects (or a Map entry
 * per member) would cost both memory and garbage-collector time proportional to that. Each entry
 * is numbers in typed arrays only: its immutable identity (name, address, state) is held by an
 * IdentityRegistry (identity-registry.ts) and the entry keeps its integer id. The name index is an
 * open-addressing hash table in an Int32Array. A slot is a plain integer handle that stays valid
 * until the member is removed (reaped); removed slots are reused.
 */
import type { Address, AliveState, MemberRecord, MemberState, MemberStatus } from '../wire/messages.js';
import type { PushPullRecordSource } from '../wire/codec.js';
import type { MemberView } from './types.js';
import type { Random } from '../util/random.js';
import { IdentityRegistry, asciiNameHash, nameHash, type Identity } from './identity-registry.js';
import { asciiEquals } from '../util/bytes.js';
import { columnBytes, type ColumnSlab } from './column-slab.js';

export interface StatusCounts {
  alive: number;
  suspect: number;
  dead: number;
  left: number;
}

const STATUS: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];
const ALIVE = 0;
const SUSPECT = 1;
/** The status byte's high bit: the member has answered this node (see `heard`). */
const HEARD = 0x80;
const DEAD = 2;
const LEFT = 3;
/** A status's code (a switch: no keyed property load, which costs more at 10^8 adds). */
function codeOf(status: MemberStatus): number {
  switch (status) {
    case 'alive':
      return ALIVE;
    case 'suspect':
      return SUSPECT;
    case 'dead':
      return DEAD;
    default:
      return LEFT;
  }
}

/** No member: what lookups return instead of a slot. */
export const NONE = -1;

export class MemberTable {
  /** The registry holding this table's identities (shared with other tables, or its own). */
  readonly identities: IdentityRegistry;
  /**
   * Per slot, side by side: its identity id (NONE for a free slot) at 2·slot and its incarnation
   * (a uint32 stored as int32) at 2·slot + 1, so that a lookup and the incarnation check after it
   * touch one place in memory (10^4 tables of 10^4 entries do not stay in any cache).
   */
  private cells = new Int32Array(0);
  /** Open-addressing index from name hash to slot (NONE when empty); size a power of two. */
  private buckets = new Int32Array(0);
  private bucketMask = -1;
  private count = 0;
  private statuses = new Uint8Array(0);
  /**
   * When each entry last changed. Most entries of a large table changed at one same time (a
   * restored table: 10^8 entries in a 10,000-node simulation, each of which a column would give 8
   * bytes): that time is `changedBase` and only the others are kept, by slot, in `changedOther`;
   * once those are many (a long-running node's table), as a column instead (`changed`).
   */
  private changed: Float64Array | null = null;
  private changedBase = 0;
  private readonly changedOther = new Map<number, number>();
  private digestValue = 0;
  /** Bumped by every change of what `slots()` and `view()` show (see `version`). */
  private changes = 0;
  /** Slots in probe order (self and tombstones included; the probe skips them). */
  private order = new Int32Array(0);
  private orderLength = 0;
  private probeIndex = 0;
  /** Where the round-robin over unheard members stands (the same order, its own position). */
  private unheardIndex = 0;
  /** Alive or suspect members not heard from yet. */
  private unheardActive = 0;
  private capacity = 0;
  private highWater = 0;
  private readonly free: number[] = [];
  private readonly dead = new Set<number>();
  private readonly left = new Set<number>();
  readonly counts: StatusCounts = { alive: 0, suspect: 0, dead: 0, left: 0 };
  private readonly random: Random;

  /** Where the columns come from: shared slabs (many tables in one process), or null for plain arrays. */
  private readonly columns: ColumnSlab | null;

  constructor(random: Random, identities: IdentityRegistry = new IdentityRegistry(), columns: ColumnSlab | null = null) {
    this.random = random;
    this.identities = identities;
    this.columns = columns;
  }

  get size(): number {
    return this.count;
  }

  /** Alive and suspect members: the ones taking part (self included if it is). */
  get active(): number {
    return this.counts.alive + this.counts.suspect;
  }

  /**
   * A 32-bit digest of the alive members and their incarnations (XOR of one hash per member),
   * kept up to date incrementally. Two views with the same alive set agree on it.
   */
  get digest(): number {
    return this.digestValue >>> 0;
  }

  /**
   * A number that changes whenever an entry is added, removed or reordered, or changes status,
   * incarnation or identity (name, address, state): while it stays, `slots()` and every `view()`
   * but its `changedAt` give what they gave. The API caches its encoded member list by it.
   */
  get version(): number {
    return this.changes;
  }

  /** The slot of `name`, or NONE. */
  slotOf(name: string): number {
    if (this.count === 0) return NONE;
    const buckets = this.buckets;
    const mask = this.bucketMask;
    const cells = this.cells;
    const reg = this.identities;
    const hash = nameHash(name);
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = buckets[i] as number;
      if (slot === NONE) return NONE;
      const id = cells[2 * slot] as number;
      if (reg.hash(id) === hash && reg.get(id).node === name) return slot;
    }
  }

  /**
   * The slot of the member whose identity is `id` (an id of this table's registry) or another
   * identity of the same name, or NONE: what `slotOf(identities.get(id).node)` gives, without
   * hashing the name again (the registry keeps its hash) and, for the entry holding this very
   * identity (most entries of a converged view), without comparing names.
   */
  slotOfId(id: number): number {
    if (this.count === 0) return NONE;
    const buckets = this.buckets;
    const mask = this.bucketMask;
    const cells = this.cells;
    const reg = this.identities;
    const hash = reg.hash(id);
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = buckets[i] as number;
      if (slot === NONE) return NONE;
      const other = cells[2 * slot] as number;
      if (other === id || (reg.hash(other) === hash && reg.get(other).node === reg.get(id).node)) return slot;
    }
  }

  /**
   * The slot of the member whose name is the ASCII bytes `b[start..start+length)` (the caller
   * knows they are ASCII), or NONE: `slotOf` of the string they decode to, whose UTF-16 units, and
   * so whose hash, are those bytes. Reads a packet's names without building strings.
   */
  slotOfAscii(b: Uint8Array, start: number, length: number): number {
    if (this.count === 0) return NONE;
    const hash = asciiNameHash(b, start, length);
    const buckets = this.buckets;
    const mask = this.bucketMask;
    const cells = this.cells;
    const reg = this.identities;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = buckets[i] as number;
      if (slot === NONE) return NONE;
      const id = cells[2 * slot] as number;
      if (reg.hash(id) === hash && asciiEquals(reg.get(id).node, b, start, length)) return slot;
    }
  }

  /**
   * `slotOfAscii` for a push-pull record whose node, host and port fields are `b[prefixStart,
   * prefixEnd)` (its ASCII name at `b[nameStart, +nameLength)` among them). Afterwards
   * `foundSamePrefix` says whether the entry found holds an identity with exactly those bytes as
   * its record prefix (IdentityRegistry.prefixEquals): the same name, host and port. Compares the
   * registry's prefix bytes first, so the usual hit reads no identity object.
   */
  slotOfRecord(b: Uint8Array, nameStart: number, nameLength: number, prefixStart: number, prefixEnd: number): number {
    this.foundSamePrefix = false;
    if (this.count === 0) return NONE;
    const hash = asciiNameHash(b, nameStart, nameLength);
    const buckets = this.buckets;
    const mask = this.bucketMask;
    const cells = this.cells;
    const reg = this.identities;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = buckets[i] as number;
      if (slot === NONE) return NONE;
      const id = cells[2 * slot] as number;
      if (reg.hash(id) !== hash) continue;
      if (reg.prefixEquals(id, b, prefixStart, prefixEnd)) {
        this.foundSamePrefix = true;
        return slot;
      }
      if (asciiEquals(reg.get(id).node, b, nameStart, nameLength)) return slot;
    }
  }

  /** After `slotOfRecord`: whether its entry's identity has the record's very prefix bytes. */
  foundSamePrefix = false;

  /**
   * Every entry as a push-pull record (what `records()` lists, in the same order) for
   * wire's encodePushPullFrom, read from the columns and the registry's prefix bytes: no record
   * object and no string is built. Valid until the table changes.
   */
  recordSource(): PushPullRecordSource {
    return new TableRecords(this.identities, this.cells, this.statuses, this.order, this.count);
  }

  identity(slot: number): Identity {
    return this.identities.get(this.cells[2 * slot] as number);
  }

  name(slot: number): string {
    return this.identity(slot).node;
  }

  addr(slot: number): Address {
    return this.identity(slot).addr;
  }

  /** The member's alive state (its payload), as its alive message carries it. */
  state(slot: number): AliveState {
    return this.identity(slot).state;
  }

  /**
   * The tags views show for a member: since protocol 3 they are its state-layer entry, not part of
   * its identity, so the core that owns the state layer sets this (Membership: its `t:` entries).
   */
  tagsOf: (name: string) => Readonly<Record<string, string>> = () => NO_TAGS;

  /** The member's state as views show it: its tags (tagsOf) and its payload. */
  viewState(slot: number): MemberState {
    const id = this.identity(slot);
    const tags = this.tagsOf(id.node);
    const payload = id.state.payload;
    return tags === NO_TAGS && payload === null ? EMPTY_VIEW_STATE : { tags, payload };
  }

  incarnation(slot: number): number {
    return (this.cells[2 * slot + 1] as number) >>> 0;
  }

  status(slot: number): MemberStatus {
    return STATUS[this.code(slot)] as MemberStatus;
  }

  /** Alive or suspect. */
  isActive(slot: number): boolean {
    return this.code(slot) <= SUSPECT;
  }

  changedAt(slot: number): number {
    const col = this.changed;
    if (col !== null) return col[slot] as number;
    const other = this.changedOther;
    return other.size === 0 ? this.changedBase : (other.get(slot) ?? this.changedBase);
  }

  private setChanged(slot: number, time: number): void {
    const col = this.changed;
    if (col !== null) {
      col[slot] = time;
      return;
    }
    const other = this.changedOther;
    if (time === this.changedBase) {
      if (other.size > 0) other.delete(slot);
      return;
    }
    other.set(slot, time);
    if (other.size >= Math.max(64, this.capacity >> 4)) {
      const dense = new Float64Array(this.capacity).fill(this.changedBase);
      for (const [k, t] of other) dense[k] = t;
      other.clear();
      this.changed = dense;
    }
  }

  view(slot: number): MemberView {
    const addr = this.addr(slot);
    return {
      name: this.name(slot),
      host: addr.host,
      port: addr.port,
      incarnation: this.incarnation(slot),
      status: this.status(slot),
      state: this.viewState(slot),
      changedAt: this.changedAt(slot),
    };
  }

  /** Every entry as a push-pull record, in probe order. */
  records(): MemberRecord[] {
    // Called for every push-pull (10^4 records each in a large cluster): sized up front, and each
    // identity looked up once.
    const n = this.count;
    const out = new Array<MemberRecord>(n);
    for (let i = 0; i < n; i++) {
      const slot = this.order[i] as number;
      const id = this.identity(slot);
      out[i] = { node: id.node, addr: id.addr, incarnation: this.incarnation(slot), status: this.status(slot), state: id.state };
    }
    return out;
  }

  /** Makes room for `extra` more members without regrowing (a restore of known size). */
  reserve(extra: number): void {
    const need = this.count + extra;
    if (need > this.capacity) this.grow(need);
  }

  /**
   * Adds a member (whose name must not be in the table) at a random position of the probe order,
   * so that it is probed within one round.
   */
  add(ident: Identity, incarnation: number, status: MemberStatus, now: number): number {
    return this.addId(this.identities.acquire(ident), incarnation, status, now);
  }

  /**
   * `add` for an identity already in this table's registry, by id (as `IdentityRegistry.idsOf`
   * gives): takes a reference of its own on it. The same entry as `add` of the object.
   */
  addShared(id: number, incarnation: number, status: MemberStatus, now: number): number {
    this.identities.retain(id);
    return this.addId(id, incarnation, status, now);
  }

  /**
   * What restoring one record starts with: the slot of the member named as `id`'s identity is, as
   * `slotOfId(id)` finds it; or, when the table has no such member and holds fewer than `limit`,
   * a new entry for `id`, heard from, as `setHeard(addShared(id, incarnation, status, now))` adds
   * it (then `restoreAdded` is true); or NONE when the table is full. The lookup's walk of the
   * index ends where the new entry goes, so a restore into a reserved table walks it once.
   */
  restoreEntry(id: number, incarnation: number, status: MemberStatus, now: number, limit: number): number {
    this.restoreAdded = false;
    if (this.count === 0 || this.free.length > 0 || this.highWater >= this.capacity) {
      const found = this.slotOfId(id);
      if (found !== NONE || this.count >= limit) return found;
      const added = this.addShared(id, incarnation, status, now);
      this.setHeard(added);
      this.restoreAdded = true;
      return added;
    }
    const buckets = this.buckets;
    const mask = this.bucketMask;
    const cells = this.cells;
    const reg = this.identities;
    const hash = reg.hash(id);
    let i = hash & mask;
    for (; ; i = (i + 1) & mask) {
      const slot = buckets[i] as number;
      if (slot === NONE) break;
      const other = cells[2 * slot] as number;
      if (other === id || (reg.hash(other) === hash && reg.get(other).node === reg.get(id).node)) return slot;
    }
    if (this.count >= limit) return NONE;
    // addId's steps for a slot off the high water mark, with the heard bit set as setHeard sets it.
    reg.retain(id);
    const slot = this.highWater++;
    const code = codeOf(status);
    cells[2 * slot] = id;
    cells[2 * slot + 1] = incarnation;
    this.statuses[slot] = code <= SUSPECT ? code | HEARD : code;
    this.setChanged(slot, now);
    buckets[i] = slot;
    this.count++;
    this.countStatus(code, 1);
    if (code > SUSPECT) this.track(slot);
    if (code === ALIVE) this.digestValue ^= mix32(hash ^ Math.imul((incarnation | 0) + 1, 0x9e3779b1));
    const n = this.orderLength++;
    const order = this.order;
    order[n] = slot;
    if (n > 0) {
      const offset = this.random.int(n + 1);
      order[n] = order[offset] as number;
      order[offset] = slot;
    }
    this.restoreAdded = true;
    this.changes++;
    return slot;
  }

  /** After `restoreEntry`: whether it added an entry. */
  restoreAdded = false;

  private addId(id: number, incarnation: number, status: MemberStatus, now: number): number {
    this.changes++;
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.highWater >= this.capacity) this.grow(Math.max(8, this.capacity * 2));
      slot = this.highWater++;
    }
    const code = codeOf(status);
    const hash = this.identities.hash(id);
    const cells = this.cells;
    cells[2 * slot] = id;
    cells[2 * slot + 1] = incarnation;
    this.statuses[slot] = code;
    this.setChanged(slot, now);
    this.insertIndex(slot, hash);
    this.count++;
    this.countStatus(code, 1);
    if (code <= SUSPECT) this.unheardActive++;
    else this.track(slot);
    if (code === ALIVE) this.digestValue ^= mix32(hash ^ Math.imul((incarnation | 0) + 1, 0x9e3779b1)); // entryHash(slot)
    const n = this.orderLength++;
    const order = this.order;
    order[n] = slot;
    if (n > 0) {
      const offset = this.random.int(n + 1);
      order[n] = order[offset] as number;
      order[offset] = slot;
    }
    return slot;
  }

  /** Adds `delta` to the count of the status `code` (a switch: no keyed property access). */
  private countStatus(code: number, delta: number): void {
    const c = this.counts;
    switch (code) {
      case ALIVE:
        c.alive += delta;
        break;
      case SUSPECT:
        c.suspect += delta;
        break;
      case DEAD:
        c.dead += delta;
        break;
      default:
        c.left += delta;
    }
  }

  setIncarnation(slot: number, incarnation: number): void {
    this.changes++;
    const alive = this.code(slot) === ALIVE;
    if (alive) this.digestValue ^= this.entryHash(slot);
    this.cells[2 * slot + 1] = incarnation;
    if (alive) this.digestValue ^= this.entryHash(slot);
  }

  /** Replaces a member's identity (same name: a new address or state). */
  setIdentity(slot: number, ident: Identity): void {
    this.changes++;
    const id = this.identities.acquire(ident);
    this.identities.release(this.cells[2 * slot] as number);
    this.cells[2 * slot] = id;
  }

  /** `setIdentity` by id (see `addShared`). */
  setIdentityShared(slot: number, id: number): void {
    this.changes++;
    this.identities.retain(id);
    this.identities.release(this.cells[2 * slot] as number);
    this.cells[2 * slot] = id;
  }

  setStatus(slot: number, status: MemberStatus, now: number): void {
    const code = codeOf(status);
    const old = this.code(slot);
    if (old === code) return;
    this.changes++;
    if (old === ALIVE || code === ALIVE) this.digestValue ^= this.entryHash(slot);
    this.untrack(slot);
    this.counts[STATUS[old] as MemberStatus]--;
    // Heard stays with an active member; one that died or left must be heard from again.
    const heard = this.heard(slot) && code <= SUSPECT;
    if (old <= SUSPECT && !this.heard(slot)) this.unheardActive--;
    if (code <= SUSPECT && !heard) this.unheardActive++;
    this.statuses[slot] = code | (heard ? HEARD : 0);
    this.setChanged(slot, now);
    this.counts[status]++;
    this.track(slot);
  }

  /**
   * Whether this node has heard the member answer (an ack of its probe): members learned only
   * from others (a push-pull, gossip) are unheard until then. The probe cycle gives heard members
   * most of its probes and picks relays among them, so a view padded with members that do not
   * exist cannot slow the detection of real ones.
   */
  heard(slot: number): boolean {
    return ((this.statuses[slot] as number) & HEARD) !== 0;
  }

  /** Marks an active member heard from (its ack arrived). */
  setHeard(slot: number): void {
    if (this.heard(slot) || this.code(slot) > SUSPECT) return;
    this.statuses[slot] = (this.statuses[slot] as number) | HEARD;
    this.unheardActive--;
  }

  /** Active members not heard from yet. */
  get unheardCount(): number {
    return this.unheardActive;
  }

  private code(slot: number): number {
    return (this.statuses[slot] as number) & ~HEARD;
  }

  /** Sets the time of the last change without a status change (a new incarnation of self). */
  touch(slot: number, now: number): void {
    this.setChanged(slot, now);
  }

  /** Removes a member entirely (reaping a tombstone). O(n), and rare. */
  remove(slot: number): void {
    const id = slot < this.highWater ? (this.cells[2 * slot] as number) : NONE;
    if (id === NONE || this.slotOf(this.identities.get(id).node) !== slot) return;
    this.changes++;
    this.removeIndex(slot);
    this.count--;
    if (this.code(slot) === ALIVE) this.digestValue ^= this.entryHash(slot);
    this.untrack(slot);
    if (this.code(slot) <= SUSPECT && !this.heard(slot)) this.unheardActive--;
    this.counts[STATUS[this.code(slot)] as MemberStatus]--;
    this.cells[2 * slot] = NONE;
    this.changedOther.delete(slot);
    this.identities.release(id);
    this.free.push(slot);
    const order = this.order;
    let i = 0;
    while (i < this.orderLength && order[i] !== slot) i++;
    if (i < this.orderLength) {
      order.copyWithin(i, i + 1, this.orderLength);
      this.orderLength--;
      if (i < this.probeIndex) this.probeIndex--;
    }
  }

  /**
   * The next member to probe: round-robin over the order, skipping `self`, dead and left members;
   * a new round reshuffles. NONE when there is nobody to probe.
   */
  nextProbeTarget(self: number, lane: 'heard' | 'unheard' = 'heard'): number {
    const n = this.orderLength;
    const unheard = lane === 'unheard';
    for (let checked = 0; checked < n; checked++) {
      let i = unheard ? this.unheardIndex : this.probeIndex;
      if (i >= n) {
        if (!unheard) this.shuffleOrder();
        i = 0;
      }
      const slot = this.order[i] as number;
      if (unheard) this.unheardIndex = i + 1;
      else this.probeIndex = i + 1;
      if (slot === self || this.code(slot) > SUSPECT || this.heard(slot) !== !unheard) continue;
      return slot;
    }
    return NONE;
  }

  /**
   * Up to `k` distinct random members accepted by `accept`, found by bounded random sampling
   * (at most 3 × size draws, as memberlist does), so the cost does not grow with the table when
   * most members qualify; when sampling falls short, one pass over the table finds the rest.
   */
  randomMembers(k: number, accept: (slot: number) => boolean): number[] {
    const out: number[] = [];
    const n = this.orderLength;
    if (k <= 0 || n === 0) return out;
    const attempts = 3 * n;
    for (let i = 0; i < attempts && out.length < k; i++) {
      const slot = this.order[this.random.int(n)] as number;
      if (!accept(slot) || out.includes(slot)) continue;
      out.push(slot);
    }
    // Sampling missed some (a small table, or few members qualify): one pass from a random place,
    // so that every qualifying member can be found.
    if (out.length < k) {
      const start = this.random.int(n);
      for (let i = 0; i < n && out.length < k; i++) {
        const slot = this.order[(start + i) % n] as number;
        if (accept(slot) && !out.includes(slot)) out.push(slot);
      }
    }
    return out;
  }

  /** A random dead (not left) member accepted by `accept`, or NONE. */
  randomDead(accept: (slot: number) => boolean): number {
    const n = this.dead.size;
    if (n === 0) return NONE;
    let skip = this.random.int(n);
    let fallback = NONE;
    for (const slot of this.dead) {
      if (!accept(slot)) continue;
      fallback = slot;
      if (skip-- <= 0) return slot;
    }
    return fallback;
  }

  /** Members held dead (not left). */
  get deadCount(): number {
    return this.dead.size;
  }

  /** Dead and left members (tombstones), for reaping. */
  tombstones(): number[] {
    return [...this.dead, ...this.left];
  }

  /** Every slot in use, in probe order. */
  slots(): number[] {
    const n = this.orderLength;
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.order[i] as number;
    return out;
  }

  private insertIndex(slot: number, hash: number): void {
    const buckets = this.buckets;
    const mask = this.bucketMask;
    let i = hash & mask;
    while (buckets[i] !== NONE) i = (i + 1) & mask;
    buckets[i] = slot;
  }

  /** Linear-probing deletion by backward shift (no tombstones in the index). */
  private removeIndex(slot: number): void {
    const buckets = this.buckets;
    const mask = this.bucketMask;
    let i = this.slotHash(slot) & mask;
    while (buckets[i] !== slot) i = (i + 1) & mask;
    let hole = i;
    for (let j = (hole + 1) & mask; buckets[j] !== NONE; j = (j + 1) & mask) {
      const s = buckets[j] as number;
      const home = this.slotHash(s) & mask;
      // Move s into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!stays) {
        buckets[hole] = s;
        hole = j;
      }
    }
    buckets[hole] = NONE;
  }

  private slotHash(slot: number): number {
    return this.identities.hash(this.cells[2 * slot] as number);
  }

  private entryHash(slot: number): number {
    return mix32(this.slotHash(slot) ^ Math.imul(this.incarnation(slot) + 1, 0x9e3779b1));
  }

  private track(slot: number): void {
    const s = this.code(slot);
    if (s === DEAD) this.dead.add(slot);
    else if (s === LEFT) this.left.add(slot);
  }

  private untrack(slot: number): void {
    const s = this.code(slot);
    if (s === DEAD) this.dead.delete(slot);
    else if (s === LEFT) this.left.delete(slot);
  }

  private shuffleOrder(): void {
    this.changes++;
    const order = this.order;
    for (let i = this.orderLength - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      const tmp = order[i] as number;
      order[i] = order[j] as number;
      order[j] = tmp;
    }
  }

  private grow(capacity: number): void {
    const slab = this.columns;
    const cells = slab === null ? new Int32Array(2 * capacity) : slab.int32(2 * capacity);
    cells.set(this.cells);
    this.cells = cells;
    const st = slab === null ? new Uint8Array(capacity) : slab.uint8(capacity);
    st.set(this.statuses);
    this.statuses = st;
    if (this.changed !== null) {
      const ch = new Float64Array(capacity);
      ch.set(this.changed);
      this.changed = ch;
    }
    const order = slab === null ? new Int32Array(capacity) : slab.int32(capacity);
    order.set(this.order.subarray(0, this.orderLength));
    this.order = order;
    this.capacity = capacity;
    const size = indexSize(capacity);
    const buckets = (slab === null ? new Int32Array(size) : slab.int32(size)).fill(NONE);
    this.buckets = buckets;
    this.bucketMask = size - 1;
    for (let i = 0; i < this.orderLength; i++) {
      const slot = this.order[i] as number;
      this.insertIndex(slot, this.slotHash(slot));
    }
  }
}

/** MemberTable.recordSource's cursor over the table's columns. */
class TableRecords implements PushPullRecordSource {
  prefix: Uint8Array;
  prefixStart = 0;
  prefixEnd = 0;
  incarnation = 0;
  status: MemberStatus = 'alive';
  state: AliveState;

  constructor(
    private readonly reg: IdentityRegistry,
    private readonly cells: Int32Array,
    private readonly statuses: Uint8Array,
    private readonly order: Int32Array,
    readonly count: number,
  ) {
    this.prefix = reg.prefixBytes;
    this.state = EMPTY;
  }

  seek(i: number): void {
    const slot = this.order[i] as number;
    const id = this.cells[2 * slot] as number;
    const reg = this.reg;
    const at = reg.prefixStart(id);
    this.prefix = reg.prefixBytes;
    this.prefixStart = at;
    this.prefixEnd = at + reg.prefixLength(id);
    this.incarnation = (this.cells[2 * slot + 1] as number) >>> 0;
    this.status = STATUS[(this.statuses[slot] as number) & ~HEARD] as MemberStatus;
    this.state = reg.get(id).state;
  }
}

const EMPTY: AliveState = Object.freeze({ payload: null });
/** No tags (the one object tagsOf answers for a member without a `t:` entry). */
export const NO_TAGS: Readonly<Record<string, string>> = Object.freeze({});
const EMPTY_VIEW_STATE: MemberState = Object.freeze({ tags: NO_TAGS, payload: null });

/**
 * The index's size for `capacity` members: a power of two that keeps its load at or below three
 * quarters. Linear probing stays short at that load (about 2.5 probes for a hit at worst), and the
 * index is the largest column (13 bytes an entry at one half, 10^8 entries in a 10,000-node
 * simulation).
 */
function indexSize(capacity: number): number {
  let size = 16;
  while (size * 3 < capacity * 4) size *= 2;
  return size;
}

/** The bytes of ColumnSlab a table of `capacity` members takes (its four columns; change times are not carved). */
export function tableColumnBytes(capacity: number): number {
  return columnBytes(8 * capacity) + columnBytes(capacity) + columnBytes(4 * capacity) + columnBytes(4 * indexSize(capacity));
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
function mix32(x: number): number {
  let h = x;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
