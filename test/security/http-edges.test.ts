/**
 * The HTTP API's edges against hostile local callers: Host headers that only look like loopback,
 * connections that send nothing, more connections than it allows, and one caller flooding while
 * another reports its TTL checks.
 */
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { request, Agent as HttpAgent } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { hostAllowed } from '../../src/api/guard.js';
import { createHttpServer, defaultMaxConnections, type HttpServer } from '../../src/api/server.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent } from '../api/fake-agent.js';
import { call } from '../api/http-support.js';

let server: HttpServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

async function serve(agent: FakeAgent, options: Parameters<typeof createHttpServer>[1] = {}): Promise<Address> {
  server = createHttpServer(agent, options);
  return server.listen({ host: '127.0.0.1', port: 0 });
}

function open(addr: Address): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(addr.port, addr.host, () => resolve(s));
    s.once('error', reject);
    sockets.push(s);
  });
}

const closed = (s: Socket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('the Host check', () => {
  it.each(['127.0.0.1', '127.0.0.1:7947', 'localhost:80', '[::1]', '[::1]:7947', 'LOCALHOST', '127.9.9.9:1'])('serves %j', (host) => {
    expect(hostAllowed(host, undefined)).toBe(true);
  });

  it.each(['127.0.0.1:80@evil.example', '[::1]evil.example', '[::1', 'evil.example', '127.0.0.1.evil.example', 'localhost:80:81', '127.0.0.1 evil', 'localhost:http', '[::1]:80@x'])(
    'refuses %j',
    (host) => {
      expect(hostAllowed(host, undefined)).toBe(false);
    },
  );

  it('refuses them on the wire with 403', async () => {
    const addr = await serve(new FakeAgent());
    for (const host of ['127.0.0.1:80@evil.example', '[::1]evil.example', '[::1']) {
      const res = await call(addr, '/v1/members', { headers: { host } });
      expect(res.status, host).toBe(403);
      expect(res.json()).toMatchObject({ code: 'HEARSAY_ERR_FORBIDDEN_HOST' });
    }
  });
});

describe('connections', () => {
  it('closes a connection that sends nothing after the header timeout, and counts it', async () => {
    const agent = new FakeAgent();
    const addr = await serve(agent, { headerTimeoutMs: 150 });
    const silent = await open(addr);
    await closed(silent);
    const metrics = await call(addr, '/metrics');
    expect(metrics.text).toMatch(/^hearsay_http_header_timeouts_total 1$/m);
  });

  it('keeps at most maxConnections open, closing more at once and counting them, and serves again once they go', async () => {
    const addr = await serve(new FakeAgent(), { maxConnections: 4, headerTimeoutMs: 60_000 });
    const held = await Promise.all([0, 1, 2, 3].map(() => open(addr)));
    const extra = await open(addr);
    await closed(extra);
    for (const s of held) s.destroy();
    let metrics = await call(addr, '/metrics').catch(() => null);
    for (let i = 0; i < 50 && metrics?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 20));
      metrics = await call(addr, '/metrics').catch(() => null);
    }
    if (metrics === null) throw new Error('no request went through after the held connections closed');
    expect(metrics.text).toMatch(/^hearsay_http_connections_refused_total [1-9]\d*$/m);
  });

  it('caps connections below the open-file limit by default', () => {
    const n = defaultMaxConnections();
    expect(n).toBeGreaterThanOrEqual(16);
    expect(n).toBeLessThanOrEqual(1024);
  });
});

describe('the request rate, per caller', () => {
  it("one caller flooding its own connection does not get another caller's TTL updates refused", async () => {
    const agent = new FakeAgent();
    agent.register({ name: 'svc', port: 1, checks: [{ ttl: '30s', id: 'svc-ttl' }] });
    const addr = await serve(agent, { maxRequestsPerSecond: 50 });
    const flooder = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const honest = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const get = (via: HttpAgent, method: string, path: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: addr.host, port: addr.port, path, method, agent: via }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const flood: number[] = [];
      for (let i = 0; i < 300; i++) flood.push(await get(flooder, 'GET', '/v1/members'));
      expect(flood.filter((s) => s === 429).length).toBeGreaterThan(100); // the flooder is limited
      const ttl: number[] = [];
      for (let i = 0; i < 20; i++) ttl.push(await get(honest, 'PUT', '/v1/checks/svc-ttl/pass'));
      expect(ttl).toEqual(Array(20).fill(200)); // the other caller never is
    } finally {
      flooder.destroy();
      honest.destroy();
    }
  });
});

describe('memory after a burst', () => {
  it('keeps nothing of finished blocking queries (their requests, headers, closures) once they answered', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const addr = await serve(new FakeAgent());
    const big = 'y'.repeat(8000);
    const burst = async (n: number): Promise<void> => {
      for (let done = 0; done < n; done += 100) {
        await Promise.all(
          Array.from({ length: 100 }, () =>
            call(addr, '/v1/services/nothing?index=1&wait=1ms', { headers: { 'x-pad': big } }).then((r) => expect(r.status).toBe(200)),
          ),
        );
      }
    };
    await burst(200); // warm up
    gc();
    const before = process.memoryUsage().heapUsed;
    await burst(2000);
    await new Promise((r) => setTimeout(r, 50));
    gc();
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // 2000 requests each holding an 8 KB header would keep 16 MB.
    expect(grown).toBeLessThan(6 * 1024 * 1024);
  });
});
