/**
 * Member identities (name, address, state) by integer id, reference-counted: what a member table
 * holds in place of a pointer per entry (member-table.ts), so that the garbage collector has no
 * per-entry pointer to trace and tables that share one registry hold one id per identity object.
 *
 * Production carries it too, although only the simulator shares one (`MembershipConfig.identities`:
 * 10^8 entries of a 10,000-node world refer to 10^4 objects). A table needs an identity pointer and
 * a name hash per entry either way; the registry adds a Map entry and a reference count per distinct
 * identity (about 70 bytes a member, under 1 MB at 10,000 members) and one array read per lookup.
 * That buys one member table for both: the table the simulator exercises is the one production runs.
 */
import type { Address, AliveState, MemberRecord, MemberStatus } from '../wire/messages.js';
import { encodeRecordPrefix } from '../wire/codec.js';

/**
 * What a member is, as opposed to what this node believes of it: its name, address and state.
 * Immutable; replaced as a whole when the member changes. An alive message or a push-pull record
 * has these fields and is stored as is.
 */
export interface Identity {
  readonly node: string;
  readonly addr: Address;
  readonly state: AliveState;
}

/**
 * Identity objects by integer id, reference-counted. A table holds ids, not pointers; the objects
 * live here once however many tables hold them. Ids of objects no table holds any more are
 * reused, so a long-running node keeps only the identities it still uses. One registry may serve
 * many tables (the simulator's nodes share one); a table makes its own by default.
 */
export class IdentityRegistry {
  private objects: (Identity | undefined)[] = [];
  private refs = new Int32Array(16);
  /** nameHash of each id's name, so that tables need not keep one per entry. */
  private nameHashes = new Uint32Array(16);
  private readonly ids = new Map<Identity, number>();
  private readonly free: number[] = [];
  /** The last batch of `idsOf` and its ids (each held once by this cache). */
  private batch: readonly Identity[] | null = null;
  private batchIds = new Int32Array(0);
  /** The last batch of `recordsOf` (the same array as `batch`) and its columns. */
  private recordBatch: RecordBatch | null = null;
  /**
   * Each id's record prefix (its node, host and port as a push-pull record starts: wire's
   * encodeRecordPrefix), encoded on first use into one shared array: where it starts (-1: not
   * encoded) and its length. Push-pulls are written from these bytes and their records recognised
   * by them, so neither touches the identity objects' strings (10^4 of them, scattered in the heap).
   */
  private prefixAt = new Int32Array(16).fill(-1);
  private prefixLen = new Int32Array(16);
  private arena = new Uint8Array(1024);
  private arenaUsed = 0;
  /** Bytes of the arena held by freed ids' prefixes. */
  private arenaGarbage = 0;

  /** Distinct identity objects held. */
  get size(): number {
    return this.ids.size;
  }

  get(id: number): Identity {
    return this.objects[id] as Identity;
  }

  /** The hash of the id's name (the member table's index and digest use it). */
  hash(id: number): number {
    return this.nameHashes[id] as number;
  }

  /** References held on `id` (0 for a free id). */
  refCount(id: number): number {
    return id < this.refs.length ? (this.refs[id] as number) : 0;
  }

  /** The id of `ident` (registered on first use) with one more reference on it. */
  acquire(ident: Identity): number {
    let id = this.ids.get(ident);
    if (id === undefined) {
      id = this.free.pop();
      if (id === undefined) {
        id = this.objects.length;
        this.objects.push(ident);
        if (id >= this.refs.length) {
          const refs = new Int32Array(this.refs.length * 2);
          refs.set(this.refs);
          this.refs = refs;
          const hashes = new Uint32Array(this.refs.length);
          hashes.set(this.nameHashes);
          this.nameHashes = hashes;
          const at = new Int32Array(this.refs.length).fill(-1);
          at.set(this.prefixAt);
          this.prefixAt = at;
          const len = new Int32Array(this.refs.length);
          len.set(this.prefixLen);
          this.prefixLen = len;
        }
      } else {
        this.objects[id] = ident;
      }
      this.nameHashes[id] = nameHash(ident.node);
      this.ids.set(ident, id);
    }
    this.refs[id] = (this.refs[id] as number) + 1;
    return id;
  }

  /** One more reference on an id the caller holds (or got from `idsOf`). */
  retain(id: number): void {
    this.refs[id] = (this.refs[id] as number) + 1;
  }

  /** Drops one reference; the id is freed with its last. */
  release(id: number): void {
    const n = (this.refs[id] as number) - 1;
    this.refs[id] = n;
    if (n > 0) return;
    this.ids.delete(this.objects[id] as Identity);
    this.objects[id] = undefined;
    if ((this.prefixAt[id] as number) >= 0) {
      this.arenaGarbage += this.prefixLen[id] as number;
      this.prefixAt[id] = -1;
    }
    this.free.push(id);
  }

