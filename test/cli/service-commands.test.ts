/**
 * `hearsay register`, `deregister`, `services`, `lookup` and `watch` against the HTTP API serving
 * a FakeAgent with the real service runtime.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { runWatch } from '../../src/cli/commands/watch.js';
import { main } from '../../src/cli/main.js';
import { FakeAgent } from '../api/fake-agent.js';
import { capture } from './support.js';

let agent: FakeAgent;
let server: HttpServer;
let http: string;

beforeEach(async () => {
  agent = new FakeAgent('web-1');
  server = createHttpServer(agent, {});
  const a = await server.listen({ host: '127.0.0.1', port: 0 });
  http = `127.0.0.1:${a.port}`;
});

afterEach(async () => {
  await server.close();
  await agent.close();
});

describe('hearsay register / deregister', () => {
  it('registers from flags with tags, meta and a check, and prints the id', async () => {
    const io = capture();
    const code = await main(
      ['register', '--name', 'billing', '--port', '8080', '--id', 'billing-1', '--tag', 'v2', '--tag', 'primary', '--meta', 'version=1.2', '--check-ttl', '30s', '--http', http],
      io,
    );
    expect(io.err()).toBe('');
    expect(code).toBe(0);
    expect(io.out()).toBe('registered billing instance billing-1 (critical)\n');
    const s = agent.runtime.local.service('billing-1');
    expect(s?.record).toMatchObject({ name: 'billing', port: 8080, tags: ['v2', 'primary'], meta: { version: '1.2' } });
    expect(s?.checks[0]).toMatchObject({ kind: 'ttl', ttlMs: 30_000, id: 'service:billing-1' });

    const io2 = capture();
    expect(await main(['deregister', 'billing-1', '--http', http], io2)).toBe(0);
    expect(io2.out()).toBe('deregistered billing-1\n');
    const io3 = capture();
    expect(await main(['deregister', 'billing-1', '--http', http], io3)).toBe(1);
    expect(io3.err()).toContain('no service instance with id "billing-1"');
  });

  it('registers from a JSON file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-reg-'));
    const file = join(dir, 'svc.json');
    writeFileSync(file, JSON.stringify({ id: 'f1', name: 'files', port: 9000, checks: [{ tcp: '127.0.0.1:1', interval: '1m' }] }));
    const io = capture();
    expect(await main(['register', '--file', file, '--json', '--http', http], io)).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ id: 'f1', name: 'files', port: 9000, node: 'web-1' });
  });

  it('says what is wrong with a bad registration', async () => {
    const io = capture();
    expect(await main(['register', '--port', '80', '--http', http], io)).toBe(2);
    expect(io.err()).toContain('give --name and --port');
    const io2 = capture();
    expect(await main(['register', '--name', 'Bad_Name', '--port', '80', '--http', http], io2)).toBe(1);
    expect(io2.err()).toMatch(/not a DNS label.*HEARSAY_ERR_INVALID_SERVICE/s);
    const io3 = capture();
    expect(await main(['register', '--name', 'x', '--port', '80', '--meta', 'novalue', '--http', http], io3)).toBe(2);
    expect(io3.err()).toContain('--meta "novalue" must be KEY=VALUE');
    const io4 = capture();
    expect(await main(['register', '--name', 'x', '--port', '80', '--check-ttl', '1s', '--check-tcp', 'h:1', '--http', http], io4)).toBe(2);
    const io6 = capture();
    expect(await main(['register', '--name', 'x', '--port', '80', '--interval', '5s', '--http', http], io6)).toBe(2);
    expect(io6.err()).toContain('belong to a check');
    const io5 = capture();
    expect(await main(['deregister', 'a', 'b', '--http', http], io5)).toBe(2);
    expect(io5.err()).toContain("takes one ID argument");
  });
});

describe('hearsay services / lookup', () => {
  it('lists services and looks up instances as a table or JSON, with tag filters', async () => {
    agent.register({ id: 'b1', name: 'billing', port: 8080, tags: ['v2'] });
    agent.register({ id: 'b2', name: 'billing', port: 8081 });
    agent.register({ id: 's1', name: 'search', port: 9200, checks: [{ ttl: '1m' }] });
    const io = capture();
    expect(await main(['services', '--http', http], io)).toBe(0);
    expect(io.out()).toBe(['NAME     INSTANCES  PASSING', 'billing  2          2', 'search   1          0', '', '2 services', ''].join('\n'));

    const io2 = capture();
    expect(await main(['lookup', 'billing', '--http', http], io2)).toBe(0);
    expect(io2.out()).toBe(
      ['ID  NODE   ADDRESS         STATUS   TAGS', 'b1  web-1  127.0.0.1:8080  passing  v2', 'b2  web-1  127.0.0.1:8081  passing  -', '', '2 instances', ''].join('\n'),
    );
    const io3 = capture();
    expect(await main(['lookup', 'billing', '--tag', 'v2', '--json', '--http', http], io3)).toBe(0);
    expect((JSON.parse(io3.out()) as { id: string }[]).map((i) => i.id)).toEqual(['b1']);
    const io4 = capture();
    expect(await main(['lookup', 'search', '--status', 'critical', '--json', '--http', http], io4)).toBe(0);
    expect(JSON.parse(io4.out())).toHaveLength(1);
    const io5 = capture();
    expect(await main(['services', '--local', '--http', http], io5)).toBe(0);
    expect((JSON.parse(io5.out()) as unknown[]).length).toBe(3);
  });
});

describe('callAgent', () => {
  it('a blocking query outlives the connect timeout (a fresh connection per call, not a reused keep-alive socket)', async () => {
    const { callAgent, resolveHttpAddress } = await import('../../src/cli/http-client.js');
    const address = resolveHttpAddress(http);
    expect(await callAgent(address, 'GET', '/v1/services/nothing', { connectTimeoutMs: 100 })).toEqual([]);
    expect(await callAgent(address, 'GET', '/v1/services/nothing?index=1&wait=400ms', { connectTimeoutMs: 100 })).toEqual([]);
  });
});

describe('hearsay watch', () => {
  it('prints the snapshot, then additions, changes and removals, until stopped', async () => {
    agent.register({ id: 'a1', name: 'api', port: 1 });
    const io = capture();
    const ac = new AbortController();
    const done = runWatch({ tag: [], status: 'any', json: false, http }, io, 'api', { signal: ac.signal });
    const waitFor = async (text: string): Promise<void> => {
      for (let i = 0; i < 200 && !io.out().includes(text); i++) await new Promise((r) => setTimeout(r, 10));
      expect(io.out()).toContain(text);
    };
    await waitFor('api: 1 instance');
    agent.register({ id: 'a2', name: 'api', port: 2 });
    await waitFor('+ a2 web-1 127.0.0.1:2 passing');
    agent.setMaintenance(true, { serviceId: 'a1' });
    await waitFor('~ a1 web-1 127.0.0.1:1 maintenance');
    agent.deregister('a2');
    await waitFor('- a2 web-1 127.0.0.1:2 passing');
    ac.abort();
    // The pending blocking query is aborted at once (the server stays up).
    expect(await done).toBe(0);
    const [head, first] = io.out().split('\n');
    expect(head).toMatch(/^api: 1 instance \(index \d+\)$/);
    expect(first).toBe('+ a1 web-1 127.0.0.1:1 passing');
  });
});
