/**
 * The virtual network: per-link latency distributions, datagram loss and duplication, one-way and
 * two-way partitions, all drawn from one seeded Random so that a seed replays a run exactly.
 *
 * Nodes are small integer indices (the World maps names to them). Datagrams may be lost or
 * duplicated; streams (TCP) are reliable but are still cut by partitions. The World checks crashed
 * and paused receivers; the network only decides whether, how many times and how late a packet
 * arrives.
 */
import type { Channel } from '../membership/types.js';
import type { Random } from '../util/random.js';

/** How long a packet takes one way, in milliseconds (fractions allowed). */
export type LatencyModel =
  | { readonly kind: 'constant'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  /** A normal distribution truncated below at `minMs` (default 0). */
  | { readonly kind: 'normal'; readonly meanMs: number; readonly stdDevMs: number; readonly minMs?: number }
  /**
   * A lognormal distribution: most packets near `medianMs`, a long tail to the right. `sigma` is
   * the standard deviation of the underlying normal (0.25 is a mild tail, 1 a heavy one). The
   * sample is `minMs + medianMs × e^(sigma·z)`.
   */
  | { readonly kind: 'lognormal'; readonly medianMs: number; readonly sigma: number; readonly minMs?: number };

/** What a directed link does to packets. */
export interface LinkSpec {
  /** One-way latency. @default constant 1 ms */
  readonly latency: LatencyModel;
  /** Probability that a datagram is lost, in [0, 1]. Streams are never lost. @default 0 */
  readonly lossRate: number;
  /** Probability that a delivered datagram arrives twice (the copy with its own latency). @default 0 */
  readonly duplicateRate: number;
  /**
   * Bandwidth in bytes per millisecond; a packet's size / bandwidth is added to its latency.
   * 0 means unlimited. @default 0
   */
  readonly bytesPerMs: number;
}

export interface NetworkOptions {
  /** The link every pair of nodes uses unless a rule says otherwise. */
  readonly link?: Partial<LinkSpec>;
  /**
   * A stream (TCP) message costs this many one-way latency samples: 3 models the connect handshake
   * (one round trip) plus the data. @default 3
   */
  readonly streamLatencyTrips?: number;
}

export const DEFAULT_LINK: LinkSpec = Object.freeze({
  latency: Object.freeze({ kind: 'constant', ms: 1 }),
  lossRate: 0,
  duplicateRate: 0,
  bytesPerMs: 0,
});

/** A set of node indices backed by a byte mask: O(1) membership, no hashing. */
export class NodeSet {
  private mask: Uint8Array;
  private count = 0;

  constructor(indices: Iterable<number> = []) {
    this.mask = new Uint8Array(64);
    for (const i of indices) this.add(i);
  }

  add(i: number): void {
    if (!Number.isInteger(i) || i < 0) throw new RangeError(`node index must be a non-negative integer (got ${i})`);
    if (i >= this.mask.length) {
      let cap = this.mask.length;
      while (cap <= i) cap *= 2;
      const m = new Uint8Array(cap);
      m.set(this.mask);
      this.mask = m;
    }
    if (this.mask[i] === 0) {
      this.mask[i] = 1;
      this.count++;
    }
  }

  has(i: number): boolean {
    return i < this.mask.length && this.mask[i] === 1;
  }

  get size(): number {
    return this.count;
  }
}

interface LinkRule {
  readonly id: number;
  readonly from: NodeSet;
  readonly to: NodeSet;
  readonly spec: LinkSpec;
}

interface PartitionRule {
  readonly id: number;
  readonly a: NodeSet;
  readonly b: NodeSet;
  /** a → b only when true; both ways otherwise. */
  readonly oneWay: boolean;
}

/** What the network did, for summaries and tests. */
export interface NetworkStats {
  /** Datagrams dropped by the loss rate. */
  lost: number;
  /** Packets (any channel) dropped because a partition separates sender and receiver. */
  blocked: number;
  /** Extra datagram copies delivered. */
  duplicated: number;
}

export function validateLatency(model: LatencyModel): string[] {
  const p: string[] = [];
  const nonNeg = (v: unknown, what: string): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) p.push(`${what} must be a finite number >= 0 (got ${String(v)})`);
  };
  switch (model.kind) {
    case 'constant':
      nonNeg(model.ms, 'latency.ms');
      break;
    case 'uniform':
      nonNeg(model.minMs, 'latency.minMs');
      nonNeg(model.maxMs, 'latency.maxMs');
      if (model.maxMs < model.minMs) p.push('latency.maxMs must be >= latency.minMs');
      break;
    case 'normal':
      nonNeg(model.meanMs, 'latency.meanMs');
      nonNeg(model.stdDevMs, 'latency.stdDevMs');
      if (model.minMs !== undefined) nonNeg(model.minMs, 'latency.minMs');
      break;
    case 'lognormal':
      nonNeg(model.medianMs, 'latency.medianMs');
      nonNeg(model.sigma, 'latency.sigma');
      if (model.minMs !== undefined) nonNeg(model.minMs, 'latency.minMs');
      break;
    default:
      p.push(`latency.kind must be constant, uniform, normal or lognormal (got ${String((model as { kind: unknown }).kind)})`);
  }
  return p;
}

