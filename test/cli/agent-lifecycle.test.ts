/**
 * `hearsay agent` as an operator lives with it, in-process with real agents on 127.0.0.1: a second
 * agent on one host without --dns, SIGHUP and POST /v1/agent/reload, the log as text, the monitor
 * stream, force-leave, and signals during start.
 */
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/agent.js';
import { AGENT_DEFAULTS } from '../../src/agent/defaults.js';
import type { Agent } from '../../src/agent/types.js';
import type { HttpServer } from '../../src/api/server.js';
import { defaultAgentFlags, runAgent, type AgentFlags } from '../../src/cli/commands/agent.js';
import { formatLogLine } from '../../src/cli/log-output.js';
import { formatHostPort } from '../../src/transport/address.js';
import type { Address } from '../../src/wire/messages.js';
import { call, json } from '../api/http-support.js';
import { waitFor } from '../agent/support.js';
import { capture } from './support.js';

const base: AgentFlags = { ...defaultAgentFlags(), bind: '127.0.0.1:0', http: '127.0.0.1:0', dns: 'off', profile: 'local' };
const running: { signals: EventEmitter; done: Promise<number> }[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) {
    r.signals.emit('SIGTERM', 'SIGTERM');
    await r.done;
  }
  for (const s of sockets.splice(0)) s.close();
});

interface Running {
  readonly agent: Agent;
  readonly http: Address;
  readonly signals: EventEmitter;
  readonly io: ReturnType<typeof capture>;
  readonly done: Promise<number>;
  lines(): Record<string, unknown>[];
}

async function start(flags: Partial<AgentFlags>, isTTY = false): Promise<Running> {
  const signals = new EventEmitter();
  const io = capture();
  (io.stderr as { isTTY?: boolean }).isTTY = isTTY;
  let ready: (r: { agent: Agent; http: HttpServer }) => void = () => undefined;
  const up = new Promise<{ agent: Agent; http: HttpServer }>((r) => (ready = r));
  const done = runAgent({ ...base, ...flags }, io, { env: {}, createAgent, signals, exit: () => undefined, onReady: (r) => ready(r) });
  const r = await Promise.race([up, done.then((code) => Promise.reject(new Error(`agent exited ${code}: ${io.err()}`)))]);
  running.push({ signals, done });
  const http = r.http.address;
  if (http === undefined) throw new Error('no http address');
  return {
    agent: r.agent,
    http,
    signals,
    io,
    done,
    lines: () =>
      io
        .err()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Holds `port` on 127.0.0.1 over UDP, as another agent's DNS would (already held is as good). */
async function holdUdp(port: number): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => {
    s.once('error', () => resolve()); // taken already: the port is busy either way
    s.bind(port, '127.0.0.1', () => resolve());
  });
  sockets.push(s);
}

describe('several agents on one host', () => {
  it('runs without DNS, with one warning, when DNS was not asked for and its default port is taken', async () => {
    await holdUdp(AGENT_DEFAULTS.dns.port);
    const a = await start({ dns: undefined });
    const warnings = a.lines().filter((l) => l.level === 40 && String(l.msg).includes('running without DNS'));
    expect(warnings).toHaveLength(1);
    expect(a.io.out()).not.toContain('(dns ');
    expect(a.agent.state).toBe('running');
  });

  it('still exits 1 when an explicit --dns cannot bind', async () => {
    await holdUdp(AGENT_DEFAULTS.dns.port);
    const io = capture();
    const code = await runAgent({ ...base, dns: `127.0.0.1:${AGENT_DEFAULTS.dns.port}` }, io, { env: {}, createAgent, signals: new EventEmitter(), exit: () => undefined });
    expect(code).toBe(1);
    expect(io.err()).toContain(`hearsay agent: cannot listen for DNS on 127.0.0.1:${AGENT_DEFAULTS.dns.port} (EADDRINUSE)`);
  });
});

