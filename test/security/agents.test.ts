import { keyIdOfBase64 } from '../../src/security/keyring.js';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JoinError } from '../../src/errors.js';
import type { HearsayAgent } from '../../src/agent/agent.js';
import { generateKey } from '../../src/security/keyring.js';
import { Agents, allSee, views, waitFor } from '../agent/support.js';

const agents = new Agents();
afterEach(() => agents.closeAll());

const K1 = generateKey();
const K2 = generateKey();
const fast = { attempts: 1, timeoutMs: 3000 } as const;

async function keyed(name: string, keys: string[], extra: Record<string, unknown> = {}): Promise<HearsayAgent> {
  return (await agents.started(name, { security: { keys, ...extra } })) as HearsayAgent;
}

async function refusedJoin(joiner: HearsayAgent, seed: HearsayAgent): Promise<JoinError> {
  let caught: unknown;
  try {
    await joiner.join([seed.address], fast);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(JoinError);
  return caught as JoinError;
}

describe('encrypted mesh', () => {
  it('agents sharing a key converge, and every packet they exchange is decrypted', async () => {
    const a = await keyed('enc-a', [K1]);
    const b = await keyed('enc-b', [K1]);
    const c = await keyed('enc-c', [K1]);
    await b.join([a.address]);
    await c.join([a.address]);
    await waitFor('all alive', () => allSee([a, b, c], ['enc-a', 'enc-b', 'enc-c'], 'alive'), 10_000, 50, () => views([a, b, c]));
    const ca = a.counters();
    expect(ca['security.packetsDecrypted']).toBeGreaterThan(0);
    expect(ca['security.plaintextAccepted']).toBe(0);
    expect(ca['security.dropped.decrypt-failed']).toBe(0);
  });

  it('a node without the key cannot join, is never listed, and its packets are dropped by reason', async () => {
    const a = await keyed('guarded', [K1]);
    const intruder = (await agents.started('keyless')) as HearsayAgent;
    const wrong = await keyed('wrong-key', [K2]);
    const e1 = await refusedJoin(intruder, a);
    expect(e1.message).toMatch(/encryption key or cluster label/);
    await refusedJoin(wrong, a);
    expect(a.members().map((m) => m.name)).toEqual(['guarded']);
    expect(a.counters()['security.dropped.unencrypted']).toBeGreaterThan(0);
    expect(a.counters()['security.dropped.decrypt-failed']).toBeGreaterThan(0);
    // The keyless node cannot read the keyed one either (counted, not fatal).
    expect(intruder.members().map((m) => m.name)).toEqual(['keyless']);
  });

  it('the cluster label keeps two meshes apart even in plaintext', async () => {
    const blue = (await agents.started('blue-1', { security: { label: 'blue' } })) as HearsayAgent;
    const green = (await agents.started('green-1', { security: { label: 'green' } })) as HearsayAgent;
    const blue2 = (await agents.started('blue-2', { security: { label: 'blue' } })) as HearsayAgent;
    await refusedJoin(green, blue);
    await blue2.join([blue.address]);
    await waitFor('blue converged', () => allSee([blue, blue2], ['blue-1', 'blue-2'], 'alive'));
    expect(blue.members().map((m) => m.name).sort()).toEqual(['blue-1', 'blue-2']);
    expect(blue.counters()['security.dropped.label-mismatch']).toBeGreaterThan(0);
  });

  it('transition: a plaintext node, a send-plaintext node and an accept-plaintext node all talk', async () => {
    const plain = (await agents.started('t-plain')) as HearsayAgent;
    const step1 = await keyed('t-step1', [K1], { transition: 'send-plaintext' });
    const step2 = await keyed('t-step2', [K1], { transition: 'accept-plaintext' });
    await step1.join([plain.address]);
    await step2.join([step1.address]);
    await waitFor('step1 and plain see each other', () => allSee([plain, step1], ['t-plain', 't-step1'], 'alive'));
    await waitFor('step1 and step2 see each other', () => allSee([step1, step2], ['t-step1', 't-step2'], 'alive'));
    expect(step2.counters()['security.plaintextAccepted']).toBeGreaterThan(0);
    expect(step1.counters()['security.packetsDecrypted']).toBeGreaterThan(0);
  });
});

describe('key rotation across the mesh', () => {
  it('install, use, remove spread to every member without downtime; removing the primary is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-keys-'));
    const file = join(dir, 'keyring.json');
    const a = await keyed('rot-a', [K1], { keyringFile: file });
    const b = await keyed('rot-b', [K1]);
    const c = await keyed('rot-c', [K1]);
    await b.join([a.address]);
    await c.join([a.address]);
    const names = ['rot-a', 'rot-b', 'rot-c'];
    await waitFor('converged', () => allSee([a, b, c], names, 'alive'));

    const listed = await a.keyManager.run('list');
    expect(listed).toMatchObject({ nodes: 3, responded: 3, failures: {}, keys: { [keyIdOfBase64(K1)]: 3 }, primaryKeys: { [keyIdOfBase64(K1)]: 3 } });

    const installed = await b.keyManager.run('install', K2);
    expect(installed).toMatchObject({ nodes: 3, responded: 3, failures: {}, keys: { [keyIdOfBase64(K1)]: 3, [keyIdOfBase64(K2)]: 3 }, primaryKeys: { [keyIdOfBase64(K1)]: 3 } });

    await expect(c.keyManager.run('remove', K1)).rejects.toMatchObject({ code: 'HEARSAY_ERR_REMOVE_PRIMARY_KEY' });

    const used = await c.keyManager.run('use', K2);
    expect(used).toMatchObject({ nodes: 3, failures: {}, primaryKeys: { [keyIdOfBase64(K2)]: 3 } });
    const removed = await a.keyManager.run('remove', K1);
    expect(removed).toMatchObject({ nodes: 3, failures: {}, keys: { [keyIdOfBase64(K2)]: 3 } });
    expect(removed.keys[keyIdOfBase64(K1)]).toBeUndefined();
    // Reports name keys by id, never by the key itself (they go to the HTTP API and terminals).
    for (const r of [listed, installed, used, removed]) expect(JSON.stringify(r)).not.toMatch(new RegExp(`${K1.slice(0, 16).replace(/[+/]/g, '.')}|${K2.slice(0, 16).replace(/[+/]/g, '.')}`));

    // The mesh still works on the new key: a new node with only K2 joins; one with only K1 cannot.
    const d = await keyed('rot-d', [K2]);
    await d.join([b.address]);
    await waitFor('d everywhere', () => allSee([a, b, c, d], [...names, 'rot-d'], 'alive'));
    const old = await keyed('rot-old', [K1]);
    await refusedJoin(old, a);
    expect(allSee([a, b, c, d], names, 'alive')).toBe(true);

    // The keyring file follows the rotation and is private.
    await a.keyManager.flush();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([K2]);
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it('a key operation on an agent without encryption says how to turn it on', async () => {
    const a = (await agents.started('no-enc')) as HearsayAgent;
    await expect(a.keyManager.run('list')).rejects.toThrow(/restart it with --key KEY or --keyring-file FILE/);
  });

  it('use of a key some member lacks is refused before anything changes, naming the node', async () => {
    const a = await keyed('part-a', [K1, K2]);
    const b = await keyed('part-b', [K1]);
    await b.join([a.address]);
    await waitFor('converged', () => allSee([a, b], ['part-a', 'part-b'], 'alive'));
    await expect(a.keyManager.run('use', K2)).rejects.toMatchObject({
      code: 'HEARSAY_ERR_KEY_OPERATION_UNSAFE',
      message: expect.stringMatching(/part-b does not hold .*nothing changed|nothing changed.*part-b does not hold/),
    });
    const listed = await a.keyManager.run('list');
    expect(listed.primaryKeys).toEqual({ [keyIdOfBase64(K1)]: 2 });
  });

  it('remove of a key some member still uses as primary is refused before anything changes', async () => {
    const a = await keyed('rm-a', [K2, K1]);
    const b = await keyed('rm-b', [K1, K2]);
    await b.join([a.address]);
    await waitFor('converged', () => allSee([a, b], ['rm-a', 'rm-b'], 'alive'));
    await expect(a.keyManager.run('remove', K1)).rejects.toMatchObject({
      code: 'HEARSAY_ERR_KEY_OPERATION_UNSAFE',
      message: expect.stringContaining(`rm-b still uses ${keyIdOfBase64(K1)} as its primary key`),
    });
    expect((await a.keyManager.run('list')).keys).toEqual({ [keyIdOfBase64(K1)]: 2, [keyIdOfBase64(K2)]: 2 });
  });
});

