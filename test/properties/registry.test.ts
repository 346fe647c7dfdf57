/**
 * (j) The service registry over the simulator: fast-check commands register and deregister
 * instances, change their health (through TTL check results and maintenance, the real
 * LocalRegistry logic), crash nodes and make nodes leave, with simulated time passing between
 * steps. Each simulated node runs the real registry: its LocalRegistry's records are entries of
 * its state layer (world.changeState: one entry per instance, spread as deltas, repaired by
 * digests), and its ServiceIndex is fed through a RegistryFeed from the membership events and
 * state updates that node emits.
 *
 * After the last command and the bound below, every live node's lookup(name) must equal the
 * model exactly: the passing instances registered on live nodes, nothing else.
 *
 * Bound, from the protocol: a state change needs D(N) + AE(N) to reach every view (as property
 * h); a crashed node must be declared dead everywhere, which takes the suspicion maximum plus
 * two probe intervals and D(N) for the `dead` to spread (as property b). The bound is their sum.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LocalRegistry, type CheckStatus } from '../../src/registry/local.js';
import { instanceChanges } from '../../src/registry/entries.js';
import { RegistryFeed } from '../../src/registry/state-feed.js';
import { ServiceIndex } from '../../src/registry/service-index.js';
import type { World } from '../../src/sim/index.js';
import { antiEntropyMs, arbSeed, disseminationMs, makeWorld, suspicionMaxMs } from './support.js';

const NAMES = ['billing', 'search', 'auth'] as const;

interface ModelInstance {
  name: string;
  check: CheckStatus;
  maintenance: boolean;
}

interface Model {
  /** node → instance id → instance; only nodes that are running. */
  live: Map<string, Map<string, ModelInstance>>;
  next: number;
}

interface Real {
  world: World;
  registries: Map<string, LocalRegistry>;
  /** What each node's state holds of its instances (key → value), as last published. */
  published: Map<string, Map<string, Uint8Array>>;
  indexes: Map<string, ServiceIndex>;
  gapMs: number;
}

function publish(real: Real, node: string): void {
  const reg = real.registries.get(node)!;
  const records = reg.records();
  const held = real.published.get(node)!;
  const changes = instanceChanges(held, records);
  real.world.changeState(node, changes);
  for (const c of changes) {
    if (c.value === null) held.delete(c.key);
    else held.set(c.key, c.value);
  }
  real.indexes.get(node)!.setNode(node, 'alive', real.world.addressOf(node).host, records);
}

function liveNodes(m: Model): string[] {
  return [...m.live.keys()];
}

/** Commands pick their node and instance by an index into what exists when they run. */
class Register implements fc.Command<Model, Real> {
  constructor(
    readonly nodeAt: number,
    readonly name: (typeof NAMES)[number],
    readonly initial: CheckStatus,
  ) {}
  check(m: Model): boolean {
    return m.live.size > 0;
  }
  run(m: Model, r: Real): void {
    const nodes = liveNodes(m);
    const node = nodes[this.nodeAt % nodes.length]!;
    const id = `${node}-i${m.next++}`;
    r.registries.get(node)!.register({ id, name: this.name, port: 1000 + m.next, checks: [{ ttl: '1h', status: this.initial }] }, () => id, r.world.now, () => {});
    m.live.get(node)!.set(id, { name: this.name, check: this.initial, maintenance: false });
    publish(r, node);
    r.world.runFor(r.gapMs);
  }
  toString(): string {
    return `register(${this.nodeAt}, ${this.name}, ${this.initial})`;
  }
}

abstract class OnInstance implements fc.Command<Model, Real> {
  constructor(readonly pickAt: number) {}
  check(m: Model): boolean {
    for (const inst of m.live.values()) if (inst.size > 0) return true;
    return false;
  }
  protected target(m: Model): { node: string; id: string; inst: ModelInstance } {
    const all: { node: string; id: string; inst: ModelInstance }[] = [];
    for (const [node, insts] of m.live) for (const [id, inst] of insts) all.push({ node, id, inst });
    return all[this.pickAt % all.length]!;
  }
  abstract run(m: Model, r: Real): void;
}

class Deregister extends OnInstance {
  override run(m: Model, r: Real): void {
    const { node, id } = this.target(m);
    r.registries.get(node)!.deregister(id);
    m.live.get(node)!.delete(id);
    publish(r, node);
    r.world.runFor(r.gapMs);
  }
  override toString(): string {
    return `deregister(${this.pickAt})`;
  }
}

class CheckResult extends OnInstance {
  constructor(
    pickAt: number,
    readonly status: CheckStatus,
  ) {
    super(pickAt);
  }
  override run(m: Model, r: Real): void {
    const { node, id, inst } = this.target(m);
    r.registries.get(node)!.reportCheck(`service:${id}`, this.status, '', r.world.now);
    inst.check = this.status;
    publish(r, node);
    r.world.runFor(r.gapMs);
  }
  override toString(): string {
    return `check(${this.pickAt}, ${this.status})`;
  }
}

