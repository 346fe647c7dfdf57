/**
 * `hearsay members`, `hearsay join` and `hearsay leave` against the HTTP API serving a fake agent.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { command as join } from '../../src/cli/commands/join.js';
import { command as leave } from '../../src/cli/commands/leave.js';
import { formatMembersTable } from '../../src/cli/commands/members.js';
import { resolveHttpAddress } from '../../src/cli/http-client.js';
import { main } from '../../src/cli/main.js';
import { UsageError } from '../../src/cli/command.js';
import { FakeAgent, failingJoin, view } from '../api/fake-agent.js';
import { capture, closedPort } from './support.js';

let agent: FakeAgent;
let server: HttpServer;
let http: string;
const onLeave = vi.fn();

beforeEach(async () => {
  agent = new FakeAgent('web-1', [
    view('web-1', 'alive', { port: 7946, incarnation: 2, tags: { role: 'web', dc: 'eu' } }),
    view('db-1', 'suspect', { host: '::1', port: 7950, incarnation: 5 }),
    view('api-1', 'alive', { host: '10.0.0.3', port: 7946, incarnation: 1, tags: {} }),
  ]);
  onLeave.mockReset();
  server = createHttpServer(agent, { onLeave });
  const a = await server.listen({ host: '127.0.0.1', port: 0 });
  http = `127.0.0.1:${a.port}`;
});

afterEach(async () => {
  await server.close();
  vi.unstubAllEnvs();
});

describe('hearsay members', () => {
  it('prints a table of name, address, status, incarnation and tags, alive first', async () => {
    const io = capture();
    expect(await main(['members', '--http', http], io)).toBe(0);
    expect(io.out()).toBe(
      [
        'NAME   ADDRESS         STATUS   INCARNATION  TAGS',
        'api-1  10.0.0.3:7946   alive    1            -',
        'web-1  127.0.0.1:7946  alive    2            dc=eu,role=web',
        'db-1   [::1]:7950      suspect  5            -',
        '',
        '3 members: 2 alive, 1 suspect',
        '',
      ].join('\n'),
    );
    expect(io.err()).toBe('');
  });

  it('prints the API JSON array with --json', async () => {
    const io = capture();
    expect(await main(['members', '--json', '--http', http], io)).toBe(0);
    expect(JSON.parse(io.out())).toEqual(agent.members());
  });

  it('says no agent answers, and how to start one, when nothing listens (exit 1)', async () => {
    const port = await closedPort();
    const io = capture();
    expect(await main(['members', '--http', `127.0.0.1:${port}`], io)).toBe(1);
    expect(io.err()).toBe(`hearsay members: no hearsay agent answers at 127.0.0.1:${port}: start one with \`hearsay agent\` or pass --http\n`);
    expect(io.out()).toBe('');
  });

  it('finds the agent through HEARSAY_HTTP_ADDR when --http is not given', async () => {
    vi.stubEnv('HEARSAY_HTTP_ADDR', `http://${http}/`); // Consul's form works too
    const io = capture();
    expect(await main(['members', '--json'], io)).toBe(0);
    expect(JSON.parse(io.out())).toHaveLength(3);
  });

  it('filters by --status and by --tag KEY=REGEX, as Serf does, and --detailed shows since when', async () => {
    agent.views = [
      view('web-1', 'alive', { tags: { role: 'web', dc: 'eu-1' } }),
      view('web-2', 'suspect', { tags: { role: 'web', dc: 'us-1' } }),
      view('db-1', 'alive', { tags: { role: 'db', dc: 'eu-1' } }),
      view('old', 'dead', { tags: { role: 'web' } }),
    ];
    const names = async (...args: string[]): Promise<string[]> => {
      const io = capture();
      expect(await main(['members', '--json', '--http', http, ...args], io), io.err()).toBe(0);
      return (JSON.parse(io.out()) as { name: string }[]).map((m) => m.name).sort();
    };
    expect(await names('--tag', 'role=web')).toEqual(['web-1', 'web-2']);
    expect(await names('--tag', 'role=web', '--tag', 'dc=eu-.*')).toEqual(['web-1']);
    expect(await names('--status', 'alive')).toEqual(['db-1', 'web-1']);
    expect(await names('--detailed', '--status', 'dead,suspect')).toEqual(['old', 'web-2']);
    const detailed = capture();
    expect(await main(['members', '--detailed', '--http', `http://${http}`], detailed)).toBe(0);
    expect(detailed.out()).toMatch(/^NAME +ADDRESS +STATUS +SINCE +INCARNATION +TAGS\n/);
    expect(detailed.out()).toMatch(/^old +127\.0\.0\.1:7946 +dead +\d{4}-\d\d-\d\dT/m);
    const bad = capture();
    expect(await main(['members', '--status', 'zombie', '--http', http], bad)).toBe(2);
    expect(bad.err()).toContain('--status "zombie": zombie is not a status');
  });

  it('escapes control characters in names a peer chose, so they cannot drive the terminal', () => {
    const text = formatMembersTable([{ name: 'evil\u001b[2J\u0007', addr: '127.0.0.1', port: 1, status: 'alive', incarnation: 1, tags: { k: 'v\nfake line' } }]);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(text).toContain('evil\\x1b[2J\\x07');
    expect(text).toContain('k=v\\x0afake line');
  });

  it('refuses an https:// API address, saying the API is plain HTTP', async () => {
    const io = capture();
    expect(await main(['members', '--http', 'https://127.0.0.1:7947'], io)).toBe(2);
    expect(io.err()).toContain('is https: the agent serves plain HTTP');
  });

  it('shows an empty table with a count', () => {
    expect(formatMembersTable([])).toBe('NAME  ADDRESS  STATUS  INCARNATION  TAGS\n\n0 members\n');
  });
});

describe('the --http address', () => {
  it('comes from the flag, then HEARSAY_HTTP_ADDR, then HEARSAY_HTTP, then 127.0.0.1:7947', () => {
    expect(resolveHttpAddress('[::1]:9', { HEARSAY_HTTP_ADDR: '127.0.0.1:1' })).toEqual({ host: '::1', port: 9 });
    expect(resolveHttpAddress(undefined, { HEARSAY_HTTP_ADDR: '127.0.0.1:1', HEARSAY_HTTP: '127.0.0.1:2' })).toEqual({ host: '127.0.0.1', port: 1 });
    expect(resolveHttpAddress(undefined, { HEARSAY_HTTP: '127.0.0.1:2' })).toEqual({ host: '127.0.0.1', port: 2 });
    expect(resolveHttpAddress(undefined, { HEARSAY_HTTP_ADDR: '' })).toEqual({ host: '127.0.0.1', port: 7947 });
    expect(resolveHttpAddress('localhost', {})).toEqual({ host: 'localhost', port: 7947 });
  });

  it('is a usage error (exit 2) when malformed', async () => {
    expect(() => resolveHttpAddress(undefined, { HEARSAY_HTTP_ADDR: 'x:y' })).toThrow(UsageError);
    const io = capture();
    expect(await main(['members', '--http', 'x:y'], io)).toBe(2);
    expect(io.err()).toContain('hearsay members: --http has port "y", which is not a number in 0-65535');
  });
});

describe('hearsay join', () => {
  it('asks the agent to join through every address and reports how many answered', async () => {
    const io = capture();
    expect(await main(['join', '--http', http, '10.0.0.2:7946', '[fd00::1]', 'seed.example:8000', 'dns+srv:_hearsay._udp.example'], io)).toBe(0);
    expect(io.out()).toBe('joined through 4 of 4 seeds\n');
    expect(agent.joinCalls).toEqual([['10.0.0.2:7946', '[fd00::1]:7946', 'seed.example:8000', 'dns+srv:_hearsay._udp.example']]);
  });

  it("prints the agent's join error with its code and exits 1 when no seed answers", async () => {
    agent.joinImpl = failingJoin;
    const io = capture();
    expect(await join.run({ http, json: false }, io, ['10.0.0.2:7946'])).toBe(1);
    expect(io.err()).toMatch(/^hearsay join: join: the seed did not answer:\n {2}- 10\.0\.0\.2:7946: connection refused \(ECONNREFUSED\) after 3 attempts\n/);
    expect(io.err()).toMatch(/\(HEARSAY_ERR_JOIN_FAILED\)\n$/);
  });

  it('says no agent answers when nothing listens (exit 1)', async () => {
    const port = await closedPort();
    const io = capture();
    expect(await join.run({ http: `127.0.0.1:${port}`, json: false }, io, ['10.0.0.2:7946'])).toBe(1);
    expect(io.err()).toContain(`no hearsay agent answers at 127.0.0.1:${port}: start one with \`hearsay agent\` or pass --http`);
  });
});

describe('hearsay leave', () => {
  it('makes the agent leave and says so once it has', async () => {
    const io = capture();
    expect(await leave.run({ http, json: false }, io, [])).toBe(0);
    expect(io.out()).toBe('web-1 left the cluster\n');
    expect(agent.leaveCalls).toHaveLength(1);
    expect(onLeave).toHaveBeenCalledTimes(1);
  });

  it('reports a failed leave with its code (exit 1)', async () => {
    agent.leaveImpl = () => Promise.reject(new Error('socket gone'));
    const io = capture();
    expect(await leave.run({ http, json: false }, io, [])).toBe(1);
    expect(io.err()).toBe('hearsay leave: leave failed: socket gone (HEARSAY_ERR_LEAVE_FAILED)\n');
  });
});

describe('the hearsay executable', () => {
  it('exits 1 with the "no agent" message when run as a process against a closed port', async () => {
    const port = await closedPort();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'members', '--http', `127.0.0.1:${port}`], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`hearsay members: no hearsay agent answers at 127.0.0.1:${port}: start one with \`hearsay agent\` or pass --http\n`);
  });
});
