/**
 * `hearsay agent` driven in-process: a fake agent, fake signals, captured output; the HTTP API is real.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { defaultAgentFlags, runAgent, type AgentCommandDeps, type AgentFlags } from '../../src/cli/commands/agent.js';
import type { AgentOptions } from '../../src/agent/types.js';
import type { HttpServer } from '../../src/api/server.js';
import { BindError } from '../../src/transport/errors.js';
import { FakeAgent, failingJoin } from '../api/fake-agent.js';
import { call } from '../api/http-support.js';
import { capture } from './support.js';

const noFlags: AgentFlags = { ...defaultAgentFlags(), http: '127.0.0.1:0', dns: 'off' };

interface Harness {
  readonly io: ReturnType<typeof capture>;
  readonly agent: FakeAgent;
  readonly signals: EventEmitter;
  readonly exit: ReturnType<typeof vi.fn>;
  readonly options: AgentOptions[];
  readonly run: Promise<number>;
  readonly ready: Promise<{ http: HttpServer }>;
  logs(): Record<string, unknown>[];
}

function start(flags: Partial<AgentFlags> = {}, env: Record<string, string> = {}, setup: (agent: FakeAgent) => void = () => undefined): Harness {
  const io = capture();
  const signals = new EventEmitter();
  const exit = vi.fn();
  const options: AgentOptions[] = [];
  let agent: FakeAgent | undefined;
  let onReady: (r: { http: HttpServer }) => void = () => undefined;
  const ready = new Promise<{ http: HttpServer }>((r) => (onReady = r));
  const deps: AgentCommandDeps = {
    env,
    createAgent: (o) => {
      options.push(o);
      agent = new FakeAgent(o.name ?? 'generated-name');
      setup(agent);
      return agent;
    },
    signals,
    exit,
    onReady: (r) => onReady(r),
  };
  const run = runAgent({ ...noFlags, ...flags }, io, deps);
  return {
    io,
    get agent() {
      if (agent === undefined) throw new Error('no agent created');
      return agent;
    },
    signals,
    exit,
    options,
    run,
    ready,
    logs: () =>
      io
        .err()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('hearsay agent', () => {
  it('starts the agent from flags, serves the API and prints one ready line', async () => {
    const h = start({ name: 'n1', bind: '127.0.0.1:0', profile: 'local', 'log-level': 'debug' });
    const { http } = await h.ready;
    const httpAddr = http.address;
    expect(h.io.out()).toBe(`hearsay agent n1 listening on 127.0.0.1:7946 (http 127.0.0.1:${httpAddr?.port})\n`);
    expect(h.options[0]).toMatchObject({ name: 'n1', bind: { host: '127.0.0.1', port: 0 }, profile: 'local', tags: {}, membership: {} });
    const res = await call(httpAddr ?? { host: '', port: 0 }, '/v1/agent/self');
    expect(res.json()).toMatchObject({ Hearsay: { name: 'n1', profile: 'local' } });
    expect(h.logs().find((l) => l.msg === 'starting')).toMatchObject({ level: 30, component: 'cli', bind: '127.0.0.1:0', profile: 'local' });
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(await h.run).toBe(0);
  });

  it('leaves gracefully and exits 0 on SIGINT or SIGTERM, and stops listening for signals', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const h = start();
      await h.ready;
      h.signals.emit(signal, signal);
      expect(await h.run).toBe(0);
      expect(h.agent.leaveCalls).toHaveLength(1);
      expect(h.exit).not.toHaveBeenCalled();
      expect(h.signals.listenerCount('SIGINT') + h.signals.listenerCount('SIGTERM')).toBe(0);
      expect(h.logs().map((l) => l.msg)).toContain('stopped');
    }
  });

  it('exits at once on a second signal while leaving', async () => {
    let release: () => void = () => undefined;
    const h = start({}, {}, (a) => (a.leaveImpl = () => new Promise<void>((r) => (release = r))));
    await h.ready;
    h.signals.emit('SIGTERM', 'SIGTERM');
    h.signals.emit('SIGINT', 'SIGINT');
    expect(h.exit).toHaveBeenCalledWith(130);
    release();
    expect(await h.run).toBe(0);
  });

  it('answers POST /v1/leave, then stops and resolves with exit code 0', async () => {
    const h = start();
    const { http } = await h.ready;
    const res = await call(http.address ?? { host: '', port: 0 }, '/v1/leave', { method: 'POST' });
    expect(res.json()).toEqual({ left: true, name: 'generated-name' });
    expect(await h.run).toBe(0);
    expect(h.agent.leaveCalls).toHaveLength(1);
    expect(h.agent.state).toBe('closed');
  });

  it('exits 1 with each seed and its reason when no --join seed answers, as Serf does', async () => {
    const h = start({ join: ['127.0.0.1:9', '[::1]:10'] }, {}, (a) => (a.joinImpl = failingJoin));
    await h.ready;
    expect(await h.run).toBe(1);
    expect(h.agent.joinCalls).toEqual([['127.0.0.1:9', '[::1]:10']]);
    expect(h.io.err()).toContain(
      'hearsay agent: could not join through any --join seed:\n  - 127.0.0.1:9: connection refused (ECONNREFUSED)\n  - [::1]:10: connection refused (ECONNREFUSED)\n',
    );
    // One log line with the seeds, no stack trace.
    const logged = h.logs().filter((l) => l.level === 50);
    expect(logged).toEqual([expect.objectContaining({ msg: 'could not join through any --join seed', seeds: ['127.0.0.1:9', '[::1]:10'] })]);
    expect(JSON.stringify(logged)).not.toContain('stack');
    expect(h.agent.state).toBe('closed');
  });

  it('with --retry-join keeps running and tries again, with backoff, until a seed answers', async () => {
    let calls = 0;
    const h = start({ join: ['127.0.0.1:9'], 'retry-join': ['127.0.0.1:11'], 'retry-join-interval': '200ms' }, {}, (a) => {
      a.joinImpl = (seeds) => (++calls <= 3 ? failingJoin(seeds) : Promise.resolve(1));
    });
    await h.ready;
    await vi.waitFor(() => expect(h.logs().some((l) => l.msg === 'joined the cluster (retry-join)')).toBe(true), { timeout: 10_000 });
    // The --join attempt, two failed retry rounds, then the one that answered.
    expect(h.agent.joinCalls).toEqual([['127.0.0.1:9'], ['127.0.0.1:11'], ['127.0.0.1:11'], ['127.0.0.1:11']]);
    const rounds = h.logs().filter((l) => String(l.msg).startsWith('retry-join round'));
    expect(rounds.map((l) => l.round)).toEqual([1, 2]);
    expect(rounds[0]).toMatchObject({ level: 40, seeds: ['127.0.0.1:11: connection refused'] });
    expect(h.agent.state).toBe('running');
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(await h.run).toBe(0);
  });

  it('exits 1 once --retry-join-max rounds failed', async () => {
    const h = start({ 'retry-join': ['127.0.0.1:11'], 'retry-join-interval': '100ms', 'retry-join-max': '2' }, {}, (a) => (a.joinImpl = failingJoin));
    expect(await h.run).toBe(1);
    expect(h.agent.joinCalls).toHaveLength(2);
    expect(h.logs().some((l) => l.level === 50 && String(l.msg).startsWith('retry-join gave up after 2 rounds: 127.0.0.1:11: connection refused'))).toBe(true);
  });

  it('takes settings from HEARSAY_* variables, with flags winning', async () => {
    const h = start({ name: 'flag-name' }, { HEARSAY_NAME: 'env-name', HEARSAY_PROFILE: 'wan', HEARSAY_JOIN: '10.0.0.1:1,10.0.0.2:2', HEARSAY_LOG_LEVEL: 'silent' });
    await h.ready;
    expect(h.options[0]).toMatchObject({ name: 'flag-name', profile: 'wan' });
    expect(h.agent.joinCalls).toEqual([['10.0.0.1:1', '10.0.0.2:2']]);
    expect(h.io.err()).toBe(''); // silent
    h.signals.emit('SIGINT', 'SIGINT');
    expect(await h.run).toBe(0);
  });

  it('reports every configuration problem at once and exits 2 without starting', async () => {
    const h = start({ bind: 'nope:x', profile: 'moon', 'log-level': 'loud' }, { HEARSAY_ADVERTISE: '::1:7946' });
    expect(await h.run).toBe(2);
    expect(h.options).toEqual([]);
    const err = h.io.err();
    expect(err).toMatch(/^hearsay agent: invalid agent configuration \(4 problems\):\n/);
    for (const text of ['--bind "nope:x"', 'HEARSAY_ADVERTISE="::1:7946"', '--profile "moon"', '--log-level "loud"']) expect(err).toContain(text);
    expect(err).toContain("run 'hearsay agent --help' for usage");
  });

  it('exits 1 with the reason when the agent cannot bind', async () => {
    const h = start({}, {}, (a) => {
      a.start = () => Promise.reject(new BindError('127.0.0.1', 7946, Object.assign(new Error('in use'), { code: 'EADDRINUSE' })));
    });
    expect(await h.run).toBe(1);
    expect(h.io.err()).toContain('hearsay agent: cannot listen on 127.0.0.1:7946 (EADDRINUSE): another process (or agent) uses this port');
    expect(h.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('exits 1 and closes the agent when the HTTP port is taken', async () => {
    const first = start();
    const { http } = await first.ready;
    const taken = `127.0.0.1:${http.address?.port}`;
    const second = start({ http: taken });
    expect(await second.run).toBe(1);
    expect(second.io.err()).toContain(`hearsay agent: cannot listen for HTTP on ${taken} (EADDRINUSE): another process (or agent) uses this port: pass --http HOST:PORT with a free port, or port 0`);
    expect(second.agent.state).toBe('closed');
    first.signals.emit('SIGTERM', 'SIGTERM');
    expect(await first.run).toBe(0);
  });
});
