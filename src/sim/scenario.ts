/**
 * Scenarios that read as specifications:
 *
 * ```ts
 * scenario(world)
 *   .addNodes(20).joinAll().waitForConvergence()
 *   .crash('n3').waitUntil('everyone sees n3 dead', (w) => w.allSee('n3', 'dead'))
 *   .partition(['n1', 'n2']).waitMs(30_000).heal()
 *   .waitForConvergence();
 * ```
 *
 * Each step runs at once, synchronously, against the World's virtual clock. A failed wait or
 * expectation throws a ScenarioError that names the seed (the same seed replays the run) and the
 * steps taken so far.
 */
import type { MemberState, MemberStatus } from '../wire/messages.js';
import type { MembershipEvent } from '../membership/types.js';
import type { LinkSpec } from './network.js';
import type { World } from './world.js';

export class ScenarioError extends Error {
  readonly seed: number;
  readonly time: number;
  readonly steps: readonly string[];
  constructor(what: string, world: World, steps: readonly string[]) {
    const tail = steps.slice(-25);
    super(
      `${what}\n  seed ${world.seed} (rerun with the same seed to replay), at t=${fmtMs(world.now)}` +
        `\n  steps${steps.length > tail.length ? ` (last ${tail.length})` : ''}:\n    ${tail.join('\n    ')}`,
    );
    this.name = 'ScenarioError';
    this.seed = world.seed;
    this.time = world.now;
    this.steps = steps;
  }
}

export interface WaitOptions {
  /** Give up (and throw) after this long. @default 120 000 ms */
  readonly maxMs?: number;
  /** Check the condition this often. @default 100 ms */
  readonly everyMs?: number;
}

export function scenario(world: World): Scenario {
  return new Scenario(world);
}

export class Scenario {
  readonly world: World;
  /** What happened so far, one line per step, with the time. */
  readonly steps: string[] = [];
  /** Names created by the last addNodes/buildConverged step. */
  lastAdded: string[] = [];

  constructor(world: World) {
    this.world = world;
  }

  /** Creates nodes (idle until started or joined). */
  addNodes(count: number): this {
    this.lastAdded = this.world.addNodes(count);
    return this.log(`add ${count} nodes (${range(this.lastAdded)})`);
  }

  /** Creates a converged cluster of `count` more nodes without traffic (see World.buildConverged). */
  buildConverged(count: number, opts: { readonly staggerMs?: number } = {}): this {
    this.lastAdded = this.world.buildConverged(count, opts);
    return this.log(`build a converged cluster of ${count} more nodes (${range(this.lastAdded)})`);
  }

  start(...names: string[]): this {
    this.world.start(...names);
    return this.log(`start ${names.join(', ')}`);
  }

  /** `name` joins through `via` (default: the first other live node). */
  join(name: string, via?: readonly string[]): this {
    this.world.join(name, via);
    return this.log(`${name} joins${via === undefined ? '' : ` via ${via.join(', ')}`}`);
  }

  /** Every idle node joins through the first node, staggered (see World.joinAll). */
  joinAll(opts: { readonly via?: string; readonly staggerMs?: number } = {}): this {
    const n = this.world.joinAll(opts);
    return this.log(`${n} nodes join${opts.via === undefined ? '' : ` via ${opts.via}`}`);
  }

  waitMs(ms: number): this {
    this.world.runFor(ms);
    return this.log(`wait ${fmtMs(ms)}`);
  }

  /** Runs until `done` holds; throws a ScenarioError if it does not within `maxMs`. */
  waitUntil(what: string, done: (world: World) => boolean, opts: WaitOptions = {}): this {
    const start = this.world.now;
    const at = this.world.runUntilTrue(() => done(this.world), opts.maxMs ?? 120_000, opts.everyMs ?? 100);
    if (at === undefined) {
      this.log(`wait until ${what}: timed out`);
      throw new ScenarioError(`timed out after ${fmtMs(this.world.now - start)} waiting until ${what}`, this.world, this.steps);
    }
    return this.log(`wait until ${what}: took ${fmtMs(at - start)}`);
  }

  /** Waits until World.isConverged() holds. */
  waitForConvergence(opts: WaitOptions = {}): this {
    return this.waitUntil('the cluster converges', (w) => w.isConverged(), { everyMs: 250, ...opts });
  }

  crash(name: string): this {
    this.world.crash(name);
    return this.log(`crash ${name}`);
  }

  pause(name: string, ms?: number): this {
    this.world.pause(name, ms);
    return this.log(`pause ${name}${ms === undefined ? '' : ` for ${fmtMs(ms)}`}`);
  }

  resume(name: string): this {
    this.world.resume(name);
    return this.log(`resume ${name}`);
  }

  leave(name: string): this {
    this.world.leave(name);
    return this.log(`${name} leaves`);
  }

  restart(name: string, opts: { readonly join?: readonly string[]; readonly state?: MemberState } = {}): this {
    this.world.restart(name, opts);
    return this.log(`restart ${name}`);
  }

  setLocalState(name: string, state: MemberState): this {
    this.world.setLocalState(name, state);
    return this.log(`${name} updates its state`);
  }

