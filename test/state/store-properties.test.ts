/**
 * The state layer's promises, over a pure network of stores moved by fast-check: changes, deletes,
 * digest/delta exchanges cut at small budgets, lost and reordered deltas, partitions, restarts that
 * lose a node's state (a new generation), and tombstone collection at any moment.
 *
 * - Every value a view shows is one its owner set, at that version.
 * - Views never go back: per key, the version a view shows (or knows deleted) only grows; a key a
 *   view has seen deleted never comes back at an older version.
 * - A final deletion is final: once a view holds an owner at or past the version where the owner
 *   deleted a key for good, the view does not show it (tombstones collected or not).
 * - A store's change count stays only while everything it shows stays.
 * - Convergence: once the network heals and nothing is lost, every node holds every owner's map.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SharedStates, StateStore } from '../../src/state/store.js';
import type { NodeDelta } from '../../src/state/types.js';

const GRACE = 50;
const NAMES = ['n0', 'n1', 'n2', 'n3', 'n4'];
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];

type Op =
  | { kind: 'set'; node: number; key: number; value: number }
  | { kind: 'del'; node: number; key: number }
  | { kind: 'exchange'; from: number; to: number; budget: number; fate: 'deliver' | 'lose' | 'delay' }
  | { kind: 'late'; pick: number }
  | { kind: 'partition'; side: number }
  | { kind: 'heal' }
  | { kind: 'restart'; node: number }
  | { kind: 'collect'; node: number }
  | { kind: 'tick'; ms: number };

const arbOp = (n: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), node: fc.nat(n - 1), key: fc.nat(KEYS.length - 1), value: fc.nat(99) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), node: fc.nat(n - 1), key: fc.nat(KEYS.length - 1) }) },
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('exchange' as const), from: fc.nat(n - 1), to: fc.nat(n - 1), budget: fc.integer({ min: 1, max: 12 }), fate: fc.constantFrom('deliver' as const, 'deliver' as const, 'lose' as const, 'delay' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('late' as const), pick: fc.nat(1000) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('partition' as const), side: fc.integer({ min: 1, max: (1 << n) - 2 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'heal' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: fc.nat(n - 1) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('collect' as const), node: fc.nat(n - 1) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 40 }) }) },
  );

class Net {
  now = 0;
  readonly stores: StateStore[];
  readonly generations: number[];
  /** Each owner's changes in its current generation: [version, key, value or null]. */
  readonly history: [number, string, string | null][][];
  readonly delayed: { to: number; deltas: NodeDelta[] }[] = [];
  side: number | null = null;

  constructor(readonly n: number) {
    this.generations = NAMES.slice(0, n).map(() => 1);
    this.stores = NAMES.slice(0, n).map((name) => new StateStore(name, 1));
    this.history = NAMES.slice(0, n).map(() => []);
  }

  cut(a: number, b: number): boolean {
    return this.side !== null && ((this.side >> a) & 1) !== ((this.side >> b) & 1);
  }

  run(op: Op): void {
    switch (op.kind) {
      case 'set': {
        const s = this.stores[op.node] as StateStore;
        const r = s.set(KEYS[op.key] as string, new TextEncoder().encode(String(op.value)), this.now);
        if (r.ok) this.history[op.node]?.push([r.entry.version, r.entry.key, String(op.value)]);
        break;
      }
      case 'del': {
        const s = this.stores[op.node] as StateStore;
        const r = s.delete(KEYS[op.key] as string, this.now);
        if (r.ok) this.history[op.node]?.push([r.entry.version, r.entry.key, null]);
        break;
      }
      case 'exchange':
        this.exchange(op.from, op.to, op.budget, op.fate);
        break;
      case 'late': {
        if (this.delayed.length === 0) break;
        const [m] = this.delayed.splice(op.pick % this.delayed.length, 1);
        if (m !== undefined) for (const d of m.deltas) this.deliver(m.to, d);
        break;
      }
      case 'partition':
        this.side = op.side;
        break;
      case 'heal':
        this.side = null;
        break;
      case 'restart': {
        // The node lost everything: its own state (a new generation) and every replica.
        const g = (this.generations[op.node] as number) + 1;
        this.generations[op.node] = g;
        this.stores[op.node] = new StateStore(NAMES[op.node] as string, g);
        this.history[op.node] = [];
        for (const k of [...this.floors.keys()]) if (k.startsWith(`${op.node}|`)) this.floors.delete(k); // its views start anew
        break;
      }
      case 'collect':
        this.stores[op.node]?.collect(this.now - GRACE);
        break;
      case 'tick':
        this.now += op.ms;
        break;
    }
  }

  /** `to` sends its digests to `from`, which answers with what `to` misses (a stream when it must). */
  exchange(from: number, to: number, budget: number, fate: 'deliver' | 'lose' | 'delay'): void {
    if (from === to || this.cut(from, to)) return;
    const sender = this.stores[from] as StateStore;
    const receiver = this.stores[to] as StateStore;
    const { deltas, stream } = sender.deltasFor(receiver.digests(), budget);
    const full = stream.length === 0 ? [] : sender.deltasFor(receiver.digests().filter((d) => !stream.includes(d.node)), Infinity).deltas.filter((d) => stream.includes(d.node));
    const all = deltas.concat(full);
    if (fate === 'lose') return;
    if (fate === 'delay') this.delayed.push({ to, deltas: all });
    else for (const d of all) this.deliver(to, d);
  }

  /** Per observer, owner generation and key: the highest version shown or known deleted. */
  readonly floors = new Map<string, number>();

  deliver(to: number, d: NodeDelta): void {
    const r = this.stores[to]?.apply(d, this.now);
    if (r === undefined || !r.ok) return;
    for (const e of r.changed) this.raise(`${to}|${d.node}|${d.generation}|${e.key}`, e.version);
  }

  raise(key: string, version: number): void {
    if (version > (this.floors.get(key) ?? -1)) this.floors.set(key, version);
  }

  /** What `owner` held as of `version`, from its history (Infinity: now). */
  asOf(owner: number, version: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [v, k, value] of this.history[owner] ?? []) {
      if (v > version) break;
      if (value === null) delete out[k];
      else out[k] = value;
    }
    return out;
  }

  view(observer: number, owner: number): Record<string, string> | undefined {
    const entries = this.stores[observer]?.entriesOf(NAMES[owner] as string);
    if (entries === undefined) return undefined;
    return Object.fromEntries(entries.map((e) => [e.key, new TextDecoder().decode(e.value)]));
  }

  checkViews(): void {
    for (let o = 0; o < this.n; o++) {
      for (let w = 0; w < this.n; w++) {
        if (o === w) continue;
        const owner = NAMES[w] as string;
        const d = this.stores[o]?.digestOf(owner);
        if (d === undefined || d.generation !== this.generations[w]) continue;
        const history = this.history[w] ?? [];
        const shown = this.stores[o]?.entriesOf(owner) ?? [];
        for (const e of shown) {
          const value = new TextDecoder().decode(e.value);
          const tag = `${NAMES[o]}'s view of ${owner}: ${e.key}=${value}@${e.version} (view at ${d.version})`;
          expect(history.some(([v, k, x]) => v === e.version && k === e.key && x === value), `${tag} was never set`).toBe(true);
          const floor = `${o}|${owner}|${d.generation}|${e.key}`;
          expect(e.version, `${tag} went back`).toBeGreaterThanOrEqual(this.floors.get(floor) ?? -1);
          this.raise(floor, e.version);
        }
        // Keys the owner deleted for good at or below the view's version.
        const last = new Map<string, [number, string | null]>();
        for (const [v, k, x] of history) last.set(k, [v, x]);
        for (const [k, [v, x]] of last) {
          if (x === null && v <= d.version) expect(shown.some((e) => e.key === k), `${NAMES[o]} shows ${owner}'s ${k}, deleted for good at ${v} (view at ${d.version})`).toBe(false);
        }
      }
    }
  }
}

