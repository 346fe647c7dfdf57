/**
 * The HTTP API's scoped tokens (api/tokens.ts, access.ts): each scope allowed and refused, over
 * real HTTP against a fake agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../src/api/server.js';
import { TokenTable, tokenDigest } from '../../src/api/tokens.js';
import type { Address } from '../../src/wire/messages.js';
import { FakeAgent } from './fake-agent.js';
import { call, type RawResponse } from './http-support.js';

const T = {
  billing: 'billing-token-0123456789abcdef0123',
  checks: 'checks-token-0123456789abcdef012345',
  reader: 'reader-token-0123456789abcdef012345',
  ops: 'operator-token-0123456789abcdef0123',
  http: 'http-token-0123456789abcdef01234567',
};

function table(entries: unknown): TokenTable {
  const parsed = TokenTable.parse(JSON.stringify(entries), 'tokens.json');
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.table;
}

const FILE = [
  { name: 'billing-deploy', token: T.billing, services: ['billing', 'api-*'] },
  { name: 'billing-probe', sha256: tokenDigest(T.checks), services: ['billing'], commandChecks: true },
  { name: 'dashboard', token: T.reader, services: [] },
  { name: 'ops', token: T.ops, operator: true },
];

describe('scoped API tokens', () => {
  const agent = new FakeAgent('node-1');
  let current: TokenTable | undefined = table(FILE);
  let server: HttpServer;
  let addr: Address;

  beforeAll(async () => {
    server = createHttpServer(agent, { token: T.http, tokens: () => current, allowCommandChecks: true });
    addr = await server.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => server.close());

  const as = (token: string | undefined, method: string, path: string, body?: unknown): Promise<RawResponse> =>
    call(addr, path, {
      method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('registers, updates and deregisters the services a token names, and refuses others with 403 and what to do', async () => {
    const ok = await as(T.billing, 'PUT', '/v1/services', { name: 'api-gateway', port: 80, id: 'gw-1', checks: [{ ttl: '30s' }] });
    expect(ok.status).toBe(200);
    const refused = await as(T.billing, 'PUT', '/v1/services', { name: 'web', port: 80 });
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'HEARSAY_ERR_FORBIDDEN' });
    expect((refused.json() as { error: string }).error).toMatch(/token "billing-deploy" may not register the service "web": it is scoped to billing, api-\*/);
    expect(agent.localServices().map((s) => s.record.name)).toEqual(['api-gateway']);
    const check = agent.checks().find((c) => c.serviceId === 'gw-1');
    expect((await as(T.billing, 'PUT', `/v1/checks/${check?.id ?? ''}/pass`)).status).toBe(200);
    // Consul's paths take the same scopes.
    expect((await as(T.billing, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 81 })).status).toBe(403);
    expect((await as(T.billing, 'PUT', '/v1/agent/service/register', { Name: 'billing', Port: 81, ID: 'b-1' })).status).toBe(200);
    expect((await as(T.checks, 'PUT', `/v1/agent/check/pass/${check?.id ?? ''}`)).status).toBe(403);
    expect((await as(T.checks, 'DELETE', '/v1/services/gw-1')).status).toBe(403);
    expect((await as(T.billing, 'DELETE', '/v1/services/gw-1')).status).toBe(200);
    expect((await as(T.checks, 'PUT', '/v1/agent/service/deregister/b-1')).status).toBe(200);
  });

  it('needs "commandChecks" to register a command check, on top of --enable-script-checks', async () => {
    const def = { name: 'billing', port: 80, id: 'cmd-1', checks: [{ command: ['true'], interval: '10s' }] };
    const refused = await as(T.billing, 'PUT', '/v1/services', def);
    expect(refused.status).toBe(403);
    expect((refused.json() as { error: string }).error).toMatch(/may not register command checks.*"commandChecks": true/);
    expect((await as(T.checks, 'PUT', '/v1/services', def)).status).toBe(200);
    expect((await as(T.ops, 'DELETE', '/v1/services/cmd-1')).status).toBe(200);
  });

  it('keeps operator routes (keys, join, leave, maintenance, reload, monitor) to operator tokens', async () => {
    for (const [method, path] of [
      ['GET', '/v1/keys'],
      ['POST', '/v1/join'],
      ['PUT', '/v1/maintenance?enable=true'],
      ['PUT', '/v1/agent/maintenance?enable=true'],
      ['POST', '/v1/agent/reload'],
      ['GET', '/v1/agent/monitor'],
      ['PUT', '/v1/identity/revocations'],
      ['POST', '/v1/leave'],
    ] as const) {
      const r = await as(T.billing, method, path);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect((r.json() as { error: string }).error).toMatch(/needs an operator token/);
    }
    const list = { format: 'hearsay-revocations/1', version: 1 };
    expect((await as(T.ops, 'PUT', '/v1/identity/revocations', list)).json()).toMatchObject({ version: 1, removed: [] });
    expect(agent.putLists).toEqual([list]);
    // Reading the list in force is any token's (the fake holds none: 404).
    expect((await as(T.reader, 'GET', '/v1/identity/revocations')).status).toBe(404);
    const m = await as(T.ops, 'PUT', '/v1/maintenance?enable=false');
    expect(m.status).toBe(200);
    expect((await as(T.http, 'PUT', '/v1/maintenance?enable=false')).status).toBe(200);
  });

  it('lets every token read, refuses unknown or missing tokens (401)', async () => {
    expect((await as(T.reader, 'GET', '/v1/members')).status).toBe(200);
    expect((await as(T.reader, 'GET', '/v1/services/billing')).status).toBe(200);
    expect((await as(T.reader, 'PUT', '/v1/services', { name: 'billing', port: 1 })).status).toBe(403);
    expect((await as('not-a-token-0123456789abcdef0123456', 'GET', '/v1/members')).status).toBe(401);
    expect((await as(undefined, 'GET', '/v1/members')).status).toBe(401);
  });

  it('takes a new table when the source changes (a reload), and no tokens means no access for the old ones', async () => {
    current = table([{ name: 'billing-deploy', token: T.billing, services: ['web'] }]);
    expect((await as(T.billing, 'PUT', '/v1/services', { name: 'web', port: 80, id: 'w-1' })).status).toBe(200);
    expect((await as(T.billing, 'PUT', '/v1/services', { name: 'billing', port: 80 })).status).toBe(403);
    expect((await as(T.ops, 'GET', '/v1/members')).status).toBe(401);
    expect((await as(T.http, 'DELETE', '/v1/services/w-1')).status).toBe(200);
  });
});