  /**
   * Cuts `a` off from `b` (default: every other node), both ways or only a → b with `oneWay`.
   */
  partition(a: readonly string[], b?: readonly string[], opts: { readonly oneWay?: boolean } = {}): this {
    const inA = new Set(a);
    const other = b ?? this.world.nodeNames().filter((n) => !inA.has(n));
    this.world.partition(a, other, opts.oneWay ?? false);
    return this.log(`partition ${range(a)} ${opts.oneWay === true ? '-/->' : '<-/->'} ${range(other)}`);
  }

  heal(): this {
    this.world.heal();
    return this.log('heal every partition');
  }

  /** Gives the links between `a` and `b` (both ways) their own latency, loss or duplication. */
  link(a: readonly string[], b: readonly string[], spec: Partial<LinkSpec>): this {
    this.world.network.setLink(this.world.indicesOf(a), this.world.indicesOf(b), spec);
    return this.log(`link ${range(a)} <-> ${range(b)}: ${JSON.stringify(spec)}`);
  }

  /** Any other step. */
  do(what: string, fn: (world: World) => void): this {
    fn(this.world);
    return this.log(what);
  }

  expect(what: string, holds: (world: World) => boolean): this {
    if (!holds(this.world)) {
      this.log(`expect ${what}: FAILED`);
      throw new ScenarioError(`expected ${what}`, this.world, this.steps);
    }
    return this.log(`expect ${what}: ok`);
  }

  /** Every live node other than `subject` holds it with `status`. */
  expectAllSee(subject: string, status: MemberStatus): this {
    return this.expect(`every live node to see ${subject} as ${status}`, (w) => w.allSee(subject, status));
  }

  /** `observer` holds `subject` with `status` (undefined: does not know it). */
  expectView(observer: string, subject: string, status: MemberStatus | undefined): this {
    return this.expect(`${observer} to see ${subject} as ${status ?? 'unknown'}`, (w) => w.member(observer).statusOf(subject) === status);
  }

  expectConverged(): this {
    return this.expect('the cluster to have converged', (w) => w.isConverged());
  }

  private log(line: string): this {
    this.steps.push(`t=${fmtMs(this.world.now)}  ${line}`);
    return this;
  }
}

/** What spreads: a member joining, being declared dead, or leaving. */
export type SpreadKind = 'join' | 'dead' | 'leave';

const EVENT_OF: Readonly<Record<SpreadKind, MembershipEvent['type']>> = {
  join: 'member-join',
  dead: 'member-dead',
  leave: 'member-leave',
};

/**
 * Records when each node first learns that `subject` joined, died or left (from the events the
 * nodes emit, so times are exact), from the moment it is created.
 */
export class SpreadTracker {
  readonly subject: string;
  readonly kind: SpreadKind;
  readonly since: number;
  private readonly world: World;
  private readonly seen = new Map<string, number>();
  private readonly unsubscribe: () => void;

  constructor(world: World, subject: string, kind: SpreadKind) {
    this.world = world;
    this.subject = subject;
    this.kind = kind;
    this.since = world.now;
    const type = EVENT_OF[kind];
    this.unsubscribe = world.onEvent((node, event, time) => {
      if (event.type === type && 'member' in event && event.member.name === subject && !this.seen.has(node)) this.seen.set(node, time);
    });
  }

  /** Stops listening (the records stay). */
  stop(): void {
    this.unsubscribe();
  }

  /** The live nodes (other than the subject) the tracker measures against. */
  private population(): string[] {
    return this.world.liveNames().filter((n) => n !== this.subject);
  }

  /** How many live nodes (other than the subject) have learnt it. */
  reached(): number {
    let n = 0;
    for (const name of this.population()) if (this.seen.has(name)) n++;
    return n;
  }

  /** The share of live nodes (other than the subject) that have learnt it, in [0, 1]. */
  share(): number {
    const pop = this.population();
    if (pop.length === 0) return 1;
    let n = 0;
    for (const name of pop) if (this.seen.has(name)) n++;
    return n / pop.length;
  }

  /** When the last live node learnt it, in ms since the tracker started; undefined if some have not. */
  completedAfterMs(): number | undefined {
    let last = this.since;
    for (const name of this.population()) {
      const t = this.seen.get(name);
      if (t === undefined) return undefined;
      if (t > last) last = t;
    }
    return last - this.since;
  }

  /**
   * The share over time, one point per change (a step function), from 0 ms to `untilMs` (ms
   * since the tracker started), against the nodes that are live now.
   */
  curve(untilMs: number): { readonly ms: number; readonly share: number }[] {
    const pop = this.population();
    const times: number[] = [];
    for (const name of pop) {
      const t = this.seen.get(name);
      if (t !== undefined) times.push(t - this.since);
    }
    times.sort((x, y) => x - y);
    const total = Math.max(1, pop.length);
    const out: { ms: number; share: number }[] = [{ ms: 0, share: 0 }];
    let k = 0;
    while (k < times.length) {
      const t = times[k] as number;
      if (t > untilMs) break;
      while (k < times.length && times[k] === t) k++;
      out.push({ ms: t, share: k / total });
    }
    out.push({ ms: untilMs, share: (out[out.length - 1] as { share: number }).share });
    return out;
  }
}

function range(names: readonly string[]): string {
  if (names.length <= 4) return names.join(', ');
  return `${names[0]}, ${names[1]}, … ${names[names.length - 1]} (${names.length})`;
}

export function fmtMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  return `${Math.round(ms * 10) / 10}ms`;
}
