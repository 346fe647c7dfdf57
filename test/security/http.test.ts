import { keyIdOfBase64 } from '../../src/security/keyring.js';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { HearsayAgent } from '../../src/agent/agent.js';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { HttpGuard } from '../../src/api/guard.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { main } from '../../src/cli/main.js';
import { generateKey } from '../../src/security/keyring.js';
import { Agents, allSee, waitFor } from '../agent/support.js';
import { call, json } from '../api/http-support.js';
import { capture } from '../cli/support.js';

const agents = new Agents();
const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await agents.closeAll();
});
const TOKEN = 'a-very-secret-token-0123456789';
const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

describe('HTTP API guard', () => {
  it('requires the bearer token on every route when one is set, and counts refusals', async () => {
    const agent = await agents.started('tok');
    const server = createHttpServer(agent, { token: TOKEN });
    servers.push(server);
    const addr = await server.listen({ host: '127.0.0.1', port: 0 });
    for (const path of ['/v1/members', '/metrics', '/v1/keys', '/nope']) {
      const r = await call(addr, path);
      expect(r.status).toBe(401);
      expect(r.json()).toEqual({ error: expect.stringMatching(/Authorization: Bearer TOKEN/), code: 'HEARSAY_ERR_UNAUTHORIZED' });
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    const wrong = await call(addr, '/v1/members', { headers: { authorization: 'Bearer nope-nope-nope-nope' } });
    expect(wrong.json()).toMatchObject({ code: 'HEARSAY_ERR_UNAUTHORIZED', error: expect.stringMatching(/token is wrong/) });
    const ok = await call(addr, '/v1/members', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const metrics = await call(addr, '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(metrics.text).toMatch(/^hearsay_http_unauthorized_total 5$/m);
  });

  it('refuses to listen beyond loopback without a token, with a message that says what to do', async () => {
    const agent = await agents.started('exposed');
    const server = createHttpServer(agent);
    servers.push(server);
    await expect(server.listen({ host: '0.0.0.0', port: 0 })).rejects.toMatchObject({
      code: 'HEARSAY_ERR_HTTP_TOKEN_REQUIRED',
      message: expect.stringMatching(/--http-token TOKEN/),
    });
    expect(() => resolveAgentConfig({ flags: { http: '0.0.0.0:7947' }, env: {} })).toThrow(/beyond loopback, without authentication: set --http-token/);
    const c = resolveAgentConfig({ flags: { http: '0.0.0.0:7947' }, env: { HEARSAY_HTTP_TOKEN: TOKEN } });
    expect(c.httpToken).toBe(TOKEN);
    expect(() => resolveAgentConfig({ flags: { httpToken: 'short' }, env: {} })).toThrow(/--http-token must be at least 16 characters/);
  });

  it('rate-limits requests with 429 and Retry-After (a token bucket on an injected clock)', () => {
    let t = 0;
    const guard = new HttpGuard({ maxRequestsPerSecond: 2, now: () => t });
    for (let i = 0; i < 4; i++) guard.check(req({}), undefined); // burst = 2 × rate
    expect(() => guard.check(req({}), undefined)).toThrow(expect.objectContaining({ status: 429, code: 'HEARSAY_ERR_RATE_LIMITED' }));
    t += 500; // half a second refills one request
    guard.check(req({}), undefined);
    expect(() => guard.check(req({}), undefined)).toThrow(/too many requests/);
    expect(guard.counters['http.rateLimited']).toBe(2);
  });

  it("answers 429 on the wire once a caller's burst is spent, and counts it on /metrics", async () => {
    const agent = await agents.started('busy');
    const server = createHttpServer(agent, { maxRequestsPerSecond: 1 });
    servers.push(server);
    const addr = await server.listen({ host: '127.0.0.1', port: 0 });
    const via = new HttpAgent({ keepAlive: true, maxSockets: 1 }); // one caller: one connection
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await call(addr, '/v1/members', { via })).status);
      expect(statuses).toContain(429);
      expect((await call(addr, '/metrics', { via })).status).toBe(429); // still that caller, still empty
      expect((await call(addr, '/metrics')).text).toMatch(/^hearsay_http_rate_limited_total [1-9]/m); // another caller is served
    } finally {
      via.destroy();
    }
  });

  it('limits and validates key-operation bodies, answering JSON {error, code}', async () => {
    const agent = await agents.started('bodies', { security: { keys: [generateKey()] } });
    const server = createHttpServer(agent, { keys: (agent as HearsayAgent).keyManager, maxBodyBytes: 256 });
    servers.push(server);
    const addr = await server.listen({ host: '127.0.0.1', port: 0 });
    const big = await call(addr, '/v1/keys/install', json({ key: 'x'.repeat(1000) }));
    expect(big.status).toBe(413);
    expect(big.json()).toMatchObject({ code: 'HEARSAY_ERR_BODY_TOO_LARGE' });
    const bad = await call(addr, '/v1/keys/install', json({ key: 'abc' }));
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'HEARSAY_ERR_INVALID_KEY', error: expect.stringMatching(/hearsay keygen/) });
    const extra = await call(addr, '/v1/keys/use', json({ key: generateKey(), other: 1 }));
    expect(extra.json()).toMatchObject({ code: 'HEARSAY_ERR_INVALID_REQUEST', error: expect.stringMatching(/unknown field "other"/) });
    const missing = await call(addr, '/v1/keys/use', json({ key: generateKey() }));
    expect(missing.status).toBe(409);
    expect(missing.json()).toMatchObject({ code: 'HEARSAY_ERR_KEY_NOT_INSTALLED' });
    const metrics = await call(addr, '/metrics');
    expect(metrics.text).toMatch(/^hearsay_http_body_too_large_total 1$/m);
  });
});

