/**
 * The service routes of the HTTP API, against a FakeAgent that carries the real ServiceRuntime
 * (registry, index, pickers, watches): registration and its validation, lookups with filters,
 * blocking queries, TTL updates, maintenance, service events on /v1/events.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { feedRemote } from '../registry/support.js';
import type { LocalInstanceRecord } from '../../src/registry/types.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent, view } from './fake-agent.js';
import { call, json } from './http-support.js';

let agent: FakeAgent;
let server: HttpServer;
let addr: Address;

const put = (body: unknown) => ({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

function remote(node: string, records: Partial<LocalInstanceRecord>[], status: 'alive' | 'suspect' = 'alive'): void {
  const full = records.map((r, i) => ({ id: `${node}-${i}`, name: 'billing', address: '', port: 8000 + i, tags: [], meta: {}, status: 'passing' as const, ...r }));
  const v = view(node, status, { host: `10.0.0.${node.length}` });
  feedRemote(agent.runtime, { type: 'member-join', member: v }, full);
}

beforeEach(async () => {
  agent = new FakeAgent('node-a');
  server = createHttpServer(agent, { profile: 'local' });
  addr = await server.listen({ host: '127.0.0.1', port: 0 });
});

afterEach(async () => {
  await server.close();
  await agent.close();
});

describe('PUT /v1/services', () => {
  it('registers and answers the instance with its id; checks default to service:<id>', async () => {
    const res = await call(addr, '/v1/services', put({ name: 'billing', port: 8080, tags: ['v2'], meta: { version: '1' }, checks: [{ ttl: '30s' }] }));
    expect(res.status).toBe(200);
    const inst = res.json() as Record<string, unknown>;
    expect(inst).toMatchObject({ name: 'billing', node: 'node-a', address: '127.0.0.1', port: 8080, tags: ['v2'], meta: { version: '1' }, status: 'critical' });
    expect(typeof inst.id).toBe('string');
    const checks = (await call(addr, '/v1/checks')).json() as { id: string }[];
    expect(checks.map((c) => c.id)).toEqual([`service:${String(inst.id)}`]);
    const local = (await call(addr, '/v1/registrations')).json() as { id: string; checks: unknown[] }[];
    expect(local).toHaveLength(1);
    expect(local[0]?.checks).toHaveLength(1);
  });

  it('takes durations as strings or milliseconds', async () => {
    const res = await call(addr, '/v1/services', put({ id: 'w1', name: 'worker', port: 1, checks: [{ http: 'http://127.0.0.1:1/h', interval: 60000, timeout: '2s' }] }));
    expect(res.status).toBe(200);
    const spec = agent.runtime.local.service('w1')?.checks[0];
    expect(spec).toMatchObject({ intervalMs: 60_000, timeoutMs: 2000, kind: 'http' });
  });

  it('refuses bad bodies with a 400 listing every problem', async () => {
    const bad = await call(addr, '/v1/services', put({ name: 'Not A Label', port: 70000, tags: 'x', color: 'red', checks: [{ ttl: '1s', http: 'http://x' }] }));
    expect(bad.status).toBe(400);
    const body = bad.json() as { error: string; code: string };
    expect(body.code).toBe('HEARSAY_ERR_INVALID_SERVICE');
    for (const frag of ['unknown field "color"', 'DNS label', 'port 70000', 'tags must be an array', 'exactly one of ttl, http, tcp or command']) {
      expect(body.error).toContain(frag);
    }
    expect((await call(addr, '/v1/services', put([1, 2]))).status).toBe(400);
    expect((await call(addr, '/v1/services', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"name":' })).json()).toMatchObject({ code: 'HEARSAY_ERR_BAD_JSON' });
    expect((await call(addr, '/v1/services', put({ name: 'x', port: 1, checks: [{ ttl: 'soon' }] }))).json()).toMatchObject({
      error: expect.stringContaining('ttl "soon" must be a duration'),
    });
  });

  it('refuses a registration over a registry limit, naming the limit (no longer one datagram)', async () => {
    const meta: Record<string, string> = {};
    for (let i = 0; i < 10; i++) meta[`k${i}`] = 'x'.repeat(500);
    const res = await call(addr, '/v1/services', put({ name: 'big', port: 1, meta }));
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ code: 'HEARSAY_ERR_SERVICE_LIMIT', error: expect.stringMatching(/takes \d+ bytes: \d+ is over the limit maxInstanceBytes = 4096; trim its tags and meta/) });
    // What used to be over the one-datagram wall (about 1,400 bytes) now registers.
    const mid = await call(addr, '/v1/services', put({ name: 'mid', port: 1, meta: { a: 'x'.repeat(500), b: 'x'.repeat(500), c: 'x'.repeat(500) } }));
    expect(mid.status).toBe(200);
  });
});

describe('GET /v1/services and /v1/services/:name', () => {
  it('lists names with counts and looks up instances with tag and status filters', async () => {
    remote('n-b', [{ tags: ['v1'] }, { tags: ['v2'], status: 'critical' }]);
    remote('n-cc', [{ tags: ['v2'] }, { name: 'search' }]);
    expect((await call(addr, '/v1/services')).json()).toEqual([
      { name: 'billing', instances: 3, passing: 2 },
      { name: 'search', instances: 1, passing: 1 },
    ]);
    const res = await call(addr, '/v1/services/billing');
    expect(res.status).toBe(200);
    expect(Number(res.headers['x-hearsay-index'])).toBeGreaterThan(1);
    const list = res.json() as { id: string; address: string; node: string }[];
    expect(list.map((i) => i.id)).toEqual(['n-b-0', 'n-cc-0']);
    expect(Object.keys(list[0]!).sort()).toEqual(['address', 'id', 'meta', 'name', 'node', 'port', 'status', 'tags']);
    expect(list[0]?.address).toBe('10.0.0.3');
    expect(((await call(addr, '/v1/services/billing?tag=v2')).json() as { id: string }[]).map((i) => i.id)).toEqual(['n-cc-0']);
    expect(((await call(addr, '/v1/services/billing?tag=v2&status=any')).json() as { id: string }[]).map((i) => i.id)).toEqual(['n-b-1', 'n-cc-0']);
    expect(((await call(addr, '/v1/services/billing?status=critical,warning')).json() as { id: string }[]).map((i) => i.id)).toEqual(['n-b-1']);
    expect((await call(addr, '/v1/services/billing?status=sick')).status).toBe(400);
    const unknown = await call(addr, '/v1/services/nothing');
    expect(unknown.json()).toEqual([]);
    expect(unknown.headers['x-hearsay-index']).toBe('1');
  });

  it('orders instances on suspect nodes last', async () => {
    remote('a-suspect', [{}], 'suspect');
    remote('z-alive', [{}]);
    const list = (await call(addr, '/v1/services/billing')).json() as { node: string }[];
    expect(list.map((i) => i.node)).toEqual(['z-alive', 'a-suspect']);
  });

  it('a blocking query answers when the index changes', async () => {
    remote('n-b', [{}]);
    const first = await call(addr, '/v1/services/billing');
    const index = first.headers['x-hearsay-index'] as string;
    const pending = call(addr, `/v1/services/billing?index=${index}&wait=30s`);
    await new Promise((r) => setTimeout(r, 50));
    remote('n-cc', [{}]);
    const second = await pending;
    expect(second.status).toBe(200);
    expect(Number(second.headers['x-hearsay-index'])).toBeGreaterThan(Number(index));
    expect(second.json()).toHaveLength(2);
  });

  it('a blocking query answers at the end of wait with the same index, and at once for a stale index', async () => {
    remote('n-b', [{}]);
    const index = (await call(addr, '/v1/services/billing')).headers['x-hearsay-index'] as string;
    const timedOut = await call(addr, `/v1/services/billing?index=${index}&wait=100ms`);
    expect(timedOut.headers['x-hearsay-index']).toBe(index);
    const stale = await call(addr, `/v1/services/billing?index=1&wait=10m`);
    expect(stale.headers['x-hearsay-index']).toBe(index);
    const bad = await call(addr, '/v1/services/billing?index=abc');
    expect(bad.status).toBe(400);
    expect(bad.headers['x-hearsay-index']).toBe(index);
    expect((await call(addr, `/v1/services/billing?index=${index}&wait=11m`)).status).toBe(400);
  });

  it('GET /v1/pick/:name picks passing instances round-robin, 404 when none', async () => {
    remote('n-b', [{}, {}, { status: 'critical' }]);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(((await call(addr, '/v1/pick/billing')).json() as { id: string }).id);
    expect(ids).toEqual(['n-b-0', 'n-b-1', 'n-b-0', 'n-b-1']);
    expect((await call(addr, '/v1/pick/billing?strategy=random')).status).toBe(200);
    expect((await call(addr, '/v1/pick/billing?strategy=best')).status).toBe(400);
    expect((await call(addr, '/v1/pick/none')).json()).toMatchObject({ code: 'HEARSAY_ERR_NO_INSTANCE' });
  });
});

describe('deregistration, TTL checks, maintenance', () => {
  it('DELETE /v1/services/:id deregisters; unknown ids are 404', async () => {
    await call(addr, '/v1/services', put({ id: 'b1', name: 'billing', port: 1 }));
    expect(((await call(addr, '/v1/services/billing')).json() as unknown[]).length).toBe(1);
    expect((await call(addr, '/v1/services/b1', { method: 'DELETE' })).json()).toEqual({ deregistered: true, id: 'b1' });
    expect((await call(addr, '/v1/services/billing')).json()).toEqual([]);
    expect((await call(addr, '/v1/services/b1', { method: 'DELETE' })).status).toBe(404);
    expect((await call(addr, '/v1/services/b1', { method: 'POST' })).status).toBe(405);
  });

  it('PUT /v1/checks/:id/pass|warn|fail drives a TTL check', async () => {
    await call(addr, '/v1/services', put({ id: 'w1', name: 'worker', port: 1, checks: [{ id: 'w1-ttl', ttl: '1m' }] }));
    expect((await call(addr, '/v1/services/worker')).json()).toEqual([]);
    const pass = await call(addr, '/v1/checks/w1-ttl/pass?note=ready', { method: 'PUT' });
    expect(pass.json()).toMatchObject({ id: 'w1-ttl', status: 'passing', output: 'ready' });
    expect(((await call(addr, '/v1/services/worker')).json() as unknown[]).length).toBe(1);
    await call(addr, '/v1/checks/w1-ttl/warn', put({ note: 'slow' }));
    expect((await call(addr, '/v1/services/worker?status=warning')).json()).toHaveLength(1);
    await call(addr, '/v1/checks/w1-ttl/fail', { method: 'PUT' });
    expect((await call(addr, '/v1/services/worker?status=critical')).json()).toHaveLength(1);
    expect((await call(addr, '/v1/checks/nope/pass', { method: 'PUT' })).json()).toMatchObject({ code: 'HEARSAY_ERR_UNKNOWN_CHECK' });
    expect((await call(addr, '/v1/checks/w1-ttl/explode', { method: 'PUT' })).status).toBe(404);
  });

  it('PUT /v1/maintenance toggles a service or the node', async () => {
    await call(addr, '/v1/services', put({ id: 'm1', name: 'maint', port: 1 }));
    await call(addr, '/v1/services', put({ id: 'm2', name: 'maint', port: 2 }));
    expect((await call(addr, '/v1/maintenance?enable=true&service=m1&reason=upgrade', { method: 'PUT' })).status).toBe(200);
    expect(((await call(addr, '/v1/services/maint')).json() as { id: string }[]).map((i) => i.id)).toEqual(['m2']);
    expect((await call(addr, '/v1/maintenance', put({ enable: true }))).json()).toEqual({ maintenance: true, node: 'node-a' });
    expect((await call(addr, '/v1/services/maint')).json()).toEqual([]);
    expect((await call(addr, '/v1/services/maint?status=maintenance')).json()).toHaveLength(2);
    await call(addr, '/v1/maintenance?enable=false', { method: 'PUT' });
    await call(addr, '/v1/maintenance', put({ enable: false, serviceId: 'm1' }));
    expect((await call(addr, '/v1/services/maint')).json()).toHaveLength(2);
    expect((await call(addr, '/v1/maintenance', { method: 'PUT' })).status).toBe(400);
    expect((await call(addr, '/v1/maintenance?enable=true&service=zzz', { method: 'PUT' })).status).toBe(404);
  });
});

describe('service events on /v1/events', () => {
  it('streams service-change events', async () => {
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      import('node:http').then(({ get }) => {
        const req = get({ host: addr.host, port: addr.port, path: '/v1/events' }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            events.push(chunk);
            if (events.join('').includes('event: service-change')) {
              req.destroy();
              resolve();
            }
          });
          // Once the stream is open, make a change.
          setTimeout(() => remote('n-b', [{}]), 20);
        });
        req.on('error', () => {});
      }, reject);
    });
    await done;
    const text = events.join('');
    expect(text).toContain('event: service-change');
    expect(text).toMatch(/"name":"billing"/);
  });
});

describe('command checks through the API', () => {
  const withCommand = { name: 'cmd', port: 1, checks: [{ command: ['/bin/true'], interval: '10s' }] };

  it("are refused by default (they would run as the agent's user), saying how to allow them", async () => {
    const res = await call(addr, '/v1/services', { ...json(withCommand), method: 'PUT' });
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ code: 'HEARSAY_ERR_COMMAND_CHECKS_DISABLED', error: expect.stringContaining('--enable-script-checks') });
    expect(agent.localServices()).toEqual([]);
    // Consul's single-check field is looked at too.
    const consul = await call(addr, '/v1/services', { ...json({ name: 'cmd', port: 1, check: { command: 'true' } }), method: 'PUT' });
    expect(consul.status).toBe(403);
  });

  it('are accepted when the operator enables them; other checks never need it', async () => {
    const plain = await call(addr, '/v1/services', { ...json({ name: 'web', port: 2, checks: [{ ttl: '10s' }] }), method: 'PUT' });
    expect(plain.status).toBe(200);
    await server.close();
    server = createHttpServer(agent, { allowCommandChecks: true });
    addr = await server.listen({ host: '127.0.0.1', port: 0 });
    const res = await call(addr, '/v1/services', { ...json(withCommand), method: 'PUT' });
    expect(res.status).toBe(200);
    expect(agent.checks().some((c) => c.kind === 'command')).toBe(true);
  });
});
