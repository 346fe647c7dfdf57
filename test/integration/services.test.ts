/**
 * Service discovery across real `hearsay agent` processes on 127.0.0.1: a sidecar config file
 * registers a service whose HTTP check the agent runs; `hearsay register` adds one through the
 * CLI; other agents see them through `hearsay lookup`, the HTTP API and DNS (node:dns's c-ares
 * resolver); a failing check and a killed node take instances out of every lookup.
 */
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agents, kill9, lists, names, runCli, waitUntil } from './support.js';

const agents = new Agents();
const servers: Server[] = [];
afterEach(async () => {
  await agents.killAll();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});
afterAll(() => agents.dispose());

interface Instance {
  id: string;
  name: string;
  node: string;
  address: string;
  port: number;
  status: string;
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

describe('service discovery across agent processes', () => {
  it('a sidecar config registers a checked service; others find it by CLI, HTTP and DNS; a failing check and a kill remove it', { timeout: 120_000 }, async () => {
    let healthy = true;
    const web = createServer((_req, res) => {
      res.statusCode = healthy ? 200 : 503;
      res.end(healthy ? 'ok' : 'down');
    });
    servers.push(web);
    const webPort = await new Promise<number>((r) => web.listen(0, '127.0.0.1', () => r((web.address() as AddressInfo).port)));
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-it-svc-'));
    const config = join(dir, 'agent.json');
    writeFileSync(
      config,
      JSON.stringify({ services: [{ id: 'web-1', name: 'web', port: webPort, tags: ['v1'], checks: [{ http: `http://127.0.0.1:${webPort}/health`, interval: '300ms', timeout: '1s' }] }] }),
    );

    const a = await agents.start('svc-a', { args: ['--config', config] });
    const b = await agents.start('svc-b', { join: [a.gossip] });
    await waitUntil('both alive', [a, b], lists(names([a, b]), 'alive'), { timeoutMs: 20_000 });

    // CLI lookup on the other agent.
    const found = await until(
      'b looks up web',
      async () => JSON.parse((await runCli(['lookup', 'web', '--json', '--http', b.http])).stdout) as Instance[],
      (l) => l.length === 1,
    );
    expect(found[0]).toMatchObject({ id: 'web-1', name: 'web', node: 'svc-a', address: '127.0.0.1', port: webPort, status: 'passing' });

    // A registration through the CLI on b, seen from a over HTTP.
    const reg = await runCli(['register', '--name', 'api', '--port', '9100', '--id', 'api-1', '--tag', 'v2', '--http', b.http]);
    expect(reg, reg.stderr).toMatchObject({ code: 0, stdout: 'registered api instance api-1 (passing)\n' });
    await until('a sees api', async () => (await a.get('/v1/services/api')) as Instance[], (l) => l.length === 1 && l[0]?.node === 'svc-b');

    // DNS on b answers for the service registered on a.
    const resolver = new Resolver({ timeout: 2000, tries: 2 });
    resolver.setServers([b.dns]);
    expect(await resolver.resolve4('web.service.hearsay')).toEqual(['127.0.0.1']);
    expect((await resolver.resolveSrv('v1.web.service.hearsay')).map((r) => r.port)).toEqual([webPort]);
    expect(await resolver.resolve4('svc-a.node.hearsay')).toEqual(['127.0.0.1']);
    await expect(resolver.resolve4('nope.service.hearsay')).rejects.toMatchObject({ code: 'ENOTFOUND' });

    // The check fails: the instance leaves b's default lookup, and shows as critical.
    healthy = false;
    await until('b sees web critical', async () => (await b.get('/v1/services/web?status=critical')) as Instance[], (l) => l.length === 1);
    expect(await b.get('/v1/services/web')).toEqual([]);
    healthy = true;
    await until('b sees web passing again', async () => (await b.get('/v1/services/web')) as Instance[], (l) => l.length === 1);

    // Deregistration through the CLI.
    const dereg = await runCli(['deregister', 'api-1', '--http', b.http]);
    expect(dereg.code, dereg.stderr).toBe(0);
    await until('a no longer sees api', async () => (await a.get('/v1/services/api')) as Instance[], (l) => l.length === 0);

    // a is killed: its instances leave b's view once b declares it dead.
    await kill9(a);
    await until('b drops web', async () => (await b.get('/v1/services/web?status=any')) as Instance[], (l) => l.length === 0, 40_000);
  });
});
