/**
 * Revocation lists spreading through a mesh of real agents on 127.0.0.1 (issue 14.3): a list put
 * into ONE node reaches every node, the revoked node disappears from every view and from lookups,
 * it cannot rejoin, and a restart keeps the list (the data dir). Plus the API's refusals.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent, AgentOptions } from '../../src/agent/types.js';
import { generateKey } from '../../src/security/keyring.js';
import { createAgent } from '../../src/agent/agent.js';
import { createHttpServer } from '../../src/api/server.js';
import { checkIdentity, IdentityError, type NodeIdentity } from '../../src/identity/identity.js';
import { MAX_REVOCATIONS_BYTES, signRevocations, type RevocationList } from '../../src/identity/revocations.js';
import type { SecureTransport } from '../../src/security/secure-transport.js';
import type { HearsayError } from '../../src/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { testCa, testNodeCert, type TestCa } from '../identity/support.js';
import { Agents, hostPort, statusOf, views, waitFor } from './support.js';

const until = (check: () => boolean, timeoutMs: number, detail: () => string): Promise<void> => waitFor('the mesh settles', check, timeoutMs, 50, detail);
const ca = testCa();
const other = testCa();
const agents = new Agents();
afterEach(() => agents.closeAll());

function identityFor(node: string): NodeIdentity {
  const n = testNodeCert(ca, { node, services: ['billing', 'api-*'] });
  return checkIdentity({ ca: ca.cert, cert: n.cert, key: n.key }, node, Date.now());
}

function listRevoking(version: number, ids: readonly NodeIdentity[], by: TestCa = ca): RevocationList {
  const at = new Date().toISOString();
  return signRevocations({ issuer: by.cert.fingerprint256, version, issuedAt: at, revoked: ids.map((id) => ({ serial: id.serial, fingerprint: id.fingerprint, revokedAt: at, reason: 'key compromise' })) }, by.privateKey);
}

async function mesh(names: readonly string[], dataDirs: Record<string, string> = {}, extra: Partial<AgentOptions> = {}): Promise<{ ids: Map<string, NodeIdentity>; all: Agent[] }> {
  const ids = new Map(names.map((n) => [n, identityFor(n)]));
  const all: Agent[] = [];
  for (const n of names) all.push(await agents.started(n, { identity: ids.get(n) as NodeIdentity, ...extra, ...(dataDirs[n] === undefined ? {} : { dataDir: dataDirs[n] }) }));
  const seed = hostPort(all[0] as Agent);
  for (const a of all.slice(1)) await a.join([seed]);
  await until(() => all.every((a) => names.every((n) => statusOf(a, n) === 'alive')), 10_000, () => views(all));
  return { ids, all };
}

describe('a revocation list put into one node', () => {
  it('reaches every node; the revoked node leaves every view and lookup, and cannot rejoin', { timeout: 60_000 }, async () => {
    const names = ['r-1', 'r-2', 'r-3', 'r-4', 'r-5'];
    const { ids, all } = await mesh(names);
    const [a1, a2, a3, a4, victim] = all as [Agent, Agent, Agent, Agent, Agent];
    await victim.register({ name: 'billing', port: 9000 });
    await until(() => [a1, a2, a3, a4].every((a) => a.lookup('billing').length === 1), 10_000, () => 'billing never reached every lookup');

    const list = listRevoking(1, [ids.get('r-5') as NodeIdentity]);
    const r = a3.putRevocations(list);
    expect(r).toMatchObject({ version: 1, previous: 0, revoked: 1, removed: ['r-5'], self: false });
    const peers = [a1, a2, a3, a4];
    await until(() => peers.every((a) => a.revocations?.version === 1), 10_000, () => peers.map((a) => `${a.name}: ${a.revocations?.version}`).join(', '));
    await until(() => peers.every((a) => statusOf(a, 'r-5') === 'dead' && a.lookup('billing').length === 0), 10_000, () => views(peers));
    // The revoked node got the list too (its peers serve it), and knows it is revoked.
    await until(() => victim.revocations?.version === 1, 10_000, () => `victim at ${victim.revocations?.version}`);
    const fetched = peers.reduce((n, a) => n + (a.counters()['identity.revocations.fetches.adopted'] ?? 0), 0);
    expect(fetched).toBe(3); // every node but the one it was put into fetched it once
    expect(peers.every((a) => a.counters()['identity.revocations.adopted'] === 1)).toBe(true);

    // It refutes, restarts with the same certificate, joins again: every view keeps it out.
    const back: string[] = [];
    for (const a of peers) a.on('event', (e) => void ('member' in e && e.member.name === 'r-5' && (e.type === 'member-alive' || e.type === 'member-join') && back.push(`${a.name}: ${e.type}`)));
    await victim.close();
    const again = await agents.started('r-5', { identity: ids.get('r-5') as NodeIdentity });
    await again.join([hostPort(a1)]).catch(() => 0);
    await new Promise((res) => setTimeout(res, 1500));
    expect(peers.map((a) => statusOf(a, 'r-5'))).toEqual(['dead', 'dead', 'dead', 'dead']);
    expect(back).toEqual([]);
    expect(peers.every((a) => a.lookup('billing').length === 0)).toBe(true);
    const dropped = peers.reduce((n, a) => n + (a.counters()['identity.dropped.revoked'] ?? 0), 0);
    expect(dropped).toBeGreaterThan(0);
  });

  it('spreads the same in an encrypted mesh (the fetch stream is sealed as every frame is)', { timeout: 30_000 }, async () => {
    const { ids, all } = await mesh(['e-1', 'e-2', 'e-3'], {}, { security: { keys: [generateKey()] } });
    (all[0] as Agent).putRevocations(listRevoking(1, [ids.get('e-3') as NodeIdentity]));
    await until(() => all.slice(0, 2).every((a) => a.revocations?.version === 1 && statusOf(a, 'e-3') === 'dead'), 10_000, () => views(all));
    expect((all[1] as Agent).counters()['identity.revocations.fetches.adopted']).toBe(1);
    expect((all[1] as Agent).counters()['security.plaintextAccepted']).toBe(0);
  });

  it('keeps an adopted list across a restart (the data dir), and a node revoked there refuses to start', { timeout: 60_000 }, async () => {
    const dirs = { 'p-1': mkdtempSync(join(tmpdir(), 'hearsay-rev-')), 'p-2': mkdtempSync(join(tmpdir(), 'hearsay-rev-')) };
    const { ids, all } = await mesh(['p-1', 'p-2', 'p-3'], dirs);
    const [a1, a2] = all as [Agent, Agent, Agent];
    a1.putRevocations(listRevoking(1, [ids.get('p-3') as NodeIdentity]));
    await until(() => a2.revocations?.version === 1 && existsSync(join(dirs['p-2'], 'revocations.json')), 10_000, () => `p-2 at ${a2.revocations?.version}`);
    expect((JSON.parse(readFileSync(join(dirs['p-1'], 'revocations.json'), 'utf8')) as RevocationList).version).toBe(1);
    await a2.close();
    const restarted = createAgent({ name: 'p-2', identity: ids.get('p-2') as NodeIdentity, dataDir: dirs['p-2'], bind: { host: '127.0.0.1', port: 0 } });
    agents.adopt(restarted);
    expect(restarted.revocations?.version).toBe(1);
    // A newer list revoking p-2 itself, adopted into its data dir: the next start refuses.
    restarted.putRevocations(listRevoking(2, [ids.get('p-3') as NodeIdentity, ids.get('p-2') as NodeIdentity]));
    await restarted.close();
    await until(() => (JSON.parse(readFileSync(join(dirs['p-2'], 'revocations.json'), 'utf8')) as RevocationList).version === 2, 5000, () => 'not written');
    expect(() => createAgent({ name: 'p-2', identity: ids.get('p-2') as NodeIdentity, dataDir: dirs['p-2'] })).toThrow(/this node's certificate \(serial .*\) is revoked by the revocation list version 2 in .*revocations\.json.*hearsay ca issue --node p-2/);
  });

  it('drops what a hostile holder sends over the fetch stream, by reason, and adopts once a good list comes', { timeout: 60_000 }, async () => {
    const { all } = await mesh(['h-1', 'h-2']);
    const [honest, hostile] = all as [Agent, Agent];
    // The hostile member announces each version it is given, but answers fetches with `serve`.
    let serve: ((have: number) => Uint8Array) | null = null;
    const transport = (hostile as unknown as { transport: SecureTransport }).transport;
    const real = (hostile as unknown as { revocationRuntime: { spread: { answer(): Uint8Array } } }).revocationRuntime.spread;
    transport.onRevocations((_from, request, reply) => reply(serve === null ? real.answer() : serve((request as { have: number }).have)));
    const lists = Array.from({ length: 8 }, (_, i) => listRevoking(i + 1, []));
    const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v), 'utf8');
    const c = (k: string): number => honest.counters()[`identity.revocations.${k}`] ?? 0;
    const step = async (version: number, answer: ((have: number) => Uint8Array) | null, counter: string): Promise<void> => {
      serve = answer;
      const before = c(counter);
      hostile.putRevocations(lists[version - 1]);
      await until(() => c(counter) > before, 10_000, () => `${counter} stays at ${c(counter)}; honest at ${honest.revocations?.version}`);
    };
    await step(1, null, 'fetches.adopted');
    expect(honest.revocations?.version).toBe(1);
    await step(2, () => json(listRevoking(2, [], other)), 'dropped.wrong-ca');
    await step(3, () => json({ ...lists[2], revoked: [{ serial: '0A', revokedAt: 'x' }] }), 'dropped.bad-signature');
    await step(4, () => json(lists[0]), 'dropped.older');
    await step(5, () => new Uint8Array(MAX_REVOCATIONS_BYTES + 10).fill(0x20), 'dropped.oversized');
    await step(6, () => Buffer.from('<html>not a list</html>'), 'dropped.malformed');
    expect(honest.revocations?.version).toBe(1); // never rolled back, never took a bad one
    expect(c('fetches.dropped')).toBe(5);
    await step(7, null, 'fetches.adopted');
    expect(honest.revocations?.version).toBe(7);
  });

  it('takes a list over the API larger than its usual body limit (operator route), and says why it refuses one', async () => {
    const a = await agents.started('big-1', { identity: identityFor('big-1') });
    const server = createHttpServer(a, {});
    const addr = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      const at = new Date().toISOString();
      const revoked = Array.from({ length: 1000 }, (_, i) => ({ serial: (0x1000 + i).toString(16).toUpperCase(), revokedAt: at, reason: 'decommissioned with its whole rack' }));
      const big = signRevocations({ issuer: ca.cert.fingerprint256, version: 2, issuedAt: at, revoked }, ca.privateKey);
      const body = JSON.stringify(big);
      expect(body.length).toBeGreaterThan(64 * 1024);
      const put = (b: string) => fetch(`http://${addr.host}:${addr.port}/v1/identity/revocations`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: b });
      const ok = await put(body);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ version: 2, previous: 0, revoked: 1000, removed: [], self: false });
      const again = await put(body);
      expect(again.status).toBe(409);
      expect(await again.json()).toMatchObject({ code: 'HEARSAY_ERR_REVOCATIONS_NOT_NEWER' });
      const wrong = await put(JSON.stringify(listRevoking(3, [], other)));
      expect(wrong.status).toBe(400);
      expect(((await wrong.json()) as { error: string }).error).toMatch(/issued by another CA/);
      const got = await fetch(`http://${addr.host}:${addr.port}/v1/identity/revocations`);
      expect(((await got.json()) as RevocationList).version).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('refuses a list that is older, of another CA, tampered with, or given to a node without identity, changing nothing', async () => {
    const a = await agents.started('q-1', { identity: identityFor('q-1') });
    a.putRevocations(listRevoking(3, []));
    const refusal = (list: unknown): HearsayError => {
      try {
        a.putRevocations(list);
      } catch (err) {
        return err as HearsayError;
      }
      throw new Error('accepted');
    };
    expect(refusal(listRevoking(3, []))).toMatchObject({ code: 'HEARSAY_ERR_REVOCATIONS_NOT_NEWER', message: expect.stringMatching(/version 3 is not newer than version 3 in force/) });
    expect(refusal(listRevoking(2, []))).toMatchObject({ code: 'HEARSAY_ERR_REVOCATIONS_NOT_NEWER' });
    expect(refusal(listRevoking(4, [], other))).toBeInstanceOf(IdentityError);
    expect(refusal(listRevoking(4, [], other)).message).toMatch(/issued by another CA/);
    expect(refusal({ ...listRevoking(4, []), version: 5 }).message).toMatch(/signature does not verify/);
    expect(refusal('{"format": 1}').message).toMatch(/not a hearsay revocation list/);
    expect(a.revocations?.version).toBe(3);
    const plain = await agents.started('q-2');
    expect(() => plain.putRevocations(listRevoking(1, []))).toThrow(/runs without a certificate/);
  });

  it('a node whose own certificate the list revokes logs an error saying what to do', async () => {
    const lines: string[] = [];
    const id = identityFor('s-1');
    const logger = createLogger({ write: (l: string) => void lines.push(l) });
    const a = await agents.started('s-1', { identity: id, logger });
    expect(a.putRevocations(listRevoking(1, [id])).self).toBe(true);
    expect(lines.some((l) => /"level":50/.test(l) && /this node's certificate \(serial .*\) is revoked.*hearsay ca issue --node s-1/.test(l))).toBe(true);
  });
});
