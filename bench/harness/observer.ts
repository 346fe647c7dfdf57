/**
 * Watches every agent's member list: one poller per agent, each asking its agent over its one
 * persistent connection every `pollMs` (the pollers staggered over the period, so N agents are
 * asked N/period times a second evenly rather than in bursts). A condition is checked against the
 * latest view of every agent it names each time an answer arrives, and is met at the arrival time
 * of the answer that made it hold: a figure is late by at most one poll period plus one answer.
 */
import type { AgentApi } from './systems.js';

type View = ReadonlyMap<string, string>;

interface Condition {
  readonly agents: readonly string[];
  /** 'all': every named agent's latest view satisfies it; 'any': one does. */
  readonly mode: 'all' | 'any';
  readonly holds: (view: View) => boolean;
  readonly resolve: (at: number | null) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Observer {
  private readonly latest = new Map<string, View | null>();
  private readonly polled = new Set<string>();
  private readonly conditions = new Set<Condition>();
  private paused = false;
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly apis: ReadonlyMap<string, AgentApi>,
    private readonly pollMs: number,
  ) {}

  /** Starts polling every agent. */
  start(): void {
    const names = [...this.apis.keys()];
    names.forEach((name, i) => {
      this.polled.add(name);
      this.loops.push(this.poll(name, (i * this.pollMs) / names.length));
    });
  }

  /** Stops asking (the idle window) until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Stops asking this agent (killed, or leaving) and forgets its view. */
  drop(name: string): void {
    this.polled.delete(name);
    this.latest.delete(name);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const c of this.conditions) c.resolve(null);
    this.conditions.clear();
    await Promise.all(this.loops);
  }

  /** Resolves with the time (performance.now) at which `holds` held in every named agent's view, or null after timeoutMs. */
  waitAll(agents: readonly string[], holds: (view: View) => boolean, timeoutMs: number): Promise<number | null> {
    return this.wait({ agents, mode: 'all', holds }, timeoutMs);
  }

  /** Resolves with the time at which `holds` held in one named agent's view, or null after timeoutMs. */
  waitAny(agents: readonly string[], holds: (view: View) => boolean, timeoutMs: number): Promise<number | null> {
    return this.wait({ agents, mode: 'any', holds }, timeoutMs);
  }

  private wait(c: Omit<Condition, 'resolve'>, timeoutMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (at: number | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.conditions.delete(cond);
        resolve(at);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      const cond: Condition = { ...c, resolve: done };
      this.conditions.add(cond);
      this.check(performance.now());
    });
  }

  private check(at: number): void {
    for (const c of [...this.conditions]) {
      const met =
        c.mode === 'all'
          ? c.agents.every((a) => {
              const v = this.latest.get(a);
              return v !== undefined && v !== null && c.holds(v);
            })
          : c.agents.some((a) => {
              const v = this.latest.get(a);
              return v !== undefined && v !== null && c.holds(v);
            });
      if (met) c.resolve(at);
    }
  }

  private async poll(name: string, offsetMs: number): Promise<void> {
    const api = this.apis.get(name) as AgentApi;
    await sleep(offsetMs);
    let next = performance.now();
    while (!this.stopped && this.polled.has(name)) {
      if (!this.paused) {
        let view: View | null;
        try {
          view = await api.members();
        } catch {
          view = null;
        }
        if (!this.polled.has(name)) break;
        this.latest.set(name, view);
        this.check(performance.now());
      }
      // The next tick of this poller's schedule; ticks missed by a slow answer are skipped.
      const now = performance.now();
      next += this.pollMs;
      if (next < now) next += Math.ceil((now - next) / this.pollMs) * this.pollMs;
      await sleep(next - now);
    }
  }
}