class Maintenance extends OnInstance {
  constructor(
    pickAt: number,
    readonly on: boolean,
  ) {
    super(pickAt);
  }
  override run(m: Model, r: Real): void {
    const { node, id, inst } = this.target(m);
    r.registries.get(node)!.setServiceMaintenance(id, this.on ? 'test' : undefined);
    inst.maintenance = this.on;
    publish(r, node);
    r.world.runFor(r.gapMs);
  }
  override toString(): string {
    return `maintenance(${this.pickAt}, ${this.on})`;
  }
}

class Stop implements fc.Command<Model, Real> {
  constructor(
    readonly nodeAt: number,
    readonly how: 'crash' | 'leave',
  ) {}
  check(m: Model): boolean {
    return m.live.size > 2; // keep at least two nodes to look from
  }
  run(m: Model, r: Real): void {
    const nodes = liveNodes(m);
    const node = nodes[this.nodeAt % nodes.length]!;
    if (this.how === 'crash') r.world.crash(node);
    else r.world.leave(node);
    m.live.delete(node);
    r.world.runFor(r.gapMs);
  }
  toString(): string {
    return `${this.how}(${this.nodeAt})`;
  }
}

const arbCommands = fc.commands(
  [
    fc.tuple(fc.nat(), fc.constantFrom(...NAMES), fc.constantFrom<CheckStatus>('passing', 'passing', 'critical', 'warning')).map(([n, s, c]) => new Register(n, s, c)),
    fc.nat().map((k) => new Deregister(k)),
    fc.tuple(fc.nat(), fc.constantFrom<CheckStatus>('passing', 'warning', 'critical')).map(([k, s]) => new CheckResult(k, s)),
    fc.tuple(fc.nat(), fc.boolean()).map(([k, on]) => new Maintenance(k, on)),
    fc.tuple(fc.nat(), fc.constantFrom<'crash' | 'leave'>('crash', 'leave')).map(([n, how]) => new Stop(n, how)),
  ],
  { maxCommands: 30 },
);

/** The model's answer to lookup(name): ids of passing instances on live nodes, sorted. */
function expected(m: Model, name: string): string[] {
  const out: string[] = [];
  for (const insts of m.live.values()) for (const [id, i] of insts) if (i.name === name && i.check === 'passing' && !i.maintenance) out.push(id);
  return out.sort();
}

function mismatches(m: Model, r: Real): string[] {
  const problems: string[] = [];
  for (const viewer of m.live.keys()) {
    const index = r.indexes.get(viewer)!;
    for (const name of NAMES) {
      const got = index.lookup(name).map((i) => i.id).sort();
      const want = expected(m, name);
      if (got.join() !== want.join()) problems.push(`${viewer} lookup(${name}) = [${got.join(', ')}], model [${want.join(', ')}]`);
    }
  }
  return problems;
}

describe('service registry over the simulator', () => {
  it("after convergence every live node's lookup equals the model: the passing instances on live nodes", () => {
    fc.assert(
      fc.property(arbSeed, fc.integer({ min: 3, max: 24 }), fc.integer({ min: 0, max: 3000 }), arbCommands, (seed, n, gapMs, commands) => {
        const world = makeWorld(seed);
        const o = world.options;
        const names = world.buildConverged(n);
        const registries = new Map<string, LocalRegistry>();
        const indexes = new Map<string, ServiceIndex>();
        for (const node of names) {
          registries.set(node, new LocalRegistry());
          indexes.set(node, new ServiceIndex());
        }
        // A node's own entry comes from its registry (the feed skips it).
        const feeds = new Map(names.map((node) => [node, new RegistryFeed(indexes.get(node)!, node)]));
        world.onEvent((node, event) => feeds.get(node)?.onEvent(event));
        world.runFor(2 * o.probeIntervalMs);
        const model: Model = { live: new Map(names.map((x) => [x, new Map()])), next: 0 };
        const real: Real = { world, registries, published: new Map(names.map((x) => [x, new Map()])), indexes, gapMs };
        fc.modelRun(() => ({ model, real }), commands);
        const bound = disseminationMs(o, n) + antiEntropyMs(o, n) + suspicionMaxMs(o, n) + 2 * o.probeIntervalMs + disseminationMs(o, n);
        const reached = world.runUntilTrue(() => mismatches(model, real).length === 0, bound, 100);
        expect(reached, `seed ${seed}, N=${n}, gap ${gapMs} ms, ${commands.toString()}: after ${bound} ms\n${mismatches(model, real).join('\n')}`).toBeDefined();
      }),
      { numRuns: Number(process.env.HEARSAY_PROPERTY_RUNS ?? 40) },
    );
  });
});
