/**
 * The Consul-compatible HTTP API against a FakeAgent carrying the real service runtime (registry,
 * index, checks): each endpoint's JSON shape and headers, its parameters, blocking queries, the
 * writes, and what is refused. The real Consul clients are in test/integration/consul-clients.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { blockingWaitMs, CONSUL_MAX_WAIT_MS } from '../../src/api/routes/consul-query.js';
import { nodeId } from '../../src/api/routes/consul-shapes.js';
import { feedRemote } from '../registry/support.js';
import { checksKey, encodeChecksEntry } from '../../src/registry/check-entries.js';
import type { LocalInstanceRecord } from '../../src/registry/types.js';
import type { MemberStatus } from '../../src/wire/messages.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent, view } from './fake-agent.js';
import { call, type RawResponse } from './http-support.js';

let agent: FakeAgent;
let server: HttpServer;
let addr: Address;
const onLeave = vi.fn();

const put = (body?: unknown): Parameters<typeof call>[2] =>
  body === undefined ? { method: 'PUT' } : { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };

/** A remote node with instances of `web` (ids NODE-0, NODE-1, ...), announced as the real agent does: a member event. */
function remote(node: string, host: string, records: Partial<LocalInstanceRecord>[], status: MemberStatus = 'alive', tags: Record<string, string> = {}): void {
  const full = records.map((r, i) => ({ id: `${node}-${i}`, name: 'web', address: '', port: 8000 + i, tags: [], meta: {}, status: 'passing' as const, ...r }));
  const v = view(node, status, { host, tags });
  agent.views = [...agent.views.filter((x) => x.name !== node), v];
  const event = { type: status === 'suspect' ? ('member-suspect' as const) : ('member-join' as const), member: v, from: 'x' };
  feedRemote(agent.runtime, event, full);
  agent.emit(event);
}

function indexOf(res: RawResponse): number {
  return Number(res.headers['x-consul-index']);
}

beforeEach(async () => {
  agent = new FakeAgent('node-a', [view('node-a', 'alive', { incarnation: 3, tags: { rack: 'r1' } })]);
  onLeave.mockReset();
  server = createHttpServer(agent, { profile: 'local', onLeave, datacenter: 'dc1' });
  addr = await server.listen({ host: '127.0.0.1', port: 0 });
});

afterEach(async () => {
  await server.close();
  await agent.close();
});

