/**
 * Revocation lists spreading between real `hearsay agent` processes on 127.0.0.1 (issue 14.3),
 * with certificates made by `hearsay ca`: one agent starts with a list and the others fetch it;
 * `hearsay ca revoke --push` puts a newer one into one agent and it reaches all, the revoked node
 * leaves every view and lookup, each agent keeps the list (its --revocations file, its data dir);
 * the revoked node restarted with its certificate cannot rejoin and says why; a list copied into
 * one agent's --revocations file and SIGHUP spreads the same way.
 */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Agents, exitOf, kill9, lists, runCli, signal, sleep, viewsOf, waitUntil, type AgentProcess } from './support.js';

const agents = new Agents();
afterEach(() => agents.killAll());
afterAll(() => agents.dispose());

interface Held {
  readonly version: number;
}

async function versionOf(a: AgentProcess): Promise<number> {
  const res = await fetch(`http://${a.http}/v1/identity/revocations`, { signal: AbortSignal.timeout(3000) });
  return res.status === 404 ? 0 : ((await res.json()) as Held).version;
}

async function waitVersions(all: readonly AgentProcess[], version: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: number[] = [];
  while (Date.now() < deadline) {
    seen = await Promise.all(all.map(versionOf));
    if (seen.every((v) => v === version)) return;
    await sleep(200);
  }
  throw new Error(`not every agent holds version ${version}: ${all.map((a, i) => `${a.name}=${seen[i]}`).join(', ')}\n${all.map((a) => a.log.slice(-8).join('\n')).join('\n')}`);
}

describe('revocation lists between agent processes', () => {
  it('spread from one agent to all; the revoked node leaves every view and lookup, and cannot rejoin', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-it-rev-'));
    const caDir = join(dir, 'ca');
    const cli = async (...args: string[]): Promise<string> => {
      const r = await runCli(args);
      if (r.code !== 0) throw new Error(`hearsay ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    };
    await cli('ca', 'init', '--dir', caDir, '--trust-domain', 'prod.example');
    const nodes = ['it-rv-1', 'it-rv-2', 'it-rv-3', 'it-rv-4'];
    for (const n of [...nodes, 'it-rv-old', 'it-rv-old2']) await cli('ca', 'issue', '--dir', caDir, '--node', n, '--services', 'billing', '--out', dir);
    // Version 1 revokes a node that never runs; it-rv-3 starts with it, the others with none.
    await cli('ca', 'revoke', '--dir', caDir, join(dir, 'it-rv-old.crt'));
    const rev3 = join(dir, 'it-rv-3-revocations.json');
    copyFileSync(join(caDir, 'revocations.json'), rev3);
    const certArgs = (n: string): string[] => ['--ca', join(caDir, 'ca.crt'), '--cert', join(dir, `${n}.crt`), '--cert-key', join(dir, `${n}.key`)];
    const dataDir2 = join(dir, 'data-2');
    const a1 = await agents.start('it-rv-1', { dns: 'off', args: certArgs('it-rv-1') });
    const a2 = await agents.start('it-rv-2', { dns: 'off', join: [a1.gossip], dataDir: dataDir2, args: certArgs('it-rv-2') });
    const a3 = await agents.start('it-rv-3', { dns: 'off', join: [a1.gossip], args: [...certArgs('it-rv-3'), '--revocations', rev3] });
    const a4 = await agents.start('it-rv-4', { dns: 'off', join: [a1.gossip], args: certArgs('it-rv-4') });
    const all = [a1, a2, a3, a4];
    await waitUntil('all four are alive everywhere', all, lists(nodes, 'alive'), { timeoutMs: 20_000 });
    await waitVersions(all, 1, 20_000);

    const reg = await fetch(`http://${a4.http}/v1/services`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'billing', port: 9000 }) });
    expect(reg.status).toBe(200);
    const billing = async (a: AgentProcess): Promise<number> => ((await a.get('/v1/services/billing')) as unknown[]).length;
    const peers = [a1, a2, a3];
    const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: ${JSON.stringify(await viewsOf(peers), (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v))}`);
        await sleep(200);
      }
    };
    await until('billing is seen everywhere', async () => (await Promise.all(peers.map(billing))).every((n) => n === 1), 20_000);

    // Revoke it-rv-4 and push the list into it-rv-2 only.
    const pushed = await runCli(['ca', 'revoke', '--dir', caDir, join(dir, 'it-rv-4.crt'), '--reason', 'key compromise', '--push', '--http', a2.http]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toMatch(/is now version 2 \(2 revoked\)\npushed revocation list version 2 \(was 1\) to the agent at .*: it spreads to every node now; removed from its view: it-rv-4/);
    await waitVersions(peers, 2, 20_000);
    await waitUntil('it-rv-4 is dead everywhere', peers, lists(['it-rv-4'], 'dead'), { timeoutMs: 20_000 });
    await until('billing is gone from every lookup', async () => (await Promise.all(peers.map(billing))).every((n) => n === 0), 20_000);

    // Kept: it-rv-3's --revocations file and it-rv-2's data dir hold version 2.
    expect((JSON.parse(readFileSync(rev3, 'utf8')) as Held).version).toBe(2);
    expect((JSON.parse(readFileSync(join(dataDir2, 'revocations.json'), 'utf8')) as Held).version).toBe(2);
    const metrics = await (await fetch(`http://${a1.http}/metrics`)).text();
    expect(metrics).toMatch(/^hearsay_identity_revocations_adopted_total 2$/m);
    expect(metrics).toMatch(/^hearsay_identity_revocation_fetches_total\{outcome="adopted"\} 2$/m);
    expect(metrics).toMatch(/^hearsay_identity_revocations_dropped_total\{reason="bad-signature"\} 0$/m);

    // The revoked node, restarted with its certificate, joins again: nobody takes it back.
    await kill9(a4);
    await exitOf(a4);
    const back = await agents.start('it-rv-4', { dns: 'off', join: [a1.gossip], args: certArgs('it-rv-4') }).catch((err: unknown) => err as Error);
    await sleep(3000);
    const views = await viewsOf(peers);
    for (const p of peers) expect(views.get(p.name)?.get('it-rv-4')?.status, p.name).toBe('dead');
    if (!(back instanceof Error)) {
      // It fetched the list from its peers and says what to do.
      const deadline = Date.now() + 10_000;
      // (The support keeps 400 characters a line: the message's start, after the fields.)
      const said = /"level":50,.*"msg":"this node's certificate \(serial [0-9A-F]+/;
      while (!back.log.some((l) => said.test(l)) && Date.now() < deadline) await sleep(200);
      expect(back.log.filter((l) => /revo/.test(l)).join('\n')).toMatch(said);
    }

    // A list copied into one agent's --revocations file and SIGHUP spreads the same way.
    await cli('ca', 'revoke', '--dir', caDir, join(dir, 'it-rv-old2.crt'));
    copyFileSync(join(caDir, 'revocations.json'), rev3);
    signal(a3, 'SIGHUP');
    await waitVersions(peers, 3, 20_000);
  });
});
