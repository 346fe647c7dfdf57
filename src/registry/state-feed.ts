/**
 * Feeds a ServiceIndex from the state layer instead of the member payload: a node's instances are
 * its `i:<id>` state entries, each with its `s:<id>` status entry when there is one (entries.ts),
 * which arrive as 'state-update' events one changed entry at a time; whether they are indexed, and
 * as alive or suspect, is membership's (its member events), as before. So a health flip on a node
 * with 1,000 instances changes one two-byte status entry here and one instance in the index; lookups, modify indexes and watches read the index exactly as they
 * did when it was fed from payloads.
 *
 * Entries may arrive before the member does (a replica fetched at join) and stay after it is dead
 * (it may come back): they are kept per node and indexed while the node is alive or suspect, and
 * dropped when the member is reaped. Pure: no I/O, no clock.
 */
import type { MembershipEvent, MemberView } from '../membership/types.js';
import type { StateEntry } from '../state/types.js';
import { CHECKS_KEY_PREFIX, decodeChecksEntry, type PublishedCheck } from './check-entries.js';
import { INSTANCE_KEY_PREFIX, instanceFromEntry, STATUS_KEY_PREFIX, withStatus } from './entries.js';
import { decodeStatusEntry } from './payload.js';
import type { ServiceIndex } from './service-index.js';
import type { HealthStatus, LocalInstanceRecord } from './types.js';

type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

interface FedNode {
  /** 'down': dead, left, or not (yet) a member: its instances are held but not indexed. */
  status: 'alive' | 'suspect' | 'down';
  host: string;
  /** The instances as indexed: each `i:<id>` record with its `s:<id>` status, if any. */
  readonly records: Map<string, LocalInstanceRecord>;
  /** Its instances' checks (`c:<id>` entries), by instance id: shown, not indexed. */
  readonly checks: Map<string, readonly PublishedCheck[]>;
  /** The `i:<id>` records as their entries hold them (status as of the record's last write). */
  readonly bodies: Map<string, LocalInstanceRecord>;
  /** The `s:<id>` entries: an instance's status since its record was written. */
  readonly statuses: Map<string, HealthStatus>;
}

export class RegistryFeed {
  private readonly nodes = new Map<string, FedNode>();
  /** Another node's instance's checks changed (null: its entry is gone). */
  onChecks: ((node: string, serviceId: string, checks: readonly PublishedCheck[] | null) => void) | undefined;

  constructor(
    readonly index: ServiceIndex,
    /** This node's name: its own entries are not fed (the agent indexes its registry directly). */
    private readonly self: string | null = null,
  ) {}

  /** A membership event: liveness moves a node's instances in or out; state updates change them. */
  onEvent(event: MembershipEvent): void {
    switch (event.type) {
      case 'state-update':
        if (event.node !== this.self) this.onEntries(event.node, event.changed, event.member);
        return;
      case 'member-join':
      case 'member-update':
      case 'member-alive':
      case 'member-suspect':
      case 'member-dead':
      case 'member-leave':
        if (event.member.name !== this.self) this.onMember(event.member);
        return;
      case 'member-reap':
        if (event.member.name === this.self) return;
        this.nodes.delete(event.member.name);
        this.index.removeNode(event.member.name);
        return;
      default:
        return;
    }
  }

  /** The instances held for `node` (indexed or not). */
  recordsOf(node: string): LocalInstanceRecord[] {
    return [...(this.nodes.get(node)?.records.values() ?? [])];
  }

  /** The checks of `node`'s instances as it published them (held whether or not it is live). */
  checksOf(node: string): PublishedCheck[] {
    return [...(this.nodes.get(node)?.checks.values() ?? [])].flat();
  }

  private node(name: string): FedNode {
    let n = this.nodes.get(name);
    if (n === undefined) {
      n = { status: 'down', host: '', records: new Map(), bodies: new Map(), statuses: new Map(), checks: new Map() };
      this.nodes.set(name, n);
    }
    return n;
  }