describe('reloading the config file', () => {
  const service = (name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, port, ...extra });

  it('applies services, checks, tags and the log level on SIGHUP and POST /v1/agent/reload, without leaving the mesh', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-reload-'));
    const file = join(dir, 'agent.json');
    const write = (doc: unknown): void => writeFileSync(file, JSON.stringify(doc));
    write({ logLevel: 'info', tags: { role: 'a' }, services: [service('web', 8080, { checks: [{ ttl: '30s', id: 'web-ttl' }] }), service('db', 5432), service('old', 1)] });
    const a = await start({ config: file });
    const before = new Map(a.agent.localServices().map((s) => [s.record.name, s.record.id]));
    expect([...before.keys()].sort()).toEqual(['db', 'old', 'web']);
    a.agent.updateCheck('web-ttl', 'passing');
    const incarnation = a.agent.incarnation;

    // SIGHUP: web unchanged (its passing check stays passing), db's port changes, old goes, new comes; level debug.
    write({ logLevel: 'debug', tags: { role: 'b' }, services: [service('web', 8080, { checks: [{ ttl: '30s', id: 'web-ttl' }] }), service('db', 5433), service('new', 2)] });
    a.signals.emit('SIGHUP', 'SIGHUP');
    await waitFor('the reload is logged', () => a.lines().some((l) => l.msg === 'reloaded the config file'));
    const after = new Map(a.agent.localServices().map((s) => [s.record.name, s.record]));
    expect([...after.keys()].sort()).toEqual(['db', 'new', 'web']);
    expect(after.get('web')?.id).toBe(before.get('web'));
    expect(after.get('db')).toMatchObject({ id: before.get('db'), port: 5433 });
    expect(a.agent.checks().find((c) => c.id === 'web-ttl')?.status).toBe('passing');
    expect(a.agent.members().find((m) => m.name === a.agent.name)?.tags).toEqual({ role: 'b' });
    expect(a.agent.state).toBe('running');
    expect(a.agent.incarnation).toBe(incarnation); // new tags are one state entry (t:), spread by gossip: no new incarnation, the node never left
    // The log level now lets debug lines through.
    await call(a.http, '/v1/members');
    await waitFor('a debug line', () => a.lines().some((l) => l.level === 20));

    // The same through the API, with what changed; a setting that needs a restart is named.
    write({ logLevel: 'info', name: 'renamed', tags: { role: 'b' }, services: [service('web', 8080, { checks: [{ ttl: '30s', id: 'web-ttl' }] })] });
    const res = await call(a.http, '/v1/agent/reload', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      services: { registered: [], updated: [], deregistered: expect.arrayContaining([before.get('db'), after.get('new')?.id]) },
      logLevel: 'info',
      needsRestart: ['name'],
    });

    // A broken file changes nothing and says why.
    writeFileSync(file, '{"services": [{"name": "Bad Name", "port": 1}]}');
    const bad = await call(a.http, '/v1/agent/reload', { method: 'PUT' });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'HEARSAY_ERR_INVALID_CONFIG' });
    expect(a.agent.localServices().map((s) => s.record.name)).toEqual(['web']);
    a.signals.emit('SIGHUP', 'SIGHUP');
    await waitFor('the failed reload is logged', () => a.lines().some((l) => l.msg === 'reload failed: the running configuration is unchanged'));
    expect(a.agent.state).toBe('running');
  });
});

describe('logs for people', () => {
  it('writes one readable line per event on a terminal', async () => {
    const a = await start({ name: 'texty' }, true);
    const b = await start({ name: 'other' });
    await a.agent.join([b.agent.address]);
    await waitFor('the join is logged', () => a.io.err().includes('member-join other 127.0.0.1:'));
    const line = a.io.err().split('\n').find((l) => l.includes('member-join other')) ?? '';
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}member-join other 127\.0\.0\.1:\d+ incarnation=\d+$/);
    expect(a.io.err()).not.toContain('{"level"');
  });

  it('formats an error as its message on one line, never a stack', () => {
    const line = formatLogLine(JSON.stringify({ level: 50, time: '2026-01-01T00:00:00.000Z', msg: 'join failed', err: { message: 'join: none answered:\n  - a:1: refused\n  - b:2: refused', stack: 'Error: at x' } }));
    expect(line).toBe('2026-01-01T00:00:00.000Z ERROR join failed err="join: none answered:; a:1: refused; b:2: refused"');
  });
});

describe('hearsay monitor (GET /v1/agent/monitor)', () => {
  it("streams the agent's log at the level asked for, below the agent's own level, whatever stderr's own level is", async () => {
    const a = await start({ 'log-level': 'warn' });
    const lines: string[] = [];
    const req = request({ host: a.http.host, port: a.http.port, path: '/v1/agent/monitor?loglevel=debug' });
    const opened = new Promise<void>((resolve, reject) => {
      req.once('response', (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => lines.push(...c.split('\n').filter((l) => l !== '')));
        resolve();
      });
      req.once('error', reject);
    });
    req.end();
    await opened;
    await call(a.http, '/v1/members');
    await waitFor('the debug line of that request', () => lines.some((l) => l.includes('DEBUG') && l.includes('http request')));
    // stderr kept its own level.
    expect(a.lines().every((l) => (l.level as number) >= 40)).toBe(true);
    req.destroy();
  });

  it('refuses a level it does not know', async () => {
    const a = await start({});
    const res = await call(a.http, '/v1/agent/monitor?loglevel=loud');
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ code: 'HEARSAY_ERR_INVALID_REQUEST' });
  });
});

