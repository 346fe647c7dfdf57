/**
 * The agent's HTTP API against a fake agent: every route and every class of bad request.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AgentClosedError } from '../../src/errors.js';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent, failingJoin, view } from './fake-agent.js';
import { call, json } from './http-support.js';

let agent: FakeAgent;
let server: HttpServer;
let addr: Address;
const onLeave = vi.fn();

beforeEach(async () => {
  agent = new FakeAgent('node-a', [
    view('node-a', 'alive', { incarnation: 3, tags: { role: 'web' } }),
    view('node-b', 'suspect', { host: '::1', port: 8000, incarnation: 7 }),
    view('node-c', 'dead', { incarnation: 2 }),
  ]);
  onLeave.mockReset();
  server = createHttpServer(agent, { profile: 'local', onLeave });
  addr = await server.listen({ host: '127.0.0.1', port: 0 });
});

afterEach(async () => {
  await server.close();
});

describe('HTTP API routes', () => {
  it('refuses a Host that is not loopback (DNS rebinding) when no token is set, and serves loopback names', async () => {
    const rebound = await call(addr, '/v1/members', { headers: { host: 'evil.example:7947' } });
    expect(rebound.status).toBe(403);
    expect(rebound.json()).toMatchObject({ code: 'HEARSAY_ERR_FORBIDDEN_HOST' });
    for (const host of [`127.0.0.1:${addr.port}`, `localhost:${addr.port}`, `[::1]:${addr.port}`, 'localhost']) {
      expect((await call(addr, '/v1/members', { headers: { host } })).status, host).toBe(200);
    }
  });

  it('listens on a free port when asked for port 0 and reports it', () => {
    expect(addr.host).toBe('127.0.0.1');
    expect(addr.port).toBeGreaterThan(0);
    expect(server.address).toEqual(addr);
  });

  it('lists the members the agent reports, with exactly the documented fields', async () => {
    const res = await call(addr, '/v1/members');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json()).toEqual([
      { name: 'node-a', addr: '127.0.0.1', port: 7946, status: 'alive', incarnation: 3, tags: { role: 'web' } },
      { name: 'node-b', addr: '::1', port: 8000, status: 'suspect', incarnation: 7, tags: {} },
    ]);
  });

  it('describes the agent itself with its profile, state and counters (under "Hearsay" in Consul\'s /v1/agent/self)', async () => {
    const res = await call(addr, '/v1/agent/self');
    expect(res.status).toBe(200);
    expect((res.json() as { Hearsay: unknown }).Hearsay).toMatchObject({
      name: 'node-a',
      addr: '127.0.0.1',
      port: 7946,
      incarnation: 3,
      tags: { role: 'web' },
      status: 'alive',
      profile: 'local',
      state: 'running',
      counters: { packetsIn: 10 },
    });
  });

  it('joins through the given seeds as written (the agent resolves names) and answers how many answered', async () => {
    const seeds = ['127.0.0.1:9000', '[::1]:9001', 'seed.example:9002', 'seed.example', 'dns+srv:_hearsay._udp.example'];
    const res = await call(addr, '/v1/join', json({ addrs: seeds }));
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ joined: 5 });
    expect(agent.joinCalls).toEqual([seeds]);
  });

  it('accepts a charset parameter on the JSON content-type', async () => {
    const res = await call(addr, '/v1/join', { ...json({ addrs: ['127.0.0.1:9000'] }), headers: { 'content-type': 'Application/JSON; charset=utf-8' } });
    expect(res.status).toBe(200);
  });

  it('answers 502 with the join error listing each seed when no seed answers', async () => {
    agent.joinImpl = failingJoin;
    const res = await call(addr, '/v1/join', json({ addrs: ['127.0.0.1:9000'] }));
    expect(res.status).toBe(502);
    const body = res.json() as { error: string; code: string };
    expect(body.code).toBe('HEARSAY_ERR_JOIN_FAILED');
    expect(body.error).toContain('127.0.0.1:9000: connection refused (ECONNREFUSED) after 3 attempts');
  });

  it('answers 409 when the agent cannot join in its current state', async () => {
    agent.joinImpl = () => Promise.reject(new AgentClosedError('join'));
    const res = await call(addr, '/v1/join', json({ addrs: ['127.0.0.1:9000'] }));
    expect(res.status).toBe(409);
    expect((res.json() as { code: string }).code).toBe('HEARSAY_ERR_AGENT_CLOSED');
  });

  it('answers 502 with HEARSAY_ERR_JOIN_FAILED when the join fails with a plain error', async () => {
    agent.joinImpl = () => Promise.reject(new TypeError('boom'));
    const res = await call(addr, '/v1/join', json({ addrs: ['127.0.0.1:9000'] }));
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ code: 'HEARSAY_ERR_JOIN_FAILED' });
  });

  it('leaves, answers, and only then tells the owner, which may close the server at once', async () => {
    onLeave.mockImplementation(() => void server.close());
    const res = await call(addr, '/v1/leave', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ left: true, name: 'node-a' });
    expect(agent.leaveCalls).toEqual([{}]);
    expect(onLeave).toHaveBeenCalledTimes(1);
    await server.close(); // the close onLeave started
    await expect(call(addr, '/v1/members')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('passes a leave timeout given in the body', async () => {
    const res = await call(addr, '/v1/leave', json({ timeoutMs: 1500 }));
    expect(res.status).toBe(200);
    expect(agent.leaveCalls).toEqual([{ timeoutMs: 1500 }]);
  });

  it('leaves once when asked twice at the same time', async () => {
    let release: () => void = () => undefined;
    agent.leaveImpl = () => new Promise<void>((r) => (release = r));
    const first = call(addr, '/v1/leave', { method: 'POST' });
    const second = call(addr, '/v1/leave', { method: 'POST' });
    await vi.waitFor(() => expect(agent.leaveCalls.length).toBe(1));
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(agent.leaveCalls.length).toBe(1);
  });

  it('answers 500 with HEARSAY_ERR_LEAVE_FAILED when the leave fails, and does not tell the owner', async () => {
    agent.leaveImpl = () => Promise.reject(new Error('socket gone'));
    const res = await call(addr, '/v1/leave', { method: 'POST' });
    expect(res.status).toBe(500);
    expect(res.json()).toEqual({ error: 'leave failed: socket gone', code: 'HEARSAY_ERR_LEAVE_FAILED' });
    expect(onLeave).not.toHaveBeenCalled();
  });

  it('closes once: a second close() is the same close, and an open event stream ends with it', async () => {
    const events = call(addr, '/v1/events');
    await vi.waitFor(() => expect(agent.listenerCount).toBe(1));
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
    await events;
    expect(agent.listenerCount).toBe(0);
    await expect(call(addr, '/v1/members')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('HTTP API errors', () => {
  const big = JSON.stringify({ addrs: ['x'.repeat(70_000)] });
  const cases: [string, string, Parameters<typeof call>[2], number, string, RegExp][] = [
    ['an unknown path', '/v1/nope', {}, 404, 'HEARSAY_ERR_NOT_FOUND', /no route for GET \/v1\/nope: the API serves GET \/v1\/members/],
    ['a wrong method', '/v1/members', { method: 'DELETE' }, 405, 'HEARSAY_ERR_METHOD_NOT_ALLOWED', /\/v1\/members does not accept DELETE: use GET/],
    ['GET on a POST route', '/v1/join', {}, 405, 'HEARSAY_ERR_METHOD_NOT_ALLOWED', /use POST/],
    ['a declared body over 64 KiB', '/v1/join', json({ addrs: ['x'.repeat(70_000)] }), 413, 'HEARSAY_ERR_BODY_TOO_LARGE', /limit is 65536 bytes/],
    ['a chunked body over 64 KiB', '/v1/join', { ...json(null), body: big, chunked: true }, 413, 'HEARSAY_ERR_BODY_TOO_LARGE', /exceeds the limit of 65536 bytes/],
    ['a body that is not JSON by content-type', '/v1/join', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }, 415, 'HEARSAY_ERR_UNSUPPORTED_MEDIA_TYPE', /"text\/plain": send JSON with content-type application\/json/],
    ['a body without content-type', '/v1/leave', { method: 'POST', body: '{}' }, 415, 'HEARSAY_ERR_UNSUPPORTED_MEDIA_TYPE', /content-type is missing/],
    ['malformed JSON', '/v1/join', { ...json(null), body: '{"addrs": [' }, 400, 'HEARSAY_ERR_BAD_JSON', /not valid JSON .*fix it, e\.g\./],
    ['an empty join body', '/v1/join', { method: 'POST', headers: { 'content-type': 'application/json' } }, 400, 'HEARSAY_ERR_INVALID_REQUEST', /the body is empty/],
    ['a join body that is an array', '/v1/join', json(['127.0.0.1:1']), 400, 'HEARSAY_ERR_INVALID_REQUEST', /must be a JSON object: send \{"addrs"/],
    ['addrs of the wrong type', '/v1/join', json({ addrs: '127.0.0.1:1' }), 400, 'HEARSAY_ERR_INVALID_REQUEST', /"addrs" must be a non-empty array of "HOST:PORT" strings/],
    ['addrs holding numbers', '/v1/join', json({ addrs: [7946] }), 400, 'HEARSAY_ERR_INVALID_REQUEST', /non-empty array of "HOST:PORT" strings/],
    ['no addrs at all', '/v1/join', json({ addrs: [] }), 400, 'HEARSAY_ERR_INVALID_REQUEST', /non-empty array/],
    ['an unknown field', '/v1/join', json({ addrs: ['127.0.0.1:1'], force: true }), 400, 'HEARSAY_ERR_INVALID_REQUEST', /unknown field "force"/],
    ['a port out of range', '/v1/join', json({ addrs: ['127.0.0.1:70000'] }), 400, 'HEARSAY_ERR_INVALID_REQUEST', /"127\.0\.0\.1:70000" has port 70000, outside 1-65535/],
    ['a bad SRV name', '/v1/join', json({ addrs: ['dns+srv:bad name'] }), 400, 'HEARSAY_ERR_INVALID_REQUEST', /after dns\+srv:, which is not a DNS name/],
    ['an unbracketed IPv6 address', '/v1/join', json({ addrs: ['::1:7946'] }), 400, 'HEARSAY_ERR_INVALID_REQUEST', /without brackets: write \[ADDRESS\]:PORT/],
    ['a leave timeout of the wrong type', '/v1/leave', json({ timeoutMs: 'soon' }), 400, 'HEARSAY_ERR_INVALID_REQUEST', /"timeoutMs" must be an integer/],
    ['a request from a web page', '/v1/members', { headers: { origin: 'http://evil.example' } }, 403, 'HEARSAY_ERR_FORBIDDEN_ORIGIN', /requests from web pages/],
  ];

  it.each(cases)('answers %s with a JSON error saying what to do', async (_what, path, request, status, code, message) => {
    const res = await call(addr, path, request);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = res.json() as { error: string; code: string };
    expect(body.code).toBe(code);
    expect(body.error).toMatch(message);
    expect(Object.keys(body).sort()).toEqual(['code', 'error']);
    expect(agent.joinCalls).toEqual([]);
    expect(agent.leaveCalls).toEqual([]);
  });

  it('names the allowed methods in an Allow header on 405', async () => {
    const res = await call(addr, '/v1/leave', { method: 'PUT' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  it('keeps serving after a request it refused', async () => {
    await call(addr, '/v1/join', json({ addrs: ['x'.repeat(70_000)] }));
    const res = await call(addr, '/v1/members');
    expect(res.status).toBe(200);
  });
});
