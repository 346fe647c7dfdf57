/**
 * The service registry's data: what a service instance is, how healthy it is, and what a lookup
 * asks for. Pure data; no I/O.
 */

/**
 * An instance's health, worst last. `maintenance` is set by an operator (per service or per node)
 * and, like `critical`, keeps the instance out of default lookups.
 */
export type HealthStatus = 'passing' | 'warning' | 'critical' | 'maintenance';

export const HEALTH_STATUSES: readonly HealthStatus[] = ['passing', 'warning', 'critical', 'maintenance'];

/** An instance as a node stores it in its own state payload (node and default address implied). */
export interface LocalInstanceRecord {
  /** Unique within its node (and, with the agent's fresh ids, within the mesh). */
  readonly id: string;
  /** The service name: what lookups ask for. */
  readonly name: string;
  /** Where to reach it; the empty string means "the node's advertise address", which saves bytes. */
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  readonly status: HealthStatus;
}

/** One instance of a service, as every node's index holds it: its record, its node, its address filled in. Frozen; safe to keep. */
export interface ServiceInstance extends LocalInstanceRecord {
  /** The node that registered it (whose agent runs its checks). */
  readonly node: string;
}

export interface LookupOptions {
  /** Every tag must be present on the instance. @default [] */
  readonly tags?: readonly string[];
  /**
   * Which health states to return: one status, a list, or 'any'. @default 'passing'
   */
  readonly status?: HealthStatus | readonly HealthStatus[] | 'any';
}

/** What `watch(name)` yields: the whole current result, and what changed since the last one. */
export interface ServiceWatchUpdate {
  readonly name: string;
  /** The name's modify index (as the HTTP API's X-Hearsay-Index). */
  readonly index: number;
  /** The current result (passing instances, suspect nodes last, unless the watch asked otherwise). */
  readonly instances: readonly ServiceInstance[];
  /** Instances that entered the result (all of them in the first, snapshot update). */
  readonly added: readonly ServiceInstance[];
  /** Instances that left the result (deregistered, unhealthy, node dead or left). */
  readonly removed: readonly ServiceInstance[];
  /** Instances still in the result whose fields changed (the new version). */
  readonly updated: readonly ServiceInstance[];
  /** True for the first update of a watch. */
  readonly snapshot: boolean;
}

/** A service name with its instance counts, as `GET /v1/services` lists it. */
export interface ServiceSummary {
  readonly name: string;
  /** Instances on live (alive or suspect) nodes. */
  readonly instances: number;
  readonly passing: number;
}