/** Runs `ops` on `net`, checking every view after each, then heals and checks convergence. */
function runAndConverge(net: Net, ops: readonly Op[]): void {
  const n = net.n;
  // What each store shows, with its change count: while the count stays (the same store), so do
  // the views (the API caches members' tags by it).
  const shown = (o: number): string => JSON.stringify(NAMES.slice(0, n).map((_, w) => net.view(o, w) ?? null));
  for (const op of ops) {
    const before = net.stores.map((s, o) => ({ s, changes: s.changes, views: shown(o) }));
    net.run(op);
    net.checkViews();
    for (const [o, b] of before.entries()) if (net.stores[o] === b.s && b.s.changes === b.changes) expect(shown(o), `${NAMES[o]}'s views with its change count unchanged`).toBe(b.views);
  }
  // Heal: deliver the late ones, then reliable exchanges until nobody misses anything.
  net.side = null;
  while (net.delayed.length > 0) net.run({ kind: 'late', pick: 0 });
  for (let round = 0; round < 8 * n; round++) {
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) net.exchange(a, b, 12, 'deliver');
    net.checkViews();
  }
  for (let o = 0; o < n; o++) {
    for (let w = 0; w < n; w++) {
      const current = { node: NAMES[w], generation: net.generations[w], version: net.stores[w]?.version };
      const held = net.stores[o]?.digestOf(NAMES[w] as string);
      // An owner that has set nothing in its generation need not be held (no empty replicas).
      if (!(current.version === 0 && held === undefined)) expect(held, `${NAMES[o]} holds ${NAMES[w]}'s current state`).toEqual(current);
      expect(net.view(o, w) ?? {}).toEqual(net.asOf(w, Infinity));
    }
    expect(net.stores[o]?.summary).toBe(net.stores[0]?.summary);
  }
}