describe('without tokens', () => {
  it('keeps today\'s loopback behaviour: every local caller may do everything', async () => {
    const agent = new FakeAgent('node-2');
    const server = createHttpServer(agent, { tokens: () => undefined });
    const addr = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect((await call(addr, '/v1/maintenance?enable=true', { method: 'PUT' })).status).toBe(200);
      expect((await call(addr, '/v1/members', { headers: { host: 'evil.example' } })).status).toBe(403);
    } finally {
      await server.close();
    }
  });
});

describe('the tokens file', () => {
  it.each<[string, unknown, RegExp]>([
    ['not an array', { token: 'x' }, /must hold a JSON array/],
    ['a short token', [{ token: 'short', services: ['a'] }], /"token" must be at least \d+ characters/],
    ['both token and sha256', [{ token: T.ops, sha256: tokenDigest(T.ops), operator: true }], /exactly one of "token"/],
    ['a bad digest', [{ sha256: 'abc', services: ['a'] }], /64 hex digits/],
    ['a bad pattern', [{ token: T.ops, services: ['Bad!'] }], /service pattern "Bad!"/],
    ['an unknown key', [{ token: T.ops, operator: true, admin: true }], /unknown key "admin"/],
    ['no scope at all', [{ token: T.ops }], /grants nothing but reads/],
    ['the same token twice', [{ token: T.ops, operator: true, name: 'a' }, { token: T.ops, operator: true, name: 'b' }], /same token appears twice/],
    ['a repeated name', [{ token: T.ops, operator: true, name: 'a' }, { token: T.http, operator: true, name: 'a' }], /used twice/],
  ])('refuses %s, saying what to write', (_what, doc, message) => {
    const parsed = TokenTable.parse(JSON.stringify(doc), 'tokens.json');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.join('\n')).toMatch(message);
  });
});
