/**
 * Every command of the table: its summary as the table says it, its --help, its --json; and the
 * commands that act on a running agent (check, maint, force-leave, reload, version) end to end
 * against the real HTTP API over a fake agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { COMMANDS, main } from '../../src/cli/main.js';
import { VERSION } from '../../src/version.js';
import { FakeAgent, view } from '../api/fake-agent.js';
import { capture } from './support.js';

describe('the command table', () => {
  it.each(Object.keys(COMMANDS))('%s: the summary is the command\'s own, --help works, and --json is a flag', async (name) => {
    const entry = COMMANDS[name]!;
    const command = await entry.load();
    expect(command.name).toBe(name);
    expect(entry.summary).toBe(command.summary);
    expect(Object.keys(command.flags)).toContain('json');
    const io = capture();
    expect(await main([name, '--help'], io)).toBe(0);
    expect(io.out()).toContain(`usage: hearsay ${name}`);
    expect(io.out()).toContain('--json');
  });

  it('prints the version for `version` and `--version`, also as JSON', async () => {
    for (const argv of [['version'], ['--version']]) {
      const io = capture();
      expect(await main(argv, io)).toBe(0);
      expect(io.out()).toBe(`hearsay ${VERSION} (node ${process.versions.node}, protocol 3)\n`);
    }
    const io = capture();
    expect(await main(['version', '--json'], io)).toBe(0);
    expect(JSON.parse(io.out())).toEqual({ version: VERSION, node: process.versions.node, protocol: 3 });
  });

  it('suggests the command meant, and the --flag for a one-dash flag', async () => {
    const io = capture();
    expect(await main(['membres'], io)).toBe(2);
    expect(io.err()).toMatch(/^hearsay: unknown command "membres" \(did you mean members\?\)/);
    const dash = capture();
    expect(await main(['agent', '-retry-join=10.0.0.1'], dash)).toBe(2);
    expect(dash.err()).toContain('"-retry-join=10.0.0.1": hearsay\'s flags take two dashes: write --retry-join=10.0.0.1');
    const close = capture();
    expect(await main(['agent', '-bnid=1'], close)).toBe(2);
    expect(close.err()).toContain('write --bind=1');
    const flag = capture();
    expect(await main(['members', '--detialed'], flag)).toBe(2);
    expect(flag.err()).toContain('unknown flag --detialed for \'hearsay members\' (did you mean --detailed?)');
  });
});

describe('commands against a running agent', () => {
  let agent: FakeAgent;
  let server: HttpServer;
  let http: string;
  beforeAll(async () => {
    agent = new FakeAgent('ops-1', [view('ops-1', 'alive'), view('gone', 'dead'), view('up', 'alive')]);
    server = createHttpServer(agent, { onReload: () => Promise.resolve({ services: { registered: ['a'], updated: [], deregistered: ['b'] }, logLevel: 'debug', needsRestart: ['bind'] }) });
    const a = await server.listen({ host: '127.0.0.1', port: 0 });
    http = `${a.host}:${a.port}`;
  });
  afterAll(() => server.close());

  const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const io = capture();
    const code = await main([...argv, '--http', http], io);
    return { code, out: io.out(), err: io.err() };
  };

  it('check pass|warn|fail ID reports a TTL result', async () => {
    const inst = agent.register({ name: 'svc', port: 1, checks: [{ ttl: '30s', id: 'svc-ttl' }] });
    expect(inst.status).toBe('critical');
    expect(await run('check', 'pass', 'svc-ttl', '--note', 'all good')).toEqual({ code: 0, out: 'svc-ttl: passing\n', err: '' });
    expect(agent.checks().find((c) => c.id === 'svc-ttl')).toMatchObject({ status: 'passing', output: 'all good' });
    expect((await run('check', 'warn', 'svc-ttl')).out).toBe('svc-ttl: warning\n');
    const unknown = await run('check', 'fail', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('(HEARSAY_ERR_UNKNOWN_CHECK)');
    expect((await run('check', 'ok', 'svc-ttl')).code).toBe(2);
  });

  it('maint enable|disable, for the node or one instance', async () => {
    const inst = agent.register({ name: 'mnt', port: 2 });
    expect(await run('maint', 'enable', '--service', inst.id, '--reason', 'upgrade')).toMatchObject({ code: 0, out: `maintenance on for instance ${inst.id}\n` });
    expect(agent.lookup('mnt', { status: 'any' })[0]?.status).toBe('maintenance');
    expect((await run('maint', 'disable', '--service', inst.id)).out).toBe(`maintenance off for instance ${inst.id}\n`);
    expect(agent.lookup('mnt', { status: 'any' })[0]?.status).toBe('passing');
    expect((await run('maint', 'enable')).out).toBe('maintenance on for this node\n');
    expect(agent.lookup('mnt', { status: 'any' })[0]?.status).toBe('maintenance');
    expect((await run('maint', 'disable')).code).toBe(0);
    expect((await run('maint', 'sideways')).code).toBe(2);
  });

  it('force-leave NODE marks a dead member left, and refuses a live one', async () => {
    expect(await run('force-leave', 'gone')).toEqual({ code: 0, out: 'gone marked left\n', err: '' });
    expect(agent.forceLeaveCalls).toContain('gone');
    expect(agent.memberViews().find((v) => v.name === 'gone')?.status).toBe('left');
    const live = await run('force-leave', 'up');
    expect(live.code).toBe(1);
    expect(live.err).toContain('up is alive: force-leave only removes failed');
  });

  it('reload says what changed and what needs a restart', async () => {
    expect(await run('reload')).toEqual({
      code: 0,
      out: 'reloaded: 1 registered, 0 updated, 1 deregistered; log level debug\nchanged, applied at the next start: bind\n',
      err: '',
    });
    const j = await run('reload', '--json');
    expect(JSON.parse(j.out)).toMatchObject({ logLevel: 'debug', needsRestart: ['bind'] });
  });

  it('monitor says clearly when the agent has no log to stream (an embedded agent)', async () => {
    const r = await run('monitor');
    expect(r.code).toBe(1);
    expect(r.err).toContain("this agent's log is not available here");
  });
});