  private onMember(view: MemberView): void {
    const n = this.node(view.name);
    const live = view.status === 'alive' || view.status === 'suspect';
    if (!live) {
      const was = n.status;
      n.status = 'down';
      if (was !== 'down') this.index.removeNode(view.name);
      return;
    }
    const whole = n.status === 'down' || n.host !== view.host;
    n.status = view.status as 'alive' | 'suspect';
    n.host = view.host;
    if (whole) this.index.setNode(view.name, n.status, n.host, [...n.records.values()]);
    else this.index.updateInstances(view.name, n.status, n.host, [], []);
  }

  private onEntries(name: string, changed: readonly StateEntry[], member: MemberView | undefined): void {
    const n = this.node(name);
    const upserts: LocalInstanceRecord[] = [];
    const removed: string[] = [];
    const touched = new Set<string>();
    const bodyTouched = new Set<string>();
    for (const e of changed) {
      if (e.key.startsWith(CHECKS_KEY_PREFIX)) {
        this.onChecksEntry(name, n, e);
        continue;
      }
      if (e.key.startsWith(INSTANCE_KEY_PREFIX)) {
        const id = e.key.slice(INSTANCE_KEY_PREFIX.length);
        touched.add(id);
        bodyTouched.add(id);
        this.keep(name, n.bodies, id, e, (x) => {
          const r = instanceFromEntry(x);
          return r.ok ? { ok: true, value: r.record } : r;
        });
      } else if (e.key.startsWith(STATUS_KEY_PREFIX)) {
        const id = e.key.slice(STATUS_KEY_PREFIX.length);
        touched.add(id);
        this.keep(name, n.statuses, id, e, (x) => {
          const r = decodeStatusEntry(x.value);
          return r.ok ? { ok: true, value: r.status } : r;
        });
      }
    }
    // Each instance touched, as its record and status now combine (a status alone is nothing; a
    // status entry that leaves the status as it was changes nothing in the index).
    for (const id of touched) {
      const body = n.bodies.get(id);
      const was = n.records.get(id);
      if (body === undefined) {
        if (n.records.delete(id)) removed.push(id);
        continue;
      }
      const status = n.statuses.get(id);
      if (was !== undefined && !bodyTouched.has(id) && was.status === (status ?? body.status)) continue;
      const rec = withStatus(body, status);
      n.records.set(id, rec);
      upserts.push(rec);
    }
    // The update says where the node stands in membership (a node whose member events came before
    // this feed existed, as in a simulated cluster built converged, is known from here).
    const live = member !== undefined && (member.status === 'alive' || member.status === 'suspect');
    if (live && (n.status === 'down' || n.host !== member.host)) {
      n.status = member.status as 'alive' | 'suspect';
      n.host = member.host;
      this.index.setNode(name, n.status, n.host, [...n.records.values()]);
      return;
    }
    if (n.status !== 'down' && (upserts.length > 0 || removed.length > 0)) this.index.updateInstances(name, n.status, n.host, upserts, removed);
  }

  private onChecksEntry(name: string, n: FedNode, e: StateEntry): void {
    const serviceId = e.key.slice(CHECKS_KEY_PREFIX.length);
    const had = n.checks.has(serviceId);
    const checks = this.keep(name, n.checks, serviceId, e, (x) => {
      const r = decodeChecksEntry(serviceId, x.value);
      return r.ok ? { ok: true, value: r.checks } : r;
    });
    if (checks !== undefined) this.onChecks?.(name, serviceId, checks);
    else if (had) this.onChecks?.(name, serviceId, null);
  }

  /**
   * One entry of `name` into `map` under `id`: its decoded value, or nothing when it is deleted or
   * does not decode (counted and reported, never thrown). Returns what is kept.
   */
  private keep<T>(name: string, map: Map<string, T>, id: string, e: StateEntry, decode: (e: StateEntry) => Decoded<T>): T | undefined {
    if (!e.deleted) {
      const r = decode(e);
      if (r.ok) {
        map.set(id, r.value);
        return r.value;
      }
      this.index.counters.invalidPayloads++;
      this.index.onInvalidPayload?.(name, `entry ${e.key}: ${r.reason}`);
    }
    map.delete(id);
    return undefined;
  }
}