describe('Consul agent endpoints', () => {
  it('registers a Consul service definition as Go sends it (nulls, capitalized fields) and lists it as Consul does', async () => {
    const reg = await call(
      addr,
      '/v1/agent/service/register',
      put({ Name: 'web', ID: 'web-1', Tags: ['v1'], Port: 8080, Meta: { version: '1' }, Weights: null, Check: { TTL: '30s', Name: 'my ttl', Notes: 'n' }, Checks: null, EnableTagOverride: false }),
    );
    expect(reg.status).toBe(200);
    expect(reg.text).toBe('');
    expect(indexOf(reg)).toBeGreaterThan(0);
    const services = await call(addr, '/v1/agent/services');
    expect(services.json()).toEqual({
      'web-1': { ID: 'web-1', Service: 'web', Tags: ['v1'], Meta: { version: '1' }, Port: 8080, Address: '127.0.0.1', Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Datacenter: 'dc1' },
    });
    const checks = (await call(addr, '/v1/agent/checks')).json() as Record<string, Record<string, unknown>>;
    expect(Object.keys(checks)).toEqual(['service:web-1']);
    expect(checks['service:web-1']).toMatchObject({ Node: 'node-a', CheckID: 'service:web-1', Status: 'critical', ServiceID: 'web-1', ServiceName: 'web', ServiceTags: ['v1'], Type: 'ttl' });
    expect(await call(addr, '/v1/agent/check/pass/service:web-1?note=ok', put())).toMatchObject({ status: 200, text: '' });
    expect(((await call(addr, '/v1/agent/checks')).json() as Record<string, { Status: string; Output: string }>)['service:web-1']).toMatchObject({ Status: 'passing', Output: 'ok' });
    expect((await call(addr, '/v1/agent/check/update/service:web-1', put({ Status: 'warning', Output: 'slow' }))).status).toBe(200);
    expect(agent.checks()[0]).toMatchObject({ id: 'service:web-1', status: 'warning', output: 'slow' });
    const one = (await call(addr, '/v1/agent/service/web-1')).json() as Record<string, unknown>;
    expect(one).toMatchObject({ ID: 'web-1', Service: 'web', Port: 8080 });
    expect(one.ContentHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('gives checks Consul\'s default ids, takes snake_case and Go durations, and defaults the ID to the Name', async () => {
    const res = await call(
      addr,
      '/v1/agent/service/register',
      put({
        name: 'api',
        port: 9000,
        address: '',
        check: { http: 'http://127.0.0.1:9/health', interval: '1m30s', timeout: '2s', deregister_critical_service_after: '10m' },
        Checks: [{ TCP: '127.0.0.1:9', Interval: '10s' }, { TTL: '5s', Interval: '1s' }],
      }),
    );
    expect(res.status, res.text).toBe(200);
    const spec = agent.runtime.local.service('api')?.checks;
    expect(spec?.map((c) => [c.id, c.kind, c.intervalMs])).toEqual([
      ['service:api:1', 'http', 90_000],
      ['service:api:2', 'tcp', 10_000],
      ['service:api:3', 'ttl', 0],
    ]);
    expect(spec?.[0]?.deregisterCriticalAfterMs).toBe(600_000);
    expect(agent.localServices()[0]?.record).toMatchObject({ id: 'api', address: '' });
  });

  it('refuses what it cannot register as asked, naming the field', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ Name: 'web', Port: 1, Connect: { SidecarService: {} } }, 400, /Connect.*not supported/],
      [{ Name: 'web', Port: 1, Check: { GRPC: '127.0.0.1:1', Interval: '1s' } }, 400, /gRPC checks are not supported/],
      [{ Name: 'web', Port: 1, Check: { HTTP: 'http://x/', Interval: '1s', Header: { A: ['b'] } } }, 400, /headers are not supported/],
      [{ Name: 'web', Port: 1, Check: { HTTP: 'http://x/' } }, 400, /needs an Interval/],
      [{ Name: 'web', Port: 1, Bogus: 1 }, 400, /unknown field "Bogus"/],
      [{ Port: 1 }, 400, /Name is missing/],
      [{ Name: 'web' }, 400, /Port is missing/],
      [{ Name: 'Web', Port: 1 }, 400, /not a DNS label/],
      [{ Name: 'web', Port: 1, Kind: 'connect-proxy' }, 400, /only typical services/],
      [{ Name: 'web', Port: 1, Check: { Args: ['/bin/true'], Interval: '10s' } }, 403, /--enable-script-checks/],
    ];
    for (const [body, status, message] of cases) {
      const res = await call(addr, '/v1/agent/service/register', put(body));
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect((res.json() as { error: string }).error).toMatch(message);
      expect(indexOf(res)).toBeGreaterThan(0);
    }
    expect(agent.localServices()).toEqual([]);
  });

  it('deregisters, and answers 404 with the Consul headers for an unknown id or check', async () => {
    agent.register({ id: 'w1', name: 'web', port: 1, checks: [{ ttl: '10s' }] });
    expect((await call(addr, '/v1/agent/service/deregister/w1', put())).status).toBe(200);
    expect(agent.localServices()).toEqual([]);
    const missing = await call(addr, '/v1/agent/service/deregister/w1', put());
    expect(missing.status).toBe(404);
    expect(missing.headers).toMatchObject({ 'x-consul-knownleader': 'true', 'x-consul-lastcontact': '0' });
    expect(indexOf(missing)).toBeGreaterThan(0);
    expect((await call(addr, '/v1/agent/check/fail/nope', put())).status).toBe(404);
    expect((await call(addr, '/v1/agent/service/nope')).status).toBe(404);
  });

  it('puts an instance and the node in maintenance as Consul\'s maintenance checks', async () => {
    agent.register({ id: 'w1', name: 'web', port: 1 });
    expect((await call(addr, '/v1/agent/service/maintenance/w1', put())).status).toBe(400); // enable is required
    expect((await call(addr, '/v1/agent/service/maintenance/w1?enable=true&reason=deploy', put())).status).toBe(200);
    let checks = (await call(addr, '/v1/agent/checks')).json() as Record<string, { Status: string; Notes: string }>;
    expect(checks['_service_maintenance:w1']).toMatchObject({ Status: 'critical', Notes: 'deploy' });
    expect((await call(addr, '/v1/agent/service/maintenance/w1?enable=false', put())).status).toBe(200);
    expect((await call(addr, '/v1/agent/maintenance?enable=true&reason=kernel', put())).status).toBe(200);
    checks = (await call(addr, '/v1/agent/checks')).json() as Record<string, { Status: string; Notes: string }>;
    expect(Object.keys(checks)).toEqual(['_node_maintenance']);
    expect(checks['_node_maintenance']).toMatchObject({ Status: 'critical', Notes: 'kernel' });
    const health = (await call(addr, '/v1/health/service/web')).json() as { Checks: { CheckID: string }[] }[];
    expect(health[0]?.Checks.map((c) => c.CheckID)).toEqual(['serfHealth', '_node_maintenance']);
    expect((await call(addr, '/v1/health/service/web?passing')).json()).toEqual([]);
  });

  it('describes itself with only objects at the top level (Go decodes map[string]map[string]interface{}) and hearsay\'s own view under Hearsay', async () => {
    const self = (await call(addr, '/v1/agent/self')).json() as Record<string, unknown>;
    for (const [k, v] of Object.entries(self)) expect(typeof v === 'object' && v !== null && !Array.isArray(v), k).toBe(true);
    expect(self.Config).toMatchObject({ Datacenter: 'dc1', NodeName: 'node-a', NodeID: nodeId('node-a'), Server: false });
    expect(self.Member).toMatchObject({ Name: 'node-a', Addr: '127.0.0.1', Port: 7946, Status: 1, Tags: { rack: 'r1', dc: 'dc1' } });
    expect(self.Meta).toEqual({ rack: 'r1' });
    expect(self.Hearsay).toMatchObject({ name: 'node-a', profile: 'local', counters: { packetsIn: 10 } });
    expect(nodeId('node-a')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('lists members with Serf\'s status numbers, and none for ?wan', async () => {
    agent.views.push(view('node-b', 'suspect'), view('node-c', 'dead'), view('node-d', 'left'));
    const members = (await call(addr, '/v1/agent/members')).json() as { Name: string; Status: number }[];
    expect(members.map((m) => [m.Name, m.Status])).toEqual([
      ['node-a', 1],
      ['node-b', 1],
      ['node-c', 4],
      ['node-d', 3],
    ]);
    expect((await call(addr, '/v1/agent/members?wan=1')).json()).toEqual([]);
  });

  it('joins through PUT /v1/agent/join/:address and leaves once through PUT /v1/agent/leave', async () => {
    expect((await call(addr, '/v1/agent/join/127.0.0.1:9000', put())).status).toBe(200);
    expect(agent.joinCalls).toEqual([['127.0.0.1:9000']]);
    expect((await call(addr, '/v1/agent/join/127.0.0.1:9000?wan=1', put())).status).toBe(400);
    expect((await call(addr, '/v1/agent/join/not%20an%20address', put())).status).toBe(400);
    const left = await call(addr, '/v1/agent/leave', put());
    expect(left.status).toBe(200);
    await vi.waitFor(() => expect(onLeave).toHaveBeenCalledTimes(1));
    expect((await call(addr, '/v1/leave', { method: 'POST' })).status).toBe(200);
    expect(agent.leaveCalls).toHaveLength(1);
  });
});

describe('Consul catalog and health endpoints', () => {
  beforeEach(() => {
    agent.register({ id: 'a-web', name: 'web', port: 7000, tags: ['v1', 'local'], checks: [{ ttl: '30s', status: 'passing' }] });
    remote('node-b', '10.0.0.2', [{ tags: ['v1'] }, { tags: ['v2'], status: 'critical' }], 'alive', { rack: 'r2' });
    remote('node-c', '10.0.0.3', [{ tags: ['v1', 'v2'], status: 'warning' }], 'suspect', { rack: 'r1' });
  });

  it('lists service names with the union of their tags', async () => {
    const res = await call(addr, '/v1/catalog/services');
    expect(res.json()).toEqual({ web: ['local', 'v1', 'v2'] });
    expect((await call(addr, '/v1/catalog/services?node-meta=rack:r2')).json()).toEqual({ web: ['v1', 'v2'] });
  });

  it('lists the catalog and the health of a service in the same order, whatever their health (Traefik pairs them by position)', async () => {
    const catalog = (await call(addr, '/v1/catalog/service/web')).json() as Record<string, unknown>[];
    const health = (await call(addr, '/v1/health/service/web')).json() as { Node: { Node: string }; Service: { ID: string } }[];
    expect(catalog.map((c) => c.ServiceID)).toEqual(['a-web', 'node-b-0', 'node-b-1', 'node-c-0']);
    expect(health.map((h) => h.Service.ID)).toEqual(catalog.map((c) => c.ServiceID));
    expect(catalog[1]).toMatchObject({
      ID: nodeId('node-b'),
      Node: 'node-b',
      Address: '10.0.0.2',
      Datacenter: 'dc1',
      NodeMeta: { rack: 'r2' },
      ServiceID: 'node-b-0',
      ServiceName: 'web',
      ServiceTags: ['v1'],
      ServiceAddress: '10.0.0.2',
      ServicePort: 8000,
      ServiceMeta: {},
    });
  });

  it('filters by every ?tag= and by ?node-meta=', async () => {
    const ids = async (path: string): Promise<unknown[]> => ((await call(addr, path)).json() as { ServiceID: string }[]).map((c) => c.ServiceID);
    expect(await ids('/v1/catalog/service/web?tag=v2')).toEqual(['node-b-1', 'node-c-0']);
    expect(await ids('/v1/catalog/service/web?tag=v1&tag=v2')).toEqual(['node-c-0']);
    expect(await ids('/v1/catalog/service/web?node-meta=rack:r1')).toEqual(['a-web', 'node-c-0']);
    expect((await call(addr, '/v1/catalog/service/web?node-meta=rack')).status).toBe(400);
  });

  it('gives each health entry {Node, Service, Checks} with serfHealth from the member status, and ?passing keeps only all-passing entries', async () => {
    const health = (await call(addr, '/v1/health/service/web')).json() as { Node: Record<string, unknown>; Service: Record<string, unknown>; Checks: Record<string, unknown>[] }[];
    const c = health[3];
    expect(c?.Node).toMatchObject({ Node: 'node-c', Address: '10.0.0.3', Meta: { rack: 'r1' }, Datacenter: 'dc1' });
    expect(c?.Service).toMatchObject({ ID: 'node-c-0', Service: 'web', Port: 8000, Address: '10.0.0.3', Tags: ['v1', 'v2'] });
    // A suspect member is alive until it is declared dead, as in Consul; its instance's health is what its node published.
    expect(c?.Checks.map((x) => [x.CheckID, x.Status])).toEqual([
      ['serfHealth', 'passing'],
      ['service:node-c-0', 'warning'],
    ]);
    expect(health[0]?.Checks.map((x) => [x.CheckID, x.Status, x.Type])).toEqual([
      ['serfHealth', 'passing', ''],
      ['service:a-web', 'passing', 'ttl'],
    ]);
    const passing = (await call(addr, '/v1/health/service/web?passing=1')).json() as { Service: { ID: string } }[];
    expect(passing.map((e) => e.Service.ID)).toEqual(['a-web', 'node-b-0']);
    expect(((await call(addr, '/v1/health/service/web?passing=false')).json() as unknown[]).length).toBe(4);
    expect(((await call(addr, '/v1/health/service/web?passing&tag=v2')).json() as unknown[]).length).toBe(0);
  });

  it("shows another node's own checks with their output once it published them, and serves them on GET /v1/checks?node=", async () => {
    const published = encodeChecksEntry([
      { id: 'web-http', serviceId: 'node-b-1', kind: 'http', status: 'critical', output: 'HTTP GET http://10.0.0.2:8001/health: 503 Service Unavailable' },
      { id: 'web-ttl', serviceId: 'node-b-1', kind: 'ttl', status: 'passing', output: 'alive' },
    ]);
    agent.runtime.onMembershipEvent({ type: 'state-update', node: 'node-b', changed: [{ key: checksKey('node-b-1'), value: published, version: 90, deleted: false }] });
    const health = (await call(addr, '/v1/health/service/web')).json() as { Service: { ID: string }; Checks: Record<string, unknown>[] }[];
    const b1 = health.find((h) => h.Service.ID === 'node-b-1');
    expect(b1?.Checks.map((c) => [c.CheckID, c.Status, c.Type, c.Output])).toEqual([
      ['serfHealth', 'passing', '', 'Agent alive and reachable'],
      ['web-http', 'critical', 'http', 'HTTP GET http://10.0.0.2:8001/health: 503 Service Unavailable'],
      ['web-ttl', 'passing', 'ttl', 'alive'],
    ]);
    expect(b1?.Checks[1]).toMatchObject({ Node: 'node-b', ServiceID: 'node-b-1', ServiceName: 'web', ServiceTags: ['v2'] });
    // An instance whose node published no checks keeps the one status its entry carries.
    expect(health.find((h) => h.Service.ID === 'node-b-0')?.Checks.map((c) => c.CheckID)).toEqual(['serfHealth', 'service:node-b-0']);
    expect(((await call(addr, '/v1/health/node/node-b')).json() as { CheckID: string }[]).map((c) => c.CheckID)).toEqual(['serfHealth', 'service:node-b-0', 'web-http', 'web-ttl']);
    expect((await call(addr, '/v1/checks?node=node-b')).json()).toEqual([
      { id: 'web-http', serviceId: 'node-b-1', kind: 'http', status: 'critical', output: 'HTTP GET http://10.0.0.2:8001/health: 503 Service Unavailable' },
      { id: 'web-ttl', serviceId: 'node-b-1', kind: 'ttl', status: 'passing', output: 'alive' },
    ]);
    expect((await call(addr, '/v1/checks?node=nobody')).json()).toEqual([]);
    expect((await call(addr, '/v1/checks?node=node-a')).json()).toEqual(agent.checks());
  });

  it('lists checks by state, by node and by service, and dead nodes as failing serfHealth', async () => {
    agent.views.push(view('node-d', 'dead'), view('node-e', 'left'));
    const critical = (await call(addr, '/v1/health/state/critical')).json() as { Node: string; CheckID: string }[];
    expect(critical.map((c) => `${c.Node}/${c.CheckID}`).sort()).toEqual(['node-b/service:node-b-1', 'node-d/serfHealth']);
    const any = (await call(addr, '/v1/health/state/any')).json() as unknown[];
    expect(any).toHaveLength(4 + 4); // serfHealth of a, b, c, d; one check per instance
    expect((await call(addr, '/v1/health/state/bogus')).status).toBe(400);
    const nodeB = (await call(addr, '/v1/health/node/node-b')).json() as { CheckID: string }[];
    expect(nodeB.map((c) => c.CheckID)).toEqual(['serfHealth', 'service:node-b-0', 'service:node-b-1']);
    expect((await call(addr, '/v1/health/node/nobody')).json()).toEqual([]);
    const byService = (await call(addr, '/v1/health/checks/web')).json() as { ServiceID: string }[];
    expect(byService.map((c) => c.ServiceID)).toEqual(['a-web', 'node-b-0', 'node-b-1', 'node-c-0']);
  });

  it('lists nodes (not left ones), one node with its services, null for an unknown one', async () => {
    agent.views.push(view('node-d', 'dead'), view('node-e', 'left'));
    const nodes = (await call(addr, '/v1/catalog/nodes')).json() as { Node: string; ID: string; TaggedAddresses: Record<string, string> }[];
    expect(nodes.map((n) => n.Node)).toEqual(['node-a', 'node-b', 'node-c', 'node-d']);
    expect(nodes[1]).toMatchObject({ ID: nodeId('node-b'), TaggedAddresses: { lan: '10.0.0.2', lan_ipv4: '10.0.0.2', wan: '10.0.0.2' } });
    expect(((await call(addr, '/v1/catalog/nodes?node-meta=rack:r2')).json() as { Node: string }[]).map((n) => n.Node)).toEqual(['node-b']);
    const b = (await call(addr, '/v1/catalog/node/node-b')).json() as { Node: { Node: string }; Services: Record<string, { Service: string }> };
    expect(b.Node.Node).toBe('node-b');
    expect(Object.keys(b.Services)).toEqual(['node-b-0', 'node-b-1']);
    const unknown = await call(addr, '/v1/catalog/node/nobody');
    expect([unknown.status, unknown.text.trim()]).toEqual([200, 'null']);
    expect((await call(addr, '/v1/catalog/datacenters')).json()).toEqual(['dc1']);
  });

  it('names this agent as the leader and only peer', async () => {
    expect((await call(addr, '/v1/status/leader')).json()).toBe('127.0.0.1:7946');
    expect((await call(addr, '/v1/status/peers')).json()).toEqual(['127.0.0.1:7946']);
  });
});

describe('Consul query parameters and headers', () => {
  it('sends X-Consul-Index (never 0), X-Consul-KnownLeader and X-Consul-LastContact on every read', async () => {
    for (const path of ['/v1/agent/self', '/v1/agent/services', '/v1/agent/checks', '/v1/agent/members', '/v1/catalog/services', '/v1/catalog/service/none', '/v1/catalog/nodes', '/v1/health/service/none', '/v1/health/state/any', '/v1/status/leader', '/v1/prometheus/sd']) {
      const res = await call(addr, path);
      expect(res.status, path).toBe(200);
      expect(res.headers, path).toMatchObject({ 'x-consul-knownleader': 'true', 'x-consul-lastcontact': '0' });
      expect(indexOf(res), path).toBeGreaterThanOrEqual(1);
    }
  });

  it('answers ?dc for its own datacenter, refuses another and filter expressions, and accepts ?stale and ?consistent', async () => {
    expect((await call(addr, '/v1/catalog/services?dc=dc1&stale')).status).toBe(200);
    expect((await call(addr, '/v1/catalog/services?consistent=1')).status).toBe(200);
    const other = await call(addr, '/v1/catalog/services?dc=dc2');
    expect(other.status).toBe(400);
    expect(other.json()).toMatchObject({ code: 'HEARSAY_ERR_UNKNOWN_DATACENTER', error: expect.stringMatching(/no path to datacenter "dc2": this mesh is datacenter "dc1"/) });
    expect(indexOf(other)).toBeGreaterThan(0);
    const filter = await call(addr, '/v1/health/service/web?filter=Service.Port%3D%3D1');
    expect([filter.status, (filter.json() as { error: string }).error]).toEqual([400, expect.stringMatching(/filter expressions are not supported/)]);
    expect((await call(addr, '/v1/catalog/nodes?ns=team')).status).toBe(400);
    expect((await call(addr, '/v1/catalog/services?index=abc')).status).toBe(400);
    expect((await call(addr, '/v1/catalog/services?index=1&wait=soon')).status).toBe(400);
  });

  it('blocks a read until its watched set changes, then answers with a higher index', async () => {
    const first = await call(addr, '/v1/health/service/web');
    const index = indexOf(first);
    const pending = call(addr, `/v1/health/service/web?index=${index}&wait=30s`);
    let answered = false;
    void pending.then(() => (answered = true));
    await vi.waitFor(() => expect(server.address).toBeDefined());
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    agent.register({ id: 'w1', name: 'web', port: 1 });
    const next = await pending;
    expect(indexOf(next)).toBeGreaterThan(index);
    expect((next.json() as { Service: { ID: string } }[]).map((e) => e.Service.ID)).toEqual(['w1']);
    // Another name's change does not wake a watch of this one; its wait ends it with the same index.
    const again = call(addr, `/v1/health/service/web?index=${indexOf(next)}&wait=200ms`);
    agent.register({ id: 'o1', name: 'other', port: 1 });
    expect(indexOf(await again)).toBe(indexOf(next));
  });

  it('answers at once for an index that differs from the current one (an agent restarted: the client starts over)', async () => {
    const res = await call(addr, '/v1/catalog/services?index=999999&wait=10m');
    expect(res.status).toBe(200);
    expect(indexOf(res)).not.toBe(999999);
  });

  it('wakes a watch of the nodes when a member joins or changes its tags, and a watch of checks when a check changes', async () => {
    const nodes = await call(addr, '/v1/catalog/nodes');
    const watching = call(addr, `/v1/catalog/nodes?index=${indexOf(nodes)}&wait=30s`);
    await new Promise((r) => setTimeout(r, 20));
    const b = view('node-b', 'alive');
    agent.views.push(b);
    agent.emit({ type: 'member-join', member: b });
    const after = await watching;
    expect(((after.json() as { Node: string }[]).map((n) => n.Node))).toEqual(['node-a', 'node-b']);
    agent.register({ id: 'w1', name: 'web', port: 1, checks: [{ ttl: '10s' }] });
    const checks = await call(addr, '/v1/agent/checks');
    const watchingChecks = call(addr, `/v1/agent/checks?index=${indexOf(checks)}&wait=30s`);
    await new Promise((r) => setTimeout(r, 20));
    agent.updateCheck('service:w1', 'passing', 'up');
    expect(((await watchingChecks).json() as Record<string, { Status: string }>)['service:w1']?.Status).toBe('passing');
  });

  it("waits at most 10 minutes plus Consul's jitter of up to wait/16", () => {
    expect(blockingWaitMs('30s', () => 0)).toBe(30_000);
    expect(blockingWaitMs('30s', () => 0.999999)).toBe(30_000 + Math.floor(0.999999 * (30_000 / 16)));
    expect(blockingWaitMs('300000ms', () => 0)).toBe(300_000);
    expect(blockingWaitMs(null, () => 0)).toBe(5 * 60_000);
    expect(blockingWaitMs('1h', () => 0)).toBe(CONSUL_MAX_WAIT_MS);
    expect(() => blockingWaitMs('later')).toThrow(/not a duration/);
  });
});

describe('Consul endpoints hearsay does not have, and the token rules', () => {
  it('answers 501 with a JSON body naming the feature, for every method and every path below it', async () => {
    for (const [path, method] of [
      ['/v1/kv/some/key', 'GET'],
      ['/v1/kv/some/key', 'PUT'],
      ['/v1/kv/x', 'DELETE'],
      ['/v1/session/create', 'PUT'],
      ['/v1/acl/token/self', 'GET'],
      ['/v1/connect/ca/roots', 'GET'],
      ['/v1/agent/connect/ca/leaf/web', 'GET'],
      ['/v1/txn', 'PUT'],
    ] as const) {
      const res = await call(addr, path, { method });
      expect(res.status, `${method} ${path}`).toBe(501);
      expect(res.json(), path).toMatchObject({ code: 'HEARSAY_ERR_CONSUL_UNSUPPORTED', unsupported: expect.any(String), error: expect.stringMatching(/docs\/from-consul\.md/) });
    }
    expect((await call(addr, '/v1/kv/k')).json()).toMatchObject({ unsupported: 'the KV store', endpoint: '/v1/kv' });
    const nope = await call(addr, '/v1/nope');
    expect(nope.status).toBe(404);
    expect((nope.json() as { error: string }).error).toMatch(/and Consul's agent, catalog, health and status endpoints \(docs\/from-consul\.md\)$/);
  });

  it('takes the bearer token as Consul clients send it: X-Consul-Token or ?token=', async () => {
    const guarded = createHttpServer(agent, { token: 'sekrit-token-1234' });
    const at = await guarded.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect((await call(at, '/v1/catalog/services')).status).toBe(401);
      expect((await call(at, '/v1/catalog/services', { headers: { 'x-consul-token': 'wrong' } })).status).toBe(401);
      expect((await call(at, '/v1/catalog/services', { headers: { 'x-consul-token': 'sekrit-token-1234' } })).status).toBe(200);
      expect((await call(at, '/v1/catalog/services?token=sekrit-token-1234')).status).toBe(200);
      expect((await call(at, '/v1/catalog/services', { headers: { authorization: 'Bearer sekrit-token-1234' } })).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it('refuses an invalid datacenter option when the server is made', () => {
    expect(() => createHttpServer(agent, { datacenter: 'Not A Label' })).toThrow(/datacenter "Not A Label" must be/);
  });
});

describe('Prometheus HTTP service discovery', () => {
  it('gives one target group per instance with __meta_hearsay_* labels, any health, filtered by ?service and ?tag', async () => {
    agent.register({ id: 'a-web', name: 'web', port: 7000, tags: ['v1'], meta: { 'metrics-path': '/m' } });
    remote('node-b', '10.0.0.2', [{ tags: ['v2'], status: 'critical' }], 'alive', { rack: 'r2' });
    remote('node-c', '::1', [{ name: 'db', port: 5432 }]);
    const res = await call(addr, '/v1/prometheus/sd');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const groups = res.json() as { targets: string[]; labels: Record<string, string> }[];
    expect(groups.map((g) => g.targets)).toEqual([['[::1]:5432'], ['127.0.0.1:7000'], ['10.0.0.2:8000']]);
    expect(groups[1]?.labels).toEqual({
      __meta_hearsay_service: 'web',
      __meta_hearsay_service_id: 'a-web',
      __meta_hearsay_node: 'node-a',
      __meta_hearsay_service_address: '127.0.0.1',
      __meta_hearsay_service_port: '7000',
      __meta_hearsay_status: 'passing',
      __meta_hearsay_datacenter: 'dc1',
      __meta_hearsay_tags: ',v1,',
      __meta_hearsay_meta_metrics_path: '/m',
      __meta_hearsay_node_meta_rack: 'r1',
    });
    expect(groups[2]?.labels).toMatchObject({ __meta_hearsay_status: 'critical', __meta_hearsay_node: 'node-b', __meta_hearsay_node_meta_rack: 'r2' });
    const web = (await call(addr, '/v1/prometheus/sd?service=web&tag=v2')).json() as { targets: string[] }[];
    expect(web.map((g) => g.targets[0])).toEqual(['10.0.0.2:8000']);
    expect((await call(addr, '/v1/prometheus/sd?dc=elsewhere')).status).toBe(400);
  });
});