describe('the state layer over a lossy, reordering, partitioned network', () => {
  it('views show only what owners set, never go back, keep deletions, and all converge once healed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }).chain((n) => fc.tuple(fc.constant(n), fc.array(arbOp(n), { minLength: 40, maxLength: 200 }))), ([n, ops]) => {
        runAndConverge(new Net(n), ops);
      }),
      { numRuns: 400 },
    );
  });

  it('the same, from a converged start whose replicas are shared between the stores (as the simulator seeds them), never changing what they share', () => {
    const arbSet = (n: number) => fc.record({ node: fc.nat(n - 1), key: fc.nat(KEYS.length - 1), value: fc.oneof(fc.nat(99), fc.constant(null)) });
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 5 }).chain((n) => fc.tuple(fc.constant(n), fc.array(arbSet(n), { maxLength: 30 }), fc.array(arbOp(n), { minLength: 40, maxLength: 200 }))), ([n, sets, ops]) => {
        const net = new Net(n);
        for (const c of sets) net.run(c.value === null ? { kind: 'del', node: c.node, key: c.key } : { kind: 'set', node: c.node, key: c.key, value: c.value });
        const shared = new SharedStates(net.stores.map((st) => st.ownSnapshot()).filter((st) => st.version > 0));
        const before = [...shared.states.values()].map((st) => JSON.stringify([st.digest(), st.entries(), st.tombstones, st.collectedVersion]));
        for (const st of net.stores) st.restore(shared);
        // Restored, every store agrees with every other, as if the deltas had been exchanged.
        for (const st of net.stores) expect(st.summary).toBe(net.stores[0]?.summary);
        for (let o = 0; o < n; o++) for (let w = 0; w < n; w++) if (o !== w) expect(net.view(o, w) ?? {}).toEqual(net.asOf(w, Infinity));
        runAndConverge(net, ops);
        // What the stores shared is as it was: each changed its own copy.
        expect([...shared.states.values()].map((st) => JSON.stringify([st.digest(), st.entries(), st.tombstones, st.collectedVersion]))).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });
});
