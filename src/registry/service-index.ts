/**
 * Every service instance in the mesh, by name, as this node sees it; the registry's read side.
 *
 * Fed from membership (each member's state payload holds its instances): a member that is alive
 * or suspect has its instances indexed, a dead, left or reaped member has none. Updates are
 * incremental: a node's new payload is decoded once and diffed against what the index held, and
 * only the names it touches change. Each name has a modify index, raised on every change to its
 * instances, for blocking queries and watches.
 *
 * Lookups are served from per-name caches (a frozen array of the passing instances, alive nodes
 * before suspect ones), so the common lookup is a map get; filters walk one name's instances.
 * Pure: no I/O, no clock.
 */
import type { MembershipEvent, MemberView } from '../membership/types.js';
import { bytesEqual } from '../util/bytes.js';
import { decodeInstances, isRegistryPayload } from './payload.js';
import type { HealthStatus, LocalInstanceRecord, LookupOptions, ServiceInstance, ServiceSummary } from './types.js';

type NodeLiveness = 'alive' | 'suspect';

interface NodeEntry {
  readonly name: string;
  status: NodeLiveness;
  host: string;
  payload: Uint8Array | null;
  /** Instances by id. */
  instances: Map<string, ServiceInstance>;
}

interface Slot {
  readonly instance: ServiceInstance;
  readonly suspect: boolean;
}

interface Bucket {
  readonly name: string;
  /** By `node \0 id`. */
  readonly slots: Map<string, Slot>;
  index: number;
  /** Every instance, alive nodes first, then by node and id; null when stale. */
  sorted: readonly ServiceInstance[] | null;
  /** The passing ones, same order; null when stale. */
  passing: readonly ServiceInstance[] | null;
}

export type ServiceChangeListener = (name: string, index: number) => void;

export interface ServiceIndexCounters {
  /** Member payloads that were not valid registry payloads (their instances are ignored). */
  invalidPayloads: number;
  /** Change listeners that threw (caught; reported to onListenerError). */
  listenerErrors: number;
}

/** Names without instances whose last modify index is remembered. */
const MAX_REMOVED_INDEXES = 10_000;

const EMPTY: readonly ServiceInstance[] = Object.freeze([]);

function slotKey(node: string, id: string): string {
  return `${node}\u0000${id}`;
}

/** A node's record as the index holds it: frozen, its empty address the node's. */
function instanceOf(r: LocalInstanceRecord, node: string, host: string): ServiceInstance {
  return Object.freeze({ id: r.id, name: r.name, node, address: r.address === '' ? host : r.address, port: r.port, tags: r.tags, meta: r.meta, status: r.status });
}

function sameInstance(a: ServiceInstance, b: ServiceInstance): boolean {
  if (a === b) return true;
  if (a.address !== b.address || a.port !== b.port || a.status !== b.status || a.name !== b.name) return false;
  if (a.tags.length !== b.tags.length) return false;
  for (let i = 0; i < a.tags.length; i++) if (a.tags[i] !== b.tags[i]) return false;
  const ak = Object.keys(a.meta);
  if (ak.length !== Object.keys(b.meta).length) return false;
  for (const k of ak) if (a.meta[k] !== b.meta[k]) return false;
  return true;
}

function compareSlots(a: Slot, b: Slot): number {
  if (a.suspect !== b.suspect) return a.suspect ? 1 : -1;
  const an = a.instance.node;
  const bn = b.instance.node;
  if (an !== bn) return an < bn ? -1 : 1;
  return a.instance.id < b.instance.id ? -1 : a.instance.id > b.instance.id ? 1 : 0;
}

export class ServiceIndex {
  private readonly nodes = new Map<string, NodeEntry>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly listeners = new Set<ServiceChangeListener>();
  private counter = 1;
  private readonly touched = new Set<string>();
  readonly counters: ServiceIndexCounters = { invalidPayloads: 0, listenerErrors: 0 };
  /** Called with the member and the reason when a member's payload is dropped. */
  onInvalidPayload: ((member: string, reason: string) => void) | undefined;
  /** Called with what a change listener threw. */
  onListenerError: ((err: unknown) => void) | undefined;
  private readonly removedIndex = new Map<string, number>();

  /** The highest modify index handed out so far. */
  get lastIndex(): number {
    return this.counter;
  }

  /** Number of instances on live nodes. */
  get size(): number {
    let n = 0;
    for (const node of this.nodes.values()) n += node.instances.size;
    return n;
  }