function resolveLink(base: LinkSpec, over: Partial<LinkSpec>): LinkSpec {
  const spec: LinkSpec = { ...base, ...stripUndefined(over) };
  const problems = validateLatency(spec.latency);
  const prob = (v: number, what: string): void => {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) problems.push(`${what} must be a probability in [0, 1] (got ${String(v)})`);
  };
  prob(spec.lossRate, 'lossRate');
  prob(spec.duplicateRate, 'duplicateRate');
  if (typeof spec.bytesPerMs !== 'number' || !(spec.bytesPerMs >= 0) || !Number.isFinite(spec.bytesPerMs)) {
    problems.push(`bytesPerMs must be a finite number >= 0, 0 for unlimited (got ${String(spec.bytesPerMs)})`);
  }
  if (problems.length > 0) throw new RangeError(`invalid link: ${problems.join('; ')}`);
  return Object.freeze(spec);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

export class Network {
  readonly stats: NetworkStats = { lost: 0, blocked: 0, duplicated: 0 };
  /** Delay of the first copy decided by the last `route()`. */
  delay0 = 0;
  /** Delay of the second copy (when `route()` returned 2). */
  delay1 = 0;

  private readonly random: Random;
  private defaultLink: LinkSpec;
  private readonly streamTrips: number;
  private links: LinkRule[] = [];
  private partitions: PartitionRule[] = [];
  private nextId = 1;

  constructor(random: Random, options: NetworkOptions = {}) {
    this.random = random;
    this.defaultLink = resolveLink(DEFAULT_LINK, options.link ?? {});
    const trips = options.streamLatencyTrips ?? 3;
    if (!Number.isInteger(trips) || trips < 1 || trips > 16) {
      throw new RangeError(`streamLatencyTrips must be an integer in [1, 16] (got ${String(trips)})`);
    }
    this.streamTrips = trips;
  }

  /** The link used between nodes no rule covers. */
  get defaults(): LinkSpec {
    return this.defaultLink;
  }

  /** Changes the default link (fields not given keep their value). */
  setDefault(spec: Partial<LinkSpec>): void {
    this.defaultLink = resolveLink(this.defaultLink, spec);
  }

  /**
   * Makes packets from any node in `from` to any node in `to` use `spec` (over the default link);
   * with `bothWays` (the default) the reverse direction too. The rule added last wins where rules
   * overlap. Returns an id for `clearLink`.
   */
  setLink(from: Iterable<number>, to: Iterable<number>, spec: Partial<LinkSpec>, bothWays = true): number {
    const resolved = resolveLink(this.defaultLink, spec);
    const id = this.nextId++;
    const a = new NodeSet(from);
    const b = new NodeSet(to);
    this.links.push({ id, from: a, to: b, spec: resolved });
    if (bothWays) this.links.push({ id, from: b, to: a, spec: resolved });
    return id;
  }

