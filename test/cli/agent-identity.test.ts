/**
 * `hearsay agent` with --ca/--cert/--cert-key and --api-tokens, in-process (fake agent, fake
 * signals, real files and a real HTTP API): refused at start, reloaded on SIGHUP.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { defaultAgentFlags, runAgent, type AgentFlags } from '../../src/cli/commands/agent.js';
import type { HttpServer } from '../../src/api/server.js';
import { privateKeyPem } from '../../src/identity/x509.js';
import { FakeAgent } from '../api/fake-agent.js';
import { call } from '../api/http-support.js';
import { DAY, testCa, testNodeCert } from '../identity/support.js';
import { capture } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'hearsay-agent-identity-'));
const ca = testCa();
writeFileSync(join(dir, 'ca.crt'), ca.pem);
const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'node.crt'), key: join(dir, 'node.key'), tokens: join(dir, 'tokens.json') };
function putCert(o: Parameters<typeof testNodeCert>[1]): string {
  const n = testNodeCert(ca, o);
  writeFileSync(files.cert, n.pem);
  writeFileSync(files.key, privateKeyPem(n.key));
  return n.cert.fingerprint256;
}
const TOKEN_A = 'token-a-0123456789abcdef0123456789';
const TOKEN_B = 'token-b-0123456789abcdef0123456789';

function start(flags: Partial<AgentFlags>) {
  const io = capture();
  const signals = new EventEmitter();
  let agent: FakeAgent | undefined;
  let onReady: (r: { http: HttpServer }) => void = () => undefined;
  const ready = new Promise<{ http: HttpServer }>((r) => (onReady = r));
  const run = runAgent({ ...defaultAgentFlags(), http: '127.0.0.1:0', dns: 'off', ...flags }, io, {
    env: {},
    createAgent: (o) => {
      agent = new FakeAgent(o.name ?? 'generated-name');
      agent.identity = o.identity;
      return agent;
    },
    signals,
    exit: vi.fn(),
    onReady: (r) => onReady(r),
  });
  return { io, signals, run, ready, agent: () => agent as FakeAgent };
}

describe('hearsay agent with a certificate', () => {
  it('refuses to start with an expired certificate, naming the problem (exit 2)', async () => {
    putCert({ node: 'web-1', notBeforeMs: Date.now() - 10 * DAY, notAfterMs: Date.now() - DAY });
    const h = start({ ca: files.ca, cert: files.cert, 'cert-key': files.key });
    expect(await h.run).toBe(2);
    expect(h.io.err()).toMatch(/hearsay agent: --cert .*node\.crt expired at .*issue a new one/);
  });

  it('takes its name from the certificate, shows the identity, and renews it on SIGHUP (a bad file keeps the old)', async () => {
    const first = putCert({ node: 'web-1', services: ['billing'] });
    const h = start({ ca: files.ca, cert: files.cert, 'cert-key': files.key });
    const { http } = await h.ready;
    const addr = http.address ?? { host: '', port: 0 };
    expect(h.agent().name).toBe('web-1');
    const self = (await call(addr, '/v1/agent/self')).json() as { Hearsay: { identity: { node: string; fingerprint: string; services: string[] } } };
    expect(self.Hearsay.identity).toMatchObject({ node: 'web-1', fingerprint: first, services: ['billing'] });

    const second = putCert({ node: 'web-1', services: ['billing', 'api-*'] });
    const reload = (await call(addr, '/v1/agent/reload', { method: 'POST' })).json() as { identity: string };
    expect(reload.identity).toBe('renewed');
    expect(h.agent().identity?.fingerprint).toBe(second);

    putCert({ node: 'web-2' });
    h.signals.emit('SIGHUP', 'SIGHUP');
    for (let i = 0; i < 100 && !h.io.err().includes('kept the current certificate'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(h.io.err()).toMatch(/kept the current certificate: the new files are refused: [^\n]*for the node \\"web-2\\", not \\"web-1\\"/);
    expect(h.agent().identity?.fingerprint).toBe(second);
    const metrics = (await call(addr, '/metrics')).text;
    expect(metrics).toMatch(/^hearsay_certificate_renewals_total 1$/m);
    expect(metrics).toMatch(/^hearsay_certificate_renewals_refused_total 1$/m);
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(await h.run).toBe(0);
  });
});

describe('hearsay agent --api-tokens', () => {
  it('refuses a bad tokens file at start (exit 2), listing the problems', async () => {
    writeFileSync(files.tokens, JSON.stringify([{ token: 'short' }]));
    const h = start({ 'api-tokens': files.tokens });
    expect(await h.run).toBe(2);
    expect(h.io.err()).toMatch(/the API tokens file cannot be used .*\n {2}- .*"token" must be at least/);
  });

  it('scopes callers by the file and picks up a change on SIGHUP (a bad file keeps the tokens in force)', async () => {
    writeFileSync(files.tokens, JSON.stringify([{ name: 'a', token: TOKEN_A, services: ['billing'] }]));
    const h = start({ 'api-tokens': files.tokens, name: 'n1' });
    const { http } = await h.ready;
    const addr = http.address ?? { host: '', port: 0 };
    const register = (token: string, name: string) =>
      call(addr, '/v1/services', { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, port: 1 }) });
    expect((await register(TOKEN_A, 'billing')).status).toBe(200);
    expect((await register(TOKEN_A, 'web')).status).toBe(403);
    expect((await register(TOKEN_B, 'web')).status).toBe(401);

    writeFileSync(files.tokens, JSON.stringify([{ name: 'b', token: TOKEN_B, services: ['web'] }]));
    h.signals.emit('SIGHUP', 'SIGHUP');
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = (await register(TOKEN_B, 'web')).status;
    }
    expect(status).toBe(200);
    expect((await register(TOKEN_A, 'billing')).status).toBe(401);

    writeFileSync(files.tokens, '[{"token": ');
    const r = (await call(addr, '/v1/agent/reload', { method: 'POST', headers: { authorization: `Bearer ${TOKEN_B}` } })).status;
    expect(r).toBe(403); // reload is an operator route
    h.signals.emit('SIGHUP', 'SIGHUP');
    for (let i = 0; i < 100 && !h.io.err().includes('kept the API tokens in force'); i++) await new Promise((res) => setTimeout(res, 20));
    expect(h.io.err()).toMatch(/kept the API tokens in force/);
    expect((await register(TOKEN_B, 'web')).status).toBe(200);
    h.signals.emit('SIGTERM', 'SIGTERM');
    expect(await h.run).toBe(0);
  });
});