  onChange(listener: ServiceChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies a membership event: joins, updates and liveness changes move instances in or out. */
  apply(event: MembershipEvent): void {
    switch (event.type) {
      case 'member-join':
      case 'member-update':
      case 'member-alive':
      case 'member-suspect':
        this.applyMember(event.member);
        return;
      case 'member-dead':
      case 'member-leave':
      case 'member-reap':
        this.removeNode(event.member.name);
        return;
      default:
        return;
    }
  }

  /** Indexes a member from its view: live members' payloads are decoded, others removed. */
  applyMember(view: MemberView): void {
    if (view.status !== 'alive' && view.status !== 'suspect') {
      this.removeNode(view.name);
      return;
    }
    const known = this.nodes.get(view.name);
    const payload = view.state.payload;
    if (known !== undefined && known.host === view.host && bytesEqual(known.payload, payload)) {
      this.setLiveness(known, view.status);
      this.notify();
      return;
    }
    let records: readonly LocalInstanceRecord[] = [];
    if (isRegistryPayload(payload)) {
      const decoded = decodeInstances(payload);
      if (decoded.ok) records = decoded.records;
      else {
        this.counters.invalidPayloads++;
        this.onInvalidPayload?.(view.name, decoded.reason);
      }
    }
    this.setNode(view.name, view.status, view.host, records, payload);
  }

  /**
   * Sets a node's instances directly (the agent does this for itself, so that its own changes are
   * visible at once, before they are published).
   */
  setNode(
    node: string,
    status: NodeLiveness,
    host: string,
    records: readonly LocalInstanceRecord[],
    payload: Uint8Array | null = null,
  ): void {
    let entry = this.nodes.get(node);
    if (entry === undefined) {
      entry = { name: node, status, host, payload, instances: new Map() };
      this.nodes.set(node, entry);
    } else {
      this.setLiveness(entry, status);
      entry.host = host;
      entry.payload = payload;
    }
    const next = new Map<string, ServiceInstance>();
    for (const r of records) {
      const fresh = instanceOf(r, node, host);
      const old = entry.instances.get(r.id);
      if (old !== undefined && sameInstance(old, fresh)) {
        next.set(r.id, old);
        continue;
      }
      if (old !== undefined && old.name !== fresh.name) this.removeSlot(old);
      next.set(r.id, fresh);
      this.putSlot(fresh, entry.status === 'suspect');
    }
    for (const [id, old] of entry.instances) {
      if (!next.has(id)) this.removeSlot(old);
    }
    entry.instances = next;
    if (next.size === 0 && payload === null) this.nodes.delete(node);
    this.notify();
  }

  /**
   * Changes some of a node's instances, leaving the others as they are: `upserts` added or
   * replaced, `removed` (ids) taken out. What the state layer feeds, one entry at a time, so that a
   * change on a node with 1,000 instances costs the same as on a node with one. `host` must be the
   * one the node's instances were indexed with (call setNode when the node's address changes).
   */
  updateInstances(node: string, status: NodeLiveness, host: string, upserts: readonly LocalInstanceRecord[], removed: readonly string[]): void {
    let entry = this.nodes.get(node);
    if (entry === undefined) {
      entry = { name: node, status, host, payload: null, instances: new Map() };
      this.nodes.set(node, entry);
    } else {
      this.setLiveness(entry, status);
      entry.host = host;
    }
    const suspect = entry.status === 'suspect';
    for (const r of upserts) {
      const fresh = instanceOf(r, node, host);
      const old = entry.instances.get(r.id);
      if (old !== undefined && sameInstance(old, fresh)) continue;
      if (old !== undefined && old.name !== fresh.name) this.removeSlot(old);
      entry.instances.set(r.id, fresh);
      this.putSlot(fresh, suspect);
    }
    for (const id of removed) {
      const old = entry.instances.get(id);
      if (old === undefined) continue;
      entry.instances.delete(id);
      this.removeSlot(old);
    }
    if (entry.instances.size === 0 && entry.payload === null) this.nodes.delete(node);
    this.notify();
  }

  /** Removes every instance of a node (dead, left, reaped). */
  removeNode(node: string): void {
    const entry = this.nodes.get(node);
    if (entry === undefined) return;
    this.nodes.delete(node);
    for (const inst of entry.instances.values()) this.removeSlot(inst);
    this.notify();
  }

  /**
   * The instances of `name` matching the options: passing ones by default, on alive nodes first
   * and on suspect nodes last. The array is frozen and shared; do not mutate it.
   */
  lookup(name: string, options: LookupOptions = {}): readonly ServiceInstance[] {
    const bucket = this.buckets.get(name);
    if (bucket === undefined) return EMPTY;
    const tags = options.tags ?? EMPTY_TAGS;
    const status = options.status ?? 'passing';
    if (tags.length === 0 && status === 'passing') return this.passingOf(bucket);
    if (tags.length === 0 && status === 'any') return this.sortedOf(bucket);
    const base = status === 'passing' ? this.passingOf(bucket) : this.sortedOf(bucket);
    const want: ((s: HealthStatus) => boolean) | null =
      status === 'any' || status === 'passing' ? null : typeof status === 'string' ? (s) => s === status : (s) => status.includes(s);
    const out: ServiceInstance[] = [];
    for (const inst of base) {
      if (want !== null && !want(inst.status)) continue;
      if (!hasTags(inst, tags)) continue;
      out.push(inst);
    }
    return Object.freeze(out);
  }

  /** True when `instance` is on a suspect node. */
  isOnSuspectNode(instance: ServiceInstance): boolean {
    return this.nodes.get(instance.node)?.status === 'suspect';
  }

  /** The name's modify index; 1 for a name never seen (or gone long ago). */
  indexOf(name: string): number {
    return this.buckets.get(name)?.index ?? this.removedIndex.get(name) ?? 1;
  }

  /** Every name with instances on live nodes, sorted, with counts. */
  services(): ServiceSummary[] {
    const out: ServiceSummary[] = [];
    for (const b of this.buckets.values()) {
      if (b.slots.size === 0) continue;
      out.push({ name: b.name, instances: b.slots.size, passing: this.passingOf(b).length });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The instances a node has in the index (its own view of them). */
  instancesOf(node: string): readonly ServiceInstance[] {
    const entry = this.nodes.get(node);
    return entry === undefined ? EMPTY : [...entry.instances.values()];
  }

  /** Every node with an entry, and its liveness. */
  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  // ------------------------------------------------------------------ internals

  private setLiveness(entry: NodeEntry, status: NodeLiveness): void {
    if (entry.status === status) return;
    entry.status = status;
    const suspect = status === 'suspect';
    for (const inst of entry.instances.values()) this.putSlot(inst, suspect);
  }

  private bucketFor(name: string): Bucket {
    let b = this.buckets.get(name);
    if (b === undefined) {
      b = { name, slots: new Map(), index: 1, sorted: null, passing: null };
      this.buckets.set(name, b);
    }
    return b;
  }

  private putSlot(inst: ServiceInstance, suspect: boolean): void {
    const b = this.bucketFor(inst.name);
    b.slots.set(slotKey(inst.node, inst.id), { instance: inst, suspect });
    this.touch(b);
  }

  private removeSlot(inst: ServiceInstance): void {
    const b = this.buckets.get(inst.name);
    if (b === undefined) return;
    if (b.slots.delete(slotKey(inst.node, inst.id))) this.touch(b);
  }

  private touch(b: Bucket): void {
    b.sorted = null;
    b.passing = null;
    this.touched.add(b.name);
  }

  private notify(): void {
    if (this.touched.size === 0) return;
    const names = [...this.touched];
    this.touched.clear();
    for (const name of names) {
      const b = this.buckets.get(name)!;
      b.index = ++this.counter;
    }
    for (const name of names) {
      const b = this.buckets.get(name)!;
      // A name with no instances left is dropped, so names that come and go cannot grow the
      // index without bound; its last index is remembered (for a while) so indexOf does not go back.
      if (b.slots.size === 0) {
        this.buckets.delete(name);
        this.removedIndex.delete(name);
        this.removedIndex.set(name, b.index);
        if (this.removedIndex.size > MAX_REMOVED_INDEXES) this.removedIndex.delete(this.removedIndex.keys().next().value as string);
      }
      for (const l of this.listeners) {
        try {
          l(name, b.index);
        } catch (err) {
          // A listener's failure is its own: the index and the other listeners go on.
          this.counters.listenerErrors++;
          this.onListenerError?.(err);
        }
      }
    }
  }

  private sortedOf(b: Bucket): readonly ServiceInstance[] {
    if (b.sorted === null) {
      const slots = [...b.slots.values()].sort(compareSlots);
      b.sorted = Object.freeze(slots.map((s) => s.instance));
    }
    return b.sorted;
  }

  private passingOf(b: Bucket): readonly ServiceInstance[] {
    if (b.passing === null) b.passing = Object.freeze(this.sortedOf(b).filter((i) => i.status === 'passing'));
    return b.passing;
  }
}

const EMPTY_TAGS: readonly string[] = Object.freeze([]);

function hasTags(inst: ServiceInstance, tags: readonly string[]): boolean {
  for (const t of tags) if (!inst.tags.includes(t)) return false;
  return true;
}

/** What changed between two lookup results (by node and id). */
export function diffInstances(
  prev: readonly ServiceInstance[],
  next: readonly ServiceInstance[],
): { added: ServiceInstance[]; removed: ServiceInstance[]; updated: ServiceInstance[] } {
  const before = new Map<string, ServiceInstance>();
  for (const i of prev) before.set(slotKey(i.node, i.id), i);
  const added: ServiceInstance[] = [];
  const updated: ServiceInstance[] = [];
  for (const i of next) {
    const key = slotKey(i.node, i.id);
    const old = before.get(key);
    if (old === undefined) added.push(i);
    else {
      before.delete(key);
      if (!sameInstance(old, i)) updated.push(i);
    }
  }
  return { added, removed: [...before.values()], updated };
}

/** Whether a diffInstances result holds any change. */
export function hasChanges(diff: { readonly added: readonly unknown[]; readonly removed: readonly unknown[]; readonly updated: readonly unknown[] }): boolean {
  return diff.added.length > 0 || diff.removed.length > 0 || diff.updated.length > 0;
}