describe('force-leave', () => {
  it('marks a failed member left everywhere; refuses a live one and an unknown one', async () => {
    const a = await start({ name: 'fl-a' });
    const b = await start({ name: 'fl-b' });
    const c = createAgent({ name: 'fl-c', bind: { host: '127.0.0.1', port: 0 }, profile: 'local' });
    await c.start();
    await a.agent.join([b.agent.address]);
    await c.join([a.agent.address]);
    await waitFor('three alive in both views', () => [a, b].every((x) => x.agent.members().filter((m) => m.status === 'alive').length === 3), 10_000);
    const alive = await call(a.http, '/v1/agent/force-leave/fl-c', { method: 'PUT' });
    expect(alive.status).toBe(409);
    expect(alive.json()).toMatchObject({ code: 'HEARSAY_ERR_MEMBER_ALIVE' });
    expect((await call(a.http, '/v1/agent/force-leave/nobody', { method: 'PUT' })).status).toBe(404);
    // c crashes (closes without a leave): both see it dead, then force-leave makes it left in both.
    await c.close();
    const statusOf = (x: Running): string | undefined => x.agent.members().find((m) => m.name === 'fl-c')?.status;
    await waitFor('c dead in both views', () => statusOf(a) === 'dead' && statusOf(b) === 'dead', 20_000);
    const res = await call(a.http, '/v1/agent/force-leave/fl-c', json({}));
    expect(res.status).toBe(200);
    await waitFor('c left in both views', () => statusOf(a) === 'left' && statusOf(b) === 'left', 10_000);
  });
});

describe('one name, one owner', () => {
  it('a second agent started with a taken name stops with a clear error and exit 1; the mesh keeps the first and reports the conflict', async () => {
    const a = await start({ name: 'nc-a' });
    const first = await start({ name: 'nc-web', join: [formatHostPort(a.agent.address)] });
    await waitFor('both in a view', () => a.agent.members().filter((m) => m.status === 'alive').length === 2, 10_000);
    const second = await start({ name: 'nc-web', join: [formatHostPort(a.agent.address)] });
    const code = await Promise.race([second.done, new Promise<string>((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(code).toBe(1);
    expect(second.io.err()).toContain(`another live node at ${formatHostPort(first.agent.address)} holds the name "nc-web"`);
    expect(second.io.err()).toContain('Give every node a unique --name');
    // The first keeps running and keeps the name in every view; a and the first both saw the conflict.
    const web = (): unknown => a.agent.members().find((m) => m.name === 'nc-web');
    expect(web()).toMatchObject({ status: 'alive', port: first.agent.address.port });
    await waitFor('the conflict is counted on a and on the first', () => [a, first].every((x) => (x.agent.counters().nameConflicts ?? 0) >= 1), 10_000);
    for (const x of [a, first]) expect(x.lines().some((l) => l.level === 50 && typeof l.msg === 'string' && l.msg.startsWith('two nodes claim one name'))).toBe(true);
    expect(first.agent.members().find((m) => m.name === 'nc-web')).toMatchObject({ status: 'alive' });
  }, 40_000);
});

describe('signals during start', () => {
  it('SIGTERM while joining stops the agent cleanly and exits 0', async () => {
    const signals = new EventEmitter();
    const io = capture();
    // A seed that accepts and never answers: the join waits for its deadline.
    const { createServer } = await import('node:net');
    const mute = createServer(() => {});
    await new Promise<void>((r) => mute.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const port = (mute.address() as { port: number }).port;
    try {
      let agent: Agent | undefined;
      const done = runAgent({ ...base, join: [`127.0.0.1:${port}`] }, io, {
        env: {},
        createAgent: (o) => (agent = createAgent(o)),
        signals,
        exit: () => undefined,
        onReady: () => setTimeout(() => signals.emit('SIGTERM', 'SIGTERM'), 50),
      });
      expect(await done).toBe(0);
      expect(agent?.state).toBe('closed');
      expect(io.err()).not.toContain('could not join');
    } finally {
      mute.close();
    }
  });
});
