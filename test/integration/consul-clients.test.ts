/**
 * Consul's own clients against real `hearsay agent` processes on 127.0.0.1 (two agents in one
 * mesh), each asserting what the client saw:
 *
 * - the npm `consul` package (a devDependency): registers a service with a TTL check, passes it,
 *   reads health.service passing-only before and after, and watches it: the watch's blocking
 *   query sees an instance registered on the other agent arrive through gossip;
 * - Debian's python3-consul (installed by .ci/deps): catalog and health reads, and a blocking read.
 *   Without it the test skips, except in CI (CI=true), which installs it.
 */
import { spawn, spawnSync } from 'node:child_process';
import Consul from 'consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agents, lists, sleep, waitUntil, type AgentProcess } from './support.js';

const agents = new Agents();
let a: AgentProcess;
let b: AgentProcess;

const PYTHON = '/usr/bin/python3';
const hasPythonConsul = spawnSync(PYTHON, ['-c', 'import consul'], { stdio: 'ignore' }).status === 0;
if (!hasPythonConsul && process.env.CI === 'true') throw new Error('CI must have python3-consul (Debian package, installed by .ci/deps) for the Consul client test');

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}

/** Polls `probe` until it returns a value, at most `timeoutMs`; throws with `what` after that. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) throw new Error(`timed out waiting until ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await sleep(100);
  }
}

interface ServiceEntry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Port: number; Tags: string[] };
  Checks: { CheckID: string; Status: string }[];
}

beforeAll(async () => {
  a = await agents.start('consul-a', { args: ['--dns-domain', 'consul'] });
  b = await agents.start('consul-b', { join: [a.gossip] });
  await waitUntil('both agents list both alive', [a, b], lists([a.name, b.name], 'alive'), { timeoutMs: 20_000 });
});

afterAll(async () => {
  await agents.killAll();
  agents.dispose();
});

describe('the npm consul client', () => {
  it('registers with a TTL check, passes it, reads passing-only health, and watches a new instance arrive through a blocking query', async () => {
    const consulA = new Consul({ host: '127.0.0.1', port: portOf(a.http) });
    const consulB = new Consul({ host: '127.0.0.1', port: portOf(b.http) });
    try {
      await consulA.agent.service.register({ name: 'web', id: 'web-a', port: 8081, tags: ['v1'], meta: { owner: 'team-a' }, check: { name: 'ttl', ttl: '30s', timeout: '1s' } });
      const listed = (await consulA.agent.service.list()) as Record<string, { Service: string; Port: number; Tags: string[]; Meta: Record<string, string> }>;
      expect(listed['web-a']).toMatchObject({ Service: 'web', Port: 8081, Tags: ['v1'], Meta: { owner: 'team-a' } });
      // A new instance is critical until its TTL check passes: passing-only health has none.
      expect(await consulA.health.service({ service: 'web', passing: true })).toEqual([]);
      const all = (await consulA.health.service({ service: 'web' })) as ServiceEntry[];
      expect(all.map((e) => [e.Service.ID, e.Checks.map((c) => `${c.CheckID}=${c.Status}`)])).toEqual([['web-a', ['serfHealth=passing', 'service:web-a=critical']]]);

      await consulA.agent.check.pass({ id: 'service:web-a', note: 'ready' });
      const passing = (await consulA.health.service({ service: 'web', passing: true })) as ServiceEntry[];
      expect(passing).toHaveLength(1);
      expect(passing[0]?.Node).toMatchObject({ Node: a.name, Address: '127.0.0.1' });
      expect(passing[0]?.Service).toMatchObject({ ID: 'web-a', Service: 'web', Port: 8081, Tags: ['v1'] });
      expect(passing[0]?.Checks.map((c) => c.Status)).toEqual(['passing', 'passing']);

      // A watch is a loop of blocking queries (index=the last X-Consul-Index): its first change is
      // the current state, the next one comes when the set changes.
      const changes: { ids: string[]; index: number }[] = [];
      const watch = consulA.watch({ method: consulA.health.service, options: { service: 'web', passing: true, wait: '10s' } as unknown as Record<string, string> });
      const errors: unknown[] = [];
      watch.on('error', (err: unknown) => errors.push(err));
      watch.on('change', (data: ServiceEntry[], res: { headers: Record<string, string> }) => {
        changes.push({ ids: data.map((e) => e.Service.ID).sort(), index: Number(res.headers['x-consul-index']) });
      });
      try {
        await eventually('the watch reports the current instances', async () => (changes.length >= 1 ? true : undefined));
        expect(changes[0]?.ids).toEqual(['web-a']);
        // Registered on the other agent, passing from the start: it reaches agent A by gossip.
        await consulB.agent.service.register({ name: 'web', id: 'web-b', port: 8082, check: { name: 'ttl', ttl: '30s', timeout: '1s', status: 'passing' } });
        await eventually('the watch sees web-b', async () => (changes.some((c) => c.ids.includes('web-b')) ? true : undefined));
        const seen = changes.find((c) => c.ids.includes('web-b'));
        expect(seen?.ids).toEqual(['web-a', 'web-b']);
        expect(seen?.index).toBeGreaterThan(changes[0]?.index ?? Infinity);
        expect(errors).toEqual([]);
      } finally {
        watch.end();
      }
      // The watch waited in blocking queries rather than polling: a handful of requests to the
      // route in all (a client polling without blocking makes hundreds a second).
      const metrics = await (await fetch(`http://${a.http}/metrics`)).text();
      const requests = metrics
        .split('\n')
        .filter((l) => l.startsWith('hearsay_http_request_duration_seconds_count{') && l.includes('route="/v1/health/service/:name"'))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      expect(requests).toBeGreaterThanOrEqual(4);
      expect(requests).toBeLessThan(20);
      const entries = (await consulA.health.service({ service: 'web', passing: true })) as ServiceEntry[];
      expect(entries.map((e) => `${e.Service.ID}@${e.Node.Node}`)).toEqual(['web-a@consul-a', 'web-b@consul-b']);

      // KV is not there, and the client is told so (501), not handed a 404.
      await expect(consulA.kv.get('some/key')).rejects.toMatchObject({ statusCode: 501 });

      await consulB.agent.service.deregister('web-b');
      await eventually('agent A no longer lists web-b', async () => {
        const now = (await consulA.catalog.service.nodes('web')) as { ServiceID: string }[];
        return now.every((n) => n.ServiceID !== 'web-b') ? now : undefined;
      });
    } finally {
      consulA.destroy();
      consulB.destroy();
    }
  });
});

describe.skipIf(!hasPythonConsul)("Debian's python3-consul", () => {
  it('reads the catalog and health of the mesh, and blocks on an index', async () => {
    const consulB = new Consul({ host: '127.0.0.1', port: portOf(b.http) });
    try {
      await consulB.agent.service.register({ name: 'db', id: 'db-b', port: 5432, tags: ['primary'], check: { name: 'ttl', ttl: '30s', timeout: '1s', status: 'passing' } });
      // Registered on B, read from A once gossip brought it.
      await eventually('agent A lists db', async () => (((await (new Consul({ host: '127.0.0.1', port: portOf(a.http) })).catalog.service.nodes('db')) as unknown[]).length === 1 ? true : undefined));
    } finally {
      consulB.destroy();
    }
    const script = `
import consul, json, sys
c = consul.Consul(host='127.0.0.1', port=int(sys.argv[1]))
index, services = c.catalog.services()
_, nodes = c.catalog.nodes()
_, db = c.catalog.service('db')
hindex, healthy = c.health.service('db', passing=True)
_, critical = c.health.state('critical')
_, node_checks = c.health.node('consul-b')
# A blocking read on an unchanged index answers when its wait is over, with the same index.
again, _ = c.health.service('db', index=hindex, wait='300ms', passing=True)
print(json.dumps({"index": index, "services": services, "nodes": [n["Node"] for n in nodes], "db": db,
  "healthy": healthy, "critical": critical, "node_checks": node_checks, "hindex": hindex, "again": again,
  "leader": c.status.leader(), "self": c.agent.self()["Config"]["NodeName"]}))
`;
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(PYTHON, ['-c', script, String(portOf(a.http))], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000, killSignal: 'SIGKILL' });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.code, out.stderr).toBe(0);
    const r = JSON.parse(out.stdout) as {
      index: string;
      services: Record<string, string[]>;
      nodes: string[];
      db: { Node: string; ServiceID: string; ServicePort: number; ServiceTags: string[]; Datacenter: string }[];
      healthy: ServiceEntry[];
      critical: unknown[];
      node_checks: { CheckID: string; Status: string }[];
      hindex: string;
      again: string;
      leader: string;
      self: string;
    };
    expect(Number(r.index)).toBeGreaterThan(0);
    expect(r.services).toMatchObject({ db: ['primary'] });
    expect(r.nodes).toEqual(['consul-a', 'consul-b']);
    expect(r.db).toEqual([expect.objectContaining({ Node: 'consul-b', ServiceID: 'db-b', ServicePort: 5432, ServiceTags: ['primary'], Datacenter: 'dc1' })]);
    expect(r.healthy.map((e) => [e.Node.Node, e.Service.ID, e.Checks.map((c) => c.Status)])).toEqual([['consul-b', 'db-b', ['passing', 'passing']]]);
    expect(r.critical).toEqual([]);
    expect(r.node_checks.map((c) => `${c.CheckID}=${c.Status}`)).toEqual(['serfHealth=passing', 'service:db-b=passing']);
    expect(r.again).toBe(r.hindex);
    expect(r.leader).toBe(a.gossip);
    expect(r.self).toBe('consul-a');
  });
});