describe('name conflicts and metrics', () => {
  it('two agents started with one name: the seed reports a member-conflict (the first address keeps the name) and the newcomer refutes', async () => {
    const seed = await keyed('conf-seed', [K1]);
    const first = await keyed('twin', [K1]);
    await first.join([seed.address]);
    await waitFor('first twin known', () => allSee([seed, first], ['conf-seed', 'twin'], 'alive'));
    const atSeed: unknown[] = [];
    seed.on('event', (e) => {
      if (e.type === 'member-conflict') atSeed.push(e);
    });
    const second = (await agents.started('twin', { security: { keys: [K1] } })) as HearsayAgent;
    await second.join([seed.address]);
    await waitFor('both report it', () => atSeed.length > 0 && (second.counters().nameConflicts ?? 0) > 0);
    expect(atSeed[0]).toEqual({
      type: 'member-conflict',
      name: 'twin',
      holder: { host: '127.0.0.1', port: first.address.port },
      other: { host: '127.0.0.1', port: second.address.port },
      incarnation: 0,
    });
    expect(second.incarnation).toBeGreaterThan(0); // it refuted the alive about "itself" from elsewhere
  });

  it('security drops appear on /metrics by reason', async () => {
    const { createHttpServer } = await import('../../src/api/server.js');
    const { call } = await import('../api/http-support.js');
    const a = await keyed('metered', [K1]);
    const stranger = await keyed('stranger', [K2]);
    await refusedJoin(stranger, a);
    const server = createHttpServer(a);
    try {
      const res = await call(await server.listen({ host: '127.0.0.1', port: 0 }), '/metrics');
      expect(res.text).toMatch(/^hearsay_security_dropped_total\{reason="decrypt-failed"\} [1-9]\d*$/m);
      expect(res.text).toMatch(/^hearsay_security_dropped_total\{reason="unencrypted"\} 0$/m);
      expect(res.text).toMatch(/^hearsay_transport_dropped_total\{reason="connection-limit"\} 0$/m);
      expect(res.text).toMatch(/^hearsay_name_conflicts_total 0$/m);
    } finally {
      await server.close();
    }
  });
});