  /**
   * Where id's record prefix starts in `prefixBytes` (encoded now if it was not yet). Read
   * `prefixBytes` after this call: encoding one may move them all to a new array.
   */
  prefixStart(id: number): number {
    const at = this.prefixAt[id] as number;
    return at >= 0 ? at : this.encodePrefix(id);
  }

  /** The length of id's record prefix (after `prefixStart(id)`). */
  prefixLength(id: number): number {
    return this.prefixLen[id] as number;
  }

  /** The array every record prefix is in (see `prefixStart`). */
  get prefixBytes(): Uint8Array {
    return this.arena;
  }

  /** Whether `b[start, end)` are id's record prefix: its name, host and port, encoded as wire encodes them. */
  prefixEquals(id: number, b: Uint8Array, start: number, end: number): boolean {
    const at = this.prefixStart(id);
    const n = end - start;
    if (n !== this.prefixLen[id]) return false;
    const a = this.arena;
    for (let i = 0; i < n; i++) if (a[at + i] !== b[start + i]) return false;
    return true;
  }

  private encodePrefix(id: number): number {
    const ident = this.objects[id] as Identity;
    const bytes = encodeRecordPrefix(ident.node, ident.addr.host, ident.addr.port);
    const n = bytes.length;
    if (this.arenaUsed + n > this.arena.length) this.compact(n);
    const at = this.arenaUsed;
    this.arena.set(bytes, at);
    this.arenaUsed = at + n;
    this.prefixAt[id] = at;
    this.prefixLen[id] = n;
    return at;
  }

  /** Moves the live prefixes into an array with room for `extra` more bytes (twice what they need). */
  private compact(extra: number): void {
    const live = this.arenaUsed - this.arenaGarbage;
    const next = new Uint8Array(Math.max(1024, 2 * (live + extra)));
    const old = this.arena;
    const at = this.prefixAt;
    let used = 0;
    for (let id = 0; id < this.objects.length; id++) {
      const start = at[id] as number;
      if (start < 0) continue;
      const n = this.prefixLen[id] as number;
      next.set(old.subarray(start, start + n), used);
      at[id] = used;
      used += n;
    }
    this.arena = next;
    this.arenaUsed = used;
    this.arenaGarbage = 0;
  }

  /**
   * The ids of `items`, in order, valid until the next call with another array (they are held by
   * this cache until then; `retain` one to keep it). The same array again costs nothing, so
   * seeding many tables from one array of records looks each object up once, not once a table.
   */
  /**
   * `idsOf` for records, with their incarnations and statuses as columns (RecordBatch), cached in
   * the same way: valid until the next call with another array.
   */
  recordsOf(records: readonly MemberRecord[]): RecordBatch {
    const ids = this.idsOf(records);
    const cached = this.recordBatch;
    if (cached !== null && cached.records === records && cached.ids === ids) return cached;
    const n = records.length;
    const incarnations = new Float64Array(n);
    const statuses = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const r = records[i] as MemberRecord;
      incarnations[i] = r.incarnation;
      statuses[i] = RECORD_STATUSES.indexOf(r.status);
    }
    const batch: RecordBatch = { records, ids, incarnations, statuses };
    this.recordBatch = batch;
    return batch;
  }

  idsOf(items: readonly Identity[]): Int32Array {
    if (items === this.batch) return this.batchIds;
    const ids = new Int32Array(items.length);
    for (let i = 0; i < items.length; i++) ids[i] = this.acquire(items[i] as Identity);
    const old = this.batchIds;
    for (let i = 0; i < old.length; i++) this.release(old[i] as number);
    this.batch = items;
    this.batchIds = ids;
    return ids;
  }
}

/**
 * A batch of records as columns: what restoring one array of records into many tables reads,
 * without visiting 10^4 record objects scattered over the heap once per table.
 */
export interface RecordBatch {
  readonly records: readonly MemberRecord[];
  /** Each record's identity id (held by the registry's batch cache, as `idsOf` gives them). */
  readonly ids: Int32Array;
  readonly incarnations: Float64Array;
  /** Each record's status as an index into RECORD_STATUSES. */
  readonly statuses: Uint8Array;
}

/** The statuses of RecordBatch.statuses, by index. */
export const RECORD_STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'dead', 'left'];

/** FNV-1a over the UTF-16 code units of a name. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** `nameHash` of the name whose UTF-16 units are the ASCII bytes b[start..start+length). */
export function asciiNameHash(b: Uint8Array, start: number, length: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ (b[start + i] as number), 0x01000193);
  return h >>> 0;
}