  /** Removes a link rule (both directions); returns whether it existed. */
  clearLink(id: number): boolean {
    const before = this.links.length;
    this.links = this.links.filter((r) => r.id !== id);
    return this.links.length !== before;
  }

  /**
   * Cuts the network between `a` and `b`: both ways, or only a → b with `oneWay` (b still reaches
   * a). Packets already in flight still arrive. Returns an id for `heal`.
   */
  partition(a: Iterable<number>, b: Iterable<number>, oneWay = false): number {
    const id = this.nextId++;
    this.partitions.push({ id, a: new NodeSet(a), b: new NodeSet(b), oneWay });
    return id;
  }

  /** Heals one partition, or all of them when no id is given; returns how many were removed. */
  heal(id?: number): number {
    const before = this.partitions.length;
    this.partitions = id === undefined ? [] : this.partitions.filter((p) => p.id !== id);
    return before - this.partitions.length;
  }

  /** Number of partitions in force. */
  get partitionCount(): number {
    return this.partitions.length;
  }

  /** Whether a partition stops packets from `from` reaching `to`. */
  isBlocked(from: number, to: number): boolean {
    const ps = this.partitions;
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i] as PartitionRule;
      if (p.a.has(from) && p.b.has(to)) return true;
      if (!p.oneWay && p.b.has(from) && p.a.has(to)) return true;
    }
    return false;
  }

  /** The link from `from` to `to`. */
  linkFor(from: number, to: number): LinkSpec {
    const ls = this.links;
    for (let i = ls.length - 1; i >= 0; i--) {
      const r = ls[i] as LinkRule;
      if (r.from.has(from) && r.to.has(to)) return r.spec;
    }
    return this.defaultLink;
  }

  /**
   * Decides the fate of one packet: returns how many copies arrive (0, 1 or 2) and leaves their
   * delays in `delay0` and `delay1`. Draws from the seeded random in a fixed order.
   */
  route(from: number, to: number, channel: Channel, bytes: number): number {
    if (this.partitions.length > 0 && this.isBlocked(from, to)) {
      this.stats.blocked++;
      return 0;
    }
    const link = this.links.length > 0 ? this.linkFor(from, to) : this.defaultLink;
    const serialisation = link.bytesPerMs > 0 ? bytes / link.bytesPerMs : 0;
    if (channel === 'stream') {
      let d = serialisation;
      for (let i = 0; i < this.streamTrips; i++) d += this.sample(link.latency);
      this.delay0 = d;
      return 1;
    }
    if (link.lossRate > 0 && this.random.next() < link.lossRate) {
      this.stats.lost++;
      return 0;
    }
    this.delay0 = serialisation + this.sample(link.latency);
    if (link.duplicateRate > 0 && this.random.next() < link.duplicateRate) {
      this.stats.duplicated++;
      this.delay1 = serialisation + this.sample(link.latency);
      return 2;
    }
    return 1;
  }

  /** One draw from a latency model, in milliseconds (never negative). */
  sample(model: LatencyModel): number {
    switch (model.kind) {
      case 'constant':
        return model.ms;
      case 'uniform':
        return model.minMs + (model.maxMs - model.minMs) * this.random.next();
      case 'normal': {
        const v = model.meanMs + model.stdDevMs * this.gaussian();
        const min = model.minMs ?? 0;
        return v < min ? min : v;
      }
      case 'lognormal':
        return (model.minMs ?? 0) + model.medianMs * Math.exp(model.sigma * this.gaussian());
    }
  }

  /** A standard normal draw (Box–Muller; one draw per call keeps the sequence simple). */
  private gaussian(): number {
    let u = this.random.next();
    if (u < 1e-12) u = 1e-12;
    const v = this.random.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
