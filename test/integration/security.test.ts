import { keyIdOfBase64 } from '../../src/security/keyring.js';
/**
 * Real `hearsay agent` processes with a keyring file and a cluster label: they converge, a
 * process without the key never appears in their views, and `hearsay keys` rotates the key of
 * every process through one agent's HTTP API.
 */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agents, lists, names, runCli, sleep, waitUntil } from './support.js';

const agents = new Agents();
afterEach(() => agents.killAll());
afterAll(() => agents.dispose());

describe('encrypted agent processes on 127.0.0.1', () => {
  it('converge with a keyring file, keep a keyless process out, and rotate keys with hearsay keys', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-it-keys-'));
    const ringA = join(dir, 'a.json');
    const ringB = join(dir, 'b.json');
    const gen = await runCli(['keygen', '--keyring-file', ringA]);
    expect(gen.code).toBe(0);
    copyFileSync(ringA, ringB);
    const [oldKey] = JSON.parse(readFileSync(ringA, 'utf8')) as [string];
    const a = await agents.start('sec-a', { args: ['--keyring-file', ringA, '--label', 'it'] });
    const b = await agents.start('sec-b', { join: [a.gossip], args: ['--keyring-file', ringB, '--label', 'it'] });
    await waitUntil('a and b list each other alive', [a, b], lists(names([a, b]), 'alive'), { timeoutMs: 30_000 });

    // A process without the key keeps trying (retry-join) and stays out.
    const stranger = await agents.start('sec-stranger', { args: ['--label', 'it', '--retry-join', a.gossip, '--retry-join-interval', '200ms'] });
    // Wait (bounded) until a retry round failed, then look at every view.
    for (let i = 0; i < 300 && !stranger.log.some((l) => l.includes('"round":2')); i++) await sleep(50);
    // (log lines are kept to 400 characters: the seed's reason is matched where it starts)
    expect(stranger.log.join('\n')).toMatch(/"round":1,"seeds":\["127\.0\.0\.1:\d+: the peer closed the connection without answering the join \(if it is a hearsay agent, it may use another/);
    const view = (await a.get('/v1/members')) as { name: string }[];
    expect(view.map((m) => m.name).sort()).toEqual(['sec-a', 'sec-b']);
    const strangerView = (await stranger.get('/v1/members')) as { name: string }[];
    expect(strangerView.map((m) => m.name)).toEqual(['sec-stranger']);

    const newKey = (await runCli(['keygen'])).stdout.trim();
    const install = await runCli(['keys', 'install', newKey, '--http', a.http]);
    expect(install).toMatchObject({ code: 0, stdout: expect.stringMatching(/install: 2 of 2 nodes answered, 0 failed/) });
    expect((await runCli(['keys', 'use', newKey, '--http', b.http])).code).toBe(0);
    const removed = await runCli(['keys', 'remove', oldKey, '--http', a.http]);
    expect(removed.code).toBe(0);
    const list = JSON.parse((await runCli(['keys', 'list', '--json', '--http', b.http])).stdout) as { keys: Record<string, number> };
    expect(list.keys).toEqual({ [keyIdOfBase64(newKey)]: 2 });
    expect(JSON.parse(readFileSync(ringB, 'utf8'))).toEqual([newKey]);
    await waitUntil('still converged on the new key', [a, b], lists(names([a, b]), 'alive'), { timeoutMs: 10_000 });
  });
});
