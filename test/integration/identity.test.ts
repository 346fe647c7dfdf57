/**
 * Real `hearsay agent` processes with certificates: one issued by plain openssl commands (the
 * README's) starts and shows its identity; a registration its certificate does not allow is refused
 * over HTTP; `hearsay ca` certificates that are expired or for another name are refused at start.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { privateKeyPem } from '../../src/identity/x509.js';
import { DAY, opensslAvailable, opensslCaAndNode, testCa, testNodeCert } from '../identity/support.js';
import { Agents, runCli } from './support.js';

const agents = new Agents();
afterEach(() => agents.killAll());
afterAll(() => agents.dispose());

describe.runIf(opensslAvailable())('an agent process with a certificate made by openssl', () => {
  it('starts with it, shows it in /v1/agent/self, and refuses registering a service it does not allow', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-it-openssl-'));
    opensslCaAndNode(dir, 'it-web-1', ['billing']); // the README's commands
    const a = await agents.start('it-web-1', { dns: 'off', args: ['--ca', join(dir, 'ca.crt'), '--cert', join(dir, 'it-web-1.crt'), '--cert-key', join(dir, 'it-web-1.key')] });
    const self = (await a.get('/v1/agent/self')) as { Hearsay: { identity: Record<string, unknown> } };
    expect(self.Hearsay.identity).toMatchObject({ node: 'it-web-1', trustDomain: 'prod.example', services: ['billing'] });
    const put = async (name: string): Promise<{ status: number; body: { code?: string; error?: string } }> => {
      const res = await fetch(`http://${a.http}/v1/services`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, port: 8080 }), signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: (await res.json()) as { code?: string; error?: string } };
    };
    const refused = await put('payments');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('HEARSAY_ERR_SERVICE_NOT_ALLOWED');
    expect(refused.body.error).toMatch(/does not allow registering the service "payments": it allows billing/);
    expect(await a.get('/v1/services/payments?status=any')).toEqual([]);
    expect((await put('billing')).status).toBe(200);
  });
});

describe('an agent process with a refused certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearsay-it-cert-'));
  const ca = testCa();
  writeFileSync(join(dir, 'ca.crt'), ca.pem);
  const args = (node: string, o: Parameters<typeof testNodeCert>[1]): string[] => {
    const n = testNodeCert(ca, { node, ...o });
    writeFileSync(join(dir, `${node}.crt`), n.pem);
    writeFileSync(join(dir, `${node}.key`), privateKeyPem(n.key));
    return ['agent', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--dns', 'off', '--ca', join(dir, 'ca.crt'), '--cert', join(dir, `${node}.crt`), '--cert-key', join(dir, `${node}.key`)];
  };

  it('exits 2 at start when it has expired, saying so', { timeout: 60_000 }, async () => {
    const r = await runCli(args('old-1', { notBeforeMs: Date.now() - 30 * DAY, notAfterMs: Date.now() - DAY }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/hearsay agent: --cert .*old-1\.crt expired at .*: issue a new one/);
  });

  it('exits 2 at start when it is for another name, or from another CA', { timeout: 60_000 }, async () => {
    const wrongName = await runCli([...args('web-7', {}), '--name', 'web-8']);
    expect(wrongName.code).toBe(2);
    expect(wrongName.stderr).toMatch(/is for the node "web-7", not "web-8"/);
    const other = testCa();
    writeFileSync(join(dir, 'other-ca.crt'), other.pem);
    const wrongCa = await runCli([...args('web-9', {}).map((a) => (a.endsWith('/ca.crt') ? join(dir, 'other-ca.crt') : a))]);
    expect(wrongCa.code).toBe(2);
    expect(wrongCa.stderr).toMatch(/was not issued by the CA in --ca .*other-ca\.crt/);
  });
});
