/**
 * The event log's deferral (issue 12 point 3): membership events are logged one turn after they
 * happen, in order, all of them; the agent's events reach listeners as before; and the one-time
 * warm-up of the join path touches nothing of the agent that started it.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DeferredEventLog, ReportLog } from '../../src/agent/event-log.js';
import type { AgentEvent } from '../../src/agent/types.js';
import { joinPathWarmed } from '../../src/agent/warm-up.js';
import type { MembershipEvent } from '../../src/membership/types.js';
import { Agents, waitFor } from './support.js';

function memoryLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void out.push(s) });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const join = (name: string, port: number): MembershipEvent => ({
  type: 'member-join',
  member: { name, host: '127.0.0.1', port, status: 'alive', incarnation: 0, state: { tags: {}, payload: null } },
} as unknown as MembershipEvent);

describe('DeferredEventLog', () => {
  it('logs nothing in the turn of the events, then every one of them in order', async () => {
    const { logger, lines } = memoryLogger();
    const log = new DeferredEventLog(logger);
    for (let i = 0; i < 5; i++) log.push(join(`m${i}`, 7000 + i));
    expect(lines()).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(lines().map((l) => [l.msg, l.member])).toEqual([0, 1, 2, 3, 4].map((i) => ['member-join', `m${i}`]));
  });

  it('schedules one flush per batch, and flush() logs what is pending at once', () => {
    const { logger, lines } = memoryLogger();
    const scheduled: (() => void)[] = [];
    const log = new DeferredEventLog(logger, (fn) => scheduled.push(fn));
    log.push(join('a', 1));
    log.push(join('b', 2));
    expect(scheduled).toHaveLength(1);
    log.flush();
    expect(lines().map((l) => l.member)).toEqual(['a', 'b']);
    log.push(join('c', 3));
    expect(scheduled).toHaveLength(2);
    scheduled[1]?.();
    expect(lines().map((l) => l.member)).toEqual(['a', 'b', 'c']);
  });
});

describe('an agent with the deferred log', () => {
  const agents = new Agents();
  afterEach(() => agents.closeAll());

  it('warms the join path once, soon after the first start, without changing the agent that started it', async () => {
    expect(joinPathWarmed()).toBe(false);
    const seen: AgentEvent[] = [];
    const a = await agents.started('alone');
    a.on('event', (e) => seen.push(e));
    const before = a.counters();
    await waitFor('the warm-up has begun', () => joinPathWarmed());
    await new Promise((r) => setTimeout(r, 300));
    expect(a.members().map((m) => m.name)).toEqual(['alone']);
    expect(seen).toEqual([]);
    expect(a.counters()).toEqual(before);
  });

  it('answers join with the number of seeds, delivers every event to listeners in order, and logs them all', async () => {
    const { logger, lines } = memoryLogger();
    const seed = await agents.started('seed', { logger });
    const others = await Promise.all([1, 2, 3].map((i) => agents.started(`peer-${i}`)));
    for (const o of others) expect(await o.join([seed.address])).toBe(1);
    const events: AgentEvent[] = [];
    const joiner = await agents.started('joiner', { logger });
    joiner.on('event', (e) => events.push(e));
    expect(await joiner.join([seed.address])).toBe(1);
    // join() resolved with the seed's answer merged (members() lists the mesh) but before the
    // events it brought were delivered: they come on the next turn (runtime.ts, the answer first).
    expect(joiner.members().map((m) => m.name).sort()).toEqual(['joiner', 'peer-1', 'peer-2', 'peer-3', 'seed']);
    const joined = (es: readonly AgentEvent[]): string[] => es.flatMap((e) => (e.type === 'member-join' ? [e.member.name] : []));
    expect(joined(events)).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(joined(events).sort()).toEqual(['peer-1', 'peer-2', 'peer-3', 'seed']);
    // Every event of the exchange, in the core's order: the joins, then the exchange's completion.
    expect(events.map((e) => e.type).indexOf('push-pull-complete')).toBe(4);
    await waitFor('the joiner logs the four joins', () => lines().filter((l) => l.node === 'joiner' && l.msg === 'member-join').length === 4);
    // The log has them in the order the listener got them.
    expect(lines().filter((l) => l.node === 'joiner' && l.msg === 'member-join').map((l) => l.member)).toEqual(joined(events));
  });

  it('logs pending events before "agent closed"', async () => {
    const { logger, lines } = memoryLogger();
    const seed = await agents.started('s');
    const a = await agents.started('a', { logger });
    await a.join([seed.address]);
    await a.close();
    const msgs = lines().filter((l) => l.node === 'a').map((l) => l.msg);
    expect(msgs).toContain('member-join');
    expect(msgs.indexOf('member-join')).toBeLessThan(msgs.indexOf('agent closed'));
  });

});

describe('ReportLog: unsigned records dropped (identity required, a rollout step skipped)', () => {
  it('warns once per sender per interval, naming it and what to do', () => {
    const out: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void out.push(s) });
    let now = 0;
    const log = new ReportLog(logger, 60_000, () => now);
    const from = { host: '127.0.0.1', port: 7001 };
    log.report({ kind: 'unsigned-dropped', from, channel: 'datagram', count: 1 });
    log.report({ kind: 'unsigned-dropped', from, channel: 'datagram', count: 1 });
    // A push-pull over a stream names its sender; the stream's port is not the peer's.
    log.report({ kind: 'unsigned-dropped', from: { host: '127.0.0.1', port: 50123 }, channel: 'stream', count: 3, source: 'web-2' });
    log.report({ kind: 'unsigned-dropped', from: { host: '127.0.0.1', port: 50999 }, channel: 'stream', count: 3, source: 'web-2' });
    const lines = out.map((l) => JSON.parse(l) as { level: number; msg: string; addr: string; peer?: string; records: number });
    expect(lines.map((l) => [l.level, l.addr, l.peer, l.records])).toEqual([
      [40, '127.0.0.1:7001', undefined, 1],
      [40, '127.0.0.1', 'web-2', 3],
    ]);
    expect(lines[0]?.msg).toMatch(/^dropped 1 unsigned record from 127\.0\.0\.1:7001: this node requires signed records .* Restart every node with --identity-transition accept-unsigned before any node requires signatures/);
    expect(lines[1]?.msg).toMatch(/^dropped 3 unsigned records from web-2 \(127\.0\.0\.1\)/);
    now += 60_000;
    log.report({ kind: 'unsigned-dropped', from, channel: 'datagram', count: 2 });
    expect(out).toHaveLength(3);
    expect(log.counters.unsignedWarnings).toBe(3);
  });
});