describe('hearsay keys and hearsay keygen', () => {
  it('keygen prints a fresh key and writes a private keyring file', async () => {
    const io = capture();
    expect(await main(['keygen'], io)).toBe(0);
    expect(io.out()).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const file = join(mkdtempSync(join(tmpdir(), 'hearsay-keygen-')), 'ring.json');
    const io2 = capture();
    expect(await main(['keygen', '--keyring-file', file], io2)).toBe(0);
    const ring = JSON.parse(readFileSync(file, 'utf8')) as string[];
    expect(ring).toHaveLength(1);
    expect(statSync(file).mode & 0o077).toBe(0);
    const io3 = capture();
    expect(await main(['keygen', '--keyring-file', file], io3)).toBe(1);
    expect(io3.err()).toMatch(/already exists/);
  });

  it('rotates the keys of a two-node mesh through the CLI and the HTTP API', async () => {
    const k1 = generateKey();
    const k2 = generateKey();
    const a = (await agents.started('cli-a', { security: { keys: [k1] } })) as HearsayAgent;
    const b = (await agents.started('cli-b', { security: { keys: [k1] } })) as HearsayAgent;
    await b.join([a.address]);
    await waitFor('converged', () => allSee([a, b], ['cli-a', 'cli-b'], 'alive'));
    const server = createHttpServer(a, { keys: a.keyManager, token: TOKEN });
    servers.push(server);
    const addr = await server.listen({ host: '127.0.0.1', port: 0 });
    const http = `127.0.0.1:${addr.port}`;
    const run = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
      const io = capture();
      const prev = process.env.HEARSAY_HTTP_TOKEN;
      process.env.HEARSAY_HTTP_TOKEN = TOKEN;
      try {
        const code = await main(['keys', ...args, '--http', http], io);
        return { code, out: io.out(), err: io.err() };
      } finally {
        if (prev === undefined) delete process.env.HEARSAY_HTTP_TOKEN;
        else process.env.HEARSAY_HTTP_TOKEN = prev;
      }
    };
    expect(await run('install', k2)).toMatchObject({ code: 0, out: expect.stringMatching(/install: 2 of 2 nodes answered, 0 failed/) });
    expect(await run('use', k2)).toMatchObject({ code: 0 });
    const refused = await run('remove', k2);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/primary key .* cannot be removed: make another installed key primary first.*HEARSAY_ERR_REMOVE_PRIMARY_KEY/s);
    expect(await run('remove', k1)).toMatchObject({ code: 0 });
    const list = await run('list', '--json');
    expect(JSON.parse(list.out)).toMatchObject({ nodes: 2, responded: 2, keys: { [keyIdOfBase64(k2)]: 2 }, primaryKeys: { [keyIdOfBase64(k2)]: 2 } });
    expect((await run('use')).code).toBe(2);
    expect(allSee([a, b], ['cli-a', 'cli-b'], 'alive')).toBe(true);
  });
});

describe('hearsay agent and the HTTP exposure rule', () => {
  it('refuses to start with --http beyond loopback and no token, saying what to do (exit 2)', async () => {
    const { defaultAgentFlags, runAgent } = await import('../../src/cli/commands/agent.js');
    const io = capture();
    let created = 0;
    const code = await runAgent(
      { ...defaultAgentFlags(), bind: '127.0.0.1:0', http: '0.0.0.0:0', dns: 'off' },
      io,
      {
        env: {},
        createAgent: () => {
          created++;
          throw new Error('must not be created');
        },
        signals: { on: () => undefined, off: () => undefined },
        exit: () => undefined,
      },
    );
    expect(code).toBe(2);
    expect(created).toBe(0);
    expect(io.err()).toMatch(/beyond loopback, without authentication: set --http-token TOKEN/);
  });
});
