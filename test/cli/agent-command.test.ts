/**
 * `hearsay agent` driven in-process: a fake agent, fake signals, captured output; the HTTP API is real.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { runAgent, type AgentCommandDeps, type AgentFlags } from '../../src/cli/commands/agent.js';
import type { AgentOptions } from '../../src/agent/types.js';
import type { HttpServer } from '../../src/api/server.js';
import { BindError } from '../../src/transport/errors.js';
import { FakeAgent, failingJoin } from '../api/fake-agent.js';
import { call } from '../api/http-support.js';
import { capture } from './support.js';

const noFlags: AgentFlags = {
  name: undefined,
  bind: undefined,
  advertise: undefined,
  join: [],
  http: '127.0.0.1:0',
  dns: 'off',
  key: undefined,
  'keyring-file': undefined,
  label: undefined,
  'encrypt-transition': undefined,
  'http-token': undefined,
  profile: undefined,
  'data-dir': undefined,
  config: undefined,
  'log-level': undefined,
};

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
    expect(res.json()).toMatchObject({ name: 'n1', profile: 'local' });
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

  it('joins through --join seeds after it is ready, and keeps running when none answers', async () => {
    const h = start({ join: ['127.0.0.1:9', '[::1]:10'] }, {}, (a) => (a.joinImpl = failingJoin));
    await h.ready;
    await vi.waitFor(() => expect(h.logs().some((l) => l.level === 50 && String(l.msg).startsWith('could not join through any seed'))).toBe(true));
    expect(h.agent.joinCalls).toEqual([
      [
        { host: '127.0.0.1', port: 9 },
        { host: '::1', port: 10 },
      ],
    ]);
    const logged = h.logs().find((l) => l.level === 50) as { err: { code: string; message: string } };
    expect(logged.err.code).toBe('HEARSAY_ERR_JOIN_FAILED');
    expect(h.agent.state).toBe('running');
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(await h.run).toBe(0);
  });

  it('takes settings from HEARSAY_* variables, with flags winning', async () => {
    const h = start({ name: 'flag-name' }, { HEARSAY_NAME: 'env-name', HEARSAY_PROFILE: 'wan', HEARSAY_JOIN: '10.0.0.1:1,10.0.0.2:2', HEARSAY_LOG_LEVEL: 'silent' });
    await h.ready;
    expect(h.options[0]).toMatchObject({ name: 'flag-name', profile: 'wan' });
    expect(h.agent.joinCalls).toEqual([
      [
        { host: '10.0.0.1', port: 1 },
        { host: '10.0.0.2', port: 2 },
      ],
    ]);
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
